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

// TestFlushIndexRecordsDuration: a snapshot is written only when something
// was applied since the last one, and its duration feeds the next wait and
// the tubelake_index_flush_seconds histogram.
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
	count := func() uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "tubelake_index_flush_seconds" {
				return mf.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		t.Fatal("tubelake_index_flush_seconds not registered")
		return 0
	}
	if c := count(); c != 0 || n.lastFlush.Load() != 0 {
		t.Fatalf("nothing applied, yet %d snapshots (last %v)", c, time.Duration(n.lastFlush.Load()))
	}
	if err := n.Index.Apply(ctx, []yt.Record{SyntheticVideo(1, 10, 1)}); err != nil {
		t.Fatal(err)
	}
	n.applied.Store(1)
	if err := n.FlushIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(); c != 1 || n.lastFlush.Load() <= 0 || n.Index.Checkpoint() != 1 {
		t.Fatalf("after one snapshot: %d observed, last %v, checkpoint %d", c, time.Duration(n.lastFlush.Load()), n.Index.Checkpoint())
	}
	if err := n.FlushIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(); c != 1 {
		t.Fatalf("a second snapshot with nothing new: %d observed", c)
	}
}
