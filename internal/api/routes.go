package api

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Param describes one request parameter. The same table drives request
// parsing (handlers read parameters only through params, which holds only
// what the table admitted) and the OpenAPI document, so they cannot drift.
type Param struct {
	Name     string
	In       string // "query" or "path"
	Type     string // "string", "integer" or "boolean"
	Enum     []string
	Min, Max *int64
	Pattern  string // anchored regular expression for strings
	MaxLen   int
	Required bool
	Default  string
	Desc     string
	// Check validates a string value beyond Enum and Pattern.
	Check func(string) error
}

// Route is one operation of the API.
type Route struct {
	Method, Path string
	OperationID  string
	Summary      string
	Description  string
	Tag          string
	Params       []Param
	// Response is a value of the 200 response body's Go type; its JSON
	// schema is derived by reflection. Nil means a non-JSON body (Produces).
	Response any
	Produces string // content type when Response is nil
	// Public routes need no API key (health, readiness, the document itself).
	Public  bool
	handler func(s *server, w http.ResponseWriter, r *http.Request, p params)
}

func i64(v int64) *int64 { return &v }

var (
	videoIDPattern   = `^[0-9A-Za-z_-]{11}$`
	channelIDPattern = `^UC[0-9A-Za-z_-]{22}$`
	dateParamDesc    = "RFC 3339 time or YYYY-MM-DD (UTC)"
)

func limitParam(def, max int64) Param {
	return Param{Name: "limit", In: "query", Type: "integer", Min: i64(1), Max: i64(max), Default: strconv.FormatInt(def, 10), Desc: "page size"}
}

func checkTime(s string) error {
	_, err := parseTime(s)
	return err
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 time or YYYY-MM-DD, got %q", s)
}

func checkFields(s string) error {
	for _, f := range strings.Split(s, ",") {
		switch f {
		case "title", "tags", "channel", "description":
		default:
			return fmt.Errorf("unknown field %q (want title, tags, channel, description)", f)
		}
	}
	return nil
}

// Routes returns the API's operations, the single source of both the
// handlers' parameter parsing and the OpenAPI document.
func Routes() []Route {
	searchFilters := []Param{
		{Name: "channel_id", In: "query", Type: "string", Pattern: channelIDPattern, Desc: "only videos of this channel"},
		{Name: "category_id", In: "query", Type: "string", MaxLen: 8, Desc: "only videos of this YouTube category id"},
		{Name: "language", In: "query", Type: "string", MaxLen: 16, Desc: `only videos in this language ("en" also matches "en-US")`},
		{Name: "published_after", In: "query", Type: "string", Check: checkTime, Desc: "published at or after; " + dateParamDesc},
		{Name: "published_before", In: "query", Type: "string", Check: checkTime, Desc: "published before; " + dateParamDesc},
		{Name: "min_views", In: "query", Type: "integer", Min: i64(0), Desc: "minimum current view count"},
	}
	videoID := Param{Name: "id", In: "path", Type: "string", Required: true, Pattern: videoIDPattern, Desc: "YouTube video id"}
	channelID := Param{Name: "id", In: "path", Type: "string", Required: true, Pattern: channelIDPattern, Desc: "YouTube channel id (UC...)"}
	seriesParams := func(fields string) []Param {
		return []Param{
			{Name: "from", In: "query", Type: "string", Check: checkTime, Desc: "first point at or after; " + dateParamDesc + " (default: 90 days before to)"},
			{Name: "to", In: "query", Type: "string", Check: checkTime, Desc: "points before; " + dateParamDesc + " (default: now)"},
			{Name: "interval", In: "query", Type: "string", Enum: []string{"raw", "hour", "day"}, Default: "raw", Desc: "raw observations, or the last observation per hour or per day (" + fields + ")"},
		}
	}
	return []Route{
		{Method: "GET", Path: "/v1/videos/search", OperationID: "searchVideos", Tag: "videos", Summary: "Keyword search over videos",
			Description: "Every option of the search engine: terms are ANDed, \"quoted phrases\" match as substrings, Korean initial-consonant and keyboard-layout alternatives on request. Pages with next_cursor.",
			Params: append([]Param{
				{Name: "q", In: "query", Type: "string", Required: true, MaxLen: 512, Desc: "query: terms ANDed; \"quoted phrase\" is one substring"},
				{Name: "in", In: "query", Type: "string", Check: checkFields, Desc: "comma-separated fields a term may match in: title, tags, channel, description (default title)"},
				{Name: "sort", In: "query", Type: "string", Enum: []string{"relevance", "views", "recent"}, Default: "relevance", Desc: "order"},
				limitParam(20, 100),
				{Name: "cursor", In: "query", Type: "string", MaxLen: 512, Desc: "next_cursor of the previous page"},
				{Name: "exact_total", In: "query", Type: "boolean", Desc: "count every match instead of stopping at 10,000"},
				{Name: "initials", In: "query", Type: "boolean", Desc: "Korean initial-consonant search (ㅊㄷㅇㅇ finds 초등영어)"},
				{Name: "layout", In: "query", Type: "boolean", Desc: "keyboard-layout correction (chemdduddj finds 초등영어)"},
			}, searchFilters...),
			Response: SearchResult{}, handler: (*server).searchVideos},
		{Method: "GET", Path: "/v1/videos/{id}", OperationID: "getVideo", Tag: "videos", Summary: "A video's latest state",
			Params: []Param{videoID}, Response: VideoView{}, handler: (*server).getVideo},
		{Method: "GET", Path: "/v1/videos/{id}/stats", OperationID: "videoStats", Tag: "videos", Summary: "Time series of a video's statistics",
			Description: "Observations from the lake (video_stats), plus the index's newer observation when the lake has not committed it yet (hot: true).",
			Params:      append([]Param{videoID}, seriesParams("views, likes, comments")...), Response: VideoSeries{}, handler: (*server).videoStats},
		{Method: "GET", Path: "/v1/channels/search", OperationID: "searchChannels", Tag: "channels", Summary: "Search channels by title",
			Description: "Matches channel titles through the index's channel-title field of videos (a channel is found when it has at least one indexed video), grouped by channel and ordered by the channel's best match; subscriber counts come from the channel's latest snapshot.",
			Params: []Param{
				{Name: "q", In: "query", Type: "string", Required: true, MaxLen: 512, Desc: "terms ANDed over the channel title"},
				limitParam(20, 50),
				{Name: "initials", In: "query", Type: "boolean", Desc: "Korean initial-consonant search"},
				{Name: "layout", In: "query", Type: "boolean", Desc: "keyboard-layout correction"},
			}, Response: ChannelSearchResult{}, handler: (*server).searchChannels},
		{Method: "GET", Path: "/v1/channels/{id}", OperationID: "getChannel", Tag: "channels", Summary: "A channel's latest state",
			Params: []Param{channelID}, Response: ChannelView{}, handler: (*server).getChannel},
		{Method: "GET", Path: "/v1/channels/{id}/videos", OperationID: "channelVideos", Tag: "channels", Summary: "A channel's videos, sorted and paged",
			Params: []Param{channelID,
				{Name: "sort", In: "query", Type: "string", Enum: []string{"views", "recent"}, Default: "recent", Desc: "order"},
				limitParam(20, 100),
				{Name: "cursor", In: "query", Type: "string", MaxLen: 512, Desc: "next_cursor of the previous page"},
			}, Response: SearchResult{}, handler: (*server).channelVideos},
		{Method: "GET", Path: "/v1/channels/{id}/stats", OperationID: "channelStats", Tag: "channels", Summary: "Time series of a channel's statistics",
			Description: "Observations from the lake (channel_stats), plus the index's newer snapshot when the lake has not committed it yet (hot: true).",
			Params:      append([]Param{channelID}, seriesParams("subscribers, views, videos")...), Response: ChannelSeries{}, handler: (*server).channelStats},
		{Method: "GET", Path: "/v1/rankings/channels", OperationID: "rankChannels", Tag: "rankings", Summary: "Top channels by subscribers or growth over a window",
			Description: "From the lake. by=subscribers ranks by the latest subscriber count; subscriber_growth and view_growth by the change between the first and last observation inside the window. A channel's category is the most frequent category of its videos.",
			Params: []Param{
				{Name: "by", In: "query", Type: "string", Enum: []string{"subscribers", "subscriber_growth", "view_growth"}, Default: "subscribers", Desc: "metric"},
				{Name: "days", In: "query", Type: "integer", Min: i64(1), Max: i64(365), Default: "7", Desc: "window length in days, ending at end"},
				{Name: "end", In: "query", Type: "string", Check: checkTime, Desc: "window end; " + dateParamDesc + " (default: now)"},
				{Name: "country", In: "query", Type: "string", Pattern: `^[A-Za-z]{2}$`, Desc: "ISO 3166-1 alpha-2 country of the channel"},
				{Name: "category_id", In: "query", Type: "string", Pattern: `^[0-9]{1,4}$`, Desc: "YouTube category id"},
				limitParam(20, 100),
			}, Response: ChannelRanking{}, handler: (*server).rankChannels},
		{Method: "GET", Path: "/v1/trending/videos", OperationID: "trendingVideos", Tag: "rankings", Summary: "Videos gaining views fastest",
			Description: "View velocity (views gained per hour between the first and last observation in the window) from the lake's video_stats.",
			Params: []Param{
				{Name: "hours", In: "query", Type: "integer", Min: i64(1), Max: i64(168), Default: "24", Desc: "window length in hours, ending at end"},
				{Name: "end", In: "query", Type: "string", Check: checkTime, Desc: "window end; " + dateParamDesc + " (default: now)"},
				{Name: "category_id", In: "query", Type: "string", Pattern: `^[0-9]{1,4}$`, Desc: "YouTube category id"},
				limitParam(20, 100),
			}, Response: TrendingResult{}, handler: (*server).trending},
		{Method: "GET", Path: "/v1/status", OperationID: "status", Tag: "ops", Summary: "Pipeline status: collection lag, quota, stream lag, index size",
			Response: StatusView{}, handler: (*server).status},
		{Method: "GET", Path: "/v1/openapi.json", OperationID: "openapi", Tag: "ops", Summary: "This document", Public: true,
			Response: map[string]any{}, handler: (*server).openapi},
		{Method: "GET", Path: "/healthz", OperationID: "healthz", Tag: "ops", Summary: "Liveness", Public: true,
			Response: Health{}, handler: func(s *server, w http.ResponseWriter, r *http.Request, p params) {
				writeJSON(w, http.StatusOK, Health{Status: "ok"})
			}},
		{Method: "GET", Path: "/readyz", OperationID: "readyz", Tag: "ops", Summary: "Readiness (the index is loaded)", Public: true,
			Response: Health{}, handler: (*server).ready},
	}
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
}

// params holds the validated parameters of one request.
type params map[string]string

func (p params) str(k string) string { return p[k] }

func (p params) int(k string) int {
	n, _ := strconv.ParseInt(p[k], 10, 64)
	return int(n)
}

func (p params) bool(k string) bool {
	b, _ := strconv.ParseBool(p[k])
	return b
}

func (p params) time(k string) time.Time {
	if p[k] == "" {
		return time.Time{}
	}
	t, _ := parseTime(p[k])
	return t
}

// compiled is a route with its patterns compiled.
type compiled struct {
	Route
	byName map[string]*Param
	re     map[string]*regexp.Regexp
}

func compile(rt Route) *compiled {
	c := &compiled{Route: rt, byName: map[string]*Param{}, re: map[string]*regexp.Regexp{}}
	for i := range c.Params {
		p := &c.Params[i]
		c.byName[p.Name] = p
		if p.Pattern != "" {
			c.re[p.Name] = regexp.MustCompile(p.Pattern)
		}
	}
	return c
}

// parse validates a request's parameters against the route's table.
func (c *compiled) parse(r *http.Request) (params, error) {
	return c.parseValues(r.URL.Query(), r.PathValue)
}

func (c *compiled) parseValues(q url.Values, path func(string) string) (params, error) {
	out := params{}
	for k, vals := range q {
		p := c.byName[k]
		if p == nil || p.In != "query" {
			return nil, fmt.Errorf("unknown parameter %q", k)
		}
		if len(vals) > 1 {
			return nil, fmt.Errorf("parameter %q given %d times", k, len(vals))
		}
	}
	for i := range c.Params {
		p := &c.Params[i]
		var v string
		if p.In == "path" {
			v = path(p.Name)
		} else {
			v = strings.TrimSpace(q.Get(p.Name))
		}
		if v == "" {
			if p.Required {
				return nil, fmt.Errorf("parameter %s is required", p.Name)
			}
			if p.Default != "" {
				out[p.Name] = p.Default
			}
			continue
		}
		if err := c.check(p, v); err != nil {
			return nil, err
		}
		out[p.Name] = v
	}
	return out, nil
}

func (c *compiled) check(p *Param, v string) error {
	switch p.Type {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		bad := err != nil || (p.Min != nil && n < *p.Min) || (p.Max != nil && n > *p.Max)
		if bad {
			switch {
			case p.Min != nil && p.Max != nil:
				return fmt.Errorf("%s: want an integer %d..%d, got %q", p.Name, *p.Min, *p.Max, v)
			case p.Min != nil && *p.Min == 0:
				return fmt.Errorf("%s: want a non-negative integer, got %q", p.Name, v)
			default:
				return fmt.Errorf("%s: want an integer, got %q", p.Name, v)
			}
		}
	case "boolean":
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%s: want true or false, got %q", p.Name, v)
		}
	default:
		if p.MaxLen > 0 && len(v) > p.MaxLen {
			return fmt.Errorf("parameter %s is longer than %d bytes", p.Name, p.MaxLen)
		}
		if len(p.Enum) > 0 {
			ok := false
			for _, e := range p.Enum {
				ok = ok || e == v
			}
			if !ok {
				return fmt.Errorf("%s: unknown value %q (want %s)", p.Name, v, strings.Join(p.Enum, ", "))
			}
		}
		if re := c.re[p.Name]; re != nil && !re.MatchString(v) {
			switch p.Pattern {
			case videoIDPattern:
				return fmt.Errorf("%s: invalid video id %q: want 11 characters of [0-9A-Za-z_-]", p.Name, v)
			case channelIDPattern:
				return fmt.Errorf("%s: invalid channel id %q: want UC followed by 22 characters of [0-9A-Za-z_-]", p.Name, v)
			}
			return fmt.Errorf("%s: %q does not match %s", p.Name, v, p.Pattern)
		}
		if p.Check != nil {
			if err := p.Check(v); err != nil {
				return fmt.Errorf("%s: %w", p.Name, err)
			}
		}
	}
	return nil
}
