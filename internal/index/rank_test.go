package index

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortRankPairs(t *testing.T) {
	want := func(ps []docKey) []docKey {
		w := slices.Clone(ps)
		slices.SortFunc(w, func(a, b docKey) int {
			if c := cmp.Compare(b.key, a.key); c != 0 {
				return c
			}
			return cmp.Compare(a.doc, b.doc)
		})
		return w
	}
	r := rand.New(rand.NewPCG(7, 8))
	keys := map[string]func() int64{
		"views":      func() int64 { return int64(math.Exp(r.Float64() * 23)) },
		"few values": func() int64 { return int64(r.IntN(4)) },
		"signed":     func() int64 { return r.Int64() - math.MaxInt64/2 },
		"extremes": func() int64 {
			return []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}[r.IntN(5)]
		},
		"published µs": func() int64 { return 1_600_000_000_000_000 + r.Int64N(200_000_000_000_000) },
		"all equal":    func() int64 { return 42 },
	}
	for name, key := range keys {
		for _, n := range []int{0, 1, 100, 5000} {
			ps := make([]docKey, n)
			doc := uint32(0)
			for i := range ps {
				doc += 1 + uint32(r.IntN(3))
				ps[i] = docKey{doc, key()}
			}
			w := want(ps)
			var scratch []docKey
			if n%2 == 0 {
				scratch = make([]docKey, n) // a spare buffer from an earlier sort
			}
			if got, spare := sortRankPairs(ps, scratch); !slices.Equal(got, w) || (len(got) > 0 && len(spare) > 0 && &got[0] == &spare[0]) {
				t.Fatalf("%s, %d pairs in doc order: not sorted by key desc, doc asc", name, n)
			}
			// Not in doc order: the comparison sort.
			ps = slices.Clone(w)
			r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			if got, _ := sortRankPairs(ps, nil); !slices.Equal(got, w) {
				t.Fatalf("%s, %d shuffled pairs: not sorted by key desc, doc asc", name, n)
			}
		}
	}
}

// BenchmarkSortRankPairs sorts 10M (doc, views) pairs as a rank rebuild at
// 10M docs does.
func BenchmarkSortRankPairs(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ps := make([]docKey, 10_000_000)
	for i := range ps {
		ps[i] = docKey{uint32(i), int64(math.Exp(r.Float64() * 23))}
	}
	buf := make([]docKey, len(ps))
	for b.Loop() {
		copy(buf, ps)
		sortRankPairs(buf, nil)
	}
}
