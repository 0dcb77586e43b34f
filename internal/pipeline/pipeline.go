package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/stream"
	"github.com/tubelake/tubelake/internal/yt"
)

// Config describes a node's data directory and engines.
type Config struct {
	// DataDir holds stream/, lake/ and index/ (created if missing).
	DataDir string
	// StreamURL selects the stream engine: "" for the embedded JetStream,
	// nats://h:p[,h:p...][?replicas=N] for an external NATS cluster,
	// kafka://h:p[,h:p...][?topic=T] for Kafka.
	StreamURL string
	// StreamDedupeWindow is JetStream's duplicate window (default 2h). The
	// server keeps every record id published within it in memory, so bulk
	// loads of millions of records per hour want a shorter one; the sinks
	// are idempotent beyond it.
	StreamDedupeWindow time.Duration
	// StreamRecordsPerMessage > 1 packs that many records per JetStream
	// message (bulk loads; see stream.Config.RecordsPerMessage).
	StreamRecordsPerMessage int
	// StreamListen optionally exposes the embedded JetStream on host:port.
	StreamListen string
	// LakeURL overrides the lake location (default file://<DataDir>/lake).
	LakeURL string
	// IndexFlushEvery is the index snapshot interval (default 5s; at least
	// four times the last snapshot's duration, see flushWait).
	IndexFlushEvery time.Duration
	// BatchSize per sink consumer fetch (default 2000).
	BatchSize int
	// MaxWait bounds publish-to-visible latency in sinks (default 300ms).
	MaxWait time.Duration
	// Lake tunes the Parquet writer (row group size, upload parallelism).
	Lake lake.Options
	// NoIndex runs only the lake sink (benchmarks, lake-only nodes).
	NoIndex    bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Node is one tubelake process's view of the pipeline.
type Node struct {
	cfg    Config
	log    *slog.Logger
	lock   *os.File // the data directory's lock (see lockDataDir)
	Stream stream.Stream
	Lake   *lake.Lake
	Index  *index.Index

	sinkRecords *prometheus.CounterVec // per sink and kind
	sinkSeconds *prometheus.HistogramVec
	dlq         *prometheus.CounterVec
	flushSecs   *prometheus.HistogramVec // by kind: delta or full
	applied     atomic.Uint64            // last stream seq applied to the index
	flushed     atomic.Uint64
	lastFlush   atomic.Int64 // duration of the last index snapshot (ns)
	lakeSeq     atomic.Uint64
}

// Open opens (creating if needed) the data directory and its engines.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("pipeline: data directory is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IndexFlushEvery == 0 {
		cfg.IndexFlushEvery = 5 * time.Second
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 2000
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 300 * time.Millisecond
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	cfg.DataDir = abs
	for _, d := range []string{"stream", "lake", "index"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	if cfg.LakeURL == "" {
		cfg.LakeURL = "file://" + filepath.Join(abs, "lake")
	}
	lock, err := lockDataDir(abs)
	if err != nil {
		return nil, err
	}
	// A rebuild interrupted by a crash is finished (or dropped) first.
	if err := finishRebuild(abs); err != nil {
		lock.Close()
		return nil, fmt.Errorf("pipeline: index rebuild left behind: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, lock: lock}
	n.Stream, err = stream.Open(ctx, stream.Config{URL: cfg.StreamURL, Dir: filepath.Join(abs, "stream"), Listen: cfg.StreamListen, DedupeWindow: cfg.StreamDedupeWindow, RecordsPerMessage: cfg.StreamRecordsPerMessage, Logger: cfg.Logger.With("component", "stream")})
	if err != nil {
		n.unlock()
		return nil, err
	}
	lopts := cfg.Lake
	lopts.Logger = cfg.Logger.With("component", "lake")
	n.Lake, err = lake.Open(ctx, cfg.LakeURL, lopts)
	if err != nil {
		n.Stream.Close()
		n.unlock()
		return nil, fmt.Errorf("pipeline: open lake: %w", err)
	}
	n.Index, err = index.Open(filepath.Join(abs, "index"), index.Options{Logger: cfg.Logger.With("component", "index")})
	if err != nil {
		n.Lake.Close()
		n.Stream.Close()
		n.unlock()
		return nil, fmt.Errorf("pipeline: open index: %w", err)
	}
	n.applied.Store(n.Index.Checkpoint())
	n.flushed.Store(n.Index.Checkpoint())
	n.sinkRecords = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_sink_records_total", Help: "Records made durable per sink and kind."}, []string{"sink", "kind"})
	n.sinkSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tubelake_sink_batch_seconds", Help: "Time to make one batch durable, per sink.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"sink"})
	n.dlq = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_dead_letters_total", Help: "Records routed to the dead-letter queue, per sink."}, []string{"sink"})
	n.flushSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tubelake_index_flush_seconds", Help: "Time to flush the index, by what the flush wrote: a delta or a full snapshot.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"kind"})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{n.sinkRecords, n.sinkSeconds, n.dlq, n.flushSecs, newIndexCollector(n.Index)} {
			if err := cfg.Registerer.Register(c); err != nil {
				n.Close()
				return nil, fmt.Errorf("pipeline: metrics: %w", err)
			}
		}
	}
	return n, nil
}

// Publish sends records into the pipeline (collector and importer use it).
func (n *Node) Publish(ctx context.Context, recs ...yt.Record) error {
	return n.Stream.Publish(ctx, recs...)
}

func (n *Node) count(sink string, recs []yt.Record) {
	var v, c, e float64
	for i := range recs {
		switch recs[i].Kind {
		case yt.KindVideo:
			v++
		case yt.KindChannel:
			c++
		default:
			e++
		}
	}
	n.sinkRecords.WithLabelValues(sink, "video").Add(v)
	n.sinkRecords.WithLabelValues(sink, "channel").Add(c)
	n.sinkRecords.WithLabelValues(sink, "event").Add(e)
}

// Run consumes the stream into the lake and the index until ctx is done,
// then flushes the index. It returns the first fatal sink error.
func (n *Node) Run(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	// stopped: a sink that fails only because the caller stopped the node
	// (e.g. while still reading its checkpoint) stopped cleanly.
	stopped := func(err error) bool { return parent.Err() != nil && errors.Is(err, context.Canceled) }
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := n.runLake(ctx); err != nil && !stopped(err) {
			errs <- fmt.Errorf("lake sink: %w", err)
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		if n.cfg.NoIndex {
			return
		}
		start := n.Index.Checkpoint()
		err := n.Stream.Consume(ctx, "index", stream.ConsumeOptions{BatchSize: n.cfg.BatchSize, MaxWait: n.cfg.MaxWait, StartAfter: &start,
			OnDLQ: func(uint64, error) { n.dlq.WithLabelValues("index").Inc() }},
			func(ctx context.Context, b stream.Batch) error {
				t := time.Now()
				if err := n.Index.Apply(ctx, b.Records); err != nil {
					return err
				}
				n.sinkSeconds.WithLabelValues("index").Observe(time.Since(t).Seconds())
				n.count("index", b.Records)
				n.applied.Store(b.LastSeq)
				return nil
			})
		if err != nil && !stopped(err) {
			errs <- fmt.Errorf("index sink: %w", err)
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		t := time.NewTimer(n.cfg.IndexFlushEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := n.FlushIndex(ctx); err != nil {
					n.log.Error("index flush failed; will retry", "err", err)
				}
				t.Reset(flushWait(n.cfg.IndexFlushEvery, time.Duration(n.lastFlush.Load())))
			}
		}
	}()
	wg.Wait()
	// The final flush writes a delta (a merge into a full snapshot, ~42 s
	// at 10M docs, waits for the next start), unless there is no snapshot
	// yet.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), max(time.Minute, 3*time.Duration(n.lastFlush.Load())))
	defer fcancel()
	if err := n.flushIndex(fctx, n.Index.FlushDelta); err != nil {
		return fmt.Errorf("pipeline: final index flush: %w", err)
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// lakeConsumer names the lake sink's durable consumer and its commit manifest.
const lakeConsumer = "lake"

// streamIdentity names the stream the lake's checkpoint refers to: the
// configured URL (without credentials or options; not the server a client
// happens to be connected to) and the stream's incarnation, which changes
// when the stream is re-created and its sequences restart.
func (n *Node) streamIdentity(info stream.Info) string {
	id := "embedded"
	if n.Stream.Engine() != "embedded" {
		id = redactURL(n.cfg.StreamURL)
	}
	if info.Incarnation != "" {
		id += "#" + info.Incarnation
	}
	return id
}

func redactURL(raw string) string {
	base, _, _ := strings.Cut(raw, "?")
	scheme, rest, ok := strings.Cut(base, "://")
	if !ok {
		return base
	}
	var hosts []string
	for _, h := range strings.Split(rest, ",") {
		if at := strings.LastIndexByte(h, '@'); at >= 0 {
			h = h[at+1:]
		}
		hosts = append(hosts, h)
	}
	return scheme + "://" + strings.Join(hosts, ",")
}

// runLake consumes the stream into the lake. Each batch's files are
// committed first, then the lake's commit manifest (the last durable stream
// sequence), then the stream ack. On start the consumer resumes right after
// the manifest's sequence, so a crash anywhere replays exactly the batches
// the manifest does not cover.
func (n *Node) runLake(ctx context.Context) error {
	// Transient: the lake copies every value into Parquet pages and keeps
	// no record after a batch, so records may share per-message memory.
	opt := stream.ConsumeOptions{BatchSize: n.cfg.BatchSize, MaxWait: n.cfg.MaxWait, Transient: true,
		OnDLQ: func(uint64, error) { n.dlq.WithLabelValues(lakeConsumer).Inc() }}
	cp, ok, err := n.Lake.ReadCheckpoint(ctx, lakeConsumer)
	if err != nil {
		return err
	}
	info, err := n.Stream.Info(ctx)
	if err != nil {
		return err
	}
	id := n.streamIdentity(info)
	switch {
	case ok && (cp.Engine != n.Stream.Engine() || cp.Stream != id):
		// Another engine, URL or incarnation: the checkpoint's sequences
		// mean nothing here. Replay this whole stream (the lake is
		// idempotent by record_id) rather than trust the durable.
		n.log.Warn("lake checkpoint belongs to another stream; replaying this stream from its start",
			"checkpoint_engine", cp.Engine, "checkpoint_stream", cp.Stream, "engine", n.Stream.Engine(), "stream", id)
		zero := uint64(0)
		opt.StartAfter = &zero
		cp.Records = 0
		n.lakeSeq.Store(0)
	case ok:
		start := cp.Seq
		if start > info.LastSeq {
			// The stream lost its tail (or was reset without a new
			// incarnation): replay all of it; the lake is idempotent.
			n.log.Warn("lake checkpoint is past the end of the stream; replaying the whole stream", "checkpoint", cp.Seq, "last_seq", info.LastSeq)
			start = 0
		}
		opt.StartAfter = &start
		n.lakeSeq.Store(start)
	}
	// Two batches may be in the lake writer at once (their files are
	// independent and idempotent), so the CPU work of one overlaps the
	// fsyncs and the single-file tail of the other; the commit manifest is
	// written in Commit, which runs one batch at a time in stream order, so
	// it only ever covers batches whose files are all durable. A crash can
	// leave the files of up to two batches past the manifest: both are
	// replayed (files skipped by name, or deduplicated by record_id).
	opt.InFlight = 2
	records := cp.Records
	var started sync.Map // LastSeq -> time the batch's handler started
	opt.Commit = func(ctx context.Context, b stream.Batch) error {
		// Never move the manifest backwards (a redelivered old message
		// after an ack deadline would): it would only cause a replay, but a
		// checkpoint should mean "everything up to here is in the lake".
		seq := max(b.LastSeq, n.lakeSeq.Load())
		if err := n.Lake.WriteCheckpoint(ctx, lake.Checkpoint{Consumer: lakeConsumer, Engine: n.Stream.Engine(), Stream: id,
			Seq: seq, Records: records + uint64(len(b.Records))}); err != nil {
			return err
		}
		records += uint64(len(b.Records))
		if t, ok := started.LoadAndDelete(b.LastSeq); ok {
			n.sinkSeconds.WithLabelValues(lakeConsumer).Observe(time.Since(t.(time.Time)).Seconds())
		}
		n.count(lakeConsumer, b.Records)
		n.lakeSeq.Store(seq)
		return nil
	}
	return n.Stream.Consume(ctx, lakeConsumer, opt, func(ctx context.Context, b stream.Batch) error {
		started.LoadOrStore(b.LastSeq, time.Now())
		return n.Lake.Write(ctx, b.Records)
	})
}

// FlushIndex flushes the index (a delta or a full snapshot, see
// index.Flush) if anything was applied since the last flush.
func (n *Node) FlushIndex(ctx context.Context) error {
	return n.flushIndex(ctx, n.Index.Flush)
}

func (n *Node) flushIndex(ctx context.Context, flush func(context.Context, uint64) error) error {
	seq := n.applied.Load()
	if seq == n.flushed.Load() {
		return nil
	}
	t := time.Now()
	if err := flush(ctx, seq); err != nil {
		return err
	}
	d := time.Since(t)
	n.lastFlush.Store(int64(d))
	kind := "delta"
	if deltas, _ := n.Index.Chain(); deltas == 0 {
		kind = "full" // a delta, merged or not, leaves at least one
	}
	n.flushSecs.WithLabelValues(kind).Observe(d.Seconds())
	n.flushed.Store(seq)
	return nil
}

// flushWait is the pause before the next index flush: the configured
// interval, but at least four times the last flush's duration. A delta
// takes a fraction of a second, but a merge into a full snapshot costs
// time in proportion to the whole index (~42 s at 10M docs)
// and new videos wait while it is encoded (searches and statistics
// refreshes do not), so snapshots take at most a fifth of the time.
func flushWait(every, last time.Duration) time.Duration {
	return max(every, 4*last)
}

// WaitIdle blocks until both sinks have consumed everything published so far
// (or ctx ends). Tests, import and demo use it.
func (n *Node) WaitIdle(ctx context.Context) error {
	for {
		info, err := n.Stream.Info(ctx)
		if err != nil {
			return err
		}
		// The lake is idle when its durable has nothing pending or unacked
		// (acks happen only after commit); the index when it applied the tail.
		lakeLag, hasLake := info.Consumers[lakeConsumer]
		if hasLake && lakeLag == 0 && (n.cfg.NoIndex || n.applied.Load() >= info.LastSeq) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Status is the pipeline's health at a glance.
type Status struct {
	Stream       stream.Info `json:"stream"`
	IndexApplied uint64      `json:"index_applied_seq"`
	IndexFlushed uint64      `json:"index_flushed_seq"`
	LakeSeq      uint64      `json:"lake_committed_seq"`
	Index        index.Stats `json:"index"`
}

// Status reports stream, lake and index positions.
func (n *Node) Status(ctx context.Context) (Status, error) {
	info, err := n.Stream.Info(ctx)
	if err != nil {
		return Status{}, err
	}
	return Status{Stream: info, IndexApplied: n.applied.Load(), IndexFlushed: n.flushed.Load(), LakeSeq: n.lakeSeq.Load(), Index: n.Index.Stats()}, nil
}

// DataDir is the absolute data directory.
func (n *Node) DataDir() string { return n.cfg.DataDir }

// LakeDir is the local lake directory.
func (n *Node) LakeDir() string { return filepath.Join(n.cfg.DataDir, "lake") }

// Close releases every engine. Call after Run returned.
func (n *Node) Close() error {
	var errs []error
	if n.Index != nil {
		errs = append(errs, n.Index.Close())
	}
	if n.Lake != nil {
		errs = append(errs, n.Lake.Close())
	}
	if n.Stream != nil {
		errs = append(errs, n.Stream.Close())
	}
	n.unlock()
	return errors.Join(errs...)
}

// unlock releases the data directory's lock (see lockDataDir).
func (n *Node) unlock() {
	if n.lock != nil {
		n.lock.Close()
		n.lock = nil
	}
}
