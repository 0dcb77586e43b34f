package lake

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// DefaultTargetBytes is the compaction target when none is given.
const DefaultTargetBytes = 256 << 20

// maxFanIn caps the files merged at once: each open input holds one
// decoded row group's pages, so memory grows with the fan-in. Compact makes
// further passes when a partition has more small files than this.
const maxFanIn = 32

// maxPasses bounds the merge passes of one Compact call.
const maxPasses = 4

// staleTempAge is how old a writer's temp file must be before Compact
// removes it: far longer than any write takes.
const staleTempAge = time.Hour

// CompactStats reports what Compact did.
type CompactStats struct {
	InputFiles  int   // files merged (and deleted)
	OutputFiles int   // files written
	InputRows   int64 // rows read (summed over passes: a row merged twice counts twice)
	OutputRows  int64 // rows written: InputRows minus duplicate copies dropped
	InputBytes  int64
	OutputBytes int64
	TempRemoved int // stale temp files of crashed writers removed
}

// FileInfo describes one committed data file.
type FileInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Partitions lists the dt values of a table that have at least one file.
func (l *Lake) Partitions(ctx context.Context, table string) ([]string, error) {
	if _, ok := specs[table]; !ok {
		return nil, fmt.Errorf("lake: unknown table %q", table)
	}
	it := l.bucket.List(&blob.ListOptions{Prefix: table + "/dt=", Delimiter: "/"})
	var out []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lake: list %s: %w", table, err)
		}
		if obj.IsDir {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(obj.Key, table+"/dt="), "/"))
		}
	}
	slices.Sort(out)
	return out, nil
}

// Files lists the committed data files of one partition, by key.
func (l *Lake) Files(ctx context.Context, table, dt string) ([]FileInfo, error) {
	files, _, err := l.listPartition(ctx, table, dt)
	return files, err
}

func (l *Lake) listPartition(ctx context.Context, table, dt string) (files, temps []FileInfo, err error) {
	it := l.bucket.List(&blob.ListOptions{Prefix: partitionPrefix(table, dt)})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("lake: list %s/%s: %w", table, dt, err)
		}
		fi := FileInfo{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime}
		base := path.Base(obj.Key)
		switch {
		case obj.IsDir:
		case strings.HasPrefix(base, partPrefix) && strings.HasSuffix(base, partSuffix):
			files = append(files, fi)
		case strings.HasSuffix(base, ".tmp"):
			temps = append(temps, fi)
		}
	}
	slices.SortFunc(files, func(a, b FileInfo) int { return strings.Compare(a.Key, b.Key) })
	return files, temps, nil
}

// Compact merges the small files (smaller than targetBytes) of partition
// (table, dt) into files of about targetBytes (default 128 MiB when <= 0).
// Every output is committed before any of its inputs is deleted, so a crash
// at any point loses nothing; the dedupe by record_id hides the brief
// overlap. Rows are merged in key order, streaming (bounded memory: one
// chunk per input plus one row group), and duplicate copies of a record
// are dropped. Run one compaction per partition at a time: concurrent ones
// are safe but may write overlapping outputs.
func (l *Lake) Compact(ctx context.Context, table, dt string, targetBytes int64) (CompactStats, error) {
	var st CompactStats
	if _, ok := specs[table]; !ok {
		return st, fmt.Errorf("lake: compact: unknown table %q", table)
	}
	if _, err := time.Parse(time.DateOnly, dt); err != nil {
		return st, fmt.Errorf("lake: compact: bad dt %q: %w", dt, err)
	}
	if targetBytes <= 0 {
		targetBytes = DefaultTargetBytes
	}
	files, temps, err := l.listPartition(ctx, table, dt)
	if err != nil {
		return st, err
	}
	for _, t := range temps {
		if time.Since(t.ModTime) > staleTempAge {
			if err := l.bucket.Delete(ctx, t.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return st, fmt.Errorf("lake: compact: remove stale temp %s: %w", t.Key, err)
			}
			st.TempRemoved++
			l.log.Info("lake: removed stale temp file", "key", t.Key)
		}
	}
	for pass := 0; pass < maxPasses; pass++ {
		if pass > 0 {
			if files, _, err = l.listPartition(ctx, table, dt); err != nil {
				return st, err
			}
		}
		groups := planGroups(files, targetBytes)
		if len(groups) == 0 {
			break
		}
		for _, group := range groups {
			var gs CompactStats
			switch table {
			case TableVideos:
				gs, err = compactGroup[VideoRow](ctx, l, table, dt, group)
			case TableVideoStats:
				gs, err = compactGroup[VideoStatsRow](ctx, l, table, dt, group)
			case TableChannels:
				gs, err = compactGroup[ChannelRow](ctx, l, table, dt, group)
			case TableChannelStats:
				gs, err = compactGroup[ChannelStatsRow](ctx, l, table, dt, group)
			case TableEvents:
				gs, err = compactGroup[EventRow](ctx, l, table, dt, group)
			}
			st.InputFiles += gs.InputFiles
			st.OutputFiles += gs.OutputFiles
			st.InputRows += gs.InputRows
			st.OutputRows += gs.OutputRows
			st.InputBytes += gs.InputBytes
			st.OutputBytes += gs.OutputBytes
			if err != nil {
				return st, fmt.Errorf("lake: compact %s/%s: %w", table, dt, err)
			}
		}
	}
	l.log.Info("lake: compacted", "table", table, "dt", dt, "inputs", st.InputFiles, "outputs", st.OutputFiles,
		"rows_in", st.InputRows, "rows_out", st.OutputRows, "bytes_in", st.InputBytes, "bytes_out", st.OutputBytes)
	return st, nil
}

// planGroups packs the small files, in key order, into groups of at most
// maxFanIn files whose summed size stays within target. Groups of one file
// are left alone.
func planGroups(files []FileInfo, target int64) [][]FileInfo {
	var groups [][]FileInfo
	var cur []FileInfo
	var size int64
	flush := func() {
		if len(cur) > 1 {
			groups = append(groups, cur)
		}
		cur, size = nil, 0
	}
	for _, f := range files {
		if f.Size >= target {
			continue
		}
		if size+f.Size > target || len(cur) == maxFanIn {
			flush()
		}
		cur = append(cur, f)
		size += f.Size
	}
	flush()
	return groups
}

// compactKey names a compaction output: the newest input timestamp and a
// digest of the input keys, so a retried compaction of the same inputs finds
// its own output.
func compactKey(table, dt string, inputs []FileInfo) string {
	h := sha256.New()
	ts := ""
	for _, in := range inputs {
		h.Write([]byte(in.Key + "\n"))
		base := strings.TrimPrefix(path.Base(in.Key), partPrefix)
		if len(base) >= len(fileTimeLayout) {
			if cand := base[:len(fileTimeLayout)]; cand > ts {
				if _, err := time.Parse(fileTimeLayout, cand); err == nil {
					ts = cand
				}
			}
		}
	}
	if ts == "" {
		ts = time.Unix(0, 0).UTC().Format(fileTimeLayout)
	}
	return partitionPrefix(table, dt) + partPrefix + ts + "-" + hex.EncodeToString(h.Sum(nil)[:8]) + partSuffix
}

func compactGroup[T rowType](ctx context.Context, l *Lake, table, dt string, inputs []FileInfo) (st CompactStats, err error) {
	key := compactKey(table, dt, inputs)
	readers := make([]*mergeInput[T], 0, len(inputs))
	defer func() {
		for _, r := range readers {
			_ = r.r.Close()
		}
	}()
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = path.Base(in.Key)
		ra := &blobReaderAt{ctx: ctx, b: l.bucket, key: in.Key}
		pf, err := parquet.OpenFile(ra, in.Size, parquet.ReadBufferSize(64<<10), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
		if err != nil {
			return st, fmt.Errorf("open %s: %w", in.Key, err)
		}
		st.InputRows += pf.NumRows()
		st.InputBytes += in.Size
		readers = append(readers, &mergeInput[T]{r: parquet.NewGenericReader[T](pf), buf: make([]T, 256)})
	}
	m := newMerger(readers)
	// Verified before the commit: an output that exists under this key
	// (written by an earlier, interrupted run over the same inputs, whose
	// names pin their content) accounts for every input row.
	check := func(meta *fileMeta) error {
		if int64(meta.rows)+m.dropped != st.InputRows {
			return fmt.Errorf("merge produced %d rows + %d duplicates dropped, inputs have %d", meta.rows, m.dropped, st.InputRows)
		}
		return nil
	}
	res, err := writeFile(ctx, l, table, dt, key, m.next, nil, map[string]string{MetaCompacted: strings.Join(names, ",")}, check)
	if err != nil {
		return st, err
	}
	if !res.existed {
		st.OutputRows, st.OutputBytes = int64(res.rows), res.bytes
	}
	st.OutputFiles = 1
	for _, r := range readers {
		_ = r.r.Close()
	}
	readers = nil
	for _, in := range inputs {
		if in.Key == key {
			continue
		}
		if err := l.bucket.Delete(ctx, in.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return st, fmt.Errorf("delete %s (output %s is committed; rerun to finish): %w", in.Key, key, err)
		}
		st.InputFiles++
	}
	if err := l.syncDirs(key); err != nil {
		return st, err
	}
	return st, nil
}

// mergeInput is one sorted input of the k-way merge.
type mergeInput[T rowType] struct {
	r      *parquet.GenericReader[T]
	buf    []T
	n, pos int
	eof    bool
}

// fill makes the current row available; false when the input is exhausted.
func (in *mergeInput[T]) fill() (bool, error) {
	for in.pos >= in.n {
		if in.eof {
			return false, nil
		}
		clear(in.buf) // drop references held by reused rows
		n, err := in.r.Read(in.buf)
		in.n, in.pos = n, 0
		if errors.Is(err, io.EOF) {
			in.eof = true
		} else if err != nil {
			return false, err
		}
	}
	return true, nil
}

// merger k-way merges sorted inputs into a row source, dropping rows equal
// (same key, hence same record_id) to the previous one.
type merger[T rowType] struct {
	h       mergeHeap[T]
	last    T
	hasLast bool
	dropped int64
	started bool
	cmp     func(a, b *T) int
}

func newMerger[T rowType](inputs []*mergeInput[T]) *merger[T] {
	c := rowCmp[T]()
	return &merger[T]{h: mergeHeap[T]{cmp: c, items: inputs}, cmp: c}
}

func (m *merger[T]) next(buf []T) (int, error) {
	if !m.started {
		m.started = true
		live := m.h.items[:0]
		for _, in := range m.h.items {
			ok, err := in.fill()
			if err != nil {
				return 0, err
			}
			if ok {
				live = append(live, in)
			}
		}
		m.h.items = live
		heap.Init(&m.h)
	}
	n := 0
	for n < len(buf) && m.h.Len() > 0 {
		in := m.h.items[0]
		row := in.buf[in.pos]
		in.pos++
		if m.hasLast && m.cmp(&row, &m.last) == 0 {
			m.dropped++
		} else {
			buf[n] = row
			n++
			m.last, m.hasLast = row, true
		}
		ok, err := in.fill()
		if err != nil {
			return n, err
		}
		if ok {
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

type mergeHeap[T rowType] struct {
	items []*mergeInput[T]
	cmp   func(a, b *T) int
}

func (h *mergeHeap[T]) Len() int { return len(h.items) }
func (h *mergeHeap[T]) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	return h.cmp(&a.buf[a.pos], &b.buf[b.pos]) < 0
}
func (h *mergeHeap[T]) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *mergeHeap[T]) Push(x any)    { h.items = append(h.items, x.(*mergeInput[T])) }
func (h *mergeHeap[T]) Pop() any {
	old := h.items
	x := old[len(old)-1]
	h.items = old[:len(old)-1]
	return x
}

// blobReaderAt adapts a blob to io.ReaderAt with ranged reads.
type blobReaderAt struct {
	ctx context.Context
	b   *blob.Bucket
	key string
}

func (r *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	rr, err := r.b.NewRangeReader(r.ctx, r.key, off, int64(len(p)), nil)
	if err != nil {
		return 0, err
	}
	defer rr.Close()
	n, err := io.ReadFull(rr, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
