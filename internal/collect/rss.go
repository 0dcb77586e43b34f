package collect

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// Feed is a channel's Atom feed (/feeds/videos.xml?channel_id=): the 15
// newest uploads, at no quota cost.
type Feed struct {
	ChannelID string // normalised to UC...; the feed-level element may lack the prefix
	Title     string
	Entries   []FeedEntry
}

// FeedEntry is one upload in a Feed.
type FeedEntry struct {
	VideoID   string
	ChannelID string
	Title     string
	Published time.Time
	Updated   time.Time
	Views     *int64 // media:community/media:statistics@views, nil if absent
}

type atomFeed struct {
	ChannelID string      `xml:"http://www.youtube.com/xml/schemas/2015 channelId"`
	ID        string      `xml:"http://www.w3.org/2005/Atom id"`
	Title     string      `xml:"http://www.w3.org/2005/Atom title"`
	Entries   []atomEntry `xml:"http://www.w3.org/2005/Atom entry"`
}

type atomEntry struct {
	VideoID   string `xml:"http://www.youtube.com/xml/schemas/2015 videoId"`
	ChannelID string `xml:"http://www.youtube.com/xml/schemas/2015 channelId"`
	Title     string `xml:"http://www.w3.org/2005/Atom title"`
	Published string `xml:"http://www.w3.org/2005/Atom published"`
	Updated   string `xml:"http://www.w3.org/2005/Atom updated"`
	Group     struct {
		Community struct {
			Statistics struct {
				Views string `xml:"views,attr"`
			} `xml:"http://search.yahoo.com/mrss/ statistics"`
		} `xml:"http://search.yahoo.com/mrss/ community"`
	} `xml:"http://search.yahoo.com/mrss/ group"`
}

// normChannelID restores the UC prefix the feed-level element sometimes
// lacks (seen in real feeds: <yt:channelId>9PBzalIcEQCsiIkq36PyUA</...>).
func normChannelID(id string) string {
	id = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(id), "yt:channel:"))
	if len(id) == 22 && !strings.HasPrefix(id, "UC") {
		return "UC" + id
	}
	return id
}

// ParseFeed decodes a YouTube channel Atom feed. Entries without a valid
// video id are skipped.
func ParseFeed(r io.Reader) (Feed, error) {
	var af atomFeed
	dec := xml.NewDecoder(io.LimitReader(r, 4<<20))
	if err := dec.Decode(&af); err != nil {
		return Feed{}, fmt.Errorf("parse feed: %w", err)
	}
	f := Feed{ChannelID: normChannelID(af.ChannelID), Title: strings.TrimSpace(af.Title)}
	if f.ChannelID == "" {
		f.ChannelID = normChannelID(af.ID)
	}
	for _, e := range af.Entries {
		id := strings.TrimSpace(e.VideoID)
		if yt.ValidateVideoID(id) != nil {
			continue
		}
		fe := FeedEntry{
			VideoID: id, ChannelID: normChannelID(e.ChannelID), Title: strings.TrimSpace(e.Title),
			Published: parseTime(strings.TrimSpace(e.Published)), Updated: parseTime(strings.TrimSpace(e.Updated)),
		}
		if fe.ChannelID == "" {
			fe.ChannelID = f.ChannelID
		}
		if v := e.Group.Community.Statistics.Views; v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				fe.Views = yt.Int64(n)
			}
		}
		f.Entries = append(f.Entries, fe)
	}
	return f, nil
}

// feedState is what Discover remembers of a channel's feed between polls.
type feedState struct {
	etag, lastModified string
	seen               map[string]struct{} // ids in the last feed body
}

// Discover polls the channels' RSS feeds (no quota) with conditional GETs
// (If-None-Match / If-Modified-Since) and returns the video ids that were
// not in the channel's previous feed; on the first poll of a channel that is
// every id in its feed. Failed feeds are retried (5xx, timeouts) and then
// reported in the error; the ids found elsewhere are returned all the same.
func (c *Collector) Discover(ctx context.Context, channelIDs []string) ([]string, error) {
	var (
		mu  sync.Mutex
		out []string
	)
	_, err := c.pollFeeds(ctx, channelIDs, func(_ FeedResult, fresh []string) {
		mu.Lock()
		out = append(out, fresh...)
		mu.Unlock()
	})
	return out, err
}

func (c *Collector) feedPollCount(status string) {
	if c.m != nil {
		c.m.feedPolls.WithLabelValues(status).Inc()
	}
}

// FeedResult is the outcome of polling one channel's feed.
type FeedResult struct {
	ChannelID   string
	Feed        Feed // empty when NotModified or Err
	NotModified bool // 304: nothing new since the last poll by this Collector
	Err         error
}

// DiscoverFeeds polls the channels' feeds (zero quota, conditional GET,
// transient failures retried) and returns every feed, so that the caller
// can compare entries with what it knows (e.g. the schedule).
func (c *Collector) DiscoverFeeds(ctx context.Context, channelIDs []string) ([]FeedResult, error) {
	return c.pollFeeds(ctx, channelIDs, nil)
}

// pollFeeds polls the (de-duplicated) channels' feeds with at most Workers
// polls at once. each, if set, is called concurrently with every result and
// the ids new since that channel's previous poll. Failed feeds are reported
// in the error; the other results are returned all the same.
func (c *Collector) pollFeeds(ctx context.Context, channelIDs []string, each func(FeedResult, []string)) ([]FeedResult, error) {
	ids := dedupe(channelIDs)
	out := make([]FeedResult, len(ids))
	sem := make(chan struct{}, c.cfg.Workers)
	var wg sync.WaitGroup
	for i, ch := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := FeedResult{ChannelID: ch}
			var fresh []string
			res.Feed, fresh, res.NotModified, res.Err = c.pollFeedFull(ctx, ch)
			out[i] = res
			if each != nil {
				each(res, fresh)
			}
		}()
	}
	wg.Wait()
	var errs []error
	for i := range out {
		if out[i].ChannelID == "" {
			out[i] = FeedResult{ChannelID: ids[i], Err: ctx.Err()}
		}
		if out[i].Err != nil {
			errs = append(errs, out[i].Err)
		}
	}
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("collect: discover: %w", err)
	}
	if len(errs) > 0 {
		n := len(errs)
		if n > 5 {
			errs = append(errs[:5], fmt.Errorf("... and %d more", n-5))
		}
		return out, fmt.Errorf("collect: discover: %d feed(s) failed: %w", n, errors.Join(errs...))
	}
	return out, nil
}

// pollFeedFull fetches one channel's feed, retrying transient failures, and
// returns it with the ids new since the previous poll.
func (c *Collector) pollFeedFull(ctx context.Context, channelID string) (Feed, []string, bool, error) {
	c.feedMu.Lock()
	st := c.feeds[channelID]
	var etag, lm string
	if st != nil {
		etag, lm = st.etag, st.lastModified
	}
	c.feedMu.Unlock()

	u := c.feedBase + "/feeds/videos.xml?channel_id=" + url.QueryEscape(channelID)
	for attempt := 0; ; attempt++ {
		feed, resp, err := c.getFeed(ctx, u, etag, lm)
		if err == nil && resp.StatusCode == http.StatusNotModified {
			c.feedPollCount("304")
			return Feed{}, nil, true, nil
		}
		if err == nil {
			c.feedPollCount("200")
			return feed, c.remember(channelID, feed, resp.Header), false, nil
		}
		c.feedPollCount("error")
		var ae *APIError
		if !errors.As(err, &ae) || !ae.Retryable() || attempt >= c.cfg.MaxRetries || ctx.Err() != nil {
			return Feed{}, nil, false, err
		}
		select {
		case <-time.After(c.backoff(attempt + 1)):
		case <-ctx.Done():
			return Feed{}, nil, false, fmt.Errorf("collect: feed %s: %w", channelID, ctx.Err())
		}
	}
}

func (c *Collector) getFeed(ctx context.Context, u, etag, lastModified string) (Feed, *http.Response, error) {
	const op = "feed"
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return Feed{}, nil, c.classify(ctx, op, "", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	resp, err := c.feedHTTP.Do(req)
	if err != nil {
		return Feed{}, nil, c.classify(ctx, op, "", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return Feed{}, resp, nil
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		e := &APIError{Op: op, Code: resp.StatusCode, Reason: "http_" + strconv.Itoa(resp.StatusCode),
			Msg: c.scrub.String(u) + ": " + resp.Status, class: classOf(resp.StatusCode, "")}
		return Feed{}, resp, e
	}
	f, err := ParseFeed(resp.Body)
	if err != nil {
		e := c.classify(ctx, op, "", err)
		if e.class != classCanceled {
			e.Reason, e.class = "truncated", classRetry // a cut or garbled body: fetch again
		}
		return Feed{}, resp, e
	}
	return f, resp, nil
}

// remember stores the validators and ids of a fresh feed and returns the
// ids that the previous body did not have.
func (c *Collector) remember(channelID string, f Feed, h http.Header) []string {
	c.feedMu.Lock()
	defer c.feedMu.Unlock()
	prev := c.feeds[channelID]
	st := &feedState{etag: h.Get("ETag"), lastModified: h.Get("Last-Modified"), seen: make(map[string]struct{}, len(f.Entries))}
	var fresh []string
	for _, e := range f.Entries {
		if _, dup := st.seen[e.VideoID]; dup {
			continue
		}
		st.seen[e.VideoID] = struct{}{}
		if prev != nil {
			if _, old := prev.seen[e.VideoID]; old {
				continue
			}
		}
		fresh = append(fresh, e.VideoID)
	}
	c.feeds[channelID] = st
	return fresh
}
