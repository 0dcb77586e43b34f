package sim

import (
	"cmp"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
)

type searchListResponse struct {
	Kind          string         `json:"kind"`
	ETag          string         `json:"etag"`
	NextPageToken string         `json:"nextPageToken,omitempty"`
	PrevPageToken string         `json:"prevPageToken,omitempty"`
	RegionCode    string         `json:"regionCode,omitempty"`
	PageInfo      pageInfo       `json:"pageInfo"`
	Items         []searchResult `json:"items"`
}

const (
	searchChannels      = 300 // most popular channels whose recent uploads are searchable
	searchPerChannel    = 30  // recent uploads per channel in the candidate set
	searchChannelUpload = 500 // uploads searchable with channelId=
	searchMaxResults    = 500 // the real API stops paging around 500 results
)

// query is a parsed search q: all groups must match; a group matches if any
// of its alternatives ("a|b") is a substring; negated terms ("-a") must not match.
type query struct {
	groups [][]string
	not    []string
}

func parseQuery(q string) query {
	var out query
	for _, f := range strings.Fields(strings.ToLower(q)) {
		if strings.HasPrefix(f, "-") && len(f) > 1 {
			out.not = append(out.not, f[1:])
			continue
		}
		var alts []string
		for _, a := range strings.Split(f, "|") {
			if a != "" {
				alts = append(alts, a)
			}
		}
		if len(alts) > 0 {
			out.groups = append(out.groups, alts)
		}
	}
	return out
}

// score returns (matches, relevance); title matches weigh more than tags.
func (q query) score(title, rest string) (bool, float64) {
	title, rest = strings.ToLower(title), strings.ToLower(rest)
	for _, n := range q.not {
		if strings.Contains(title, n) || strings.Contains(rest, n) {
			return false, 0
		}
	}
	sc := 0.0
	for _, g := range q.groups {
		best := 0.0
		for _, a := range g {
			switch {
			case strings.Contains(title, a):
				best = max(best, 3+float64(strings.Count(title, a)))
			case strings.Contains(rest, a):
				best = max(best, 1)
			}
		}
		if best == 0 {
			return false, 0
		}
		sc += best
	}
	return true, sc
}

type hit struct {
	v       *vidBase
	ch      *chanMeta
	rel     float64
	views   int64
	when    time.Time
	title   string
	idOrder string
}

func (s *Server) search(q url.Values, now time.Time) response {
	parts, e := parseParts(q, "search")
	if e != nil {
		return response{err: e}
	}
	pageSize, e := parseMax(q, 5, 0, 50)
	if e != nil {
		return response{err: e}
	}
	order := cmp.Or(q.Get("order"), "relevance")
	switch order {
	case "relevance", "date", "viewCount", "title", "rating", "videoCount":
	default:
		return response{err: errInvalidParam("order", order)}
	}
	types := set("video", "channel", "playlist")
	if t := multi(q, "type"); t != "" {
		types = map[string]bool{}
		for _, x := range strings.Split(t, ",") {
			x = strings.TrimSpace(x)
			if x != "video" && x != "channel" && x != "playlist" {
				return response{err: errInvalidParam("type", t)}
			}
			types[x] = true
		}
	}
	var after, before time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"publishedAfter", &after}, {"publishedBefore", &before}} {
		if raw := q.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				return response{err: errInvalidParam(p.name, raw)}
			}
			*p.dst = t
		}
	}
	off := 0
	if tok := q.Get("pageToken"); tok != "" {
		var err error
		if off, err = parseOffsetToken(tok); err != nil {
			return response{err: errPageToken()}
		}
	}
	qq := parseQuery(q.Get("q"))
	var hits []hit
	inTime := func(t time.Time) bool {
		return (after.IsZero() || t.After(after)) && (before.IsZero() || t.Before(before))
	}
	addVideo := func(v *vidBase) {
		if v.gone(now) || !inTime(v.pub) {
			return
		}
		title, tags := s.u.videoTitle(v, now), s.u.videoTags(v)
		ok, rel := qq.score(title, strings.Join(tags, " ")+" "+v.ch.title)
		if !ok {
			return
		}
		views := s.u.views(v, now)
		hits = append(hits, hit{v: v, rel: rel + 0.3*math.Log10(float64(views)+1), views: views, when: v.pub, title: title, idOrder: v.id})
	}
	if chID := q.Get("channelId"); chID != "" {
		if m, ok := s.u.resolveChannel(chID, now); ok {
			if types["video"] {
				n := s.u.uploadCount(&m.chanBase, now)
				for ord, k := n-1, 0; ord >= 0 && k < searchChannelUpload; ord, k = ord-1, k+1 {
					addVideo(s.u.video(m, ord))
				}
			}
		}
	} else {
		scan := min(s.u.n, searchChannels)
		for ci := 0; ci < scan; ci++ {
			m := s.u.channelMeta(ci)
			if now.Before(m.created) {
				continue
			}
			if types["channel"] && inTime(m.created) {
				if ok, rel := qq.score(m.title, m.desc); ok {
					subs := int64(s.u.subsRaw(&m.chanBase, now))
					hits = append(hits, hit{ch: m, rel: rel + 0.3*math.Log10(float64(subs)+1), views: subs, when: m.created, title: m.title, idOrder: m.id})
				}
			}
			if types["video"] {
				n := s.u.uploadCount(&m.chanBase, now)
				for ord, k := n-1, 0; ord >= 0 && k < searchPerChannel; ord, k = ord-1, k+1 {
					addVideo(s.u.video(m, ord))
				}
			}
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		var c int
		switch order {
		case "date":
			c = b.when.Compare(a.when)
		case "viewCount", "rating", "videoCount":
			c = cmp.Compare(b.views, a.views)
		case "title":
			c = strings.Compare(a.title, b.title)
		default:
			c = cmp.Compare(b.rel, a.rel)
		}
		return cmp.Or(c, strings.Compare(a.idOrder, b.idOrder))
	})
	total := len(hits)
	hits = hits[:min(len(hits), searchMaxResults)]
	out := &searchListResponse{Kind: "youtube#searchListResponse", RegionCode: strings.ToUpper(cmp.Or(q.Get("regionCode"), "KR")), Items: []searchResult{}}
	end := min(off+pageSize, len(hits))
	for i := min(off, len(hits)); i < end; i++ {
		h := hits[i]
		if h.v != nil {
			out.Items = append(out.Items, s.searchVideoResult(h.v, now, parts.snippet))
		} else {
			out.Items = append(out.Items, s.searchChannelResult(h.ch, parts.snippet))
		}
	}
	if pageSize > 0 && end < len(hits) {
		out.NextPageToken = offsetToken(end, false)
	}
	if off > 0 {
		out.PrevPageToken = offsetToken(max(off-pageSize, 0), true)
	}
	out.PageInfo = pageInfo{TotalResults: min(total, 1000000), ResultsPerPage: pageSize}
	return response{v: out}
}
