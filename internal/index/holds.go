package index

import (
	"math"
	"sync/atomic"
	"time"
)

// Write-lock holds. Every search waits while Apply, a compaction step, a
// rank swap or a flush's cut holds the write lock, so the hold durations
// are the latency a search can pick up from writes. They are recorded in a
// histogram with power-of-two bounds from 1 µs, exported in Stats (and by
// the pipeline as tubelake_index_write_lock_hold_seconds).

// holdBuckets is the number of finite bounds: 1 µs .. 2^25 µs (33.6 s).
const holdBuckets = 26

// holdHist is a lock-free histogram of hold durations.
type holdHist struct {
	counts [holdBuckets + 1]atomic.Uint64 // counts[b]: holds in (bound(b-1), bound(b)]; the last is +Inf
	sumNs  atomic.Int64
	maxNs  atomic.Int64
}

// holdBound is the upper bound of bucket b.
func holdBound(b int) time.Duration { return time.Microsecond << b }

func (h *holdHist) record(d time.Duration) {
	b := 0
	for b < holdBuckets && d > holdBound(b) {
		b++
	}
	h.counts[b].Add(1)
	h.sumNs.Add(int64(d))
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// LockHolds summarizes the write-lock holds since the index was created or
// opened: how long searches could be kept waiting by writes.
type LockHolds struct {
	Count      uint64  `json:"count"`
	Seconds    float64 `json:"seconds"`     // total time held
	MaxSeconds float64 `json:"max_seconds"` // longest hold
	// Buckets[b] counts the holds of at most UpperSeconds(b) (not
	// cumulative: a hold is in the first bucket whose bound covers it);
	// the last bucket has no bound.
	Buckets []uint64 `json:"buckets"`
}

// UpperSeconds is the upper bound of bucket b of LockHolds.Buckets
// (+Inf for the last).
func UpperSeconds(b int) float64 {
	if b >= holdBuckets {
		return math.Inf(1)
	}
	return holdBound(b).Seconds()
}

// WriteHolds returns the write-lock holds so far (as Stats does, without
// Stats' measurement of the memory figures).
func (ix *Index) WriteHolds() LockHolds { return ix.holds.snapshot() }

func (h *holdHist) snapshot() LockHolds {
	s := LockHolds{Buckets: make([]uint64, holdBuckets+1)}
	for b := range s.Buckets {
		s.Buckets[b] = h.counts[b].Load()
		s.Count += s.Buckets[b]
	}
	s.Seconds = time.Duration(h.sumNs.Load()).Seconds()
	s.MaxSeconds = time.Duration(h.maxNs.Load()).Seconds()
	return s
}

// Sub returns the holds recorded after prev was taken. MaxSeconds cannot be
// subtracted: it becomes the upper bound of the highest bucket that grew
// (at most twice the true maximum), or the true maximum if that is smaller.
func (s LockHolds) Sub(prev LockHolds) LockHolds {
	out := LockHolds{Buckets: make([]uint64, len(s.Buckets)), Seconds: s.Seconds - prev.Seconds}
	top := -1
	for b := range s.Buckets {
		var p uint64
		if b < len(prev.Buckets) {
			p = prev.Buckets[b]
		}
		out.Buckets[b] = s.Buckets[b] - p
		out.Count += out.Buckets[b]
		if out.Buckets[b] > 0 {
			top = b
		}
	}
	if top >= 0 {
		out.MaxSeconds = min(UpperSeconds(top), s.MaxSeconds)
	}
	return out
}

// Quantile returns an upper bound of the q-quantile hold (the bound of the
// bucket it falls in; the maximum for the last bucket), 0 without holds.
func (s LockHolds) Quantile(q float64) float64 {
	if s.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(s.Count) + 0.5)
	rank = max(rank, 1)
	var c uint64
	for b, n := range s.Buckets {
		c += n
		if c >= rank {
			return min(UpperSeconds(b), s.MaxSeconds)
		}
	}
	return s.MaxSeconds
}
