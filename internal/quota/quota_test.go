package quota

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNextReset(t *testing.T) {
	pt, _ := time.LoadLocation("America/Los_Angeles")
	cases := []struct {
		in   time.Time
		want time.Time
	}{
		// PST (UTC-8): midnight PT is 08:00 UTC.
		{time.Date(2026, 11, 25, 7, 59, 0, 0, time.UTC), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)},
		// PDT (UTC-7).
		{time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 7, 2, 7, 0, 0, 0, time.UTC)},
		// The day DST ends (2026-11-01) is 25 hours long.
		{time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)},
		// The day DST starts (2026-03-08) is 23 hours long.
		{time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		got := NextReset(tc.in)
		if !got.Equal(tc.want) {
			t.Errorf("NextReset(%v) = %v, want %v", tc.in, got.UTC(), tc.want)
		}
		if h, m, s := got.In(pt).Clock(); h != 0 || m != 0 || s != 0 {
			t.Errorf("NextReset(%v) = %v is not midnight PT", tc.in, got.In(pt))
		}
	}
}

func TestLedgerReserveParkReset(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // 04:00 PT
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	l := New(250, clock)
	k := KeyID("secret")
	if !strings.HasPrefix(k, "key-") || strings.Contains(k, "secret") {
		t.Fatalf("KeyID = %q", k)
	}
	if !l.Reserve(k, CostSearch) || !l.Reserve(k, CostSearch) {
		t.Fatal("first 200 units refused")
	}
	if l.Reserve(k, CostSearch) {
		t.Fatal("reserved past the daily limit")
	}
	for range 50 {
		if !l.Reserve(k, CostList) {
			t.Fatal("list call refused under the limit")
		}
	}
	if l.Reserve(k, CostList) {
		t.Fatal("reserved unit 251")
	}
	l.Refund(k, CostList)
	if u := l.Usage(k); u.Used != 249 || u.Remaining() != 1 || u.Calls != 51 {
		t.Fatalf("usage after refund %+v", u)
	}
	until := l.Park(k)
	if !until.Equal(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)) || l.Reserve(k, CostList) {
		t.Fatalf("park until %v, reserve after park allowed", until)
	}
	// Just before Pacific midnight: still parked; at it: a fresh day.
	set(time.Date(2026, 11, 26, 7, 59, 59, 0, time.UTC))
	if l.Reserve(k, CostList) {
		t.Fatal("parked key used before reset")
	}
	set(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC))
	if !l.Reserve(k, CostList) {
		t.Fatal("key not reset at Pacific midnight")
	}
	if u := l.Usage(k); u.Used != 1 || u.Day != "2026-11-26" || !u.ParkedUntil.IsZero() {
		t.Fatalf("usage after reset %+v", u)
	}
	// Snapshot/Restore round trip.
	l2 := New(250, clock)
	l2.Restore(l.Snapshot())
	if u := l2.Usage(k); u.Used != 1 {
		t.Fatalf("restored usage %+v", u)
	}
}

func TestLedgerConcurrentNeverOverspends(t *testing.T) {
	l := New(1000, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if l.Reserve("k", 1) {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if granted != 1000 {
		t.Fatalf("granted %d units of 1000", granted)
	}
}

func TestLedgerFileRoundTrip(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	path := t.TempDir() + "/quota.json"
	l := New(100, now)
	if err := l.LoadFile(path); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	l.Reserve("key-aaaa", 42)
	l.Park("key-bbbb")
	if err := l.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	l2 := New(100, now)
	if err := l2.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if u := l2.Usage("key-aaaa"); u.Used != 42 {
		t.Fatalf("restored %+v", u)
	}
	if l2.Reserve("key-bbbb", 1) {
		t.Fatal("parked key usable after restore")
	}
}
