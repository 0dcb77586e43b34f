package searchbench

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tubelake/tubelake/internal/index"
)

// sep ends every title in the store. Normalize turns every white space into
// a plain space, so no normalized title or query term contains it and no
// match can span two titles.
const sep = '\n'

// store is the brute-force oracle: every normalized title in one buffer,
// with the view counts and ids in columns. It holds no per-doc pointers.
type store struct {
	text  []byte
	off   []int64 // off[i] is where title i starts; off[n] = len(text)
	views []int64
	ids   []byte   // 11 bytes per doc
	years []uint16 // publish year (the anchors' Parquet partition)
}

func newStore(capDocs int) *store {
	return &store{off: make([]int64, 1, capDocs+1), views: make([]int64, 0, capDocs), ids: make([]byte, 0, 11*capDocs)}
}

func (s *store) add(normTitle, id string, views int64) {
	s.text = append(s.text, normTitle...)
	s.text = append(s.text, sep)
	s.off = append(s.off, int64(len(s.text)))
	s.views = append(s.views, views)
	s.ids = append(s.ids, id...)
}

func (s *store) len() int { return len(s.views) }

func (s *store) id(i int) string { return string(s.ids[11*i : 11*i+11]) }

func (s *store) title(i int) []byte { return s.text[s.off[i] : s.off[i+1]-1] }

// queryTerms splits q as the index does (white space), normalizes every term
// with index.Normalize and drops empty and repeated terms.
func queryTerms(q string) []string {
	var out []string
	for _, f := range strings.Fields(q) {
		n := index.Normalize(f)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// hitSet is a bounded top-k by views desc, id asc.
type hitSet struct {
	s    *store
	k    int
	docs []int // sorted best first
}

func (h *hitSet) better(a, b int) bool {
	va, vb := h.s.views[a], h.s.views[b]
	if va != vb {
		return va > vb
	}
	return bytes.Compare(h.s.ids[11*a:11*a+11], h.s.ids[11*b:11*b+11]) < 0
}

func (h *hitSet) add(d int) {
	if len(h.docs) == h.k && !h.better(d, h.docs[h.k-1]) {
		return
	}
	i := sort.Search(len(h.docs), func(j int) bool { return h.better(d, h.docs[j]) })
	if len(h.docs) < h.k {
		h.docs = append(h.docs, 0)
	}
	copy(h.docs[i+1:], h.docs[i:len(h.docs)-1])
	h.docs[i] = d
}

// scanResult is an exact answer: every match counted, top k by views.
type scanResult struct {
	Total int
	IDs   []string
}

// scan answers terms (ANDed substrings) over docs [lo, hi) with `workers`
// goroutines: it finds the first term with bytes.Index over the whole
// buffer, checks the other terms in the matching title, counts every match
// and keeps the top k by views.
func (s *store) scan(ctx context.Context, terms []string, lo, hi, k, workers int) (scanResult, error) {
	if len(terms) == 0 || lo >= hi {
		return scanResult{IDs: []string{}}, nil
	}
	// Longest term first: fewest hits.
	ts := slices.Clone(terms)
	slices.SortStableFunc(ts, func(a, b string) int { return len(b) - len(a) })
	pats := make([][]byte, len(ts))
	for i, t := range ts {
		pats[i] = []byte(t)
	}
	workers = max(1, min(workers, hi-lo))
	totals := make([]int, workers)
	sets := make([]*hitSet, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		a := lo + (hi-lo)*w/workers
		b := lo + (hi-lo)*(w+1)/workers
		sets[w] = &hitSet{s: s, k: k}
		wg.Add(1)
		go func(w, a, b int) {
			defer wg.Done()
			totals[w] = s.scanRange(ctx, pats, a, b, sets[w])
		}(w, a, b)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return scanResult{}, err
	}
	all := &hitSet{s: s, k: k}
	res := scanResult{}
	for w := range sets {
		res.Total += totals[w]
		for _, d := range sets[w].docs {
			all.add(d)
		}
	}
	res.IDs = make([]string, len(all.docs))
	for i, d := range all.docs {
		res.IDs[i] = s.id(d)
	}
	return res, nil
}

func (s *store) scanRange(ctx context.Context, pats [][]byte, a, b int, hs *hitSet) int {
	end := s.off[b]
	pos := s.off[a]
	total := 0
	d := a
	for iter := 0; pos < end; iter++ {
		if iter&1023 == 1023 && ctx.Err() != nil {
			return total
		}
		j := bytes.Index(s.text[pos:end], pats[0])
		if j < 0 {
			break
		}
		p := pos + int64(j)
		// The doc holding p: off[d] <= p < off[d+1].
		if s.off[d+1] <= p {
			d += sort.Search(b-d, func(x int) bool { return s.off[d+x+1] > p })
		}
		ok := true
		t := s.title(d)
		for _, q := range pats[1:] {
			if !bytes.Contains(t, q) {
				ok = false
				break
			}
		}
		if ok {
			total++
			hs.add(d)
		}
		pos = s.off[d+1]
		d++
	}
	return total
}
