package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// oracle is a brute-force model: the latest state of each video and a
// normalized substring scan.
type oracle struct {
	docs map[string]*odoc
}

type odoc struct {
	s     vspec
	alive bool
	norm  [nFields][]string // per field, normalized values (tags one by one)
}

func newOracle() *oracle { return &oracle{docs: map[string]*odoc{}} }

func (o *oracle) put(s vspec) {
	d := &odoc{s: s, alive: true}
	d.norm[fTitle] = []string{Normalize(s.title)}
	for _, t := range s.tags {
		d.norm[fTags] = append(d.norm[fTags], Normalize(t))
	}
	d.norm[fChannel] = []string{Normalize(s.chanTitle)}
	d.norm[fDesc] = []string{Normalize(s.desc)}
	o.docs[s.id] = d
}

type ohit struct {
	id  string
	key float64
}

// search returns all matches in sort order and the exact total.
func (o *oracle) search(t *testing.T, q Query) ([]ohit, int) {
	p, err := prepare(q)
	if err != nil {
		t.Fatalf("prepare %q: %v", q.Q, err)
	}
	var out []ohit
	for _, d := range o.docs {
		if !d.alive {
			continue
		}
		if q.ChannelID != "" && d.s.chanID != q.ChannelID {
			continue
		}
		if q.MinViews > 0 && d.s.views < q.MinViews {
			continue
		}
		if !q.PublishedAfter.IsZero() && d.s.pub.Before(q.PublishedAfter) {
			continue
		}
		if !q.PublishedBefore.IsZero() && !d.s.pub.Before(q.PublishedBefore) {
			continue
		}
		ok := true
		sum := 0.0
		for _, tm := range p.terms {
			best := -1.0
			for _, a := range tm.alts {
				for _, fi := range p.fields {
					matched := false
					for _, v := range d.norm[fi] {
						matched = matched || strings.Contains(v, a.text)
					}
					if !matched {
						continue
					}
					// Score exactly as the engine defines it (position in the
					// field's normalized text; tags joined).
					text := d.norm[fi][0]
					if fi == fTags {
						text = normalizeTags(d.s.tags)
					}
					pos := strings.Index(text, a.text)
					best = max(best, matchBonus(fi, pos, len(a.text) == len(text)))
				}
			}
			if best < 0 {
				ok = false
				break
			}
			sum += best
		}
		if !ok {
			continue
		}
		var key float64
		switch p.sort {
		case SortViews:
			key = float64(d.s.views)
		case SortRecent:
			key = float64(d.s.pub.UnixMicro())
		default:
			key = relScore(sum, len(p.terms), d.s.views)
		}
		out = append(out, ohit{d.s.id, key})
	}
	slices.SortFunc(out, func(a, b ohit) int {
		if c := cmp.Compare(b.key, a.key); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out, len(out)
}

func checkAgainstOracle(t *testing.T, ix *Index, o *oracle, q Query) {
	t.Helper()
	if _, err := prepare(q); errors.Is(err, ErrBadQuery) {
		// e.g. a random substring that is only a quote character
		if _, err := ix.Search(context.Background(), q); !errors.Is(err, ErrBadQuery) {
			t.Fatalf("%q: oracle rejects, engine says %v", q.Q, err)
		}
		return
	}
	want, total := o.search(t, q)
	oracleStats[min(total/21, 2)]++
	// Twice: the second search finds its total in the total cache and
	// takes the rank walk where the first verified every candidate.
	for pass := range 2 {
		checkOnce(t, ix, q, want, total, pass)
	}
}

func checkOnce(t *testing.T, ix *Index, q Query, want []ohit, total, pass int) {
	t.Helper()
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	lim := q.Limit
	if lim == 0 {
		lim = DefaultLimit
	}
	wantIDs := []string{}
	for _, h := range want[:min(lim, len(want))] {
		wantIDs = append(wantIDs, h.id)
	}
	if got := ids(res); !slices.Equal(got, wantIDs) {
		t.Fatalf("pass %d: %s %q in %v: ids\n got  %v\n want %v", pass, q.Sort, q.Q, q.In, got, wantIDs)
	}
	switch res.TotalRelation {
	case "eq":
		if res.Total != total {
			t.Fatalf("pass %d: %s %q: total %d eq, oracle %d", pass, q.Sort, q.Q, res.Total, total)
		}
	case "gte":
		if res.Total != TotalCap || total < TotalCap || q.ExactTotal {
			t.Fatalf("pass %d: %s %q: total %d gte, oracle %d", pass, q.Sort, q.Q, res.Total, total)
		}
	default:
		t.Fatalf("relation %q", res.TotalRelation)
	}
}

// oracleStats counts checked queries by size: <=20 matches, 21..41, more.
var oracleStats [3]int

// randomSubstring picks 1-6 runes of a random title.
func randomSubstring(r *rand.Rand, s string) string {
	rs := []rune(Normalize(s))
	if len(rs) == 0 {
		return ""
	}
	n := 1 + r.IntN(min(6, len(rs)))
	i := r.IntN(len(rs) - n + 1)
	return strings.TrimSpace(string(rs[i : i+n]))
}

func randomTitle(r *rand.Rand, pool []rune) string {
	n := 2 + r.IntN(20)
	b := make([]rune, n)
	for i := range b {
		b[i] = pool[r.IntN(len(pool))]
	}
	return string(b)
}

// TestOracleProperty builds random corpora (synthetic and from real titles),
// mutates them (stats refreshes, title edits, tombstones) and checks that
// top-20 ids and totals equal the brute-force oracle for every sort, through
// both execution paths (verify-all and rank walk).
func TestOracleProperty(t *testing.T) {
	pool := []rune("가나다라마바사영어초등먹방 abcABCxyz 한국 ことば🎮")
	var real []realVideo
	if !testing.Short() {
		func() {
			defer func() { _ = recover() }()
			real = loadRealQuiet()
		}()
	}
	t.Logf("real titles: %d", len(real))
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			ix := newMem(t)
			if seed%2 == 0 {
				ix.directMax = 0 // force the block walk
			}
			if seed%3 != 2 {
				ix.compactMin = 1000 // compact posting lists often
			}
			if seed%2 == 1 {
				ix.compactListMax = 16 // settle most postings as frozen blobs
			}
			o := newOracle()
			n := 1500 + r.IntN(1500)
			if seed == 5 {
				n = TotalCap + 1500 // exercise "gte"
			}
			var recs []yt.Record
			for i := range n {
				s := vspec{
					id: vidID(i), views: int64(r.IntN(50)), pub: t0.Add(-time.Duration(r.IntN(100)) * time.Hour),
					chanID: chanID(r.IntN(5)), chanTitle: randomTitle(r, pool),
					tags: []string{randomTitle(r, pool), randomTitle(r, pool)},
				}
				if r.IntN(10) == 0 {
					s.views = int64(r.IntN(10_000_000))
				}
				if len(real) > 0 && r.IntN(2) == 0 {
					s.title = real[r.IntN(len(real))].title
				} else {
					s.title = randomTitle(r, pool)
				}
				if seed == 5 {
					s.title = "가" + s.title
				}
				recs = append(recs, s.rec())
				o.put(s)
			}
			mustApply(t, ix, recs...)
			ix.mu.Lock()
			ix.rebuildNowLocked()
			ix.mu.Unlock()

			titles := func() []string {
				var out []string
				for _, d := range o.docs {
					out = append(out, d.s.title)
				}
				slices.Sort(out) // deterministic per seed
				return out
			}()
			queries := func(k int) []Query {
				var qs []Query
				for range k {
					q := Query{Q: randomSubstring(r, titles[r.IntN(len(titles))])}
					if q.Q == "" {
						continue
					}
					if strings.Contains(q.Q, " ") || r.IntN(4) == 0 {
						q.Q = `"` + q.Q + `"`
					}
					if r.IntN(4) == 0 {
						q.Q += " " + randomSubstring(r, titles[r.IntN(len(titles))])
					}
					switch r.IntN(5) {
					case 0:
						q.In = []Field{FieldTitle, FieldTags}
					case 1:
						q.In = []Field{FieldChannel, FieldTitle}
					}
					switch r.IntN(6) {
					case 0:
						q.MinViews = int64(r.IntN(40))
					case 1:
						q.PublishedAfter = t0.Add(-50 * time.Hour)
					case 2:
						q.ChannelID = chanID(r.IntN(5))
					}
					for _, s := range []Sort{SortViews, SortRecent, SortRelevance} {
						q.Sort = s
						qs = append(qs, q)
					}
				}
				// Common single runes (many matches).
				for _, c := range []string{"가", "a", " a", "영어"} {
					qs = append(qs, Query{Q: c, Sort: SortViews}, Query{Q: c, Sort: SortRelevance})
				}
				return qs
			}
			for _, q := range queries(40) {
				checkAgainstOracle(t, ix, o, q)
			}
			// Mutate: stats refreshes (loosen block bounds), title edits, tombstones.
			recs = recs[:0]
			for i := range n {
				d := o.docs[vidID(i)]
				s := d.s
				s.fetched = t0.Add(time.Hour)
				switch r.IntN(10) {
				case 0, 1, 2:
					s.views += int64(r.IntN(1_000_000))
				case 3:
					s.title = randomTitle(r, pool)
				case 5, 6:
					// Within the view-count bucket: applied in place under the
					// read lock (applyStats).
					if b := bits.Len64(uint64(s.views)); b > 0 {
						s.views += int64(r.IntN(int(uint64(1)<<b - uint64(s.views))))
					}
				case 4:
					recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: s.id, ObservedAt: s.fetched}))
					d.alive = false
					continue
				default:
					continue
				}
				recs = append(recs, s.rec())
				o.put(s)
			}
			r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
			inPlace := ix.Stats().InPlace
			mustApply(t, ix, recs...)
			if got := ix.Stats().InPlace - inPlace; got == 0 {
				t.Errorf("no statistics refresh was applied in place")
			}
			for _, q := range queries(40) {
				checkAgainstOracle(t, ix, o, q)
			}
		})
	}
	t.Logf("queries checked by match count (<=20, <=41, more): %v", oracleStats)
}

// loadRealQuiet loads the real titles or returns nil.
func loadRealQuiet() []realVideo {
	var out []realVideo
	tb := &quietTB{}
	func() {
		defer func() { recover() }()
		out = loadReal(tb)
	}()
	return out
}

// quietTB turns Skip/Fatal into a panic recovered by loadRealQuiet.
type quietTB struct{ testing.TB }

func (quietTB) Helper()               {}
func (quietTB) Skipf(string, ...any)  { panic("skip") }
func (quietTB) Fatal(...any)          { panic("fatal") }
func (quietTB) Fatalf(string, ...any) { panic("fatal") }
