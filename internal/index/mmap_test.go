package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// mappedPostings counts the postings whose frozen blob is read from a map,
// and checks that each lies in one of the index's maps.
func mappedPostings(t *testing.T, ix *Index) int {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	for fi := range ix.post {
		for k, p := range ix.post[fi] {
			if !p.mapped {
				continue
			}
			n++
			in := false
			for _, m := range ix.maps {
				in = in || m.contains(p.frozen)
			}
			if !in {
				t.Fatalf("posting %x: mapped blob outside every map", k)
			}
		}
	}
	return n
}

// TestMappedPostings: after a Flush the frozen postings read their blobs
// from the snapshot's map; new docs, removals (which copy the blob out of
// the map) and text edits keep every answer exact; the next Flush moves them
// to its own map and unmaps the first (a posting still reading it would
// crash the test); Close unmaps everything.
func TestMappedPostings(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.compactMin = 0 // settle after every Apply: big postings freeze
	o := newOracle()
	put := func(specs ...vspec) {
		t.Helper()
		var recs []yt.Record
		for _, s := range specs {
			recs = append(recs, s.rec())
			o.put(s)
		}
		mustApply(t, ix, recs...)
	}
	// More than 65,536 docs: the big postings have two roaring containers,
	// so a removal leaves one of them untouched (still aliasing its blob).
	const n0 = 70_000
	var specs []vspec
	for i := range n0 {
		specs = append(specs, vspec{id: vidID(i), title: fmt.Sprintf("영어 먹방 minecraft %c", '가'+i%40), views: int64(i), pub: t0})
	}
	put(specs...)
	check := func(when string) {
		t.Helper()
		for _, q := range []string{"영어", "먹방 가", "minecraft", "craft 나", "다"} {
			for _, s := range []Sort{SortViews, SortRecent, SortRelevance} {
				t.Run(when, func(t *testing.T) { checkAgainstOracle(t, ix, o, Query{Q: q, Sort: s, ExactTotal: true}) })
			}
		}
	}
	if n, st := mappedPostings(t, ix), ix.Stats(); n != 0 || st.MappedBytes != 0 {
		t.Fatalf("%d mapped postings (%d bytes) before any flush", n, st.MappedBytes)
	}
	if err := ix.FlushFull(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	first := mappedPostings(t, ix)
	st := ix.Stats()
	if first == 0 || st.MappedBytes < int64(first)*bigBlob || len(ix.maps) != 1 {
		t.Fatalf("after flush: %d mapped postings, %d mapped bytes, %d maps", first, st.MappedBytes, len(ix.maps))
	}
	t.Logf("first flush: %d mapped postings, %d bytes", first, st.MappedBytes)
	check("flushed")

	// A tombstone thaws the postings of its doc's grams (a removal copies
	// the blob out of the map); a title edit moves a doc. No compaction
	// follows (no entries were added), so the thawed bitmaps are still
	// bitmaps when the next flush finds that no posting reads the first
	// map and unmaps it: a bitmap still aliasing it would crash the
	// searches after.
	mustApply(t, ix, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(7), ObservedAt: t0.Add(time.Hour)}))
	o.docs[vidID(7)].alive = false
	edit := specs[11]
	edit.title, edit.fetched = "영어 다른 제목", t0.Add(time.Hour)
	put(edit)
	check("mutated")
	if err := ix.FlushFull(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if n := mappedPostings(t, ix); n != 0 || len(ix.maps) != 0 {
		t.Fatalf("after thawing every mapped posting and flushing: %d mapped postings, %d maps", n, len(ix.maps))
	}
	check("thawed and flushed")

	// New docs: a compaction freezes the big postings again, in the heap.
	var more []vspec
	for i := n0; i < n0+n0/4; i++ {
		more = append(more, vspec{id: vidID(i), title: fmt.Sprintf("영어 먹방 minecraft %c", '가'+i%40), views: int64(i), pub: t0})
	}
	put(more...)
	check("added")
	if err := ix.FlushFull(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if n := mappedPostings(t, ix); n == 0 || len(ix.maps) != 1 {
		t.Fatalf("after refreezing and flushing: %d mapped postings, %d maps", n, len(ix.maps))
	}
	// During the next flush's encoding a doc arrives (its Apply waits at the
	// gate and runs before the flush maps its file): it stays an addition
	// of the postings the flush maps.
	ix.flushHook = func() {
		go put(vspec{id: vidID(100_000), title: "영어 먹방 minecraft 가", views: 5, pub: t0})
		time.Sleep(50 * time.Millisecond) // let Apply reach the gate
	}
	put(vspec{id: vidID(100_001), title: "영어 먹방 minecraft 가", views: 5, pub: t0}) // frozen postings with additions
	if err := ix.FlushFull(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	ix.flushHook = nil
	ix.applyMu.Lock() // the Apply above has finished
	ix.applyMu.Unlock()
	if n := mappedPostings(t, ix); n == 0 || len(ix.maps) != 1 {
		t.Fatalf("after the fourth flush: %d mapped postings, %d maps (the third's should be unmapped)", n, len(ix.maps))
	}
	check("reflushed")

	ix2 := flushReopen(t, ix, dir)
	if len(ix.maps) != 0 {
		t.Fatalf("closed index keeps %d maps", len(ix.maps))
	}
	if _, err := ix.Search(context.Background(), Query{Q: "영어"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("search after close: %v", err)
	}
	if err := ix.Flush(context.Background(), 5); !errors.Is(err, ErrClosed) {
		t.Fatalf("flush after close: %v", err)
	}
	ix = ix2
	if mappedPostings(t, ix) == 0 || len(ix.maps) != 1 {
		t.Fatalf("reopened: %d maps", len(ix.maps))
	}
	check("reopened")
	put(vspec{id: vidID(100_002), title: "영어 먹방", views: 1, pub: t0})
	mustApply(t, ix, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(8), ObservedAt: t0.Add(time.Hour)}))
	o.docs[vidID(8)].alive = false
	check("reopened and mutated")
	loaded := ix.maps[0]
	if err := ix.FlushFull(context.Background(), 6); err != nil {
		t.Fatal(err)
	}
	// Postings the tombstone did not thaw now read the new snapshot; the
	// loaded one is unmapped.
	if n := mappedPostings(t, ix); n == 0 || len(ix.maps) != 1 || ix.maps[0] == loaded || loaded.data != nil {
		t.Fatalf("after flushing the reopened index: %d mapped postings, %d maps, loaded map unmapped: %v", n, len(ix.maps), loaded.data == nil)
	}
	check("reopened and flushed")
}

// TestOpenDamagedSnapshot: a snapshot damaged in any byte, with a checksum
// that matches the damage (so the decoder, not the CRC, meets it), is
// rejected with an error or decodes into a usable index; it never panics
// or allocates what a damaged length asks for.
func TestOpenDamagedSnapshot(t *testing.T) {
	dir, good, _ := smallSnapshot(t)
	path := filepath.Join(dir, snapName)
	rejected := 0
	for i := range len(good) - 4 {
		// Flipping every bit of a byte turns small varints into large
		// ones and vice versa.
		for _, v := range []byte{good[i] ^ 0xff} {
			b := slices.Clone(good)
			b[i] = v
			writeSnapshot(t, path, b)
			ix, err := Open(dir, Options{})
			if err != nil {
				rejected++
				continue
			}
			if _, err := ix.Search(context.Background(), Query{Q: "영어"}); err != nil && !errors.Is(err, ErrBadQuery) {
				t.Errorf("byte %d = %#x: search: %v", i, v, err)
			}
			ix.Close()
		}
	}
	t.Logf("%d bytes, %d damaged snapshots rejected", len(good), rejected)
	if rejected == 0 {
		t.Fatal("no damaged snapshot was rejected")
	}
}
