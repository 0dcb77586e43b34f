package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"github.com/tubelake/tubelake/internal/lake"
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

func encodeID(n int, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = idAlphabet[n&63]
		n >>= 6
	}
	return string(b)
}

// SyntheticVideo is the i-th of n deterministic video snapshots spread over
// days daily observations: n/days distinct videos in n/days/50 channels,
// each observed once a day with growing counts. Same (i, n, days), same
// record (and record id).
func SyntheticVideo(i, n, days int) yt.Record {
	if days < 1 {
		days = 1
	}
	videos := max(n/days, 1)
	channels := max(videos/50, 1)
	vi, day := i%videos, i/videos
	ci := vi % channels
	views := int64((vi*7919)%100_000+1) * int64(day+1) * int64(ci%7+1)
	v := &yt.Video{
		ID:        "v" + encodeID(vi, 10),
		ETag:      "e" + strconv.Itoa(i),
		FetchedAt: benchBase.Add(time.Duration(day)*24*time.Hour + time.Duration(vi%86_000)*time.Second),
		Snippet: yt.VideoSnippet{
			PublishedAt:  benchBase.Add(-time.Duration(vi%1000) * time.Hour),
			ChannelID:    "UC" + encodeID(ci, 22),
			Title:        "synthetic video " + strconv.Itoa(vi) + " 초등영어 lesson",
			ChannelTitle: "channel " + strconv.Itoa(ci),
			Tags:         []string{"bench", "tag" + strconv.Itoa(vi%100)},
			CategoryID:   strconv.Itoa(vi%30 + 1),
			Thumbnail:    yt.Thumbnail{URL: "https://i.ytimg.com/vi/" + strconv.Itoa(vi) + "/default.jpg", Width: 120, Height: 90},
		},
		Statistics:     yt.VideoStatistics{ViewCount: yt.Int64(views), LikeCount: yt.Int64(views / 20), CommentCount: yt.Int64(views / 200)},
		ContentDetails: yt.VideoContentDetails{Duration: "PT" + strconv.Itoa(vi%59+1) + "M", Dimension: "2d", Definition: "hd", Caption: "false"},
	}
	return yt.NewVideoRecord("bench", v)
}

// rssSampler tracks the process's peak resident set size.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startRSS() *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if r := CurrentRSS(); r > s.peak.Load() {
				s.peak.Store(r)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) Stop() int64 {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.peak.Load()
}

// processCPU is the user+system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CurrentRSS is the process's resident set size in bytes (Linux; 0 elsewhere).
func CurrentRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
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
	rss := startRSS()
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
	go func() { runErr <- n.Run(runCtx) }()
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

	start := time.Now()
	cpu0 := processCPU()
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range cfg.Publishers {
		g.Go(func() error {
			buf := make([]yt.Record, 0, cfg.PublishBatch)
			for {
				lo := int(next.Add(int64(cfg.PublishBatch))) - cfg.PublishBatch
				if lo >= cfg.Records {
					return nil
				}
				hi := min(lo+cfg.PublishBatch, cfg.Records)
				buf = buf[:0]
				for i := lo; i < hi; i++ {
					buf = append(buf, SyntheticVideo(i, cfg.Records, cfg.Days))
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
	res.CPU = processCPU() - cpu0
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
