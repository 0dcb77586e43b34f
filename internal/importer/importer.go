package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// OnError says what to do with a record that cannot be imported.
type OnError string

const (
	// Skip records the bad line in Stats and goes on with the next record.
	Skip OnError = "skip"
	// Fail stops the import at the first bad line.
	Fail OnError = "fail"
)

// ParseOnError parses the value of a --on-error flag.
func ParseOnError(s string) (OnError, error) {
	switch OnError(s) {
	case Skip, Fail:
		return OnError(s), nil
	}
	return "", fmt.Errorf("invalid on-error mode %q: want %q or %q", s, Skip, Fail)
}

// Format names of the inputs the importer recognises (Stats.Format).
const (
	FormatEmpty       = "empty"
	FormatAPIJSONL    = "youtube-api-jsonl"   // one API resource (or list response) per line
	FormatAPIJSON     = "youtube-api-json"    // a (pretty-printed) API resource, list response or array of them
	FormatFedelux3    = "fedelux3-jsonl"      // fedelux3/Youtube_trending_analysis records
	FormatMixedJSONL  = "mixed-jsonl"         // JSONL whose lines are of several of the shapes above
	FormatRsrishav    = "kaggle-rsrishav-csv" // Kaggle rsrishav trending CSV with header
	FormatRsrishavNH  = "kaggle-rsrishav-csv-noheader"
	FormatDatasnaek   = "kaggle-datasnaek-csv" // original Kaggle datasnaek trending CSV with header
	FormatDatasnaekNH = "kaggle-datasnaek-csv-noheader"
	FormatMostPopular = "mostpopular-csv" // kr-jp-us-mostpopular videos_latest.csv
)

// Options tunes an import. The zero value is usable with Read only if every
// record carries its own observation time.
type Options struct {
	// OnError is Skip or Fail; empty means Fail (never drop data silently).
	OnError OnError
	// ObservedAt is the observation time of records that carry none of their
	// own (API resources without fetchedAt). ReadFile defaults it to the
	// file's modification time.
	ObservedAt time.Time
	// Source is the Record.Source of imported records; default "import".
	Source string
	// BatchSize is the number of records per emit call; default 1000.
	BatchSize int
	// Logger receives warnings about skipped lines; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called periodically (about every MiB and at the
	// end) with the number of input bytes read so far, counted on the file
	// as stored (compressed bytes for .gz), so it can be compared with the
	// file size.
	Progress func(bytesRead int64)
}

// LineError is a bad record: File and Line (1-based physical line where the
// record starts) locate it, Err says what is wrong.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

// MaxErrors is how many LineErrors Stats keeps.
const MaxErrors = 100

// Stats summarises one import.
type Stats struct {
	// Records is the number of records handed to emit successfully.
	Records int64
	// Skipped is the number of bad records (lines) skipped (OnError Skip;
	// with Fail the bad record is returned as the error, not counted here).
	Skipped int64
	// Errors holds the first MaxErrors skipped records.
	Errors []LineError
	// Format is the detected input format (one of the Format constants).
	Format string
	// Bytes is the number of input bytes read, as stored (compressed for .gz).
	Bytes int64
	// TimeShifted counts records whose observation time was moved forward by
	// a few microseconds because an earlier record of the same file had the
	// same entity and time (see the package documentation).
	TimeShifted int64
}

// ErrNoObservedAt is returned when a record has no time of its own and
// Options.ObservedAt is zero.
var ErrNoObservedAt = errors.New("record has no observation time of its own and Options.ObservedAt is not set")

// ReadFile imports one file (gzip-compressed or not; the format is detected
// from the content). A zero opts.ObservedAt defaults to the file's
// modification time. See Read.
func ReadFile(ctx context.Context, path string, opts Options, emit func(ctx context.Context, batch []yt.Record) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	if opts.ObservedAt.IsZero() {
		fi, err := f.Stat()
		if err != nil {
			return Stats{}, fmt.Errorf("import: %w", err)
		}
		opts.ObservedAt = fi.ModTime()
	}
	return Read(ctx, f, path, opts, emit)
}

// Read imports records from r; name is used in errors. Records are handed to
// emit in batches of opts.BatchSize, in input order. It returns a *LineError
// (wrapped) for the first bad record when opts.OnError is Fail; the emit
// error, wrapped, if emit fails; ctx.Err(), wrapped, if ctx is done; and an
// error for input that is unreadable as a whole (bad gzip, unknown format).
func Read(ctx context.Context, r io.Reader, name string, opts Options, emit func(context.Context, []yt.Record) error) (Stats, error) {
	if opts.OnError == "" {
		opts.OnError = Fail
	}
	if _, err := ParseOnError(string(opts.OnError)); err != nil {
		return Stats{}, err
	}
	if opts.Source == "" {
		opts.Source = "import"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cr := &countingReader{r: r, progress: opts.Progress}
	s := &sink{
		ctx: ctx, opts: opts, emit: emit, file: name, log: log,
		seen: make(map[obsKey]int64),
	}
	err := read(ctx, cr, s)
	var ee emitError
	if err == nil || (!errors.As(err, &ee) && ctx.Err() == nil) {
		// Emit what was read, also before a fatal input error (say a
		// truncated gzip stream), like Fail mode does before a bad line.
		if ferr := s.flush(); err == nil {
			err = ferr
		}
	}
	s.stats.Bytes = cr.n
	if opts.Progress != nil {
		opts.Progress(cr.n)
	}
	if s.stats.Format == "" {
		s.stats.Format = FormatEmpty
	}
	if err != nil {
		var le *LineError
		if errors.As(err, &le) { // already says file:line
			return s.stats, fmt.Errorf("import: %w", err)
		}
		return s.stats, fmt.Errorf("import %s: %w", name, err)
	}
	log.Debug("import done", "file", name, "format", s.stats.Format, "records", s.stats.Records, "skipped", s.stats.Skipped)
	return s.stats, nil
}

// read undoes gzip and a BOM, detects the format and runs its parser.
func read(ctx context.Context, cr *countingReader, s *sink) error {
	br := bufio.NewReaderSize(cr, 64<<10)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		in = &gzipErrReader{zr}
	}
	ir := bufio.NewReaderSize(in, 64<<10)
	if bom, _ := ir.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = ir.Discard(3)
	}
	head, err := ir.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	first := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(first) == 0 && len(head) < 4096:
		return nil // empty or blank input
	case first[0] == '{' || first[0] == '[':
		return readJSON(ctx, ir, s)
	default:
		return readCSV(ctx, ir, s)
	}
}

// gzipErrReader labels decompression errors.
type gzipErrReader struct{ r io.Reader }

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("gunzip: %w", err)
	}
	return n, err
}

// countingReader counts input bytes and reports progress about every MiB.
type countingReader struct {
	r        io.Reader
	n, last  int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && c.n-c.last >= 1<<20 {
		c.last = c.n
		c.progress(c.n)
	}
	return n, err
}

// obsKey identifies an observation: the dedupe identity of a record.
type obsKey struct {
	kind yt.Kind
	id   string
	at   int64 // unix micros
}

// sink validates, disambiguates, batches and emits records, and keeps Stats.
type sink struct {
	ctx   context.Context
	opts  Options
	emit  func(context.Context, []yt.Record) error
	file  string
	log   *slog.Logger
	batch []yt.Record
	seen  map[obsKey]int64
	stats Stats
	n     int // input records seen, for periodic ctx checks
}

// observedAt returns own if set, else Options.ObservedAt.
func (s *sink) observedAt(own time.Time) (time.Time, error) {
	if !own.IsZero() {
		return own, nil
	}
	if s.opts.ObservedAt.IsZero() {
		return time.Time{}, ErrNoObservedAt
	}
	return s.opts.ObservedAt, nil
}

// unique moves t forward by whole microseconds until (kind, id, t) is an
// observation not seen before in this input, and marks it seen. seen maps a
// used observation to the next time worth trying, so that many records of one
// entity at one time cost O(1) each.
func (s *sink) unique(k yt.Kind, id string, t time.Time) time.Time {
	base := yt.TruncMicros(t).UnixMicro()
	at := base
	var path []int64 // used times visited, re-pointed past at (path compression)
	for {
		next, used := s.seen[obsKey{k, id, at}]
		if !used {
			break
		}
		path = append(path, at)
		at = next
	}
	s.seen[obsKey{k, id, at}] = at + 1
	for _, p := range path {
		s.seen[obsKey{k, id, p}] = at + 1
	}
	if at != base {
		s.stats.TimeShifted++
	}
	return time.UnixMicro(at).UTC()
}

// addVideo wraps v (FetchedAt already set to the record's own time, or zero)
// in a record and queues it. A returned error is fatal.
func (s *sink) addVideo(line int, v *yt.Video) error {
	at, err := s.observedAt(v.FetchedAt)
	if err != nil {
		return err
	}
	if err := yt.ValidateVideoID(v.ID); err != nil {
		return s.bad(line, err)
	}
	v.FetchedAt = s.unique(yt.KindVideo, v.ID, at)
	return s.add(line, yt.NewVideoRecord(s.opts.Source, v))
}

// addChannel is addVideo for channels.
func (s *sink) addChannel(line int, c *yt.Channel) error {
	at, err := s.observedAt(c.FetchedAt)
	if err != nil {
		return err
	}
	if err := yt.ValidateChannelID(c.ID); err != nil {
		return s.bad(line, err)
	}
	c.FetchedAt = s.unique(yt.KindChannel, c.ID, at)
	return s.add(line, yt.NewChannelRecord(s.opts.Source, c))
}

func (s *sink) add(line int, r yt.Record) error {
	if err := r.Validate(); err != nil {
		return s.bad(line, err)
	}
	s.batch = append(s.batch, r)
	if len(s.batch) >= s.opts.BatchSize {
		return s.flush()
	}
	return nil
}

// bad records a bad record. In Fail mode it flushes the valid records read
// before it and returns the *LineError; in Skip mode it returns nil.
func (s *sink) bad(line int, err error) error {
	le := LineError{File: s.file, Line: line, Err: err}
	if s.opts.OnError == Fail { // not skipped: returned, Stats stay as they are
		if ferr := s.flush(); ferr != nil {
			return ferr
		}
		return &le
	}
	s.stats.Skipped++
	if len(s.stats.Errors) < MaxErrors {
		s.stats.Errors = append(s.stats.Errors, le)
		s.log.Warn("import: skipping bad record", "file", s.file, "line", line, "err", err)
	} else {
		s.log.Debug("import: skipping bad record", "file", s.file, "line", line, "err", err)
	}
	return nil
}

func (s *sink) flush() error {
	if len(s.batch) == 0 {
		return nil
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := s.emit(s.ctx, s.batch); err != nil {
		return emitError{err}
	}
	s.stats.Records += int64(len(s.batch))
	s.batch = make([]yt.Record, 0, min(s.opts.BatchSize, 4096))
	return nil
}

// step is called once per input record; it checks ctx now and then.
func (s *sink) step() error {
	s.n++
	if s.n%256 == 0 {
		return s.ctx.Err()
	}
	return nil
}

// emitError is an error returned by the emit function.
type emitError struct{ err error }

func (e emitError) Error() string { return "emit: " + e.err.Error() }
func (e emitError) Unwrap() error { return e.err }

// setFormat records the detected format; JSONL mixing shapes becomes mixed.
func (s *sink) setFormat(f string) {
	switch s.stats.Format {
	case "":
		s.stats.Format = f
	case f, FormatMixedJSONL:
	default:
		s.stats.Format = FormatMixedJSONL
	}
}
