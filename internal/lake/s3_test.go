package lake

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/tubelake/tubelake/internal/lake/laketest"
)

// TestS3EndToEnd writes, redelivers, checkpoints, compacts and reads back
// a lake on an S3-protocol server through s3blob, then mirrors it locally.
func TestS3EndToEnd(t *testing.T) {
	ctx := context.Background()
	u := laketest.FakeS3(t, "tubelake-test")
	l, err := Open(ctx, u+"&prefix=lake/", Options{RowGroupRows: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs := laketest.Mixed(60, day1, day2)
	for i := 0; i < len(recs); i += 20 {
		if err := l.Write(ctx, recs[i:min(i+20, len(recs))]); err != nil {
			t.Fatal(err)
		}
		if err := l.WriteCheckpoint(ctx, Checkpoint{Consumer: "lake", Engine: "kafka", Stream: "kafka://x", Seq: uint64(min(i+20, len(recs)))}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := l.WriteBatch(ctx, recs[:20]) // an unchanged redelivered batch
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 0 || len(st.Existing) == 0 {
		t.Fatalf("redelivered batch rewrote %d files (existing %d)", len(st.Files), len(st.Existing))
	}
	if err := l.Write(ctx, recs[10:30]); err != nil { // a different cut: overlapping rows
		t.Fatal(err)
	}
	cp, ok, err := l.ReadCheckpoint(ctx, "lake")
	if err != nil || !ok || cp.Seq != uint64(len(recs)) || cp.Engine != "kafka" {
		t.Fatalf("checkpoint %+v %v %v", cp, ok, err)
	}
	total := 0
	for _, table := range Tables() {
		dts, err := l.Partitions(ctx, table)
		if err != nil || len(dts) != 2 {
			t.Fatalf("%s: %v %v", table, dts, err)
		}
		for _, dt := range dts {
			before, _ := l.Files(ctx, table, dt)
			if _, err := l.Compact(ctx, table, dt, 0); err != nil {
				t.Fatal(err)
			}
			files, _ := l.Files(ctx, table, dt)
			if len(before) < 2 || len(files) != 1 {
				t.Fatalf("%s/%s: %d files -> %d", table, dt, len(before), len(files))
			}
			pf, err := parquet.OpenFile(&blobReaderAt{ctx: ctx, b: l.Bucket(), key: files[0].Key}, files[0].Size)
			if err != nil {
				t.Fatal(err)
			}
			total += int(pf.NumRows())
		}
	}
	// 60 videos (2 rows each), 15 channels (2 rows), 15 events; the
	// overlapping cut's copies were dropped by compaction.
	if want := 60*2 + 15*2 + 15; total != want {
		t.Fatalf("%d rows after compaction, want %d", total, want)
	}

	local := t.TempDir()
	ms, err := l.Mirror(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	if ms.Files != 10 || ms.Downloaded != 10 {
		t.Fatalf("mirror %+v", ms)
	}
	stale := filepath.Join(local, TableVideos, "dt=2026-11-24", "part-old.parquet")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err = l.Mirror(ctx, local)
	if err != nil || ms.Downloaded != 0 || ms.Removed != 1 {
		t.Fatalf("second mirror %+v %v", ms, err)
	}
	rows := 0
	for _, f := range lakeFiles(t, local) {
		rows += int(openParquet(t, filepath.Join(local, f)).NumRows())
	}
	if rows != total {
		t.Fatalf("mirror holds %d rows, lake %d", rows, total)
	}
}
