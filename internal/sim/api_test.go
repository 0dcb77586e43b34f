package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEndpoints(t *testing.T) {
	e := newEnv(t, Config{Seed: 3, QuotaPerDay: -1})
	now := e.s.Now()
	chans := e.s.ChannelIDs(5)
	ups := e.s.UploadIDs(chans[0], now)
	var public, gone string
	for _, id := range ups {
		if _, ok := e.s.Video(id, now); ok && public == "" {
			public = id
		} else if !ok && gone == "" {
			gone = id
		}
	}
	if public == "" {
		t.Fatal("no public upload")
	}
	many := strings.Repeat(public+",", 50) + ups[len(ups)-1]
	for i := 0; len(strings.Split(many, ",")) <= 50 || i < 51; i++ {
		many += "," + e.s.u.ids.videoID(1, i)
	}
	tests := []struct {
		name, path string
		status     int
		reason     string // for errors
		check      func(*testing.T, map[string]any)
	}{
		{"videos by id", "/youtube/v3/videos?key=k&part=snippet,statistics&id=" + public + ",AAAAAAAAAAA", 200, "",
			func(t *testing.T, m map[string]any) {
				it := m["items"].([]any)
				if len(it) != 1 || m["kind"] != "youtube#videoListResponse" {
					t.Fatalf("items=%d kind=%v", len(it), m["kind"])
				}
				v := it[0].(map[string]any)
				if _, ok := v["contentDetails"]; ok {
					t.Error("contentDetails present although not requested")
				}
				if v["snippet"].(map[string]any)["channelId"] != chans[0] {
					t.Error("wrong channel")
				}
			}},
		{"videos part=id only", "/youtube/v3/videos?key=k&part=id&id=" + public, 200, "",
			func(t *testing.T, m map[string]any) {
				v := m["items"].([]any)[0].(map[string]any)
				if len(v) != 3 {
					t.Errorf("part=id item has keys %v", v)
				}
			}},
		{"videos unknown part", "/youtube/v3/videos?key=k&part=snippet,bogus&id=" + public, 400, "unknownPart", nil},
		{"videos missing part", "/youtube/v3/videos?key=k&id=" + public, 400, "required", nil},
		{"videos no filter", "/youtube/v3/videos?key=k&part=snippet", 400, "missingRequiredParameter", nil},
		{"videos two filters", "/youtube/v3/videos?key=k&part=snippet&id=x&chart=mostPopular", 400, "incompatibleParameters", nil},
		{"videos > 50 ids", "/youtube/v3/videos?key=k&part=id&id=" + many, 400, "invalidFilters", nil},
		{"videos chart", "/youtube/v3/videos?key=k&part=snippet&chart=mostPopular&regionCode=KR&maxResults=10", 200, "",
			func(t *testing.T, m map[string]any) {
				if len(m["items"].([]any)) != 10 || m["nextPageToken"] != "CAoQAA" {
					t.Errorf("chart page: %d items, next %v", len(m["items"].([]any)), m["nextPageToken"])
				}
			}},
		{"videos chart maxResults 51", "/youtube/v3/videos?key=k&part=snippet&chart=mostPopular&maxResults=51", 400, "invalidParameter", nil},
		{"videos bad token", "/youtube/v3/videos?key=k&part=snippet&chart=mostPopular&pageToken=zzz", 400, "invalidPageToken", nil},
		{"channels by id", "/youtube/v3/channels?key=k&part=snippet,contentDetails,statistics&id=" + chans[0] + "," + chans[1], 200, "",
			func(t *testing.T, m map[string]any) {
				it := m["items"].([]any)
				c := it[0].(map[string]any)
				if c["contentDetails"].(map[string]any)["relatedPlaylists"].(map[string]any)["uploads"] != "UU"+chans[0][2:] {
					t.Error("uploads playlist")
				}
				pi := m["pageInfo"].(map[string]any)
				if pi["totalResults"].(float64) != 2 || pi["resultsPerPage"].(float64) != 5 {
					t.Errorf("pageInfo %v", pi)
				}
			}},
		{"channels unknown id has no items key", "/youtube/v3/channels?key=k&part=snippet&id=UCAAAAAAAAAAAAAAAAAAAAAA", 200, "",
			func(t *testing.T, m map[string]any) {
				if _, ok := m["items"]; ok {
					t.Error("items present for an empty result")
				}
			}},
		{"channels unknown part", "/youtube/v3/channels?key=k&part=fileDetails&id=" + chans[0], 400, "unknownPart", nil},
		{"playlistItems", "/youtube/v3/playlistItems?key=k&part=snippet,contentDetails&playlistId=UU" + chans[0][2:], 200, "",
			func(t *testing.T, m map[string]any) {
				if len(m["items"].([]any)) != 5 {
					t.Errorf("default page size: %d", len(m["items"].([]any)))
				}
				if _, ok := m["prevPageToken"]; ok {
					t.Error("first page has prevPageToken")
				}
			}},
		{"playlistItems unknown", "/youtube/v3/playlistItems?key=k&part=snippet&playlistId=UUAAAAAAAAAAAAAAAAAAAAAA", 404, "playlistNotFound", nil},
		{"playlistItems not uploads", "/youtube/v3/playlistItems?key=k&part=snippet&playlistId=PLxyz", 404, "playlistNotFound", nil},
		{"playlistItems bad token", "/youtube/v3/playlistItems?key=k&part=snippet&playlistId=UU" + chans[0][2:] + "&pageToken=CAUQAA", 400, "invalidPageToken", nil},
		{"search channels", "/youtube/v3/search?key=k&part=snippet&type=channel&maxResults=3", 200, "",
			func(t *testing.T, m map[string]any) {
				for _, it := range m["items"].([]any) {
					id := it.(map[string]any)["id"].(map[string]any)
					if id["kind"] != "youtube#channel" || id["channelId"] == nil {
						t.Errorf("id %v", id)
					}
				}
			}},
		{"search bad order", "/youtube/v3/search?key=k&part=snippet&order=best", 400, "invalidParameter", nil},
		{"categories", "/youtube/v3/videoCategories?key=k&part=snippet&regionCode=KR", 200, "",
			func(t *testing.T, m map[string]any) {
				it := m["items"].([]any)
				if len(it) != 31 || it[0].(map[string]any)["snippet"].(map[string]any)["title"] != "Film & Animation" {
					t.Errorf("categories: %d", len(it))
				}
			}},
		{"categories no filter", "/youtube/v3/videoCategories?key=k&part=snippet", 400, "missingRequiredParameter", nil},
		{"missing key", "/youtube/v3/videos?part=id&id=" + public, 403, "forbidden", nil},
		{"invalid key", "/youtube/v3/videos?key=invalid-1&part=id&id=" + public, 400, "keyInvalid", nil},
		{"double prefix (official client base path)", "/youtube/v3/youtube/v3/videos?key=k&part=id&id=" + public, 200, "", nil},
		{"unknown endpoint", "/youtube/v3/nope?key=k", 404, "", nil},
		{"healthz", "/healthz", 200, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, tc.path)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.reason != "" {
				if got := reasonOf(t, r.body); got != tc.reason {
					t.Fatalf("reason %q, want %q", got, tc.reason)
				}
				return
			}
			if tc.check != nil {
				tc.check(t, jsonOf(t, r.body))
			}
		})
	}
	if gone != "" {
		r := e.get(t, "/youtube/v3/videos?key=k&part=id&id="+gone)
		if n := len(items(t, r.body)); n != 0 {
			t.Errorf("gone video %s listed", gone)
		}
	}
}

func TestErrorBodiesMatchRealOnes(t *testing.T) {
	e := newEnv(t, Config{QuotaPerDay: 1})
	real, err := os.ReadFile(sharedData(t, "api/errors/quotaExceeded_403.json"))
	if err != nil {
		t.Fatal(err)
	}
	ok := e.get(t, "/youtube/v3/videos?key=k&part=id&id=x")
	if ok.status != 200 {
		t.Fatalf("first call: %d", ok.status)
	}
	r := e.get(t, "/youtube/v3/videos?key=k&part=id&id=x")
	if r.status != 403 || !bytes.Equal(r.body, real) {
		t.Fatalf("quotaExceeded body differs from the real one:\n got %q\nwant %q", r.body, real)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("content type %q", ct)
	}
	// keyInvalid: same JSON as the python-youtube sample (whose indentation is hand-made).
	realKI, err := os.ReadFile(sharedData(t, "api/errors/keyInvalid_400.python-youtube.json"))
	if err != nil {
		t.Fatal(err)
	}
	r = e.get(t, "/youtube/v3/videos?key=invalid&part=id&id=x")
	if r.status != 400 || !jsonEqual(t, r.body, realKI) {
		t.Fatalf("keyInvalid body differs:\n got %s\nwant %s", r.body, realKI)
	}
	// Compact form with prettyPrint=false (what the official client asks for).
	r = e.get(t, "/youtube/v3/videos?key=k&part=id&id=x&prettyPrint=false")
	if !jsonEqual(t, r.body, real) || bytes.Contains(r.body, []byte("\n")) {
		t.Fatalf("compact quota body: %s", r.body)
	}
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func TestQuotaAccountingAndPacificReset(t *testing.T) {
	// 2026-11-01T00:00Z is 2026-10-31 17:00 PDT. Midnight PT on Nov 1 is 07:00Z
	// (still PDT); DST ends that night, so midnight PT on Nov 2 is 08:00Z.
	e := newEnv(t, Config{QuotaPerDay: 250})
	list := "/youtube/v3/videos?key=a&part=id&id=x"
	search := "/youtube/v3/search?key=a&part=id&q=zzzzzz"
	for i := 0; i < 2; i++ {
		if r := e.get(t, search); r.status != 200 {
			t.Fatalf("search %d: %d %s", i, r.status, r.body)
		}
	}
	if r := e.get(t, search); r.status != 403 || reasonOf(t, r.body) != "quotaExceeded" {
		t.Fatalf("third search: %d %s", r.status, r.body)
	}
	if u := e.s.Usage(); u.UnitsToday["a"] != 200 {
		t.Fatalf("refused call was charged: %d units", u.UnitsToday["a"])
	}
	for i := 0; i < 50; i++ {
		if r := e.get(t, list); r.status != 200 {
			t.Fatalf("list %d: %d", i, r.status)
		}
	}
	if r := e.get(t, list); r.status != 403 {
		t.Fatalf("list over quota: %d", r.status)
	}
	// Another key has its own quota; an invalid key consumes nothing.
	if r := e.get(t, "/youtube/v3/videos?key=b&part=id&id=x"); r.status != 200 {
		t.Fatalf("key b: %d", r.status)
	}
	e.get(t, "/youtube/v3/videos?key=invalidX&part=id&id=x")
	u := e.s.Usage()
	if u.Units["a"] != 250 || u.Units["b"] != 1 || u.Units["invalidX"] != 0 {
		t.Fatalf("units: %v", u.Units)
	}
	if u.Errors["quotaExceeded"] != 2 || u.Errors["keyInvalid"] != 1 || u.Calls["search"] != 3 || u.Calls["videos"] != 53 {
		t.Fatalf("usage: %+v", u)
	}

	e.s.Advance(7*time.Hour - time.Second) // 06:59:59Z = 23:59:59 PDT
	if r := e.get(t, list); r.status != 403 {
		t.Fatalf("before PT midnight: %d", r.status)
	}
	e.s.Advance(time.Second) // 07:00Z = 00:00 PDT Nov 1
	if r := e.get(t, list); r.status != 200 {
		t.Fatalf("after PT midnight: %d", r.status)
	}
	if u := e.s.Usage(); u.UnitsToday["a"] != 1 || u.Units["a"] != 251 {
		t.Fatalf("after reset: today %d total %d", u.UnitsToday["a"], u.Units["a"])
	}
	// Exhaust again and cross the next midnight, which is 08:00Z (PST).
	for e.get(t, list).status == 200 {
	}
	e.s.Advance(25*time.Hour - time.Second) // 07:59:59Z Nov 2 = 23:59:59 PST Nov 1
	if r := e.get(t, list); r.status != 403 {
		t.Fatalf("before PST midnight: %d", r.status)
	}
	e.s.Advance(time.Second)
	if r := e.get(t, list); r.status != 200 {
		t.Fatalf("after PST midnight: %d", r.status)
	}
}

func TestKeysAndRateLimit(t *testing.T) {
	e := newEnv(t, Config{Keys: []string{"good"}, RateLimitQPS: 1})
	if r := e.get(t, "/youtube/v3/videos?key=other&part=id&id=x"); r.status != 400 || reasonOf(t, r.body) != "keyInvalid" {
		t.Fatalf("unlisted key: %d %s", r.status, r.body)
	}
	if r := e.get(t, "/youtube/v3/videos?key=good&part=id&id=x"); r.status != 200 {
		t.Fatalf("first: %d", r.status)
	}
	r := e.get(t, "/youtube/v3/videos?key=good&part=id&id=x")
	if r.status != 403 || reasonOf(t, r.body) != "rateLimitExceeded" {
		t.Fatalf("second at the same instant: %d %s", r.status, r.body)
	}
	var body struct {
		Error struct{ Errors []struct{ Domain string } }
	}
	_ = json.Unmarshal(r.body, &body)
	if body.Error.Errors[0].Domain != "usageLimits" {
		t.Errorf("domain %q", body.Error.Errors[0].Domain)
	}
	e.clk.Add(time.Second)
	if r := e.get(t, "/youtube/v3/videos?key=good&part=id&id=x"); r.status != 200 {
		t.Fatalf("after a second: %d", r.status)
	}
	if u := e.s.Usage(); u.Units["good"] != 2 {
		t.Fatalf("rate-limited call charged: %d", u.Units["good"])
	}
}

func TestETagNotModified(t *testing.T) {
	e := newEnv(t, Config{})
	id := e.s.ChannelIDs(1)[0]
	p := "/youtube/v3/channels?key=k&part=snippet,statistics&id=" + id
	r1 := e.get(t, p)
	etag := jsonOf(t, r1.body)["etag"].(string)
	if len(etag) != 27 || r1.header.Get("ETag") != `"`+etag+`"` {
		t.Fatalf("etag %q header %q", etag, r1.header.Get("ETag"))
	}
	for _, inm := range []string{etag, `"` + etag + `"`} {
		r := e.get(t, p, "If-None-Match", inm)
		if r.status != 304 || len(r.body) != 0 {
			t.Fatalf("If-None-Match %s: %d %q", inm, r.status, r.body)
		}
	}
	if u := e.s.Usage(); u.NotModified != 2 || u.Units["k"] != 3 {
		t.Fatalf("304s must cost quota: %+v", u)
	}
	// Statistics grow: a week later the etag changes.
	e.s.Advance(7 * 24 * time.Hour)
	r := e.get(t, p, "If-None-Match", etag)
	if r.status != 200 || jsonOf(t, r.body)["etag"] == etag {
		t.Fatalf("after a week: %d, etag unchanged", r.status)
	}
}

func TestFaults(t *testing.T) {
	t.Run("5xx is charged", func(t *testing.T) {
		e := newEnv(t, Config{Fault5xx: 1})
		r := e.get(t, "/youtube/v3/videos?key=k&part=id&id=x")
		if r.status != 503 || reasonOf(t, r.body) != "backendError" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		u := e.s.Usage()
		if u.Units["k"] != 1 || u.Faults["5xx"] != 1 {
			t.Fatalf("usage %+v", u)
		}
	})
	t.Run("no fault for quota refusals", func(t *testing.T) {
		e := newEnv(t, Config{Fault5xx: 1, QuotaPerDay: 1})
		e.get(t, "/youtube/v3/videos?key=k&part=id&id=x")
		r := e.get(t, "/youtube/v3/videos?key=k&part=id&id=x")
		if r.status != 403 || e.s.Usage().Faults["5xx"] != 1 {
			t.Fatalf("%d %+v", r.status, e.s.Usage())
		}
	})
	t.Run("truncate", func(t *testing.T) {
		e := newEnv(t, Config{FaultTruncate: 1})
		res, err := http.Get(e.ts.URL + "/youtube/v3/channels?key=k&part=snippet&id=" + e.s.ChannelIDs(1)[0])
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err == nil || json.Valid(b) {
			t.Fatalf("want a truncated body and a read error, got %d bytes, err %v", len(b), err)
		}
	})
	t.Run("timeout until the client gives up", func(t *testing.T) {
		e := newEnv(t, Config{FaultTimeout: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/youtube/v3/videos?key=k&part=id&id=x", nil)
		_, err := http.DefaultClient.Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want deadline exceeded, got %v", err)
		}
	})
	t.Run("Close releases hanging calls", func(t *testing.T) {
		e := newEnv(t, Config{FaultTimeout: 1})
		done := make(chan error, 1)
		go func() {
			res, err := http.Get(e.ts.URL + "/feeds/videos.xml?channel_id=" + e.s.ChannelIDs(1)[0])
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		e.s.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("want a dropped connection, got a response")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not release the hanging request")
		}
	})
	t.Run("latency", func(t *testing.T) {
		e := newEnv(t, Config{Latency: 30 * time.Millisecond, LatencyJitter: 10 * time.Millisecond})
		start := time.Now()
		e.get(t, "/healthz")
		e.get(t, "/youtube/v3/videos?key=k&part=id&id=x")
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Fatalf("latency not applied: %v", d)
		}
	})
}

func TestChartPaging(t *testing.T) {
	e := newEnv(t, Config{Seed: 11, QuotaPerDay: -1})
	seen := map[string]bool{}
	tok := ""
	var last int64 = 1 << 62
	for pages := 0; ; pages++ {
		r := e.get(t, "/youtube/v3/videos?key=k&part=snippet,statistics&chart=mostPopular&regionCode=KR&maxResults=50&pageToken="+tok)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		m := jsonOf(t, r.body)
		for _, it := range m["items"].([]any) {
			v := it.(map[string]any)
			id := v["id"].(string)
			if seen[id] {
				t.Fatalf("duplicate %s", id)
			}
			seen[id] = true
			var views int64
			_ = json.Unmarshal([]byte(v["statistics"].(map[string]any)["viewCount"].(string)), &views)
			if views > last {
				t.Fatalf("chart not sorted by views")
			}
			last = views
			ch, _ := e.s.Channel(v["snippet"].(map[string]any)["channelId"].(string), e.s.Now())
			if ch.Snippet.Country != "KR" {
				t.Fatalf("KR chart has a %q channel", ch.Snippet.Country)
			}
		}
		next, _ := m["nextPageToken"].(string)
		if next == "" {
			break
		}
		tok = next
	}
	if len(seen) != 200 {
		t.Fatalf("chart has %d videos, want 200", len(seen))
	}
}
