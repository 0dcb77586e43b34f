package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lake/laketest"
)

// TestRebuildIndexFromS3: with the lake in an object store (gofakes3 on
// loopback), RebuildIndex mirrors it and rebuilds the same index as the
// one that applied the stream, with the lake's checkpoint.
func TestRebuildIndexFromS3(t *testing.T) {
	ctx := context.Background()
	lakeURL := laketest.FakeS3(t, "lake")
	dir := t.TempDir()
	n, err := Open(ctx, Config{DataDir: dir, LakeURL: lakeURL, BatchSize: 500, MaxWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	recs := rebuildRecords()
	ingest(ctx, t, n, recs)
	want := n.Index.Stats()
	wantRes, err := n.Index.Search(ctx, index.Query{Q: "초등영어", Sort: index.SortViews, ExactTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	cache := filepath.Join(t.TempDir(), "mirror")
	st, err := RebuildIndex(ctx, RebuildOptions{DataDir: dir, LakeURL: lakeURL, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	got, err := index.Open(filepath.Join(dir, "index"), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	gs := got.Stats()
	res, err := got.Search(ctx, index.Query{Q: "초등영어", Sort: index.SortViews, ExactTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkpoint != want.Checkpoint || gs.Docs != want.Docs || gs.Grams != want.Grams || gs.Channels != want.Channels ||
		res.Total != wantRes.Total || len(res.Items) == 0 || res.Items[0].ID != wantRes.Items[0].ID || res.Items[0].ViewCount != wantRes.Items[0].ViewCount {
		t.Fatalf("rebuilt from S3: %+v, %d docs, %d grams, %d channels, 초등영어 %d; want checkpoint %d, %d, %d, %d, %d",
			st, gs.Docs, gs.Grams, gs.Channels, res.Total, want.Checkpoint, want.Docs, want.Grams, want.Channels, wantRes.Total)
	}
}
