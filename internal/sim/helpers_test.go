package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable real clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	s   *Server
	ts  *httptest.Server
	clk *fakeClock
}

// newEnv starts an emulator on 127.0.0.1 with a frozen injected clock.
func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	clk := newFakeClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Channels == 0 {
		cfg.Channels = 500
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return &env{s: s, ts: ts, clk: clk}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) get(t testing.TB, path string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest("GET", e.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return reply{res.StatusCode, res.Header, b}
}

// jsonOf decodes a body into a generic map.
func jsonOf(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

// reasonOf returns error.errors[0].reason of an error body.
func reasonOf(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Errors []struct{ Reason string } `json:"errors"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || len(e.Error.Errors) == 0 {
		t.Fatalf("not an API error body: %q", b)
	}
	return e.Error.Errors[0].Reason
}

// sharedData returns a path under ../shared/data or skips.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real reference data missing (%s): %v", p, err)
	}
	return p
}

func items(t testing.TB, b []byte) []map[string]any {
	t.Helper()
	m := jsonOf(t, b)
	raw, _ := m["items"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}
