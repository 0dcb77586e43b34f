package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/yt"
)

// rebuildRecords: video snapshots (several per video, with statistics),
// channel snapshots that rename channels, text events, a tombstone and a
// revival, milestones.
func rebuildRecords() []yt.Record {
	var recs []yt.Record
	for i := range 3000 {
		recs = append(recs, crashRecord(i))
	}
	at := benchBase.Add(10 * 24 * time.Hour)
	recs = append(recs,
		yt.NewEventRecord("test", &yt.Event{Type: yt.EventTitleChanged, EntityKind: yt.KindVideo, EntityID: "v" + encodeID(5, 10), New: "바뀐 제목 초등영어", ObservedAt: at}),
		yt.NewEventRecord("test", &yt.Event{Type: yt.EventTagsChanged, EntityKind: yt.KindVideo, EntityID: "v" + encodeID(6, 10), New: `["새 태그","tag two"]`, ObservedAt: at}),
		yt.NewEventRecord("test", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: "v" + encodeID(11, 10), ObservedAt: at}),
		yt.NewEventRecord("test", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: "v" + encodeID(8, 10), ObservedAt: at}),
	)
	revived := SyntheticVideo(8, crashRecords, crashDays)
	revived.Video.FetchedAt = at.Add(time.Hour)
	revived = yt.NewVideoRecord("test", revived.Video)
	return append(recs, revived)
}

// TestRebuildIndex: an index rebuilt from the lake by RebuildIndex holds
// exactly what the index that applied the stream held (every video,
// channel and search), continues after the lake's checkpoint, and the
// pipeline runs on it.
func TestRebuildIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := Open(ctx, Config{DataDir: dir, BatchSize: 500, MaxWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	recs := rebuildRecords()
	ingest(ctx, t, n, recs)
	n.Close()

	type state struct {
		videos   map[string]index.VideoDoc
		channels map[string]yt.Channel
		searches map[string][]string
		stats    index.Stats
	}
	capture := func(ix *index.Index) state {
		s := state{videos: map[string]index.VideoDoc{}, channels: map[string]yt.Channel{}, searches: map[string][]string{}, stats: ix.Stats()}
		for _, r := range recs {
			switch r.Kind {
			case yt.KindVideo:
				if d, ok := ix.VideoDoc(r.Video.ID); ok {
					s.videos[r.Video.ID] = d
				}
			case yt.KindChannel:
				if c, ok := ix.Channel(r.Channel.ID); ok {
					s.channels[r.Channel.ID] = c
				}
			}
		}
		for _, q := range []string{"초등영어", "lesson", "바뀐 제목", "새 태그", "channel 7", "synthetic video 8"} {
			for _, sort := range []index.Sort{index.SortViews, index.SortRecent, index.SortRelevance} {
				res, err := ix.Search(ctx, index.Query{Q: q, Sort: sort, In: []index.Field{index.FieldTitle, index.FieldTags, index.FieldChannel}, ExactTotal: true})
				if err != nil {
					t.Fatal(err)
				}
				key := fmt.Sprintf("%s/%s", q, sort)
				s.searches[key] = append([]string{fmt.Sprint(res.Total)}, hitIDs(res)...)
			}
		}
		return s
	}
	live, err := index.Open(filepath.Join(dir, "index"), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := capture(live)
	live.Close()
	_, tombstoned := want.videos["v"+encodeID(11, 10)]
	_, revived := want.videos["v"+encodeID(8, 10)]
	if len(want.videos) == 0 || len(want.channels) == 0 || want.searches["바뀐 제목/views"][0] != "1" || tombstoned || !revived {
		t.Fatalf("the live index is not what the test expects: %d videos, %d channels, %v", len(want.videos), len(want.channels), want.searches["바뀐 제목/views"])
	}

	var lines []string
	st, err := RebuildIndex(ctx, RebuildOptions{DataDir: dir, Progress: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt: %+v", st)
	rebuilt, err := index.Open(filepath.Join(dir, "index"), index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := capture(rebuilt)
	if rebuilt.Checkpoint() != st.Checkpoint || st.Checkpoint != want.stats.Checkpoint || st.Docs != want.stats.Docs {
		t.Errorf("rebuilt checkpoint %d (stats %d), docs %d; the live index had checkpoint %d, %d docs", rebuilt.Checkpoint(), st.Checkpoint, st.Docs, want.stats.Checkpoint, want.stats.Docs)
	}
	rebuilt.Close()
	for id, w := range want.videos {
		if g, ok := got.videos[id]; !ok || !reflect.DeepEqual(w, g) {
			t.Fatalf("video %s rebuilt:\n got %+v\nwant %+v", id, g, w)
		}
	}
	if len(got.videos) != len(want.videos) || !reflect.DeepEqual(got.channels, want.channels) || !reflect.DeepEqual(got.searches, want.searches) {
		t.Fatalf("rebuilt: %d videos (want %d); channels equal %v; searches\n got %v\nwant %v", len(got.videos), len(want.videos),
			reflect.DeepEqual(got.channels, want.channels), got.searches, want.searches)
	}
	if g, w := got.stats, want.stats; g.Docs != w.Docs || g.Deleted != w.Deleted || g.Channels != w.Channels || g.Grams != w.Grams {
		t.Fatalf("rebuilt stats %+v, want %+v", g, w)
	}
	// A crash between the rebuild's marker and its swap: the index
	// directory is gone, the complete rebuild waits beside it, and an
	// incomplete one of an earlier attempt lies around too. The next start
	// puts the complete one in place.
	final := filepath.Join(dir, "index")
	if err := os.Rename(final, final+".rebuild"); err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(filepath.Join(final+".rebuild", rebuiltMarker)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(final+".old", 0o755); err != nil {
		t.Fatal(err)
	}
	// The pipeline starts on the rebuilt index and goes on from its checkpoint.
	n, err = Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, p := range []string{final + ".rebuild", final + ".old", filepath.Join(final, rebuiltMarker)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left after the start: %v", p, err)
		}
	}
	if d := n.Index.Stats().Docs; d != want.stats.Docs || n.Index.Checkpoint() != st.Checkpoint {
		t.Fatalf("started on %d docs, checkpoint %d; want the rebuilt %d, %d", d, n.Index.Checkpoint(), want.stats.Docs, st.Checkpoint)
	}
	ingest(ctx, t, n, []yt.Record{yt.NewVideoRecord("test", &yt.Video{ID: "vAfterRebld", FetchedAt: benchBase, Snippet: yt.VideoSnippet{Title: "after the rebuild", ChannelID: "UC" + encodeID(1, 22)}})})
	if res, err := n.Index.Search(ctx, index.Query{Q: "after the rebuild"}); err != nil || res.Total != 1 || n.Index.Stats().Docs != want.stats.Docs+1 {
		t.Fatalf("after restarting on the rebuilt index: %d found (%v), %d docs, want 1 and %d", res.Total, err, n.Index.Stats().Docs, want.stats.Docs+1)
	}
	// While the pipeline runs over the data directory, neither a rebuild
	// nor a second pipeline may touch it.
	if _, err := RebuildIndex(ctx, RebuildOptions{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use by another tubelake process") {
		t.Fatalf("rebuild while the pipeline runs: %v", err)
	}
	if n2, err := Open(ctx, Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		if n2 != nil {
			n2.Close()
		}
		t.Fatalf("a second pipeline over the data directory: %v", err)
	}
}

// ingest runs n until it has consumed recs into both sinks, then stops it.
func ingest(ctx context.Context, t *testing.T, n *Node, recs []yt.Record) {
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	if err := n.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
