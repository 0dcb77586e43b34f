package lake

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob/memblob"

	"github.com/tubelake/tubelake/internal/lake/laketest"
	"github.com/tubelake/tubelake/internal/yt"
)

// partitionRows reads every row of a partition, keyed by record_id, and
// counts the physical rows.
func partitionRows[T rowType](t *testing.T, dir, table, dt string) (map[string]T, int) {
	t.Helper()
	out := map[string]T{}
	total := 0
	files, _ := filepath.Glob(filepath.Join(dir, table, "dt="+dt, "*.parquet"))
	for _, f := range files {
		rows := readAll[T](t, f)
		total += len(rows)
		c := rowCmp[T]()
		if !slices.IsSortedFunc(rows, func(a, b T) int { return c(&a, &b) }) {
			t.Errorf("%s: not sorted", f)
		}
		for i := range rows {
			id, _ := rowMeta(&rows[i])
			if prev, ok := out[id]; ok && !reflect.DeepEqual(prev, rows[i]) {
				t.Fatalf("record %s has two different rows:\n%+v\n%+v", id, prev, rows[i])
			}
			out[id] = rows[i]
		}
	}
	return out, total
}

func TestCompactMergesWithoutLossOrDuplication(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{RowGroupRows: 16})
	const dt = "2026-11-24"
	var all []yt.Record
	for b := range 12 {
		var recs []yt.Record
		for i := range 20 {
			recs = append(recs, laketest.Video(b*20+i, day1.Add(time.Duration(b*20+i)*time.Minute+time.Microsecond)))
		}
		all = append(all, recs...)
		if err := l.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	// A redelivery cut differently: 30 records twice on disk.
	if err := l.Write(ctx, all[5:35]); err != nil {
		t.Fatal(err)
	}
	before, physical := partitionRows[VideoRow](t, dir, TableVideos, dt)
	if len(before) != 240 || physical != 270 {
		t.Fatalf("setup: %d distinct, %d physical", len(before), physical)
	}
	files0, _ := l.Files(ctx, TableVideos, dt)
	backup := t.TempDir()
	for _, f := range files0 {
		copyFile(t, filepath.Join(dir, filepath.FromSlash(f.Key)), filepath.Join(backup, filepath.Base(f.Key)))
	}

	st, err := l.Compact(ctx, TableVideos, dt, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if st.InputFiles != 13 || st.OutputFiles != 1 || st.InputRows != 270 || st.OutputRows != 240 {
		t.Fatalf("stats %+v", st)
	}
	files, _ := l.Files(ctx, TableVideos, dt)
	if len(files) != 1 {
		t.Fatalf("files after compaction: %v", files)
	}
	after, physical := partitionRows[VideoRow](t, dir, TableVideos, dt)
	if physical != 240 || !reflect.DeepEqual(before, after) {
		t.Fatalf("compaction changed the data: %d physical rows", physical)
	}
	pf := openParquet(t, filepath.Join(dir, filepath.FromSlash(files[0].Key)))
	if v, _ := pf.Lookup(MetaCompacted); strings.Count(v, ",") != 12 {
		t.Errorf("%s = %q", MetaCompacted, v)
	}
	if len(pf.RowGroups()) != 15 { // 240 rows / 16
		t.Errorf("%d row groups", len(pf.RowGroups()))
	}
	if names := lakeFiles(t, dir); slices.ContainsFunc(names, func(s string) bool { return strings.HasSuffix(s, ".tmp") }) {
		t.Errorf("temp files left: %v", names)
	}

	// Nothing left to do.
	if st, err := l.Compact(ctx, TableVideos, dt, 64<<20); err != nil || st.InputFiles != 0 {
		t.Fatalf("second compaction: %+v %v", st, err)
	}

	// Crash after the output was committed but before the inputs were
	// deleted: the inputs reappear next to the output. Rows are then all
	// visible twice (same record_id) and the next compaction converges.
	for _, f := range files0 {
		copyFile(t, filepath.Join(backup, filepath.Base(f.Key)), filepath.Join(dir, filepath.FromSlash(f.Key)))
	}
	if _, physical := partitionRows[VideoRow](t, dir, TableVideos, dt); physical != 510 {
		t.Fatalf("overlap state: %d physical rows", physical)
	}
	if _, err := l.Compact(ctx, TableVideos, dt, 64<<20); err != nil {
		t.Fatal(err)
	}
	final, physical := partitionRows[VideoRow](t, dir, TableVideos, dt)
	if physical != 240 || !reflect.DeepEqual(before, final) {
		t.Fatalf("after recovery: %d physical rows, equal=%v", physical, reflect.DeepEqual(before, final))
	}
}

func TestCompactTargetSizeAndAllTables(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{})
	for b := range 6 {
		if err := l.Write(ctx, laketest.Mixed(40, day1.Add(time.Duration(b)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range Tables() {
		dts, err := l.Partitions(ctx, table)
		if err != nil || !slices.Equal(dts, []string{"2026-11-24"}) {
			t.Fatalf("%s partitions %v %v", table, dts, err)
		}
		files, _ := l.Files(ctx, table, dts[0])
		var size int64
		for _, f := range files {
			size += f.Size
		}
		target := size/2 + 1 // about two outputs
		st, err := l.Compact(ctx, table, dts[0], target)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := l.Files(ctx, table, dts[0])
		if st.OutputFiles < 1 || len(after) > 3 || len(after) >= len(files) || st.InputRows != st.OutputRows {
			t.Errorf("%s: %d -> %d files, %+v (target %d of %d bytes)", table, len(files), len(after), st, target, size)
		}
		for _, f := range after {
			if f.Size > target && len(after) > 1 {
				t.Errorf("%s: output %s of %d bytes exceeds target %d", table, f.Key, f.Size, target)
			}
		}
	}
	_ = dir
	if _, err := l.Compact(ctx, "nope", "2026-11-24", 0); err == nil {
		t.Error("unknown table accepted")
	}
	if _, err := l.Compact(ctx, TableVideos, "../x", 0); err == nil {
		t.Error("bad dt accepted")
	}
}

func TestCompactRemovesStaleTempFiles(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{})
	if err := l.Write(ctx, laketest.Mixed(4, day1)); err != nil {
		t.Fatal(err)
	}
	pdir := filepath.Join(dir, "videos", "dt=2026-11-24")
	stale := filepath.Join(pdir, "part-x.parquet.1a2b.tmp")
	fresh := filepath.Join(pdir, "part-y.parquet.3c4d.tmp")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	_ = os.Chtimes(stale, old, old)
	st, err := l.Compact(ctx, TableVideos, "2026-11-24", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.TempRemoved != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale temp file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("fresh temp file (a write in progress) removed")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkCompact(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		l, _ := openTestLake(b, Options{})
		for k := range 20 {
			recs := laketest.Mixed(500, day1.Add(time.Duration(k)*time.Minute))
			if err := l.Write(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		st, err := l.Compact(ctx, TableVideos, "2026-11-24", 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.InputRows), "rows/op")
	}
}

func TestCompactBoundsFanInWithPasses(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{})
	n := maxFanIn + 8
	for b := range n {
		rec := laketest.Video(b, day1.Add(time.Duration(b)*time.Second))
		if err := l.Write(ctx, []yt.Record{rec}); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := partitionRows[VideoRow](t, dir, TableVideos, "2026-11-24")
	st, err := l.Compact(ctx, TableVideos, "2026-11-24", 0)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := l.Files(ctx, TableVideos, "2026-11-24")
	after, physical := partitionRows[VideoRow](t, dir, TableVideos, "2026-11-24")
	if len(files) != 1 || physical != n || !reflect.DeepEqual(before, after) {
		t.Fatalf("files %d, rows %d, stats %+v", len(files), physical, st)
	}
	if st.OutputFiles != 3 { // pass 1: 32 + 8 -> 2, pass 2: 2 -> 1
		t.Errorf("stats %+v", st)
	}
}

// The lake uses blob operations only, so an object store works like a
// directory: exercised here on memblob (no filesystem at all).
func TestWriteAndCompactOnObjectStore(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	l := OpenBucket(b, Options{RowGroupRows: 7})
	recs := laketest.Mixed(60, day1, day2)
	for i := 0; i < len(recs); i += 20 {
		if err := l.Write(ctx, recs[i:min(i+20, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Write(ctx, recs[:30]); err != nil { // overlapping redelivery
		t.Fatal(err)
	}
	total := 0
	for _, table := range Tables() {
		dts, err := l.Partitions(ctx, table)
		if err != nil || len(dts) != 2 {
			t.Fatalf("%s: %v %v", table, dts, err)
		}
		for _, dt := range dts {
			if _, err := l.Compact(ctx, table, dt, 0); err != nil {
				t.Fatal(err)
			}
			files, _ := l.Files(ctx, table, dt)
			if len(files) != 1 {
				t.Fatalf("%s/%s: %d files", table, dt, len(files))
			}
			pf, err := parquet.OpenFile(&blobReaderAt{ctx: ctx, b: b, key: files[0].Key}, files[0].Size)
			if err != nil {
				t.Fatal(err)
			}
			total += int(pf.NumRows())
		}
	}
	// 60 videos -> 2 rows each; 15 channels -> 2 rows each; 15 events.
	if total != 60*2+15*2+15 {
		t.Fatalf("%d rows after compaction", total)
	}
}
