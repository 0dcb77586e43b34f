package index

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestConcurrentApplySearchFlush runs searches, statistics refreshes, text
// edits, tombstones, new videos (inverted batches), flushes and memory
// estimates at the same time (run with -race).
func TestConcurrentApplySearchFlush(t *testing.T) {
	ix, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	// Settle postings often, mostly as frozen blobs, so compaction's
	// lock-free settling runs beside the searches.
	ix.compactMin, ix.compactListMax = 500, 8
	ix.arena.sealMin = 0 // every full text chunk moves to the spill file
	ix.mergeRatio = 3    // most flushes write deltas, beside the writers
	var base []yt.Record
	for i := range 3000 {
		base = append(base, vspec{id: vidID(i), title: "영어 먹방 minecraft " + string(rune('가'+i%300)), views: int64(i), pub: t0.Add(time.Duration(i) * time.Minute)}.rec())
	}
	mustApply(t, ix, base...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sorts := []Sort{SortViews, SortRecent, SortRelevance}
			for i := 0; ctx.Err() == nil; i++ {
				q := Query{Q: []string{"영어", "먹방 mine", "가", `"minecraft 가"`}[i%4], Sort: sorts[(i+w)%3], MinViews: int64(i % 2)}
				res, err := ix.Search(context.Background(), q)
				if err != nil {
					t.Error(err)
					return
				}
				if res.NextCursor != "" {
					if _, err := ix.Search(context.Background(), Query{Q: q.Q, Sort: q.Sort, Cursor: res.NextCursor}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	// writer applies batch(round) for round 1, 2, ... until the deadline.
	writer := func(batch func(round int) []yt.Record) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 1; ctx.Err() == nil; round++ {
				if err := ix.Apply(ctx, batch(round)); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writer(func(round int) []yt.Record {
		var recs []yt.Record
		for i := range 600 {
			j := (round*600 + i) % 3000
			s := vspec{id: vidID(j), title: "영어 먹방 minecraft " + string(rune('가'+j%300)), views: int64(j + round*1000), pub: t0.Add(time.Duration(j) * time.Minute), fetched: t0.Add(time.Duration(round) * time.Second)}
			if i%50 == 0 {
				s.title = "edited " + s.title
			}
			recs = append(recs, s.rec())
			if i%100 == 0 {
				recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID((j + 7) % 3000), ObservedAt: t0.Add(time.Duration(round) * time.Second)}))
			}
		}
		return recs
	})
	// New videos in batches that are inverted (only new videos, none twice).
	writer(func(round int) []yt.Record {
		var recs []yt.Record
		for i := range 300 {
			j := 10_000 + round*300 + i
			recs = append(recs, vspec{id: vidID(j), title: "새 영어 minecraft " + string(rune('가'+j%300)), tags: []string{"먹방"}, views: int64(j), pub: t0}.rec())
		}
		return recs
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(1); ctx.Err() == nil; i++ {
			if err := ix.Flush(context.Background(), i); err != nil {
				t.Error(err)
				return
			}
			// The memory estimate takes the read lock in steps while the
			// writers run.
			if m := ix.measure(); m.text <= 0 || m.postings <= 0 || m.mem < m.postings {
				t.Errorf("measure during writes: %v", m)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	wg.Wait()
	// The new videos are all searchable (each title holds "새 영어").
	st := ix.Stats()
	if st.TextMappedBytes == 0 {
		t.Error("no text chunk was spilled: the test does not cover texts read from the spill")
	}
	res, err := ix.Search(context.Background(), Query{Q: "새 영어", ExactTotal: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if added := st.Docs + st.Deleted - 3000; added <= 0 || res.Total != added {
		t.Errorf("%d new videos applied, %d found by their title", added, res.Total)
	}
	// The flushes above wrote deltas while the writers ran: with the last
	// one, the directory holds exactly the index.
	if err := ix.Flush(context.Background(), 1<<20); err != nil {
		t.Fatal(err)
	}
	ix2, err := Open(ix.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	t.Logf("reopened from a base and %d deltas", ix2.snap.seq())
	sameState(t, "reopened after concurrent flushes", stateOf(t, ix), stateOf(t, ix2))
}

// TestSearchDuringFlushWithWriter: a Flush encodes under the read lock
// (tens of seconds at 10M docs). A writer that arrives meanwhile waits for
// the flush; searches must not wait with it (sync.RWMutex admits no new
// reader while a writer is queued on it).
func TestSearchDuringFlushWithWriter(t *testing.T) {
	ix, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	mustApply(t, ix, vspec{id: vidID(0), title: "초등영어 파닉스", views: 10, pub: t0}.rec())
	inFlush, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before Close (deferred earlier), which needs the lock
	ix.flushHook = func() {
		close(inFlush)
		<-release
	}
	flushed := make(chan error, 1)
	go func() { flushed <- ix.Flush(context.Background(), 1) }()
	<-inFlush
	// A new video needs the write lock: Apply must wait for the flush.
	applied := make(chan error, 1)
	go func() {
		applied <- ix.Apply(context.Background(), []yt.Record{vspec{id: vidID(1), title: "초등영어 단어", views: 5, pub: t0}.rec()})
	}()
	// Let the writer reach its lock (the searches below must not wait for
	// the flush whether or not it did; they would, with it queued on ix.mu).
	for range 100 {
		select {
		case err := <-applied:
			t.Fatalf("Apply finished during the flush: %v", err)
		default:
		}
		time.Sleep(time.Millisecond)
	}
	searched := make(chan int, 1)
	go func() {
		res, err := ix.Search(context.Background(), Query{Q: "초등영어"})
		if err != nil {
			t.Error(err)
		}
		searched <- res.Total
	}()
	select {
	case n := <-searched:
		if n != 1 {
			t.Errorf("search during the flush found %d docs, want 1 (the new video waits for the flush)", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a search waited for a Flush in progress (behind a queued writer)")
	}
	unblock()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	if res, err := ix.Search(context.Background(), Query{Q: "초등영어"}); err != nil || res.Total != 2 {
		t.Fatalf("after the flush: %d docs, %v; want 2", res.Total, err)
	}
}
