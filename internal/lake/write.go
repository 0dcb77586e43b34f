package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob"

	"github.com/tubelake/tubelake/internal/yt"
)

// Key-value metadata written in every file footer.
const (
	MetaTable      = "tubelake.table"
	MetaDT         = "tubelake.dt"
	MetaRows       = "tubelake.rows"
	MetaRecordSet  = "tubelake.record_set" // XOR of sha256(record_id): order-independent digest of the rows' ids
	MetaMinRecord  = "tubelake.min_record_id"
	MetaMaxRecord  = "tubelake.max_record_id"
	MetaMinTime    = "tubelake.min_time" // RFC 3339, microseconds, UTC
	MetaMaxTime    = "tubelake.max_time"
	MetaWriter     = "tubelake.writer"
	MetaSchema     = "tubelake.schema_version" // the lake's SchemaVersion the file was written with
	MetaCompacted  = "tubelake.compacted_from" // input file names, comma separated
	writerVersion  = "lake/1"
	contentType    = "application/vnd.apache.parquet"
	partPrefix     = "part-"
	partSuffix     = ".parquet"
	fileTimeLayout = "20060102T150405.000000Z"
)

// fileResult describes one committed file.
type fileResult struct {
	key     string
	rows    int
	bytes   int64
	existed bool
}

// fileMeta accumulates the footer metadata while rows stream through.
type fileMeta struct {
	rows               int
	set                [sha256.Size]byte
	minID, maxID       string
	minTime, maxTime   time.Time
	haveTime, haveIDID bool
}

func (m *fileMeta) add(id string, at time.Time) {
	m.addSum(id, recordSum(id), at)
}

// recordSum is sha256(record id), the term of tubelake.record_set.
func recordSum(id string) [sha256.Size]byte {
	var buf [128]byte // record ids are short: hash them without an allocation
	return sha256.Sum256(append(buf[:0], id...))
}

// addSum is add with the record id's recordSum already computed.
func (m *fileMeta) addSum(id string, h [sha256.Size]byte, at time.Time) {
	m.rows++
	for i := range h {
		m.set[i] ^= h[i]
	}
	if !m.haveIDID || id < m.minID {
		m.minID = id
	}
	if !m.haveIDID || id > m.maxID {
		m.maxID = id
	}
	m.haveIDID = true
	if !m.haveTime || at.Before(m.minTime) {
		m.minTime = at
	}
	if !m.haveTime || at.After(m.maxTime) {
		m.maxTime = at
	}
	m.haveTime = true
}

// fileMetaOfIndex is the metadata of the rows idx selects; sums[i] is
// recordSum of rows[i]'s record id.
func fileMetaOfIndex[T rowType](rows []T, sums [][sha256.Size]byte, idx []int32) *fileMeta {
	m := &fileMeta{}
	for _, i := range idx {
		id, at := rowMeta(&rows[i])
		m.addSum(id, sums[i], at)
	}
	return m
}

// partitionPrefix is "<table>/dt=<dt>/".
func partitionPrefix(table, dt string) string { return table + "/dt=" + dt + "/" }

// batchKey names a file written by Write: part-<max event time>-<digest of
// its record ids>.parquet. The name is a pure function of the rows, so a
// redelivered batch maps to the same key and is not written twice.
func batchKey(table, dt string, m *fileMeta) string {
	return partitionPrefix(table, dt) + partPrefix + m.maxTime.UTC().Format(fileTimeLayout) + "-" +
		hex.EncodeToString(m.set[:8]) + partSuffix
}

// sliceSource streams rows from memory in row-group sized chunks.
func sliceSource[T rowType](rows []T) func(buf []T) (int, error) {
	return func(buf []T) (int, error) {
		if len(rows) == 0 {
			return 0, io.EOF
		}
		n := copy(buf, rows)
		rows = rows[n:]
		return n, nil
	}
}

func writerOptions(l *Lake, spec tableSpec, codec *zstdCodec) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		spec.schema,
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(int64(l.rowGroupRows)),
		// V1 data pages: readable by every engine we target (Athena, Trino,
		// Spark, DuckDB); some older readers mishandle V2.
		parquet.DataPageVersion(1),
		// PLAIN (not parquet-go's DELTA_LENGTH_BYTE_ARRAY default) for the
		// non-dictionary strings: older Spark/Presto readers lack delta
		// decoders with V1 pages, and zstd recovers the difference.
		parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain),
		parquet.SortingWriterConfig(parquet.SortingColumns(spec.sorting...)),
		parquet.CreatedBy("tubelake", writerVersion, ""),
	}
	for _, c := range spec.noStats {
		opts = append(opts, parquet.SkipPageBounds(c))
	}
	return opts
}

// gatherSource streams rows[idx[0]], rows[idx[1]], ... in row-group sized
// chunks: each row is copied once, into the writer's buffer.
func gatherSource[T rowType](rows []T, idx []int32) func(buf []T) (int, error) {
	return func(buf []T) (int, error) {
		if len(idx) == 0 {
			return 0, io.EOF
		}
		n := min(len(buf), len(idx))
		for k, i := range idx[:n] {
			buf[k] = rows[i]
		}
		idx = idx[n:]
		return n, nil
	}
}

// writeFile streams rows from src into a new Parquet object at key and
// commits it. Nothing is visible under key until the object is complete:
// fileblob writes a temp file next to it and renames on Close (after we fsync
// it), object stores publish on upload completion; on any error the upload
// is aborted by cancelling its context. If key already exists the write is
// skipped: keys are derived from content, so the existing object already
// holds these rows (meta, when given, supplies the row count to report).
// check, when given, runs after the last row and before the commit: an
// error aborts the write, so a committed file has always passed it.
func writeFile[T rowType](ctx context.Context, l *Lake, table, dt, key string,
	src func(buf []T) (int, error), known *fileMeta, extra map[string]string,
	check func(*fileMeta) error) (res fileResult, err error) {
	spec := specs[table]
	if key == "" {
		key = batchKey(table, dt, known)
	}
	res.key = key
	exists, err := l.bucket.Exists(ctx, key)
	if err != nil {
		return res, fmt.Errorf("%s: %w", key, err)
	}
	if exists {
		res.existed = true
		if known != nil {
			res.rows = known.rows
		}
		l.log.Debug("lake: file already committed, skipping", "key", key)
		return res, nil
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var osFile *os.File
	w, err := l.bucket.NewWriter(wctx, key, &blob.WriterOptions{
		ContentType: contentType,
		BeforeWrite: func(as func(any) bool) error {
			as(&osFile) // fileblob: lets us fsync before the rename
			return nil
		},
	})
	if err != nil {
		return res, fmt.Errorf("%s: %w", key, err)
	}
	cw := &countingWriter{w: w}
	abort := func(cause error) (fileResult, error) {
		cancel()
		_ = w.Close() // cancelled: discards the temp file / aborts the upload
		return res, fmt.Errorf("%s: %w", key, cause)
	}
	// Files of Write (known metadata) are rewritten by compaction: they get
	// the cheapest zstd level; compaction output the default one.
	codec := l.compactZstd
	if known != nil {
		codec = l.ingestZstd
	}
	pw := parquet.NewGenericWriter[T](cw, writerOptions(l, spec, codec)...)
	// A caller that knows the rows' metadata (Write: it named the file
	// after it) saves hashing every record id a second time.
	meta, counted := known, known != nil
	if !counted {
		meta = &fileMeta{}
	}
	buf := make([]T, min(l.rowGroupRows, 4096))
	for {
		n, rerr := src(buf)
		if n > 0 {
			if !counted {
				for i := range buf[:n] {
					meta.add(rowMeta(&buf[i]))
				}
			}
			if _, err := pw.Write(buf[:n]); err != nil {
				return abort(err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return abort(rerr)
		}
		if err := ctx.Err(); err != nil {
			return abort(err)
		}
	}
	if meta.rows == 0 {
		return abort(errors.New("no rows"))
	}
	if check != nil {
		if err := check(meta); err != nil {
			return abort(err)
		}
	}
	for k, v := range metaKV(table, dt, meta) {
		pw.SetKeyValueMetadata(k, v)
	}
	for k, v := range extra {
		pw.SetKeyValueMetadata(k, v)
	}
	if err := pw.Close(); err != nil {
		return abort(err)
	}
	if osFile != nil {
		if err := osFile.Sync(); err != nil {
			return abort(fmt.Errorf("fsync: %w", err))
		}
	}
	if err := w.Close(); err != nil {
		return res, fmt.Errorf("commit %s: %w", key, err)
	}
	if err := l.syncDirs(key); err != nil {
		return res, fmt.Errorf("commit %s: %w", key, err)
	}
	res.rows, res.bytes = meta.rows, cw.n
	return res, nil
}

func metaKV(table, dt string, m *fileMeta) map[string]string {
	return map[string]string{
		MetaTable:     table,
		MetaDT:        dt,
		MetaRows:      strconv.Itoa(m.rows),
		MetaRecordSet: hex.EncodeToString(m.set[:]),
		MetaMinRecord: m.minID,
		MetaMaxRecord: m.maxID,
		MetaMinTime:   m.minTime.UTC().Format(time.RFC3339Nano),
		MetaMaxTime:   m.maxTime.UTC().Format(time.RFC3339Nano),
		MetaWriter:    writerVersion + " schema_version=" + strconv.Itoa(yt.SchemaVersion),
		MetaSchema:    strconv.Itoa(SchemaVersion),
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sortStrings(s []string) { slices.Sort(s) }
