package index

import (
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
