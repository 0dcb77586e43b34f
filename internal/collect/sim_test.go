package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/sim"
	"github.com/tubelake/tubelake/internal/yt"
)

// frozen is the real clock given to the emulator so that its simulated
// time stands still during a test (no uploads appear mid-crawl).
var frozen = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// inflight counts concurrent requests reaching the emulator.
type inflight struct {
	cur, peak atomic.Int64
	total     atomic.Int64
	byPath    sync.Map // path -> *atomic.Int64
}

func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.cur.Add(1)
		for {
			p := f.peak.Load()
			if n <= p || f.peak.CompareAndSwap(p, n) {
				break
			}
		}
		f.total.Add(1)
		c, _ := f.byPath.LoadOrStore(r.URL.Path, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		defer f.cur.Add(-1)
		h.ServeHTTP(w, r)
	})
}

func (f *inflight) calls(path string) int64 {
	if c, ok := f.byPath.Load(path); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

type emu struct {
	srv  *sim.Server
	http *httptest.Server
	load *inflight
}

func newEmu(t testing.TB, cfg sim.Config) *emu {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return frozen }
	}
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &emu{srv: srv, load: &inflight{}}
	e.http = httptest.NewServer(e.load.wrap(srv.Handler()))
	t.Cleanup(e.http.Close)
	t.Cleanup(srv.Close) // runs first: releases requests hanging in a timeout fault
	return e
}

// checkComplete asserts that every upload of the channels was published
// exactly once, as a video snapshot or a tombstone, and nothing else.
func checkComplete(t *testing.T, e *emu, channels []string, recs []yt.Record, maxPerChannel int) (videos, tombstones int) {
	t.Helper()
	at := e.srv.Now()
	want := map[string]string{}
	for _, ch := range channels {
		ups := e.srv.UploadIDs(ch, at)
		if maxPerChannel > 0 && len(ups) > maxPerChannel {
			ups = ups[:maxPerChannel]
		}
		for _, id := range ups {
			want[id] = ch
		}
	}
	got := map[string]int{}
	channelsSeen := map[string]int{}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			t.Fatalf("invalid record: %v", err)
		}
		switch {
		case r.Video != nil:
			got[r.Video.ID]++
			videos++
		case r.Event != nil && r.Event.Type == yt.EventTombstone && r.Event.EntityKind == yt.KindVideo:
			got[r.Event.EntityID]++
			tombstones++
		case r.Channel != nil:
			channelsSeen[r.Channel.ID]++
		default:
			t.Fatalf("unexpected record %+v", r)
		}
	}
	for _, ch := range channels {
		if channelsSeen[ch] != 1 {
			t.Errorf("channel %s published %d times", ch, channelsSeen[ch])
		}
	}
	missing, dup, extra := 0, 0, 0
	for id := range want {
		switch n := got[id]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra++
		}
	}
	if missing+dup+extra > 0 {
		t.Fatalf("of %d uploads: %d missing, %d published more than once, %d unexpected", len(want), missing, dup, extra)
	}
	if len(want) == 0 {
		t.Fatal("emulator reports no uploads: test is vacuous")
	}
	return videos, tombstones
}

func TestCollectCompleteAndBatched(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 1, Channels: 200, VideosPerChannel: 40})
	channels := e.srv.ChannelIDs(60)
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1", "k2"}, Workers: 16}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), channels)
	if err != nil {
		t.Fatal(err)
	}
	recs := pub.records()
	videos, tombs := checkComplete(t, e, channels, recs, 0)
	total := videos + tombs
	if st.Videos != int64(videos) || st.Tombstones != int64(tombs) || st.Channels != int64(len(channels)) {
		t.Errorf("stats %v disagree with %d videos, %d tombstones", st, videos, tombs)
	}
	// Batching: ids are packed across channels into full batches of 50.
	vcalls := e.load.calls("/youtube/v3/videos")
	if maxCalls := int64((total + 49) / 50); vcalls > maxCalls {
		t.Errorf("videos.list calls = %d, want <= ceil(%d/50) = %d", vcalls, total, maxCalls)
	}
	if ccalls := e.load.calls("/youtube/v3/channels"); ccalls != 2 {
		t.Errorf("channels.list calls = %d, want 2 for 60 channels", ccalls)
	}
	// Quota: the local ledger agrees with what the emulator charged.
	u := e.srv.Usage()
	var simUnits int64
	for _, n := range u.Units {
		simUnits += n
	}
	if st.QuotaUnits != simUnits || st.Calls != e.load.total.Load() {
		t.Errorf("local units %d / calls %d, emulator charged %d units over %d calls", st.QuotaUnits, st.Calls, simUnits, e.load.total.Load())
	}
	// Faithful conversion: a snapshot equals the emulator's own model.
	checked := 0
	for _, r := range recs {
		if r.Video == nil || checked >= 20 {
			continue
		}
		want, ok := e.srv.Video(r.Video.ID, e.srv.Now())
		if !ok {
			t.Fatalf("published video %s unknown to the emulator", r.Video.ID)
		}
		got := *r.Video
		got.FetchedAt, want.FetchedAt = time.Time{}, time.Time{}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("video %s:\n got %s\nwant %s", r.Video.ID, gj, wj)
		}
		checked++
	}
	t.Logf("%d channels, %d videos, %d tombstones: %v", len(channels), videos, tombs, st)
}

func TestCollectMaxVideosPerChannel(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 2, Channels: 50, VideosPerChannel: 120})
	channels := e.srv.ChannelIDs(10)
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}, MaxVideosPerChannel: 7}, pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(context.Background(), channels); err != nil {
		t.Fatal(err)
	}
	checkComplete(t, e, channels, pub.records(), 7)
	if n := e.load.calls("/youtube/v3/playlistItems"); n != int64(len(channels)) {
		t.Errorf("playlistItems.list calls = %d, want one page per channel", n)
	}
}

func TestCollectRetriesFaults(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 3, Channels: 100, VideosPerChannel: 30,
		Fault5xx: 0.15, FaultTruncate: 0.1, FaultTimeout: 0.05})
	channels := e.srv.ChannelIDs(30)
	pub := &slicePublisher{}
	log, logs := newTestLogger()
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1", "k2"}, Logger: log,
		RequestTimeout: 300 * time.Millisecond, MaxRetries: 12, RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), channels)
	if err != nil {
		t.Fatalf("%v (stats %v)", err, st)
	}
	checkComplete(t, e, channels, pub.records(), 0)
	if st.Retries == 0 || st.Errors["timeout"]+st.Errors["truncated"] == 0 || len(st.Errors) < 2 {
		t.Errorf("faults not seen as retries: %v (emulator faults %v)", st, e.srv.Usage().Faults)
	}
	for _, k := range []string{"k1", "k2"} {
		if strings.Contains(logs.String(), "key="+k) {
			t.Errorf("key %s in logs", k)
		}
	}
	t.Logf("stats %v; emulator faults %v", st, e.srv.Usage().Faults)
}

// spend burns n units of key on the emulator directly.
func spend(t *testing.T, e *emu, key string, n int) {
	t.Helper()
	for range n {
		resp, err := http.Get(e.http.URL + "/youtube/v3/videos?part=snippet&id=xxxxxxxxxxx&key=" + key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

func TestQuotaExceededMovesToOtherKey(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 4, Channels: 50, VideosPerChannel: 30, QuotaPerDay: 60})
	spend(t, e, "tired", 60) // the emulator will answer quotaExceeded to this key
	channels := e.srv.ChannelIDs(10)
	pub := &slicePublisher{}
	log, logs := newTestLogger()
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"tired", "fresh"}, Logger: log, Workers: 4}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), channels)
	if err != nil {
		t.Fatalf("%v (%v)", err, st)
	}
	checkComplete(t, e, channels, pub.records(), 0)
	if st.Errors["quotaExceeded"] < 1 {
		t.Errorf("no quotaExceeded seen: %v", st)
	}
	if u := c.Ledger().Usage(quota.KeyID("tired")); u.ParkedUntil.IsZero() || !u.ParkedUntil.Equal(quota.NextReset(time.Now())) {
		t.Errorf("tired key not parked until Pacific midnight: %+v", u)
	}
	if strings.Contains(logs.String(), "tired") || strings.Contains(logs.String(), "fresh") {
		t.Errorf("key in logs: %s", logs.String())
	}
	// Only one call may be lost to the exhausted key: then it is parked.
	if n := e.srv.Usage().Errors["quotaExceeded"]; n > 4 {
		t.Errorf("%d calls sent to the exhausted key, want at most one per worker", n)
	}
}

func TestAllKeysOutStopsWithClearError(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 5, Channels: 50, VideosPerChannel: 60})
	pub := &slicePublisher{}
	// The local ledger grants 5 units per key: the 6th call must never be sent.
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}, QuotaPerDay: 5, Workers: 8}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), e.srv.ChannelIDs(20))
	if !errors.Is(err, ErrQuotaExhausted) {
		t.Fatalf("want ErrQuotaExhausted, got %v", err)
	}
	if !strings.Contains(err.Error(), "no quota left until") {
		t.Errorf("error does not say when quota returns: %v", err)
	}
	if got := e.srv.Usage().Units["k1"]; got != 5 || st.QuotaUnits != 5 {
		t.Errorf("emulator charged %d units, local ledger %d; want exactly 5", got, st.QuotaUnits)
	}
	if strings.Contains(err.Error(), "k1") {
		t.Errorf("key in error: %v", err)
	}
}

func TestInvalidKeyDisabledAndNeverLeaked(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 6, Channels: 50, VideosPerChannel: 20})
	channels := e.srv.ChannelIDs(5)
	const bad, good = "invalid-SECRETxyz", "good-SECRETabc"
	log, logs := newTestLogger()
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{bad, good}, Logger: log}, pub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Collect(context.Background(), channels)
	if err != nil {
		t.Fatalf("%v (%v)", err, st)
	}
	checkComplete(t, e, channels, pub.records(), 0)
	if st.Errors["keyInvalid"] < 1 {
		t.Errorf("keyInvalid not seen: %v", st)
	}
	// Only bad keys: stop with ErrNoUsableKey.
	c2, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{bad}, Logger: log}, &slicePublisher{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Collect(context.Background(), channels)
	if !errors.Is(err, ErrNoUsableKey) {
		t.Fatalf("want ErrNoUsableKey, got %v", err)
	}
	for what, s := range map[string]string{"error": err.Error(), "logs": logs.String(), "stats": fmt.Sprint(st)} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("key leaked into %s: %s", what, s)
		}
	}
}

// TestConcurrencyOverlaps measures, at the server, how many calls are in
// flight at once: with 50 ms latency, 32 workers keep many calls
// overlapping while one worker never does.
func TestConcurrencyOverlaps(t *testing.T) {
	for _, tc := range []struct {
		workers  int
		min, max int64
	}{{1, 1, 1}, {32, 10, 32}} {
		t.Run(fmt.Sprint("workers=", tc.workers), func(t *testing.T) {
			e := newEmu(t, sim.Config{Seed: 7, Channels: 100, VideosPerChannel: 60, Latency: 50 * time.Millisecond})
			channels := e.srv.ChannelIDs(30)
			if tc.workers == 1 {
				channels = channels[:2]
			}
			pub := &slicePublisher{}
			c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}, Workers: tc.workers, MaxVideosPerChannel: 100}, pub)
			if err != nil {
				t.Fatal(err)
			}
			st, err := c.Collect(context.Background(), channels)
			if err != nil {
				t.Fatal(err)
			}
			checkComplete(t, e, channels, pub.records(), 100)
			if p := e.load.peak.Load(); p < tc.min || p > tc.max {
				t.Errorf("peak in-flight calls = %d, want %d..%d", p, tc.min, tc.max)
			}
			t.Logf("workers=%d: peak in flight %d, %v", tc.workers, e.load.peak.Load(), st)
		})
	}
}

func TestDiscoverConditionalRSS(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 8, Channels: 50, VideosPerChannel: 30})
	channels := e.srv.ChannelIDs(5)
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}}, &slicePublisher{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.Discover(context.Background(), channels)
	if err != nil {
		t.Fatal(err)
	}
	uploads := map[string]bool{}
	for _, ch := range channels {
		for _, id := range e.srv.UploadIDs(ch, e.srv.Now()) {
			uploads[id] = true
		}
	}
	if len(ids) == 0 {
		t.Fatal("no ids discovered")
	}
	for _, id := range ids {
		if !uploads[id] {
			t.Fatalf("discovered %s, not an upload of these channels", id)
		}
	}
	if sorted := slices.Sorted(slices.Values(ids)); len(slices.Compact(sorted)) != len(ids) {
		t.Fatal("duplicate ids")
	}
	again, err := c.Discover(context.Background(), channels)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second poll found %d new ids with nothing uploaded", len(again))
	}
	u := e.srv.Usage()
	if len(u.Units) != 0 {
		t.Errorf("RSS polls charged quota: %v", u.Units)
	}
	t.Logf("discovered %d ids; second poll: %d not-modified", len(ids), u.NotModified)
}

// BenchmarkCollect compares a serial crawler with a concurrent one at 20 ms
// latency per call. Run: go test -bench Collect -benchtime 1x ./internal/collect/
func BenchmarkCollect(b *testing.B) {
	for _, workers := range []int{1, 8, 64} {
		b.Run(fmt.Sprint("workers=", workers), func(b *testing.B) {
			e := newEmu(b, sim.Config{Seed: 9, Channels: 500, VideosPerChannel: 100, Latency: 20 * time.Millisecond})
			channels := e.srv.ChannelIDs(40)
			var videos int64
			start := time.Now()
			for b.Loop() {
				c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1", "k2"}, Workers: workers, RatePerKey: -1}, &slicePublisher{})
				if err != nil {
					b.Fatal(err)
				}
				st, err := c.Collect(context.Background(), channels)
				if err != nil {
					b.Fatal(err)
				}
				videos += st.Videos + st.Tombstones
			}
			b.ReportMetric(float64(videos)/time.Since(start).Seconds(), "videos/s")
			b.ReportMetric(float64(e.load.peak.Load()), "peak-inflight")
		})
	}
}

type failingPublisher struct{ n atomic.Int32 }

var errSinkDown = errors.New("sink down")

func (p *failingPublisher) Publish(context.Context, ...yt.Record) error {
	if p.n.Add(1) > 2 {
		return errSinkDown
	}
	return nil
}

func TestPublishErrorStopsCrawl(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 10, Channels: 50, VideosPerChannel: 50})
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}, Workers: 4}, &failingPublisher{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Collect(context.Background(), e.srv.ChannelIDs(20))
	if !errors.Is(err, errSinkDown) {
		t.Fatalf("want the publisher's error, got %v", err)
	}
}

// BenchmarkFetchVideos measures the refresh path (ids already known): every
// batch is full at once, so the ideal is workers x 50 ids / latency.
func BenchmarkFetchVideos(b *testing.B) {
	const latency = 200 * time.Millisecond
	for _, workers := range []int{1, 32} {
		b.Run(fmt.Sprint("workers=", workers), func(b *testing.B) {
			e := newEmu(b, sim.Config{Seed: 11, Channels: 500, VideosPerChannel: 100, Latency: latency})
			var ids []string
			for _, ch := range e.srv.ChannelIDs(100) {
				ids = append(ids, e.srv.UploadIDs(ch, e.srv.Now())...)
			}
			ids = ids[:min(len(ids), workers*50*5)] // 5 rounds of full batches
			var videos int64
			start := time.Now()
			for b.Loop() {
				c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}, Workers: workers, RatePerKey: -1}, &slicePublisher{})
				if err != nil {
					b.Fatal(err)
				}
				st, err := c.FetchVideos(context.Background(), ids)
				if err != nil {
					b.Fatal(err)
				}
				videos += st.Videos + st.Tombstones
			}
			rate := float64(videos) / time.Since(start).Seconds()
			ideal := float64(workers*50) / latency.Seconds()
			b.ReportMetric(rate, "videos/s")
			b.ReportMetric(100*rate/ideal, "%-of-ideal")
		})
	}
}

func TestCollectMaxVideoAge(t *testing.T) {
	e := newEmu(t, sim.Config{Seed: 12, Channels: 50, VideosPerChannel: 200})
	channels := e.srv.ChannelIDs(8)
	const age = 60 * 24 * time.Hour
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: []string{"k1"}, MaxVideoAge: age, Now: e.srv.Now}, pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(context.Background(), channels); err != nil {
		t.Fatal(err)
	}
	cutoff := e.srv.Now().Add(-age)
	got := map[string]bool{}
	for _, r := range pub.records() {
		switch {
		case r.Video != nil:
			got[r.Video.ID] = true
			if r.Video.Snippet.PublishedAt.Before(cutoff) {
				t.Errorf("video %s published %v, before the cutoff %v", r.Video.ID, r.Video.Snippet.PublishedAt, cutoff)
			}
		case r.Event != nil && r.Event.EntityKind == yt.KindVideo:
			got[r.Event.EntityID] = true
		}
	}
	recent, old := 0, 0
	for _, ch := range channels {
		for _, id := range e.srv.UploadIDs(ch, e.srv.Now()) {
			v, ok := e.srv.Video(id, e.srv.Now())
			if !ok {
				continue
			}
			if !v.Snippet.PublishedAt.Before(cutoff) {
				recent++
				if !got[id] {
					t.Errorf("recent video %s (%v) not collected", id, v.Snippet.PublishedAt)
				}
			} else {
				old++
			}
		}
	}
	if recent == 0 || old == 0 {
		t.Fatalf("test needs recent and old uploads: %d recent, %d old", recent, old)
	}
}
