package index

import (
	"slices"
	"unicode/utf8"
)

// A gram key packs up to two runes (21 bits each) and kind bits:
//
//	bit 63: 1 = initial-consonant gram
//	bit 62: 1 = ASCII trigram: bits 14..20, 7..13, 0..6 hold its three runes
//	otherwise: bits 21..41: first rune, bits 0..20: second rune (0 = unigram)
//
// Normalized text never contains U+0000, so r2 == 0 unambiguously marks a unigram.
const (
	initialsBit = uint64(1) << 63
	trigramBit  = uint64(1) << 62
)

func gramKey(r1, r2 rune) uint64 { return uint64(r1)<<21 | uint64(r2) }

// Trigrams "pay" for ASCII text: Latin letters and digits form few distinct
// bigrams, each in a large share of titles, so an English word's bigrams
// intersect to many candidates that verification then rejects (most of an
// English query's time at 10M docs). Three printable ASCII runes (no space)
// are rare together. Hangul and kana bigrams are already selective.
func isTriRune(r rune) bool { return r > ' ' && r < 0x7f }

func trigramKey(a, b, c rune) uint64 {
	return trigramBit | uint64(a)<<14 | uint64(b)<<7 | uint64(c)
}

// appendGrams appends the gram keys of a normalized field text to dst:
// every rune except space (unigrams), every adjacent pair not crossing a tag
// separator (bigrams, spaces included), every three adjacent printable ASCII
// runes (trigrams, no space), and the initial-consonant unigrams and bigrams
// of Hangul. The result is not deduplicated; see uniqGrams.
func appendGrams(dst []uint64, text string) []uint64 {
	prev, prev2, prevInit := rune(-1), rune(-1), rune(-1)
	for _, r := range text {
		if r == tagSep {
			prev, prev2, prevInit = -1, -1, -1
			continue
		}
		if r != ' ' {
			dst = append(dst, gramKey(r, 0))
		}
		if prev >= 0 {
			dst = append(dst, gramKey(prev, r))
			if isTriRune(r) && isTriRune(prev) && isTriRune(prev2) {
				dst = append(dst, trigramKey(prev2, prev, r))
			}
		}
		ini := initialOf(r)
		if ini >= 0 {
			dst = append(dst, initialsBit|gramKey(ini, 0))
		}
		if ini >= 0 && prevInit >= 0 {
			dst = append(dst, initialsBit|gramKey(prevInit, ini))
		}
		prev2, prev, prevInit = prev, r, ini
	}
	return dst
}

// appendTrigrams appends only the trigram keys of text (see appendGrams).
func appendTrigrams(dst []uint64, text string) []uint64 {
	prev, prev2 := rune(-1), rune(-1)
	for _, r := range text {
		if r == tagSep {
			prev, prev2 = -1, -1
			continue
		}
		if isTriRune(r) && isTriRune(prev) && isTriRune(prev2) {
			dst = append(dst, trigramKey(prev2, prev, r))
		}
		prev2, prev = prev, r
	}
	return dst
}

// uniqGrams sorts and deduplicates grams in place.
func uniqGrams(g []uint64) []uint64 {
	slices.Sort(g)
	return slices.Compact(g)
}

// patternGrams returns the gram keys every text matching the pattern must
// contain, and whether containing them all already proves a match (patterns of
// one or two runes, and of three printable ASCII runes: the gram is the
// pattern itself).
func patternGrams(p pattern) (keys []uint64, exact bool) {
	rs := p.runes
	if !p.initials {
		if len(rs) == 1 {
			if rs[0] == ' ' {
				return nil, false
			}
			return []uint64{gramKey(rs[0], 0)}, true
		}
		// A trigram implies its two bigrams: only pairs no trigram covers
		// (non-ASCII or space) are looked up as bigrams.
		covered := make([]bool, len(rs))
		for i := 0; i+2 < len(rs); i++ {
			if isTriRune(rs[i]) && isTriRune(rs[i+1]) && isTriRune(rs[i+2]) {
				keys = append(keys, trigramKey(rs[i], rs[i+1], rs[i+2]))
				covered[i], covered[i+1] = true, true
			}
		}
		for i := 0; i+1 < len(rs); i++ {
			if !covered[i] {
				keys = append(keys, gramKey(rs[i], rs[i+1]))
			}
		}
		// Two runes are their bigram; three printable ASCII runes are
		// their trigram (indexed exactly so, never across two tags).
		exact := len(rs) == 2 || (len(rs) == 3 && isTriRune(rs[0]) && isTriRune(rs[1]) && isTriRune(rs[2]))
		return uniqGrams(keys), exact
	}
	// Initials pattern: a choseong matches any syllable with that initial, any
	// other rune matches itself. Pairs of two choseong use the initials space,
	// pairs of two literals the literal space; mixed pairs constrain nothing.
	allCho := true
	for i, r := range rs {
		c := isChoseong(r)
		allCho = allCho && c
		if len(rs) == 1 {
			if c {
				keys = append(keys, initialsBit|gramKey(r, 0))
			} else if r != ' ' {
				keys = append(keys, gramKey(r, 0))
			}
			break
		}
		if i+1 < len(rs) {
			n := rs[i+1]
			switch {
			case c && isChoseong(n):
				keys = append(keys, initialsBit|gramKey(r, n))
			case !c && !isChoseong(n):
				keys = append(keys, gramKey(r, n))
			case c:
				keys = append(keys, initialsBit|gramKey(r, 0))
			default:
				keys = append(keys, initialsBit|gramKey(n, 0))
			}
		}
	}
	return uniqGrams(keys), allCho && len(rs) <= 2
}

// matchInitials finds the first byte offset in text where pattern p matches
// with choseong runes of p matching any rune of the same initial, or -1.
func matchInitials(text string, p []rune) int {
	for i := 0; i < len(text); {
		j, k := i, 0
		for k < len(p) && j < len(text) {
			r, sz := utf8.DecodeRuneInString(text[j:])
			if isChoseong(p[k]) {
				if initialOf(r) != p[k] {
					break
				}
			} else if r != p[k] {
				break
			}
			j += sz
			k++
		}
		if k == len(p) {
			return i
		}
		_, sz := utf8.DecodeRuneInString(text[i:])
		i += sz
	}
	return -1
}
