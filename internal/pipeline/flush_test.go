package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tubelake/tubelake/internal/yt"
)

func TestFlushWait(t *testing.T) {
	for _, c := range []struct{ every, last, want time.Duration }{
		{5 * time.Second, 0, 5 * time.Second},                     // nothing flushed yet
		{5 * time.Second, 20 * time.Millisecond, 5 * time.Second}, // small index
		{5 * time.Second, 45 * time.Second, 180 * time.Second},    // 10M docs: a fifth of the time
		{200 * time.Millisecond, 100 * time.Millisecond, 400 * time.Millisecond},
	} {
		if got := flushWait(c.every, c.last); got != c.want {
			t.Errorf("flushWait(%v, %v) = %v, want %v", c.every, c.last, got, c.want)
		}
	}
}

// TestFlushIndexRecordsDuration: a flush is written only when something
// was applied since the last one, and its duration feeds the next wait and
// the tubelake_index_flush_seconds histogram by kind (the first is full,
// the next a delta); the index's figures are exported as metrics.
func TestFlushIndexRecordsDuration(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	n, err := Open(ctx, Config{DataDir: t.TempDir(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.FlushIndex(ctx); err != nil {
		t.Fatal(err)
	}
	// count returns the flushes observed per kind (delta, full).
	count := func() map[string]uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]uint64{}
		for _, mf := range mfs {
			if mf.GetName() == "tubelake_index_flush_seconds" {
				for _, m := range mf.GetMetric() {
					out[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
				}
			}
		}
		return out
	}
	total := func() uint64 {
		var n uint64
		for _, c := range count() {
			n += c
		}
		return n
	}
	if c := total(); c != 0 || n.lastFlush.Load() != 0 {
		t.Fatalf("nothing applied, yet %d snapshots (last %v)", c, time.Duration(n.lastFlush.Load()))
	}
	var first []yt.Record
	for i := range 10 { // day 0 of 10 videos
		first = append(first, SyntheticVideo(i, 20, 2))
	}
	if err := n.Index.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	n.applied.Store(1)
	if err := n.FlushIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(); c["full"] != 1 || len(c) != 1 || n.lastFlush.Load() <= 0 || n.Index.Checkpoint() != 1 {
		t.Fatalf("after one snapshot: %v observed, last %v, checkpoint %d", c, time.Duration(n.lastFlush.Load()), n.Index.Checkpoint())
	}
	if err := n.FlushIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if c := total(); c != 1 {
		t.Fatalf("a second snapshot with nothing new: %d observed", c)
	}
	// The next one writes a delta: a statistics refresh (day 1 of video 0).
	if err := n.Index.Apply(ctx, []yt.Record{SyntheticVideo(10, 20, 2)}); err != nil {
		t.Fatal(err)
	}
	n.applied.Store(2)
	if err := n.FlushIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(); c["full"] != 1 || c["delta"] != 1 {
		t.Fatalf("flushes by kind %v, want one full and one delta", c)
	}
	// The index's own figures are exported too.
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				got[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[mf.GetName()] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				got[mf.GetName()+"_count"] = float64(h.GetSampleCount())
				got[mf.GetName()+"_sum"] = h.GetSampleSum()
				prev := uint64(0)
				for _, b := range h.GetBucket() {
					if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > h.GetSampleCount() {
						t.Fatalf("%s: bucket le=%g count %d after %d (total %d)", mf.GetName(), b.GetUpperBound(), b.GetCumulativeCount(), prev, h.GetSampleCount())
					}
					prev = b.GetCumulativeCount()
				}
			}
		}
	}
	if got["tubelake_index_docs"] != 10 || got["tubelake_index_deltas"] != 1 || got["tubelake_index_checkpoint"] != 2 ||
		got["tubelake_index_snapshot_bytes"] <= 0 || got["tubelake_index_applied_records_total"] != 11 || got["tubelake_index_in_place_refreshes_total"] != 1 {
		t.Fatalf("index metrics: %v", got)
	}
	// Applying the records and cutting two flushes took the write lock.
	if got["tubelake_index_write_lock_hold_seconds_count"] < 3 || got["tubelake_index_write_lock_hold_seconds_sum"] <= 0 {
		t.Fatalf("write-lock hold histogram: %v", got)
	}
}
