package index

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

func smallCorpus() []vspec {
	return []vspec{
		{id: vidID(1), title: "초등영어 파닉스 1강", views: 500, pub: t0.Add(-1 * time.Hour), tags: []string{"영어", "초등"}, cat: "27", lang: "ko", chanID: chanID(1), chanTitle: "영어선생님"},
		{id: vidID(2), title: "먹방 ASMR 라면", views: 9000, pub: t0.Add(-2 * time.Hour), tags: []string{"mukbang", "asmr"}, cat: "22", lang: "ko-KR", chanID: chanID(2), chanTitle: "먹보"},
		{id: vidID(3), title: "Minecraft Hardcore 100 Days", views: 120000, pub: t0.Add(-3 * time.Hour), desc: "we survived 100 days in minecraft", cat: "20", lang: "en", chanID: chanID(3), chanTitle: "Blocky"},
		{id: vidID(4), title: "ＡＢＣ 영어 노래 for kids", views: 700, pub: t0.Add(-30 * time.Minute), cat: "27", lang: "en-US", chanID: chanID(1), chanTitle: "영어선생님"},
		{id: vidID(5), title: "メイクするとニキビ爆発するのなんで?!💄😱", views: 4258500, pub: t0.Add(-48 * time.Hour), lang: "ja", chanID: chanID(4), chanTitle: "びっくりハンター"},
		{id: vidID(6), title: "Learn English with Minecraft", views: 500, pub: t0.Add(-5 * time.Hour), tags: []string{"english", "minecraft mods"}, lang: "en", chanID: chanID(3), chanTitle: "Blocky"},
	}
}

func TestSearchTable(t *testing.T) {
	ix := newMem(t)
	for _, s := range smallCorpus() {
		mustApply(t, ix, s.rec())
	}
	cases := []struct {
		name  string
		q     Query
		want  []string // ids in order
		total int
	}{
		{"one syllable", Query{Q: "영", Sort: SortViews}, []string{vidID(4), vidID(1)}, 2},
		{"two syllables", Query{Q: "영어", Sort: SortViews}, []string{vidID(4), vidID(1)}, 2},
		{"four syllables", Query{Q: "초등영어"}, []string{vidID(1)}, 1},
		{"mukbang", Query{Q: "먹방"}, []string{vidID(2)}, 1},
		{"english case folded", Query{Q: "MINECRAFT", Sort: SortViews}, []string{vidID(3), vidID(6)}, 2},
		{"width folded query", Query{Q: "ｍｉｎｅ", Sort: SortViews}, []string{vidID(3), vidID(6)}, 2},
		{"width folded text", Query{Q: "abc"}, []string{vidID(4)}, 1},
		{"AND terms", Query{Q: "minecraft english"}, []string{vidID(6)}, 1},
		{"phrase with space", Query{Q: `"hardcore 100"`}, []string{vidID(3)}, 1},
		{"phrase not contiguous", Query{Q: `"minecraft 100"`}, nil, 0},
		{"japanese", Query{Q: "ニキビ"}, []string{vidID(5)}, 1},
		{"emoji", Query{Q: "💄"}, []string{vidID(5)}, 1},
		{"no match", Query{Q: "zzzq"}, nil, 0},
		{"recent", Query{Q: "영어", Sort: SortRecent}, []string{vidID(4), vidID(1)}, 2},
		{"tags field", Query{Q: "mods", In: []Field{FieldTags}}, []string{vidID(6)}, 1},
		{"tags not across tags", Query{Q: "mukbangasmr", In: []Field{FieldTags}}, nil, 0},
		{"channel field", Query{Q: "선생님", In: []Field{FieldChannel}, Sort: SortViews}, []string{vidID(4), vidID(1)}, 2},
		{"description", Query{Q: "survived", In: []Field{FieldDescription}}, []string{vidID(3)}, 1},
		{"title only by default", Query{Q: "survived"}, nil, 0},
		{"multi field", Query{Q: "minecraft", In: []Field{FieldTitle, FieldTags}, Sort: SortViews}, []string{vidID(3), vidID(6)}, 2},
		{"channel filter", Query{Q: "영어", ChannelID: chanID(1), Sort: SortViews}, []string{vidID(4), vidID(1)}, 2},
		{"category filter", Query{Q: "m", CategoryID: "20"}, []string{vidID(3)}, 1},
		{"language primary", Query{Q: "영어", Language: "en"}, []string{vidID(4)}, 1},
		{"language full", Query{Q: "a", Language: "ko-kr"}, []string{vidID(2)}, 1},
		{"min views", Query{Q: "minecraft", MinViews: 1000}, []string{vidID(3)}, 1},
		{"published range", Query{Q: "영어", PublishedAfter: t0.Add(-45 * time.Minute), PublishedBefore: t0}, []string{vidID(4)}, 1},
		{"initials", Query{Q: "ㅊㄷㅇㅇ", Initials: true}, []string{vidID(1)}, 1},
		{"initials mixed", Query{Q: "ㅊ등영ㅇ", Initials: true}, []string{vidID(1)}, 1},
		{"initials two", Query{Q: "ㅁㅂ", Initials: true}, []string{vidID(2)}, 1},
		{"initials off", Query{Q: "ㅊㄷㅇㅇ"}, nil, 0},
		{"layout eng->kor", Query{Q: "chemdduddj", Layout: true}, []string{vidID(1)}, 1},
		{"layout kor->eng", Query{Q: "ㅡㅑㅜㄷㅊㄱㅁㄹㅅ", Layout: true, Sort: SortViews}, []string{vidID(3), vidID(6)}, 2},
		{"layout keeps original", Query{Q: "minecraft", Layout: true, Sort: SortViews}, []string{vidID(3), vidID(6)}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := ix.Search(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("ids = %v, want %v", got, c.want)
			}
			if res.Total != c.total || res.TotalRelation != "eq" {
				t.Errorf("total = %d %s, want %d eq", res.Total, res.TotalRelation, c.total)
			}
		})
	}
}

func TestBadQueries(t *testing.T) {
	ix := newMem(t)
	mustApply(t, ix, smallCorpus()[0].rec())
	for name, q := range map[string]Query{
		"empty":        {Q: ""},
		"blank":        {Q: "   \t"},
		"only quotes":  {Q: `""`},
		"bad field":    {Q: "a", In: []Field{"body"}},
		"bad sort":     {Q: "a", Sort: "likes"},
		"bad cursor":   {Q: "a", Cursor: "!!!"},
		"short cursor": {Q: "a", Cursor: "AQE"},
		"neg limit":    {Q: "a", Limit: -1},
		"neg views":    {Q: "a", MinViews: -5},
	} {
		if _, err := ix.Search(context.Background(), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%s: err = %v, want ErrBadQuery", name, err)
		}
	}
	// A cursor of another sort is rejected too.
	res, err := ix.Search(context.Background(), Query{Q: "영", Sort: SortViews, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	c := encodeCursor(cursor{sort: sortCode(SortViews), key: 1, id: "x"})
	if _, err := ix.Search(context.Background(), Query{Q: "영", Sort: SortRecent, Cursor: c}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("cursor of another sort: err = %v", err)
	}
}

func TestStatsUpdateKeepsPostings(t *testing.T) {
	ix := newMem(t)
	s := smallCorpus()[0]
	mustApply(t, ix, s.rec())
	before := postingsFingerprint(ix)
	for i := 1; i <= 100; i++ {
		s.views += 1000
		s.fetched = t0.Add(time.Duration(i) * time.Minute)
		mustApply(t, ix, s.rec())
	}
	if after := postingsFingerprint(ix); after != before {
		t.Fatalf("postings changed by a stats refresh: %v -> %v", before, after)
	}
	h, ok := ix.Video(s.id)
	if !ok || h.ViewCount != s.views {
		t.Fatalf("video = %+v %v, want views %d", h, ok, s.views)
	}
}

type fingerprint struct{ grams, card uint64 }

func postingsFingerprint(ix *Index) fingerprint {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var f fingerprint
	for fi := range ix.post {
		for k, p := range ix.post[fi] {
			f.grams++
			f.card += p.card() * (k%7 + 1)
		}
	}
	return f
}

func TestTitleEditMovesDoc(t *testing.T) {
	ix := newMem(t)
	s := smallCorpus()[0]
	mustApply(t, ix, s.rec())
	s.title = "고등수학 미적분"
	s.fetched = t0.Add(time.Minute)
	mustApply(t, ix, s.rec())
	mustTotal(t, ix, Query{Q: "초등영어"}, 0)
	mustTotal(t, ix, Query{Q: "미적분"}, 1)
	// Older snapshot replayed: ignored.
	old := smallCorpus()[0]
	mustApply(t, ix, old.rec())
	mustTotal(t, ix, Query{Q: "초등영어"}, 0)
	// A title_changed event newer than the snapshot.
	ev := yt.NewEventRecord("api", &yt.Event{Type: yt.EventTitleChanged, EntityKind: yt.KindVideo, EntityID: s.id, New: "중등영어 문법", ObservedAt: t0.Add(2 * time.Minute)})
	mustApply(t, ix, ev)
	mustTotal(t, ix, Query{Q: "중등영어"}, 1)
	mustTotal(t, ix, Query{Q: "미적분"}, 0)
	// A snapshot older than the event does not bring back the old title,
	// but a newer one wins.
	s.fetched = t0.Add(90 * time.Second)
	mustApply(t, ix, s.rec())
	mustTotal(t, ix, Query{Q: "중등영어"}, 1)
	s.fetched = t0.Add(3 * time.Minute)
	mustApply(t, ix, s.rec())
	mustTotal(t, ix, Query{Q: "미적분"}, 1)
	if st := ix.Stats(); st.Grams != countGrams(s.title) {
		t.Errorf("grams = %d, want only those of the latest texts (%d)", st.Grams, countGrams(s.title))
	}
}

// countGrams counts the distinct grams of one doc with only a title, tags
// "영어","초등" and channel "영어선생님" (smallCorpus()[0]).
func countGrams(title string) int {
	c := smallCorpus()[0]
	return len(uniqGrams(appendGrams(nil, Normalize(title)))) +
		len(uniqGrams(appendGrams(nil, normalizeTags(c.tags)))) +
		len(uniqGrams(appendGrams(nil, Normalize(c.chanTitle))))
}

func mustTotal(t *testing.T, ix *Index, q Query, want int) Result {
	t.Helper()
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != want || len(res.Items) != min(want, 20) {
		t.Fatalf("%q: total %d items %d, want %d", q.Q, res.Total, len(res.Items), want)
	}
	return res
}

func TestTombstone(t *testing.T) {
	ix := newMem(t)
	s := smallCorpus()[1]
	mustApply(t, ix, s.rec())
	mustTotal(t, ix, Query{Q: "먹방"}, 1)
	tomb := yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: s.id, ObservedAt: t0.Add(time.Hour)})
	mustApply(t, ix, tomb)
	mustTotal(t, ix, Query{Q: "먹방"}, 0)
	if _, ok := ix.Video(s.id); ok {
		t.Fatal("tombstoned video still visible")
	}
	// Replays of the old snapshot and of the tombstone are harmless.
	mustApply(t, ix, s.rec(), tomb, s.rec())
	mustTotal(t, ix, Query{Q: "먹방"}, 0)
	if st := ix.Stats(); st.Grams != 0 || st.Docs != 0 {
		t.Fatalf("stats after tombstone: %+v", st)
	}
	// A snapshot observed after the tombstone revives it.
	s.fetched = t0.Add(2 * time.Hour)
	mustApply(t, ix, s.rec())
	mustTotal(t, ix, Query{Q: "먹방"}, 1)
	// Tombstone before the first snapshot (out of order): the late snapshot stays dead.
	tomb2 := yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(99), ObservedAt: t0.Add(time.Hour)})
	mustApply(t, ix, tomb2, vspec{id: vidID(99), title: "먹방 늦게", views: 1}.rec())
	mustTotal(t, ix, Query{Q: "먹방"}, 1)
}

func TestChannelRecordUpdatesChannelField(t *testing.T) {
	ix := newMem(t)
	for _, s := range smallCorpus() {
		mustApply(t, ix, s.rec())
	}
	ch := &yt.Channel{ID: chanID(1), Snippet: yt.ChannelSnippet{Title: "English Teacher Kim"}, FetchedAt: t0.Add(time.Hour)}
	mustApply(t, ix, yt.NewChannelRecord("api", ch))
	mustTotal(t, ix, Query{Q: "teacher", In: []Field{FieldChannel}}, 2)
	mustTotal(t, ix, Query{Q: "선생님", In: []Field{FieldChannel}}, 0)
	got, ok := ix.Channel(chanID(1))
	if !ok || got.Snippet.Title != "English Teacher Kim" {
		t.Fatalf("channel = %+v %v", got, ok)
	}
	// An older channel snapshot is ignored.
	old := &yt.Channel{ID: chanID(1), Snippet: yt.ChannelSnippet{Title: "Old"}, FetchedAt: t0}
	mustApply(t, ix, yt.NewChannelRecord("api", old))
	mustTotal(t, ix, Query{Q: "teacher", In: []Field{FieldChannel}}, 2)
	// A video snapshot older than the channel keeps the channel's title.
	s := smallCorpus()[0]
	s.fetched = t0.Add(30 * time.Minute)
	mustApply(t, ix, s.rec())
	if h, _ := ix.Video(s.id); h.ChannelTitle != "English Teacher Kim" {
		t.Fatalf("channel title = %q", h.ChannelTitle)
	}
}

func TestCursorPaging(t *testing.T) {
	ix := newMem(t)
	var recs []yt.Record
	for i := range 600 {
		// Many ties in views and published to exercise the id tiebreak.
		recs = append(recs, vspec{id: vidID(i), title: "영어 " + string(rune('가'+i%50)), views: int64(i % 7), pub: t0.Add(time.Duration(i%5) * time.Hour)}.rec())
	}
	mustApply(t, ix, recs...)
	for _, dm := range []int{directMax, 0} {
		ix.directMax = dm
		for _, sort := range []Sort{SortViews, SortRecent, SortRelevance} {
			for _, q := range []string{"영어", "영", `"영어 가"`} {
				seen := map[string]bool{}
				cur := ""
				for page := 0; ; page++ {
					res, err := ix.Search(context.Background(), Query{Q: q, Sort: sort, Limit: 37, Cursor: cur})
					if err != nil {
						t.Fatal(err)
					}
					for _, h := range res.Items {
						if seen[h.ID] {
							t.Fatalf("%s %q: %s returned twice", sort, q, h.ID)
						}
						seen[h.ID] = true
					}
					if res.NextCursor == "" {
						break
					}
					cur = res.NextCursor
					if page > 100 {
						t.Fatal("paging does not end")
					}
				}
				want := 600
				if q == `"영어 가"` {
					want = 12
				}
				if len(seen) != want {
					t.Fatalf("%s %q: saw %d of %d", sort, q, len(seen), want)
				}
			}
		}
	}
}

func TestFlushOpenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.compactMin = 0     // compact posting lists after every Apply
	ix.compactListMax = 1 // settle postings of more than one doc as frozen blobs
	for _, s := range smallCorpus() {
		mustApply(t, ix, s.rec())
	}
	mustApply(t, ix, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(2), ObservedAt: t0.Add(time.Hour)}))
	mustApply(t, ix, yt.NewChannelRecord("api", &yt.Channel{ID: chanID(3), Snippet: yt.ChannelSnippet{Title: "Blocky Games"}, FetchedAt: t0.Add(time.Hour)}))
	if err := ix.Flush(context.Background(), 42); err != nil {
		t.Fatal(err)
	}
	if _, frozen, _ := postingForms(ix); frozen == 0 {
		t.Fatal("no frozen postings to round-trip")
	}
	queries := []Query{
		{Q: "영어", Sort: SortViews}, {Q: "minecraft", In: []Field{FieldTitle, FieldTags, FieldChannel}}, {Q: "games", In: []Field{FieldChannel}},
		{Q: "먹방"}, {Q: "ㅊㄷㅇㅇ", Initials: true}, {Q: "a", Language: "en", Sort: SortRecent},
		{Q: "영어", ChannelID: chanID(1)}, {Q: "m", CategoryID: "20"}, {Q: "a", Language: "ko-kr"},
	}
	var want []Result
	for _, q := range queries {
		r, _ := ix.Search(context.Background(), q)
		want = append(want, r)
	}
	// The filter postings, rebuilt on load (in bulk), key by key.
	filters := func(ix *Index) map[string]string {
		out := map[string]string{}
		for name, m := range map[string]map[string]*posting{"channel": ix.byChannel, "category": ix.byCategory, "lang": ix.byLang} {
			for k, p := range m {
				out[name+"/"+k] = fmt.Sprint(p.bitmap().ToArray())
			}
		}
		return out
	}
	filtersWant := filters(ix)
	stWant := ix.Stats()
	var docsWant []VideoDoc
	for _, s := range smallCorpus() {
		d, _ := ix.VideoDoc(s.id)
		docsWant = append(docsWant, d)
	}
	ix.Close()

	ix2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	if ix2.Checkpoint() != 42 {
		t.Fatalf("checkpoint = %d", ix2.Checkpoint())
	}
	if got := filters(ix2); !maps.Equal(got, filtersWant) {
		t.Errorf("filter postings after reopening:\n%v\nwant\n%v", got, filtersWant)
	}
	if lists, _, bitmaps := postingForms(ix2); lists == 0 || bitmaps != 0 {
		t.Errorf("reopened postings: %d lists, %d bitmaps; want small postings settled as lists", lists, bitmaps)
	}
	for i, q := range queries {
		r, err := ix2.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(r), ids(want[i])) || r.Total != want[i].Total {
			t.Errorf("%q after reopen: %v %d, want %v %d", q.Q, ids(r), r.Total, ids(want[i]), want[i].Total)
		}
	}
	for i, s := range smallCorpus() {
		if d, _ := ix2.VideoDoc(s.id); !reflect.DeepEqual(d, docsWant[i]) {
			t.Errorf("video %s after reopen: %+v, want %+v", s.id, d, docsWant[i])
		}
	}
	st := ix2.Stats()
	if st.Docs != stWant.Docs || st.Grams != stWant.Grams || st.Channels != stWant.Channels || st.Deleted != stWant.Deleted {
		t.Errorf("stats after reopen %+v, want %+v", st, stWant)
	}
	// The tombstone survives: the old snapshot replayed stays dead.
	mustApply(t, ix2, smallCorpus()[1].rec())
	mustTotal(t, ix2, Query{Q: "먹방"}, 0)
	// Corruption is detected.
	ix2.Close()
	corrupt(t, dir)
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("corrupt snapshot opened")
	}
}

func TestValidVideoRecordAgreesWithValidate(t *testing.T) {
	base := smallCorpus()[0].rec()
	for _, id := range []string{vidID(1), "abc", "abcdefghij!", "ABCDEFGHIJ_", "-----------", "가나다라마바사아자차카", ""} {
		r := base
		v := *r.Video
		v.ID = id
		r.Video = &v
		if validVideoRecord(&r) && r.Validate() != nil {
			t.Errorf("%q: fast path accepts what Validate rejects", id)
		}
		if !validVideoRecord(&r) && r.Validate() == nil {
			t.Errorf("%q: fast path rejects a valid record", id)
		}
	}
	ix := newMem(t)
	bad := base
	bad.V = 99
	mustApply(t, ix, bad)
	if ix.Stats().Rejected != 1 {
		t.Fatal("invalid record not rejected")
	}
}

func TestTotalCache(t *testing.T) {
	ix := newMem(t)
	ix.directMax = 0 // walk + counted totals
	add := func(from, to int, title string, at time.Time) {
		var recs []yt.Record
		for i := from; i < to; i++ {
			recs = append(recs, vspec{id: vidID(i), title: title, views: int64(i), fetched: at}.rec())
		}
		mustApply(t, ix, recs...)
	}
	q := Query{Q: "minecraft", Sort: SortViews}
	add(0, 100, "minecraft 1", t0)
	mustTotal(t, ix, q, 100)
	mustTotal(t, ix, q, 100) // cached
	add(100, 150, "minecraft 2", t0)
	mustTotal(t, ix, q, 150) // new docs counted incrementally
	add(0, 150, "minecraft 1", t0.Add(time.Minute))
	// Stats refresh: same texts, nothing to invalidate, still right.
	mustTotal(t, ix, q, 150)
	add(0, 10, "roblox", t0.Add(2*time.Minute))
	mustTotal(t, ix, q, 140) // edits invalidate
	ix.mu.RLock()
	gen := ix.gen
	ix.mu.RUnlock()
	add(150, TotalCap+200, "minecraft 3", t0)
	res := mustTotalRel(t, ix, q, TotalCap, "gte")
	add(TotalCap+200, TotalCap+300, "minecraft 4", t0)
	res = mustTotalRel(t, ix, q, TotalCap, "gte")
	_ = res
	if ix.gen != gen {
		t.Fatalf("new docs changed gen")
	}
	// Remove most of them: the cached "gte" must not survive.
	var recs []yt.Record
	for i := 20; i < TotalCap+300; i++ {
		recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(i), ObservedAt: t0.Add(time.Hour)}))
	}
	mustApply(t, ix, recs...)
	mustTotalRel(t, ix, q, 10, "eq")
}

func mustTotalRel(t *testing.T, ix *Index, q Query, want int, rel string) Result {
	t.Helper()
	res, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != want || res.TotalRelation != rel {
		t.Fatalf("%q: total %d %s, want %d %s", q.Q, res.Total, res.TotalRelation, want, rel)
	}
	return res
}

func TestThumbnail(t *testing.T) {
	ix := newMem(t)
	std := vspec{id: vidID(1), title: "a"}
	custom := vspec{id: vidID(2), title: "b"}
	none := vspec{id: vidID(3), title: "c"}
	rc, rn := custom.video(), none.video()
	rc.Snippet.Thumbnail.URL = "https://i.ytimg.com/vi/" + vidID(2) + "/maxresdefault.jpg"
	rn.Snippet.Thumbnail.URL = ""
	mustApply(t, ix, std.rec(), yt.NewVideoRecord("api", rc), yt.NewVideoRecord("api", rn))
	for id, want := range map[string]string{vidID(1): std.video().Snippet.Thumbnail.URL, vidID(2): rc.Snippet.Thumbnail.URL, vidID(3): ""} {
		if h, _ := ix.Video(id); h.ThumbnailURL != want {
			t.Errorf("%s: thumbnail %q, want %q", id, h.ThumbnailURL, want)
		}
	}
}

// TestFlushOpenNoFilterKeys: docs without channel, category or language
// (nothing interned) survive a snapshot round trip.
func TestFlushOpenNoFilterKeys(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := vspec{id: vidID(1), title: "초등영어 파닉스", views: 5, pub: t0}.video()
	v.Snippet.ChannelID, v.Snippet.CategoryID, v.Snippet.DefaultLanguage, v.ContentDetails.Duration = "", "", "", ""
	if err := ix.Apply(context.Background(), []yt.Record{yt.NewVideoRecord("test", v)}); err != nil {
		t.Fatal(err)
	}
	if res, err := ix.Search(context.Background(), Query{Q: "영어"}); err != nil || res.Total != 1 {
		t.Fatalf("before the flush: %d hits, %v (record rejected?)", res.Total, err)
	}
	if n := len(ix.strs.strs); n != 0 {
		t.Fatalf("%d strings interned; the case needs none", n)
	}
	ix2 := flushReopen(t, ix, dir)
	if res, err := ix2.Search(context.Background(), Query{Q: "영어"}); err != nil || res.Total != 1 {
		t.Fatalf("after reopening: %d hits, %v", res.Total, err)
	}
}
