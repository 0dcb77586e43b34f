package lakesql

import (
	"context"
	"testing"

	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/lake/laketest"
)

// TestQueryS3Lake writes and compacts a lake on an in-process S3 server and
// queries it through a local mirror.
func TestQueryS3Lake(t *testing.T) {
	ctx := context.Background()
	u := laketest.FakeS3(t, "lake")
	l, err := lake.Open(ctx, u, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d1 := laketest.Mixed(40, day1, day2)
	if err := l.Write(ctx, d1); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(ctx, d1[:25]); err != nil { // a redelivery with another cut
		t.Fatal(err)
	}
	cache := t.TempDir()
	db, st, err := OpenURL(ctx, u, cache)
	if err != nil {
		t.Fatal(err)
	}
	want := counts(t, db)
	db.Close()
	if st.Downloaded == 0 || want["video_stats"] != 40 {
		t.Fatalf("mirror %+v counts %v", st, want)
	}
	for _, table := range lake.Tables() {
		dts, _ := l.Partitions(ctx, table)
		for _, dt := range dts {
			if _, err := l.Compact(ctx, table, dt, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	db, st, err = OpenURL(ctx, u, cache)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if st.Removed == 0 {
		t.Fatalf("second mirror removed nothing after compaction: %+v", st)
	}
	if got := counts(t, db); !equalCounts(got, want) {
		t.Fatalf("counts after compaction %v, before %v", got, want)
	}
}
