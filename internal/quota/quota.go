package quota

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"
	_ "time/tzdata" // the Pacific reset must work on hosts without zoneinfo
)

// Costs of YouTube Data API v3 calls in quota units.
const (
	CostList   int64 = 1   // any *.list call (videos, channels, playlistItems...), up to 50 ids
	CostSearch int64 = 100 // search.list
)

// DefaultPerDay is the default daily quota of one API key.
const DefaultPerDay int64 = 10000

// Pacific is the time zone in which the API quota day starts.
var pacific = mustLoad("America/Los_Angeles")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("quota: load %s: %v", name, err)) // embedded tzdata makes this unreachable
	}
	return loc
}

// Day returns the quota day (YYYY-MM-DD in America/Los_Angeles) containing t.
func Day(t time.Time) string { return t.In(pacific).Format(time.DateOnly) }

// NextReset returns the next midnight America/Los_Angeles strictly after t.
func NextReset(t time.Time) time.Time {
	p := t.In(pacific)
	y, m, d := p.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, pacific)
}

// KeyID returns a stable, non-secret identifier of an API key: "key-" and
// the first 8 hex digits of its SHA-256. Use it in logs, metrics and storage.
func KeyID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "key-" + hex.EncodeToString(h[:4])
}

// Usage is the state of one key's bucket.
type Usage struct {
	Key         string    `json:"key"` // KeyID, never the secret
	Day         string    `json:"day"` // quota day the counts belong to
	Used        int64     `json:"used"`
	Limit       int64     `json:"limit"`
	Calls       int64     `json:"calls"`
	ParkedUntil time.Time `json:"parkedUntil,omitzero"`
}

// Remaining returns the units left in the bucket.
func (u Usage) Remaining() int64 { return max(0, u.Limit-u.Used) }

type bucket struct {
	day         string
	used, calls int64
	parkedUntil time.Time
}

// Ledger counts units spent per key and per quota day. It is safe for
// concurrent use.
type Ledger struct {
	perDay int64
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

// New returns a ledger granting perDay units per key per quota day
// (DefaultPerDay if perDay <= 0). now defaults to time.Now.
func New(perDay int64, now func() time.Time) *Ledger {
	if perDay <= 0 {
		perDay = DefaultPerDay
	}
	if now == nil {
		now = time.Now
	}
	return &Ledger{perDay: perDay, now: now, buckets: map[string]*bucket{}}
}

// bucketLocked returns the key's bucket for the current quota day.
func (l *Ledger) bucketLocked(key string, now time.Time) *bucket {
	day := Day(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{day: day}
		l.buckets[key] = b
	}
	if b.day != day { // a new quota day: Google reset the counters
		b.day, b.used, b.calls = day, 0, 0
	}
	if !b.parkedUntil.IsZero() && !now.Before(b.parkedUntil) {
		b.parkedUntil = time.Time{}
	}
	return b
}

// Reserve debits units from key if the key is not parked and has at least
// that many units left today. It reports whether the call may be sent.
func (l *Ledger) Reserve(key string, units int64) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	if !b.parkedUntil.IsZero() || b.used+units > l.perDay {
		return false
	}
	b.used += units
	b.calls++
	return true
}

// Refund gives back units reserved for a call that was never sent.
func (l *Ledger) Refund(key string, units int64) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	b.used = max(0, b.used-units)
	b.calls = max(0, b.calls-1)
}

// Park marks key as exhausted until the next Pacific midnight (the API said
// quotaExceeded, whatever the local count) and returns that instant.
func (l *Ledger) Park(key string) time.Time {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	b.parkedUntil = NextReset(now)
	b.used = max(b.used, l.perDay)
	return b.parkedUntil
}

// Usage returns the current state of key's bucket.
func (l *Ledger) Usage(key string) Usage {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	return Usage{Key: key, Day: b.day, Used: b.used, Limit: l.perDay, Calls: b.calls, ParkedUntil: b.parkedUntil}
}

// Snapshot returns the state of every known bucket, sorted by key, for
// persistence or a report.
func (l *Ledger) Snapshot() []Usage {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Usage, 0, len(l.buckets))
	for k := range l.buckets {
		b := l.bucketLocked(k, now)
		out = append(out, Usage{Key: k, Day: b.day, Used: b.used, Limit: l.perDay, Calls: b.calls, ParkedUntil: b.parkedUntil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Restore loads a Snapshot taken earlier (e.g. before a restart). Buckets of
// a past quota day are reset on their next use.
func (l *Ledger) Restore(us []Usage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range us {
		l.buckets[u.Key] = &bucket{day: u.Day, used: u.Used, calls: u.Calls, parkedUntil: u.ParkedUntil}
	}
}
