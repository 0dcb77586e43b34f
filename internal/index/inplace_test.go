package index

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestInPlaceStats checks statistics refreshes applied under the read lock
// (prepareChunk -> applyStats), including view counts that change bucket
// and are not re-filed yet: searches with min_views, every sort and the
// hits' counters must see the new values, before and after the re-filing.
func TestInPlaceStats(t *testing.T) {
	ix := newMem(t)
	o := newOracle()
	var recs []yt.Record
	for i := range 400 {
		s := vspec{id: vidID(i), title: fmt.Sprintf("영어 공부 %d", i%7), views: int64(i + 1), pub: t0.Add(-time.Duration(i) * time.Hour)}
		recs = append(recs, s.rec())
		o.put(s)
	}
	mustApply(t, ix, recs...)

	cases := []struct {
		name   string
		views  func(i int, old int64) int64
		moving bool // some docs change view-count bucket
	}{
		{"same bucket", func(i int, old int64) int64 { return old | 1 }, false},
		{"bucket up", func(i int, old int64) int64 { return old*int64(3+i%5) + 1_000 }, true},
		{"bucket down", func(i int, old int64) int64 { return old / int64(2+i%3) }, true},
	}
	for round, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs = recs[:0]
			for i := range 400 {
				if i%3 == 0 {
					continue
				}
				s := o.docs[vidID(i)].s
				s.views = c.views(i, s.views)
				s.fetched = t0.Add(time.Duration(round+1) * time.Minute)
				recs = append(recs, s.rec())
				o.put(s)
			}
			before := ix.Stats()
			// Apply's first phase only: nothing takes the write lock.
			cp := ix.prepareChunk(recs)
			if cp.left != 0 {
				t.Fatalf("%d of %d refreshes were not applied in place", cp.left, len(recs))
			}
			if got := ix.Stats().InPlace - before.InPlace; got != uint64(len(recs)) {
				t.Errorf("in place: %d, want %d", got, len(recs))
			}
			if moving := len(ix.movedFrom) > 0; moving != c.moving {
				t.Errorf("bucket moves pending: %v, want %v", moving, c.moving)
			}
			check := func() {
				for _, mv := range []int64{0, 2, 50, 300, 1000, 5000} {
					for _, so := range []Sort{SortViews, SortRecent, SortRelevance} {
						checkAgainstOracle(t, ix, o, Query{Q: "영어", Sort: so, MinViews: mv, Limit: 50})
						checkAgainstOracle(t, ix, o, Query{Q: "공부 3", Sort: so, MinViews: mv})
					}
				}
				for i := 1; i < 400; i += 97 {
					h, ok := ix.Video(vidID(i))
					if want := o.docs[vidID(i)].s.views; !ok || h.ViewCount != want || h.LikeCount != want/50 {
						t.Errorf("%s: views %d likes %d, want %d %d", vidID(i), h.ViewCount, h.LikeCount, want, want/50)
					}
				}
			}
			check()
			ix.flushMoves()
			if len(ix.movedFrom) != 0 {
				t.Fatalf("moves left after flushMoves")
			}
			check()
			// Re-filed docs are in exactly the bucket of their views.
			for n := range uint32(ix.docs.len()) {
				var in []int
				for b, bm := range ix.viewBucket {
					if bm != nil && bm.Contains(uint32(n)) {
						in = append(in, b)
					}
				}
				if want := []int{viewBucketOf(*ix.views.at(n))}; !slices.Equal(in, want) {
					t.Fatalf("doc %d with %d views is in buckets %v, want %v", n, *ix.views.at(n), in, want)
				}
			}
		})
	}
}

// TestCreationTextHash: a doc created from a record stores the record's
// text hash, so its first statistics refresh is applied in place without
// comparing texts; any text difference still goes the full way.
func TestCreationTextHash(t *testing.T) {
	ix := newMem(t)
	chRec := yt.NewChannelRecord("api", &yt.Channel{ID: chanID(9), Snippet: yt.ChannelSnippet{Title: "Override"}, FetchedAt: t0.Add(time.Hour)})
	mustApply(t, ix, chRec)
	base := make([]vspec, 200)
	var recs []yt.Record
	for i := range base {
		base[i] = vspec{id: vidID(i), title: fmt.Sprintf("먹방 브이로그 %d", i), desc: "설명", chanTitle: "Chan", tags: []string{"a", "b"}, views: 10}
		if i == 7 {
			base[i].chanID = chanID(9) // its channel title is overridden: no hash
		}
		recs = append(recs, base[i].rec())
	}
	mustApply(t, ix, recs...) // inverted batch
	mustApply(t, ix, vspec{id: vidID(500), title: "single", views: 1}.rec())
	for i := range base {
		n, _ := ix.lookup(vidID(i))
		if got := *ix.thash.at(n) != 0; got != (i != 7) {
			t.Fatalf("doc %d: text hash set %v, want %v", i, got, i != 7)
		}
	}
	if n, _ := ix.lookup(vidID(500)); *ix.thash.at(n) == 0 {
		t.Fatal("a doc applied on its own has no text hash")
	}
	edits := map[int]func(s *vspec){
		1: func(s *vspec) { s.title += "!" },
		2: func(s *vspec) { s.desc = "다른 설명" },
		3: func(s *vspec) { s.tags = []string{"a", "c"} },
		4: func(s *vspec) { s.chanTitle = "Renamed" },
	}
	recs = recs[:0]
	for i, s := range base {
		s.views, s.fetched = 99, t0.Add(time.Minute)
		if e := edits[i]; e != nil {
			e(&s)
		}
		base[i] = s
		recs = append(recs, s.rec())
	}
	before := ix.Stats().InPlace
	mustApply(t, ix, recs...)
	// Doc 7 (overridden channel title) is compared in full and found equal
	// except for the channel title, so it is not in place either.
	if got, want := ix.Stats().InPlace-before, uint64(len(base)-len(edits)-1); got != want {
		t.Errorf("in place: %d, want %d", got, want)
	}
	for i := range edits {
		r, err := ix.Search(t.Context(), Query{Q: base[i].title, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := ix.VideoDoc(vidID(i))
		if h.ViewCount != 99 || h.Title != base[i].title || h.Description != base[i].desc || !slices.Equal(h.Tags, base[i].tags) || r.Total == 0 {
			t.Errorf("doc %d after its edit: %+v (search total %d)", i, h, r.Total)
		}
		if i == 4 && h.ChannelTitle != "Renamed" {
			t.Errorf("doc 4 channel title %q, want Renamed", h.ChannelTitle)
		}
	}
}

// TestTextHash: the hash covers every text a statistics refresh must find
// unchanged, length-prefixed so that moving bytes between fields or tags
// changes it.
func TestTextHash(t *testing.T) {
	base := vspec{id: vidID(1), title: "초등영어 파닉스", desc: "설명", chanTitle: "채널", tags: []string{"ab", "c"}}.video()
	h := textHash(base)
	if h == 0 || h != textHash(vspec{id: vidID(1), title: "초등영어 파닉스", desc: "설명", chanTitle: "채널", tags: []string{"ab", "c"}}.video()) {
		t.Fatal("textHash is 0 or not deterministic")
	}
	for name, change := range map[string]func(v *yt.Video){
		"title":             func(v *yt.Video) { v.Snippet.Title += "!" },
		"description":       func(v *yt.Video) { v.Snippet.Description = "" },
		"channel title":     func(v *yt.Video) { v.Snippet.ChannelTitle = "채널 2" },
		"thumbnail":         func(v *yt.Video) { v.Snippet.Thumbnail.URL = "https://i.ytimg.com/vi/x/maxresdefault.jpg" },
		"tag boundary":      func(v *yt.Video) { v.Snippet.Tags = []string{"a", "bc"} },
		"tag count":         func(v *yt.Video) { v.Snippet.Tags = append(v.Snippet.Tags, "") },
		"title into desc":   func(v *yt.Video) { v.Snippet.Title, v.Snippet.Description = "초등영어", " 파닉스설명" },
		"channel into tags": func(v *yt.Video) { v.Snippet.ChannelTitle, v.Snippet.Tags = "", []string{"채널ab", "c"} },
	} {
		v := *base
		v.Snippet.Tags = slices.Clone(base.Snippet.Tags)
		change(&v)
		if textHash(&v) == h {
			t.Errorf("%s changed, the hash did not", name)
		}
	}
	// Statistics are not texts.
	v := *base
	v.Statistics.ViewCount = yt.Int64(123)
	if textHash(&v) != h {
		t.Error("a view count changed the text hash")
	}
}
