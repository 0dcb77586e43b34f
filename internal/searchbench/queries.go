package searchbench

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query kinds.
const (
	KindCommon  = "common"
	KindRare    = "rare"
	KindKorean  = "ko-1-2"
	KindEnglish = "english"
	KindJapan   = "japanese"
	KindMulti   = "multi-term"
	KindNoMatch = "no-match"
)

// Kinds lists the query kinds in report order.
var Kinds = []string{KindCommon, KindRare, KindKorean, KindEnglish, KindJapan, KindMulti, KindNoMatch}

// Query is one benchmark query.
type Query struct {
	Kind string `json:"kind"`
	Q    string `json:"q"`
}

type counted struct {
	s string
	n int
}

func sortedCounts(m map[string]int) []counted {
	out := make([]counted, 0, len(m))
	for s, n := range m {
		out = append(out, counted{s, n})
	}
	slices.SortFunc(out, func(a, b counted) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	return out
}

func isHangul(r rune) bool { return r >= 0xAC00 && r <= 0xD7A3 }

func isJapanese(r rune) bool {
	return unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Han, r) || r == 'ー'
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

// spread picks up to n distinct entries of a frequency-sorted list at
// log-uniform ranks within the first `within`: frequent and mid-frequency
// terms alike.
func spread(r *rand.Rand, list []counted, n, within int) []string {
	within = min(within, len(list))
	if within == 0 {
		return nil
	}
	seen := map[int]bool{}
	var out []string
	for tries := 0; len(out) < n && tries < 50*n; tries++ {
		i := int(math.Exp(r.Float64()*math.Log(float64(within)))) - 1
		i = max(0, min(i, within-1))
		if seen[i] {
			continue
		}
		seen[i] = true
		out = append(out, list[i].s)
	}
	return out
}

// pickQueries chooses the query set from the corpus itself: it counts words
// and short substrings in a sample of normalized titles, and uses the
// oracle (exact counts over the whole corpus) for the rare and no-match kinds.
func pickQueries(ctx context.Context, s *store, perKind int, seed uint64, sample int) ([]Query, error) {
	r := rand.New(rand.NewPCG(seed, 77))
	sample = min(sample, s.len())
	words := map[string]int{}
	ko := map[string]int{}
	ja := map[string]int{}
	for i := 0; i < sample; i++ {
		t := string(s.title(i))
		for _, w := range strings.Split(t, " ") {
			if w != "" {
				words[w]++
			}
			rs := []rune(w)
			for a := 0; a < len(rs); a++ {
				if isHangul(rs[a]) {
					ko[string(rs[a])]++
					if a+1 < len(rs) && isHangul(rs[a+1]) {
						ko[string(rs[a:a+2])]++
					}
				}
				for l := 2; l <= 3 && a+l <= len(rs); l++ {
					if !isJapanese(rs[a+l-1]) || !isJapanese(rs[a]) {
						break
					}
					ja[string(rs[a:a+l])]++
				}
			}
		}
	}
	byWord := sortedCounts(words)
	var qs []Query
	add := func(kind string, list []string) {
		for _, q := range list {
			qs = append(qs, Query{Kind: kind, Q: q})
		}
	}

	// common: the most frequent words of two or more characters.
	var common []string
	for _, c := range byWord {
		if len(common) == perKind {
			break
		}
		if utf8.RuneCountInString(c.s) >= 2 && hasLetter(c.s) {
			common = append(common, c.s)
		}
	}
	add(KindCommon, common)

	// rare: words seen once in the sample, kept if the whole corpus has 1..49 matches.
	var rareCand []string
	for _, c := range byWord {
		if c.n == 1 && utf8.RuneCountInString(c.s) >= 3 && hasLetter(c.s) {
			rareCand = append(rareCand, c.s)
		}
	}
	r.Shuffle(len(rareCand), func(i, j int) { rareCand[i], rareCand[j] = rareCand[j], rareCand[i] })
	var rare []string
	for _, q := range rareCand[:min(len(rareCand), 6*perKind)] {
		if len(rare) == perKind {
			break
		}
		res, err := s.scan(ctx, queryTerms(q), 0, s.len(), 1, 2)
		if err != nil {
			return nil, err
		}
		if res.Total >= 1 && res.Total < 50 {
			rare = append(rare, q)
		}
	}
	add(KindRare, rare)

	// Korean one- and two-syllable terms, half each.
	var ko1, ko2 []counted
	for _, c := range sortedCounts(ko) {
		if utf8.RuneCountInString(c.s) == 1 {
			ko1 = append(ko1, c)
		} else {
			ko2 = append(ko2, c)
		}
	}
	add(KindKorean, spread(r, ko1, perKind/2, 1000))
	add(KindKorean, spread(r, ko2, perKind-perKind/2, 20000))

	// English words of three or more letters.
	var en []counted
	for _, c := range byWord {
		if len(c.s) >= 3 && isASCIILetters(c.s) {
			en = append(en, c)
		}
	}
	add(KindEnglish, spread(r, en, perKind, 5000))

	add(KindJapan, spread(r, sortedCounts(ja), perKind, 10000))

	// multi-term: two words of one real (generated) title.
	var multi []string
	for tries := 0; len(multi) < perKind && tries < 100*perKind; tries++ {
		var ws []string
		for _, w := range strings.Split(string(s.title(r.IntN(sample))), " ") {
			if utf8.RuneCountInString(w) >= 2 && hasLetter(w) && !slices.Contains(ws, w) {
				ws = append(ws, w)
			}
		}
		if len(ws) < 2 {
			continue
		}
		// The two most frequent words of the title: pairs that co-occur often.
		slices.SortStableFunc(ws, func(a, b string) int { return cmp.Compare(words[b], words[a]) })
		q := ws[0] + " " + ws[1]
		if r.IntN(2) == 0 {
			q = ws[1] + " " + ws[0]
		}
		if !slices.Contains(multi, q) {
			multi = append(multi, q)
		}
	}
	add(KindMulti, multi)

	// no-match: a frequent Korean word glued to a frequent English one, or
	// three frequent syllables; kept only if the corpus has no match.
	var none []string
	for tries := 0; len(none) < perKind && tries < 20*perKind; tries++ {
		var q string
		if tries%2 == 0 && len(ko2) > 0 && len(en) > 0 {
			q = ko2[r.IntN(min(200, len(ko2)))].s + en[r.IntN(min(200, len(en)))].s
		} else if len(ko1) > 0 {
			q = ko1[r.IntN(min(300, len(ko1)))].s + ko1[r.IntN(min(300, len(ko1)))].s + ko1[r.IntN(min(300, len(ko1)))].s
		}
		if q == "" || slices.Contains(none, q) {
			continue
		}
		res, err := s.scan(ctx, queryTerms(q), 0, s.len(), 1, 2)
		if err != nil {
			return nil, err
		}
		if res.Total == 0 {
			none = append(none, q)
		}
	}
	add(KindNoMatch, none)
	return qs, nil
}
