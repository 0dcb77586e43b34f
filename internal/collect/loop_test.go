package collect

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/schedule"
	"github.com/tubelake/tubelake/internal/sim"
	"github.com/tubelake/tubelake/internal/yt"
)

type loopEnv struct {
	e     *emu
	c     *Collector
	store *schedule.Store
	pub   *slicePublisher
	plan  *quota.Planner
	cy    *Cycler
}

func newLoopEnv(t *testing.T, scfg sim.Config, quotaPerDay int64, keys []string) *loopEnv {
	t.Helper()
	e := newEmu(t, scfg)
	st, err := schedule.Open(filepath.Join(t.TempDir(), "schedule.db"), schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	led := quota.New(quotaPerDay, e.srv.Now)
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = quota.KeyID(k)
	}
	plan := quota.NewPlanner(led, ids, quota.PlanConfig{})
	pub := &slicePublisher{}
	c, err := New(Config{Endpoint: e.http.URL, APIKeys: keys, Workers: 8, Planner: plan, Now: e.srv.Now,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond}, pub)
	if err != nil {
		t.Fatal(err)
	}
	cy, err := c.NewCycler(LoopConfig{Store: st, Tick: time.Minute, FeedInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &loopEnv{e: e, c: c, store: st, pub: pub, plan: plan, cy: cy}
}

func (le *loopEnv) cycle(t *testing.T) LoopStats {
	t.Helper()
	st, err := le.cy.Cycle(context.Background())
	if err != nil {
		t.Fatalf("cycle: %v", err)
	}
	return st
}

// unitsMatch checks that the local ledger and the emulator agree to the unit.
func (le *loopEnv) unitsMatch(t *testing.T, keys []string) int64 {
	t.Helper()
	u := le.e.srv.Usage()
	var total int64
	for _, k := range keys {
		local := le.c.Ledger().Usage(quota.KeyID(k)).Used
		if local != u.UnitsToday[k] {
			t.Fatalf("key %s: ledger %d units, emulator charged %d", quota.KeyID(k), local, u.UnitsToday[k])
		}
		total += local
	}
	if u.Errors["quotaExceeded"] != 0 {
		t.Fatalf("%d calls refused for quota", u.Errors["quotaExceeded"])
	}
	return total
}

// Seeds are walked, every upload fetched once; a month later due videos are
// refreshed and the emulator's title edits and milestone crossings become
// events; the ledger matches the emulator exactly.
func TestLoopSeedRefreshEvents(t *testing.T) {
	keys := []string{"k1", "k2"}
	le := newLoopEnv(t, sim.Config{Seed: 7, Channels: 400, VideosPerChannel: 15, QuotaPerDay: 10000}, 10000, keys)
	chans := le.e.srv.ChannelIDs(12)
	if _, err := le.c.Seed(le.store, chans); err != nil {
		t.Fatal(err)
	}
	st := le.cycle(t)
	t0 := le.e.srv.Now()
	checkComplete(t, le.e, chans, le.pub.records(), 0)
	if st.Videos == 0 || st.Channels != int64(len(chans)) || st.Events != 0 {
		t.Fatalf("first cycle %+v", st)
	}
	le.unitsMatch(t, keys)
	// A second cycle right away: nothing is due (feeds were polled right
	// after the walk), so nothing is sent.
	before0 := le.e.srv.Usage()
	le.cycle(t)
	after0 := le.e.srv.Usage()
	for _, ep := range []string{"videos", "channels", "playlistItems", "search", "rss"} {
		if after0.Calls[ep] != before0.Calls[ep] {
			t.Fatalf("idle cycle sent %d %s calls", after0.Calls[ep]-before0.Calls[ep], ep)
		}
	}

	// 40 days later: everything is due again.
	le.e.srv.Advance(40 * 24 * time.Hour)
	before := len(le.pub.records())
	st = le.cycle(t)
	t1 := le.e.srv.Now()
	recs := le.pub.records()[before:]
	le.unitsMatch(t, keys)
	var titleEvents, milestones int
	refreshed := map[string]bool{}
	for _, r := range recs {
		if r.Video != nil {
			refreshed[r.Video.ID] = true
		}
		if r.Event == nil {
			continue
		}
		switch r.Event.Type {
		case yt.EventTitleChanged:
			titleEvents++
			old, _ := le.e.srv.Video(r.Event.EntityID, t0)
			now, _ := le.e.srv.Video(r.Event.EntityID, t1)
			if r.Event.Old != old.Snippet.Title || r.Event.New != now.Snippet.Title {
				t.Fatalf("title event %+v, emulator %q -> %q", r.Event, old.Snippet.Title, now.Snippet.Title)
			}
		case yt.EventMilestone:
			milestones++
		}
	}
	// Expected from the emulator's ground truth, over the videos refreshed
	// in both cycles (new uploads are first observations).
	var wantTitles, wantMilestones int
	for id := range refreshed {
		a, ok1 := le.e.srv.Video(id, t0)
		b, ok2 := le.e.srv.Video(id, t1)
		if !ok1 || !ok2 {
			continue
		}
		if a.Snippet.Title != b.Snippet.Title {
			wantTitles++
		}
		for _, m := range schedule.Milestones {
			if yt.Val(a.Statistics.ViewCount) < m && yt.Val(b.Statistics.ViewCount) >= m {
				wantMilestones++
			}
		}
	}
	if titleEvents != wantTitles || milestones != wantMilestones {
		t.Fatalf("events: %d title (want %d), %d milestones (want %d)", titleEvents, wantTitles, milestones, wantMilestones)
	}
	if wantMilestones == 0 {
		t.Fatal("no milestone crossed: test is vacuous")
	}
	t.Logf("refreshed %d videos, %d title edits, %d milestones, %d discovered", len(refreshed), titleEvents, milestones, st.Discovered)
}

// Title edits: the emulator edits 2% of titles; with enough videos some
// edits fall between two refreshes.
func TestLoopTitleEditEvents(t *testing.T) {
	keys := []string{"k1"}
	le := newLoopEnv(t, sim.Config{Seed: 3, Channels: 300, VideosPerChannel: 60, QuotaPerDay: -1}, 1_000_000, keys)
	chans := le.e.srv.ChannelIDs(40)
	le.c.Seed(le.store, chans)
	le.cycle(t)
	t0 := le.e.srv.Now()
	le.e.srv.Advance(100 * 24 * time.Hour)
	before := len(le.pub.records())
	le.cycle(t)
	t1 := le.e.srv.Now()
	n := 0
	for _, r := range le.pub.records()[before:] {
		if r.Event != nil && r.Event.Type == yt.EventTitleChanged {
			a, _ := le.e.srv.Video(r.Event.EntityID, t0)
			b, _ := le.e.srv.Video(r.Event.EntityID, t1)
			if a.Snippet.Title == b.Snippet.Title || r.Event.New != b.Snippet.Title {
				t.Fatalf("bogus title event %+v", r.Event)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no title_changed event for the emulator's title edits")
	}
	t.Logf("%d title_changed events", n)
}

// The planner never lets a call go out without quota: with a tiny quota
// the loop stops at the limit, the emulator never answers quotaExceeded and
// the ledger equals the emulator's count.
func TestLoopPlannerNeverOverspends(t *testing.T) {
	keys := []string{"k1", "k2"}
	const perDay = 120
	le := newLoopEnv(t, sim.Config{Seed: 11, Channels: 200, VideosPerChannel: 100, QuotaPerDay: perDay}, perDay, keys)
	chans := le.e.srv.ChannelIDs(60)
	le.c.Seed(le.store, chans)
	var st LoopStats
	for range 4 {
		var err error
		st, err = le.cy.Cycle(context.Background())
		if err != nil && !isQuotaStop(err) {
			t.Fatal(err)
		}
	}
	total := le.unitsMatch(t, keys)
	if total > 2*perDay || total < perDay {
		t.Fatalf("spent %d of %d units", total, 2*perDay)
	}
	// The plan adds up to the capacity and covers what each bucket spent;
	// search (not used here) was never borrowed from.
	ps := le.plan.State()
	var planned int64
	for b, v := range ps.Plan {
		planned += v
		var sp int64
		for _, x := range ps.Spent[b] {
			sp += x
		}
		if sp > v {
			t.Fatalf("bucket %s spent %d, plan %d", b, sp, v)
		}
	}
	if planned != 2*perDay {
		t.Fatalf("plan totals %d units, capacity %d", planned, 2*perDay)
	}
	if ps.Spent[quota.BucketSearch][quota.KeyID("k1")]+ps.Spent[quota.BucketSearch][quota.KeyID("k2")] != 0 {
		t.Fatal("search bucket spent by other work")
	}
	if st.Refused == 0 {
		t.Fatalf("loop never reported the plan exhausted: %+v", st)
	}
	rows := le.plan.State().Rows(le.e.srv.Now())
	var spent int64
	for _, r := range rows {
		if r.Bucket == "TOTAL" {
			spent += r.Spent
		}
	}
	if spent != total {
		t.Fatalf("report spent %d, ledger %d", spent, total)
	}
}

// More than 15 uploads between two feed polls: the feed cannot show them
// all, so the uploads playlist is walked down to the first known video.
func TestLoopFeedFallbackToPlaylist(t *testing.T) {
	keys := []string{"k1"}
	le := newLoopEnv(t, sim.Config{Seed: 5, Channels: 50, VideosPerChannel: 400, QuotaPerDay: -1}, 1_000_000, keys)
	chans := le.e.srv.ChannelIDs(10)
	le.c.Seed(le.store, chans)
	le.cycle(t)
	le.e.srv.Advance(2 * time.Hour)
	st := le.cycle(t) // first feed polls: known uploads only
	if st.FeedPolls == 0 {
		t.Fatalf("no feed polled: %+v", st)
	}
	at := le.e.srv.Now()
	le.e.srv.Advance(120 * 24 * time.Hour)
	now := le.e.srv.Now()
	many := 0
	for _, ch := range chans {
		if len(le.e.srv.UploadIDs(ch, now))-len(le.e.srv.UploadIDs(ch, at)) > FeedSize {
			many++
		}
	}
	if many == 0 {
		t.Fatal("no channel uploaded more than 15 videos: test is vacuous")
	}
	st = le.cycle(t)
	if st.Fallbacks < int64(many) {
		t.Fatalf("%d fallbacks, %d channels had more than 15 new uploads", st.Fallbacks, many)
	}
	for _, ch := range chans {
		for _, id := range le.e.srv.UploadIDs(ch, now) {
			if !le.store.Has(schedule.Video, id) {
				if _, alive := le.e.srv.Video(id, now); alive {
					t.Fatalf("upload %s of %s never scheduled", id, ch)
				}
			}
		}
	}
	t.Logf("%d channels with >15 new uploads, %d fallbacks, %d discovered", many, st.Fallbacks, st.Discovered)
}

// search.list discovery: once per interval, within the search bucket; the
// channels found are scheduled once (de-duplicated) and walked.
func TestLoopSearchDiscovery(t *testing.T) {
	keys := []string{"k1"}
	le := newLoopEnv(t, sim.Config{Seed: 9, Channels: 300, VideosPerChannel: 5, QuotaPerDay: 10000}, 10000, keys)
	cy, err := le.c.NewCycler(LoopConfig{Store: le.store, Tick: time.Minute, SearchQueries: []string{"먹방", "먹방"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cy.Cycle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Searches != 1 || st.SearchFound == 0 {
		t.Fatalf("searches %d, channels found %d", st.Searches, st.SearchFound)
	}
	chans, _ := le.store.ChannelIDs(0)
	if int64(len(chans)) < st.SearchFound {
		t.Fatalf("%d channels scheduled, %d found", len(chans), st.SearchFound)
	}
	le.e.srv.Advance(time.Hour)
	if st, _ = cy.Cycle(context.Background()); st.Searches != 1 {
		t.Fatalf("query ran again within its interval: %d", st.Searches)
	}
	if n := le.e.srv.Usage().Calls["search"]; n != 1 {
		t.Fatalf("emulator saw %d search calls", n)
	}
	le.unitsMatch(t, keys)
	if sp := le.plan.State().Spent[quota.BucketSearch][quota.KeyID("k1")]; sp != quota.CostSearch {
		t.Fatalf("search bucket spent %d", sp)
	}
}
