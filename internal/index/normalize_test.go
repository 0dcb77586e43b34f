package index

import "testing"

// TestStableRunesExhaustive checks every BMP rune the fast path passes
// through unchanged (isStable), alone and between other runes, against the
// full pipeline iterated to its fixed point (no fast path involved).
func TestStableRunesExhaustive(t *testing.T) {
	slowRef := func(s string) string { return fixedPoint(normalizeSlow, s) }
	n := 0
	for r := rune(0x21); r < 0x10000; r++ {
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
		t.Fatalf("only %d stable BMP runes", n)
	}
	t.Logf("%d stable BMP runes", n)
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
	for _, r := range []rune{'→', '–', '☆', '•', '·', '々', '♪', '★', '▶', '♡'} {
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
