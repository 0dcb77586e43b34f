package index

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
)

func TestTrigrams(t *testing.T) {
	has := func(g []uint64, k uint64) bool { return slices.Contains(g, k) }
	g := appendGrams(nil, "ab c#fun\x1fny")
	for _, c := range []struct {
		tri  string
		want bool
	}{
		{"c#f", true}, {"#fu", true}, {"fun", true},
		{"ab ", false}, {"b c", false}, // no space in a trigram
		{"unn", false}, {"uny", false}, // nor across a tag separator
	} {
		r := []rune(c.tri)
		if has(g, trigramKey(r[0], r[1], r[2])) != c.want {
			t.Errorf("trigram %q in grams: %v, want %v", c.tri, !c.want, c.want)
		}
	}
	if tri := uniqGrams(appendTrigrams(nil, "ab c#fun\x1fny")); len(tri) != 3 {
		t.Errorf("appendTrigrams: %d keys, want 3 (c#f #fu fun)", len(tri))
	}
	// Non-ASCII runs get no trigrams (their bigrams are selective).
	for _, k := range appendGrams(nil, "초등영어 ｘ") {
		if k&trigramBit != 0 {
			t.Fatalf("trigram key %x in Hangul text", k)
		}
	}
	// A pattern looks up its trigrams and only the bigrams no trigram covers.
	keys, exact := patternGrams(pattern{runes: []rune("abcd 영어")})
	want := uniqGrams([]uint64{trigramKey('a', 'b', 'c'), trigramKey('b', 'c', 'd'), gramKey('d', ' '), gramKey(' ', '영'), gramKey('영', '어')})
	if exact || !slices.Equal(keys, want) {
		t.Fatalf("patternGrams(abcd 영어) = %x, %v; want %x, false", keys, exact, want)
	}
	if keys, exact := patternGrams(pattern{runes: []rune("ab")}); !exact || !slices.Equal(keys, []uint64{gramKey('a', 'b')}) {
		t.Fatalf("patternGrams(ab) = %x, %v", keys, exact)
	}
	// Exactly one trigram is the pattern itself: exact, no verification.
	for _, c := range []struct {
		p     string
		exact bool
	}{{"old", true}, {"#1!", true}, {"o d", false}, {"영어a", false}, {"abcd", false}, {"ab", true}, {"영어", true}, {"초등영", false}} {
		if _, exact := patternGrams(pattern{runes: []rune(c.p)}); exact != c.exact {
			t.Errorf("patternGrams(%q) exact = %v, want %v", c.p, exact, c.exact)
		}
	}
}

// A version 1 snapshot (no trigram postings) gets them on load, so English
// queries, which now look trigrams up, still find its docs.
func TestSnapshotV1GetsTrigrams(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range smallCorpus() {
		mustApply(t, ix, s.rec())
	}
	queries := []Query{{Q: "minecraft", In: []Field{FieldTitle, FieldTags, FieldChannel}}, {Q: "blocky", In: []Field{FieldChannel}}, {Q: "영어"}}
	var want []Result
	for _, q := range queries {
		r, err := ix.Search(context.Background(), q)
		if err != nil || r.Total == 0 {
			t.Fatalf("%q: total %d, %v: the corpus should match it", q.Q, r.Total, err)
		}
		want = append(want, r)
	}
	grams := ix.Stats().Grams
	// Make it a version 1 snapshot: drop the trigram postings, flush, and
	// rewrite the version (and the checksum).
	ix.mu.Lock()
	for fi := range ix.post {
		for k := range ix.post[fi] {
			if k&trigramBit != 0 {
				delete(ix.post[fi], k)
			}
		}
	}
	ix.mu.Unlock()
	path, b := flushClosed(t, ix, dir, 7)
	binary.LittleEndian.PutUint16(b[len(snapMagic):], 1)
	writeSnapshot(t, path, b)

	ix2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	if g := ix2.Stats().Grams; g != grams {
		t.Fatalf("grams after loading a version 1 snapshot: %d, want %d", g, grams)
	}
	for i, q := range queries {
		r, err := ix2.Search(context.Background(), q)
		if err != nil || r.Total != want[i].Total || !slices.Equal(ids(r), ids(want[i])) {
			t.Fatalf("%q after a version 1 load: %v (%d), %v; want %v (%d)", q.Q, ids(r), r.Total, err, ids(want[i]), want[i].Total)
		}
	}
}
