package lake

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/tubelake/tubelake/internal/lake/laketest"
	"github.com/tubelake/tubelake/internal/yt"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	day1 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	day2 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
)

func openTestLake(t testing.TB, opts Options) (*Lake, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(context.Background(), "file://"+filepath.ToSlash(dir), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, dir
}

// lakeFiles lists every regular file under dir, relative, slash-separated.
func lakeFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func openParquet(t testing.TB, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pf
}

func TestSchemaGolden(t *testing.T) {
	for _, table := range Tables() {
		t.Run(table, func(t *testing.T) {
			got := Schema(table).String() + "\n"
			path := filepath.Join("testdata", table+".schema.golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("schema of %s changed (evolution rule: add optional columns only; run go test -update if intended)\n got:\n%s\nwant:\n%s", table, got, want)
			}
		})
	}
}

var partRe = regexp.MustCompile(`^(videos|video_stats|channels|channel_stats|events)/dt=(\d{4}-\d{2}-\d{2})/part-\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\.parquet$`)

func TestWriteLayoutAndReadBack(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{RowGroupRows: 50})
	recs := laketest.Mixed(200, day1, day2)
	// Wall clock must not matter: records are from 2026-11-24/25 whatever today is.
	st, err := l.WriteBatch(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != len(recs) || st.Skipped != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Expected rows per (table, dt) from the records themselves.
	want := map[string]int{}
	for _, r := range recs {
		dt := DT(r.Time())
		switch r.Kind {
		case yt.KindVideo:
			want["videos/"+dt]++
			want["video_stats/"+dt]++
		case yt.KindChannel:
			want["channels/"+dt]++
			want["channel_stats/"+dt]++
		case yt.KindEvent:
			want["events/"+dt]++
		}
	}
	files := lakeFiles(t, dir)
	if len(files) != 10 {
		t.Fatalf("want 10 files (5 tables x 2 dates), got %d: %v", len(files), files)
	}
	got := map[string]int{}
	for _, f := range files {
		m := partRe.FindStringSubmatch(f)
		if m == nil {
			t.Fatalf("unexpected file %q (temp or sidecar files must not remain)", f)
		}
		if m[2] != "2026-11-24" && m[2] != "2026-11-25" {
			t.Fatalf("file %s routed to %s, want the records' own dates", f, m[2])
		}
		pf := openParquet(t, filepath.Join(dir, f))
		got[m[1]+"/"+m[2]] += int(pf.NumRows())

		// Codec, timestamps, row groups.
		for _, rg := range pf.Metadata().RowGroups {
			if rg.NumRows > 50 {
				t.Errorf("%s: row group of %d rows, want <= 50", f, rg.NumRows)
			}
			for _, cc := range rg.Columns {
				if cc.MetaData.Codec != format.Zstd {
					t.Errorf("%s: column %v codec %v, want ZSTD", f, cc.MetaData.PathInSchema, cc.MetaData.Codec)
				}
			}
			if len(rg.SortingColumns) == 0 {
				t.Errorf("%s: no sorting columns declared", f)
			}
		}
		nts := 0
		for _, el := range pf.Metadata().Schema {
			if ts, ok := el.LogicalType.Value.(*format.TimestampType); ok {
				nts++
				if _, micros := ts.Unit.Value.(*format.MicroSeconds); !micros || !ts.IsAdjustedToUTC {
					t.Errorf("%s: column %s is %v, want TIMESTAMP(isAdjustedToUTC=true, MICROS)", f, el.Name, ts)
				}
			}
		}
		if nts == 0 {
			t.Errorf("%s: no timestamp column", f)
		}
		// Footer provenance.
		for _, k := range []string{MetaTable, MetaDT, MetaRows, MetaRecordSet, MetaMinTime, MetaMaxTime} {
			if v, ok := pf.Lookup(k); !ok || v == "" {
				t.Errorf("%s: missing metadata %s", f, k)
			}
		}
		if v, _ := pf.Lookup(MetaRows); v != strconv.FormatInt(pf.NumRows(), 10) {
			t.Errorf("%s: %s=%s, file has %d rows", f, MetaRows, v, pf.NumRows())
		}
		if v, _ := pf.Lookup(MetaDT); v != m[2] {
			t.Errorf("%s: %s=%s", f, MetaDT, v)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d rows, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("partitions %v, want %v", got, want)
	}

	// Round trip of the video rows: values, NULLs, microseconds, order.
	var rows []VideoRow
	for _, f := range files {
		if strings.HasPrefix(f, "videos/") {
			rows = append(rows, readAll[VideoRow](t, filepath.Join(dir, f))...)
		}
	}
	byID := map[string]yt.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	for _, row := range rows {
		r, ok := byID[row.RecordID]
		if !ok {
			t.Fatalf("row with unknown record_id %q", row.RecordID)
		}
		v := r.Video
		if !row.FetchedAt.Equal(v.FetchedAt) || row.FetchedAt.Nanosecond()%1000 != 0 || v.FetchedAt.Nanosecond()/1000 == 0 {
			t.Fatalf("fetched_at %v, want %v (microseconds)", row.FetchedAt, v.FetchedAt)
		}
		if row.Title != v.Snippet.Title || row.ID != v.ID || row.ChannelID != v.Snippet.ChannelID || row.Source != "api" || row.SchemaVersion != 1 {
			t.Fatalf("row %+v does not match record %+v", row, v)
		}
		if !slices.Equal(row.Tags, v.Snippet.Tags) && !(len(row.Tags) == 0 && len(v.Snippet.Tags) == 0) {
			t.Fatalf("tags %v, want %v", row.Tags, v.Snippet.Tags)
		}
		if row.DurationSeconds == nil || row.Caption == nil || *row.Caption {
			t.Fatalf("duration_seconds/caption not derived: %+v", row)
		}
	}
	for _, f := range files {
		if !strings.HasPrefix(f, "video_stats/") {
			continue
		}
		stats := readAll[VideoStatsRow](t, filepath.Join(dir, f))
		if !slices.IsSortedFunc(stats, func(a, b VideoStatsRow) int { return cmpVideoStats(&a, &b) }) {
			t.Errorf("%s: rows not sorted by the table key", f)
		}
		for _, s := range stats {
			v := byID[s.RecordID].Video
			if (s.LikeCount == nil) != (v.Statistics.LikeCount == nil) {
				t.Fatalf("like_count %v, want %v: a hidden count must stay NULL", s.LikeCount, v.Statistics.LikeCount)
			}
		}
	}
}

func readAll[T any](t testing.TB, path string) []T {
	t.Helper()
	pf := openParquet(t, path)
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	out := make([]T, pf.NumRows())
	n, err := r.Read(out)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return out[:n]
}

func TestRedeliveredBatchIsNotRewritten(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{})
	recs := laketest.Mixed(40, day1)
	st1, err := l.WriteBatch(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	before := lakeFiles(t, dir)
	// Same batch, shuffled and with an in-batch duplicate: same files.
	again := slices.Clone(recs)
	slices.Reverse(again)
	again = append(again, recs[0])
	st2, err := l.WriteBatch(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.Files) != 0 || len(st2.Existing) != len(st1.Files) {
		t.Fatalf("redelivery wrote %v, existing %v; first write %v", st2.Files, st2.Existing, st1.Files)
	}
	if after := lakeFiles(t, dir); !slices.Equal(before, after) {
		t.Fatalf("files changed: %v -> %v", before, after)
	}
}

func TestInvalidRecordsAreSkipped(t *testing.T) {
	l, dir := openTestLake(t, Options{})
	bad := laketest.Video(1, day1)
	bad.Video.ID = "short"
	noTime := laketest.Event(1, day1)
	noTime.Event.ObservedAt = time.Time{}
	st, err := l.WriteBatch(context.Background(), []yt.Record{bad, laketest.Video(2, day1), {ID: "x", V: 99}, noTime})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 3 || st.Records != 1 || len(lakeFiles(t, dir)) != 2 {
		t.Fatalf("stats %+v files %v", st, lakeFiles(t, dir))
	}
	if err := l.Write(context.Background(), nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

// A write that fails half way must leave nothing under the final name and
// no temp file behind.
func TestAbortedWriteLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{RowGroupRows: 10})
	var rows []VideoRow
	for i := range 100 {
		v, _ := videoRows(ptr(laketest.Video(i, day1)), nil)
		rows = append(rows, v)
	}
	boom := errors.New("boom")
	next := sliceSource(rows)
	calls := 0
	src := func(buf []VideoRow) (int, error) {
		if calls++; calls > 3 { // after a few row groups went to the writer
			return 0, boom
		}
		return next(buf[:10])
	}
	key := "videos/dt=2026-11-24/part-x.parquet"
	_, err := writeFile(ctx, l, TableVideos, "2026-11-24", key, src, nil, nil, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if files := lakeFiles(t, dir); len(files) != 0 {
		t.Fatalf("aborted write left %v", files)
	}
	// Cancelled context: same guarantee.
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	next = sliceSource(rows)
	src = func(buf []VideoRow) (int, error) {
		if calls++; calls == 2 {
			cancel()
		}
		return next(buf[:10])
	}
	if _, err := writeFile(cctx, l, TableVideos, "2026-11-24", key, src, nil, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if files := lakeFiles(t, dir); len(files) != 0 {
		t.Fatalf("cancelled write left %v", files)
	}
}

func ptr[T any](v T) *T { return &v }

func TestOpenPlainDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake", "nested")
	l, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(context.Background(), []yt.Record{laketest.Event(3, day2)}); err != nil {
		t.Fatal(err)
	}
	files := lakeFiles(t, dir)
	if len(files) != 1 || !strings.HasPrefix(files[0], "events/dt=2026-11-25/part-") {
		t.Fatalf("files %v", files)
	}
	if l.LocalDir() != dir {
		t.Fatalf("LocalDir %q, want %q", l.LocalDir(), dir)
	}
}

func TestParseISODuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT4M13S", 4*time.Minute + 13*time.Second, true},
		{"PT1H2M3S", time.Hour + 2*time.Minute + 3*time.Second, true},
		{"PT1H", time.Hour, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"P0D", 0, true},
		{"PT0S", 0, true},
		{"P1W", 7 * 24 * time.Hour, true},
		{"", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"PT4M13", 0, false},
		{"PT13S4M", 0, false},
		{"PT1M1M", 0, false},
		{"P1Y", 0, false},
		{"P1M", 0, false},
		{"4M13S", 0, false},
		{"PT99999999999999999999S", 0, false},
		{"P1D2H", 0, false},
	} {
		got, ok := ParseISODuration(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseISODuration(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT4M13S", "P1DT2H", "PT0S", "P1W", "PT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseISODuration(s)
		if !ok && d != 0 {
			t.Fatalf("%q: not ok but %v", s, d)
		}
		if d < 0 {
			t.Fatalf("%q: negative %v", s, d)
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	l, _ := openTestLake(b, Options{})
	const batch = 5000
	recs := laketest.Mixed(batch*2/3, day1, day2) // ~5000 records
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Shift the batch so every iteration writes new files.
		for j := range recs {
			shiftRecord(&recs[j], time.Duration(i+1)*time.Microsecond)
		}
		if err := l.Write(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}

func shiftRecord(r *yt.Record, d time.Duration) {
	switch {
	case r.Video != nil:
		r.Video.FetchedAt = r.Video.FetchedAt.Add(d)
		*r = yt.NewVideoRecord(r.Source, r.Video)
	case r.Channel != nil:
		r.Channel.FetchedAt = r.Channel.FetchedAt.Add(d)
		*r = yt.NewChannelRecord(r.Source, r.Channel)
	case r.Event != nil:
		r.Event.ObservedAt = r.Event.ObservedAt.Add(d)
		*r = yt.NewEventRecord(r.Source, r.Event)
	}
}

// While a file is being written nothing exists under its final name: the
// bytes go to a temp file in the same directory (so the final rename is
// atomic and never crosses filesystems) whose name readers' *.parquet globs
// never match.
func TestNoPartialFileUnderFinalName(t *testing.T) {
	ctx := context.Background()
	l, dir := openTestLake(t, Options{RowGroupRows: 10})
	var rows []VideoRow
	for i := range 100 {
		v, _ := videoRows(ptr(laketest.Video(i, day1)), nil)
		rows = append(rows, v)
	}
	key := "videos/dt=2026-11-24/part-20261124T000000.000000Z-0000000000000000.parquet"
	final := filepath.Join(dir, filepath.FromSlash(key))
	next := sliceSource(rows)
	calls := 0
	src := func(buf []VideoRow) (int, error) {
		if calls++; calls == 5 {
			if _, err := os.Stat(final); !os.IsNotExist(err) {
				t.Errorf("final name visible mid-write: %v", err)
			}
			tmps, _ := filepath.Glob(final + ".*.tmp")
			if len(tmps) != 1 {
				t.Errorf("want one temp file next to the final name, got %v", tmps)
			}
			if m, _ := filepath.Glob(filepath.Join(filepath.Dir(final), "*.parquet")); len(m) != 0 {
				t.Errorf("*.parquet glob matches %v mid-write", m)
			}
		}
		return next(buf[:10])
	}
	res, err := writeFile(ctx, l, TableVideos, "2026-11-24", key, src, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls < 5 || res.rows != 100 {
		t.Fatalf("calls %d, rows %d", calls, res.rows)
	}
	if files := lakeFiles(t, dir); !slices.Equal(files, []string{key}) {
		t.Fatalf("files %v", files)
	}
	if got := readAll[VideoRow](t, final); len(got) != 100 {
		t.Fatalf("%d rows", len(got))
	}
}

// BenchmarkWriteSmallBatch measures the per-batch overhead (10 files, fsyncs)
// that dominates when the stream delivers small batches.
func BenchmarkWriteSmallBatch(b *testing.B) {
	ctx := context.Background()
	l, _ := openTestLake(b, Options{})
	recs := laketest.Mixed(70, day1, day2) // ~100 records, 10 files
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range recs {
			shiftRecord(&recs[j], time.Duration(i+1)*time.Microsecond)
		}
		if err := l.Write(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}
