package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tubelake/tubelake/internal/collect"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/pipeline"
	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/sim"
	"github.com/tubelake/tubelake/internal/yt"
)

// countingPub counts what the collector published into the node.
type countingPub struct {
	inner            collect.Publisher
	videos, tombs, n atomic.Int64
}

func (p *countingPub) Publish(ctx context.Context, recs ...yt.Record) error {
	if err := p.inner.Publish(ctx, recs...); err != nil {
		return err
	}
	for _, r := range recs {
		switch {
		case r.Video != nil:
			p.videos.Add(1)
		case r.Event != nil && r.Event.Type == yt.EventTombstone:
			p.tombs.Add(1)
		}
	}
	p.n.Add(int64(len(recs)))
	return nil
}

// TestCollectFaultsIntoLake runs the collector against an emulator that
// fails 10 % of the calls with 503 backendError, lets 5 % hang until the
// request timeout and truncates 5 % of the bodies, with one key whose quota
// runs out mid-run (quotaExceeded) and a healthy second key, into embedded
// JetStream -> lake, and proves with DuckDB that every upload of the crawled
// channels is in the lake exactly once: one videos row per public upload, one
// tombstone per deleted/private one, no other row, and no duplicate record
// physically (record ids are deterministic: kind:entity:fetchedAt, so one
// fetch identity = one record_id; a call retried after a fault published
// nothing, so each upload has exactly one fetch identity in one crawl).
// Retries, backoff and the key switch are visible in the collector's
// Prometheus metrics.
func TestCollectFaultsIntoLake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	frozen := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	const perKey = 400
	srv, err := sim.New(sim.Config{Seed: 11, Channels: 200, VideosPerChannel: 30, QuotaPerDay: perKey,
		Fault5xx: 0.10, FaultTimeout: 0.05, FaultTruncate: 0.05, Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	yts := httptest.NewServer(srv.Handler())
	t.Cleanup(yts.Close)
	t.Cleanup(srv.Close) // first: releases requests hanging in a timeout fault

	// The "tired" key has 15 units left: it runs out mid-run. Every call
	// is charged, faulted or not (a timeout fault hangs: short timeout).
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	for range perKey - 15 {
		if resp, err := hc.Get(yts.URL + "/youtube/v3/videoCategories?part=snippet&regionCode=KR&key=tired"); err == nil {
			resp.Body.Close()
		}
	}
	before := srv.Usage()

	n, err := pipeline.Open(ctx, pipeline.Config{DataDir: t.TempDir(), IndexFlushEvery: 200 * time.Millisecond, MaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(runCtx) }()

	reg := prometheus.NewRegistry()
	pub := &countingPub{inner: n}
	c, err := collect.New(collect.Config{Endpoint: yts.URL, APIKeys: []string{"tired", "healthy"}, Workers: 16,
		RequestTimeout: 250 * time.Millisecond, MaxRetries: 12, RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 80 * time.Millisecond,
		Registerer: reg}, pub)
	if err != nil {
		t.Fatal(err)
	}
	channels := srv.ChannelIDs(60)
	st, err := c.Collect(ctx, channels)
	if err != nil {
		t.Fatalf("collect under faults: %v (%v)", err, st)
	}
	if err := n.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	stopRun()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	usage := srv.Usage()

	// What the emulator has for those channels.
	at := srv.Now()
	public, gone := srv.UploadStates(channels, at)
	if len(public) < 1000 || len(gone) == 0 {
		t.Fatalf("universe too small: %d public, %d gone uploads", len(public), len(gone))
	}

	db, err := lakesql.Open(ctx, n.LakeDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := func(sql string) [][]any {
		t.Helper()
		res, err := db.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return res.Rows
	}
	// Per video: rows, distinct fetch identities, in the deduped view and physically.
	videos := map[string]string{}
	for _, row := range q(`SELECT id, count(*), count(DISTINCT record_id), count(DISTINCT fetched_at) FROM video_history GROUP BY id`) {
		videos[fmt.Sprint(row[0])] = fmt.Sprint(row[1:]...)
	}
	tombs := map[string]string{}
	for _, row := range q(`SELECT entity_id, count(*) FROM events WHERE event_type = 'tombstone' AND entity_kind = 'video' GROUP BY entity_id`) {
		tombs[fmt.Sprint(row[0])] = fmt.Sprint(row[1])
	}
	var missing, dup, extra int
	for id := range public {
		switch got, ok := videos[id]; {
		case !ok:
			missing++
		case got != "1 1 1":
			dup++
			t.Errorf("video %s: rows, record ids, fetch times = %s, want 1 1 1", id, got)
		}
	}
	for id := range gone {
		switch got, ok := tombs[id]; {
		case !ok:
			missing++
		case got != "1":
			dup++
			t.Errorf("tombstone %s: %s rows, want 1", id, got)
		}
	}
	for id := range videos {
		if !public[id] {
			extra++
		}
	}
	for id := range tombs {
		if !gone[id] {
			extra++
		}
	}
	if missing+dup+extra > 0 {
		t.Errorf("of %d public and %d gone uploads: %d missing, %d duplicated, %d unexpected in the lake", len(public), len(gone), missing, dup, extra)
	}
	for _, table := range []string{"videos", "events", "channels"} {
		rows := q(fmt.Sprintf("SELECT count(*), count(DISTINCT record_id) FROM read_parquet('%s')", lakesql.GlobFor(db.Dir(), table)))
		if rows[0][0] != rows[0][1] {
			t.Errorf("%s: %v physical rows for %v record ids", table, rows[0][0], rows[0][1])
		}
	}
	if got := q(`SELECT count(DISTINCT id), count(*) FROM channel_history`)[0]; fmt.Sprint(got...) != fmt.Sprint(len(channels), len(channels)) {
		t.Errorf("channel_history: %v distinct, %v rows; want %d each", got[0], got[1], len(channels))
	}
	if pub.videos.Load() != int64(len(public)) || pub.tombs.Load() != int64(len(gone)) {
		t.Errorf("published %d videos and %d tombstones, want %d and %d", pub.videos.Load(), pub.tombs.Load(), len(public), len(gone))
	}

	// The faults happened, and the collector's metrics show how it coped.
	faults := map[string]int64{}
	for k, v := range usage.Faults {
		faults[k] = v - before.Faults[k]
	}
	if faults["5xx"] == 0 || faults["timeout"] == 0 || faults["truncate"] == 0 {
		t.Fatalf("emulator injected %v: the test did not exercise every fault", faults)
	}
	if usage.Errors["quotaExceeded"] == 0 {
		t.Fatalf("the tired key never hit quotaExceeded (emulator errors %v)", usage.Errors)
	}
	retries := sumCounter(t, reg, "tubelake_collect_retries_total", nil)
	backoff := sumCounter(t, reg, "tubelake_collect_retry_backoff_seconds_total", nil)
	parked := sumCounter(t, reg, "tubelake_collect_keys_parked_total", map[string]string{"key": quota.KeyID("tired")})
	quotaErrs := sumCounter(t, reg, "tubelake_collect_errors_total", map[string]string{"reason": "quotaExceeded"})
	byReason := map[string]float64{}
	for _, r := range []string{"backendError", "timeout", "truncated"} {
		byReason[r] = sumCounter(t, reg, "tubelake_collect_errors_total", map[string]string{"reason": r})
		if byReason[r] == 0 {
			t.Errorf("errors_total{reason=%q} = 0 although the emulator injected %v", r, faults)
		}
	}
	if retries == 0 || backoff <= 0 || parked < 1 || quotaErrs < 1 {
		t.Errorf("metrics: retries %v, backoff %vs, tired key parked %v times, quotaExceeded %v", retries, backoff, parked, quotaErrs)
	}
	if int64(retries) != st.Retries || st.Backoff <= 0 {
		t.Errorf("stats %v disagree with retries_total %v", st, retries)
	}
	t.Logf("%d public + %d gone uploads of %d channels; faults %v, quotaExceeded %d; collector: %v; metrics: retries %v, backoff %.2fs, errors %v, tired key parked %v",
		len(public), len(gone), len(channels), faults, usage.Errors["quotaExceeded"], st, retries, backoff, byReason, parked)
}

// sumCounter sums a counter family's series whose labels include match.
func sumCounter(t *testing.T, g prometheus.Gatherer, name string, match map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for k, v := range match {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
