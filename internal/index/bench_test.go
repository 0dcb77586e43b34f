package index

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/procstat"
	"github.com/tubelake/tubelake/internal/yt"
)

// Benchmarks run on a corpus built from the real chart titles with
// variations (a word of another title appended, log-uniform views). Size:
// TUBELAKE_BENCH_DOCS (default 200000), e.g.
//
//	TUBELAKE_BENCH_DOCS=1000000 go test -run XXX -bench . -benchtime 2000x ./internal/index/

func benchDocs() int {
	if n, err := strconv.Atoi(os.Getenv("TUBELAKE_BENCH_DOCS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

func benchSpecs(tb testing.TB, n int) []vspec {
	real := loadReal(tb)
	r := rand.New(rand.NewPCG(1, 2))
	var words []string
	for _, v := range real {
		words = append(words, strings.Fields(v.title)...)
	}
	out := make([]vspec, n)
	for i := range out {
		base := real[i%len(real)].spec()
		s := base
		s.id = fmt.Sprintf("b%010d", i)
		if i >= len(real) {
			s.title = base.title + " " + words[r.IntN(len(words))]
		}
		s.views = int64(math.Exp(r.Float64() * 18))
		s.pub = t0.Add(-time.Duration(r.IntN(5*365*24)) * time.Hour)
		s.tags = []string{words[r.IntN(len(words))], words[r.IntN(len(words))]}
		out[i] = s
	}
	return out
}

var benchIx struct {
	once  sync.Once
	ix    *Index
	specs []vspec
	took  time.Duration
	rss   int64
}

func benchIndex(b *testing.B) (*Index, []vspec) {
	benchIx.once.Do(func() {
		specs := benchSpecs(b, benchDocs())
		heap0 := heapInuse()
		recs := make([]yt.Record, len(specs))
		for i, s := range specs {
			recs[i] = s.rec()
		}
		ix, _ := Open("", Options{})
		start := time.Now()
		if err := ix.Apply(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
		benchIx.took = time.Since(start)
		ix.bg.Wait()
		recs = nil
		ixHeap := heapInuse() - heap0
		benchIx.ix, benchIx.specs, benchIx.rss = ix, specs, rssBytes()
		st := ix.Stats()
		fmt.Fprintf(os.Stderr, "bench index: %d docs in %v (%.0f docs/s), grams %d, text %d MB, postings %d MB, est mem %d MB, index heap %d MB, process RSS %d MB (incl. the corpus)\n",
			st.Docs, benchIx.took.Round(time.Millisecond), float64(st.Docs)/benchIx.took.Seconds(), st.Grams,
			st.TextBytes>>20, st.PostingBytes>>20, st.MemBytes>>20, ixHeap>>20, benchIx.rss>>20)
	})
	if benchIx.ix == nil {
		b.Skip("no bench index")
	}
	return benchIx.ix, benchIx.specs
}

// heapInuse is the live heap after a full GC.
func heapInuse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchQueries are the query kinds of the goal table.
var benchQueries = []struct {
	kind string
	q    Query
}{
	{"common_shorts", Query{Q: "shorts"}},
	{"common_ko_3", Query{Q: "이재명"}},
	{"rare_ko", Query{Q: "롤토체스 강의"}},
	{"rare_phrase", Query{Q: `"포르쉐 셀프수리"`}},
	{"syllable1", Query{Q: "영"}},
	{"syllable2_mukbang", Query{Q: "먹방"}},
	{"syllable2_english", Query{Q: "영어"}},
	{"english", Query{Q: "minecraft"}},
	{"english_2terms", Query{Q: "official video"}},
	{"japanese", Query{Q: "ゲーム"}},
	{"nomatch", Query{Q: "zqxwvj"}},
	{"nomatch_ko", Query{Q: "갉갉갉"}},
	{"initials", Query{Q: "ㄹㅌㅊㅅ", Initials: true}},
	{"layout", Query{Q: "fhfxhcptm", Layout: true}},
	{"multi_field", Query{Q: "뮤직", In: []Field{FieldTitle, FieldTags, FieldChannel}}},
	{"filter_minviews", Query{Q: "shorts", MinViews: 1_000_000}},
}

// BenchmarkSearch measures every query kind with the total cache off: the
// cost of a query never seen before (or after a text change).
func BenchmarkSearch(b *testing.B) {
	ix, _ := benchIndex(b)
	ix.totals.off = true
	defer func() { ix.totals.off = false }()
	for _, sort := range []Sort{SortViews, SortRelevance, SortRecent} {
		for _, bq := range benchQueries {
			q := bq.q
			q.Sort, q.Limit = sort, 20
			b.Run(string(sort)+"/"+bq.kind, func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				var res Result
				cpu0 := procstat.CPU()
				for b.Loop() {
					st := time.Now()
					var err error
					res, err = ix.Search(context.Background(), q)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(st))
				}
				reportLatency(b, lat)
				b.ReportMetric(float64((procstat.CPU()-cpu0).Microseconds())/float64(len(lat)), "cpu-µs/op")
				b.ReportMetric(float64(res.Total), "total")
			})
		}
	}
}

// BenchmarkSearchCached repeats the common queries with the total cache on
// (head queries under statistics refreshes).
func BenchmarkSearchCached(b *testing.B) {
	ix, _ := benchIndex(b)
	for _, sort := range []Sort{SortViews, SortRelevance} {
		for _, bq := range benchQueries[:2] {
			q := bq.q
			q.Sort = sort
			b.Run(string(sort)+"/"+bq.kind, func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				for b.Loop() {
					st := time.Now()
					if _, err := ix.Search(context.Background(), q); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(st))
				}
				reportLatency(b, lat)
			})
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkApplyNew measures indexing throughput (fresh index per run).
func BenchmarkApplyNew(b *testing.B) {
	specs := benchSpecs(b, 100_000)
	recs := make([]yt.Record, len(specs))
	for i, s := range specs {
		recs[i] = s.rec()
	}
	b.ResetTimer()
	cpu0 := procstat.CPU()
	for b.Loop() {
		ix, _ := Open("", Options{})
		if err := ix.Apply(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(len(recs)*b.N)/(procstat.CPU()-cpu0).Seconds(), "docs/cpu-s")
}

// BenchmarkApplyStats measures statistics refreshes (same texts, newer
// FetchedAt, new counts) on the bench index.
func BenchmarkApplyStats(b *testing.B) {
	ix, specs := benchIndex(b)
	const batch = 10_000
	recs := make([]yt.Record, batch)
	r := rand.New(rand.NewPCG(3, 4))
	round := 0
	var cpu time.Duration
	st0 := ix.Stats()
	for b.Loop() {
		b.StopTimer()
		round++
		for i := range recs {
			s := specs[r.IntN(len(specs))]
			s.views += int64(r.IntN(100000) + round)
			s.fetched = t0.Add(time.Duration(round) * time.Second)
			recs[i] = s.rec()
		}
		b.StartTimer()
		c0 := procstat.CPU()
		if err := ix.Apply(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
		cpu += procstat.CPU() - c0
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "updates/s")
	b.ReportMetric(float64(batch*b.N)/cpu.Seconds(), "updates/cpu-s")
	st := ix.Stats()
	b.ReportMetric(100*float64(st.InPlace-st0.InPlace)/float64(max(1, st.Applied-st0.Applied)), "%in-place")
}

// BenchmarkSearchUnderStats runs searches while another goroutine applies
// statistics refreshes as fast as it can.
func BenchmarkSearchUnderStats(b *testing.B) {
	ix, specs := benchIndex(b)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var updates int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(5, 6))
		recs := make([]yt.Record, 1000)
		for round := 1_000_000; ctx.Err() == nil; round++ {
			for i := range recs {
				s := specs[r.IntN(len(specs))]
				s.views += int64(r.IntN(100000))
				s.fetched = t0.Add(time.Duration(round) * time.Second)
				recs[i] = s.rec()
			}
			if ix.Apply(ctx, recs) == nil {
				updates += int64(len(recs))
			}
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	start := time.Now()
	i := 0
	for b.Loop() {
		q := benchQueries[i%len(benchQueries)].q
		q.Sort = SortViews
		i++
		st := time.Now()
		if _, err := ix.Search(context.Background(), q); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(st))
	}
	cancel()
	wg.Wait()
	reportLatency(b, lat)
	b.ReportMetric(float64(updates)/time.Since(start).Seconds(), "updates/s")
}

// BenchmarkInvert measures the grouping of a bulk chunk's grams by gram
// (invert, outside the write lock).
func BenchmarkInvert(b *testing.B) {
	specs := benchSpecs(b, bulkChunk)
	recs := make([]yt.Record, len(specs))
	for i, s := range specs {
		// A description of two other titles, as long as a generated one.
		s.desc = specs[(i*7+1)%len(specs)].title + " " + specs[(i*13+5)%len(specs)].title
		recs[i] = s.rec()
	}
	need := make([]bool, len(recs))
	for i := range need {
		need[i] = true
	}
	ps := make([]*prepared, len(recs))
	prepareTexts(recs, need, ps, 0, 1)
	pairs := 0
	for _, p := range ps {
		for fi := range nFields {
			pairs += len(p.grams[fi])
		}
	}
	b.ResetTimer()
	for b.Loop() {
		invs.Put(invert(ps, need))
	}
	b.ReportMetric(float64(pairs)/float64(len(recs)), "grams/doc")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pairs), "ns/gram")
}

// BenchmarkMeasure times the memory estimate behind Stats (a walk over every
// doc and posting, taken at most every statsRefresh).
func BenchmarkMeasure(b *testing.B) {
	ix, _ := benchIndex(b)
	for b.Loop() {
		ix.measure()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ix.docs.len()), "ns/doc")
}

// BenchmarkFlush writes a snapshot of the bench index.
func BenchmarkFlush(b *testing.B) {
	ix, _ := benchIndex(b)
	dir := b.TempDir()
	ix.dir = dir
	defer func() { ix.dir = "" }()
	for b.Loop() {
		if err := ix.Flush(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ix.docs.len()), "ns/doc")
}

// BenchmarkOpen loads a snapshot of the bench index.
func BenchmarkOpen(b *testing.B) {
	ix, _ := benchIndex(b)
	dir := b.TempDir()
	ix.dir = dir
	err := ix.Flush(context.Background(), 1)
	ix.dir = ""
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ix2, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		ix2.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ix.docs.len()), "ns/doc")
}

// BenchmarkTextHash: the hash every statistics refresh computes of the
// record's texts (see textHash).
func BenchmarkTextHash(b *testing.B) {
	v := vspec{id: vidID(1), title: "[초등영어] 파닉스 1강 - Learn English Phonics for Kids 🎵 (2025)", desc: strings.Repeat("영어 공부 설명 line ", 8),
		chanTitle: "영어선생님 English Teacher", tags: []string{"영어", "초등영어", "phonics", "english for kids"}}.video()
	var sink uint64
	for b.Loop() {
		sink += textHash(v)
	}
	_ = sink
}
