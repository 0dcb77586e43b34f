package searchbench

import (
	"fmt"
	"github.com/tubelake/tubelake/internal/index"
	"io"
	"strings"
)

// Machine describes where the benchmark ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemBytes  int64  `json:"mem_bytes"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	// LoadStart and LoadEnd are /proc/loadavg at the start and the end of
	// the run: the machine may be shared.
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
	// ProbeStartNs and ProbeEndNs time a fixed single-threaded workload
	// (the corpus generator, ns a doc; see speedProbe) at the start and
	// the end of the run: this VM has slow periods, and runs are only
	// comparable when their probes are.
	ProbeStartNs float64 `json:"probe_start_ns_per_doc"`
	ProbeEndNs   float64 `json:"probe_end_ns_per_doc"`
}

// KindStats are the latencies of one query kind.
type KindStats struct {
	Kind          string  `json:"kind"`
	Queries       int     `json:"queries,omitempty"`
	Reps          int     `json:"reps"`
	Samples       int     `json:"samples"`
	MedianMatches int     `json:"median_matches,omitempty"`
	MaxMatches    int     `json:"max_matches,omitempty"`
	P50Ms         float64 `json:"p50_ms"`
	P95Ms         float64 `json:"p95_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// Slowest is the query with the largest median over its repetitions
	// (where to look first), with that median.
	Slowest   string  `json:"slowest,omitempty"`
	SlowestMs float64 `json:"slowest_median_ms,omitempty"`
	P99Ratio  float64 `json:"p99_ratio_to_tubelake,omitempty"`
	// The same queries through GET /v1/videos/search (see APIReport).
	APIP50Ms float64 `json:"api_p50_ms,omitempty"`
	APIP99Ms float64 `json:"api_p99_ms,omitempty"`
}

// AnchorReport is one anchor engine's build and latencies.
type AnchorReport struct {
	Name         string      `json:"name"`
	Docs         int         `json:"docs"`
	BuildSeconds float64     `json:"build_seconds"`
	DiskBytes    int64       `json:"disk_bytes"`
	Kinds        []KindStats `json:"kinds"`
	QueriesRun   int         `json:"queries_run"`
	BudgetHit    bool        `json:"budget_hit"`
	Agree        int         `json:"agree_with_oracle"`
	Disagree     int         `json:"disagree_with_oracle"`
	Examples     []string    `json:"disagreements,omitempty"`
}

// Build describes indexing the corpus.
type Build struct {
	Docs           int     `json:"docs"`
	ApplySeconds   float64 `json:"apply_seconds"`
	WallSeconds    float64 `json:"wall_seconds"`
	DocsPerSec     float64 `json:"docs_per_sec"`
	HeapBytes      int64   `json:"heap_bytes"`
	IndexHeapBytes int64   `json:"index_heap_bytes"`
	RSSBytes       int64   `json:"rss_bytes"`
	HWMBytes       int64   `json:"hwm_bytes"`
	// RSSIdleBytes is VmRSS right after the measurement above and
	// debug.FreeOSMemory: what the process keeps resident once the
	// collector returned the free heap (RSSBytes depends on GOGC and
	// GOMEMLIMIT: freed memory stays mapped until scavenged).
	RSSIdleBytes int64 `json:"rss_idle_bytes"`
	// WriteHolds are the index's write-lock holds during the build: each
	// one a pause for every search issued meanwhile.
	WriteHolds     index.LockHolds `json:"write_holds"`
	MemEstimate    int64           `json:"index_mem_estimate_bytes"`
	IndexTextBytes int64           `json:"index_text_bytes"`
	Grams          int             `json:"grams"`
	PostingBytes   int64           `json:"posting_bytes"`
	HeapPerRaw     float64         `json:"heap_per_raw_text"`
	RSSPerRaw      float64         `json:"rss_per_raw_text"`
	FlushSeconds   float64         `json:"flush_seconds"`
	DiskBytes      int64           `json:"disk_bytes"`
	// ApplyCPUSeconds is the process CPU time (every goroutine, the
	// collector included) spent inside Apply: over ApplySeconds, the cores
	// the indexing kept busy.
	ApplyCPUSeconds float64 `json:"apply_cpu_seconds"`
	// Before the flush, after FreeOSMemory: the private resident memory
	// (RssAnon) and the resident file pages (RssFile: the text chunks the
	// index moved to its spill file's memory map, TextMappedBytes).
	IdleRSSAnon     int64 `json:"idle_rss_anon_bytes"`
	IdleRSSFile     int64 `json:"idle_rss_file_bytes"`
	TextMappedBytes int64 `json:"text_mapped_bytes"`
	// After that first flush (after a GC and FreeOSMemory): the frozen
	// postings read their blobs from the snapshot's memory map (page
	// cache) instead of the heap. RssAnon is the process's private
	// resident memory, RssFile its resident file pages (the map).
	FlushedHeapBytes  int64   `json:"flushed_index_heap_bytes"`
	FlushedHeapPerRaw float64 `json:"flushed_heap_per_raw_text"`
	FlushedRSSAnon    int64   `json:"flushed_rss_anon_bytes"`
	FlushedRSSFile    int64   `json:"flushed_rss_file_bytes"`
	MappedBytes       int64   `json:"mapped_posting_bytes"`
}

// Reopen is the snapshot round trip at the end of a run: the final state
// (after the updates) flushed, the index closed and opened again from the
// snapshot, as a restarted server does, and the queries checked again.
type Reopen struct {
	// The final flush writes a delta of what changed since the build's
	// full snapshot (the updates), unless the policy merges (FlushKind).
	FlushKind    string  `json:"flush_kind"`
	FlushBytes   int64   `json:"flush_bytes"`
	FlushSeconds float64 `json:"flush_seconds"`
	OpenSeconds  float64 `json:"open_seconds"`
	OpenDeltas   int     `json:"open_deltas"` // deltas applied on top of the full snapshot by Open
	// HeapBytes is the heap the reopened index holds (after a GC): every
	// posting is loaded in its settled form.
	HeapBytes   int64   `json:"heap_bytes"`
	HeapPerRaw  float64 `json:"heap_per_raw_text"`
	RSSAnon     int64   `json:"rss_anon_bytes"`
	RSSFile     int64   `json:"rss_file_bytes"`
	MappedBytes int64   `json:"mapped_posting_bytes"`
	Checked     int     `json:"checked"`
	Mismatches  int     `json:"mismatches"`
}

// Corpus describes the generated corpus.
type Corpus struct {
	Docs          int            `json:"docs"`
	RawTextBytes  int64          `json:"raw_text_bytes"`
	TitleBytes    int64          `json:"title_bytes"`
	Languages     map[string]int `json:"languages"`
	LearnedTitles map[string]int `json:"learned_titles"`
	Sources       []string       `json:"sources"`
}

// Updates describes the statistics-refresh phase.
type Updates struct {
	Updates    int     `json:"updates"`
	InPlace    int     `json:"in_place"` // applied under the index's read lock (statistics-only refreshes)
	Applied    int     `json:"applied"`
	BatchSize  int     `json:"batch_size"`
	Seconds    float64 `json:"seconds"`
	PerSec     float64 `json:"per_sec"`
	Queries    int     `json:"concurrent_queries"`
	QueryP50Ms float64 `json:"query_p50_ms"`
	QueryP99Ms float64 `json:"query_p99_ms"`
	QueryMaxMs float64 `json:"query_max_ms"`
	// GC during the timed window (the harness's garbage is collected
	// before it starts).
	GCCycles     int64   `json:"gc_cycles"`
	GCCPUSeconds float64 `json:"gc_cpu_seconds"`
	// RankRebuilds counts the background re-sorts of the rank orders that
	// finished in the window.
	RankRebuilds uint64 `json:"rank_rebuilds"`
	// WriteHolds are the index's write-lock holds in the window.
	WriteHolds index.LockHolds `json:"write_holds"`
}

// Correctness counts answers that differ from the brute-force oracle.
type Correctness struct {
	Checked                int      `json:"checked"`
	Mismatches             int      `json:"mismatches"`
	CheckedAfterUpdates    int      `json:"checked_after_updates"`
	MismatchesAfterUpdates int      `json:"mismatches_after_updates"`
	Examples               []string `json:"examples,omitempty"`
}

func (c *Correctness) addExample(s string) {
	if len(c.Examples) < 20 {
		c.Examples = append(c.Examples, s)
	}
}

// Goal is one target of the issue and whether this run met it.
type Goal struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Report is the result of a run.
type Report struct {
	Date    string      `json:"date"`
	Command string      `json:"command,omitempty"`
	Seconds float64     `json:"seconds"`
	Machine Machine     `json:"machine"`
	Config  Config      `json:"config"`
	Corpus  Corpus      `json:"corpus"`
	Build   Build       `json:"build"`
	Kinds   []KindStats `json:"kinds"`
	// QueryMajorFaults: page faults that read from disk while the queries
	// ran (a text or posting page the kernel had evicted).
	QueryMajorFaults int64          `json:"query_major_faults"`
	API              *APIReport     `json:"api,omitempty"`
	Updates          Updates        `json:"updates"`
	Reopen           *Reopen        `json:"reopen,omitempty"`
	Anchors          []AnchorReport `json:"anchors"`
	Correctness      Correctness    `json:"correctness"`
	Goals            []Goal         `json:"goals"`
	Queries          []Query        `json:"queries"`
}

// cpuSummary says how much CPU Apply used: "X s of CPU in Y s: Z cores
// busy, W µs of CPU a doc".
func (b *Build) cpuSummary() string {
	return fmt.Sprintf("%.1f s of CPU in %.1f s: %.2f cores busy, %.1f µs of CPU a doc",
		b.ApplyCPUSeconds, b.ApplySeconds, b.ApplyCPUSeconds/b.ApplySeconds, 1e6*b.ApplyCPUSeconds/float64(b.Docs))
}

func (r *Report) kind(k string) *KindStats {
	for i := range r.Kinds {
		if r.Kinds[i].Kind == k {
			return &r.Kinds[i]
		}
	}
	return nil
}

func (r *Report) goals() {
	r.Goals = nil
	add := func(name, target, measured string, met bool) {
		r.Goals = append(r.Goals, Goal{name, target, measured, met})
	}
	for _, k := range r.Kinds {
		if k.Samples == 0 {
			continue
		}
		add("query p99 "+k.Kind, "<= 10 ms", fmt.Sprintf("%.3f ms", k.P99Ms), k.P99Ms <= 10)
		add("query p50 "+k.Kind, "<= 1 ms", fmt.Sprintf("%.3f ms", k.P50Ms), k.P50Ms <= 1)
	}
	if a := r.API; a != nil && a.Requests > 0 {
		add(fmt.Sprintf("query p99 via GET /v1/videos/search, %d clients", a.Clients), "<= 10 ms", fmt.Sprintf("%.3f ms", a.P99Ms), a.P99Ms <= 10)
	}
	add("indexing", ">= 100k docs/s", fmt.Sprintf("%.0f docs/s", r.Build.DocsPerSec), r.Build.DocsPerSec >= 100_000)
	if r.Updates.Updates > 0 {
		add("stats updates", ">= 500k/s", fmt.Sprintf("%.0f/s", r.Updates.PerSec), r.Updates.PerSec >= 500_000)
		add("query p99 during updates", "<= 10 ms", fmt.Sprintf("%.3f ms", r.Updates.QueryP99Ms), r.Updates.QueryP99Ms <= 10)
	}
	add("memory (index heap / raw text)", "<= 3x", fmt.Sprintf("%.2fx", r.Build.HeapPerRaw), r.Build.HeapPerRaw <= 3)
	add("memory (process RSS / raw text)", "<= 3x", fmt.Sprintf("%.2fx", r.Build.RSSPerRaw), r.Build.RSSPerRaw <= 3)
	if b := r.Build; b.IdleRSSAnon > 0 && r.Corpus.RawTextBytes > 0 {
		x := float64(b.IdleRSSAnon) / float64(r.Corpus.RawTextBytes)
		add("memory (process RssAnon after FreeOSMemory / raw text; texts and postings in the page cache not counted)", "<= 3x", fmt.Sprintf("%.2fx", x), x <= 3)
	}
	if b := r.Build; b.FlushedHeapBytes > 0 {
		add("memory after the first flush (index heap / raw text; frozen postings in the page cache)", "<= 3x", fmt.Sprintf("%.2fx (+ %s mapped)", b.FlushedHeapPerRaw, mb(b.MappedBytes)), b.FlushedHeapPerRaw <= 3)
	}
	bad := r.Mismatches()
	add("correctness vs oracle", "0 mismatches", fmt.Sprintf("%d", bad), bad == 0)
}

// Mismatches counts the answers of every phase (before and after the
// updates, through the API, after reopening) that differ from the oracle.
func (r *Report) Mismatches() int {
	n := r.Correctness.Mismatches + r.Correctness.MismatchesAfterUpdates
	if r.API != nil {
		n += r.API.Mismatches
	}
	if r.Reopen != nil {
		n += r.Reopen.Mismatches
	}
	return n
}

func slowest(k KindStats) string {
	if k.Slowest == "" {
		return ""
	}
	return fmt.Sprintf("%q (%s)", k.Slowest, ms3(k.SlowestMs))
}

func ms3(v float64) string { return fmt.Sprintf("%.3f", v) }

func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// holdsLine summarizes write-lock holds (bucket bounds are powers of two:
// p50 and p99 are upper bounds).
func holdsLine(h index.LockHolds) string {
	return fmt.Sprintf("%s holds, %.2f s in all, p50 <= %s ms, p99 <= %s ms, max %s ms",
		count(int(h.Count)), h.Seconds, ms3(1000*h.Quantile(0.5)), ms3(1000*h.Quantile(0.99)), ms3(1000*h.MaxSeconds))
}

// WriteMarkdown prints the report as markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("### Search benchmark: %s docs (anchors: first %s docs)", count(r.Corpus.Docs), count(r.Config.AnchorDocs))
	p("")
	if r.Command != "" {
		p("Command: `%s`  ", r.Command)
	}
	p("Date: %s · machine: %d CPUs, %s, %s RAM · %s %s · run took %.0f s · load average at start %s, at end %s · speed probe (corpus generator, one thread) %.0f ns/doc at start, %.0f at end",
		r.Date, r.Machine.CPUs, r.Machine.CPUModel, mb(r.Machine.MemBytes), r.Machine.GoVersion, r.Machine.OS, r.Seconds, r.Machine.LoadStart, r.Machine.LoadEnd,
		r.Machine.ProbeStartNs, r.Machine.ProbeEndNs)
	p("")
	langs := []string{}
	for _, l := range langCodes {
		langs = append(langs, fmt.Sprintf("%s %.0f%%", l, 100*float64(r.Corpus.Languages[l])/float64(max(1, r.Corpus.Docs))))
	}
	p("Corpus: %s generated videos (%s), titles learned from %d real titles (%v); raw text (title+tags+channel+description) %s, titles %s.",
		count(r.Corpus.Docs), strings.Join(langs, ", "), sum(r.Corpus.LearnedTitles), r.Corpus.LearnedTitles, mb(r.Corpus.RawTextBytes), mb(r.Corpus.TitleBytes))
	p("")
	b := r.Build
	p("#### Indexing (tubelake internal/index)")
	p("")
	p("| docs | Apply s | docs/s | wall s (incl. generation) | index heap | heap/raw | RSS | RSS/raw | RSS after FreeOSMemory | VmHWM | index MemBytes est. | grams | flush s | on disk |")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	p("| %s | %.1f | %s | %.1f | %s | %.2fx | %s | %.2fx | %s (%.2fx) | %s | %s | %s | %.1f | %s |", count(b.Docs), b.ApplySeconds, count(int(b.DocsPerSec)), b.WallSeconds,
		mb(b.IndexHeapBytes), b.HeapPerRaw, mb(b.RSSBytes), b.RSSPerRaw, mb(b.RSSIdleBytes), ratio(b.RSSIdleBytes, r.Corpus.RawTextBytes), mb(b.HWMBytes), mb(b.MemEstimate), count(b.Grams), b.FlushSeconds, mb(b.DiskBytes))
	if b.ApplyCPUSeconds > 0 {
		p("")
		p("Apply used %s (every goroutine, the collector included).", b.cpuSummary())
	}
	if b.IdleRSSAnon > 0 {
		p("")
		p("Before the flush (FreeOSMemory): RssAnon %s (%.2fx the raw text), RssFile %s; text records read from the spill file's memory map %s (page cache, not heap).",
			mb(b.IdleRSSAnon), ratio(b.IdleRSSAnon, r.Corpus.RawTextBytes), mb(b.IdleRSSFile), mb(b.TextMappedBytes))
	}
	if b.FlushedHeapBytes > 0 {
		p("")
		p("After the flush (GC, FreeOSMemory): index heap %s (%.2fx the raw text); frozen postings read in place from the snapshot's memory map %s; RssAnon %s (%.2fx), RssFile %s.",
			mb(b.FlushedHeapBytes), b.FlushedHeapPerRaw, mb(b.MappedBytes), mb(b.FlushedRSSAnon), ratio(b.FlushedRSSAnon, r.Corpus.RawTextBytes), mb(b.FlushedRSSFile))
	}
	if b.WriteHolds.Count > 0 {
		p("")
		p("Write-lock holds during the build (a search issued during one waits for it): %s.", holdsLine(b.WriteHolds))
	}
	p("")
	p("#### Queries (sort=views, limit=20, title; %d reps after one warm-up)", r.Config.Reps)
	p("")
	if a := r.API; a != nil {
		p("| kind | queries | median matches | max matches | p50 ms | p95 ms | p99 ms | max ms | API p50 / p99 ms (%d clients) | slowest query (its median ms) |", a.Clients)
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	} else {
		p("| kind | queries | median matches | max matches | p50 ms | p95 ms | p99 ms | max ms | slowest query (its median ms) |")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---|")
	}
	for _, k := range r.Kinds {
		apiCol := ""
		if r.API != nil {
			apiCol = fmt.Sprintf(" %s / %s |", ms3(k.APIP50Ms), ms3(k.APIP99Ms))
		}
		p("| %s | %d | %s | %s | %s | %s | %s | %s |%s %s |", k.Kind, k.Queries, count(k.MedianMatches), count(k.MaxMatches), ms3(k.P50Ms), ms3(k.P95Ms), ms3(k.P99Ms), ms3(k.MaxMs), apiCol, slowest(k))
	}
	p("")
	p("Major page faults while these queries ran (mapped text or posting pages read back from disk): %d.", r.QueryMajorFaults)
	p("")
	if a := r.API; a != nil {
		p("API column: the same queries through `GET /v1/videos/search?q=...&sort=views&limit=20&in=title` on a loopback server over this index, %d concurrent clients, each sending every query %d times after one warm-up pass whose answers are checked against the oracle (%d of %d differ); a request's latency runs from sending it to reading the whole body. %s timed requests; %.1f s with the warm-up pass (%.0f timed requests/s); all kinds p50 %s ms, p99 %s ms.",
			a.Clients, r.Config.Reps, a.Mismatches, a.Checked, count(a.Requests), a.Seconds, a.PerSec, ms3(a.P50Ms), ms3(a.P99Ms))
		p("")
	}
	if u := r.Updates; u.Updates > 0 {
		p("#### Stats updates (view-count-only snapshots, Apply batches of %d) with a concurrent query loop", u.BatchSize)
		p("")
		p("| updates | applied | in place | seconds | updates/s | concurrent queries | query p50 ms | query p99 ms | query max ms | GC cycles / GC CPU s | rank rebuilds |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		p("| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %d / %.2f | %d |", count(u.Updates), count(u.Applied), count(u.InPlace), u.Seconds, count(int(u.PerSec)), count(u.Queries), ms3(u.QueryP50Ms), ms3(u.QueryP99Ms), ms3(u.QueryMaxMs), u.GCCycles, u.GCCPUSeconds, u.RankRebuilds)
		p("")
		if u.WriteHolds.Count > 0 {
			p("Write-lock holds during the updates: %s.", holdsLine(u.WriteHolds))
			p("")
		}
	}
	if len(r.Anchors) > 0 {
		p("#### Anchors (same queries, first %s docs; p99 ratio = anchor p99 / tubelake p99 at %s docs)", count(r.Config.AnchorDocs), count(r.Corpus.Docs))
		p("")
		p("| anchor | docs | build s | on disk | queries run (budget %s) | samples | top-20 agrees with oracle |", r.Config.AnchorBudget)
		p("|---|---:|---:|---:|---:|---:|---:|")
		for _, a := range r.Anchors {
			samples := 0
			for _, k := range a.Kinds {
				samples += k.Samples
			}
			p("| %s | %s | %.1f | %s | %d/%d | %d | %d/%d |", a.Name, count(a.Docs), a.BuildSeconds, mb(a.DiskBytes), a.QueriesRun, len(r.Queries), samples, a.Agree, a.Agree+a.Disagree)
		}
		p("")
		head := "| kind | tubelake p50 / p99 ms |"
		sep := "|---|---:|"
		for _, a := range r.Anchors {
			head += " " + a.Name + " p50 / p99 ms (p99 ratio) |"
			sep += "---:|"
		}
		p("%s", head)
		p("%s", sep)
		for i, k := range r.Kinds {
			row := fmt.Sprintf("| %s | %s / %s |", k.Kind, ms3(k.P50Ms), ms3(k.P99Ms))
			for _, a := range r.Anchors {
				ak := a.Kinds[i]
				if ak.Samples == 0 {
					row += " - |"
					continue
				}
				row += fmt.Sprintf(" %s / %s (%.0fx) |", ms3(ak.P50Ms), ms3(ak.P99Ms), ak.P99Ratio)
			}
			p("%s", row)
		}
		p("")
	}
	c := r.Correctness
	p("#### Correctness")
	p("")
	p("mismatches vs brute-force oracle: %d of %d queries (top-20 ids and total), %d of %d after the updates", c.Mismatches, c.Checked, c.MismatchesAfterUpdates, c.CheckedAfterUpdates)
	if ro := r.Reopen; ro != nil {
		p("")
		p("Snapshot round trip (the final state flushed, the index closed and opened from the snapshot as a restarted server does): flush (%s, %s written) %.2f s, open (full snapshot + %d deltas) %.1f s, reopened index heap %s (%.2fx the raw text) plus %s of postings read from the snapshot's memory map, RssAnon %s, RssFile %s; %d of %d queries differ from the oracle.",
			ro.FlushKind, mb(ro.FlushBytes), ro.FlushSeconds, ro.OpenDeltas, ro.OpenSeconds, mb(ro.HeapBytes), ro.HeapPerRaw, mb(ro.MappedBytes), mb(ro.RSSAnon), mb(ro.RSSFile), ro.Mismatches, ro.Checked)
	}
	for _, e := range c.Examples {
		p("- %s", e)
	}
	p("")
	p("#### Goals")
	p("")
	p("| goal | target | measured | met |")
	p("|---|---|---:|---|")
	for _, g := range r.Goals {
		met := "yes"
		if !g.Met {
			met = "**no**"
		}
		p("| %s | %s | %s | %s |", g.Name, g.Target, g.Measured, met)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
