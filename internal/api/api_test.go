package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tubelake/tubelake/internal/api"
)

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestSearch(t *testing.T) {
	s := fixture(t)
	tests := []struct {
		q       string
		extra   string
		wantIDs []string
	}{
		{q: "영어", extra: "&sort=views", wantIDs: []string{"video000001", "video000000"}},
		{q: "초등영어", wantIDs: []string{"video000000"}},
		{q: "ENGLISH", wantIDs: []string{"video000003"}},
		{q: "영어 1강", wantIDs: []string{"video000000"}},
		{q: `"english for"`, wantIDs: []string{"video000003"}},
		{q: "英語", extra: "&sort=views", wantIDs: []string{"video000005", "video000004"}},
		{q: "영어", extra: "&sort=views&min_views=2000", wantIDs: []string{"video000001"}},
		{q: "영어", extra: "&sort=views&channel_id=" + chanID(0), wantIDs: []string{"video000000"}},
		{q: "ㅊㄷㅇㅇ", extra: "&initials=true", wantIDs: []string{"video000000"}},
		// 초등영어 typed on an English layout is "chemdduddj" (ㅊㅗ ㄷㅡㅇ ㅇㅕㅇ ㅇㅓ).
		{q: "chemdduddj", extra: "&layout=true", wantIDs: []string{"video000000"}},
		{q: "chemdduddj", wantIDs: nil},                        // the option is explicit
		{q: "chdemddudj", extra: "&layout=true", wantIDs: nil}, // = 총등여어
		{q: "없는검색어", wantIDs: nil},
	}
	for _, tc := range tests {
		t.Run(tc.q+tc.extra, func(t *testing.T) {
			code, b := get(t, s.URL+"/v1/videos/search?q="+url.QueryEscape(tc.q)+tc.extra)
			if code != 200 {
				t.Fatalf("HTTP %d: %s", code, b)
			}
			var res struct {
				Total         int    `json:"total"`
				TotalRelation string `json:"total_relation"`
				Items         []struct {
					ID           string `json:"id"`
					Title        string `json:"title"`
					ChannelID    string `json:"channel_id"`
					ChannelTitle string `json:"channel_title"`
					ViewCount    int64  `json:"view_count"`
				} `json:"items"`
			}
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, it := range res.Items {
				ids = append(ids, it.ID)
				if it.Title == "" || it.ChannelID == "" || it.ChannelTitle == "" {
					t.Errorf("item lacks fields: %+v", it)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.wantIDs) || res.Total != len(tc.wantIDs) || res.TotalRelation != "eq" {
				t.Fatalf("got ids %v total %d %s, want %v", ids, res.Total, res.TotalRelation, tc.wantIDs)
			}
			if !strings.Contains(string(b), `"items":[`) {
				t.Fatalf("items must be a JSON array even when empty: %s", b)
			}
		})
	}
}

func TestBadParameters(t *testing.T) {
	s := fixture(t)
	tests := []struct{ path, wantMsg string }{
		{"/v1/videos/search", "q is required"},
		{"/v1/videos/search?q=", "q is required"},
		{"/v1/videos/search?q=a&sort=popular", "sort"},
		{"/v1/videos/search?q=a&limit=0", "limit"},
		{"/v1/videos/search?q=a&limit=abc", "limit"},
		{"/v1/videos/search?q=a&limit=101", "limit"},
		{"/v1/videos/search?q=a&in=body", "in: unknown field"},
		{"/v1/videos/search?q=a&min_views=-1", "min_views"},
		{"/v1/videos/search?q=a&published_after=yesterday", "published_after"},
		{"/v1/videos/search?q=a&qq=1", `unknown parameter "qq"`},
		{"/v1/videos/search?q=a&q=b", "given 2 times"},
		{"/v1/videos/search?q=a&channel_id=UCshort", "channel_id"},
		{"/v1/videos/search?q=a&exact_total=maybe", "exact_total"},
		{"/v1/videos/search?q=a&cursor=%21%21not-a-cursor", ""},
		{"/v1/videos/bad!id", "invalid video id"},
		{"/v1/channels/nope", "invalid channel id"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, b := get(t, s.URL+tc.path)
			if code != 400 {
				t.Fatalf("HTTP %d, want 400: %s", code, b)
			}
			var e api.ErrorBody
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("error body %s not {error:{code,message}}: %v", b, err)
			}
			if !strings.Contains(e.Error.Message, tc.wantMsg) {
				t.Fatalf("message %q does not mention %q", e.Error.Message, tc.wantMsg)
			}
		})
	}
}

func TestGetByIDAndOps(t *testing.T) {
	s := fixture(t)
	code, b := get(t, s.URL+"/v1/videos/video000002")
	if code != 200 || !strings.Contains(string(b), "먹방 ASMR 라면") {
		t.Fatalf("video: %d %s", code, b)
	}
	code, b = get(t, s.URL+"/v1/videos/video999999")
	if code != 404 || !strings.Contains(string(b), `"not_found"`) {
		t.Fatalf("unknown video: %d %s", code, b)
	}
	code, b = get(t, s.URL+"/v1/channels/"+chanID(0))
	if code != 200 || !strings.Contains(string(b), `"subscriber_count":12345`) {
		t.Fatalf("channel: %d %s", code, b)
	}
	code, _ = get(t, s.URL+"/v1/channels/"+chanID(5))
	if code != 404 {
		t.Fatalf("unknown channel: %d", code)
	}
	code, b = get(t, s.URL+"/v1/nothing")
	if code != 404 || !strings.Contains(string(b), "no such endpoint") {
		t.Fatalf("unknown endpoint: %d %s", code, b)
	}
	for _, p := range []string{"/healthz", "/readyz", "/v1/status"} {
		if code, b := get(t, s.URL+p); code != 200 {
			t.Fatalf("%s: %d %s", p, code, b)
		}
	}
	if code, b := get(t, s.URL+"/"); code != 200 || !strings.Contains(string(b), "tubelake") {
		t.Fatalf("UI: %d", code)
	}
	_, b = get(t, s.URL+"/metrics")
	if !strings.Contains(string(b), `tubelake_http_requests_total{code="404",route="GET /v1/videos/{id}"} 1`) {
		t.Fatalf("metrics lack per-route counts:\n%s", b)
	}
}

func TestPaginationCursor(t *testing.T) {
	s := fixture(t)
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 10; page++ {
		u := s.URL + "/v1/videos/search?limit=1&sort=views&q=" + url.QueryEscape("영어")
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		code, b := get(t, u)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		var res struct {
			Items      []struct{ ID string }
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(b, &res)
		for _, it := range res.Items {
			if seen[it.ID] {
				t.Fatalf("%s returned twice", it.ID)
			}
			seen[it.ID] = true
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	if len(seen) != 2 {
		t.Fatalf("paged through %d results, want 2", len(seen))
	}
}
