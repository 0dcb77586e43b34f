package index

import (
	"context"
	"strings"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestRealTitles indexes the real KR/JP/US chart titles and checks Korean,
// Japanese and English queries (including 1-2 syllable ones) against the
// brute-force oracle, plus the initials and layout options.
func TestRealTitles(t *testing.T) {
	real := loadReal(t)
	ix := newMem(t)
	o := newOracle()
	var recs []yt.Record
	for _, v := range real {
		s := v.spec()
		recs = append(recs, s.rec())
		o.put(s)
	}
	mustApply(t, ix, recs...)
	queries := []string{
		"먹방", "영어", "한국", "이재명", "롤토체스", "강아지", "ㅋㅋ", "#shorts", "shorts", "マイクラ", "ゲーム",
		"minecraft", "official", "mv", "뮤직비디오", `"official music video"`, "하", "의", "a", "🐾", "이유 #", "아침 엄마",
	}
	for _, dm := range []int{directMax, 0} {
		ix.directMax = dm
		for _, q := range queries {
			for _, s := range []Sort{SortViews, SortRecent, SortRelevance} {
				checkAgainstOracle(t, ix, o, Query{Q: q, Sort: s})
				checkAgainstOracle(t, ix, o, Query{Q: q, Sort: s, In: []Field{FieldTitle, FieldChannel}})
			}
		}
	}
	// Korean extras: every title containing 롤토체스 is found by its initials
	// and by the QWERTY spelling of it.
	want := 0
	for _, v := range real {
		if strings.Contains(v.title, "롤토체스") {
			want++
		}
	}
	if want == 0 {
		t.Skip("no 롤토체스 title in the data")
	}
	for _, q := range []Query{
		{Q: "ㄹㅌㅊㅅ", Initials: true},
		{Q: "fhfxhcptm", Layout: true},
	} {
		res, err := ix.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, h := range res.Items {
			if strings.Contains(h.Title, "롤토체스") {
				got++
			}
		}
		if got < min(want, 20) && q.Layout {
			t.Errorf("%q: %d of %d 롤토체스 titles", q.Q, got, want)
		}
		if q.Initials && res.Total < want {
			t.Errorf("%q: total %d < %d", q.Q, res.Total, want)
		}
	}
}

func TestLayoutConversion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"chemdduddj", "초등영어"},
		{"ajrqkd", "먹방"},
		{"fhfxhcptm", "롤토체스"},
		{"dkssudgktpdy", "안녕하세요"},
		{"rkatk", "감사"},
		{"dhkswjs", "완전"},
		{"qkfrrh", "밝고"}, {"dlfrdj", "읽어"},
		{"gksrmf 123", "한글 123"},
		{"Tk", "싸"},
	} {
		if got := LayoutToHangul(c.in); got != c.want {
			t.Errorf("LayoutToHangul(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"ㅡㅑㅜㄷㅊㄱㅁㄹㅅ", "minecraft"},
		{"초등영어", "chemdduddj"},
		{"완전", "dhkswjs"},
		{"밝고", "qkfrrh"},
	} {
		if got := HangulToLayout(c.in); got != c.want {
			t.Errorf("HangulToLayout(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ＡＢＣ", "abc"},
		{"  Hello\t\nWORLD  ", "hello world"},
		{"ﾒｲｸ", "メイク"},
		{"\ufeffびっくり", "びっくり"},
		{"Straße", "strasse"},
		{"초등영어", "초등영어"},
		{"\u1100\u1161", "가"}, // conjoining jamo compose
		{"ㅋㅋ", "\u110f\u110f"},
		{"①", "1"},
		{"a\u200bb", "ab"},
		{"bad\xffutf8", "badutf8"},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestStableRunes proves the fast path of Normalize: every rune it treats as
// stable is unchanged by the full pipeline, alone and next to others.
func TestStableRunes(t *testing.T) {
	for r := rune(0); r <= 0x1FFFF; r++ {
		if !isStable(r) {
			continue
		}
		s := string(r)
		if got := normalizeSlow(s); got != s {
			t.Fatalf("%U: slow %q", r, got)
		}
		for _, ctx := range []string{"가", "a", "か", "😀"} {
			if got := normalizeSlow(ctx + s + ctx); got != ctx+s+ctx {
				t.Fatalf("%U in context %q: %q", r, ctx, got)
			}
		}
	}
	var mapped []string
	for r := rune(0xFF01); r <= 0xFF5E; r++ {
		mapped = append(mapped, string(r), "가"+string(r)+"a")
	}
	for r := rune(0x3131); r <= 0x318E; r++ {
		for _, ctx := range []string{"", "가", "ㅏ", "ㄱ", "a", "\u1161", "\u11a8"} {
			mapped = append(mapped, string(r)+ctx, ctx+string(r), ctx+string(r)+ctx)
		}
	}
	for _, s := range append(mapped, "Hello  World\t초등영어 ABC", "  MINE craft  ", "A\r\nB", "ｗｗｗ！？", "ㅋㅋㅋ", "ㅋㅋㅏ", "a\u200db", "\ufeffびっくり") {
		fast, ok := normalizeFast(s)
		if ok && fast != normalizeSlow(s) {
			t.Errorf("fast %q != slow %q", fast, normalizeSlow(s))
		}
	}
	for _, s := range []string{"Hello  World\t초등영어 ABC", "  MINE craft  ", "A\r\nB"} {
		fast, ok := normalizeFast(s)
		if !ok || fast != normalizeSlow(s) {
			t.Errorf("fast %q (%v) != slow %q", fast, ok, normalizeSlow(s))
		}
	}
}
