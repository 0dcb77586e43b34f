package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/youtube/v3"

	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/yt"
)

var (
	// One comma-separated value (part=snippet,statistics,...), the form the
	// API documents; the client would otherwise repeat the parameter.
	channelParts  = []string{"snippet,statistics,contentDetails"}
	videoParts    = []string{"snippet,statistics,contentDetails"}
	playlistParts = []string{"contentDetails"}
)

// Partial responses (the API's fields parameter): only what convertVideo,
// convertChannel and the playlist walk read is sent back, which the API
// does not charge for but which roughly halves the bytes to transfer and the
// official client's JSON decoding (snippet.localized repeats the title and
// description; kind, projection, contentRating, favoriteCount are unused).
// Video thumbnails: the largest is kept, and YouTube always sends high
// (480x360), which is larger than default and medium.
const (
	videoFields googleapi.Field = "items(id,etag," +
		"snippet(publishedAt,channelId,title,description,thumbnails(high,standard,maxres),channelTitle,tags,categoryId,liveBroadcastContent,defaultLanguage,defaultAudioLanguage)," +
		"statistics(viewCount,likeCount,commentCount)," +
		"contentDetails(duration,dimension,definition,caption,licensedContent))"
	channelFields = "items(id,etag," +
		"snippet(title,description,customUrl,publishedAt,thumbnails,defaultLanguage,country)," +
		"statistics(viewCount,subscriberCount,hiddenSubscriberCount,videoCount)," +
		"contentDetails/relatedPlaylists/uploads)"
	playlistFields = "nextPageToken,items/contentDetails(videoId,videoPublishedAt)"
)

// partial reports whether calls ask for partial responses (the generated
// Fields setter would send an empty fields= when given no selection).
func (r *run) partial() bool { return !r.c.cfg.FullResponses }

// Task priorities: finish work in flight before starting new work, so ids
// flow to videos.list as soon as possible and memory stays bounded.
const (
	prioVideos = iota
	prioPlaylist
	prioChannels
	numPrio
)

type task struct {
	prio     int
	op       string
	bucket   string // quota plan bucket; "" = the run's
	attempt  int    // retries so far
	producer bool   // may still yield video ids
	lost     int    // ids given up on if this task fails permanently
	fn       func(t *task) error
}

// retryAfter asks the scheduler to run the task again after d, without
// holding a worker meanwhile.
type retryAfter struct{ d time.Duration }

func (r *retryAfter) Error() string { return "retry after " + r.d.String() }

// queue is a priority FIFO of tasks feeding the worker pool.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	lanes  [numPrio][]*task
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(t *task) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.lanes[t.prio] = append(q.lanes[t.prio], t)
	q.cond.Signal()
	return true
}

func (q *queue) pop() (*task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed {
			return nil, false
		}
		for p := range q.lanes {
			if l := q.lanes[p]; len(l) > 0 {
				t := l[0]
				l[0] = nil
				q.lanes[p] = l[1:]
				return t, true
			}
		}
		q.cond.Wait()
	}
}

// close stops the queue and returns the tasks never run.
func (q *queue) close() []*task {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	var left []*task
	for p := range q.lanes {
		left = append(left, q.lanes[p]...)
		q.lanes[p] = nil
	}
	q.cond.Broadcast()
	return left
}

type vid struct {
	id, channel string
	published   time.Time
}

// run is the state of one crawl.
type run struct {
	c      *Collector
	pub    Publisher // c.pub unless the scheduler loop observes the records
	bucket string    // quota plan bucket of this run's calls
	// walkOnly: channels.list does not walk uploads (statistics refresh).
	noWalk bool
	// sinkIDs, if set, receives the video ids found in playlists instead of
	// fetching them (the scheduler fetches them when due).
	sinkIDs func([]vid)
	// known, if set, stops a playlist walk at the first id it reports
	// (uploads are newest first: the rest was seen before).
	known func(id string) bool
	// tierOut, if set, is told that a task's plan bucket is spent
	// (ErrBudgetExhausted): the task is dropped and the run goes on with
	// the other buckets. Without it, a spent bucket stops the run.
	tierOut func(bucket string, err error)

	ctx    context.Context
	cancel context.CancelFunc
	q      *queue
	wg     sync.WaitGroup // tasks not finished
	start  time.Time

	draining  chan struct{} // closed when no new call may be sent (keys out): in-flight calls finish
	drainOnce sync.Once

	producers atomic.Int64
	batchMu   sync.Mutex
	batch     []vid
	tierBatch map[string][]vid // addTierVideos: partial batch per bucket
	seen      map[string]struct{}

	calls, units, channels, videos, tombstones, retries, unfetched atomic.Int64
	backoffNs                                                      atomic.Int64

	mu       sync.Mutex
	errs     map[string]int64
	failures []error // permanent failures (first few kept)
	nFailed  int
	fatal    error
}

func (c *Collector) newRun(ctx context.Context) *run {
	r := &run{c: c, pub: c.pub, q: newQueue(), start: time.Now(), seen: map[string]struct{}{}, errs: map[string]int64{}, draining: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	return r
}

func (r *run) stats() Stats {
	r.mu.Lock()
	errs := make(map[string]int64, len(r.errs))
	for k, v := range r.errs {
		errs[k] = v
	}
	r.mu.Unlock()
	return Stats{
		Calls: r.calls.Load(), QuotaUnits: r.units.Load(), Channels: r.channels.Load(), Videos: r.videos.Load(),
		Tombstones: r.tombstones.Load(), Retries: r.retries.Load(), Backoff: time.Duration(r.backoffNs.Load()), Unfetched: r.unfetched.Load(),
		Errors: errs, Elapsed: time.Since(r.start),
	}
}

// Collect crawls the channels: their snapshots, every upload (or up to
// MaxVideosPerChannel / MaxVideoAge) as a snapshot or tombstone. It returns
// when all work is done, the context ends, quota runs out on every key or
// publishing fails. Requests that failed for good are counted in
// Stats.Unfetched and reported in the error; the rest of the crawl goes on.
func (c *Collector) Collect(ctx context.Context, channelIDs []string) (Stats, error) {
	r := c.newRun(ctx)
	ids := dedupe(channelIDs)
	return r.execute(func() {
		for i := 0; i < len(ids); i += batchSize {
			r.add(r.channelsTask(ids[i:min(i+batchSize, len(ids))]))
		}
	})
}

// FetchVideos fetches the videos (e.g. found by Discover) in batches of 50
// and publishes snapshots, or tombstones for ids the API does not return.
func (c *Collector) FetchVideos(ctx context.Context, videoIDs []string) (Stats, error) {
	r := c.newRun(ctx)
	return r.execute(func() {
		// Feed the pool a few batches ahead of the workers rather than
		// queueing every batch at once: memory stays bounded by the
		// workers, not by the number of ids.
		const chunk = batchSize * 8
		vs := make([]vid, 0, chunk)
		for lo := 0; lo < len(videoIDs); lo += chunk {
			if !r.waitRoom(prioVideos, 4*c.cfg.Workers) {
				for _, id := range videoIDs[lo:] {
					if id != "" {
						r.unfetched.Add(1)
					}
				}
				return
			}
			vs = vs[:0]
			for _, id := range videoIDs[lo:min(lo+chunk, len(videoIDs))] {
				vs = append(vs, vid{id: id})
			}
			r.addVideos(vs)
		}
	})
}

// waitRoom blocks while the lane holds n tasks or more; it reports false if
// the run stopped meanwhile.
func (r *run) waitRoom(prio, n int) bool {
	for {
		r.q.mu.Lock()
		l := len(r.q.lanes[prio])
		r.q.mu.Unlock()
		if l < n {
			return true
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-r.ctx.Done():
			return false
		case <-r.draining:
			return false
		}
	}
}

// execute runs seed's tasks and everything they spawn on the worker pool.
func (r *run) execute(seed func()) (Stats, error) {
	defer r.cancel()
	c := r.c
	var workers sync.WaitGroup
	for range c.cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				t, ok := r.q.pop()
				if !ok {
					return
				}
				r.exec(t)
			}
		}()
	}
	stopProgress := r.progress()

	// The seed holds one task and one producer token, so neither count
	// reaches zero before all seed tasks are queued.
	r.wg.Add(1)
	r.producers.Add(1)
	seed()
	r.releaseProducer()
	r.wg.Done()

	allDone := make(chan struct{})
	go func() { r.wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-r.ctx.Done():
	case <-r.draining:
	}
	// Tasks still queued are dropped; calls in flight finish (when draining)
	// or are canceled, and workers exit.
	for _, t := range r.q.close() {
		r.drop(t)
	}
	workers.Wait()
	stopProgress()

	st := r.stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.fatal != nil:
		return st, r.fatal
	case r.ctx.Err() != nil:
		return st, fmt.Errorf("collect: %w", r.ctx.Err())
	case r.nFailed > 0:
		return st, fmt.Errorf("collect: %d request(s) failed permanently, %d id(s) not fetched: %w",
			r.nFailed, st.Unfetched, errors.Join(r.failures...))
	}
	return st, nil
}

func (r *run) progress() (stop func()) {
	f := r.c.cfg.Progress
	if f == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				f(r.stats())
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-finished; f(r.stats()) }
}

func (r *run) add(t *task) {
	if t.producer {
		r.producers.Add(1)
	}
	r.wg.Add(1)
	if !r.q.push(t) {
		r.drop(t)
	}
}

// drop finishes a task that will never run, counting the ids it carried.
func (r *run) drop(t *task) {
	r.unfetched.Add(int64(t.lost))
	r.finish(t)
}

func (r *run) finish(t *task) {
	if t.producer {
		r.releaseProducer()
	}
	r.wg.Done()
}

// releaseProducer flushes the last partial video batch once no task can
// yield more ids.
func (r *run) releaseProducer() {
	if r.producers.Add(-1) != 0 {
		return
	}
	r.batchMu.Lock()
	rest := r.batch
	r.batch = nil
	tiers := r.tierBatch
	r.tierBatch = nil
	r.batchMu.Unlock()
	if len(rest) > 0 {
		r.add(r.videosTask(rest))
	}
	for bucket, vs := range tiers {
		if len(vs) > 0 {
			t := r.videosTask(vs)
			t.bucket = bucket
			r.add(t)
		}
	}
}

// addTierVideos queues ids to be paid from bucket, in batches of 50 ids of
// the same bucket (the scheduler's leases are not de-duplicated again).
func (r *run) addTierVideos(bucket string, vs []vid) {
	var full [][]vid
	r.batchMu.Lock()
	if r.tierBatch == nil {
		r.tierBatch = map[string][]vid{}
	}
	b := r.tierBatch[bucket]
	for _, v := range vs {
		b = append(b, v)
		if len(b) == batchSize {
			full = append(full, b)
			b = make([]vid, 0, batchSize)
		}
	}
	r.tierBatch[bucket] = b
	r.batchMu.Unlock()
	for _, b := range full {
		t := r.videosTask(b)
		t.bucket = bucket
		r.add(t)
	}
}

// addVideos queues new ids, sending every full batch of 50 at once.
func (r *run) addVideos(vs []vid) {
	if r.sinkIDs != nil {
		if len(vs) > 0 {
			r.sinkIDs(vs)
		}
		return
	}
	var full [][]vid
	r.batchMu.Lock()
	for _, v := range vs {
		if _, dup := r.seen[v.id]; dup || v.id == "" {
			continue
		}
		r.seen[v.id] = struct{}{}
		r.batch = append(r.batch, v)
		if len(r.batch) == batchSize {
			full = append(full, r.batch)
			r.batch = make([]vid, 0, batchSize)
		}
	}
	r.batchMu.Unlock()
	for _, b := range full {
		r.add(r.videosTask(b))
	}
}

func (r *run) exec(t *task) {
	select {
	case <-r.draining:
		r.drop(t)
		return
	default:
	}
	if r.ctx.Err() != nil {
		r.drop(t)
		return
	}
	err := t.fn(t)
	var ra *retryAfter
	var ae *APIError
	switch {
	case err == nil:
	case errors.As(err, &ra):
		r.retries.Add(1)
		r.backoffNs.Add(int64(ra.d))
		if r.c.m != nil {
			r.c.m.retries.WithLabelValues(t.op).Inc()
			r.c.m.backoff.WithLabelValues(t.op).Add(ra.d.Seconds())
		}
		if ra.d <= 0 {
			if !r.q.push(t) {
				r.drop(t)
			}
			return
		}
		time.AfterFunc(ra.d, func() {
			if !r.q.push(t) {
				r.drop(t)
			}
		})
		return
	case r.tierOut != nil && errors.Is(err, ErrBudgetExhausted):
		// This bucket is spent for today; its ids stay with the caller.
		r.tierOut(r.bucketOf(t), err)
	case errors.As(err, &ae) && ae.class == classPermanent && t.op == "playlistItems.list" && ae.Code == 404:
		// playlistNotFound: a channel without (public) uploads. Counted in
		// Stats.Errors, but nothing was lost.
		r.c.log.Info("uploads playlist not found", "reason", ae.Reason)
	case errors.As(err, &ae) && ae.class == classPermanent:
		r.unfetched.Add(int64(t.lost))
		r.mu.Lock()
		r.nFailed++
		if len(r.failures) < 5 {
			r.failures = append(r.failures, ae)
		}
		r.mu.Unlock()
		r.c.log.Warn("request failed permanently", "op", ae.Op, "key", ae.Key, "reason", ae.Reason, "code", ae.Code, "ids", t.lost, "err", ae.Error())
	default:
		r.fail(err)
		if t.lost > 0 {
			r.unfetched.Add(int64(t.lost))
		}
	}
	r.finish(t)
}

// fail stops the crawl with err (the first fatal error wins). When the keys
// are out, calls already sent (and paid for) are let finish and published;
// any other fatal error cancels them.
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.fatal == nil && !errors.Is(err, context.Canceled) {
		r.fatal = err
		r.c.log.Error("crawl stopped", "err", r.c.scrub.String(err.Error()))
	}
	r.mu.Unlock()
	if errors.Is(err, ErrQuotaExhausted) || errors.Is(err, ErrNoUsableKey) || errors.Is(err, ErrBudgetExhausted) {
		r.drainOnce.Do(func() { close(r.draining) })
		return
	}
	r.cancel()
}

func (r *run) countError(op, reason string) {
	r.mu.Lock()
	r.errs[reason]++
	r.mu.Unlock()
	if r.c.m != nil {
		r.c.m.errors.WithLabelValues(op, reason).Inc()
	}
}

// send makes one attempt of t's API call on a key with quota left. It
// returns nil, a *retryAfter, a permanent *APIError, or a fatal error.
// bucketOf is the quota plan bucket t is paid from.
func (r *run) bucketOf(t *task) string {
	if t.bucket != "" {
		return t.bucket
	}
	return r.bucket
}

func (r *run) send(t *task, cost int64, do func(ctx context.Context, svc *youtube.Service) error) error {
	c := r.c
	bucket := r.bucketOf(t)
	k, err := c.pickKey(bucket, cost)
	if err != nil {
		return err
	}
	if err := k.lim.Wait(r.ctx); err != nil {
		c.refund(bucket, k.id, cost)
		return fmt.Errorf("collect: %w", r.ctx.Err())
	}
	ctx, cancel := context.WithTimeout(r.ctx, c.cfg.RequestTimeout)
	defer cancel()
	r.calls.Add(1)
	r.units.Add(cost)
	if c.m != nil {
		c.m.calls.WithLabelValues(t.op, k.id).Inc()
		c.m.units.WithLabelValues(k.id).Add(float64(cost))
		c.m.inflight.Inc()
	}
	start := time.Now()
	err = do(ctx, k.svc)
	if c.m != nil {
		c.m.inflight.Dec()
		c.m.latency.WithLabelValues(t.op).Observe(time.Since(start).Seconds())
	}
	if err == nil {
		return nil
	}
	ae := c.classify(r.ctx, t.op, k.id, err)
	if ae.class == classCanceled {
		return fmt.Errorf("collect: %w", r.ctx.Err())
	}
	r.countError(t.op, ae.Reason)
	switch ae.class {
	case classPark:
		until := c.ledger.Park(k.id)
		if c.m != nil {
			c.m.parked.WithLabelValues(k.id).Inc()
		}
		c.log.Warn("API key out of quota, parked", "key", k.id, "until", until, "op", t.op)
		return &retryAfter{}
	case classBadKey:
		if !k.invalid.Swap(true) {
			c.log.Error("API key rejected, disabled", "key", k.id, "reason", ae.Reason, "op", t.op)
		}
		return &retryAfter{}
	case classRetry:
		if t.attempt >= c.cfg.MaxRetries {
			ae.class = classPermanent
			ae.Msg += fmt.Sprintf(" (gave up after %d attempts)", t.attempt+1)
			return ae
		}
		t.attempt++
		d := max(c.backoff(t.attempt), min(ae.after, c.cfg.RetryMaxDelay))
		c.log.Debug("retrying", "op", t.op, "key", k.id, "reason", ae.Reason, "attempt", t.attempt, "in", d)
		return &retryAfter{d: d}
	}
	return ae
}

func (r *run) publish(recs []yt.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := r.pub.Publish(r.ctx, recs...); err != nil {
		return fmt.Errorf("collect: publish %d record(s): %w", len(recs), err) // publishers never see keys
	}
	return nil
}

// capturedList sends one list call (quota.CostList) through r.send with the
// raw response body captured (for presence checks of ambiguous items). It
// returns the response, the capture of the attempt that answered, and when
// it answered. partial tells call to request only the partial fields.
func capturedList[R any](r *run, t *task, call func(ctx context.Context, svc *youtube.Service, partial bool) (R, error)) (resp R, raw *capture, at time.Time, err error) {
	err = r.send(t, quota.CostList, func(ctx context.Context, svc *youtube.Service) error {
		var err error
		ctx, raw = withCapture(ctx)
		resp, err = call(ctx, svc, r.partial())
		at = r.c.now()
		return err
	})
	return resp, raw, at, err
}

// presenceOf returns, for ambiguous items (a zero count that may be a
// missing one), which statistics fields the raw JSON of each item with
// statistics holds (see presence); nil otherwise. It releases raw.
func presenceOf[T any](raw *capture, items []*T, ambiguous bool, stats func(*T) (id string, has bool)) map[string]map[string]bool {
	defer raw.release()
	if !ambiguous {
		return nil
	}
	var withStats []string
	for _, it := range items {
		if it == nil {
			continue
		}
		if id, ok := stats(it); ok {
			withStats = append(withStats, id)
		}
	}
	return presence(raw.buf.Bytes(), withStats)
}

func (r *run) channelsTask(ids []string) *task {
	t := &task{prio: prioChannels, op: "channels.list", producer: true, lost: len(ids)}
	t.fn = func(t *task) error {
		resp, raw, at, err := capturedList(r, t, func(ctx context.Context, svc *youtube.Service, partial bool) (*youtube.ChannelListResponse, error) {
			call := svc.Channels.List(channelParts).Id(strings.Join(ids, ",")).MaxResults(batchSize).Context(ctx)
			if partial {
				call = call.Fields(channelFields)
			}
			return call.Do()
		})
		if err != nil {
			return err
		}
		present := presenceOf(raw, resp.Items, channelsAmbiguous(resp.Items), func(c *youtube.Channel) (string, bool) { return c.Id, c.Statistics != nil })
		found := make(map[string]bool, len(resp.Items))
		recs := make([]yt.Record, 0, len(ids))
		type walk struct{ channel, playlist string }
		var walks []walk
		for _, it := range resp.Items {
			if it == nil || found[it.Id] {
				continue
			}
			found[it.Id] = true
			ch := convertChannel(it, present[it.Id], at)
			recs = append(recs, yt.NewChannelRecord("api", ch))
			if r.noWalk || (ch.Statistics.VideoCount != nil && *ch.Statistics.VideoCount == 0) {
				continue // no uploads: don't spend a unit to learn that
			}
			pl := ch.ContentDetails.UploadsPlaylistID
			if pl == "" {
				pl = yt.UploadsPlaylistID(it.Id)
			}
			if pl != "" {
				walks = append(walks, walk{it.Id, pl})
			}
		}
		var gone int64
		for _, id := range ids {
			if !found[id] {
				gone++
				recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindChannel, EntityID: id, ObservedAt: at}))
			}
		}
		if err := r.publish(recs); err != nil {
			return err
		}
		r.channels.Add(int64(len(found)))
		r.tombstones.Add(gone)
		r.countRecords("channel", len(found))
		r.countRecords("tombstone", int(gone))
		for _, w := range walks {
			r.add(r.playlistTask(w.channel, w.playlist, "", 0))
		}
		return nil
	}
	return t
}

func (r *run) playlistTask(channelID, playlistID, pageToken string, seen int) *task {
	t := &task{prio: prioPlaylist, op: "playlistItems.list", producer: true}
	t.fn = func(t *task) error {
		var resp *youtube.PlaylistItemListResponse
		err := r.send(t, quota.CostList, func(ctx context.Context, svc *youtube.Service) error {
			n := int64(batchSize)
			if m := r.c.cfg.MaxVideosPerChannel; m > 0 {
				n = int64(min(batchSize, max(1, m-seen)))
			}
			call := svc.PlaylistItems.List(playlistParts).PlaylistId(playlistID).MaxResults(n).Context(ctx)
			if r.partial() {
				call = call.Fields(playlistFields)
			}
			if pageToken != "" {
				call = call.PageToken(pageToken)
			}
			var err error
			resp, err = call.Do()
			return err
		})
		if err != nil {
			return err
		}
		maxN := r.c.cfg.MaxVideosPerChannel
		var cutoff time.Time
		if r.c.cfg.MaxVideoAge > 0 {
			cutoff = r.c.now().Add(-r.c.cfg.MaxVideoAge)
		}
		stop := false
		vs := make([]vid, 0, len(resp.Items))
		for _, it := range resp.Items {
			if maxN > 0 && seen >= maxN {
				stop = true
				break
			}
			id, published := playlistVideo(it)
			if id == "" {
				continue
			}
			if r.known != nil && r.known(id) {
				stop = true // newest first: everything after this was seen
				break
			}
			if !cutoff.IsZero() && !published.IsZero() && published.Before(cutoff) {
				stop = true // uploads are newest first
				break
			}
			seen++
			vs = append(vs, vid{id: id, channel: channelID, published: published})
		}
		if maxN > 0 && seen >= maxN {
			stop = true
		}
		r.addVideos(vs)
		if !stop && resp.NextPageToken != "" && len(resp.Items) > 0 {
			r.add(r.playlistTask(channelID, playlistID, resp.NextPageToken, seen))
		}
		return nil
	}
	return t
}

func (r *run) videosTask(vs []vid) *task {
	t := &task{prio: prioVideos, op: "videos.list", lost: len(vs)}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.id
	}
	t.fn = func(t *task) error {
		resp, raw, at, err := capturedList(r, t, func(ctx context.Context, svc *youtube.Service, partial bool) (*youtube.VideoListResponse, error) {
			call := svc.Videos.List(videoParts).Id(strings.Join(ids, ",")).Context(ctx)
			if partial {
				call = call.Fields(videoFields)
			}
			return call.Do()
		})
		if err != nil {
			return err
		}
		present := presenceOf(raw, resp.Items, videosAmbiguous(resp.Items), func(v *youtube.Video) (string, bool) { return v.Id, v.Statistics != nil })
		byID := make(map[string]*youtube.Video, len(resp.Items))
		for _, it := range resp.Items {
			if it != nil {
				byID[it.Id] = it
			}
		}
		recs := make([]yt.Record, 0, len(vs))
		var nv, nt int64
		for _, v := range vs {
			if it := byID[v.id]; it != nil {
				recs = append(recs, yt.NewVideoRecord("api", convertVideo(it, present[v.id], at)))
				nv++
				continue
			}
			recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: v.id, ChannelID: v.channel, ObservedAt: at}))
			nt++
		}
		if err := r.publish(recs); err != nil {
			return err
		}
		r.videos.Add(nv)
		r.tombstones.Add(nt)
		r.countRecords("video", int(nv))
		r.countRecords("tombstone", int(nt))
		return nil
	}
	return t
}

func (r *run) countRecords(kind string, n int) {
	if r.c.m != nil && n > 0 {
		r.c.m.records.WithLabelValues(kind).Add(float64(n))
	}
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
