package collect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/schedule"
	"github.com/tubelake/tubelake/internal/yt"
)

// LoopConfig configures the scheduler-driven collector (Loop, Cycle).
type LoopConfig struct {
	Store        *schedule.Store
	Tick         time.Duration // pause between cycles when nothing is due (default 10s)
	FeedInterval time.Duration // RSS poll interval per channel (default 1h)
	LeaseBatch   int           // items leased per step (default Workers x 50 x 4)
	// SearchQueries are run with search.list (type=channel) once per
	// SearchInterval (default 24h) while the plan's search bucket has units;
	// the channels found are scheduled (de-duplicated with everything known).
	SearchQueries  []string
	SearchInterval time.Duration
	// StateSave, if set, is called after each cycle and at exit (e.g. to
	// persist the quota plan).
	StateSave func() error
	// Progress, if set, receives the loop's totals about once a second.
	Progress func(LoopStats)
}

// LoopStats are the totals of a Loop (or one Cycle).
type LoopStats struct {
	Cycles       int64
	Calls        int64
	Units        int64
	Records      int64 // snapshots + events + tombstones published
	Videos       int64 // video snapshots
	Channels     int64 // channel snapshots
	Events       int64 // change events (title, tags, thumbnail, description, milestone)
	Tombstones   int64
	FeedPolls    int64
	Discovered   int64 // new videos scheduled (feeds, playlist walks)
	NewChannels  int64 // channels added from references in collected data
	Fallbacks    int64 // uploads playlist walks because a feed may have missed uploads
	Searches     int64 // search.list queries run
	SearchFound  int64 // new channels scheduled from search results
	Refused      int64 // steps stopped because a plan bucket or every key was out of quota
	QuotaLeft    int64 // units left today over all keys (ledger)
	Tiers        []schedule.TierStat
	Refreshed    map[string]int64 // items fetched, by lease tier (discovery = first fetch)
	Errors       map[string]int64
	Elapsed      time.Duration
	LastCycleErr string
}

// loopState is shared by one Loop's cycles.
type loopState struct {
	c     *Collector
	lc    LoopConfig
	start time.Time

	mu       sync.Mutex
	lastPoll map[string]time.Time // channel -> last feed poll (memory: a restart re-polls, at no quota)
	lastQ    map[string]time.Time // search query -> last run
	tiers    []schedule.TierStat
	errs     map[string]int64
	byTier   map[string]int64
	lastErr  string

	cycles, calls, units, records, videos, channels, events, tombstones atomic.Int64
	feedPolls, discovered, newChannels, fallbacks, refused              atomic.Int64
	searches, searchFound                                               atomic.Int64
}

func (c *Collector) newLoopState(lc LoopConfig) (*loopState, error) {
	if lc.Store == nil {
		return nil, errors.New("collect: loop needs a schedule store")
	}
	if lc.Tick <= 0 {
		lc.Tick = 10 * time.Second
	}
	if lc.FeedInterval <= 0 {
		lc.FeedInterval = time.Hour
	}
	if lc.SearchInterval <= 0 {
		lc.SearchInterval = 24 * time.Hour
	}
	if lc.LeaseBatch <= 0 {
		lc.LeaseBatch = c.cfg.Workers * batchSize * 4
	}
	return &loopState{c: c, lc: lc, start: time.Now(), lastPoll: map[string]time.Time{}, lastQ: map[string]time.Time{}, errs: map[string]int64{}, byTier: map[string]int64{}}, nil
}

func (ls *loopState) stats() LoopStats {
	ls.mu.Lock()
	tiers := append([]schedule.TierStat(nil), ls.tiers...)
	errs := make(map[string]int64, len(ls.errs))
	for k, v := range ls.errs {
		errs[k] = v
	}
	lastErr := ls.lastErr
	byTier := make(map[string]int64, len(ls.byTier))
	for k, v := range ls.byTier {
		byTier[k] = v
	}
	ls.mu.Unlock()
	var left int64
	for _, id := range ls.c.KeyIDs() {
		left += ls.c.ledger.Usage(id).Remaining()
	}
	return LoopStats{
		Cycles: ls.cycles.Load(), Calls: ls.calls.Load(), Units: ls.units.Load(), Records: ls.records.Load(),
		Videos: ls.videos.Load(), Channels: ls.channels.Load(), Events: ls.events.Load(), Tombstones: ls.tombstones.Load(),
		FeedPolls: ls.feedPolls.Load(), Discovered: ls.discovered.Load(), NewChannels: ls.newChannels.Load(),
		Fallbacks: ls.fallbacks.Load(), Searches: ls.searches.Load(), SearchFound: ls.searchFound.Load(), Refused: ls.refused.Load(), QuotaLeft: left, Tiers: tiers, Refreshed: byTier, Errors: errs,
		Elapsed: time.Since(ls.start), LastCycleErr: lastErr,
	}
}

func (ls *loopState) addRun(st Stats) {
	ls.calls.Add(st.Calls)
	ls.units.Add(st.QuotaUnits)
	ls.mu.Lock()
	for k, v := range st.Errors {
		ls.errs[k] += v
	}
	ls.mu.Unlock()
}

// refreshTiers recomputes the per-tier state (keys-only scan of the due
// index) and exports it as metrics.
func (ls *loopState) refreshTiers() {
	now := ls.c.now()
	rows, err := ls.lc.Store.Stats(now, ls.lc.Tick)
	if err != nil {
		return
	}
	ls.mu.Lock()
	ls.tiers = rows
	ls.mu.Unlock()
	if p := ls.c.cfg.Planner; p != nil {
		order := make([]string, len(rows))
		for i, r := range rows {
			order[i] = r.Tier
		}
		p.SetDemand(order, schedule.Demand(rows, ls.lc.Tick))
	}
	if m := ls.c.m; m != nil {
		for _, r := range rows {
			m.tierItems.WithLabelValues(r.Tier).Set(float64(r.Items))
			m.tierOverdue.WithLabelValues(r.Tier).Set(float64(r.Overdue))
			m.tierLag.WithLabelValues(r.Tier).Set(r.Lag.Seconds())
		}
		for _, id := range ls.c.KeyIDs() {
			m.quotaLeft.WithLabelValues(id).Set(float64(ls.c.ledger.Usage(id).Remaining()))
		}
	}
}

// Seed schedules channels (seed lists): they are walked (uploads playlist)
// on the next cycle and their videos scheduled.
func (c *Collector) Seed(store *schedule.Store, channelIDs []string) (int, error) {
	return store.AddChannels(dedupe(channelIDs), c.now())
}

// Loop runs scheduler-driven cycles until ctx ends: discovery (walk new
// channels, poll feeds), then due channels and due videos, highest expected
// change first, within the quota plan. It returns ctx's error on shutdown
// (after the cycle in flight finished its calls) or a fatal error.
func (c *Collector) Loop(ctx context.Context, lc LoopConfig) (LoopStats, error) {
	ls, err := c.newLoopState(lc)
	if err != nil {
		return LoopStats{}, err
	}
	stopProgress := ls.progress()
	defer stopProgress()
	for {
		worked, err := ls.cycle(ctx)
		if ls.lc.StateSave != nil {
			if serr := ls.lc.StateSave(); serr != nil {
				c.log.Warn("saving state failed", "err", serr)
			}
		}
		if ctx.Err() != nil {
			return ls.stats(), fmt.Errorf("collect: %w", ctx.Err())
		}
		if err != nil && !isQuotaStop(err) {
			return ls.stats(), err
		}
		if worked {
			continue
		}
		select {
		case <-ctx.Done():
			return ls.stats(), fmt.Errorf("collect: %w", ctx.Err())
		case <-time.After(ls.lc.Tick):
		}
	}
}

// Cycle runs one cycle (discovery, due channels, due videos) and returns
// its totals: what tests and the day benchmark drive step by step.
func (c *Collector) Cycle(ctx context.Context, lc LoopConfig) (LoopStats, error) {
	ls, err := c.newLoopState(lc)
	if err != nil {
		return LoopStats{}, err
	}
	return ls.runOnce(ctx)
}

// Cycler keeps the memory of a loop (feed poll times) across Cycle calls.
type Cycler struct{ ls *loopState }

// NewCycler returns a Cycler for step-by-step cycles.
func (c *Collector) NewCycler(lc LoopConfig) (*Cycler, error) {
	ls, err := c.newLoopState(lc)
	if err != nil {
		return nil, err
	}
	return &Cycler{ls: ls}, nil
}

// Cycle runs one cycle; the returned totals are cumulative.
func (cy *Cycler) Cycle(ctx context.Context) (LoopStats, error) { return cy.ls.runOnce(ctx) }

func (ls *loopState) runOnce(ctx context.Context) (LoopStats, error) {
	_, err := ls.cycle(ctx)
	ls.refreshTiers()
	return ls.stats(), err
}

func isQuotaStop(err error) bool {
	return errors.Is(err, ErrQuotaExhausted) || errors.Is(err, ErrBudgetExhausted)
}

func (ls *loopState) progress() func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-tick.C:
				if n%5 == 0 {
					ls.refreshTiers()
				}
				n++
				if ls.lc.Progress != nil {
					ls.lc.Progress(ls.stats())
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		ls.refreshTiers()
		if ls.lc.Progress != nil {
			ls.lc.Progress(ls.stats())
		}
	}
}

// cycle reports whether it did any work (so Loop goes on without pausing).
func (ls *loopState) cycle(ctx context.Context) (bool, error) {
	ls.cycles.Add(1)
	// Plan before spending: the tiers' demand comes from the schedule.
	ls.refreshTiers()
	var errs []error
	note := func(err error) {
		if err == nil {
			return
		}
		if isQuotaStop(err) {
			ls.refused.Add(1)
		}
		errs = append(errs, err)
	}
	worked := false
	note(ls.search(ctx))
	w, err := ls.walkNewChannels(ctx)
	note(err)
	worked = worked || w
	if ctx.Err() == nil {
		note(ls.pollFeeds(ctx))
	}
	if ctx.Err() == nil {
		w, err = ls.refresh(ctx, schedule.Channel)
		note(err)
		worked = worked || w
	}
	if ctx.Err() == nil {
		w, err = ls.refresh(ctx, schedule.Video)
		note(err)
		worked = worked || w
	}
	err = errors.Join(errs...)
	ls.mu.Lock()
	if err != nil {
		ls.lastErr = err.Error()
	} else {
		ls.lastErr = ""
	}
	ls.mu.Unlock()
	if ctx.Err() != nil {
		return worked, fmt.Errorf("collect: %w", ctx.Err())
	}
	if isQuotaStop(err) {
		// Nothing more can be sent in this bucket: wait for the next tick.
		return false, err
	}
	return worked, err
}

// walkNewChannels walks the uploads playlist of channels never walked and
// schedules their videos (discovery bucket). Channel snapshots come from
// the channel tier.
func (ls *loopState) walkNewChannels(ctx context.Context) (bool, error) {
	worked := false
	for ctx.Err() == nil {
		chans, err := ls.lc.Store.Unwalked(2000)
		if err != nil || len(chans) == 0 {
			return worked, err
		}
		worked = true
		if err := ls.walkChannels(ctx, chans); err != nil {
			return worked, err
		}
	}
	return worked, nil
}

// walkUploads walks the uploads playlists of chans (down to the first
// video known, if known is set) on the discovery bucket and schedules the
// videos found. runErr is the walk's own error (quota stop, API errors);
// err a failure to schedule what was found.
func (ls *loopState) walkUploads(ctx context.Context, chans []string, known func(string) bool, now time.Time) (runErr, err error) {
	st := ls.lc.Store
	r := ls.c.newRun(ctx)
	r.bucket = quota.BucketDiscovery
	r.known = known
	var mu sync.Mutex
	var found []schedule.NewVideo
	r.sinkIDs = func(vs []vid) {
		mu.Lock()
		for _, v := range vs {
			found = append(found, schedule.NewVideo{ID: v.id, ChannelID: v.channel, Published: v.published})
		}
		mu.Unlock()
	}
	runSt, runErr := r.execute(func() {
		for _, ch := range chans {
			r.add(r.playlistTask(ch, yt.UploadsPlaylistID(ch), "", 0))
		}
	})
	ls.addRun(runSt)
	n, err := st.AddVideos(found, now)
	ls.discovered.Add(int64(n))
	return runErr, err
}

func (ls *loopState) walkChannels(ctx context.Context, chans []string) error {
	st := ls.lc.Store
	now := ls.c.now()
	runErr, err := ls.walkUploads(ctx, chans, nil, now)
	if err != nil {
		return err
	}
	if runErr == nil || (!isQuotaStop(runErr) && ctx.Err() == nil) {
		// Walked (a channel without uploads gives playlistNotFound, also done).
		if err := st.MarkWalked(chans, now); err != nil {
			return err
		}
	}
	if runErr != nil && !isQuotaStop(runErr) && ctx.Err() == nil {
		ls.c.log.Warn("walking new channels", "err", runErr)
		runErr = nil // failed pages are counted in Stats; the videos found are scheduled
	}
	return runErr
}

// pollFeeds polls the RSS feed of every channel not polled within
// FeedInterval (zero quota) and schedules the uploads not yet known. A feed
// holds the 15 newest uploads: if all 15 are new, uploads may have been
// missed, and the uploads playlist is walked (1 unit a page) down to the
// first known video.
func (ls *loopState) pollFeeds(ctx context.Context) error {
	st := ls.lc.Store
	now := ls.c.now()
	chans, err := st.ChannelIDs(0)
	if err != nil {
		return err
	}
	var due []string
	ls.mu.Lock()
	for _, ch := range chans {
		if t, ok := ls.lastPoll[ch]; !ok || now.Sub(t) >= ls.lc.FeedInterval {
			if !st.IsWalked(ch) {
				continue // the walk schedules everything
			}
			due = append(due, ch)
			ls.lastPoll[ch] = now
		}
	}
	ls.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	results, derr := ls.c.DiscoverFeeds(ctx, due)
	ls.feedPolls.Add(int64(len(due)))
	var fresh []schedule.NewVideo
	var fallback []string
	for _, res := range results {
		if res.Err != nil || res.NotModified {
			continue
		}
		var newOnes []schedule.NewVideo
		for _, e := range res.Feed.Entries {
			if !st.Has(schedule.Video, e.VideoID) {
				newOnes = append(newOnes, schedule.NewVideo{ID: e.VideoID, ChannelID: res.ChannelID, Published: e.Published})
			}
		}
		if len(res.Feed.Entries) >= FeedSize && len(newOnes) == len(res.Feed.Entries) {
			fallback = append(fallback, res.ChannelID)
		}
		fresh = append(fresh, newOnes...)
	}
	// Walk first: the walk stops at the first scheduled video, which must
	// not be one of the feed entries just seen.
	var walkErr error
	if len(fallback) > 0 {
		walkErr = ls.walkSince(ctx, fallback)
	}
	n, err := st.AddVideos(fresh, now)
	ls.discovered.Add(int64(n))
	if err != nil {
		return err
	}
	if walkErr != nil {
		return walkErr
	}
	if derr != nil && ctx.Err() == nil {
		ls.c.log.Warn("feed polls failed", "err", derr) // retried next interval
	}
	return nil
}

// FeedSize is the number of uploads a channel feed lists.
const FeedSize = 15

// walkSince walks the uploads playlists of chans newest first, stopping at
// the first video already scheduled, and schedules what it found.
func (ls *loopState) walkSince(ctx context.Context, chans []string) error {
	st := ls.lc.Store
	ls.fallbacks.Add(int64(len(chans)))
	now := ls.c.now()
	runErr, err := ls.walkUploads(ctx, chans, func(id string) bool { return st.Has(schedule.Video, id) }, now)
	if err != nil {
		return err
	}
	if runErr != nil && !isQuotaStop(runErr) {
		ls.c.log.Warn("uploads fallback walk", "err", runErr)
		return nil
	}
	return runErr
}

// refresh fetches the due items of kind k, highest expected change first,
// each tier paid from its own plan bucket, until nothing is due or quota
// stops it. One run does it all: the seed leases LeaseBatch items whenever
// the pool's queue runs low, so leasing, fetching and committing overlap
// and the workers never wait for a step to drain. Leases not completed
// (a tier's bucket ran out, every key is out, shutdown, permanent failures)
// are released, or postponed by a tick after failures, when the run ends:
// an item is tried at most once per cycle.
func (ls *loopState) refresh(ctx context.Context, k schedule.Kind) (bool, error) {
	c := ls.c
	st := ls.lc.Store
	r := c.newRun(ctx)
	r.noWalk = true
	obs := &observer{ls: ls, inner: c.pub, outstanding: map[string]string{}}
	obs.cm = newCommitter(ls, obs, c.cfg.Workers, func(err error) { r.fail(&publishError{err}) })
	r.pub = obs

	var mu sync.Mutex
	blocked := map[string]bool{} // tiers whose bucket ran out in this cycle
	var budgetErr, leaseErr error
	r.tierOut = func(tier string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if !blocked[tier] {
			blocked[tier] = true
			budgetErr = errors.Join(budgetErr, err)
		}
	}
	worked := false
	prio := prioVideos
	if k == schedule.Channel {
		prio = prioChannels
	}
	runSt, runErr := r.execute(func() {
		for {
			if !r.waitRoom(prio, 2*c.cfg.Workers) {
				return
			}
			mu.Lock()
			exclude := make([]string, 0, len(blocked))
			for t := range blocked {
				exclude = append(exclude, t)
			}
			mu.Unlock()
			leases, err := st.Lease(k, c.now(), ls.lc.LeaseBatch, exclude...)
			if err != nil {
				leaseErr = err
				r.fail(err)
				return
			}
			if len(leases) == 0 {
				return
			}
			worked = true
			obs.mu.Lock()
			for _, l := range leases {
				obs.outstanding[l.ID] = l.Tier
			}
			obs.mu.Unlock()
			byTier := map[string][]schedule.Lease{}
			var order []string
			mu.Lock()
			for _, l := range leases {
				if blocked[l.Tier] {
					continue // stays leased until the run ends, then released
				}
				if _, ok := byTier[l.Tier]; !ok {
					order = append(order, l.Tier)
				}
				byTier[l.Tier] = append(byTier[l.Tier], l)
			}
			mu.Unlock()
			for _, tier := range order {
				tl := byTier[tier]
				if k == schedule.Channel {
					for i := 0; i < len(tl); i += batchSize {
						ids := make([]string, 0, batchSize)
						for _, l := range tl[i:min(i+batchSize, len(tl))] {
							ids = append(ids, l.ID)
						}
						t := r.channelsTask(ids)
						t.bucket = tier
						r.add(t)
					}
					continue
				}
				vs := make([]vid, len(tl))
				for i, l := range tl {
					vs[i] = vid{id: l.ID, channel: l.ChannelID}
				}
				r.addTierVideos(tier, vs)
			}
		}
	})
	ls.addRun(runSt)
	// Every batch handed to the committer is stored (or failed) before the
	// leases left are released.
	if err := obs.cm.close(); err != nil && runErr == nil {
		runErr = &publishError{err}
	}
	if leaseErr != nil {
		runErr = leaseErr
	}
	left := make([]string, 0, len(obs.outstanding))
	for id := range obs.outstanding {
		left = append(left, id)
	}
	failed := runErr != nil && !isQuotaStop(runErr) && ctx.Err() == nil
	if failed {
		// Failed for good in this cycle: try again a tick later rather
		// than re-leasing them at once.
		if err := st.Postpone(k, left, c.now().Add(ls.lc.Tick)); err != nil {
			return worked, errors.Join(runErr, err)
		}
	} else if err := st.Release(k, left); err != nil {
		return worked, errors.Join(runErr, err)
	}
	if failed {
		var pub *publishError
		if errors.As(runErr, &pub) || leaseErr != nil {
			return worked, runErr
		}
		// Permanent failures: the ids are retried on a later cycle; the
		// rest of the cycle goes on.
		c.log.Warn("refresh had failures", "kind", string(k), "err", runErr)
		runErr = nil
	}
	if runErr == nil && budgetErr != nil {
		runErr = budgetErr
	}
	return worked, runErr
}

type publishError struct{ err error }

func (e *publishError) Error() string { return e.err.Error() }
func (e *publishError) Unwrap() error { return e.err }

// observer sits between a refresh run and the real publisher: it computes
// change events against the schedule and publishes snapshots and events;
// then its committer stores the new schedule state (clearing the leases).
// The worker that called Publish takes its next call while the commit is
// written: an item's lease is only completed after its records were
// published and its new state committed, as before, but fsyncs no longer
// hold workers.
type observer struct {
	ls    *loopState
	inner Publisher
	cm    *committer
	// outstanding holds the ids leased by the run and not committed yet
	// (id -> tier): the lease loop adds, the committer removes, and what is
	// left when the run ends is released. Bounded by the work in flight, not
	// by the run's length.
	mu          sync.Mutex
	outstanding map[string]string
}

func (o *observer) Publish(ctx context.Context, recs ...yt.Record) error {
	ls := o.ls
	var vids []*yt.Video
	var chans []*yt.Channel
	var goneV, goneC []string
	for _, r := range recs {
		switch {
		case r.Video != nil:
			vids = append(vids, r.Video)
		case r.Channel != nil:
			chans = append(chans, r.Channel)
		case r.Event != nil && r.Event.Type == yt.EventTombstone && r.Event.EntityKind == yt.KindVideo:
			goneV = append(goneV, r.Event.EntityID)
		case r.Event != nil && r.Event.Type == yt.EventTombstone && r.Event.EntityKind == yt.KindChannel:
			goneC = append(goneC, r.Event.EntityID)
		}
	}
	b, err := ls.lc.Store.Prepare(ls.c.now(), vids, chans, goneV, goneC)
	if err != nil {
		return &publishError{err}
	}
	all := recs
	if len(b.Events) > 0 {
		all = make([]yt.Record, 0, len(recs)+len(b.Events))
		all = append(all, recs...)
		for i := range b.Events {
			all = append(all, yt.NewEventRecord("api", &b.Events[i]))
		}
	}
	if err := o.inner.Publish(ctx, all...); err != nil {
		return &publishError{err}
	}
	ids := make([]string, 0, len(vids)+len(chans)+len(goneV)+len(goneC))
	for _, v := range vids {
		ids = append(ids, v.ID)
	}
	for _, ch := range chans {
		ids = append(ids, ch.ID)
	}
	ids = append(ids, goneV...)
	ids = append(ids, goneC...)
	return o.cm.add(ctx, pending{b: b, ids: ids, records: len(all), videos: len(vids), channels: len(chans), tombstones: len(goneV) + len(goneC)})
}

// pending is a published batch waiting for its schedule commit.
type pending struct {
	b                                     *schedule.Batch
	ids                                   []string
	records, videos, channels, tombstones int
}

// committer stores published batches in the schedule from one goroutine:
// whatever piled up while the previous transaction was written goes into
// the next one (Store.Commit: one fsync for many batches). Only then are the
// ids marked done and counted. A failed commit stops the run (fail); its
// ids stay leased and are released by fetch.
type committer struct {
	ls     *loopState
	obs    *observer
	in     chan pending
	fail   func(error)
	failed chan struct{} // closed after err is set
	done   chan struct{} // closed when run returns
	err    error
	once   sync.Once
}

// commitInterval is the least time between two schedule commits of a
// refresh run; maxCommitGroup bounds the batches of one commit.
const (
	commitInterval = 500 * time.Millisecond
	maxCommitGroup = 1024
)

func newCommitter(ls *loopState, obs *observer, workers int, fail func(error)) *committer {
	cm := &committer{ls: ls, obs: obs, in: make(chan pending, 32*max(workers, 1)), fail: fail,
		failed: make(chan struct{}), done: make(chan struct{})}
	go cm.run()
	return cm
}

// add queues a published batch; it blocks while the queue is full (the
// commits set the pace) and gives up if ctx ends or a commit failed.
func (cm *committer) add(ctx context.Context, p pending) error {
	select {
	case cm.in <- p:
		return nil
	case <-cm.failed:
		return &publishError{fmt.Errorf("collect: schedule commit failed: %w", cm.err)}
	case <-ctx.Done():
		return fmt.Errorf("collect: %w", ctx.Err())
	}
}

func (cm *committer) run() {
	defer close(cm.done)
	var group []pending
	var last time.Time
	timer := time.NewTimer(0)
	for p := range cm.in {
		group = append(group[:0], p)
		// Gather for at least commitInterval since the previous commit:
		// schedule keys (video ids) are random, so a commit rewrites about
		// one page per item until it holds many items; larger groups cost
		// far fewer page writes per item.
		if wait := time.Until(last.Add(commitInterval)); wait > 0 {
			timer.Reset(wait)
		gather:
			for len(group) < maxCommitGroup {
				select {
				case q, ok := <-cm.in:
					if !ok {
						break gather
					}
					group = append(group, q)
				case <-timer.C:
					break gather
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	drain:
		for len(group) < maxCommitGroup {
			select {
			case q, ok := <-cm.in:
				if !ok {
					break drain
				}
				group = append(group, q)
			default:
				break drain
			}
		}
		last = time.Now()
		bs := make([]*schedule.Batch, len(group))
		for i, g := range group {
			bs[i] = g.b
		}
		if err := cm.ls.lc.Store.Commit(bs...); err != nil {
			cm.err = err
			close(cm.failed)
			cm.fail(err)
			for range cm.in { // drop what is still queued: those leases are released
			}
			return
		}
		for _, g := range group {
			cm.committed(g)
		}
	}
}

func (cm *committer) committed(g pending) {
	ls := cm.ls
	var tiers map[string]int64
	o := cm.obs
	o.mu.Lock()
	for _, id := range g.ids {
		if tier, ok := o.outstanding[id]; ok {
			delete(o.outstanding, id)
			if tiers == nil {
				tiers = map[string]int64{}
			}
			tiers[tier]++
		}
	}
	o.mu.Unlock()
	ls.mu.Lock()
	for tier, n := range tiers {
		ls.byTier[tier] += n
	}
	ls.mu.Unlock()
	ls.records.Add(int64(g.records))
	ls.videos.Add(int64(g.videos))
	ls.channels.Add(int64(g.channels))
	ls.tombstones.Add(int64(g.tombstones))
	ls.events.Add(int64(len(g.b.Events)))
	ls.newChannels.Add(int64(len(g.b.NewChannels)))
	if m := ls.c.m; m != nil {
		for _, e := range g.b.Events {
			m.events.WithLabelValues(string(e.Type)).Inc()
		}
	}
}

// close waits until every queued batch is committed (no add may follow)
// and returns the commit error, if any.
func (cm *committer) close() error {
	cm.once.Do(func() { close(cm.in) })
	<-cm.done
	return cm.err
}

// search runs the configured queries that are due, while the search bucket
// can pay for them, and schedules the channels found.
func (ls *loopState) search(ctx context.Context) error {
	now := ls.c.now()
	for _, q := range ls.lc.SearchQueries {
		ls.mu.Lock()
		last, ok := ls.lastQ[q]
		ls.mu.Unlock()
		if ok && now.Sub(last) < ls.lc.SearchInterval {
			continue
		}
		if p := ls.c.cfg.Planner; p != nil && p.Left(quota.BucketSearch) < quota.CostSearch {
			return nil // the search reserve is spent for today
		}
		ids, st, err := ls.c.SearchChannels(ctx, q, 1)
		ls.addRun(st)
		if err != nil {
			return err
		}
		ls.mu.Lock()
		ls.lastQ[q] = now
		ls.mu.Unlock()
		ls.searches.Add(1)
		n, err := ls.lc.Store.AddChannels(ids, now)
		ls.searchFound.Add(int64(n))
		if err != nil {
			return err
		}
	}
	return nil
}

// RefreshDue runs only the refresh part of a cycle (due channels, then due
// videos), without discovery: what a benchmark of the scheduled refresh
// path measures.
func (cy *Cycler) RefreshDue(ctx context.Context) (LoopStats, error) {
	ls := cy.ls
	_, err := ls.refresh(ctx, schedule.Channel)
	if err == nil {
		_, err = ls.refresh(ctx, schedule.Video)
	}
	return ls.stats(), err
}
