package lake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs and plain directories
	"golang.org/x/sync/errgroup"

	"github.com/tubelake/tubelake/internal/durable"
	"github.com/tubelake/tubelake/internal/yt"
)

// DefaultRowGroupRows is the row group size used when Options.RowGroupRows is 0.
const DefaultRowGroupRows = 100_000

// Options configures a Lake.
type Options struct {
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// RowGroupRows caps the rows of one Parquet row group (default 100_000).
	// It bounds the writer's memory: one row group is buffered, never a file.
	RowGroupRows int
	// Parallelism is how many files one Write uploads concurrently (default 2).
	Parallelism int
}

// Lake is the Parquet sink. It is safe for concurrent use.
type Lake struct {
	bucket       *blob.Bucket
	ownsBucket   bool
	localDir     string // non-empty for file:// lakes: enables fsync of directories
	log          *slog.Logger
	rowGroupRows int
	parallelism  int
	ingestZstd   *zstdCodec // files of Write: short-lived until compaction, cheapest level
	compactZstd  *zstdCodec // compaction output: long-lived, default level (~6% smaller)
}

// Open opens the lake at url: "file:///abs/dir", a plain directory path, or
// any URL with a gocloud.dev/blob driver linked into the binary (for
// s3://bucket?endpoint=... import gocloud.dev/blob/s3blob). A local directory
// is created if missing.
func Open(ctx context.Context, rawURL string, opts Options) (*Lake, error) {
	u, localDir, err := normalizeURL(rawURL)
	if err != nil {
		return nil, err
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("lake: open %s: %w", redactURL(u), err)
	}
	l := newLake(b, opts)
	l.ownsBucket = true
	l.localDir = localDir
	l.log.Debug("lake opened", "url", redactURL(u))
	return l, nil
}

// OpenBucket wraps an already opened bucket (tests, custom drivers). The
// caller keeps ownership: Close does not close b.
func OpenBucket(b *blob.Bucket, opts Options) *Lake {
	return newLake(b, opts)
}

func newLake(b *blob.Bucket, opts Options) *Lake {
	l := &Lake{bucket: b, log: opts.Logger, rowGroupRows: opts.RowGroupRows, parallelism: opts.Parallelism}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.rowGroupRows <= 0 {
		l.rowGroupRows = DefaultRowGroupRows
	}
	if l.parallelism <= 0 {
		l.parallelism = 2
	}
	l.ingestZstd = newZstdCodec(zstd.SpeedFastest, 2*l.parallelism+2)
	l.compactZstd = newZstdCodec(zstd.SpeedDefault, 2)
	return l
}

// normalizeURL turns a directory or file URL into the fileblob URL we want:
// temp files next to their final name (same filesystem, so the final rename is
// atomic even when the lake is on another mount than $TMPDIR), no .attrs
// sidecars, directory created on demand. Other schemes pass through.
func normalizeURL(raw string) (u string, localDir string, err error) {
	if raw == "" {
		return "", "", errors.New("lake: empty url")
	}
	if !strings.Contains(raw, "://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return "", "", fmt.Errorf("lake: %w", err)
		}
		raw = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	}
	pu, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("lake: parse url: %w", err)
	}
	if pu.Scheme != "file" {
		return raw, "", nil
	}
	q := pu.Query()
	for k, v := range map[string]string{"no_tmp_dir": "true", "metadata": "skip", "create_dir": "true"} {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	pu.RawQuery = q.Encode()
	return pu.String(), filepath.FromSlash(pu.Path), nil
}

func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "<unparseable url>"
	}
	return pu.Redacted()
}

// Close releases the bucket (if Open opened it).
func (l *Lake) Close() error {
	if !l.ownsBucket {
		return nil
	}
	return l.bucket.Close()
}

// Bucket exposes the underlying bucket (read-only use: listing, tests).
func (l *Lake) Bucket() *blob.Bucket { return l.bucket }

// LocalDir is the lake's directory when it is on the local filesystem, else "".
func (l *Lake) LocalDir() string { return l.localDir }

// WriteStats reports what one Write did.
type WriteStats struct {
	Records  int      // records accepted
	Skipped  int      // invalid records skipped (logged)
	Rows     int      // rows across all tables after in-batch dedupe
	Files    []string // keys committed by this call
	Existing []string // keys already present (a redelivered batch): not rewritten
	Bytes    int64    // bytes written
}

// Write routes the rows of recs to (table, dt) partitions by each row's own
// event time, writes one file per partition touched and commits them all
// before returning. When it returns nil every row is durable. Invalid records
// are skipped and logged (a poison record must not wedge the stream).
func (l *Lake) Write(ctx context.Context, recs []yt.Record) error {
	_, err := l.WriteBatch(ctx, recs)
	return err
}

// WriteBatch is Write that also reports what it did.
func (l *Lake) WriteBatch(ctx context.Context, recs []yt.Record) (WriteStats, error) {
	var st WriteStats
	b := newBatch(recs)
	for i := range recs {
		r := &recs[i]
		err := r.Validate()
		if err == nil && r.Kind == yt.KindEvent && r.Event.ObservedAt.IsZero() {
			err = fmt.Errorf("record %q: event without observedAt", r.ID)
		}
		if err != nil {
			st.Skipped++
			l.log.Warn("lake: skipping invalid record", "err", err)
			continue
		}
		st.Records++
		b.add(r)
	}
	jobs := b.jobs(l)
	results := make([]fileResult, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.parallelism)
	for i, job := range jobs {
		g.Go(func() error {
			res, err := job(gctx)
			results[i] = res
			return err
		})
	}
	err := g.Wait()
	b.release() // every job has returned: nothing refers to b's rows
	for _, r := range results {
		if r.key == "" {
			continue
		}
		st.Rows += r.rows
		st.Bytes += r.bytes
		if r.existed {
			st.Existing = append(st.Existing, r.key)
		} else {
			st.Files = append(st.Files, r.key)
		}
	}
	if err != nil {
		return st, fmt.Errorf("lake: write: %w", err)
	}
	l.log.Debug("lake: batch committed", "records", st.Records, "rows", st.Rows, "files", len(st.Files), "existing", len(st.Existing), "bytes", st.Bytes)
	return st, nil
}

// tableRows holds one table's rows of a batch and the UTC day of each
// row's event time (days since 1970-01-01), which picks its partition.
// Rows are appended once and never moved: files gather them by index.
type tableRows[T rowType] struct {
	rows []T
	days []int64
	sums [][sha256.Size]byte // recordSum of each row's record id
}

func (t *tableRows[T]) add(row T, at time.Time, sum [sha256.Size]byte) {
	t.rows = append(t.rows, row)
	t.days = append(t.days, unixDay(at))
	t.sums = append(t.sums, sum)
}

// init makes room for n rows, reusing the slices of a pooled batch when
// they are large enough.
func (t *tableRows[T]) init(n int) {
	if cap(t.rows) < n {
		t.rows, t.days, t.sums = make([]T, 0, n), make([]int64, 0, n), make([][sha256.Size]byte, 0, n)
	}
}

// reset empties t, dropping what its rows point to (the batch's strings).
func (t *tableRows[T]) reset() {
	clear(t.rows)
	t.rows, t.days, t.sums = t.rows[:0], t.days[:0], t.sums[:0]
}

// batch groups converted rows by table (and, through days, by dt).
type batch struct {
	videos       tableRows[VideoRow]
	videoStats   tableRows[VideoStatsRow]
	channels     tableRows[ChannelRow]
	channelStats tableRows[ChannelStatsRow]
	events       tableRows[EventRow]
	sc           scalars
}

// batchPool recycles batches' row slices (~600 bytes per video record)
// between Writes: fewer bytes allocated, fewer GC cycles.
var batchPool sync.Pool

// release returns b to batchPool; nothing of b may be used afterwards.
func (b *batch) release() {
	b.videos.reset()
	b.videoStats.reset()
	b.channels.reset()
	b.channelStats.reset()
	b.events.reset()
	b.sc = scalars{}
	batchPool.Put(b)
}

// newBatch sizes the row slices for recs so appends never reallocate.
func newBatch(recs []yt.Record) *batch {
	var nv, nc, ne int
	for i := range recs {
		switch recs[i].Kind {
		case yt.KindVideo:
			nv++
		case yt.KindChannel:
			nc++
		case yt.KindEvent:
			ne++
		}
	}
	b, _ := batchPool.Get().(*batch)
	if b == nil {
		b = &batch{}
	}
	b.videos.init(nv)
	b.videoStats.init(nv)
	b.channels.init(nc)
	b.channelStats.init(nc)
	b.events.init(ne)
	return b
}

// DT is the partition value for an event time: its UTC date.
func DT(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// unixDay is the UTC day of t, as days since 1970-01-01 (floored).
func unixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// dayDT formats a unixDay as a partition value (same as DT of any instant
// of that day).
func dayDT(d int64) string { return DT(time.Unix(d*86400, 0)) }

func (b *batch) add(r *yt.Record) {
	sum := recordSum(r.ID) // both rows of a record share it
	switch r.Kind {
	case yt.KindVideo:
		v, s := videoRows(r, &b.sc)
		b.videos.add(v, v.FetchedAt, sum)
		b.videoStats.add(s, s.FetchedAt, sum)
	case yt.KindChannel:
		c, s := channelRows(r, &b.sc)
		b.channels.add(c, c.FetchedAt, sum)
		b.channelStats.add(s, s.FetchedAt, sum)
	case yt.KindEvent:
		e := eventRow(r)
		b.events.add(e, e.ObservedAt, sum)
	}
}

type fileJob func(ctx context.Context) (fileResult, error)

func (b *batch) jobs(l *Lake) []fileJob {
	var jobs []fileJob
	jobs = appendPairJobs(jobs, l, TableVideos, &b.videos, TableVideoStats, &b.videoStats)
	jobs = appendPairJobs(jobs, l, TableChannels, &b.channels, TableChannelStats, &b.channelStats)
	jobs = appendPairJobs[EventRow, EventRow](jobs, l, TableEvents, &b.events, "", nil)
	return jobs
}

// appendPairJobs adds one job per (table, dt): each writes one file of
// the rows of that day, sorted by the table key (by index: rows are wide
// structs) without duplicate records. Jobs run in parallel
// (Options.Parallelism). The two tables of a pair (videos/video_stats,
// channels/channel_stats) hold one row per record each, at the same index,
// with equal key values (channel id, entity id, fetched_at, record_id) and
// days, so they share one sort per day. tb == nil: a table alone.
func appendPairJobs[A, B rowType](jobs []fileJob, l *Lake, ta string, a *tableRows[A], tb string, b *tableRows[B]) []fileJob {
	if len(a.rows) == 0 {
		return jobs
	}
	days, parts := dayParts(a.days)
	sorted := make([]func() []int32, len(days))
	for k, part := range parts {
		sorted[k] = sync.OnceValue(func() []int32 { return sortIndex(a.rows, part) })
	}
	for k, d := range days {
		dt := dayDT(d)
		jobs = append(jobs, func(ctx context.Context) (fileResult, error) {
			idx := sorted[k]()
			return writeFile(ctx, l, ta, dt, "", gatherSource(a.rows, idx), fileMetaOfIndex(a.rows, a.sums, idx), nil, nil)
		})
	}
	if b == nil {
		return jobs
	}
	for k, d := range days {
		dt := dayDT(d)
		jobs = append(jobs, func(ctx context.Context) (fileResult, error) {
			idx := sorted[k]()
			return writeFile(ctx, l, tb, dt, "", gatherSource(b.rows, idx), fileMetaOfIndex(b.rows, b.sums, idx), nil, nil)
		})
	}
	return jobs
}

// dayParts buckets row indexes by day (one counting pass), days ascending
// (deterministic order helps logs and tests; it has no semantic weight).
func dayParts(rowDays []int64) ([]int64, [][]int32) {
	count := map[int64]int{}
	for _, d := range rowDays {
		count[d]++
	}
	days := make([]int64, 0, len(count))
	for d := range count {
		days = append(days, d)
	}
	slices.Sort(days)
	idx := make([]int32, len(rowDays))
	at := make(map[int64]int, len(days))
	parts := make([][]int32, len(days))
	off := 0
	for k, d := range days {
		at[d] = off
		parts[k] = idx[off : off+count[d]]
		off += count[d]
	}
	for i, d := range rowDays {
		idx[at[d]] = int32(i)
		at[d]++
	}
	return days, parts
}

// Compile-time guard: the writer's output is a plain io.Writer.
var _ io.Writer = (*blob.Writer)(nil)

// syncDirs fsyncs the directories from a new file's parent up to the lake
// root so the rename that published it survives a power loss. Only for
// local lakes; object stores commit on upload completion.
func (l *Lake) syncDirs(key string) error {
	if l.localDir == "" {
		return nil
	}
	dir := path.Dir(key)
	for {
		if err := durable.SyncDir(filepath.Join(l.localDir, filepath.FromSlash(dir))); err != nil {
			return err
		}
		if dir == "." || dir == "/" {
			return nil
		}
		dir = path.Dir(dir)
	}
}
