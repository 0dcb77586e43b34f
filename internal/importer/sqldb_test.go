package importer

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

func TestParseMapping(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		want    map[string]string
	}{
		{in: "id=video_id,title=title, view_count = views", want: map[string]string{"id": "video_id", "title": "title", "view_count": "views"}},
		{in: "id,title", want: map[string]string{"id": "id", "title": "title"}},
		{in: "title=t", err: "id field"},
		{in: "id=v,colour=c", err: "unknown field"},
		{in: "id=v;drop table x", err: "not a plain column"},
		{in: "id=a,id=b", err: "mapped twice"},
	} {
		got, err := ParseMapping(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDBTime(t *testing.T) {
	want := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, s := range []string{"2026-03-04T05:06:07.123456Z", "2026-03-04 05:06:07.123456", "2026-03-04 05:06:07.123456 +0000 UTC", "2026-03-04 07:06:07.123456+02"} {
		got, err := parseDBTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", s, got, err)
		}
	}
	if _, err := parseDBTime("yesterday"); err == nil {
		t.Error("no error for yesterday")
	}
}

func TestOpenSQLRejectsUnknownScheme(t *testing.T) {
	_, err := ReadSQL(context.Background(), SQLSource{URL: "oracle://u:secret@h/db", Table: "t", Mapping: map[string]string{"id": "id"}}, Options{}, nil, nil)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v", err)
	}
}

// testDB runs against the MariaDB / PostgreSQL that .ci/deps/20-databases.sh
// starts; without its environment variables the test skips.
func testDB(t *testing.T, env, driverURL string, create, insert []string) {
	u := os.Getenv(env)
	if u == "" {
		t.Skipf("%s is not set: run .ci/deps/20-databases.sh (MariaDB/PostgreSQL on 127.0.0.1) to enable", env)
	}
	db, dialect, err := openSQL(u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	table := fmt.Sprintf("tl_import_%d", time.Now().UnixNano()%1e9)
	exec := func(db *sql.DB, q string) {
		if _, err := db.ExecContext(ctx, strings.ReplaceAll(q, "$T", table)); err != nil {
			t.Fatalf("%s: %s: %v", dialect, q, err)
		}
	}
	for _, q := range create {
		exec(db, q)
	}
	defer exec(db, "DROP TABLE $T")
	for _, q := range insert {
		exec(db, q)
	}
	mapping, err := ParseMapping("id=video_id,title=video_title,channel_id=chan,view_count=views,like_count=likes,published_at=published,fetched_at=seen_at,tags=tags")
	if err != nil {
		t.Fatal(err)
	}
	var got []yt.Record
	var totalRows int64
	var progress int64
	st, err := ReadSQL(ctx, SQLSource{URL: u, Table: table, Mapping: mapping}, Options{OnError: Skip, BatchSize: 2, Progress: func(n int64) { progress = n }},
		func(n int64) { totalRows = n },
		func(_ context.Context, b []yt.Record) error { got = append(got, b...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if totalRows != 4 || progress != 4 || st.Records != 3 || st.Skipped != 1 || len(got) != 3 {
		t.Fatalf("total %d progress %d stats %+v records %d", totalRows, progress, st, len(got))
	}
	if st.Errors[0].Line != 3 || !strings.Contains(st.Errors[0].Error(), "invalid video id") {
		t.Errorf("bad row reported as %v", st.Errors[0])
	}
	byID := map[string]*yt.Video{}
	for _, r := range got {
		byID[r.Video.ID] = r.Video
	}
	v := byID["dQw4w9WgXcQ"]
	if v == nil || v.Snippet.Title != "Never 초등영어" || *v.Statistics.ViewCount != 1500000000 || v.Statistics.LikeCount != nil ||
		!v.Snippet.PublishedAt.Equal(time.Date(2009, 10, 25, 6, 57, 33, 0, time.UTC)) ||
		!v.FetchedAt.Equal(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) || len(v.Snippet.Tags) != 2 ||
		v.Snippet.ChannelID != "UCuAXFkgsw1L7xaCfnd5JJOw" {
		t.Errorf("mapped video %+v", v)
	}
	// A query source with the same mapping.
	got = nil
	st, err = ReadSQL(ctx, SQLSource{URL: u, Query: "SELECT * FROM " + table + " WHERE views > 10", Mapping: mapping}, Options{OnError: Skip},
		nil, func(_ context.Context, b []yt.Record) error { got = append(got, b...); return nil })
	if err != nil || st.Records != 2 {
		t.Fatalf("query import: %+v %v", st, err)
	}
}

var dbRows = []string{
	`INSERT INTO $T VALUES ('dQw4w9WgXcQ', 'Never 초등영어', 'UCuAXFkgsw1L7xaCfnd5JJOw', 1500000000, NULL, '2009-10-25 06:57:33', '2026-11-01 12:00:00', 'music|80s')`,
	`INSERT INTO $T VALUES ('9bZkp7q19f0', 'Gangnam', 'UCrDkAvwZum-UTjHmzDI2iIw', 5000000000, 30000000, '2012-07-15 07:46:32', '2026-11-01 12:00:00', NULL)`,
	`INSERT INTO $T VALUES ('bad id!', 'Broken', NULL, 1, NULL, NULL, '2026-11-01 12:00:00', NULL)`,
	`INSERT INTO $T VALUES ('kJQP7kiw5Fk', 'Despacito', NULL, 5, 1, '2017-01-12 00:00:00', '2026-11-01 12:00:00', '')`,
}

func TestImportFromMariaDB(t *testing.T) {
	testDB(t, "TUBELAKE_TEST_MYSQL_URL", "mysql", []string{
		`CREATE TABLE $T (video_id VARCHAR(32), video_title TEXT CHARACTER SET utf8mb4, chan VARCHAR(64), views BIGINT, likes BIGINT, published DATETIME, seen_at DATETIME(6), tags TEXT)`,
	}, dbRows)
}

func TestImportFromPostgreSQL(t *testing.T) {
	testDB(t, "TUBELAKE_TEST_POSTGRES_URL", "postgres", []string{
		`CREATE TABLE $T (video_id TEXT, video_title TEXT, chan TEXT, views BIGINT, likes BIGINT, published TIMESTAMPTZ, seen_at TIMESTAMP, tags TEXT)`,
	}, dbRows)
}
