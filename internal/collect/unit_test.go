package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tubelake/tubelake/internal/yt"
)

const testSecret = "AIzaSyTESTSECRETKEYxxxxxxxxxxxxxxxxxxx"

// replay serves recorded real API bodies, checking the path and key.
func replay(t *testing.T, routes map[string]func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := routes[r.URL.Path]
		if !ok {
			t.Errorf("unexpected path %q", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchVideosRealResponse(t *testing.T) {
	body := readShared(t, "api/python-youtube/modeldata/videos/video_api_response.json")
	var gotKey, gotIDs, gotPart atomic.Value
	srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
		"/youtube/v3/videos": func(w http.ResponseWriter, r *http.Request) {
			gotKey.Store(r.URL.Query().Get("key"))
			gotIDs.Store(r.URL.Query().Get("id"))
			gotPart.Store(r.URL.Query().Get("part"))
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		},
	})
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}, Now: func() time.Time { return fixed }}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.FetchVideos(context.Background(), []string{"D-lhorsDlUQ", "gone0000000"})
	if err != nil {
		t.Fatal(err)
	}
	if gotKey.Load() != testSecret || gotIDs.Load() != "D-lhorsDlUQ,gone0000000" || gotPart.Load() != "snippet,statistics,contentDetails" {
		t.Fatalf("request: key ok=%v id=%v part=%v", gotKey.Load() == testSecret, gotIDs.Load(), gotPart.Load())
	}
	if st.Calls != 1 || st.QuotaUnits != 1 || st.Videos != 1 || st.Tombstones != 1 {
		t.Fatalf("stats %v", st)
	}
	recs := pub.records()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	var v *yt.Video
	var ev *yt.Event
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		if r.Video != nil {
			v = r.Video
		} else {
			ev = r.Event
		}
	}
	if v == nil || ev == nil {
		t.Fatalf("want one video and one event, got %+v", recs)
	}
	if ev.Type != yt.EventTombstone || ev.EntityKind != yt.KindVideo || ev.EntityID != "gone0000000" {
		t.Fatalf("tombstone %+v", ev)
	}
	want := yt.Video{ID: "D-lhorsDlUQ", FetchedAt: yt.TruncMicros(fixed)}
	if v.ID != want.ID || !v.FetchedAt.Equal(want.FetchedAt) {
		t.Fatalf("id/fetchedAt %q %v", v.ID, v.FetchedAt)
	}
	if v.Snippet.ChannelID != "UC_x5XG1OV2P6uZZ5FSM9Ttw" || v.Snippet.Title != "What are Actions on Google (Assistant on Air)" ||
		!v.Snippet.PublishedAt.Equal(time.Date(2019, 3, 21, 20, 37, 49, 0, time.UTC)) {
		t.Fatalf("snippet %+v", v.Snippet)
	}
	if yt.Val(v.Statistics.ViewCount) != 7920 || yt.Val(v.Statistics.LikeCount) != 190 || yt.Val(v.Statistics.CommentCount) != 32 {
		t.Fatalf("statistics %+v", v.Statistics)
	}
	if v.ContentDetails.Duration != "PT21M7S" || v.ContentDetails.Definition != "hd" || v.ContentDetails.Caption != "true" {
		t.Fatalf("contentDetails %+v", v.ContentDetails)
	}
	if !strings.Contains(v.Snippet.Thumbnail.URL, "maxresdefault") || v.Snippet.Thumbnail.Width != 1280 {
		t.Fatalf("best thumbnail %+v", v.Snippet.Thumbnail)
	}
}

// TestAbsentCountsStayNil: a hidden like count (field absent) is nil, a
// real zero is 0 — the generated client cannot tell them apart.
func TestAbsentCountsStayNil(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(readShared(t, "api/python-youtube/modeldata/videos/video_api_response.json"), &doc); err != nil {
		t.Fatal(err)
	}
	stats := doc["items"].([]any)[0].(map[string]any)["statistics"].(map[string]any)
	delete(stats, "likeCount")
	stats["commentCount"] = "0"
	body, _ := json.Marshal(doc)
	srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
		"/youtube/v3/videos": func(w http.ResponseWriter, r *http.Request) { w.Write(body) },
	})
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}}, pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FetchVideos(context.Background(), []string{"D-lhorsDlUQ"}); err != nil {
		t.Fatal(err)
	}
	v := pub.records()[0].Video
	if v.Statistics.LikeCount != nil {
		t.Errorf("absent likeCount = %d, want nil", *v.Statistics.LikeCount)
	}
	if v.Statistics.CommentCount == nil || *v.Statistics.CommentCount != 0 {
		t.Errorf("commentCount \"0\" = %v, want 0", v.Statistics.CommentCount)
	}
}

func TestConvertChannelReal(t *testing.T) {
	body := readShared(t, "api/python-youtube/apidata/channels/info_multiple.json")
	var resp struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
		"/youtube/v3/channels": func(w http.ResponseWriter, r *http.Request) { w.Write(body) },
		"/youtube/v3/playlistItems": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"kind":"youtube#playlistItemListResponse","items":[]}`))
		},
	})
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), []string{"UC_x5XG1OV2P6uZZ5FSM9Ttw", "UCK8sQmJBp8GCxrOtXWBpyEA"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Channels != 2 || st.Tombstones != 0 {
		t.Fatalf("stats %v", st)
	}
	for _, r := range pub.records() {
		ch := r.Channel
		if ch == nil {
			t.Fatalf("unexpected record %+v", r)
		}
		if ch.ID == "UCK8sQmJBp8GCxrOtXWBpyEA" {
			if yt.Val(ch.Statistics.SubscriberCount) != 10700000 || yt.Val(ch.Statistics.VideoCount) != 2678 ||
				ch.ContentDetails.UploadsPlaylistID != "UUK8sQmJBp8GCxrOtXWBpyEA" || ch.Snippet.Title == "" {
				t.Fatalf("channel %+v", ch)
			}
		}
	}
}

func TestErrorClassificationRealBodies(t *testing.T) {
	cases := []struct {
		file, reason string
		status       int
		class        errClass
	}{
		{"api/errors/quotaExceeded_403.json", "quotaExceeded", 403, classPark},
		{"api/errors/keyInvalid_400.python-youtube.json", "keyInvalid", 400, classBadKey},
		{"api/errors/permission_denied_403.python-youtube.json", "SERVICE_UNAVAILABLE", 403, classPermanent},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			body := readShared(t, tc.file)
			srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
				"/youtube/v3/videos": func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.status)
					w.Write(body)
				},
			})
			c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}}, &slicePublisher{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.keys[0].svc.Videos.List(videoParts).Id("D-lhorsDlUQ").Do()
			if err == nil {
				t.Fatal("want error")
			}
			ae := c.classify(context.Background(), "videos.list", c.keys[0].id, err)
			if ae.Reason != tc.reason || ae.class != tc.class || ae.Code != tc.status {
				t.Fatalf("got reason=%q class=%d code=%d, want %q %d %d", ae.Reason, ae.class, ae.Code, tc.reason, tc.class, tc.status)
			}
			if strings.Contains(ae.Error(), testSecret) {
				t.Fatal("key in error")
			}
		})
	}
}

func TestScrubber(t *testing.T) {
	s := newScrubber([]string{testSecret, "other-secret"})
	in := `Get "http://127.0.0.1:1/youtube/v3/videos?alt=json&id=x&key=` + testSecret + `&part=snippet": dial tcp: refused; other-secret; key=unknownkey123`
	out := s.String(in)
	for _, bad := range []string{testSecret, "other-secret", "unknownkey123"} {
		if strings.Contains(out, bad) {
			t.Fatalf("scrubbed text still has %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, "id=x") {
		t.Fatalf("scrubbed too much: %s", out)
	}
}

// TestKeyNeverLeaksOnNetworkError: a transport error (whose text carries the
// full URL with key=) must reach neither the returned error, nor the logs,
// nor the metrics.
func TestKeyNeverLeaksOnNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // connection refused from now on
	log, logs := newTestLogger()
	reg := prometheus.NewRegistry()
	c, err := New(Config{Endpoint: url, APIKeys: []string{testSecret}, Logger: log, Registerer: reg,
		MaxRetries: 2, RetryBaseDelay: time.Millisecond}, &slicePublisher{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), []string{"UC_x5XG1OV2P6uZZ5FSM9Ttw"})
	if err == nil {
		t.Fatal("want error")
	}
	if st.Errors["network"] != 3 || st.Retries != 2 || st.Unfetched != 1 {
		t.Fatalf("stats %v", st)
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want *APIError in %v", err)
	}
	mfs, _ := reg.Gather()
	metricsText, _ := json.Marshal(mfs)
	for what, s := range map[string]string{"error": err.Error(), "logs": logs.String(), "metrics": string(metricsText)} {
		if strings.Contains(s, testSecret) {
			t.Errorf("API key leaked into %s: %s", what, s)
		}
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("expected the failure in the logs, got: %s", logs.String())
	}
	if got := testutil.ToFloat64(c.m.errors.WithLabelValues("channels.list", "network")); got != 3 {
		t.Errorf("errors_total{network} = %v", got)
	}
}

func TestParseFeedReal(t *testing.T) {
	cases := []struct {
		file, channel, first string
	}{
		{"rss/feed_UC9PBzalIcEQCsiIkq36PyUA_2025-01-01_en.xml", "UC9PBzalIcEQCsiIkq36PyUA", "W_S7iKZZdHw"},
		{"rss/feed_UC7pcEjI2U2vg6CqgbwIpjgg_2016-07-15_ja.xml", "UC7pcEjI2U2vg6CqgbwIpjgg", "LpVptTGBB8Y"},
	}
	for _, tc := range cases {
		f, err := ParseFeed(strings.NewReader(string(readShared(t, tc.file))))
		if err != nil {
			t.Fatal(err)
		}
		if f.ChannelID != tc.channel || len(f.Entries) != 15 || f.Entries[0].VideoID != tc.first {
			t.Fatalf("%s: channel %q, %d entries, first %+v", tc.file, f.ChannelID, len(f.Entries), f.Entries)
		}
		for _, e := range f.Entries {
			if e.ChannelID != tc.channel || e.Published.IsZero() || e.Title == "" || yt.ValidateVideoID(e.VideoID) != nil {
				t.Fatalf("entry %+v", e)
			}
		}
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add(`<feed xmlns="http://www.w3.org/2005/Atom" xmlns:yt="http://www.youtube.com/xml/schemas/2015"><yt:channelId>9PBzalIcEQCsiIkq36PyUA</yt:channelId><entry><yt:videoId>W_S7iKZZdHw</yt:videoId></entry></feed>`)
	f.Add(`<feed><entry><yt:videoId>`)
	f.Fuzz(func(t *testing.T, s string) {
		feed, err := ParseFeed(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range feed.Entries {
			if yt.ValidateVideoID(e.VideoID) != nil {
				t.Fatalf("invalid id accepted: %q", e.VideoID)
			}
		}
	})
}

// TestKeyNeverLeaksFromEchoedURL: a server (or proxy) that echoes the request
// URL, key included, into its error message must not leak it either.
func TestKeyNeverLeaksFromEchoedURL(t *testing.T) {
	srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
		"/youtube/v3/channels": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			msg, _ := json.Marshal("bad request for " + r.URL.String() + " (key " + r.URL.Query().Get("key") + ")")
			w.Write([]byte(`{"error":{"code":400,"message":` + string(msg) + `,"errors":[{"reason":"badRequest","message":` + string(msg) + `}]}}`))
		},
	})
	log, logs := newTestLogger()
	c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}, Logger: log}, &slicePublisher{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), []string{"UC_x5XG1OV2P6uZZ5FSM9Ttw"})
	if err == nil || st.Errors["badRequest"] != 1 || st.Retries != 0 || st.Calls != 1 {
		t.Fatalf("want one unretried badRequest, got %v, %v", st, err)
	}
	for what, s := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(s, testSecret) {
			t.Errorf("API key leaked into %s: %s", what, s)
		}
		if !strings.Contains(s, "REDACTED") {
			t.Errorf("%s: expected the scrubbed message, got %s", what, s)
		}
	}
}

// TestDiscoverConditionalGET serves a real feed with validators and checks
// that the second poll is conditional (304, nothing new) and that a changed
// feed yields only the ids not seen before.
func TestDiscoverConditionalGET(t *testing.T) {
	body := string(readShared(t, "rss/feed_UC9PBzalIcEQCsiIkq36PyUA_2025-01-01_en.xml"))
	const ch = "UC9PBzalIcEQCsiIkq36PyUA"
	var version atomic.Int32
	var conditional, notModified atomic.Int32
	srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
		"/feeds/videos.xml": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("channel_id") != ch || r.URL.Query().Has("key") {
				t.Errorf("feed query %q", r.URL.RawQuery)
			}
			etag := fmt.Sprintf(`"v%d"`, version.Load())
			if r.Header.Get("If-None-Match") != "" {
				conditional.Add(1)
				if r.Header.Get("If-Modified-Since") != "Wed, 01 Jan 2025 21:08:15 GMT" {
					t.Errorf("If-Modified-Since = %q", r.Header.Get("If-Modified-Since"))
				}
			}
			if r.Header.Get("If-None-Match") == etag {
				notModified.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			w.Header().Set("Last-Modified", "Wed, 01 Jan 2025 21:08:15 GMT")
			b := body
			if version.Load() == 1 { // a new upload replaces the first entry's id
				b = strings.Replace(b, "W_S7iKZZdHw", "NEWVIDEO123", -1)
			}
			w.Write([]byte(b))
		},
	})
	c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}}, &slicePublisher{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.Discover(context.Background(), []string{ch})
	if err != nil || len(ids) != 15 || ids[0] != "W_S7iKZZdHw" {
		t.Fatalf("first poll: %v %v", ids, err)
	}
	ids, err = c.Discover(context.Background(), []string{ch})
	if err != nil || len(ids) != 0 || notModified.Load() != 1 {
		t.Fatalf("second poll: %v %v (304s: %d)", ids, err, notModified.Load())
	}
	version.Store(1)
	ids, err = c.Discover(context.Background(), []string{ch})
	if err != nil || len(ids) != 1 || ids[0] != "NEWVIDEO123" {
		t.Fatalf("third poll: %v %v", ids, err)
	}
	if conditional.Load() != 2 {
		t.Fatalf("%d conditional requests, want 2", conditional.Load())
	}
}

func TestSharedRegistryAndProgressAndEmptyInput(t *testing.T) {
	reg := prometheus.NewRegistry()
	var calls atomic.Int32
	var last atomic.Value
	progress := func(s Stats) { calls.Add(1); last.Store(s) }
	for range 2 { // a second collector on the same registry reuses the series
		c, err := New(Config{Endpoint: "http://127.0.0.1:1", APIKeys: []string{testSecret}, Registerer: reg, Progress: progress}, &slicePublisher{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.Collect(context.Background(), nil)
		if err != nil || st.Calls != 0 {
			t.Fatalf("empty crawl: %v %v", st, err)
		}
	}
	if calls.Load() != 2 || last.Load().(Stats).Calls != 0 {
		t.Fatalf("progress called %d times", calls.Load())
	}
}

func TestRateLimitExceededIsRetried(t *testing.T) {
	body := readShared(t, "api/python-youtube/modeldata/videos/video_api_response.json")
	var n atomic.Int32
	srv := replay(t, map[string]func(http.ResponseWriter, *http.Request){
		"/youtube/v3/videos": func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 2 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(403)
				w.Write([]byte(`{"error":{"code":403,"message":"Rate limit exceeded","errors":[{"domain":"youtube.quota","reason":"rateLimitExceeded","message":"Rate limit exceeded"}]}}`))
				return
			}
			w.Write(body)
		},
	})
	c, err := New(Config{Endpoint: srv.URL, APIKeys: []string{testSecret}, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 20 * time.Millisecond}, &slicePublisher{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.FetchVideos(context.Background(), []string{"D-lhorsDlUQ"})
	if err != nil || st.Videos != 1 || st.Retries != 2 || st.Errors["rateLimitExceeded"] != 2 || st.QuotaUnits != 3 {
		t.Fatalf("%v %v", st, err)
	}
}

func TestPresenceScanMatchesFullDecode(t *testing.T) {
	tricky := `{"items":[
	 {"id":"a","snippet":{"description":"see \"statistics\": {\"likeCount\": 1} and \"statistics\""},
	  "statistics" : {"viewCount":"10","commentCount":"0"}},
	 {"id":"b","statistics":{"viewCount":"5","likeCount":"0","commentCount":null}}]}`
	bodies := map[string][]byte{
		"tricky":   []byte(tricky),
		"video":    readShared(t, "api/python-youtube/modeldata/videos/video_api_response.json"),
		"channels": readShared(t, "api/python-youtube/apidata/channels/info_multiple.json"),
		"popular":  readShared(t, "api/react-youtube-mock/popular.json"),
	}
	for name, raw := range bodies {
		full := statsPresence(raw)
		var ids []string
		var doc struct {
			Items []struct {
				ID         string          `json:"id"`
				Statistics json.RawMessage `json:"statistics"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		for _, it := range doc.Items {
			if len(it.Statistics) > 0 {
				ids = append(ids, it.ID)
			}
		}
		if name != "popular" && len(ids) == 0 {
			t.Fatalf("%s: no statistics in fixture", name)
		}
		if got := statsObjects(raw); len(got) != len(ids) {
			t.Fatalf("%s: scan found %d statistics objects, want %d", name, len(got), len(ids))
		}
		fast := presence(raw, ids)
		for _, id := range ids {
			for _, f := range []string{"viewCount", "likeCount", "commentCount", "subscriberCount", "videoCount"} {
				if fast[id][f] != full[id][f] {
					t.Errorf("%s: item %s field %s: scan %v, decode %v", name, id, f, fast[id][f], full[id][f])
				}
			}
		}
	}
	if p := presence([]byte(tricky), []string{"a", "b"}); p["a"]["likeCount"] || !p["a"]["commentCount"] || !p["b"]["likeCount"] || p["b"]["commentCount"] {
		t.Fatalf("tricky presence %v", p)
	}
}
