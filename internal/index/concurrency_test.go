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
			if m := ix.measure(); m[0] <= 0 || m[1] <= 0 || m[2] < m[1] {
				t.Errorf("measure during writes: %v", m)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	wg.Wait()
	// The new videos are all searchable (each title holds "새 영어").
	st := ix.Stats()
	res, err := ix.Search(context.Background(), Query{Q: "새 영어", ExactTotal: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if added := st.Docs + st.Deleted - 3000; added <= 0 || res.Total != added {
		t.Errorf("%d new videos applied, %d found by their title", added, res.Total)
	}
}
