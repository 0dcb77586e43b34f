package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/yt"
)

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	code, b := get(t, u)
	if code != 200 {
		t.Fatalf("%s: HTTP %d: %s", u, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

func TestSeriesWithHotPoint(t *testing.T) {
	s := fixture(t)
	var vs api.VideoSeries
	getJSON(t, s.URL+"/v1/videos/video000000/stats", &vs)
	if len(vs.Points) != 24 {
		t.Fatalf("%d points, want 23 from the lake + 1 hot", len(vs.Points))
	}
	last := vs.Points[len(vs.Points)-1]
	if !last.Hot || *last.Views != 1000 || !last.At.Equal(fixtureAt) {
		t.Fatalf("last point %+v, want the index's hot observation of 1000 views at %s", last, fixtureAt)
	}
	for i, p := range vs.Points[:23] {
		if p.Hot || *p.Views != 1000-viewRate[0]*int64(23-i) {
			t.Fatalf("point %d: %+v", i, p)
		}
	}
	getJSON(t, s.URL+"/v1/videos/video000002/stats?interval=day", &vs)
	if len(vs.Points) != 2 || *vs.Points[1].Views != 3000 || *vs.Points[0].Views != 3000-40*11 {
		t.Fatalf("daily points: %+v", vs.Points)
	}
	var cs api.ChannelSeries
	getJSON(t, s.URL+"/v1/channels/"+chanID(1)+"/stats?from=2026-11-15", &cs)
	if len(cs.Points) != 6 || *cs.Points[5].Subscribers != 50000 || *cs.Points[0].Subscribers != 40000 {
		t.Fatalf("channel points: %+v", cs.Points)
	}
}

func TestRankingsAndTrending(t *testing.T) {
	s := fixture(t)
	var rk api.ChannelRanking
	getJSON(t, s.URL+"/v1/rankings/channels?by=subscribers", &rk)
	if len(rk.Items) != 2 || rk.Items[0].ChannelID != chanID(1) || *rk.Items[0].Subscribers != 50000 || rk.Items[1].Title != "채널 0" {
		t.Fatalf("by subscribers: %+v", rk.Items)
	}
	getJSON(t, s.URL+"/v1/rankings/channels?by=subscriber_growth&days=7", &rk)
	if *rk.Items[0].SubscriberGrowth != 12000 || *rk.Items[1].SubscriberGrowth != 600 {
		t.Fatalf("growth: %+v", rk.Items)
	}
	getJSON(t, s.URL+"/v1/rankings/channels?country=KR&category_id=27", &rk)
	if len(rk.Items) != 1 || rk.Items[0].ChannelID != chanID(0) || rk.Items[0].CategoryID != "27" {
		t.Fatalf("KR: %+v", rk.Items)
	}
	getJSON(t, s.URL+"/v1/rankings/channels?category_id=10", &rk)
	if len(rk.Items) != 0 {
		t.Fatalf("category 10: %+v", rk.Items)
	}
	var tr api.TrendingResult
	getJSON(t, s.URL+"/v1/trending/videos?limit=6", &tr)
	var ids []string
	for _, it := range tr.Items {
		ids = append(ids, it.VideoID)
	}
	// views per hour: 40, 10, 5, 3, 2, 1
	if fmt.Sprint(ids) != "[video000002 video000001 video000000 video000005 video000004 video000003]" {
		t.Fatalf("trending order %v", ids)
	}
	if it := tr.Items[0]; it.ViewsPerHour != 40 || it.Title != "먹방 ASMR 라면" || it.ViewCount != 3000 {
		t.Fatalf("top trending %+v", it)
	}
}

func TestChannelSearchAndVideos(t *testing.T) {
	s := fixture(t)
	var cr api.ChannelSearchResult
	getJSON(t, s.URL+"/v1/channels/search?q="+url.QueryEscape("채널 1"), &cr)
	if len(cr.Items) != 1 || cr.Items[0].ID != chanID(1) || *cr.Items[0].SubscriberCount != 50000 || cr.Items[0].MatchedVideos != 3 {
		t.Fatalf("channel search: %+v", cr.Items)
	}
	// Paging a channel's videos by views visits each once, in order.
	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		u := s.URL + "/v1/channels/" + chanID(0) + "/videos?sort=views&limit=2"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		var res api.SearchResult
		getJSON(t, u, &res)
		for _, h := range res.Items {
			seen = append(seen, h.ID)
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(seen) != "[video000004 video000002 video000000]" {
		t.Fatalf("channel videos by views: %v", seen)
	}
}

func TestNoLake(t *testing.T) {
	s := fixtureWith(t, fixtureOpts{noLake: true})
	code, b := get(t, s.URL+"/v1/trending/videos")
	if code != 503 || !strings.Contains(string(b), "lake_unavailable") {
		t.Fatalf("%d %s", code, b)
	}
	if code, b := get(t, s.URL+"/v1/status"); code != 200 {
		t.Fatalf("status without lake: %d %s", code, b)
	}
}

func do(t *testing.T, method, u string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAPIKeysAndRateLimits(t *testing.T) {
	dir := t.TempDir()
	ks, err := api.OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret, k, err := ks.Create("backend", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.Create("backend", 1, 1); err == nil {
		t.Fatal("a second key with the same name was accepted")
	}
	if _, _, err := ks.Create("bad\nname", 1, 1); err == nil {
		t.Fatal("a bad name was accepted")
	}
	// Only the hash is stored.
	ks2, err := api.OpenKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	stored := ks2.List()
	if len(stored) != 1 || stored[0].Hash == "" || strings.Contains(fmt.Sprint(stored), secret[len("tlk_"+k.ID+"_"):]) {
		t.Fatalf("stored keys: %+v", stored)
	}
	s := fixtureWith(t, fixtureOpts{keys: ks2})
	search := s.URL + "/v1/videos/search?q=" + url.QueryEscape("영어")
	resp, body := do(t, "GET", search, nil)
	if resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) {
		t.Fatalf("no key: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", search, map[string]string{"Authorization": "Bearer " + secret + "x"})
	if resp.StatusCode != 401 || strings.Contains(body, secret) {
		t.Fatalf("wrong key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", s.URL+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz must be public: %d", resp.StatusCode)
	}
	codes := map[int]int{}
	var retry string
	for i := 0; i < 6; i++ {
		hdr := map[string]string{"X-API-Key": secret}
		if i%2 == 0 {
			hdr = map[string]string{"Authorization": "Bearer " + secret}
		}
		resp, body := do(t, "GET", search, hdr)
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 {
			retry = resp.Header.Get("Retry-After")
			if !strings.Contains(body, `"rate_limited"`) {
				t.Fatalf("429 body %s", body)
			}
		}
	}
	if codes[200] < 2 || codes[429] == 0 || retry != "1" {
		t.Fatalf("codes %v, Retry-After %q: want the burst of 2 admitted, then 429 with Retry-After: 1", codes, retry)
	}
	if err := ks2.Revoke("backend"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if resp, _ := do(t, "GET", search, map[string]string{"X-API-Key": secret}); resp.StatusCode != 401 {
		t.Fatalf("revoked key: %d", resp.StatusCode)
	}
}

func TestCORSAndLimits(t *testing.T) {
	s := fixtureWith(t, fixtureOpts{mod: func(c *api.Config) {
		c.CORSOrigins = []string{"https://app.example"}
		c.AnonRate, c.AnonBurst = 1000, 1000
	}})
	resp, _ := do(t, "OPTIONS", s.URL+"/v1/videos/search", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "GET", s.URL+"/healthz", map[string]string{"Origin": "https://evil.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS granted to an origin not configured")
	}
	resp, body := do(t, "GET", s.URL+"/v1/videos/search?q="+strings.Repeat("a", 9000), nil)
	if resp.StatusCode != 414 || !strings.Contains(body, `"uri_too_long"`) {
		t.Fatalf("long URI: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", s.URL+"/v1/videos/search?q=a", nil)
	if resp.StatusCode != 405 || !strings.Contains(body, `"method_not_allowed"`) {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
}

func TestSearchCache(t *testing.T) {
	s := fixtureWith(t, fixtureOpts{mod: func(c *api.Config) { c.SearchCacheTTL = time.Minute }})
	u := s.URL + "/v1/videos/search?sort=views&q=" + url.QueryEscape("영어")
	r1, b1 := do(t, "GET", u, nil)
	r2, b2 := do(t, "GET", s.URL+"/v1/videos/search?q="+url.QueryEscape("영어")+"&sort=views", nil)
	if r1.Header.Get("X-Cache") != "miss" || r2.Header.Get("X-Cache") != "hit" || b1 != b2 {
		t.Fatalf("cache: %q then %q (same parameters in another order must hit)", r1.Header.Get("X-Cache"), r2.Header.Get("X-Cache"))
	}
	if r3, _ := do(t, "GET", u+"&limit=1", nil); r3.Header.Get("X-Cache") != "miss" {
		t.Fatal("different parameters hit the cache")
	}
}

// TestSearchCacheStaleWhileRevalidate: after the TTL an entry is served
// stale while one background request refreshes it; after twice the TTL it
// is a miss.
func TestSearchCacheStaleWhileRevalidate(t *testing.T) {
	var offset atomic.Int64
	var ix *index.Index
	reg := prometheus.NewRegistry()
	s := fixtureWith(t, fixtureOpts{mod: func(c *api.Config) {
		c.SearchCacheTTL = time.Minute
		c.Now = func() time.Time { return fixtureNow.Add(time.Duration(offset.Load())) }
		c.Registerer, c.Gatherer = reg, reg
		ix = c.Index.(*index.Index)
	}})
	u := s.URL + "/v1/videos/search?sort=views&q=" + url.QueryEscape("영어")
	r1, b1 := do(t, "GET", u, nil)
	if r1.Header.Get("X-Cache") != "miss" || !strings.Contains(b1, `"view_count":2000`) {
		t.Fatalf("first: %q %s", r1.Header.Get("X-Cache"), b1)
	}
	// video000001 (영어 듣기 평가) gains views; the cache still has the old page.
	v := &yt.Video{ID: "video000001", FetchedAt: fixtureAt.Add(time.Hour)}
	v.Snippet = yt.VideoSnippet{Title: "영어 듣기 평가", ChannelID: chanID(1), ChannelTitle: "채널 1", PublishedAt: fixtureAt.Add(-time.Hour).AddDate(0, 0, -2), CategoryID: "27"}
	v.Statistics.ViewCount, v.Statistics.LikeCount, v.Statistics.CommentCount = yt.Int64(777777), yt.Int64(200), yt.Int64(20)
	if err := ix.Apply(context.Background(), []yt.Record{yt.NewVideoRecord("test", v)}); err != nil {
		t.Fatal(err)
	}
	if r, b := do(t, "GET", u, nil); r.Header.Get("X-Cache") != "hit" || b != b1 {
		t.Fatalf("within the TTL: %q", r.Header.Get("X-Cache"))
	}
	offset.Store(int64(time.Minute + time.Second))
	if r, b := do(t, "GET", u, nil); r.Header.Get("X-Cache") != "stale" || b != b1 {
		t.Fatalf("after the TTL: %q, same body %v", r.Header.Get("X-Cache"), b == b1)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, b := do(t, "GET", u, nil)
		if r.Header.Get("X-Cache") == "hit" {
			if !strings.Contains(b, `"view_count":777777`) {
				t.Fatalf("revalidated page lacks the new views: %s", b)
			}
			break
		}
		if r.Header.Get("X-Cache") != "stale" || time.Now().After(deadline) {
			t.Fatalf("waiting for the revalidation: %q", r.Header.Get("X-Cache"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := gatherValue(t, reg, "tubelake_search_cache_revalidations_total"); got != 1 {
		t.Errorf("revalidations metric %v, want 1 (one background refresh for many stale reads)", got)
	}
	offset.Store(int64(4 * time.Minute))
	if r, _ := do(t, "GET", u, nil); r.Header.Get("X-Cache") != "miss" {
		t.Fatalf("after twice the TTL: %q, want miss", r.Header.Get("X-Cache"))
	}
}

// gatherValue returns the value of the unlabelled counter or gauge name.
func gatherValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
