package sim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// endpoint costs in quota units.
var endpointCost = map[string]int64{
	"videos":          1,
	"channels":        1,
	"playlistItems":   1,
	"videoCategories": 1,
	"search":          100,
}

// response is what an endpoint produced: a JSON value or an API error.
type response struct {
	v   any
	err *apiError
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
		return
	case p == "/feeds/videos.xml":
		s.serveRSS(w, r)
		return
	}
	// The official Go client resolves "youtube/v3/videos" against its base path,
	// so WithEndpoint(url+"/youtube/v3/") yields /youtube/v3/youtube/v3/videos.
	// Accept any number of "/youtube/v3" prefixes.
	found := false
	for strings.HasPrefix(p, "/youtube/v3/") {
		p = p[len("/youtube/v3"):]
		found = true
	}
	ep := strings.Trim(p, "/")
	cost, ok := endpointCost[ep]
	if !found || !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.serveAPI(w, r, ep, cost)
}

func (s *Server) count(f func(u *Usage)) {
	s.mu.Lock()
	f(&s.usage)
	s.mu.Unlock()
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, ep string, cost int64) {
	started := time.Now()
	q := r.URL.Query()
	pretty := q.Get("prettyPrint") != "false"
	s.count(func(u *Usage) { u.Calls[ep]++ })
	code := 200
	defer func() {
		s.metrics.calls.WithLabelValues(ep, strconv.Itoa(code)).Inc()
		s.metrics.latency.WithLabelValues(ep).Observe(time.Since(started).Seconds())
		s.log.Debug("sim request", "endpoint", ep, "status", code, "elapsed", time.Since(started))
	}()
	if !s.sleepLatency(r) {
		code = 499
		return
	}
	fail := func(e *apiError) {
		code = e.status
		s.count(func(u *Usage) { u.Errors[e.reason]++ })
		s.metrics.errors.WithLabelValues(e.reason).Inc()
		writeJSON(w, e.status, e.body(pretty), "", false)
	}

	// 1. key
	key := q.Get("key")
	if key == "" {
		key = r.Header.Get("X-Goog-Api-Key") // also accepted by Google APIs
	}
	switch {
	case key == "":
		fail(errMissingKey())
		return
	case !s.keyValid(key):
		fail(errKeyInvalid())
		return
	}
	// 2. per-key rate limit (real clock)
	if !s.allowRate(key) {
		fail(errRateLimit())
		return
	}
	// 3. quota: refused calls are not charged
	if !s.charge(key, cost) {
		fail(errQuotaExceeded())
		return
	}
	// 4. faults: drawn only for admitted (charged) calls
	fault := s.drawFault()
	switch fault {
	case "5xx":
		fail(errBackend())
		return
	case "timeout":
		code = 504
		s.hang(w, r)
		return
	}
	var mask fieldMask
	if q.Has("fields") {
		var err error
		if mask, err = parseFields(q.Get("fields")); err != nil {
			fail(errInvalidFields(q.Get("fields")))
			return
		}
	}
	now := s.Now()
	var res response
	switch ep {
	case "videos":
		res = s.listVideos(q, now)
	case "channels":
		res = s.listChannels(q, now)
	case "playlistItems":
		res = s.listPlaylistItems(q, now)
	case "search":
		res = s.search(q, now)
	case "videoCategories":
		res = s.listCategories(q)
	}
	if res.err != nil {
		fail(res.err)
		return
	}
	body, etag := encodeList(res.v, mask, pretty)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		code = 304
		s.count(func(u *Usage) { u.NotModified++ })
		s.metrics.notMod.Inc()
		w.Header().Set("ETag", `"`+etag+`"`)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		body = nil
	}
	writeJSON(w, 200, body, etag, fault == "truncate")
}

// encodeList sets the list etag (hash of the full content with an empty
// etag) and encodes the members selected by mask (nil = all).
func encodeList(v any, mask fieldMask, pretty bool) ([]byte, string) {
	etag := etagOf(v)
	setETag(v, etag)
	return encodeFields(v, mask, pretty), etag
}

func setETag(v any, etag string) {
	switch x := v.(type) {
	case *videoListResponse:
		x.ETag = etag
	case *channelListResponse:
		x.ETag = etag
	case *playlistItemListResponse:
		x.ETag = etag
	case *searchListResponse:
		x.ETag = etag
	case *categoryListResponse:
		x.ETag = etag
	}
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		t = strings.Trim(t, `"`)
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, body []byte, etag string, truncate bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Vary", "Origin")
	h.Add("Vary", "X-Origin")
	h.Add("Vary", "Referer")
	h.Set("Server", "scaffolding on HTTPServer2")
	if etag != "" {
		h.Set("ETag", `"`+etag+`"`)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if !truncate {
		_, _ = w.Write(body)
		return
	}
	_, _ = w.Write(body[:len(body)/2])
	abortConnection(w)
}

// abortConnection drops the connection after a partial body, so the client
// sees an unexpected EOF. Without a real connection (e.g. an
// httptest.ResponseRecorder) the partial body is simply left as is.
func abortConnection(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if _, ok := w.(http.Hijacker); ok {
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) keyValid(key string) bool {
	if s.keys != nil {
		return s.keys[key]
	}
	return !strings.HasPrefix(key, "invalid")
}

func (s *Server) allowRate(key string) bool {
	if s.cfg.RateLimitQPS <= 0 {
		return true
	}
	s.mu.Lock()
	l := s.limiters[key]
	if l == nil {
		burst := max(1, int(math.Ceil(s.cfg.RateLimitQPS)))
		l = rate.NewLimiter(rate.Limit(s.cfg.RateLimitQPS), burst)
		s.limiters[key] = l
	}
	s.mu.Unlock()
	return l.AllowN(s.cfg.Now(), 1)
}

// charge accounts cost units to key's current PT quota day; false (and no
// charge) when the call would exceed the daily quota.
func (s *Server) charge(key string, cost int64) bool {
	day := s.ptDay(s.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	kq := s.quota[key]
	if kq == nil {
		kq = &keyQuota{day: day}
		s.quota[key] = kq
	}
	if kq.day != day {
		kq.day, kq.used = day, 0
	}
	if s.cfg.QuotaPerDay >= 0 && kq.used+cost > s.cfg.QuotaPerDay {
		return false
	}
	kq.used += cost
	s.usage.Units[key] += cost
	s.metrics.units.Add(float64(cost))
	return true
}

func (s *Server) drawFault() string {
	if s.cfg.Fault5xx == 0 && s.cfg.FaultTimeout == 0 && s.cfg.FaultTruncate == 0 {
		return ""
	}
	s.mu.Lock()
	x := s.rnd.Float64()
	s.mu.Unlock()
	var f string
	switch {
	case x < s.cfg.Fault5xx:
		f = "5xx"
	case x < s.cfg.Fault5xx+s.cfg.FaultTimeout:
		f = "timeout"
	case x < s.cfg.Fault5xx+s.cfg.FaultTimeout+s.cfg.FaultTruncate:
		f = "truncate"
	default:
		return ""
	}
	s.count(func(u *Usage) { u.Faults[f]++ })
	s.metrics.faults.WithLabelValues(f).Inc()
	return f
}

// hang blocks until the client goes away, the server is closed, or 10 minutes
// pass; in the last two cases the connection is dropped without a response.
func (s *Server) hang(w http.ResponseWriter, r *http.Request) {
	t := time.NewTimer(10 * time.Minute)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-s.closed:
	case <-t.C:
	}
	if _, ok := w.(http.Hijacker); ok {
		panic(http.ErrAbortHandler)
	}
}

// sleepLatency waits Latency + uniform(0, LatencyJitter); false if the client left.
func (s *Server) sleepLatency(r *http.Request) bool {
	d := s.cfg.Latency
	if s.cfg.LatencyJitter > 0 {
		s.mu.Lock()
		d += time.Duration(s.rnd.Int64N(int64(s.cfg.LatencyJitter) + 1))
		s.mu.Unlock()
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// ---- parameter helpers ----

var validParts = map[string]map[string]bool{
	"videos": set("contentDetails", "fileDetails", "id", "liveStreamingDetails", "localizations", "paidProductPlacementDetails",
		"player", "processingDetails", "recordingDetails", "snippet", "statistics", "status", "suggestions", "topicDetails"),
	"channels": set("auditDetails", "brandingSettings", "contentDetails", "contentOwnerDetails", "id", "localizations",
		"snippet", "statistics", "status", "topicDetails"),
	"playlistItems":   set("contentDetails", "id", "snippet", "status"),
	"search":          set("id", "snippet"),
	"videoCategories": set("id", "snippet"),
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func parseParts(q url.Values, ep string) (partSet, *apiError) {
	raw := multi(q, "part")
	if strings.TrimSpace(raw) == "" {
		return partSet{}, errRequired("part")
	}
	var p partSet
	for _, x := range strings.Split(raw, ",") {
		x = strings.TrimSpace(x)
		if !validParts[ep][x] {
			return partSet{}, errUnknownPart(x)
		}
		switch x {
		case "id":
			p.id = true
		case "snippet":
			p.snippet = true
		case "contentDetails":
			p.contentDetails = true
		case "statistics":
			p.statistics = true
		case "status":
			p.status = true
		}
	}
	return p, nil
}

func parseMax(q url.Values, def, lo, hi int) (int, *apiError) {
	raw := q.Get("maxResults")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, errInvalidParam("maxResults", raw)
	}
	if n < lo || n > hi {
		return 0, errInvalidValue("maxResults", raw, lo, hi)
	}
	return n, nil
}

// splitIDs splits a comma list, dropping empties and duplicates, keeping order.
func splitIDs(raw string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range strings.Split(raw, ",") {
		x = strings.TrimSpace(x)
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// multi joins a parameter given several times (as the official Go client
// sends part, id and type) with commas, the form the API also accepts.
func multi(q url.Values, name string) string { return strings.Join(q[name], ",") }

func filters(q url.Values, names ...string) []string {
	var got []string
	for _, n := range names {
		if q.Has(n) {
			got = append(got, n)
		}
	}
	return got
}

// ---- videos.list ----

type videoListResponse struct {
	Kind          string          `json:"kind"`
	ETag          string          `json:"etag"`
	Items         []videoResource `json:"items"`
	NextPageToken string          `json:"nextPageToken,omitempty"`
	PrevPageToken string          `json:"prevPageToken,omitempty"`
	PageInfo      pageInfo        `json:"pageInfo"`
}

func (s *Server) listVideos(q url.Values, now time.Time) response {
	parts, e := parseParts(q, "videos")
	if e != nil {
		return response{err: e}
	}
	f := filters(q, "id", "chart", "myRating")
	switch {
	case len(f) == 0:
		return response{err: errNoFilter("chart, id, myRating")}
	case len(f) > 1:
		return response{err: errIncompatible(strings.Join(f, ", "))}
	}
	out := &videoListResponse{Kind: "youtube#videoListResponse", Items: []videoResource{}}
	switch f[0] {
	case "myRating":
		return response{err: errLoginRequired()}
	case "id":
		ids := splitIDs(multi(q, "id"))
		if len(ids) > 50 {
			return response{err: errInvalidFilters()}
		}
		for _, id := range ids {
			v, ok := s.u.resolveVideo(id, now)
			if !ok || v.gone(now) {
				continue
			}
			out.Items = append(out.Items, s.videoResource(v, now, parts))
		}
		out.PageInfo = pageInfo{TotalResults: len(out.Items), ResultsPerPage: len(out.Items)}
	case "chart":
		if c := q.Get("chart"); c != "mostPopular" {
			return response{err: errInvalidParam("chart", c)}
		}
		pageSize, e := parseMax(q, 5, 1, 50)
		if e != nil {
			return response{err: e}
		}
		off := 0
		if tok := q.Get("pageToken"); tok != "" {
			var err error
			if off, err = parseOffsetToken(tok); err != nil {
				return response{err: errPageToken()}
			}
		}
		region := strings.ToUpper(cmp.Or(q.Get("regionCode"), "US"))
		chart := s.chart(region, q.Get("videoCategoryId"), now)
		end := min(off+pageSize, len(chart))
		for i := min(off, len(chart)); i < end; i++ {
			out.Items = append(out.Items, s.videoResource(chart[i], now, parts))
		}
		if end < len(chart) {
			out.NextPageToken = offsetToken(end, false)
		}
		if off > 0 {
			out.PrevPageToken = offsetToken(max(off-pageSize, 0), true)
		}
		out.PageInfo = pageInfo{TotalResults: len(chart), ResultsPerPage: pageSize}
	}
	return response{v: out}
}

// chartScan is how many of the most popular channels feed charts and search.
const chartScan = 1000

// chart ranks recent public videos of the region's popular channels by views (max 200).
func (s *Server) chart(region, category string, now time.Time) []*vidBase {
	scan := min(s.u.n, chartScan)
	regional := make([]int, 0, scan)
	for i := 0; i < scan; i++ {
		if b := s.u.channelBase(i); b.country == region {
			regional = append(regional, i)
		}
	}
	if len(regional) == 0 { // unknown region: the global chart
		for i := 0; i < scan; i++ {
			regional = append(regional, i)
		}
	}
	type cand struct {
		v     *vidBase
		views int64
	}
	var cands []cand
	for _, window := range []time.Duration{7 * day, 30 * day, 365 * day, 20 * year} {
		cands = cands[:0]
		from := now.Add(-window)
		for _, ci := range regional {
			b := s.u.channelBase(ci)
			n := s.u.uploadCount(&b, now)
			var m *chanMeta
			for ord, k := n-1, 0; ord >= 0 && k < 50; ord, k = ord-1, k+1 {
				if s.u.pubTime(&b, ord).Before(from) {
					break
				}
				if m == nil {
					m = s.u.channelMeta(ci)
				}
				v := s.u.video(m, ord)
				if v.gone(now) || (category != "" && v.category != category) {
					continue
				}
				cands = append(cands, cand{v, s.u.views(v, now)})
			}
		}
		if len(cands) >= 200 {
			break
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.views, a.views), strings.Compare(a.v.id, b.v.id))
	})
	out := make([]*vidBase, 0, min(len(cands), 200))
	for i := 0; i < len(cands) && i < 200; i++ {
		out = append(out, cands[i].v)
	}
	return out
}

// ---- channels.list ----

type channelListResponse struct {
	Kind          string            `json:"kind"`
	ETag          string            `json:"etag"`
	NextPageToken string            `json:"nextPageToken,omitempty"`
	PageInfo      pageInfo          `json:"pageInfo"`
	Items         []channelResource `json:"items,omitempty"`
}

func (s *Server) listChannels(q url.Values, now time.Time) response {
	parts, e := parseParts(q, "channels")
	if e != nil {
		return response{err: e}
	}
	f := filters(q, "id", "forHandle", "forUsername", "mine", "managedByMe", "categoryId")
	switch {
	case len(f) == 0:
		return response{err: errNoFilter("categoryId, forHandle, forUsername, id, managedByMe, mine")}
	case len(f) > 1:
		return response{err: errIncompatible(strings.Join(f, ", "))}
	}
	pageSize, e := parseMax(q, 5, 0, 50)
	if e != nil {
		return response{err: e}
	}
	out := &channelListResponse{Kind: "youtube#channelListResponse"}
	switch f[0] {
	case "mine", "managedByMe":
		return response{err: errLoginRequired()}
	case "id":
		ids := splitIDs(multi(q, "id"))
		if len(ids) > 50 {
			return response{err: errInvalidFilters()}
		}
		for _, id := range ids {
			if m, ok := s.u.resolveChannel(id, now); ok {
				out.Items = append(out.Items, s.channelResource(m, now, parts))
			}
		}
	case "forHandle":
		if m, ok := s.u.channelByHandle(q.Get("forHandle")); ok && !now.Before(m.created) {
			out.Items = append(out.Items, s.channelResource(m, now, parts))
		}
	}
	out.PageInfo = pageInfo{TotalResults: len(out.Items), ResultsPerPage: pageSize}
	return response{v: out}
}

// ---- playlistItems.list ----

type playlistItemListResponse struct {
	Kind          string                 `json:"kind"`
	ETag          string                 `json:"etag"`
	NextPageToken string                 `json:"nextPageToken,omitempty"`
	PrevPageToken string                 `json:"prevPageToken,omitempty"`
	Items         []playlistItemResource `json:"items"`
	PageInfo      pageInfo               `json:"pageInfo"`
}

func (s *Server) listPlaylistItems(q url.Values, now time.Time) response {
	parts, e := parseParts(q, "playlistItems")
	if e != nil {
		return response{err: e}
	}
	f := filters(q, "id", "playlistId")
	switch {
	case len(f) == 0:
		return response{err: errNoFilter("id, playlistId")}
	case len(f) > 1:
		return response{err: errIncompatible(strings.Join(f, ", "))}
	case f[0] == "id":
		// Playlist item ids are opaque; the emulator only serves uploads playlists.
		return response{v: &playlistItemListResponse{Kind: "youtube#playlistItemListResponse", Items: []playlistItemResource{}, PageInfo: pageInfo{0, 5}}}
	}
	pageSize, e := parseMax(q, 5, 0, 50)
	if e != nil {
		return response{err: e}
	}
	pl := q.Get("playlistId")
	if len(pl) != 24 || !strings.HasPrefix(pl, "UU") {
		return response{err: errPlaylistNotFound()}
	}
	ci, ok := s.u.ids.channelIndexRaw(pl[2:])
	if !ok {
		return response{err: errPlaylistNotFound()}
	}
	m := s.u.channelMeta(ci)
	n := s.u.uploadCount(&m.chanBase, now)
	if n == 0 { // like YouTube: a channel without uploads has no uploads playlist
		return response{err: errPlaylistNotFound()}
	}
	top := n - 1
	withToken := false
	if tok := q.Get("pageToken"); tok != "" {
		anchor, prev, err := parsePlaylistToken(tok)
		if err != nil {
			return response{err: errPageToken()}
		}
		withToken = true
		if prev {
			top = min(anchor+pageSize-1, n-1)
		} else {
			top = min(anchor, n-1)
		}
	}
	out := &playlistItemListResponse{Kind: "youtube#playlistItemListResponse", Items: []playlistItemResource{}}
	lo := max(top-pageSize+1, 0)
	if pageSize == 0 {
		lo = top + 1
	}
	for ord := top; ord >= lo; ord-- {
		v := s.u.video(m, ord)
		out.Items = append(out.Items, s.playlistItemResource(v, n-1-ord, now, parts))
	}
	if pageSize > 0 && lo > 0 {
		out.NextPageToken = playlistToken(lo-1, false)
	}
	if pageSize > 0 && withToken && top < n-1 {
		out.PrevPageToken = playlistToken(top+1, true)
	}
	out.PageInfo = pageInfo{TotalResults: n, ResultsPerPage: pageSize}
	return response{v: out}
}

// ---- videoCategories.list ----

type categorySnippet struct {
	Title      string `json:"title"`
	Assignable bool   `json:"assignable"`
	ChannelID  string `json:"channelId"`
}

type categoryResource struct {
	Kind    string          `json:"kind"`
	ETag    string          `json:"etag"`
	ID      string          `json:"id"`
	Snippet categorySnippet `json:"snippet"`
}

type categoryListResponse struct {
	Kind  string             `json:"kind"`
	ETag  string             `json:"etag"`
	Items []categoryResource `json:"items"`
}

func parseCategories(b []byte) ([]categoryResource, error) {
	var l categoryListResponse
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&l); err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	return l.Items, nil
}

func (s *Server) listCategories(q url.Values) response {
	if _, e := parseParts(q, "videoCategories"); e != nil {
		return response{err: e}
	}
	f := filters(q, "id", "regionCode")
	switch {
	case len(f) == 0:
		return response{err: errNoFilter("id, regionCode")}
	case len(f) > 1:
		return response{err: errIncompatible(strings.Join(f, ", "))}
	}
	all, err := parseCategories(s.u.corpus.categories)
	if err != nil {
		panic(err) // embedded and validated at load
	}
	out := &categoryListResponse{Kind: "youtube#videoCategoryListResponse", Items: []categoryResource{}}
	if f[0] == "id" {
		want := set(splitIDs(multi(q, "id"))...)
		for _, c := range all {
			if want[c.ID] {
				out.Items = append(out.Items, c)
			}
		}
	} else {
		out.Items = all
	}
	return response{v: out}
}
