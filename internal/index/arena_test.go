package index

import (
	"slices"
	"testing"
)

// TestTextPatches checks that every raw text and tag list is rebuilt exactly
// from its normalized form and patch, and that sameRaw/sameTags agree.
func TestTextPatches(t *testing.T) {
	texts := []string{"焦げた柴犬…今年も気をつけます…", "【2ch スカッと】\u3000俺のガンプラどこ？\u3000#2ch", "世界��バズった", "iPhone 17 Pro…Max　ｘ", "a\u3000\u3000b", "", "abc", "ABC def", "초등영어 ABC", "Ｆｕｌｌ width", "  spaces  ", "Ǆ ß İ", "a\x1fb", "MiXeD CaSe 123!"}
	for _, v := range loadRealQuiet() {
		texts = append(texts, v.title, v.chanTitle)
	}
	var buf []byte
	kinds := map[byte]int{}
	for _, raw := range texts {
		norm := normalizeField(raw)
		p := string(makePatch(nil, norm, raw))
		if p != "" {
			kinds[p[0]]++
		}
		if got := rawString(norm, p); got != raw {
			t.Errorf("rawString(%q) = %q", raw, got)
		}
		var ok bool
		if ok, buf = sameRaw(buf, norm, p, raw); !ok {
			t.Errorf("sameRaw(%q) = false", raw)
		}
		if ok, buf = sameRaw(buf, norm, p, raw+"x"); ok {
			t.Errorf("sameRaw(%q+x) = true", raw)
		}
		if n := rawLen(norm, p, false); n != len(raw) {
			t.Errorf("rawLen(%q) = %d, want %d", raw, n, len(raw))
		}
	}
	tagLists := [][]string{nil, {}, {""}, {"a"}, {"A", "b"}, {"x\x1fy", "z"}, {"영어", "", "Kpop"}, {"Tag One", "TAG two"},
		{"Ｆｕｌｌ", "焦げた…", "a\u3000\u3000b"}, {"  spaces  ", "Ǆ ß İ", "ＡＢＣ　def"}}
	for _, tags := range tagLists {
		norm := normalizeTags(tags)
		p := string(makeTagsPatch(nil, norm, tags))
		if p != "" {
			kinds[p[0]]++
		}
		got := rawTags(norm, p)
		if !slices.Equal(got, tags) {
			t.Errorf("rawTags(%q) = %q", tags, got)
		}
		var ok bool
		if ok, buf = sameTags(buf, norm, p, tags); !ok {
			t.Errorf("sameTags(%q) = false", tags)
		}
		if ok, buf = sameTags(buf, norm, p, append(slices.Clone(tags), "extra")); ok {
			t.Errorf("sameTags(%q+extra) = true", tags)
		}
		want := 0
		for _, tg := range tags {
			want += len(tg)
		}
		if n := rawLen(norm, p, true); n != want {
			t.Errorf("rawLen(%q) = %d, want %d", tags, n, want)
		}
	}
	for _, k := range []byte{patchCase, patchRaw, patchEdits, patchTags} {
		if kinds[k] == 0 {
			t.Errorf("no text made a patch of kind %d: %v", k, kinds)
		}
	}
}
