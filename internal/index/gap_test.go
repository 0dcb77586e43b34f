package index

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

// A chunk of new docs is applied in several write-lock holds with searches
// let in between: its docs are stored, then added to the postings in parts. A search
// then must answer for that state, and nothing it caches may hide those
// docs once their postings are in.
func TestSearchBetweenChunkHolds(t *testing.T) {
	ctx := context.Background()
	ix := newMem(t)
	var old []yt.Record
	for i := range 100 {
		old = append(old, vspec{id: vidID(i), title: fmt.Sprintf("초등영어 old %d", i), views: int64(1000 + i)}.rec())
	}
	mustApply(t, ix, old...)
	var batch []yt.Record
	for i := 100; i < 300; i++ {
		batch = append(batch, vspec{id: vidID(i), title: fmt.Sprintf("초등영어 new %d", i), views: int64(i)}.rec())
	}
	queries := []Query{
		{Q: "초등영어", Sort: SortViews, Limit: 5},                   // verified: its total may be cached
		{Q: "초등영어", Sort: SortViews, Limit: 5, ExactTotal: true}, // the same, exact
		{Q: "new", Sort: SortViews, Limit: 5},                    // only in the new docs
	}
	gaps := 0
	ix.gapHook = func() {
		gaps++
		for _, q := range queries {
			r, err := ix.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			// Between the holds the new docs are found by some terms and
			// not by others yet, but every hit matches.
			lo, hi := 100, 300
			if q.Q == "new" {
				lo, hi = 0, 200
			}
			if r.Total < lo || r.Total > hi {
				t.Errorf("between the holds %q: total %d, want %d..%d", q.Q, r.Total, lo, hi)
			}
			for _, h := range r.Items {
				if !strings.Contains(h.Title, q.Q) {
					t.Errorf("between the holds %q: hit %s %q does not match", q.Q, h.ID, h.Title)
				}
			}
		}
	}
	mustApply(t, ix, batch...)
	ix.gapHook = nil
	if gaps < 2 {
		t.Fatalf("the batch of new docs was applied with %d pauses for searches", gaps)
	}
	for _, q := range queries {
		r, err := ix.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := 300
		if q.Q == "new" {
			want = 200
		}
		if r.Total != want {
			t.Errorf("after the batch %q: total %d, want %d", q.Q, r.Total, want)
		}
	}
}
