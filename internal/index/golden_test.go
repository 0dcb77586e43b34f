package index

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

var updateSnapshots = flag.Bool("update-snapshots", false, "rewrite testdata/snapshot-v*.snap (only with the code of their version)")

// goldenRecords are the records of the golden snapshots: every patch kind
// (ASCII case, width forms, raw bytes, edits, tags that cannot be joined),
// a tombstone, a channel snapshot, text events and statistics refreshes.
func goldenRecords() []yt.Record {
	var recs []yt.Record
	specs := smallCorpus()
	specs = append(specs,
		vspec{id: vidID(7), title: "Ｆｕｌｌ　Ｗｉｄｔｈ…‼ Title", desc: "line one\nline two\ttab", tags: []string{"a,b", "Tag With Caps", "태그"}, views: 77, pub: t0, chanID: chanID(5), chanTitle: "ＷＩＤＥ Channel"},
		vspec{id: vidID(8), title: "deleted later", views: 8, pub: t0},
		vspec{id: vidID(9), title: "\u200bzero width 영어", tags: []string{"x\u001fy"}, views: 9, pub: t0},
	)
	for _, s := range specs {
		recs = append(recs, s.rec())
	}
	refresh := specs[1]
	refresh.views, refresh.fetched = 12345, t0.Add(time.Hour)
	recs = append(recs, refresh.rec(),
		yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(8), ObservedAt: t0.Add(time.Hour)}),
		yt.NewEventRecord("api", &yt.Event{Type: yt.EventTitleChanged, EntityKind: yt.KindVideo, EntityID: vidID(3), ObservedAt: t0.Add(time.Hour), New: "Minecraft HARDCORE 1000 Days"}),
		yt.NewChannelRecord("api", &yt.Channel{ID: chanID(3), FetchedAt: t0.Add(2 * time.Hour), Snippet: yt.ChannelSnippet{Title: "Blocky Official"}}),
	)
	return recs
}

// TestSnapshotGolden opens snapshot files of every format version
// (testdata/snapshot-v1.snap: no trigram postings, which are added on
// load; v2: raw texts; v3: text records and the postings offset) and
// compares them with an index that applied the same records: every doc,
// text, channel and posting. A format change that keeps the version
// number fails on the current version's file.
func TestSnapshotGolden(t *testing.T) {
	want := newMem(t)
	mustApply(t, want, goldenRecords()...)
	if *updateSnapshots {
		// Only the current version's file can be written: the older ones
		// were written by the code of their version (v1 by dropping the
		// trigram postings of a v2 file, which is what v1 wrote).
		dir := t.TempDir()
		ix, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, ix, goldenRecords()...)
		_, b := flushClosed(t, ix, dir, 3)
		writeSnapshot(t, fmt.Sprintf("testdata/snapshot-v%d.snap", snapVersion), b)
	}
	for _, name := range []string{"snapshot-v1.snap", "snapshot-v2.snap", "snapshot-v3.snap"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, snapName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameState(t, name, stateOf(t, want), stateOf(t, got))
		if got.Checkpoint() != 3 {
			t.Fatalf("%s: checkpoint %d", name, got.Checkpoint())
		}
		// The next flush rewrites it in the current format.
		if k := got.FlushKind(); name == "snapshot-v1.snap" && k != "full" {
			t.Fatalf("%s: next flush %s, want full", name, k)
		}
		got.Close()
	}
}
