package quota

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"text/tabwriter"
	"time"
)

// Buckets that exist whatever the tiers are.
const (
	BucketDiscovery = "discovery" // uploads-playlist fallback, new videos and channels
	BucketSearch    = "search"    // search.list (100 units a call)
	BucketSpare     = "spare"     // planned nowhere: any bucket but search may borrow it
)

// PlanConfig shapes the day's plan.
type PlanConfig struct {
	DiscoveryShare float64 // share of the day's units reserved for discovery (default 0.10)
	SearchShare    float64 // share reserved for search.list (default 0.05)
}

// Planner splits each quota day's units into buckets (one per refresh tier,
// plus discovery, search and spare) before spending, and debits every call
// from its bucket and from the key's Ledger bucket. Reserve refuses a call
// that its bucket (with spare) or every key cannot pay for: nothing is sent
// without quota. It is safe for concurrent use.
type Planner struct {
	l    *Ledger
	cfg  PlanConfig
	keys []string

	mu     sync.Mutex
	day    string
	order  []string         // tier buckets, in priority order
	demand map[string]int64 // units a day each tier asks for
	plan   map[string]int64 // bucket -> planned units for the day
	spent  map[string]map[string]int64
}

// NewPlanner plans over ledger l for the given key fingerprints (KeyID).
func NewPlanner(l *Ledger, keyIDs []string, cfg PlanConfig) *Planner {
	if cfg.DiscoveryShare <= 0 {
		cfg.DiscoveryShare = 0.10
	}
	if cfg.SearchShare < 0 {
		cfg.SearchShare = 0
	} else if cfg.SearchShare == 0 {
		cfg.SearchShare = 0.05
	}
	p := &Planner{l: l, cfg: cfg, keys: append([]string(nil), keyIDs...), spent: map[string]map[string]int64{}}
	p.planLocked(l.now())
	return p
}

// Ledger returns the underlying per-key ledger.
func (p *Planner) Ledger() *Ledger { return p.l }

// SetDemand gives the units per day each tier needs (e.g. from the
// scheduler: items x 24h / interval / 50), in priority order, and re-plans
// today's budgets.
func (p *Planner) SetDemand(order []string, demand map[string]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.order = append([]string(nil), order...)
	p.demand = map[string]int64{}
	for k, v := range demand {
		p.demand[k] = v
	}
	p.planLocked(p.l.now())
}

// capacity is the units of a whole day over all keys.
func (p *Planner) capacity() int64 { return p.l.perDay * int64(len(p.keys)) }

func (p *Planner) planLocked(now time.Time) {
	day := Day(now)
	if day != p.day {
		p.day = day
		p.spent = map[string]map[string]int64{}
	}
	// Re-planning during the day keeps what each bucket already spent
	// (including what it borrowed from spare): a plan never falls below
	// its bucket's spending, so the plans always add up to the capacity.
	c := p.capacity()
	plan := map[string]int64{}
	left := c
	give := func(b string, want int64) {
		a := max(p.bucketSpentLocked(b), min(want, max(left, 0)))
		plan[b] = a
		left -= a
	}
	give(BucketSearch, int64(math.Floor(float64(c)*p.cfg.SearchShare)))
	give(BucketDiscovery, int64(math.Floor(float64(c)*p.cfg.DiscoveryShare)))
	for _, t := range p.order {
		give(t, p.demand[t])
	}
	plan[BucketSpare] = max(left, 0)
	p.plan = plan
}

// Reserve debits units for one call of bucket on key: from the bucket's
// plan first, then from spare (not for search), and from the key's ledger.
// It reports whether the call may be sent.
func (p *Planner) Reserve(bucket, key string, units int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if Day(p.l.now()) != p.day {
		p.planLocked(p.l.now())
	}
	spent := p.bucketSpentLocked(bucket)
	if spent+units > p.plan[bucket] {
		if bucket == BucketSearch {
			return false
		}
		over := spent + units - max(p.plan[bucket], spent)
		if p.spareUsedLocked()+over > p.plan[BucketSpare] {
			return false
		}
	}
	if !p.l.Reserve(key, units) {
		return false
	}
	m := p.spent[bucket]
	if m == nil {
		m = map[string]int64{}
		p.spent[bucket] = m
	}
	m[key] += units
	return true
}

// Refund returns units reserved for a call that was never sent.
func (p *Planner) Refund(bucket, key string, units int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.spent[bucket]; m != nil {
		m[key] = max(0, m[key]-units)
	}
	p.l.Refund(key, units)
}

func (p *Planner) bucketSpentLocked(bucket string) int64 {
	var n int64
	for _, v := range p.spent[bucket] {
		n += v
	}
	return n
}

func (p *Planner) spareUsedLocked() int64 {
	var n int64
	for b := range p.spent {
		if b == BucketSpare {
			n += p.bucketSpentLocked(b)
			continue
		}
		n += max(0, p.bucketSpentLocked(b)-p.plan[b])
	}
	return n
}

// Left returns the units bucket may still spend today (own plan + spare).
func (p *Planner) Left(bucket string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if Day(p.l.now()) != p.day {
		p.planLocked(p.l.now())
	}
	own := max(0, p.plan[bucket]-p.bucketSpentLocked(bucket))
	if bucket == BucketSearch {
		return own
	}
	return own + max(0, p.plan[BucketSpare]-p.spareUsedLocked())
}

// Row is one line of the quota report.
type Row struct {
	Key     string `json:"key"` // KeyID fingerprint or "all"
	Bucket  string `json:"bucket"`
	Planned int64  `json:"planned"`
	Spent   int64  `json:"spent"`
	Left    int64  `json:"left"`
}

// PlannerState is the persisted (and reported) state of a Planner.
type PlannerState struct {
	Version int                         `json:"version"`
	Day     string                      `json:"day"`
	Keys    []string                    `json:"keys"`
	PerDay  int64                       `json:"perDay"`
	Order   []string                    `json:"order"`
	Demand  map[string]int64            `json:"demand"`
	Plan    map[string]int64            `json:"plan"`
	Spent   map[string]map[string]int64 `json:"spent"`
	Ledger  []Usage                     `json:"ledger"`
	SavedAt time.Time                   `json:"savedAt"`
}

// State returns a copy of the planner's state (fingerprints only).
func (p *Planner) State() PlannerState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if Day(p.l.now()) != p.day {
		p.planLocked(p.l.now())
	}
	st := PlannerState{Version: 1, Day: p.day, Keys: append([]string(nil), p.keys...), PerDay: p.l.perDay,
		Order: append([]string(nil), p.order...), Demand: map[string]int64{}, Plan: map[string]int64{},
		Spent: map[string]map[string]int64{}, SavedAt: p.l.now().UTC()}
	for k, v := range p.demand {
		st.Demand[k] = v
	}
	for k, v := range p.plan {
		st.Plan[k] = v
	}
	for b, m := range p.spent {
		st.Spent[b] = map[string]int64{}
		for k, v := range m {
			st.Spent[b][k] = v
		}
	}
	st.Ledger = p.l.Snapshot()
	return st
}

// Restore loads a saved state of the same quota day (an older day is
// ignored: Google reset the counters).
func (p *Planner) Restore(st PlannerState) {
	p.l.Restore(st.Ledger)
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.Day != Day(p.l.now()) {
		return
	}
	p.day = st.Day
	p.spent = map[string]map[string]int64{}
	for b, m := range st.Spent {
		p.spent[b] = map[string]int64{}
		for k, v := range m {
			p.spent[b][k] = v
		}
	}
	if len(p.order) == 0 && len(st.Order) > 0 {
		p.order, p.demand = st.Order, st.Demand
		p.planLocked(p.l.now())
	}
}

// SaveFile writes the state atomically.
func (p *Planner) SaveFile(path string) error {
	b, err := json.MarshalIndent(p.State(), "", " ")
	if err != nil {
		return fmt.Errorf("quota: encode plan: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*.tmp")
	if err != nil {
		return fmt.Errorf("quota: save plan: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("quota: save plan: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("quota: save plan: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("quota: save plan: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("quota: save plan: %w", err)
	}
	return nil
}

// LoadState reads a state written by SaveFile; ok is false if there is none.
func LoadState(path string) (st PlannerState, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("quota: load plan: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("quota: load plan %s: %w", path, err)
	}
	if st.Version != 1 {
		return st, false, fmt.Errorf("quota: load plan %s: unsupported version %d", path, st.Version)
	}
	return st, true, nil
}

// Rows returns the report: per key and bucket, the bucket's plan split
// evenly over the keys, what that key spent on it, and what is left; then a
// total per key from the ledger. Buckets are in plan order.
func (st PlannerState) Rows(now time.Time) []Row {
	buckets := append([]string{}, st.Order...)
	buckets = append(buckets, BucketDiscovery, BucketSearch, BucketSpare)
	seen := map[string]bool{}
	for _, b := range buckets {
		seen[b] = true
	}
	var extra []string
	for b := range st.Spent {
		if !seen[b] {
			extra = append(extra, b)
		}
	}
	sort.Strings(extra)
	buckets = append(buckets, extra...)
	stale := st.Day != Day(now)
	nk := int64(max(1, len(st.Keys)))
	var rows []Row
	for _, k := range st.Keys {
		for _, b := range buckets {
			planned := st.Plan[b] / nk
			var spent int64
			if !stale {
				spent = st.Spent[b][k]
			}
			rows = append(rows, Row{Key: k, Bucket: b, Planned: planned, Spent: spent, Left: max(0, planned-spent)})
		}
		var used int64
		for _, u := range st.Ledger {
			if u.Key == k && u.Day == Day(now) {
				used = u.Used
			}
		}
		rows = append(rows, Row{Key: k, Bucket: "TOTAL", Planned: st.PerDay, Spent: used, Left: max(0, st.PerDay-used)})
	}
	return rows
}

// WriteTable prints rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KEY\tBUCKET\tPLANNED\tSPENT\tLEFT\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t\n", r.Key, r.Bucket, r.Planned, r.Spent, r.Left)
	}
	return tw.Flush()
}
