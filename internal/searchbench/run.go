package searchbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/procstat"
	"github.com/tubelake/tubelake/internal/yt"
)

// Config configures a search benchmark run.
type Config struct {
	DataDir           string   // real data (../shared/data) the corpus model learns from
	Docs              int      // corpus size indexed by tubelake
	AnchorDocs        int      // the anchors index the first AnchorDocs docs (<= Docs)
	PerKind           int      // queries per kind
	Reps              int      // timed repetitions of each query on our index (after one warm-up)
	AnchorReps        int      // timed repetitions of each query on an anchor (after one warm-up)
	Anchors           []string // anchors to run, of AnchorNames
	Updates           int      // view-count-only snapshots applied in the updates phase
	Batch             int      // records per Apply while indexing
	Seed              uint64
	WorkDir           string        // index snapshot and anchor files go here
	AnchorBudget      time.Duration // per-anchor time for its queries (0: no limit)
	CPUProfile        string        // if set, a CPU profile of the indexing phase is written here
	UpdatesCPUProfile string        // if set, a CPU profile of the statistics-update phase is written here
	QueriesCPUProfile string        // if set, a CPU profile of the timed query repetitions is written here
	MemProfile        string        // if set, a heap profile taken right after indexing (after a GC) is written here
	Reopen            bool          // flush the final state, reopen the snapshot and check the queries again (see reopen)
	ReopenCPUProfile  string        // if set, a CPU profile of opening the snapshot is written here
	// Handler, when set, serves the index over HTTP (the API's handler) for
	// the API phase: the same queries through GET /v1/videos/search from
	// APIClients concurrent clients (default 2).
	Handler    func(*index.Index) (http.Handler, error) `json:"-"`
	APIClients int                                      `json:"api_clients,omitempty"`
	Progress   io.Writer                                `json:"-"` // progress lines (nil: none)
	Logger     *slog.Logger                             `json:"-"`
}

// ErrMismatch is returned (with the report) when our results differ from the oracle's.
var ErrMismatch = errors.New("search results differ from the brute-force oracle")

const topK = 20

func (c *Config) defaults() error {
	if c.Docs <= 0 {
		return fmt.Errorf("search bench: --docs must be positive, got %d", c.Docs)
	}
	if c.AnchorDocs <= 0 || c.AnchorDocs > c.Docs {
		c.AnchorDocs = c.Docs
	}
	if c.PerKind <= 0 {
		c.PerKind = 50
	}
	if c.Reps <= 0 {
		c.Reps = 20
	}
	if c.AnchorReps <= 0 {
		c.AnchorReps = 3
	}
	if c.Batch <= 0 {
		c.Batch = 10000
	}
	if c.Updates < 0 {
		return fmt.Errorf("search bench: --updates must be >= 0")
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.APIClients <= 0 {
		c.APIClients = 2
	}
	for _, a := range c.Anchors {
		if !slices.Contains(AnchorNames, a) {
			return fmt.Errorf("search bench: unknown anchor %q (want some of %s)", a, strings.Join(AnchorNames, ","))
		}
	}
	if c.WorkDir == "" {
		return errors.New("search bench: no work dir")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

// Run generates the corpus, indexes it, measures queries, updates and the
// anchors, and checks every answer against the brute-force oracle. It
// returns the report; when answers differ it also returns ErrMismatch.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{Date: start.UTC().Format(time.RFC3339), Machine: machine(), Config: cfg}
	pf := func(format string, a ...any) { fmt.Fprintf(cfg.Progress, format+"\n", a...) }

	model, err := LoadModel(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	rep.Corpus.Sources = model.Sources
	rep.Corpus.LearnedTitles = model.Titles()
	pf("model: learned %v titles from %d files", rep.Corpus.LearnedTitles, len(model.Sources))
	rep.Machine.ProbeStartNs = speedProbe(model)
	pf("speed probe: %.0f ns/doc (corpus generator, one thread)", rep.Machine.ProbeStartNs)

	// ---- 1+2: generate and index, streaming ----
	ixDir := filepath.Join(cfg.WorkDir, "index")
	if err := os.RemoveAll(ixDir); err != nil {
		return nil, err
	}
	ix, err := index.Open(ixDir, index.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	defer func() {
		if ix != nil { // the reopen phase replaces it
			ix.Close()
		}
	}()
	if err := buildIndex(ctx, &cfg, model, ix, rep, pf); err != nil {
		return nil, err
	}

	// ---- oracle store (regenerated, after the memory measurement) ----
	t0 := time.Now()
	s, err := buildStore(ctx, &cfg, model)
	if err != nil {
		return nil, err
	}
	pf("oracle: %d normalized titles (%s) in %.1fs", s.len(), mb(int64(len(s.text))), time.Since(t0).Seconds())

	// ---- 3: queries ----
	qs, err := pickQueries(ctx, s, cfg.PerKind, cfg.Seed, 200_000)
	if err != nil {
		return nil, err
	}
	rep.Queries = qs
	want := make([]scanResult, len(qs))
	t0 = time.Now()
	for i, q := range qs {
		if want[i], err = s.scan(ctx, queryTerms(q.Q), 0, s.len(), topK, 2); err != nil {
			return nil, err
		}
	}
	pf("oracle: answered %d queries in %.1fs", len(qs), time.Since(t0).Seconds())

	// ---- our latencies and correctness ----
	// The corpus generator's and the oracle's garbage is collected first:
	// the timed queries should not pay for marking the harness's leftovers
	// (the statistics-update phase below measures queries while the index
	// itself allocates).
	runtime.GC()
	stopProfile, err := startProfile(cfg.QueriesCPUProfile)
	if err != nil {
		return nil, err
	}
	lat := map[string][]time.Duration{}
	totals := map[string][]int{}
	faults0 := procstat.MajorFaults()
	slowMs, slowQ := map[string]float64{}, map[string]string{}
	for i, q := range qs {
		res, err := ix.Search(ctx, index.Query{Q: q.Q, Sort: index.SortViews, Limit: topK})
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", q.Q, err)
		}
		rep.Correctness.Checked++
		if msg := compare(res, want[i]); msg != "" {
			rep.Correctness.Mismatches++
			rep.Correctness.addExample(fmt.Sprintf("%s %q: %s", q.Kind, q.Q, msg))
		}
		totals[q.Kind] = append(totals[q.Kind], want[i].Total)
		mine := make([]time.Duration, 0, cfg.Reps)
		// Profile samples are labelled kind=<query kind> (pprof -tagfocus).
		pprof.Do(ctx, pprof.Labels("kind", q.Kind), func(ctx context.Context) {
			for r := 0; r < cfg.Reps && err == nil; r++ {
				t := time.Now()
				if _, err = ix.Search(ctx, index.Query{Q: q.Q, Sort: index.SortViews, Limit: topK}); err == nil {
					mine = append(mine, time.Since(t))
				}
			}
		})
		if err != nil {
			return nil, err
		}
		lat[q.Kind] = append(lat[q.Kind], mine...)
		if med := latStats(mine).P50Ms; med > slowMs[q.Kind] {
			slowMs[q.Kind], slowQ[q.Kind] = med, q.Q
		}
	}
	for _, k := range Kinds {
		ks := latStats(lat[k])
		ks.Kind = k
		ks.Queries = len(totals[k])
		ks.Reps = cfg.Reps
		ks.MedianMatches = medianInt(totals[k])
		ks.MaxMatches = slices.Max(append(totals[k], 0))
		ks.Slowest, ks.SlowestMs = slowQ[k], slowMs[k]
		rep.Kinds = append(rep.Kinds, ks)
	}
	stopProfile()
	rep.QueryMajorFaults = procstat.MajorFaults() - faults0
	pf("tubelake: %d queries x %d reps measured, %d mismatches, %d major page faults (mapped pages read back from disk)", len(qs), cfg.Reps, rep.Correctness.Mismatches, rep.QueryMajorFaults)

	// ---- the same queries through the HTTP API ----
	if cfg.Handler != nil {
		if err := runAPI(ctx, &cfg, ix, qs, want, rep, pf); err != nil {
			return nil, err
		}
	}

	// ---- 4: anchors ----
	for _, name := range cfg.Anchors {
		ar, err := runAnchor(ctx, &cfg, name, s, qs, want, pf)
		if err != nil {
			return nil, err
		}
		for i, k := range ar.Kinds {
			if ours := rep.kind(k.Kind); ours != nil && ours.P99Ms > 0 {
				ar.Kinds[i].P99Ratio = k.P99Ms / ours.P99Ms
			}
		}
		rep.Anchors = append(rep.Anchors, *ar)
	}

	// ---- stats updates under a concurrent query loop ----
	final := want // the oracle's answers for the index's final state
	if cfg.Updates > 0 {
		if err := runUpdates(ctx, &cfg, model, ix, s, qs, rep, pf); err != nil {
			return nil, err
		}
		// Correctness again, against the updated oracle.
		final = make([]scanResult, len(qs))
		for i, q := range qs {
			res, err := ix.Search(ctx, index.Query{Q: q.Q, Sort: index.SortViews, Limit: topK})
			if err != nil {
				return nil, err
			}
			w, err := s.scan(ctx, queryTerms(q.Q), 0, s.len(), topK, 2)
			if err != nil {
				return nil, err
			}
			final[i] = w
			rep.Correctness.CheckedAfterUpdates++
			if msg := compare(res, w); msg != "" {
				rep.Correctness.MismatchesAfterUpdates++
				rep.Correctness.addExample(fmt.Sprintf("after updates: %s %q: %s", q.Kind, q.Q, msg))
			}
		}
		pf("tubelake: re-checked %d queries after the updates, %d mismatches", len(qs), rep.Correctness.MismatchesAfterUpdates)
	}
	if cfg.Reopen {
		// reopen closes the index and drops the last reference to it, so
		// the collector frees it before the snapshot is loaded.
		old := ix
		ix = nil
		ix, err = reopen(ctx, &cfg, old, ixDir, qs, final, rep, pf)
		if err != nil {
			return nil, err
		}
	}
	rep.goals()
	rep.Machine.LoadEnd = procstat.LoadAvg()
	rep.Machine.ProbeEndNs = speedProbe(model)
	rep.Seconds = time.Since(start).Seconds()
	if rep.Mismatches() > 0 {
		return rep, ErrMismatch
	}
	return rep, nil
}

// compare checks our result against the oracle: same top ids in order, and
// the same total (an exact total, or "gte" with at least TotalCap counted).
func compare(res index.Result, w scanResult) string {
	ids := make([]string, len(res.Items))
	for i, h := range res.Items {
		ids[i] = h.ID
	}
	var msgs []string
	if !slices.Equal(ids, w.IDs) {
		msgs = append(msgs, fmt.Sprintf("top ids %v, oracle %v", ids, w.IDs))
	}
	switch res.TotalRelation {
	case "eq":
		if res.Total != w.Total {
			msgs = append(msgs, fmt.Sprintf("total %d (eq), oracle %d", res.Total, w.Total))
		}
	case "gte":
		if res.Total < index.TotalCap || res.Total > w.Total {
			msgs = append(msgs, fmt.Sprintf("total %d (gte), oracle %d", res.Total, w.Total))
		}
	default:
		msgs = append(msgs, fmt.Sprintf("total_relation %q", res.TotalRelation))
	}
	return strings.Join(msgs, "; ")
}

// batchGen generates docs [lo, hi) in order, in batches, on `workers`
// goroutines; fn receives the batches in order. With workers == 0 the
// caller's goroutine generates each batch before fn sees it, so nothing
// else runs while fn does.
func batchGen(ctx context.Context, m *Model, seed uint64, docs, lo, hi, batch, workers int, fn func(b []Doc) error) error {
	if workers == 0 {
		g := NewGenerator(m, seed, docs)
		b := make([]Doc, 0, batch)
		for a := lo; a < hi; a += batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			b = b[:min(hi, a+batch)-a]
			for i := range b {
				g.Doc(a+i, &b[i])
			}
			if err := fn(b); err != nil {
				return err
			}
		}
		return nil
	}
	type job struct {
		lo, hi int
		out    chan []Doc
	}
	jobs := make(chan job, workers)
	order := make(chan job, 2*workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := NewGenerator(m, seed, docs)
			for j := range jobs {
				b := make([]Doc, j.hi-j.lo)
				for i := range b {
					g.Doc(j.lo+i, &b[i])
				}
				j.out <- b
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for a := lo; a < hi; a += batch {
			j := job{lo: a, hi: min(hi, a+batch), out: make(chan []Doc, 1)}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for j := range order {
		b := <-j.out
		if err == nil {
			if err = ctx.Err(); err == nil {
				err = fn(b)
			}
			if err != nil {
				cancel()
			}
		}
	}
	wg.Wait()
	return err
}

func buildIndex(ctx context.Context, cfg *Config, m *Model, ix *index.Index, rep *Report, pf func(string, ...any)) error {
	heapBefore := liveHeap()
	var applyDur, applyCPU time.Duration
	var raw, titleBytes int64
	langs := map[string]int{}
	done := 0
	wall := time.Now()
	lastPrint := wall
	recs := make([]yt.Record, 0, cfg.Batch)
	holds0 := ix.WriteHolds() // not Stats: its memory figures would be cached for the end of the build
	stopProfile, err := startProfile(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// The corpus is generated between Apply calls, not beside them: a
	// generator goroutine would take a share of the two cores from the
	// index whose rate this phase measures.
	err = batchGen(ctx, m, cfg.Seed, cfg.Docs, 0, cfg.Docs, cfg.Batch, 0, func(b []Doc) error {
		recs = recs[:0]
		for i := range b {
			d := &b[i]
			raw += d.TextBytes()
			titleBytes += int64(len(d.Title))
			langs[d.Language]++
			recs = append(recs, d.Record(FetchedAt, d.Views))
		}
		t, c := time.Now(), procstat.CPU()
		if err := ix.Apply(ctx, recs); err != nil {
			return err
		}
		applyDur += time.Since(t)
		applyCPU += procstat.CPU() - c
		done += len(b)
		if time.Since(lastPrint) > 5*time.Second || done == cfg.Docs {
			lastPrint = time.Now()
			pf("indexed %d/%d docs (%.0f docs/s in Apply, %.0f docs/s wall incl. generation)",
				done, cfg.Docs, float64(done)/applyDur.Seconds(), float64(done)/time.Since(wall).Seconds())
		}
		return nil
	})
	if err != nil {
		return err
	}
	b := &rep.Build
	b.Docs = cfg.Docs
	b.WallSeconds = time.Since(wall).Seconds()
	b.ApplySeconds = applyDur.Seconds()
	b.DocsPerSec = float64(cfg.Docs) / applyDur.Seconds()
	b.ApplyCPUSeconds = applyCPU.Seconds()
	pf("Apply used %s", b.cpuSummary())
	rep.Corpus.Docs = cfg.Docs
	rep.Corpus.RawTextBytes = raw
	rep.Corpus.TitleBytes = titleBytes
	rep.Corpus.Languages = langs
	recs = nil
	ix.Wait() // a rank rebuild started by the last batch holds a second copy of the orders until it ends
	b.HeapBytes = liveHeap()
	b.IndexHeapBytes = b.HeapBytes - heapBefore
	if err := writeHeapProfile(cfg.MemProfile); err != nil {
		return err
	}
	b.RSSBytes, b.HWMBytes = procstat.Status("VmRSS"), procstat.Status("VmHWM")
	debug.FreeOSMemory()
	b.RSSIdleBytes = procstat.Status("VmRSS")
	b.IdleRSSAnon, b.IdleRSSFile = procstat.Status("RssAnon"), procstat.Status("RssFile")
	st := ix.Stats()
	b.TextMappedBytes = st.TextMappedBytes
	b.IndexTextBytes, b.MemEstimate, b.Grams, b.PostingBytes = st.TextBytes, st.MemBytes, st.Grams, st.PostingBytes
	b.WriteHolds = st.WriteHolds.Sub(holds0)
	pf("write-lock holds during the build: %s", holdsLine(b.WriteHolds))
	if raw > 0 {
		b.HeapPerRaw = float64(b.IndexHeapBytes) / float64(raw)
		b.RSSPerRaw = float64(b.RSSBytes) / float64(raw)
	}
	t := time.Now()
	if err := ix.Flush(ctx, 1); err != nil {
		return err
	}
	b.FlushSeconds = time.Since(t).Seconds()
	b.DiskBytes = dirSize(filepath.Join(cfg.WorkDir, "index"))
	b.FlushedHeapBytes = liveHeap() - heapBefore
	debug.FreeOSMemory()
	b.FlushedRSSAnon, b.FlushedRSSFile = procstat.Status("RssAnon"), procstat.Status("RssFile")
	b.MappedBytes = ix.Stats().MappedBytes
	if raw > 0 {
		b.FlushedHeapPerRaw = float64(b.FlushedHeapBytes) / float64(raw)
	}
	pf("index: %d docs, apply %.1fs (%.0f docs/s), heap %s (%.2fx raw text %s), RSS %s, HWM %s, RssAnon %s, RssFile %s, mapped texts %s, flush %.1fs, disk %s; after the flush heap %s (%.2fx), mapped postings %s, RssAnon %s, RssFile %s",
		cfg.Docs, b.ApplySeconds, b.DocsPerSec, mb(b.IndexHeapBytes), b.HeapPerRaw, mb(raw), mb(b.RSSBytes), mb(b.HWMBytes), mb(b.IdleRSSAnon), mb(b.IdleRSSFile), mb(b.TextMappedBytes), b.FlushSeconds, mb(b.DiskBytes),
		mb(b.FlushedHeapBytes), b.FlushedHeapPerRaw, mb(b.MappedBytes), mb(b.FlushedRSSAnon), mb(b.FlushedRSSFile))
	return nil
}

func buildStore(ctx context.Context, cfg *Config, m *Model) (*store, error) {
	s := newStore(cfg.Docs)
	s.years = make([]uint16, 0, cfg.Docs)
	err := batchGen(ctx, m, cfg.Seed, cfg.Docs, 0, cfg.Docs, cfg.Batch, 2, func(b []Doc) error {
		for i := range b {
			s.add(index.Normalize(b[i].Title), b[i].ID, b[i].Views)
			s.years = append(s.years, uint16(b[i].Published.Year()))
		}
		return nil
	})
	return s, err
}

func runAnchor(ctx context.Context, cfg *Config, name string, s *store, qs []Query, oracle []scanResult, pf func(string, ...any)) (*AnchorReport, error) {
	n := cfg.AnchorDocs
	dir := filepath.Join(cfg.WorkDir, "anchor-"+name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	a, err := newAnchor(ctx, name, dir, s, n)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	ar := &AnchorReport{Name: name, Docs: n}
	t := time.Now()
	lastPrint := t
	batch := make([]anchorDoc, 0, cfg.Batch)
	if name != "scan" {
		for lo := 0; lo < n; lo += cfg.Batch {
			batch = batch[:0]
			for i := lo; i < min(n, lo+cfg.Batch); i++ {
				batch = append(batch, anchorDoc{ID: s.id(i), Title: string(s.title(i)), Views: s.views[i], Year: int(s.years[i])})
			}
			if err := a.Add(ctx, batch); err != nil {
				return nil, err
			}
			if time.Since(lastPrint) > 10*time.Second {
				lastPrint = time.Now()
				pf("%s: added %d/%d docs (%.0f docs/s)", name, lo+len(batch), n, float64(lo+len(batch))/time.Since(t).Seconds())
			}
		}
		if err := a.Finish(ctx); err != nil {
			return nil, err
		}
	}
	ar.BuildSeconds = time.Since(t).Seconds()
	ar.DiskBytes = dirSize(dir)
	pf("%s: built over %d docs in %.1fs (%s on disk)", name, n, ar.BuildSeconds, mb(ar.DiskBytes))
	// Queries run round-robin over the kinds (query j of every kind, then
	// j+1...) until the time budget is spent, so a slow anchor still gets
	// samples of every kind. A query slower than 500 ms is timed once more
	// only (its warm-up is the check).
	byKind := map[string][]int{}
	for i, q := range qs {
		byKind[q.Kind] = append(byKind[q.Kind], i)
	}
	lat := map[string][]time.Duration{}
	qStart := time.Now()
	ran := 0
rounds:
	for j := 0; j < cfg.PerKind; j++ {
		if j > 0 && cfg.AnchorBudget > 0 && time.Since(qStart) > cfg.AnchorBudget {
			ar.BudgetHit = true
			break rounds
		}
		for _, k := range Kinds {
			if j >= len(byKind[k]) {
				continue
			}
			i := byKind[k][j]
			q := qs[i]
			terms := queryTerms(q.Q)
			w := oracle[i]
			if n < s.len() {
				if w, err = s.scan(ctx, terms, 0, n, topK, 2); err != nil {
					return nil, err
				}
			}
			t := time.Now()
			ids, err := a.Search(ctx, terms, topK)
			if err != nil {
				return nil, fmt.Errorf("%s: query %q: %w", name, q.Q, err)
			}
			warm := time.Since(t)
			ran++
			if slices.Equal(ids, w.IDs) {
				ar.Agree++
			} else {
				ar.Disagree++
				if len(ar.Examples) < 5 {
					ar.Examples = append(ar.Examples, fmt.Sprintf("%s %q: %v, oracle %v", q.Kind, q.Q, ids, w.IDs))
				}
			}
			reps := cfg.AnchorReps
			if warm > 500*time.Millisecond {
				reps = 1
			}
			for r := 0; r < reps; r++ {
				t := time.Now()
				if _, err := a.Search(ctx, terms, topK); err != nil {
					return nil, err
				}
				lat[q.Kind] = append(lat[q.Kind], time.Since(t))
			}
			if time.Since(lastPrint) > 15*time.Second {
				lastPrint = time.Now()
				pf("%s: %d/%d queries", name, ran, len(qs))
			}
		}
	}
	ar.QueriesRun = ran
	for _, k := range Kinds {
		ks := latStats(lat[k])
		ks.Kind = k
		ks.Reps = cfg.AnchorReps
		ar.Kinds = append(ar.Kinds, ks)
	}
	pf("%s: %d/%d queries in %.0fs (budget hit: %v), agrees with the oracle on %d/%d", name, ran, len(qs), time.Since(qStart).Seconds(), ar.BudgetHit, ar.Agree, ar.Agree+ar.Disagree)
	return ar, nil
}

func runUpdates(ctx context.Context, cfg *Config, m *Model, ix *index.Index, s *store, qs []Query, rep *Report, pf func(string, ...any)) error {
	r := rand.New(rand.NewPCG(cfg.Seed, 99))
	g := NewGenerator(m, cfg.Seed, cfg.Docs)
	type upd struct {
		doc   int
		views int64
	}
	ups := make([]upd, cfg.Updates)
	recs := make([]yt.Record, cfg.Updates)
	cur := map[int]int64{}
	var d Doc
	for k := range ups {
		i := r.IntN(cfg.Docs)
		v, ok := cur[i]
		if !ok {
			v = s.views[i]
		}
		v += 1 + int64(float64(v)*0.2*r.Float64())
		cur[i] = v
		g.Doc(i, &d)
		ups[k] = upd{i, v}
		recs[k] = d.Record(FetchedAt.Add(time.Duration(k+1)*time.Millisecond), v)
	}
	// The update records are built above; their generation's garbage (and
	// the oracle's) is collected before the clock starts, as for the
	// timed queries.
	runtime.GC()
	stopProfile, err := startProfile(cfg.UpdatesCPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var stop atomic.Bool
	var qlat []time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			q := qs[i%len(qs)]
			t := time.Now()
			if _, err := ix.Search(ctx, index.Query{Q: q.Q, Sort: index.SortViews, Limit: topK}); err != nil {
				return
			}
			qlat = append(qlat, time.Since(t))
		}
	}()
	const updBatch = 1000
	st0 := ix.Stats()
	before := st0.Applied
	gc0 := procstat.GC()
	t := time.Now()
	for lo := 0; lo < len(recs) && err == nil; lo += updBatch {
		err = ix.Apply(ctx, recs[lo:min(len(recs), lo+updBatch)])
	}
	dur := time.Since(t)
	gc := procstat.GC().Sub(gc0)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return err
	}
	for _, u := range ups {
		s.views[u.doc] = u.views
	}
	u := &rep.Updates
	u.Updates = cfg.Updates
	st1 := ix.Stats()
	u.Applied = int(st1.Applied - before)
	u.InPlace = int(st1.InPlace - st0.InPlace)
	u.Seconds = dur.Seconds()
	u.PerSec = float64(cfg.Updates) / dur.Seconds()
	u.BatchSize = updBatch
	u.GCCycles, u.GCCPUSeconds = gc.Cycles, gc.CPU.Seconds()
	u.RankRebuilds = st1.Rebuilds - st0.Rebuilds
	u.WriteHolds = st1.WriteHolds.Sub(st0.WriteHolds)
	ks := latStats(qlat)
	u.Queries, u.QueryP50Ms, u.QueryP99Ms, u.QueryMaxMs = len(qlat), ks.P50Ms, ks.P99Ms, ks.MaxMs
	pf("updates: %d view-count snapshots in %.2fs (%.0f/s, %d applied in place), %d concurrent queries p50 %.3f ms p99 %.3f ms; %d GC cycles, %.2f s GC CPU",
		cfg.Updates, u.Seconds, u.PerSec, u.InPlace, u.Queries, u.QueryP50Ms, u.QueryP99Ms, u.GCCycles, u.GCCPUSeconds)
	return nil
}

// ---- measurement helpers ----

// reopen flushes the final state of ix, closes it, opens the snapshot again
// (as a restarted server does) and checks every query against want, the
// oracle's answers for that state. It returns the reopened index (nil if
// opening failed), which the caller closes.
func reopen(ctx context.Context, cfg *Config, ix *index.Index, dir string, qs []Query, want []scanResult, rep *Report, pf func(string, ...any)) (*index.Index, error) {
	ro := &Reopen{}
	rep.Reopen = ro
	ro.FlushKind = ix.FlushKind()
	bytesBefore := ix.Stats().SnapBytes
	t := time.Now()
	if err := ix.Flush(ctx, 2); err != nil {
		ix.Close()
		return nil, err
	}
	ro.FlushSeconds = time.Since(t).Seconds()
	if st := ix.Stats(); ro.FlushKind == "delta" {
		ro.FlushBytes = st.SnapBytes - bytesBefore
	} else {
		ro.FlushBytes = st.SnapBytes
	}
	ix.Close()
	ix = nil // the caller holds no other reference
	before := liveHeap()
	stopProfile, err := startProfile(cfg.ReopenCPUProfile)
	if err != nil {
		return nil, err
	}
	t = time.Now()
	ix2, err := index.Open(dir, index.Options{Logger: cfg.Logger})
	ro.OpenSeconds = time.Since(t).Seconds()
	stopProfile()
	if err != nil {
		return nil, fmt.Errorf("reopen the snapshot: %w", err)
	}
	ro.HeapBytes = liveHeap() - before
	if raw := rep.Corpus.RawTextBytes; raw > 0 {
		ro.HeapPerRaw = float64(ro.HeapBytes) / float64(raw)
	}
	debug.FreeOSMemory()
	ro.RSSAnon, ro.RSSFile = procstat.Status("RssAnon"), procstat.Status("RssFile")
	st2 := ix2.Stats()
	ro.MappedBytes, ro.OpenDeltas = st2.MappedBytes, st2.Deltas
	for i, q := range qs {
		res, err := ix2.Search(ctx, index.Query{Q: q.Q, Sort: index.SortViews, Limit: topK})
		if err != nil {
			return ix2, err
		}
		ro.Checked++
		if msg := compare(res, want[i]); msg != "" {
			ro.Mismatches++
			rep.Correctness.addExample(fmt.Sprintf("after reopening: %s %q: %s", q.Kind, q.Q, msg))
		}
	}
	pf("reopen: flush (%s, %s) %.2fs, open (%d deltas) %.1fs, heap %s (%.2fx raw text), mapped postings %s, RssAnon %s, RssFile %s, %d of %d queries differ from the oracle",
		ro.FlushKind, mb(ro.FlushBytes), ro.FlushSeconds, ro.OpenDeltas, ro.OpenSeconds, mb(ro.HeapBytes), ro.HeapPerRaw, mb(ro.MappedBytes), mb(ro.RSSAnon), mb(ro.RSSFile), ro.Mismatches, ro.Checked)
	return ix2, nil
}

// writeHeapProfile writes the live heap (as of the last GC) to path, if set.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("search bench: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("search bench: heap profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("search bench: heap profile: %w", err)
	}
	return nil
}

// startProfile starts a CPU profile into path ("" = none) and returns its
// stop function.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("search bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("search bench: cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func latStats(ds []time.Duration) KindStats {
	if len(ds) == 0 {
		return KindStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return float64(s[max(0, min(i, len(s)-1))]) / 1e6
	}
	return KindStats{Samples: len(s), P50Ms: q(0.50), P95Ms: q(0.95), P99Ms: q(0.99), MaxMs: float64(s[len(s)-1]) / 1e6}
}

func medianInt(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// liveHeap collects garbage and returns the live heap in bytes.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// speedProbe times a fixed single-threaded workload, generating 20,000
// corpus docs, and returns its median ns a doc over three rounds. Runs are
// comparable only when their probes are: this VM has periods where the
// same code runs 40-50 % slower.
func speedProbe(m *Model) float64 {
	const docs = 20_000
	g := NewGenerator(m, 99, docs)
	var d Doc
	var ns []float64
	for range 3 {
		t := time.Now()
		for i := range docs {
			g.Doc(i, &d)
		}
		ns = append(ns, float64(time.Since(t).Nanoseconds())/docs)
	}
	slices.Sort(ns)
	return ns[1]
}

func machine() Machine {
	return Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, LoadStart: procstat.LoadAvg(),
		CPUModel: procstat.CPUModel(), MemBytes: procstat.MemTotal()}
}

func mb(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
}
