package lakesql

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/lake/laketest"
	"github.com/tubelake/tubelake/internal/yt"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	day1 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	day2 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
)

func writeLake(t testing.TB, dir string, recs []yt.Record) {
	t.Helper()
	l, err := lake.Open(context.Background(), dir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func openDB(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func query(t testing.TB, db *DB, q string) *Result {
	t.Helper()
	r, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func scalar(t testing.TB, db *DB, q string) any {
	t.Helper()
	r := query(t, db, q)
	if len(r.Rows) != 1 || len(r.Rows[0]) != 1 {
		t.Fatalf("%s: want one value, got %v", q, r.Rows)
	}
	return r.Rows[0][0]
}

const countsQuery = `SELECT
 (SELECT count(*) FROM videos) AS videos,
 (SELECT count(*) FROM video_history) AS video_history,
 (SELECT count(*) FROM video_stats) AS video_stats,
 (SELECT count(*) FROM channels) AS channels,
 (SELECT count(*) FROM channel_history) AS channel_history,
 (SELECT count(*) FROM channel_stats) AS channel_stats,
 (SELECT count(*) FROM events) AS events`

func counts(t testing.TB, db *DB) map[string]int64 {
	t.Helper()
	r := query(t, db, countsQuery)
	out := map[string]int64{}
	for i, c := range r.Columns {
		out[c] = r.Rows[0][i].(int64)
	}
	return out
}

func TestEmptyLakeHasTypedEmptyViews(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	for name, n := range counts(t, db) {
		if n != 0 {
			t.Errorf("%s: %d rows in an empty lake", name, n)
		}
	}
	// Columns and types are those a populated view has.
	empty := query(t, db, "SELECT * FROM video_stats")
	// Data written after Open shows up without reopening.
	writeLake(t, dir, laketest.Mixed(8, day1))
	full := query(t, db, "SELECT * FROM video_stats")
	if strings.Join(empty.Columns, ",") != strings.Join(full.Columns, ",") {
		t.Errorf("columns differ:\nempty %v\nfull  %v", empty.Columns, full.Columns)
	}
	if strings.Join(empty.Types, ",") != strings.Join(full.Types, ",") {
		t.Errorf("types differ:\nempty %v\nfull  %v", empty.Types, full.Types)
	}
	if len(full.Rows) != 8 {
		t.Errorf("video_stats has %d rows after writing 8 videos", len(full.Rows))
	}
	// Tables still without files keep working.
	if n := scalar(t, db, "SELECT count(*) FROM events WHERE observed_at > TIMESTAMPTZ '2000-01-01'"); n.(int64) == 0 {
		t.Errorf("events empty")
	}
}

func TestCountsAndIdempotentRewrite(t *testing.T) {
	dir := t.TempDir()
	recs := laketest.Mixed(120, day1, day2)
	writeLake(t, dir, recs)
	db := openDB(t, dir)
	got := counts(t, db)
	want := map[string]int64{
		"videos": 120, "video_history": 120, "video_stats": 120,
		"channels": 30, "channel_history": 30, "channel_stats": 30, "events": 30,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}

	// Same batch again, whole: files are skipped.
	writeLake(t, dir, recs)
	// Same records cut differently (as a redelivery after a crash would):
	// new files that repeat rows, which the views must hide.
	writeLake(t, dir, recs[:50])
	writeLake(t, dir, recs[30:])
	if again := counts(t, db); !equalCounts(again, got) {
		t.Errorf("counts changed after redelivery: %v -> %v", got, again)
	}
	if n := scalar(t, db, "SELECT count(*) FROM read_parquet('"+GlobFor(dir, "videos")+"')"); n.(int64) <= 120 {
		t.Fatalf("test did not create duplicate rows on disk (%d)", n)
	}

	// A later snapshot of one video: videos keeps the newest, history both.
	v := laketest.Video(7, day2.Add(20*time.Hour))
	v.Video.Snippet.Title = "Newest title"
	writeLake(t, dir, []yt.Record{v})
	after := counts(t, db)
	if after["videos"] != 120 || after["video_history"] != 121 || after["video_stats"] != 121 {
		t.Errorf("after new snapshot: %v", after)
	}
	if title := scalar(t, db, "SELECT title FROM videos WHERE id = '"+laketest.VideoID(7)+"'"); title != "Newest title" {
		t.Errorf("latest title %q", title)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestTypesNullsAndMicroseconds(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 25, 13, 14, 15, 123456789, time.UTC)
	v := laketest.Video(4, at) // i%4 == 0: likes hidden; i%5 != 0: has tags
	v.Video.Snippet.PublishedAt = time.Time{}
	c := laketest.Channel(3, at) // i%3 == 0: subscribers hidden
	writeLake(t, dir, []yt.Record{v, c})
	db := openDB(t, dir)

	r := query(t, db, "SELECT fetched_at, like_count, view_count, dt FROM video_stats")
	ts, ok := r.Rows[0][0].(time.Time)
	if !ok {
		t.Fatalf("fetched_at is %T", r.Rows[0][0])
	}
	if !ts.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("fetched_at %v, want %v (microsecond round trip)", ts, at.Truncate(time.Microsecond))
	}
	if r.Rows[0][1] != nil {
		t.Errorf("hidden like_count = %v, want NULL", r.Rows[0][1])
	}
	if r.Rows[0][2] == nil {
		t.Errorf("view_count NULL")
	}
	if r.Types[0] != "TIMESTAMPTZ" || r.Types[3] != "DATE" {
		t.Errorf("types %v, want TIMESTAMPTZ ... DATE", r.Types)
	}
	if got := scalar(t, db, "SELECT epoch_us(fetched_at) FROM videos"); got != at.Truncate(time.Microsecond).UnixMicro() {
		t.Errorf("epoch_us %v, want %d", got, at.UnixMicro())
	}
	if got := scalar(t, db, "SELECT published_at IS NULL AND default_language = 'en' AND len(tags) = 2 FROM videos"); got != true {
		t.Errorf("published_at NULL / default_language / tags: %v", got)
	}
	if got := scalar(t, db, "SELECT subscriber_count IS NULL AND hidden_subscriber_count FROM channel_stats"); got != true {
		t.Errorf("hidden subscriber_count must be NULL: %v", got)
	}
	if got := scalar(t, db, "SELECT strftime(fetched_at, '%Y-%m-%d %H:%M:%S.%f') FROM channels"); got != "2026-11-25 13:14:15.123456" {
		t.Errorf("UTC rendering %v", got)
	}
}

func TestQueryIsReadOnlyAndSandboxed(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, laketest.Mixed(4, day1))
	db := openDB(t, dir)
	for _, q := range []string{
		"CREATE TABLE x AS SELECT 1",
		"COPY (SELECT 1) TO '" + filepath.ToSlash(filepath.Join(dir, "x.csv")) + "'",
		"SET enable_external_access = true",
		"INSTALL httpfs",
		"DROP VIEW videos",
		"SELECT 1; DROP VIEW videos",
	} {
		if _, err := db.Query(context.Background(), q); err == nil {
			t.Errorf("%q: accepted", q)
		}
	}
	if _, err := db.Query(context.Background(), "SELECT * FROM read_csv('/etc/hostname')"); err == nil {
		t.Errorf("read outside the lake allowed")
	}
	if n := scalar(t, db, "SELECT count(*) FROM videos"); n != int64(4) {
		t.Errorf("videos %v", n)
	}
	for _, q := range []string{"EXPLAIN SELECT * FROM videos", "DESCRIBE videos", "SHOW TABLES"} {
		if _, err := db.Query(context.Background(), q); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	if _, err := db.Query(context.Background(), "SELECT nope FROM videos"); err == nil {
		t.Errorf("bad column accepted")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing dir accepted")
	}
	if _, err := Open(context.Background(), "s3://bucket/x"); err == nil {
		t.Error("s3 accepted")
	}
	db, err := Open(context.Background(), "file://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func TestOutputFormatsGolden(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 25, 8, 0, 1, 500000000, time.UTC)
	recs := []yt.Record{laketest.Video(4, at), laketest.Video(11, at.Add(time.Microsecond)), laketest.Channel(3, at), laketest.Event(9, at)}
	writeLake(t, dir, recs)
	db := openDB(t, dir)
	queries := map[string]string{
		"video_stats": "SELECT video_id, channel_id, fetched_at, view_count, like_count, comment_count, dt FROM video_stats ORDER BY video_id",
		"videos":      "SELECT id, title, description, tags, duration, duration_seconds, caption, published_at FROM videos ORDER BY id",
		"mixed":       "SELECT 1::INTEGER AS n, 2.5::DOUBLE AS x, NULL AS nothing, 'a\"b,c' AS quoted, [1, 2] AS list, {'k': 'v'} AS st, 12345678901234567890::HUGEINT AS big, DATE '2026-11-25' AS d, 'ab\\x00'::BLOB AS b, TIMESTAMPTZ '2026-11-25 01:02:03.000004+00' AS ts",
		"empty":       "SELECT event_type, entity_id FROM events WHERE false",
	}
	for name, q := range queries {
		r := query(t, db, q)
		for _, format := range Formats() {
			var b bytes.Buffer
			if err := r.Write(&b, format); err != nil {
				t.Fatalf("%s/%s: %v", name, format, err)
			}
			path := filepath.Join("testdata", name+"."+format+".golden")
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("%s: got\n%s\nwant\n%s", path, b.String(), want)
			}
		}
	}
	var b bytes.Buffer
	if err := query(t, db, "SELECT 1").Write(&b, "xml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestDDLGolden(t *testing.T) {
	for _, engine := range DDLEngines() {
		got, err := DDL(engine, "s3://tubelake-bucket/lake/")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "ddl."+engine+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s changed:\n%s", path, got)
		}
		for _, table := range lake.Tables() {
			for _, c := range lake.Columns(table) {
				if !strings.Contains(got, c.Name) {
					t.Errorf("%s: column %s.%s missing", engine, table, c.Name)
				}
			}
		}
	}
	if _, err := DDL("oracle", "s3://x"); err == nil {
		t.Error("unknown engine accepted")
	}
	if _, err := DDL("athena", "s3://x'; DROP"); err == nil {
		t.Error("quote in location accepted")
	}
}

func TestQueryHonoursContext(t *testing.T) {
	db := openDB(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Query(ctx, "SELECT 1"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestCountsSurviveCompactionAndItsOverlap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	recs := laketest.Mixed(200, day1, day2)
	for i := 0; i < len(recs); i += 25 {
		writeLake(t, dir, recs[i:min(i+25, len(recs))])
	}
	writeLake(t, dir, recs[10:90]) // redelivery with a different cut
	db := openDB(t, dir)
	want := counts(t, db)

	// Keep a copy of the pre-compaction files to recreate the overlap window.
	backup := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "dt=*", "*.parquet"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		backup[f] = b
	}
	l, err := lake.Open(ctx, dir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	compactAll := func() {
		for _, table := range lake.Tables() {
			dts, err := l.Partitions(ctx, table)
			if err != nil {
				t.Fatal(err)
			}
			for _, dt := range dts {
				if _, err := l.Compact(ctx, table, dt, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	compactAll()
	if after, _ := filepath.Glob(filepath.Join(dir, "*", "dt=*", "*.parquet")); len(after) != 10 {
		t.Fatalf("%d files after compaction, want 10", len(after))
	}
	if got := counts(t, db); !equalCounts(got, want) {
		t.Fatalf("after compaction %v, want %v", got, want)
	}
	// The overlap window: inputs still present next to the output.
	for f, b := range backup {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts(t, db); !equalCounts(got, want) {
		t.Fatalf("during overlap %v, want %v", got, want)
	}
	compactAll()
	if got := counts(t, db); !equalCounts(got, want) {
		t.Fatalf("after second compaction %v, want %v", got, want)
	}
}

// FuzzQuery: whatever the input, Query neither panics nor changes the views
// or the lake's files.
func FuzzQuery(f *testing.F) {
	dir := f.TempDir()
	writeLake(f, dir, laketest.Mixed(8, day1))
	db := openDB(f, dir)
	want := counts(f, db)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"))
	for _, s := range []string{
		"SELECT * FROM videos", "DROP VIEW videos", "CREATE VIEW videos AS SELECT 1",
		"COPY videos TO 'x.parquet'", "ATTACH 'x.db'", "SELECT 1; SELECT 2", "PRAGMA threads=1",
		"INSTALL httpfs", "LOAD httpfs", "SET lock_configuration=false", "CALL dbgen(sf=0.01)",
		"SELECT * FROM read_text('/etc/passwd')", "DETACH memory", "USE system", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if r, err := db.Query(context.Background(), q); err == nil {
			var b bytes.Buffer
			for _, format := range Formats() {
				if err := r.Write(&b, format); err != nil {
					t.Fatalf("%q: write %s: %v", q, format, err)
				}
			}
		}
		if got := counts(t, db); !equalCounts(got, want) {
			t.Fatalf("%q changed the views: %v", q, got)
		}
		if now, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*")); len(now) != len(files) {
			t.Fatalf("%q changed the lake: %v", q, now)
		}
	})
}
