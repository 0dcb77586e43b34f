package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tubelake/tubelake/internal/index"
)

// ChannelHit is one channel found by channel search.
type ChannelHit struct {
	ID              string `json:"id"`
	Title           string `json:"title"`
	ThumbnailURL    string `json:"thumbnail_url,omitempty"`
	Country         string `json:"country,omitempty"`
	SubscriberCount *int64 `json:"subscriber_count"`
	// MatchedVideos counts the channel's videos among the inspected
	// matches (at most 1,000 videos are inspected per request).
	MatchedVideos int   `json:"matched_videos"`
	TopViews      int64 `json:"top_video_views"`
}

// ChannelSearchResult is the answer of channel search.
type ChannelSearchResult struct {
	Items      []ChannelHit `json:"items"`
	TookMicros int64        `json:"took_us"`
}

// channelScan is how many matching videos channel search groups.
const channelScan = 1000

// searchChannels finds channels by title. The index has no channel-level
// text field, but every video carries its channel's title (kept current on
// renames), so a search over in=channel sorted by relevance and grouped by
// channel id finds every channel with an indexed video; channels are ranked
// by their best video's relevance, ties broken by subscribers.
func (s *server) searchChannels(w http.ResponseWriter, r *http.Request, p params) {
	if s.cachedSearch(w, r, p, s.searchChannels) {
		return
	}
	q := index.Query{Q: p.str("q"), In: []index.Field{index.FieldChannel}, Sort: index.SortRelevance, Limit: channelScan,
		Initials: p.bool("initials"), Layout: p.bool("layout")}
	res, ok := s.runSearch(w, r, q)
	if !ok {
		return
	}
	limit := p.int("limit")
	type agg struct {
		hit   ChannelHit
		score float64
		order int
	}
	by := map[string]*agg{}
	var list []*agg
	for i, h := range res.Items {
		a := by[h.ChannelID]
		if a == nil {
			a = &agg{hit: ChannelHit{ID: h.ChannelID, Title: h.ChannelTitle}, score: h.Score, order: i}
			by[h.ChannelID] = a
			list = append(list, a)
		}
		a.hit.MatchedVideos++
		a.hit.TopViews = max(a.hit.TopViews, h.ViewCount)
	}
	for _, a := range list {
		if c, ok := s.cfg.Index.Channel(a.hit.ID); ok {
			a.hit.SubscriberCount = c.Statistics.SubscriberCount
			a.hit.ThumbnailURL = c.Snippet.Thumbnail.URL
			a.hit.Country = c.Snippet.Country
			if c.Snippet.Title != "" {
				a.hit.Title = c.Snippet.Title
			}
		}
	}
	subs := func(a *agg) int64 {
		if a.hit.SubscriberCount == nil {
			return -1
		}
		return *a.hit.SubscriberCount
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].score != list[j].score {
			return list[i].score > list[j].score
		}
		if si, sj := subs(list[i]), subs(list[j]); si != sj {
			return si > sj
		}
		return list[i].order < list[j].order
	})
	out := ChannelSearchResult{Items: []ChannelHit{}, TookMicros: res.TookMicros}
	for _, a := range list {
		if len(out.Items) == limit {
			break
		}
		out.Items = append(out.Items, a.hit)
	}
	s.writeSearch(w, r, p, out)
}

// channelAnchor picks a word of the channel's title that every one of its
// videos matches in the channel field: the index requires a text term, so a
// channel's videos are "videos whose channel title contains <word>" filtered
// by channel id (exact, through the channel bitmap).
func channelAnchor(title string) string {
	best := ""
	for _, w := range strings.Fields(strings.ReplaceAll(title, `"`, " ")) {
		if index.Normalize(w) == "" {
			continue
		}
		if utf8.RuneCountInString(w) > utf8.RuneCountInString(best) {
			best = w
		}
	}
	if r := []rune(best); len(r) > 32 {
		best = string(r[:32])
	}
	return best
}

func (s *server) channelVideos(w http.ResponseWriter, r *http.Request, p params) {
	if s.cachedSearch(w, r, p, s.channelVideos) {
		return
	}
	id := p.str("id")
	c, ok := s.cfg.Index.Channel(id)
	title := c.Snippet.Title
	if !ok {
		// No channel snapshot yet: learn the title its videos carry.
		if res, err := s.lakeQuery(r.Context(), "SELECT arg_max(channel_title, fetched_at) FROM videos WHERE channel_id = "+sqlStr(id)); err == nil && len(res.Rows) > 0 {
			title = asString(res.Rows[0][0])
		}
		if title == "" {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("channel %s is not known", id))
			return
		}
	}
	anchor := channelAnchor(title)
	if anchor == "" {
		writeError(w, http.StatusNotImplemented, "unsupported", fmt.Sprintf("channel %s has a title without searchable characters; its videos cannot be listed by the index yet", id))
		return
	}
	q := index.Query{Q: anchor, In: []index.Field{index.FieldChannel}, ChannelID: id, Sort: index.Sort(p.str("sort")), Limit: p.int("limit"), Cursor: p.str("cursor")}
	if res, ok := s.runSearch(w, r, q); ok {
		s.writeSearch(w, r, p, res)
	}
}
