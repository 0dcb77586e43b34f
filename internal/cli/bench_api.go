package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/procstat"
	"github.com/tubelake/tubelake/internal/searchbench"
	"github.com/tubelake/tubelake/internal/yt"
)

// benchAPIConfig configures `tubelake bench api`.
type benchAPIConfig struct {
	docs        int
	seed        uint64
	dataDir     string
	clients     []int
	duration    time.Duration
	warmup      time.Duration
	ingestRate  int
	queries     int
	channelsMax int
	out         string
	cpuProfile  string
	searchCache time.Duration
	endpoints   []string
}

// apiLoad is one measured load: an endpoint at a concurrency.
type apiLoad struct {
	Endpoint    string  `json:"endpoint"`
	Clients     int     `json:"clients"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	RPS         float64 `json:"requests_per_second"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	IngestRPS   float64 `json:"ingest_records_per_second"`
	MeanResults float64 `json:"mean_items_per_response"`
}

type apiBenchReport struct {
	Command     string    `json:"command"`
	Date        time.Time `json:"date"`
	Machine     string    `json:"machine"`
	GOMAXPROCS  int       `json:"gomaxprocs"`
	Docs        int       `json:"docs"`
	Channels    int       `json:"channels"`
	IndexSecs   float64   `json:"index_seconds"`
	HeapMB      float64   `json:"heap_mb"`
	IngestGoal  int       `json:"ingest_goal_records_per_second"`
	Loads       []apiLoad `json:"loads"`
	SearchGoal  string    `json:"search_goal"`
	GoalMet     bool      `json:"goal_met"`
	QueryCount  int       `json:"queries"`
	SearchCache string    `json:"search_cache,omitempty"`
	ChannelPool int       `json:"channel_pool"`
}

// benchAPICmd is `tubelake bench api` (registered by the lead in bench.go).
func benchAPICmd(g *globals) *cobra.Command {
	var c benchAPIConfig
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Load-test the HTTP API over loopback: search and channel pages at 2 and 64 clients while ingest runs",
		Long: `Indexes --docs generated videos (titles learned from the real titles in
--data-dir, as in bench search) and their channels, serves the real API
handler on 127.0.0.1, and drives it with concurrent HTTP clients in this
process: video search (/v1/videos/search, sort=views, limit=20, one or two
words taken from generated titles) and channel pages
(/v1/channels/{id} + /v1/channels/{id}/videos?sort=recent&limit=20, channels
picked in proportion to their video counts). Meanwhile a publisher applies
view-count updates to the index at --ingest-rate records/s through
index.Apply, as the index sink does. Reports requests/s and p50/p90/p99 per
load. The load generator shares the machine's cores with the server.`,
		Example: "  tubelake bench api --docs 1000000 --clients 2,64 --duration 20s --out bench-out",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := runAPIBench(cmd.Context(), g, c)
			if rep == nil {
				return err
			}
			rep.Command = commandLine(cmd)
			writeAPIBench(g.stdout, rep)
			if c.out != "" {
				if werr := saveAPIBench(c.out, rep); werr != nil {
					return errors.Join(err, werr)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&c.docs, "docs", 1_000_000, "videos to index")
	f.Uint64Var(&c.seed, "seed", 1, "corpus seed")
	f.StringVar(&c.dataDir, "data-dir", filepath.Join("..", "shared", "data"), "real YouTube data the corpus model learns titles from")
	f.IntSliceVar(&c.clients, "clients", []int{2, 64}, "concurrent clients per load")
	f.DurationVar(&c.duration, "duration", 15*time.Second, "measured time per load")
	f.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured time before each load")
	f.IntVar(&c.ingestRate, "ingest-rate", 10_000, "view-count updates applied per second while loads run (0 = none)")
	f.IntVar(&c.queries, "queries", 2000, "distinct search queries")
	f.IntVar(&c.channelsMax, "channel-pool", 2000, "channels whose pages are requested")
	f.StringVar(&c.out, "out", "", "write api.json and api.md into this directory")
	f.DurationVar(&c.searchCache, "search-cache", 0, "serve with this search response cache TTL (as serve --search-cache; 0 = off)")
	f.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured loads to this file")
	f.StringSliceVar(&c.endpoints, "loads", []string{"search", "channel"}, "loads to run: search, channel")
	return cmd
}

func runAPIBench(ctx context.Context, g *globals, c benchAPIConfig) (*apiBenchReport, error) {
	if c.docs < 1000 {
		return nil, fmt.Errorf("bench api: --docs must be at least 1000")
	}
	if len(c.clients) == 0 || slices.ContainsFunc(c.clients, func(n int) bool { return n < 1 || n > 4096 }) {
		return nil, fmt.Errorf("bench api: --clients must list counts in 1..4096")
	}
	if c.ingestRate < 0 {
		return nil, fmt.Errorf("bench api: --ingest-rate must be >= 0")
	}
	model, err := searchbench.LoadModel(c.dataDir)
	if err != nil {
		return nil, err
	}
	ix, err := index.Open("", index.Options{Logger: g.logger()})
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	rep := &apiBenchReport{SearchCache: durOrEmpty(c.searchCache), Date: time.Now().UTC(), Machine: procstat.Machine(), GOMAXPROCS: runtime.GOMAXPROCS(0), Docs: c.docs, IngestGoal: c.ingestRate,
		SearchGoal: "p99 <= 20 ms at 64 clients for search"}

	// Index the corpus on every core; sample queries and channels.
	start := time.Now()
	workers := runtime.GOMAXPROCS(0)
	const chunk = 5000
	var next atomic.Int64
	var done atomic.Int64
	type chanInfo struct {
		title string
		n     int
	}
	var mu sync.Mutex
	chans := map[string]*chanInfo{}
	var queries []string
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	qEvery := max(1, c.docs/max(1, c.queries))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen := searchbench.NewGenerator(model, c.seed, c.docs)
			var d searchbench.Doc
			recs := make([]yt.Record, 0, chunk)
			local := map[string]*chanInfo{}
			var qs []string
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= c.docs || ctx.Err() != nil {
					break
				}
				recs = recs[:0]
				for i := lo; i < min(lo+chunk, c.docs); i++ {
					gen.Doc(i, &d)
					recs = append(recs, d.Record(searchbench.FetchedAt, d.Views))
					ci := local[d.ChannelID]
					if ci == nil {
						ci = &chanInfo{title: d.ChannelTitle}
						local[d.ChannelID] = ci
					}
					ci.n++
					if i%qEvery == 0 {
						if q := queryFrom(d.Title, i); q != "" {
							qs = append(qs, q)
						}
					}
				}
				if err := ix.Apply(ctx, recs); err != nil {
					errc <- err
					return
				}
				n := done.Add(int64(len(recs)))
				fmt.Fprintf(g.stderr, "\rbench api: indexed %d/%d videos (%.0f/s)   ", n, c.docs, float64(n)/time.Since(start).Seconds())
			}
			mu.Lock()
			for id, ci := range local {
				if o := chans[id]; o != nil {
					o.n += ci.n
				} else {
					chans[id] = ci
				}
			}
			queries = append(queries, qs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Fprintln(g.stderr)
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One snapshot per channel, so channel pages have a channel to show.
	var chanRecs []yt.Record
	var pool []string // channel ids weighted by video count (capped)
	ids := make([]string, 0, len(chans))
	for id := range chans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ci := chans[id]
		ch := &yt.Channel{ID: id, FetchedAt: searchbench.FetchedAt}
		ch.Snippet.Title = ci.title
		ch.Statistics.SubscriberCount = yt.Int64(int64(ci.n) * 1000)
		ch.Statistics.VideoCount = yt.Int64(int64(ci.n))
		chanRecs = append(chanRecs, yt.NewChannelRecord("import", ch))
	}
	if err := ix.Apply(ctx, chanRecs); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(c.seed, 7))
	// Weighted sample: a channel with more videos gets more page views.
	total := 0
	for _, id := range ids {
		total += chans[id].n
	}
	for len(pool) < c.channelsMax {
		k := rng.IntN(total)
		for _, id := range ids {
			if k < chans[id].n {
				pool = append(pool, id)
				break
			}
			k -= chans[id].n
		}
	}
	slices.Sort(queries)
	queries = slices.Compact(queries)
	rng.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	rep.IndexSecs = time.Since(start).Seconds()
	rep.Channels = len(ids)
	rep.QueryCount, rep.ChannelPool = len(queries), len(pool)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMB = float64(ms.HeapAlloc) / (1 << 20)
	fmt.Fprintf(g.stderr, "bench api: %d videos, %d channels indexed in %.1fs (heap %.0f MB); %d queries, %d channel pages\n",
		c.docs, len(ids), rep.IndexSecs, rep.HeapMB, len(queries), len(pool))

	h, err := api.New(api.Config{Index: ix, Logger: g.logger(), SearchCacheTTL: c.searchCache})
	if err != nil {
		return nil, err
	}
	ln, base, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stopServer := context.WithCancel(ctx)
	srvDone := make(chan error, 1)
	go func() { srvDone <- serveHTTP(sctx, ln, h, g.logger()) }()
	defer func() { stopServer(); <-srvDone }()

	// Ingest: view-count updates at a steady rate through index.Apply.
	var ingested atomic.Int64
	ictx, stopIngest := context.WithCancel(ctx)
	ingestDone := make(chan struct{})
	go func() {
		defer close(ingestDone)
		if c.ingestRate == 0 {
			return
		}
		// Updates cycle over a pre-generated sample of the corpus, so the
		// publisher spends its time in Apply, not in the text generator.
		gen := searchbench.NewGenerator(model, c.seed, c.docs)
		r := rand.New(rand.NewPCG(c.seed, 9))
		sample := make([]searchbench.Doc, min(c.docs, 50_000))
		for i := range sample {
			gen.Doc(r.IntN(c.docs), &sample[i])
		}
		const tick = 50 * time.Millisecond
		per := max(1, c.ingestRate*int(tick/time.Millisecond)/1000)
		t := time.NewTicker(tick)
		defer t.Stop()
		fetched := searchbench.FetchedAt
		for {
			select {
			case <-ictx.Done():
				return
			case <-t.C:
			}
			fetched = fetched.Add(time.Second)
			recs := make([]yt.Record, 0, per)
			for k := 0; k < per; k++ {
				d := &sample[r.IntN(len(sample))]
				recs = append(recs, d.Record(fetched, d.Views+int64(r.IntN(1000))+fetched.Unix()%1000))
			}
			if err := ix.Apply(ictx, recs); err != nil {
				return
			}
			ingested.Add(int64(len(recs)))
		}
	}()
	defer func() { stopIngest(); <-ingestDone }()

	endpoints := []struct {
		name string
		urls func(r *rand.Rand) []string
	}{
		{"search", func(r *rand.Rand) []string {
			return []string{base + "/v1/videos/search?sort=views&limit=20&q=" + url.QueryEscape(queries[r.IntN(len(queries))])}
		}},
		{"channel page", func(r *rand.Rand) []string {
			id := pool[r.IntN(len(pool))]
			return []string{base + "/v1/channels/" + id, base + "/v1/channels/" + id + "/videos?sort=recent&limit=20"}
		}},
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("bench api: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("bench api: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	for _, ep := range endpoints {
		if !slices.Contains(c.endpoints, strings.Fields(ep.name)[0]) {
			continue
		}
		for _, n := range c.clients {
			fmt.Fprintf(g.stderr, "bench api: %s at %d clients for %s...\n", ep.name, n, c.duration)
			l, err := runLoad(ctx, ep.name, n, c.warmup, c.duration, ep.urls, &ingested, c.seed)
			if err != nil {
				return rep, err
			}
			rep.Loads = append(rep.Loads, l)
			fmt.Fprintf(g.stderr, "bench api: %s x%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors, ingest %.0f rec/s\n",
				l.Endpoint, l.Clients, l.RPS, l.P50Ms, l.P99Ms, l.Errors, l.IngestRPS)
		}
	}
	rep.GoalMet = true
	for _, l := range rep.Loads {
		if l.Endpoint == "search" && l.Clients == 64 && l.P99Ms > 20 {
			rep.GoalMet = false
		}
	}
	return rep, nil
}

// queryFrom takes one or two words of a title, the way people search.
func queryFrom(title string, i int) string {
	var words []string
	for _, w := range strings.Fields(title) {
		if n := utf8.RuneCountInString(w); n >= 2 && n <= 12 && index.Normalize(w) != "" && !strings.ContainsAny(w, `"`) {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return ""
	}
	k := i % len(words)
	if i%4 == 0 && k+1 < len(words) {
		return words[k] + " " + words[k+1]
	}
	return words[k]
}

// runLoad runs n clients for warmup+dur and measures the last dur.
func runLoad(ctx context.Context, name string, n int, warmup, dur time.Duration, urls func(*rand.Rand) []string, ingested *atomic.Int64, seed uint64) (apiLoad, error) {
	tr := &http.Transport{MaxIdleConns: n * 2, MaxIdleConnsPerHost: n * 2, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var measuring atomic.Bool
	lctx, cancel := context.WithTimeout(ctx, warmup+dur)
	defer cancel()
	type res struct {
		lat   []time.Duration
		errs  int
		items int
		err   error
	}
	out := make([]res, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(1000+w)))
			o := &out[w]
			for lctx.Err() == nil {
				t0 := time.Now()
				ok := true
				items := 0
				for _, u := range urls(r) {
					req, _ := http.NewRequestWithContext(lctx, "GET", u, nil)
					resp, err := client.Do(req)
					if err != nil {
						if lctx.Err() == nil {
							ok = false
						}
						break
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						ok = false
						if o.err == nil {
							o.err = fmt.Errorf("%s: HTTP %d: %.200s", u, resp.StatusCode, b)
						}
						break
					}
					items += bytes.Count(b, []byte(`{"id":"`))
				}
				if lctx.Err() != nil || !measuring.Load() {
					continue
				}
				if !ok {
					o.errs++
					continue
				}
				o.lat = append(o.lat, time.Since(t0))
				o.items += items
			}
		}(w)
	}
	select {
	case <-time.After(warmup):
	case <-lctx.Done():
	}
	measuring.Store(true)
	mStart, ing0 := time.Now(), ingested.Load()
	<-lctx.Done()
	el := time.Since(mStart).Seconds()
	ing1 := ingested.Load()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return apiLoad{}, err
	}
	var all []time.Duration
	l := apiLoad{Endpoint: name, Clients: n, IngestRPS: float64(ing1-ing0) / el}
	items := 0
	var firstErr error
	for _, o := range out {
		all = append(all, o.lat...)
		l.Errors += o.errs
		items += o.items
		if firstErr == nil {
			firstErr = o.err
		}
	}
	slices.Sort(all)
	l.Requests = len(all)
	l.RPS = float64(len(all)) / el
	if len(all) > 0 {
		q := func(p float64) float64 {
			i := int(math.Ceil(p*float64(len(all)))) - 1
			return float64(all[max(0, min(i, len(all)-1))]) / 1e6
		}
		l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs = q(0.5), q(0.9), q(0.99), float64(all[len(all)-1])/1e6
		l.MeanResults = float64(items) / float64(len(all))
	}
	if l.Errors > 0 && firstErr != nil {
		return l, fmt.Errorf("bench api: %s: %d failed requests, first: %w", name, l.Errors, firstErr)
	}
	return l, nil
}

func writeAPIBench(w io.Writer, r *apiBenchReport) {
	fmt.Fprintf(w, "## tubelake bench api\n\n- date: %s\n- machine: %s (GOMAXPROCS %d)\n- command: `%s`\n", r.Date.Format(time.RFC3339), r.Machine, r.GOMAXPROCS, r.Command)
	fmt.Fprintf(w, "- corpus: %d videos, %d channels, indexed in %.1f s, heap %.0f MB; %d distinct queries, %d channel pages\n",
		r.Docs, r.Channels, r.IndexSecs, r.HeapMB, r.QueryCount, r.ChannelPool)
	fmt.Fprintf(w, "- ingest while measuring: goal %d view-count updates/s through index.Apply\n", r.IngestGoal)
	if r.SearchCache != "" {
		fmt.Fprintf(w, "- search response cache: %s (serve --search-cache)\n", r.SearchCache)
	} else {
		fmt.Fprintln(w, "- search response cache: off")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| load | clients | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | items/response | ingest rec/s |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range r.Loads {
		fmt.Fprintf(w, "| %s | %d | %.0f | %.2f | %.2f | %.2f | %.1f | %d | %.1f | %.0f |\n", l.Endpoint, l.Clients, l.RPS, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, l.Errors, l.MeanResults, l.IngestRPS)
	}
	verdict := "met"
	if !r.GoalMet {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "\nGoal (%s): %s.\n", r.SearchGoal, verdict)
}

func saveAPIBench(dir string, r *apiBenchReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench api: --out: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "api.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench api: %w", err)
	}
	var md strings.Builder
	writeAPIBench(&md, r)
	if err := os.WriteFile(filepath.Join(dir, "api.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench api: %w", err)
	}
	return nil
}

func durOrEmpty(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}
