package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/procstat"
	"github.com/tubelake/tubelake/internal/stream"
	"github.com/tubelake/tubelake/internal/yt"
)

// BenchConfig configures BenchIngest.
type BenchConfig struct {
	// Records is how many video snapshot records to publish.
	Records int
	// Engine is "embedded", "nats" or "kafka".
	Engine string
	// StreamURL points "nats" or "kafka" at an existing server; empty starts
	// one in-process on a loopback port (a NATS server with JetStream, or
	// franz-go's kfake broker, which keeps the log in memory).
	StreamURL string
	// Dir is the data directory (must be empty or absent).
	Dir string
	// Days spreads the snapshots over this many daily partitions (default 10).
	Days int
	// PublishBatch records per Publish call (default 5000); Publishers
	// concurrent publishing goroutines (default 2).
	PublishBatch, Publishers int
	// FetchBatch is the lake consumer's batch size (default 20000).
	FetchBatch int
	// Compact merges each partition after ingest (default true via the CLI).
	Compact bool
	// DedupeWindow is the JetStream dedupe window (0: the default, 2h).
	DedupeWindow time.Duration
	// RecordsPerMessage packs records into JetStream messages (0/1: one each).
	RecordsPerMessage int
	Logger            *slog.Logger
	// Progress, if set, is called about every 500 ms.
	Progress func(published, committed int64)
	// CPUProfile, if set, receives a pprof CPU profile of the ingest phase
	// (first publish to last lake commit). Samples are labelled
	// stage=publish (publishers: encode + publish) or stage=sinks (the
	// node's consumers: fetch, decode, lake write, commit); unlabelled
	// samples are the stream engine's own goroutines and the runtime.
	CPUProfile io.Writer
	// AllocProfile, if set, receives a pprof allocation profile taken at
	// the end of the ingest phase.
	AllocProfile io.Writer
}

// BenchResult is what BenchIngest measured.
type BenchResult struct {
	Engine         string        `json:"engine"`
	StreamURL      string        `json:"stream_url"`
	Records        int           `json:"records"`
	Elapsed        time.Duration `json:"elapsed_ns"` // first publish to last lake commit
	PublishElapsed time.Duration `json:"publish_elapsed_ns"`
	RecordsPerSec  float64       `json:"records_per_sec"`
	PeakRSS        int64         `json:"peak_rss_bytes"` // whole process (includes in-process brokers)
	CPU            time.Duration `json:"cpu_ns"`         // user+system CPU of the process during ingest
	RecordsPerCPU  float64       `json:"records_per_cpu_sec"`
	Partitions     int           `json:"partitions"` // (table, dt) pairs
	FilesBefore    int           `json:"files_before"`
	FilesAfter     int           `json:"files_after"`
	CompactElapsed time.Duration `json:"compact_elapsed_ns"`
	LakeBytes      int64         `json:"lake_bytes"`
	FirstDT        string        `json:"first_dt"`
	LastDT         string        `json:"last_dt"`
	LakeDir        string        `json:"lake_dir"`
}

var benchBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"

func encodeID(n int, width int) string { return string(appendID(nil, n, width)) }

// SyntheticVideo is the i-th of n deterministic video snapshots spread over
// days daily observations: n/days distinct videos in n/days/50 channels,
// each observed once a day with growing counts. Same (i, n, days), same
// record (and record id).
func SyntheticVideo(i, n, days int) yt.Record {
	var g synth
	return g.video(i, n, days)
}

// synth builds SyntheticVideo records with few allocations (the
// generator runs inside the measured process): every string of a record
// is a substring of one buffer, counts come from one array. After
// reset(n), the next n records are built in storage that the following
// reset reuses (the benchmark's publishers: Publish keeps nothing of a
// record once it returns), so the generator allocates almost nothing.
type synth struct {
	buf    []byte
	arena  []byte       // strings of the records since reset (reuse only)
	allocs []synthAlloc // structs of the records since reset (reuse only)
	reuse  bool
}

type synthAlloc struct {
	v      yt.Video
	counts [3]int64
	tags   [2]string
}

// reset starts a batch of at most n records, reusing the storage of the
// previous batch: every record built before is invalid afterwards.
func (g *synth) reset(n int) {
	g.reuse = true
	if cap(g.allocs) < n {
		g.allocs = make([]synthAlloc, 0, n)
	}
	g.allocs = g.allocs[:0]
	g.arena = g.arena[:0]
}

func (g *synth) video(i, n, days int) yt.Record {
	if days < 1 {
		days = 1
	}
	videos := max(n/days, 1)
	channels := max(videos/50, 1)
	vi, day := i%videos, i/videos
	ci := vi % channels
	views := int64((vi*7919)%100_000+1) * int64(day+1) * int64(ci%7+1)
	fetched := benchBase.Add(time.Duration(day)*24*time.Hour + time.Duration(vi%86_000)*time.Second)

	b := g.buf[:0]
	var ends [12]int
	k := 0
	mark := func() { ends[k] = len(b); k++ }
	b = append(b, 'v')
	b = appendID(b, vi, 10)
	mark() // 0 id
	b = append(b, 'e')
	b = strconv.AppendInt(b, int64(i), 10)
	mark() // 1 etag
	b = append(b, "UC"...)
	b = appendID(b, ci, 22)
	mark() // 2 channel id
	b = append(b, "synthetic video "...)
	b = strconv.AppendInt(b, int64(vi), 10)
	b = append(b, " 초등영어 lesson"...)
	mark() // 3 title
	b = append(b, "channel "...)
	b = strconv.AppendInt(b, int64(ci), 10)
	mark() // 4 channel title
	b = append(b, "bench"...)
	mark() // 5 tag 1
	b = append(b, "tag"...)
	b = strconv.AppendInt(b, int64(vi%100), 10)
	mark() // 6 tag 2
	b = strconv.AppendInt(b, int64(vi%30+1), 10)
	mark() // 7 category
	b = append(b, "https://i.ytimg.com/vi/"...)
	b = strconv.AppendInt(b, int64(vi), 10)
	b = append(b, "/default.jpg"...)
	mark() // 8 thumbnail
	b = append(b, "PT"...)
	b = strconv.AppendInt(b, int64(vi%59+1), 10)
	b = append(b, 'M')
	mark() // 9 duration
	b = append(b, "video:"...)
	b = append(b, b[:ends[0]]...)
	b = append(b, ':')
	b = strconv.AppendInt(b, yt.TruncMicros(fetched).UnixMicro(), 10)
	mark() // 10 record id (yt.RecordID)
	g.buf = b
	var all string
	if g.reuse {
		if cap(g.arena)-len(g.arena) < len(b) {
			// Earlier strings keep the old arena alive; it is dropped at reset.
			g.arena = make([]byte, 0, max(len(b), 2*cap(g.arena), 64<<10))
		}
		at := len(g.arena)
		g.arena = append(g.arena, b...)
		all = unsafe.String(&g.arena[at], len(b))
	} else {
		all = string(b)
	}
	str := func(j int) string {
		from := 0
		if j > 0 {
			from = ends[j-1]
		}
		return all[from:ends[j]]
	}
	var a *synthAlloc
	if g.reuse && len(g.allocs) < cap(g.allocs) {
		g.allocs = g.allocs[:len(g.allocs)+1]
		a = &g.allocs[len(g.allocs)-1]
	} else {
		a = new(synthAlloc)
	}
	a.counts, a.tags = [3]int64{views, views / 20, views / 200}, [2]string{str(5), str(6)}
	v := &a.v
	*v = yt.Video{
		ID:        str(0),
		ETag:      str(1),
		FetchedAt: yt.TruncMicros(fetched),
		Snippet: yt.VideoSnippet{
			PublishedAt:  benchBase.Add(-time.Duration(vi%1000) * time.Hour),
			ChannelID:    str(2),
			Title:        str(3),
			ChannelTitle: str(4),
			Tags:         a.tags[:],
			CategoryID:   str(7),
			Thumbnail:    yt.Thumbnail{URL: str(8), Width: 120, Height: 90},
		},
		Statistics:     yt.VideoStatistics{ViewCount: &a.counts[0], LikeCount: &a.counts[1], CommentCount: &a.counts[2]},
		ContentDetails: yt.VideoContentDetails{Duration: str(9), Dimension: "2d", Definition: "hd", Caption: "false"},
	}
	return yt.Record{V: yt.SchemaVersion, ID: str(10), Kind: yt.KindVideo, Source: "bench", Video: v}
}

func appendID(b []byte, n, width int) []byte {
	at := len(b)
	for range width {
		b = append(b, 0)
	}
	for i := width - 1; i >= 0; i-- {
		b[at+i] = idAlphabet[n&63]
		n >>= 6
	}
	return b
}

// BenchIngest publishes cfg.Records synthetic video snapshots through the
// chosen stream engine into a lake-only node and measures the time until
// the lake committed the last one, then compacts every partition.
func BenchIngest(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	if cfg.Records <= 0 {
		return BenchResult{}, errors.New("bench: records must be positive")
	}
	if cfg.Days <= 0 {
		cfg.Days = 10
	}
	if cfg.PublishBatch <= 0 {
		cfg.PublishBatch = 5000
	}
	if cfg.Publishers <= 0 {
		cfg.Publishers = 2
	}
	if cfg.FetchBatch <= 0 {
		cfg.FetchBatch = 20000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	res := BenchResult{Engine: cfg.Engine, Records: cfg.Records}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	rss := procstat.StartPeakRSS(50 * time.Millisecond)
	defer rss.Stop()

	url := cfg.StreamURL
	switch cfg.Engine {
	case "embedded":
		url = ""
	case "nats":
		if url == "" {
			// A separate JetStream server on a loopback port, reached over TCP.
			srv, err := stream.OpenNATS(ctx, stream.Config{Dir: filepath.Join(cfg.Dir, "nats-server"), Listen: "127.0.0.1:-1", DedupeWindow: cfg.DedupeWindow, RecordsPerMessage: cfg.RecordsPerMessage})
			if err != nil {
				return res, err
			}
			defer srv.Close()
			url = srv.ClientURL()
		}
	case "kafka":
		if url == "" {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
				return net.Listen("tcp", "127.0.0.1:0")
			}))
			if err != nil {
				return res, fmt.Errorf("bench: kfake: %w", err)
			}
			defer c.Close()
			url = "kafka://" + strings.Join(c.ListenAddrs(), ",")
		}
	default:
		return res, fmt.Errorf("bench: unknown engine %q (want embedded, nats or kafka)", cfg.Engine)
	}
	res.StreamURL = url
	n, err := Open(ctx, Config{DataDir: filepath.Join(cfg.Dir, "node"), StreamURL: url, BatchSize: cfg.FetchBatch, StreamDedupeWindow: cfg.DedupeWindow, StreamRecordsPerMessage: cfg.RecordsPerMessage,
		MaxWait: 200 * time.Millisecond, NoIndex: true, Logger: cfg.Logger,
		Lake: lake.Options{Parallelism: 2}})
	if err != nil {
		return res, err
	}
	defer n.Close()
	res.LakeDir = n.LakeDir()
	runCtx, stopRun := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go pprof.Do(runCtx, pprof.Labels("stage", "sinks"), func(ctx context.Context) { runErr <- n.Run(ctx) })
	defer func() { stopRun(); <-runErr }()

	var published atomic.Int64
	progressDone := make(chan struct{})
	var pwg sync.WaitGroup
	if cfg.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
					cfg.Progress(published.Load(), int64(n.lakeSeq.Load()))
				}
			}
		}()
	}
	defer func() { close(progressDone); pwg.Wait() }()

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return res, fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	cpu0 := procstat.CPU()
	var next atomic.Int64
	g, gctx := errgroup.WithContext(pprof.WithLabels(ctx, pprof.Labels("stage", "publish")))
	for range cfg.Publishers {
		g.Go(func() error {
			pprof.SetGoroutineLabels(gctx)
			buf := make([]yt.Record, 0, cfg.PublishBatch)
			var gen synth
			for {
				lo := int(next.Add(int64(cfg.PublishBatch))) - cfg.PublishBatch
				if lo >= cfg.Records {
					return nil
				}
				hi := min(lo+cfg.PublishBatch, cfg.Records)
				buf = buf[:0]
				gen.reset(hi - lo) // the previous batch was published: reuse its storage
				for i := lo; i < hi; i++ {
					buf = append(buf, gen.video(i, cfg.Records, cfg.Days))
				}
				if err := n.Publish(gctx, buf...); err != nil {
					return err
				}
				published.Add(int64(hi - lo))
			}
		})
	}
	if err := g.Wait(); err != nil {
		return res, fmt.Errorf("bench: publish: %w", err)
	}
	res.PublishElapsed = time.Since(start)
	if err := n.WaitIdle(ctx); err != nil {
		return res, fmt.Errorf("bench: waiting for the lake: %w", err)
	}
	res.Elapsed = time.Since(start)
	res.RecordsPerSec = float64(cfg.Records) / res.Elapsed.Seconds()
	res.CPU = procstat.CPU() - cpu0
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if cfg.AllocProfile != nil {
		if err := pprof.Lookup("allocs").WriteTo(cfg.AllocProfile, 0); err != nil {
			return res, fmt.Errorf("bench: alloc profile: %w", err)
		}
	}
	if res.CPU > 0 {
		res.RecordsPerCPU = float64(cfg.Records) / res.CPU.Seconds()
	}
	stopRun()
	if err := <-runErr; err != nil {
		return res, err
	}
	runErr <- nil // for the deferred receive
	res.PeakRSS = rss.Stop()

	// Files per partition, compaction.
	for _, table := range lake.Tables() {
		dts, err := n.Lake.Partitions(ctx, table)
		if err != nil {
			return res, err
		}
		for _, dt := range dts {
			files, err := n.Lake.Files(ctx, table, dt)
			if err != nil {
				return res, err
			}
			res.Partitions++
			res.FilesBefore += len(files)
			if res.FirstDT == "" || dt < res.FirstDT {
				res.FirstDT = dt
			}
			res.LastDT = max(res.LastDT, dt)
		}
	}
	cstart := time.Now()
	for _, table := range lake.Tables() {
		dts, _ := n.Lake.Partitions(ctx, table)
		for _, dt := range dts {
			if cfg.Compact {
				if _, err := n.Lake.Compact(ctx, table, dt, 0); err != nil {
					return res, err
				}
			}
			files, err := n.Lake.Files(ctx, table, dt)
			if err != nil {
				return res, err
			}
			res.FilesAfter += len(files)
			for _, f := range files {
				res.LakeBytes += f.Size
			}
		}
	}
	res.CompactElapsed = time.Since(cstart)
	return res, nil
}
