package index

import (
	"math"
	"testing"
	"time"
)

func TestHoldHistogram(t *testing.T) {
	var h holdHist
	for _, d := range []time.Duration{500 * time.Nanosecond, time.Microsecond, 3 * time.Microsecond, 3 * time.Microsecond, 5 * time.Millisecond, time.Minute} {
		h.record(d)
	}
	s := h.snapshot()
	if s.Count != 6 || len(s.Buckets) != holdBuckets+1 {
		t.Fatalf("count %d, %d buckets", s.Count, len(s.Buckets))
	}
	// 0.5 µs and 1 µs are in (.., 1 µs]; 3 µs in (2, 4]; 5 ms in (4.096, 8.192] ms; a minute beyond 2^25 µs.
	want := map[int]uint64{0: 2, 2: 2, 13: 1, holdBuckets: 1}
	for b, n := range s.Buckets {
		if n != want[b] {
			t.Errorf("bucket %d (<= %g s): %d, want %d", b, UpperSeconds(b), n, want[b])
		}
	}
	if s.MaxSeconds != 60 || math.Abs(s.Seconds-(60+0.005+7.5e-6)) > 1e-9 {
		t.Errorf("max %g s, sum %g s", s.MaxSeconds, s.Seconds)
	}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.3, 1e-6}, {0.5, 4e-6}, {0.8, 8.192e-3}, {1, 60}} {
		if got := s.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%g) = %g, want %g", c.q, got, c.want)
		}
	}
	// Sub: only what came after; its max is bounded by the highest bucket that grew.
	h.record(20 * time.Microsecond)
	d := h.snapshot().Sub(s)
	if d.Count != 1 || d.Buckets[5] != 1 || d.MaxSeconds != 32e-6 || math.Abs(d.Seconds-20e-6) > 1e-9 {
		t.Errorf("Sub: %+v", d)
	}
	if z := h.snapshot().Sub(h.snapshot()); z.Count != 0 || z.MaxSeconds != 0 || z.Quantile(0.99) != 0 {
		t.Errorf("empty Sub: %+v", z)
	}
}

func TestStatsCountWriteHolds(t *testing.T) {
	ix := newMem(t)
	before := ix.Stats().WriteHolds
	mustApply(t, ix, vspec{id: vidID(1), title: "초등영어 first", views: 10}.rec(), vspec{id: vidID(2), title: "second", views: 5}.rec())
	after := ix.Stats().WriteHolds
	d := after.Sub(before)
	if d.Count == 0 || d.Seconds <= 0 || after.MaxSeconds <= 0 {
		t.Fatalf("an Apply of new docs recorded no write-lock hold: %+v", d)
	}
}
