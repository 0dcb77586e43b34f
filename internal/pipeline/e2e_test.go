package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/collect"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/pipeline"
	"github.com/tubelake/tubelake/internal/sim"
)

// TestEndToEnd runs emulator -> collector -> JetStream -> lake + index -> API
// and checks that every video the emulator served is in the lake exactly once
// per snapshot and findable through /v1/videos/search.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	simStart := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	realStart := time.Now()
	srv, err := sim.New(sim.Config{Seed: 7, Channels: 200, VideosPerChannel: 40, Start: simStart, Speed: 60})
	if err != nil {
		t.Fatal(err)
	}
	yts := httptest.NewServer(srv.Handler())
	defer yts.Close()

	n, err := pipeline.Open(ctx, pipeline.Config{DataDir: t.TempDir(), IndexFlushEvery: 200 * time.Millisecond, MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(runCtx) }()

	channels := srv.ChannelIDs(12)
	// The collector's clock is the emulator's simulated clock, so snapshots
	// land in the simulated day's partition.
	c, err := collect.New(collect.Config{Endpoint: yts.URL, APIKeys: []string{"e2e-key"}, Workers: 16, Now: srv.Now}, n)
	if err != nil {
		t.Fatal(err)
	}
	// Two crawls: the second one is a new snapshot of every video.
	var stats []collect.Stats
	for range 2 {
		st, err := c.Collect(ctx, channels)
		if err != nil {
			t.Fatal(err)
		}
		stats = append(stats, st)
	}
	if err := n.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	_ = realStart

	// What the emulator served: every public upload of the crawled channels.
	want := map[string]string{} // id -> title
	tombstoned := 0
	for _, ch := range channels {
		for _, id := range srv.UploadIDs(ch, srv.Now()) {
			v, ok := srv.Video(id, srv.Now())
			if !ok {
				tombstoned++
				continue
			}
			want[id] = v.Snippet.Title
		}
	}
	if len(want) < 100 {
		t.Fatalf("universe too small for a meaningful test: %d videos", len(want))
	}
	if stats[0].Videos != int64(len(want)) {
		t.Errorf("first crawl published %d video snapshots, emulator has %d public uploads", stats[0].Videos, len(want))
	}
	if stats[0].Tombstones != int64(tombstoned) {
		t.Errorf("first crawl published %d tombstones, emulator has %d deleted/private uploads", stats[0].Tombstones, tombstoned)
	}

	// Lake: exactly one row per (video, snapshot), i.e. two per video.
	stopRun()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	db, err := lakesql.Open(ctx, n.LakeDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(ctx, `SELECT id, count(*) AS snapshots, count(DISTINCT fetched_at) AS times FROM video_history GROUP BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range res.Rows {
		id := fmt.Sprint(row[0])
		if fmt.Sprint(row[1]) != "2" || fmt.Sprint(row[2]) != "2" {
			t.Errorf("video %s has %v rows at %v distinct times in the lake, want 2 snapshots", id, row[1], row[2])
		}
		got[id] = true
	}
	for id := range want {
		if !got[id] {
			t.Errorf("video %s served by the emulator is missing from the lake", id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("lake has %d videos, emulator served %d", len(got), len(want))
	}
	res, err = db.Query(ctx, `SELECT count(*) FROM video_stats`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Rows[0][0]) != fmt.Sprint(2*len(want)) {
		t.Errorf("video_stats has %v rows, want %d", res.Rows[0][0], 2*len(want))
	}
	res, err = db.Query(ctx, `SELECT count(*) FROM channels`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Rows[0][0]) != fmt.Sprint(len(channels)) {
		t.Errorf("channels view has %v rows, want %d", res.Rows[0][0], len(channels))
	}

	// API: every video findable by its full title.
	h, err := api.New(api.Config{Index: n.Index})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		title := want[id]
		q := `"` + strings.ReplaceAll(title, `"`, " ") + `"`
		if strings.Contains(title, `"`) {
			q = firstWord(title)
		}
		var body struct {
			Total int
			Items []index.Hit
		}
		found := false
		cursor := ""
		for page := 0; page < 50 && !found; page++ {
			u := hs.URL + "/v1/videos/search?limit=100&sort=views&q=" + url.QueryEscape(q)
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Total      int         `json:"total"`
				Items      []index.Hit `json:"items"`
				NextCursor string      `json:"next_cursor"`
			}
			if resp.StatusCode != 200 {
				t.Fatalf("search %q: HTTP %d", q, resp.StatusCode)
			}
			if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			body.Total, body.Items = raw.Total, raw.Items
			for _, it := range raw.Items {
				if it.ID == id {
					found = true
				}
			}
			if raw.NextCursor == "" {
				break
			}
			cursor = raw.NextCursor
		}
		if !found {
			t.Errorf("video %s (%q) not found by /v1/videos/search?q=%s (total %d)", id, title, q, body.Total)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

func firstWord(s string) string {
	for _, w := range strings.Fields(s) {
		if !strings.Contains(w, `"`) {
			return w
		}
	}
	return s
}
