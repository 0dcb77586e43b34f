package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tubelake/tubelake/internal/lakesql"
)

// ttlCache is a small cache of lake answers: the lake changes only when a
// sink batch commits, so repeated chart and ranking requests within the TTL
// are served from memory.
type ttlCache struct {
	mu  sync.Mutex
	max int
	m   map[string]cacheEntry
}

type cacheEntry struct {
	v          any
	exp        time.Time
	stale      time.Time // serve stale (revalidating) until then; zero: never
	refreshing bool
}

func newTTLCache(max int) *ttlCache { return &ttlCache{max: max, m: map[string]cacheEntry{}} }

func (c *ttlCache) get(k string, now time.Time) (any, bool) {
	v, fresh, _ := c.getStale(k, now)
	if !fresh {
		return nil, false
	}
	return v, true
}

// getStale returns the entry of k while it is fresh, or, after it expired
// and before its stale limit, its stale value with revalidate true for the
// first caller only (who must refresh it and then call refreshed).
func (c *ttlCache) getStale(k string, now time.Time) (v any, fresh, revalidate bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	switch {
	case !ok:
		return nil, false, false
	case !now.After(e.exp):
		return e.v, true, false
	case now.After(e.stale):
		return nil, false, false
	}
	if !e.refreshing {
		e.refreshing = true
		c.m[k] = e
		revalidate = true
	}
	return e.v, false, revalidate
}

// refreshed ends a revalidation of k that did not put a new entry (an
// error): the next stale read tries again.
func (c *ttlCache) refreshed(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.refreshing {
		e.refreshing = false
		c.m[k] = e
	}
}

func (c *ttlCache) put(k string, v any, now, exp time.Time) { c.putStale(k, v, now, exp, time.Time{}) }

// putStale stores v, fresh until exp and served stale while revalidating
// until stale.
func (c *ttlCache) putStale(k string, v any, now, exp, stale time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.After(e.exp) {
				delete(c.m, k)
			}
		}
		// Still full of live entries: drop a tenth, in map (random) order.
		for k := range c.m {
			if len(c.m) < c.max*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[k] = cacheEntry{v: v, exp: exp, stale: stale}
}

// lakeQuery runs sql through the cache.
func (s *server) lakeQuery(ctx context.Context, sql string) (*lakesql.Result, error) {
	if s.cfg.Lake == nil {
		return nil, errNoLake
	}
	now := s.cfg.Now()
	if v, ok := s.cache.get(sql, now); ok {
		return v.(*lakesql.Result), nil
	}
	res, err := s.cfg.Lake.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	s.cache.put(sql, res, now, now.Add(s.cfg.CacheTTL))
	return res, nil
}

var errNoLake = errors.New("the lake is not available in this process")

func (s *server) lakeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, errNoLake):
		writeError(w, http.StatusServiceUnavailable, "lake_unavailable", err.Error())
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "timeout", what+" did not finish in time")
	default:
		s.log.Error("lake query failed", "what", what, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", what+" failed")
	}
}

func sqlStr(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlTime(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}

func asInt(v any) *int64 {
	switch x := v.(type) {
	case int64:
		return &x
	case int32:
		n := int64(x)
		return &n
	case float64:
		n := int64(x)
		return &n
	}
	return nil
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func asTime(v any) time.Time {
	t, _ := v.(time.Time)
	return t.UTC()
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// window resolves from/to of a series request (default: the last 90 days).
func (s *server) window(p params) (from, to time.Time, err error) {
	to = p.time("to")
	if to.IsZero() {
		to = s.cfg.Now().UTC()
	}
	from = p.time("from")
	if from.IsZero() {
		from = to.AddDate(0, 0, -90)
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

// maxPoints bounds a series; coarser intervals keep long windows complete.
const maxPoints = 5000

func bucketExpr(interval string) string {
	switch interval {
	case "hour":
		return "date_trunc('hour', fetched_at)"
	case "day":
		return "date_trunc('day', fetched_at)"
	}
	return "fetched_at"
}

// seriesRow is one bucket of a statistics series: the latest value of three
// counters within the bucket.
type seriesRow struct {
	at time.Time
	v  [3]*int64
}

// seriesRows reads the series of counters cols of entity id (column key) of
// a stats table over [from, to), bucketed by interval iv, at most maxPoints
// rows (truncated reports that there were more).
func (s *server) seriesRows(ctx context.Context, table, key, id string, cols [3]string, iv string, from, to time.Time) (rows []seriesRow, truncated bool, err error) {
	q := fmt.Sprintf(`SELECT %[1]s AS at, arg_max(%[6]s, fetched_at), arg_max(%[7]s, fetched_at), arg_max(%[8]s, fetched_at)
FROM %[9]s WHERE %[10]s = %[2]s AND fetched_at >= %[3]s AND fetched_at < %[4]s
GROUP BY 1 ORDER BY 1 LIMIT %[5]d`, bucketExpr(iv), sqlStr(id), sqlTime(from), sqlTime(to), maxPoints+1, cols[0], cols[1], cols[2], table, key)
	res, err := s.lakeQuery(ctx, q)
	if err != nil {
		return nil, false, err
	}
	rows = make([]seriesRow, 0, min(len(res.Rows), maxPoints))
	for _, row := range res.Rows {
		if len(rows) == maxPoints {
			return rows, true, nil
		}
		rows = append(rows, seriesRow{at: asTime(row[0]), v: [3]*int64{asInt(row[1]), asInt(row[2]), asInt(row[3])}})
	}
	return rows, false, nil
}

// VideoPoint is one observation of a video's statistics.
type VideoPoint struct {
	At       time.Time `json:"at"`
	Views    *int64    `json:"views"`
	Likes    *int64    `json:"likes"`
	Comments *int64    `json:"comments"`
	// Hot marks the index's observation that the lake has not committed yet.
	Hot bool `json:"hot,omitempty"`
}

// VideoSeries is a video's statistics over time.
type VideoSeries struct {
	VideoID   string       `json:"video_id"`
	From      time.Time    `json:"from"`
	To        time.Time    `json:"to"`
	Interval  string       `json:"interval"`
	Points    []VideoPoint `json:"points"`
	Truncated bool         `json:"truncated,omitempty"`
}

func (s *server) videoStats(w http.ResponseWriter, r *http.Request, p params) {
	id := p.str("id")
	from, to, err := s.window(p)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	iv := p.str("interval")
	rows, truncated, err := s.seriesRows(r.Context(), "video_stats", "video_id", id, [3]string{"view_count", "like_count", "comment_count"}, iv, from, to)
	if err != nil {
		s.lakeError(w, r, "video statistics", err)
		return
	}
	out := VideoSeries{VideoID: id, From: from, To: to, Interval: iv, Points: make([]VideoPoint, 0, len(rows)), Truncated: truncated}
	for _, row := range rows {
		out.Points = append(out.Points, VideoPoint{At: row.at, Views: row.v[0], Likes: row.v[1], Comments: row.v[2]})
	}
	// The hot point: the index holds the newest observation as soon as the
	// index sink applied it, usually before the lake committed its batch.
	if d, ok := s.cfg.Index.VideoDoc(id); ok && !d.FetchedAt.Before(from) && d.FetchedAt.Before(to) && !out.Truncated {
		if at, keep, ok := hotSlot(d.FetchedAt, iv, len(out.Points), func(i int) time.Time { return out.Points[i].At }); ok {
			v, l, c := d.ViewCount, d.LikeCount, d.CommentCount
			out.Points = append(out.Points[:keep], VideoPoint{At: at, Views: &v, Likes: &l, Comments: &c, Hot: true})
		}
	} else if !ok && len(out.Points) == 0 {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("video %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// hotSlot places the index's newest observation, made at fetched, after a
// series of n points (at(i) is point i's time) bucketed by interval iv. It
// returns the point's time, how many existing points to keep (the last one
// is replaced when the observation falls into its bucket), and false when the
// observation is not newer than the series.
func hotSlot(fetched time.Time, iv string, n int, at func(int) time.Time) (time.Time, int, bool) {
	if n > 0 && !fetched.After(at(n-1)) {
		return time.Time{}, 0, false
	}
	if iv == "raw" {
		return fetched, n, true
	}
	b := truncTo(fetched, iv)
	if n > 0 && b.Equal(at(n-1)) {
		return b, n - 1, true
	}
	return b, n, true
}

func truncTo(t time.Time, iv string) time.Time {
	switch iv {
	case "hour":
		return t.UTC().Truncate(time.Hour)
	case "day":
		return t.UTC().Truncate(24 * time.Hour)
	}
	return t
}

// ChannelPoint is one observation of a channel's statistics.
type ChannelPoint struct {
	At          time.Time `json:"at"`
	Subscribers *int64    `json:"subscribers"`
	Views       *int64    `json:"views"`
	Videos      *int64    `json:"videos"`
	Hot         bool      `json:"hot,omitempty"`
}

// ChannelSeries is a channel's statistics over time.
type ChannelSeries struct {
	ChannelID string         `json:"channel_id"`
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	Interval  string         `json:"interval"`
	Points    []ChannelPoint `json:"points"`
	Truncated bool           `json:"truncated,omitempty"`
}

func (s *server) channelStats(w http.ResponseWriter, r *http.Request, p params) {
	id := p.str("id")
	from, to, err := s.window(p)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	iv := p.str("interval")
	rows, truncated, err := s.seriesRows(r.Context(), "channel_stats", "channel_id", id, [3]string{"subscriber_count", "view_count", "video_count"}, iv, from, to)
	if err != nil {
		s.lakeError(w, r, "channel statistics", err)
		return
	}
	out := ChannelSeries{ChannelID: id, From: from, To: to, Interval: iv, Points: make([]ChannelPoint, 0, len(rows)), Truncated: truncated}
	for _, row := range rows {
		out.Points = append(out.Points, ChannelPoint{At: row.at, Subscribers: row.v[0], Views: row.v[1], Videos: row.v[2]})
	}
	if c, ok := s.cfg.Index.Channel(id); ok && !c.FetchedAt.Before(from) && c.FetchedAt.Before(to) && !out.Truncated {
		if at, keep, ok := hotSlot(c.FetchedAt, iv, len(out.Points), func(i int) time.Time { return out.Points[i].At }); ok {
			st := c.Statistics
			out.Points = append(out.Points[:keep], ChannelPoint{At: at, Subscribers: st.SubscriberCount, Views: st.ViewCount, Videos: st.VideoCount, Hot: true})
		}
	} else if !ok && len(out.Points) == 0 {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("channel %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// RankedChannel is one row of a channel ranking.
type RankedChannel struct {
	Rank             int    `json:"rank"`
	ChannelID        string `json:"channel_id"`
	Title            string `json:"title"`
	Country          string `json:"country,omitempty"`
	CategoryID       string `json:"category_id,omitempty"`
	Subscribers      *int64 `json:"subscribers"`
	SubscriberGrowth *int64 `json:"subscriber_growth"`
	ViewGrowth       *int64 `json:"view_growth"`
	Points           int64  `json:"points"` // observations inside the window
}

// ChannelRanking is a ranking of channels.
type ChannelRanking struct {
	By         string          `json:"by"`
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Country    string          `json:"country,omitempty"`
	CategoryID string          `json:"category_id,omitempty"`
	Items      []RankedChannel `json:"items"`
}

func (s *server) end(p params) time.Time {
	if t := p.time("end"); !t.IsZero() {
		return t
	}
	return s.cfg.Now().UTC()
}

func (s *server) rankChannels(w http.ResponseWriter, r *http.Request, p params) {
	by, days, limit := p.str("by"), p.int("days"), p.int("limit")
	to := s.end(p)
	from := to.AddDate(0, 0, -days)
	country, cat := strings.ToUpper(p.str("country")), p.str("category_id")
	var where []string
	if country != "" {
		where = append(where, "c.country = "+sqlStr(country))
	}
	if cat != "" {
		where = append(where, "k.category_id = "+sqlStr(cat))
	}
	order := map[string]string{"subscribers": "subs_now", "subscriber_growth": "subs_growth", "view_growth": "views_growth"}[by]
	window := fmt.Sprintf("fetched_at >= %s AND fetched_at < %s", sqlTime(from), sqlTime(to))
	if by == "subscribers" {
		window = fmt.Sprintf("fetched_at < %s", sqlTime(to))
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	q := fmt.Sprintf(`WITH g AS (
  SELECT channel_id,
    arg_max(subscriber_count, fetched_at) FILTER (WHERE subscriber_count IS NOT NULL) AS subs_now,
    arg_max(subscriber_count, fetched_at) FILTER (WHERE subscriber_count IS NOT NULL) - arg_min(subscriber_count, fetched_at) FILTER (WHERE subscriber_count IS NOT NULL) AS subs_growth,
    arg_max(view_count, fetched_at) FILTER (WHERE view_count IS NOT NULL) - arg_min(view_count, fetched_at) FILTER (WHERE view_count IS NOT NULL) AS views_growth,
    count(*) AS points
  FROM channel_stats WHERE %[1]s GROUP BY channel_id
), k AS (
  SELECT channel_id, mode(category_id) AS category_id FROM videos WHERE category_id IS NOT NULL GROUP BY channel_id
)
SELECT g.channel_id, c.title, c.country, k.category_id, g.subs_now, g.subs_growth, g.views_growth, g.points
FROM g LEFT JOIN channels c ON c.id = g.channel_id LEFT JOIN k ON k.channel_id = g.channel_id
%[2]s
ORDER BY %[3]s DESC NULLS LAST, g.channel_id LIMIT %[4]d`, window, cond, order, limit)
	res, err := s.lakeQuery(r.Context(), q)
	if err != nil {
		s.lakeError(w, r, "ranking", err)
		return
	}
	out := ChannelRanking{By: by, From: from, To: to, Country: country, CategoryID: cat, Items: []RankedChannel{}}
	if by == "subscribers" {
		out.From = time.Time{}
	}
	for i, row := range res.Rows {
		rc := RankedChannel{Rank: i + 1, ChannelID: asString(row[0]), Title: asString(row[1]), Country: asString(row[2]), CategoryID: asString(row[3]),
			Subscribers: asInt(row[4]), SubscriberGrowth: asInt(row[5]), ViewGrowth: asInt(row[6])}
		if n := asInt(row[7]); n != nil {
			rc.Points = *n
		}
		if rc.Title == "" {
			if c, ok := s.cfg.Index.Channel(rc.ChannelID); ok {
				rc.Title = c.Snippet.Title
			}
		}
		out.Items = append(out.Items, rc)
	}
	writeJSON(w, http.StatusOK, out)
}

// TrendingVideo is one video of the trending list.
type TrendingVideo struct {
	Rank         int       `json:"rank"`
	VideoID      string    `json:"video_id"`
	Title        string    `json:"title"`
	ChannelID    string    `json:"channel_id"`
	ChannelTitle string    `json:"channel_title"`
	ViewCount    int64     `json:"view_count"`
	ViewsGained  int64     `json:"views_gained"`
	ViewsPerHour float64   `json:"views_per_hour"`
	FirstSeenAt  time.Time `json:"first_at"`
	LastSeenAt   time.Time `json:"last_at"`
	Observations int64     `json:"points"`
	ThumbnailURL string    `json:"thumbnail_url,omitempty"`
	PublishedAt  time.Time `json:"published_at"`
	CategoryID   string    `json:"category_id,omitempty"`
}

// TrendingResult is the trending list.
type TrendingResult struct {
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	CategoryID string          `json:"category_id,omitempty"`
	Items      []TrendingVideo `json:"items"`
}

func (s *server) trending(w http.ResponseWriter, r *http.Request, p params) {
	to := s.end(p)
	from := to.Add(-time.Duration(p.int("hours")) * time.Hour)
	cat, limit := p.str("category_id"), p.int("limit")
	catCond := ""
	if cat != "" {
		catCond = " AND video_id IN (SELECT id FROM videos WHERE category_id = " + sqlStr(cat) + ")"
	}
	q := fmt.Sprintf(`SELECT video_id, any_value(channel_id),
  arg_max(view_count, fetched_at) AS last_views,
  arg_max(view_count, fetched_at) - arg_min(view_count, fetched_at) AS gained,
  min(fetched_at), max(fetched_at), count(*)
FROM video_stats
WHERE fetched_at >= %[1]s AND fetched_at < %[2]s AND view_count IS NOT NULL%[3]s
GROUP BY video_id
HAVING max(fetched_at) > min(fetched_at)
ORDER BY gained / (epoch(max(fetched_at)) - epoch(min(fetched_at))) DESC, video_id
LIMIT %[4]d`, sqlTime(from), sqlTime(to), catCond, limit)
	res, err := s.lakeQuery(r.Context(), q)
	if err != nil {
		s.lakeError(w, r, "trending", err)
		return
	}
	out := TrendingResult{From: from, To: to, CategoryID: cat, Items: []TrendingVideo{}}
	for i, row := range res.Rows {
		tv := TrendingVideo{Rank: i + 1, VideoID: asString(row[0]), ChannelID: asString(row[1]),
			FirstSeenAt: asTime(row[4]), LastSeenAt: asTime(row[5])}
		if v := asInt(row[2]); v != nil {
			tv.ViewCount = *v
		}
		if v := asInt(row[3]); v != nil {
			tv.ViewsGained = *v
		}
		if n := asInt(row[6]); n != nil {
			tv.Observations = *n
		}
		if h := tv.LastSeenAt.Sub(tv.FirstSeenAt).Hours(); h > 0 {
			tv.ViewsPerHour = float64(tv.ViewsGained) / h
		}
		if h, ok := s.cfg.Index.Video(tv.VideoID); ok {
			tv.Title, tv.ChannelTitle, tv.ThumbnailURL, tv.PublishedAt, tv.CategoryID = h.Title, h.ChannelTitle, h.ThumbnailURL, h.PublishedAt, h.CategoryID
			if h.ViewCount > tv.ViewCount {
				tv.ViewCount = h.ViewCount
			}
		}
		out.Items = append(out.Items, tv)
	}
	writeJSON(w, http.StatusOK, out)
}
