package sim

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

func TestIDsAreValidAndDecodable(t *testing.T) {
	s, err := New(Config{Seed: 42, Channels: 100000})
	if err != nil {
		t.Fatal(err)
	}
	ids := s.u.ids
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for i := 0; i < 5000; i++ {
		ci := r.IntN(100000)
		ord := r.IntN(1 << ordBits)
		cid := ids.channelID(ci)
		if err := yt.ValidateChannelID(cid); err != nil {
			t.Fatal(err)
		}
		if got, ok := ids.channelIndex(cid); !ok || got != ci {
			t.Fatalf("channel %d -> %s -> %d %v", ci, cid, got, ok)
		}
		vid := ids.videoID(ci, ord)
		if err := yt.ValidateVideoID(vid); err != nil {
			t.Fatal(err)
		}
		if seen[vid] {
			t.Fatalf("duplicate video id %s", vid)
		}
		seen[vid] = true
		gc, go_, ok := ids.videoRef(vid)
		if !ok || gc != ci || go_ != ord {
			t.Fatalf("video (%d,%d) -> %s -> (%d,%d) %v", ci, ord, vid, gc, go_, ok)
		}
	}
	// Random ids are not in the universe.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	known := 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := 0; j < 11; j++ {
			b.WriteByte(alphabet[r.IntN(64)])
		}
		if _, _, ok := ids.videoRef(b.String()); ok {
			known++
		}
		b.Reset()
		b.WriteString("UC")
		for j := 0; j < 22; j++ {
			b.WriteByte(alphabet[r.IntN(64)])
		}
		if _, ok := ids.channelIndex(b.String()); ok {
			known++
		}
	}
	if known != 0 {
		t.Fatalf("%d random ids decoded as known", known)
	}
	// Another seed: different ids.
	s2, _ := New(Config{Seed: 43, Channels: 100000})
	if s2.ChannelIDs(1)[0] == s.ChannelIDs(1)[0] {
		t.Fatal("seed does not change ids")
	}
	if _, ok := s2.u.ids.channelIndex(s.ChannelIDs(1)[0]); ok {
		t.Fatal("id of seed 42 known to seed 43")
	}
}

func TestDeterminism(t *testing.T) {
	paths := func(e *env) []string {
		c := e.s.ChannelIDs(2)
		ups := e.s.UploadIDs(c[0], e.s.Now())
		return []string{
			"/youtube/v3/channels?key=k&part=snippet,statistics,contentDetails&id=" + c[0] + "," + c[1],
			"/youtube/v3/videos?key=k&part=snippet,statistics,contentDetails&id=" + strings.Join(ups[:min(len(ups), 20)], ","),
			"/youtube/v3/playlistItems?key=k&part=snippet,contentDetails&maxResults=50&playlistId=UU" + c[1][2:],
			"/youtube/v3/search?key=k&part=snippet&q=영어&maxResults=20",
			"/youtube/v3/videos?key=k&part=snippet,statistics&chart=mostPopular&regionCode=KR&maxResults=50",
			"/feeds/videos.xml?channel_id=" + c[0],
		}
	}
	a := newEnv(t, Config{Seed: 99, QuotaPerDay: -1})
	b := newEnv(t, Config{Seed: 99, QuotaPerDay: -1})
	pa, pb := paths(a), paths(b)
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("paths differ")
		}
		ra, rb := a.get(t, pa[i]), b.get(t, pb[i])
		if ra.status != 200 || string(ra.body) != string(rb.body) {
			t.Fatalf("%s: not byte-identical (status %d)", pa[i], ra.status)
		}
	}
}

func TestVideoCountsFollowConfig(t *testing.T) {
	s, err := New(Config{Seed: 5, Channels: 10000, VideosPerChannel: 100})
	if err != nil {
		t.Fatal(err)
	}
	total, maxK, minK := 0, 0, 1<<30
	for i := 0; i < 10000; i++ {
		b := s.u.channelBase(i)
		total += b.k0
		maxK, minK = max(maxK, b.k0), min(minK, b.k0)
	}
	if total < 850000 || total > 1150000 {
		t.Fatalf("10,000 channels x mean 100 gave %d videos", total)
	}
	if maxK < 10*100 || minK > 10 {
		t.Fatalf("uploads per channel not skewed: min %d max %d", minK, maxK)
	}
	// Zipf subscribers: most popular first.
	now := s.Now()
	prev := int64(1 << 62)
	for _, id := range s.ChannelIDs(50) {
		c, ok := s.Channel(id, now)
		if !ok {
			t.Fatal("channel missing")
		}
		if c.Statistics.SubscriberCount == nil {
			continue
		}
		if *c.Statistics.SubscriberCount > prev {
			t.Fatalf("channels not ordered by popularity")
		}
		prev = *c.Statistics.SubscriberCount
	}
}

func TestLazyScaling(t *testing.T) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	e := newEnv(t, Config{Seed: 1, Channels: 100000, VideosPerChannel: 100, QuotaPerDay: -1})
	now := e.s.Now()
	last := e.s.ChannelIDs(100000)[99999]
	ups := e.s.UploadIDs(last, now)
	if len(ups) == 0 {
		t.Fatal("no uploads for the last channel")
	}
	for _, p := range []string{
		"/youtube/v3/channels?key=k&part=snippet,statistics,contentDetails&id=" + last,
		"/youtube/v3/videos?key=k&part=snippet,statistics,contentDetails&id=" + ups[0],
		"/youtube/v3/playlistItems?key=k&part=snippet&maxResults=50&playlistId=UU" + last[2:],
		"/youtube/v3/videos?key=k&part=snippet&chart=mostPopular&regionCode=KR",
		"/feeds/videos.xml?channel_id=" + last,
	} {
		if r := e.get(t, p); r.status != 200 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	// A video deep in the 10M-video universe decodes without any table.
	vid := e.s.u.ids.videoID(77777, 3)
	if _, ok := e.s.Video(vid, now); !ok {
		if v, ok := e.s.u.resolveVideo(vid, now); !ok || !v.gone(now) {
			t.Fatalf("video (77777,3) unknown")
		}
	}
	// The universe really holds ~10M videos.
	total := 0
	for i := 0; i < 100000; i++ {
		b := e.s.u.channelBase(i)
		total += e.s.u.uploadCount(&b, now)
	}
	if total < 8500000 || total > 11500000 {
		t.Fatalf("universe has %d videos, want ~10M", total)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > 50<<20 {
		t.Fatalf("heap %d MB after building a 10M-video universe", after.HeapAlloc>>20)
	}
	t.Logf("%d videos; heap before %d MB, after %d MB", total, before.HeapAlloc>>20, after.HeapAlloc>>20)
}

func TestPagingUnderGrowth(t *testing.T) {
	e := newEnv(t, Config{Seed: 8, QuotaPerDay: -1})
	ch := e.s.ChannelIDs(1)[0]
	pl := "UU" + ch[2:]
	t0 := e.s.Now()
	want := e.s.UploadIDs(ch, t0)
	if len(want) < 120 {
		t.Fatalf("top channel has only %d uploads", len(want))
	}
	var got []string
	tok := ""
	for page := 0; ; page++ {
		r := e.get(t, "/youtube/v3/playlistItems?key=k&part=snippet,contentDetails&maxResults=50&playlistId="+pl+"&pageToken="+tok)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		m := jsonOf(t, r.body)
		for _, it := range m["items"].([]any) {
			got = append(got, it.(map[string]any)["contentDetails"].(map[string]any)["videoId"].(string))
		}
		if page == 0 {
			// New uploads appear while we page.
			e.s.Advance(60 * 24 * time.Hour)
			if n := len(e.s.UploadIDs(ch, e.s.Now())); n <= len(want) {
				t.Fatalf("no new uploads after 60 days (%d)", n)
			}
		}
		next, _ := m["nextPageToken"].(string)
		if next == "" {
			break
		}
		tok = next
	}
	if !equalStrings(got, want) {
		t.Fatalf("walked %d items, want exactly the %d uploads of the start, once each", len(got), len(want))
	}
	// A previous-page token from page 2 leads back to newer items, including new uploads.
	r := e.get(t, "/youtube/v3/playlistItems?key=k&part=contentDetails&maxResults=50&playlistId="+pl)
	m := jsonOf(t, r.body)
	r = e.get(t, "/youtube/v3/playlistItems?key=k&part=contentDetails&maxResults=50&playlistId="+pl+"&pageToken="+m["nextPageToken"].(string))
	m2 := jsonOf(t, r.body)
	r = e.get(t, "/youtube/v3/playlistItems?key=k&part=contentDetails&maxResults=50&playlistId="+pl+"&pageToken="+m2["prevPageToken"].(string))
	if string(r.body) != string(e.get(t, "/youtube/v3/playlistItems?key=k&part=contentDetails&maxResults=50&playlistId="+pl).body) {
		// Same items; the prev page has a prevPageToken-free first page only when at the top.
		a, b := items(t, r.body), m["items"].([]any)
		if len(a) != len(b) || a[0]["id"] != b[0].(map[string]any)["id"] {
			t.Fatalf("prevPageToken does not lead back to page 1")
		}
	}
}

func TestStatisticsMonotone(t *testing.T) {
	s, err := New(Config{Seed: 21, Channels: 300})
	if err != nil {
		t.Fatal(err)
	}
	start := s.Now()
	for _, cid := range s.ChannelIDs(20) {
		var prev yt.Channel
		for step := 0; step < 30; step++ {
			at := start.Add(time.Duration(step) * 37 * time.Hour)
			c, ok := s.Channel(cid, at)
			if !ok {
				t.Fatal("channel missing")
			}
			if step > 0 && (yt.Val(c.Statistics.ViewCount) < yt.Val(prev.Statistics.ViewCount) ||
				yt.Val(c.Statistics.SubscriberCount) < yt.Val(prev.Statistics.SubscriberCount) ||
				yt.Val(c.Statistics.VideoCount) < yt.Val(prev.Statistics.VideoCount)) {
				t.Fatalf("channel stats decreased at %v", at)
			}
			prev = c
		}
		if yt.Val(prev.Statistics.ViewCount) <= 0 {
			t.Fatal("no channel views")
		}
		ups := s.UploadIDs(cid, start)
		for _, vid := range ups[:min(len(ups), 10)] {
			var pv yt.Video
			grew := false
			for step := 0; step < 20; step++ {
				at := start.Add(time.Duration(step) * 11 * time.Hour)
				v, ok := s.Video(vid, at)
				if !ok {
					break // became private/deleted
				}
				if step > 0 {
					if yt.Val(v.Statistics.ViewCount) < yt.Val(pv.Statistics.ViewCount) ||
						yt.Val(v.Statistics.LikeCount) < yt.Val(pv.Statistics.LikeCount) ||
						yt.Val(v.Statistics.CommentCount) < yt.Val(pv.Statistics.CommentCount) {
						t.Fatalf("video stats decreased")
					}
					grew = grew || yt.Val(v.Statistics.ViewCount) > yt.Val(pv.Statistics.ViewCount)
				}
				pv = v
			}
			if !grew && pv.ID != "" && yt.Val(pv.Statistics.ViewCount) > 1000 {
				t.Errorf("video %s views never grew", vid)
			}
		}
	}
}

// TestTombstonesEditsHiddenStats checks the deterministic fractions of special videos.
func TestTombstonesEditsHiddenStats(t *testing.T) {
	s, err := New(Config{Seed: 4, Channels: 200})
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	var total, gone, edited, hiddenLikes, noComments, hiddenSubs int
	var goneV, editV *vidBase
	for ci := 0; ci < 200; ci++ {
		m := s.u.channelMeta(ci)
		if m.hiddenSubs {
			hiddenSubs++
			c, _ := s.Channel(m.id, now)
			if c.Statistics.SubscriberCount != nil || !c.Statistics.HiddenSubscriberCount {
				t.Fatal("hidden subscriber count shown")
			}
		}
		n := s.u.uploadCount(&m.chanBase, now)
		for ord := 0; ord < n; ord++ {
			v := s.u.video(m, ord)
			total++
			if v.goneKind != goneNone {
				gone++
				if goneV == nil && v.goneAt.After(now) {
					goneV = v
				}
			}
			if !v.editAt.IsZero() {
				edited++
				if editV == nil && v.editAt.After(now) && v.goneKind == goneNone {
					editV = v
				}
			}
			if v.hideLikes {
				hiddenLikes++
			}
			if v.noComments {
				noComments++
			}
		}
	}
	frac := func(n int) float64 { return float64(n) / float64(total) }
	if f := frac(gone); f < 0.015 || f > 0.05 {
		t.Errorf("gone fraction %.3f", f)
	}
	if f := frac(edited); f < 0.01 || f > 0.04 {
		t.Errorf("edited fraction %.3f", f)
	}
	if frac(hiddenLikes) < 0.02 || frac(noComments) < 0.02 || hiddenSubs == 0 {
		t.Errorf("hidden likes %d, no comments %d, hidden subs %d", hiddenLikes, noComments, hiddenSubs)
	}
	if goneV == nil || editV == nil {
		t.Fatal("no future tombstone or title edit in the universe")
	}
	// Tombstone: public before goneAt, absent after, still in the uploads list.
	if _, ok := s.Video(goneV.id, goneV.goneAt.Add(-time.Second)); !ok {
		t.Fatal("video gone too early")
	}
	if _, ok := s.Video(goneV.id, goneV.goneAt); ok {
		t.Fatal("video still public after goneAt")
	}
	if !contains(s.UploadIDs(goneV.ch.id, goneV.goneAt), goneV.id) {
		t.Fatal("gone video missing from UploadIDs")
	}
	// Title edit.
	b, _ := s.Video(editV.id, editV.editAt.Add(-time.Second))
	a, _ := s.Video(editV.id, editV.editAt)
	if a.Snippet.Title == b.Snippet.Title || a.ETag == b.ETag {
		t.Fatalf("title not edited: %q", a.Snippet.Title)
	}
	// Hidden likes / disabled comments: field absent in the API JSON.
	e := newEnv(t, Config{Seed: 4, Channels: 200})
	var hl, nc string
	for ci := 0; ci < 200 && (hl == "" || nc == ""); ci++ {
		m := e.s.u.channelMeta(ci)
		n := e.s.u.uploadCount(&m.chanBase, now)
		for ord := 0; ord < n; ord++ {
			v := e.s.u.video(m, ord)
			if v.gone(now) {
				continue
			}
			if v.hideLikes && hl == "" {
				hl = v.id
			}
			if v.noComments && nc == "" {
				nc = v.id
			}
		}
	}
	r := e.get(t, "/youtube/v3/videos?key=k&part=statistics&id="+hl+","+nc)
	it := items(t, r.body)
	if len(it) != 2 {
		t.Fatalf("items %d", len(it))
	}
	if _, ok := it[0]["statistics"].(map[string]any)["likeCount"]; ok {
		t.Error("likeCount present for hidden likes")
	}
	if _, ok := it[1]["statistics"].(map[string]any)["commentCount"]; ok {
		t.Error("commentCount present with comments disabled")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestSearchFindsKoreanTerms(t *testing.T) {
	e := newEnv(t, Config{Seed: 1, Channels: 2000, QuotaPerDay: -1})
	for _, q := range []string{"초등영어", "영어", "먹방"} {
		r := e.get(t, "/youtube/v3/search?key=k&part=snippet&type=video&maxResults=50&q="+q)
		it := items(t, r.body)
		if len(it) == 0 {
			t.Fatalf("q=%s: no results", q)
		}
		for _, x := range it {
			sn := x["snippet"].(map[string]any)
			vid := x["id"].(map[string]any)["videoId"].(string)
			v, ok := e.s.Video(vid, e.s.Now())
			if !ok {
				t.Fatalf("search returned non-public %s", vid)
			}
			hay := strings.ToLower(v.Snippet.Title + " " + strings.Join(v.Snippet.Tags, " ") + " " + v.Snippet.ChannelTitle)
			if !strings.Contains(hay, q) {
				t.Fatalf("q=%s: result %q does not match", q, sn["title"])
			}
		}
	}
	// order=date is newest first; channelId restricts to the channel.
	ch := e.s.ChannelIDs(1)[0]
	r := e.get(t, "/youtube/v3/search?key=k&part=snippet&order=date&maxResults=50&channelId="+ch)
	prev := "9999"
	for _, x := range items(t, r.body) {
		sn := x["snippet"].(map[string]any)
		if sn["channelId"] != ch || sn["publishedAt"].(string) > prev {
			t.Fatalf("channel search: %v", sn)
		}
		prev = sn["publishedAt"].(string)
	}
	// Paging: page 2 continues page 1.
	p1 := jsonOf(t, e.get(t, "/youtube/v3/search?key=k&part=id&q=먹방&maxResults=5").body)
	p2 := jsonOf(t, e.get(t, "/youtube/v3/search?key=k&part=id&q=먹방&maxResults=5&pageToken="+p1["nextPageToken"].(string)).body)
	both := jsonOf(t, e.get(t, "/youtube/v3/search?key=k&part=id&q=먹방&maxResults=10").body)
	ids := func(m map[string]any) (out []string) {
		for _, x := range m["items"].([]any) {
			out = append(out, x.(map[string]any)["id"].(map[string]any)["videoId"].(string))
		}
		return out
	}
	if !equalStrings(append(ids(p1), ids(p2)...), ids(both)) || p2["prevPageToken"] != "CAAQAQ" {
		t.Fatalf("search paging inconsistent")
	}
	if u := e.s.Usage(); u.Units["k"] != 100*int64(u.Calls["search"]) {
		t.Fatalf("search must cost 100 units: %+v", u)
	}
}

func TestForHandleAndHandles(t *testing.T) {
	s, err := New(Config{Seed: 2, Channels: 1000})
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	seen := map[string]bool{}
	for _, id := range s.ChannelIDs(1000) {
		c, _ := s.Channel(id, now)
		h := c.Snippet.CustomURL
		if !strings.HasPrefix(h, "@") || len(h) < 4 || len(h) > 31 || seen[strings.ToLower(h)] {
			t.Fatalf("bad or duplicate handle %q", h)
		}
		seen[strings.ToLower(h)] = true
		for _, q := range []string{h, strings.ToUpper(h), h[1:]} {
			if got, ok := s.ChannelByHandle(q); !ok || got != id {
				t.Fatalf("forHandle %q -> %q %v, want %s", q, got, ok, id)
			}
		}
	}
	for _, bad := range []string{"@nobody", "@x1", "@" + strings.Repeat("a", 40), "", "@123"} {
		if _, ok := s.ChannelByHandle(bad); ok {
			t.Fatalf("handle %q resolved", bad)
		}
	}
}
