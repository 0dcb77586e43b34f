package index

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestStableRunesExhaustive checks every BMP rune the fast path passes
// through unchanged (isStable), alone and between other runes, against the
// full pipeline iterated to its fixed point (no fast path involved).
func TestStableRunesExhaustive(t *testing.T) {
	slowRef := func(s string) string { return fixedPoint(normalizeSlow, s) }
	n := 0
	for r := rune(0x21); r < 0x20000; r++ {
		if r == 0x10000 {
			r = 0x1F000 // the symbols and emoji plane-1 block isStable covers
		}
		if !isStable(r) {
			continue
		}
		n++
		for _, ctx := range [][2]string{{"", ""}, {"a", "b"}, {"가", "나"}, {"カ", "\u3099"}, {"e", "\u0301"}, {"ㅊ", "ㅇ"}} {
			s := ctx[0] + string(r) + ctx[1]
			if got, want := Normalize(s), slowRef(s); got != want {
				t.Fatalf("U+%04X in %q: Normalize %q, full pipeline %q", r, s, got, want)
			}
		}
	}
	if n < 20000 {
		t.Fatalf("only %d stable runes", n)
	}
	t.Logf("%d stable runes (BMP and U+1F000..1FFFF)", n)
	// The runes the fast path maps or drops itself, in the same contexts.
	for _, s := range []string{"…", "‼", "⁉", "\u00a0", "\ufffd", "\xff", "\xe2\x80", "\u200b", "\u3000"} {
		for _, ctx := range [][2]string{{"", ""}, {"a", "b"}, {"가 ", " 나"}, {"A", "Z"}, {"…", "…"}, {"ㅊ", "ㅇ"}, {"e", "\u0301"}} {
			x := ctx[0] + s + ctx[1]
			if got, want := Normalize(x), slowRef(x); got != want {
				t.Fatalf("%q: Normalize %q, full pipeline %q", x, got, want)
			}
		}
		if _, ok, _ := normalizeFastFixed("x" + s + "y"); !ok {
			t.Errorf("%q: not handled by the fast path", s)
		}
	}
	for _, r := range []rune{'→', '–', '☆', '•', '·', '々', '♪', '★', '▶', '♡', '🫶', '🟥', '🩹', '🀄'} {
		if !isStable(r) {
			t.Errorf("%q (U+%04X) not stable", r, r)
		}
	}
	for _, r := range []rune{'…', 'A', 'Ａ', 'ｶ', 'ﬁ', 'ß', '\u0301', '\u3099', 'ㅊ', '\u1161', '\u00a0', '\u200b', 'Ω', 'ǅ', '\u2126'} {
		if isStable(r) {
			t.Errorf("%q (U+%04X) marked stable", r, r)
		}
	}
}

// TestFoldedRunesExhaustive checks every BMP rune the fast path maps to one
// stable rune (foldBMP), alone and between other runes, against the full
// pipeline iterated to its fixed point, and that the fast path handles it.
func TestFoldedRunesExhaustive(t *testing.T) {
	slowRef := func(s string) string { return fixedPoint(normalizeSlow, s) }
	n := 0
	for r, f := range foldBMP() {
		if f == 0 {
			continue
		}
		n++
		for _, ctx := range [][2]string{{"", ""}, {"a", "b"}, {"가", "\u11ab"}, {"カ", "\u3099"}, {"e", "\u0301"}, {"ㅊ", "ㅏ"}, {"\u1100", "\u1161"}, {"A", "Ａ"}} {
			s := ctx[0] + string(rune(r)) + ctx[1]
			if got, want := Normalize(s), slowRef(s); got != want {
				t.Fatalf("U+%04X in %q: Normalize %q, full pipeline %q", r, s, got, want)
			}
		}
		if _, ok, _ := normalizeFastFixed("x" + string(rune(r)) + "y"); !ok {
			t.Fatalf("U+%04X: not handled by the fast path", r)
		}
	}
	// Capitals of other scripts, compatibility forms and the ideographs
	// real titles hold.
	for _, r := range []rune{'О', 'Σ', 'É', 'Ａ', '①', 'ⓒ', '㊗', 'ｶ', '\u212A', '\uF9E1'} {
		if foldBMP()[r] == 0 {
			t.Errorf("%q (U+%04X) not folded by the fast path", r, r)
		}
	}
	if n < 1000 {
		t.Fatalf("only %d folded BMP runes", n)
	}
	t.Logf("%d folded BMP runes", n)
}

// TestHangulJamoFastPath checks sequences of up to three jamo (conjoining
// and compatibility, every class) after every kind of neighbour against the
// full pipeline: composition of a choseong and a jungseong (and a
// jongseong), a jongseong joining the syllable before, and jamo left alone.
func TestHangulJamoFastPath(t *testing.T) {
	slowRef := func(s string) string { return fixedPoint(normalizeSlow, s) }
	jamo := []string{
		"\u1100", "\u1112", "\u1161", "\u1175", "\u11a8", "\u11c2", // conjoining L, V, T (first and last)
		"ㄱ", "ㅎ", "ㄳ", "ㅏ", "ㅣ", "ㆍ", "\u1113", "\u1176", "\u11c3", "\u115f", "\u1160", // compatibility, old Hangul, fillers
		"\xff", "\u200b", // dropped: invalid UTF-8 before NFKC, a format character after it
	}
	before := []string{"", "a", " ", "가", "각", "\u200b", "\xff", "\ufffd", "㉮", "\u1100", "ㅋ"}
	after := []string{"", "b", " ", "\xff", "\u11ab", "ㅏ"}
	seqs := []string{""}
	for range 3 {
		var next []string
		for _, s := range seqs {
			for _, j := range jamo {
				next = append(next, s+j)
			}
		}
		seqs = append(seqs, next...)
	}
	fast := 0
	for _, p := range before {
		for _, q := range seqs {
			for _, a := range after {
				s := p + q + a
				got, want := Normalize(s), slowRef(s)
				if got != want {
					t.Fatalf("%+q: Normalize %+q, full pipeline %+q", s, got, want)
				}
				if f, ok := normalizeFast(s); ok {
					fast++
					if one := normalizeSlow(s); f != one {
						t.Fatalf("%+q: fast path %+q, one pass of the full pipeline %+q", s, f, one)
					}
				}
			}
		}
	}
	t.Logf("%d of %d texts took the fast path", fast, len(before)*len(seqs)*len(after))
	// Long runs: x/text inserts U+034F after 30 non-starters in a row
	// (lone jungseong and jongseong count; choseong do not).
	for _, unit := range []string{"ㅔ", "\u1166", "\u11a8", "ㅋ", "\u1100", "ㅠ ", "ㅠ\u200b", "가\u11ab", "ㅋㅏ", "ㅏ\u11a8"} {
		for _, n := range []int{8, 9, 29, 30, 31, 100} {
			s := "뷸" + strings.Repeat(unit, n) + "ㄱ"
			if got, want := Normalize(s), slowRef(s); got != want {
				t.Fatalf("%d x %+q: Normalize %+q, full pipeline %+q", n, unit, got, want)
			}
		}
	}
	for _, s := range []string{"\u1100\u1161\u11a8", "ㅋㅋㅋ", "ㅠㅠ", "ㅋㅏ", "가\u11ab", "\u110b\u1167\u11bc\u110b\u1165"} {
		if _, ok := normalizeFast(s); !ok {
			t.Errorf("%+q: not handled by the fast path", s)
		}
	}
}

// TestKanaVoicingFastPath checks every kana followed by the combining
// voiced and semi-voiced sound marks (once, twice, after a dropped rune)
// against the full pipeline.
func TestKanaVoicingFastPath(t *testing.T) {
	slowRef := func(s string) string { return fixedPoint(normalizeSlow, s) }
	composed := 0
	for k := rune(0x3041); k <= 0x30FF; k++ {
		for _, tail := range []string{"\u3099", "\u309a", "\u3099\u3099", "\xff\u3099", "\u200b\u3099", " \u3099", "\u3099a"} {
			for _, p := range []string{"", "a", "ｶ"} {
				s := p + string(k) + tail
				if got, want := Normalize(s), slowRef(s); got != want {
					t.Fatalf("%+q: Normalize %+q, full pipeline %+q", s, got, want)
				}
				if f, ok := normalizeFast(s); ok {
					if one := normalizeSlow(s); f != one {
						t.Fatalf("%+q: fast path %+q, one pass of the full pipeline %+q", s, f, one)
					}
				}
			}
		}
		if kanaVoiced(k, 0x3099) != 0 {
			composed++
		}
	}
	for _, s := range []string{"か\u3099", "ハ\u309a", "ｶ\u3099", "は\u309aは\u3099"} {
		if _, ok := normalizeFast(s); !ok {
			t.Errorf("%+q: not handled by the fast path", s)
		}
	}
	if composed < 40 {
		t.Fatalf("only %d kana take a voiced sound mark", composed)
	}
}

// TestNormalizeRealTexts checks Normalize against the full pipeline
// iterated to its fixed point (no fast path involved) on the real texts of
// ../shared/data: the KR/JP/US chart titles and channel titles, and every
// text field of the Kaggle trending samples.
func TestNormalizeRealTexts(t *testing.T) {
	slowRef := func(s string) string { return fixedPoint(normalizeSlow, s) }
	fast := 0
	n := 0
	check := func(s string) {
		n++
		if got, want := Normalize(s), slowRef(s); got != want {
			t.Fatalf("%+q: Normalize %+q, full pipeline %+q", s, got, want)
		}
		if _, ok := normalizeFast(s); ok {
			fast++
		}
	}
	for _, v := range loadReal(t) {
		check(v.title)
		check(v.chanTitle)
	}
	// The Kaggle samples of 11 countries (Latin with accents, Cyrillic,
	// Devanagari, Japanese, Korean): titles, channel titles, tags and
	// descriptions.
	csvs, _ := filepath.Glob(filepath.Join(sharedData, "trending/kaggle-rsrishav-2020-08-sample/*.csv.gz"))
	if len(csvs) < 5 {
		t.Fatalf("%d Kaggle samples in %s", len(csvs), sharedData)
	}
	for _, path := range csvs {
		r := gzCSV(t, path)
		r.LazyQuotes = true
		head, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		cols := map[string]int{}
		for i, h := range head {
			cols[h] = i
		}
		for {
			row, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, c := range []string{"title", "channelTitle", "description"} {
				check(row[cols[c]])
			}
			for _, tag := range strings.Split(row[cols["tags"]], "|") {
				check(tag)
			}
		}
	}
	t.Logf("%d of %d real texts took the fast path", fast, n)
	if fast*100 < n*95 {
		t.Errorf("only %d of %d real texts took the fast path", fast, n)
	}
}
