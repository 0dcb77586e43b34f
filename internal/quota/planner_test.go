package quota

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestPlannerBuckets(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := New(1000, clock)
	keys := []string{KeyID("a"), KeyID("b")}
	p := NewPlanner(l, keys, PlanConfig{})
	p.SetDemand([]string{"channel", "hour"}, map[string]int64{"channel": 100, "hour": 500})
	st := p.State()
	want := map[string]int64{BucketSearch: 100, BucketDiscovery: 200, "channel": 100, "hour": 500, BucketSpare: 1100}
	for b, v := range want {
		if st.Plan[b] != v {
			t.Fatalf("plan %v, want %v", st.Plan, want)
		}
	}
	// Search: its own 100 units only (one call), never spare.
	if !p.Reserve(BucketSearch, keys[0], CostSearch) || p.Reserve(BucketSearch, keys[1], CostSearch) {
		t.Fatal("search bucket: want exactly one call")
	}
	// hour: 500 own + 1100 spare = 1600, but the keys only have 1900 left.
	n := 0
	for p.Reserve("hour", keys[n%2], 1) {
		n++
	}
	if n != 1600 {
		t.Fatalf("hour reserved %d units, want 1600 (plan + spare)", n)
	}
	if p.Left("channel") != 100 || p.Left("hour") != 0 || p.Left(BucketDiscovery) != 200 {
		t.Fatalf("left channel %d hour %d discovery %d", p.Left("channel"), p.Left("hour"), p.Left(BucketDiscovery))
	}
	p.Refund("hour", keys[0], 1)
	if p.Left("hour") != 1 {
		t.Fatalf("refund not returned: %d", p.Left("hour"))
	}
	// Re-planning keeps spending covered.
	p.SetDemand([]string{"channel", "hour"}, map[string]int64{"channel": 100, "hour": 50})
	st = p.State()
	var total int64
	for _, v := range st.Plan {
		total += v
	}
	if total != 2000 || st.Plan["hour"] < 1599 {
		t.Fatalf("re-plan %v", st.Plan)
	}
	// Save, restore, report.
	path := filepath.Join(t.TempDir(), "quota.json")
	if err := p.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	loaded, ok, err := LoadState(path)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	p2 := NewPlanner(New(1000, clock), keys, PlanConfig{})
	p2.Restore(loaded)
	if p2.Left("hour") != p.Left("hour") || p2.Ledger().Usage(keys[0]).Used != l.Usage(keys[0]).Used {
		t.Fatal("restore lost state")
	}
	var spent int64
	for _, r := range loaded.Rows(clock()) {
		if r.Bucket == "TOTAL" {
			spent += r.Spent
		}
	}
	if spent != 1699 {
		t.Fatalf("report total spent %d, want 1699", spent)
	}
	// A new Pacific day: everything resets.
	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	if p.Left("hour") < 500 || !p.Reserve(BucketSearch, keys[1], CostSearch) {
		t.Fatal("no reset at the new quota day")
	}
}
