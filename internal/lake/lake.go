package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs and plain directories
	"golang.org/x/sync/errgroup"

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
	b := newBatch()
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

// batch groups converted rows by table and dt.
type batch struct {
	videos       map[string][]VideoRow
	videoStats   map[string][]VideoStatsRow
	channels     map[string][]ChannelRow
	channelStats map[string][]ChannelStatsRow
	events       map[string][]EventRow
}

func newBatch() *batch {
	return &batch{
		videos: map[string][]VideoRow{}, videoStats: map[string][]VideoStatsRow{},
		channels: map[string][]ChannelRow{}, channelStats: map[string][]ChannelStatsRow{},
		events: map[string][]EventRow{},
	}
}

// DT is the partition value for an event time: its UTC date.
func DT(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func (b *batch) add(r *yt.Record) {
	switch r.Kind {
	case yt.KindVideo:
		v, s := videoRows(r)
		dt := DT(v.FetchedAt)
		b.videos[dt] = append(b.videos[dt], v)
		b.videoStats[dt] = append(b.videoStats[dt], s)
	case yt.KindChannel:
		c, s := channelRows(r)
		dt := DT(c.FetchedAt)
		b.channels[dt] = append(b.channels[dt], c)
		b.channelStats[dt] = append(b.channelStats[dt], s)
	case yt.KindEvent:
		e := eventRow(r)
		dt := DT(e.ObservedAt)
		b.events[dt] = append(b.events[dt], e)
	}
}

type fileJob func(ctx context.Context) (fileResult, error)

func (b *batch) jobs(l *Lake) []fileJob {
	var jobs []fileJob
	jobs = appendJobs(jobs, l, TableVideos, b.videos)
	jobs = appendJobs(jobs, l, TableVideoStats, b.videoStats)
	jobs = appendJobs(jobs, l, TableChannels, b.channels)
	jobs = appendJobs(jobs, l, TableChannelStats, b.channelStats)
	jobs = appendJobs(jobs, l, TableEvents, b.events)
	return jobs
}

func appendJobs[T rowType](jobs []fileJob, l *Lake, table string, byDT map[string][]T) []fileJob {
	dts := make([]string, 0, len(byDT))
	for dt := range byDT {
		dts = append(dts, dt)
	}
	// Deterministic order helps logs and tests; it has no semantic weight.
	sortStrings(dts)
	for _, dt := range dts {
		rows := byDT[dt]
		jobs = append(jobs, func(ctx context.Context) (fileResult, error) {
			rows = sortRows(rows)
			return writeFile(ctx, l, table, dt, "", sliceSource(rows), fileMetaOf(rows), nil, nil)
		})
	}
	return jobs
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
		if err := syncDir(filepath.Join(l.localDir, filepath.FromSlash(dir))); err != nil {
			return err
		}
		if dir == "." || dir == "/" {
			return nil
		}
		dir = path.Dir(dir)
	}
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
