package api

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/yt"
)

// Searcher is what the API needs from the search index.
type Searcher interface {
	Search(ctx context.Context, q index.Query) (index.Result, error)
	Video(id string) (index.Hit, bool)
	VideoDoc(id string) (index.VideoDoc, bool)
	Channel(id string) (yt.Channel, bool)
	Stats() index.Stats
}

// Lake runs read-only SQL over the lake (a *lakesql.DB).
type Lake interface {
	Query(ctx context.Context, sql string) (*lakesql.Result, error)
}

// Statuser reports the pipeline's status as a JSON-encodable value.
type Statuser interface {
	Status(ctx context.Context) (any, error)
}

// StatusFunc adapts a function to Statuser.
type StatusFunc func(ctx context.Context) (any, error)

// Status implements Statuser.
func (f StatusFunc) Status(ctx context.Context) (any, error) { return f(ctx) }

// Config configures the HTTP server.
type Config struct {
	Index Searcher
	// Lake serves time series, rankings, trending and collection lag; nil
	// answers those with 503 lake_unavailable.
	Lake   Lake
	Status Statuser
	// Quota reports the collector's quota ledger (nil: not shown).
	Quota func() []quota.Usage
	// Gatherer serves /metrics; Registerer receives the API's own metrics.
	Gatherer       prometheus.Gatherer
	Registerer     prometheus.Registerer
	Logger         *slog.Logger
	RequestTimeout time.Duration // default 10s
	// Ready reports readiness (e.g. index loaded); nil = always ready.
	Ready func() error

	// Keys, when non-nil and holding keys (or RequireKey), makes every
	// non-public route require an API key.
	Keys       *KeyStore
	RequireKey bool
	// AnonRate and AnonBurst limit requests per client IP when no key is
	// presented (0 = unlimited).
	AnonRate  float64
	AnonBurst int
	// CORSOrigins lists origins allowed to call the API from a browser
	// ("*" for any); empty = no CORS headers.
	CORSOrigins []string
	// MaxURLBytes bounds the request URI (default 8 KiB); MaxBodyBytes
	// bounds request bodies (default 64 KiB; the API reads none).
	MaxURLBytes  int
	MaxBodyBytes int64
	// CacheTTL is how long lake answers are cached (default 30s).
	CacheTTL time.Duration
	// SearchCacheTTL, when positive, caches encoded search responses (video
	// search, channel search, a channel's videos) this long: results are
	// then at most this stale, like a search engine's refresh interval.
	SearchCacheTTL time.Duration
	// MaxSearches bounds index searches running at once (default
	// 4 x GOMAXPROCS); more wait their turn within the request timeout.
	// Queuing here rather than on the index lock keeps the index sink's
	// writes from starving behind a crowd of readers.
	MaxSearches int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

//go:embed web
var webFS embed.FS

type server struct {
	cfg      Config
	log      *slog.Logger
	routes   []*compiled
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limited  *prometheus.CounterVec
	// revalidations counts stale search cache entries refreshed in the
	// background.
	revalidations prometheus.Counter
	cache         *ttlCache
	hot           *ttlCache // encoded search responses (SearchCacheTTL)
	searches      chan struct{}
	limiters      *limiters
	doc           []byte
}

// New returns the HTTP handler of the API and UI.
func New(cfg Config) (http.Handler, error) {
	if cfg.Index == nil {
		return nil, errors.New("api: an index is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.MaxURLBytes == 0 {
		cfg.MaxURLBytes = 8 << 10
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxSearches <= 0 {
		cfg.MaxSearches = 4 * runtime.GOMAXPROCS(0)
	}
	s := &server{cfg: cfg, log: cfg.Logger, cache: newTTLCache(4096), limiters: newLimiters(), hot: newTTLCache(20000),
		searches: make(chan struct{}, cfg.MaxSearches)}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tubelake_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"route"})
	s.limited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_http_rejected_total", Help: "Requests rejected before reaching a handler, by reason (unauthorized, rate_limited, too_large)."}, []string{"reason"})
	s.revalidations = prometheus.NewCounter(prometheus.CounterOpts{Name: "tubelake_search_cache_revalidations_total", Help: "Stale search cache entries served while one background request refreshed them."})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency, s.limited, s.revalidations} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("api: metrics: %w", err)
			}
		}
	}
	doc, err := json.Marshal(OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("api: openapi: %w", err)
	}
	s.doc = doc
	mux := http.NewServeMux()
	for _, rt := range Routes() {
		c := compile(rt)
		s.routes = append(s.routes, c)
		mux.Handle(c.Method+" "+c.Path, s.instrument(c))
	}
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, fmt.Errorf("api: web assets: %w", err)
	}
	files := http.FileServerFS(sub)
	mux.Handle("GET /", files)
	mux.HandleFunc("GET /v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.edge(mux), nil
}

// edge applies what holds for every request: size limits and CORS.
func (s *server) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > s.cfg.MaxURLBytes {
			s.limited.WithLabelValues("too_large").Inc()
			writeError(w, http.StatusRequestURITooLong, "uri_too_long", fmt.Sprintf("request URI longer than %d bytes", s.cfg.MaxURLBytes))
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.limited.WithLabelValues("too_large").Inc()
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body longer than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			w.Header().Set("Allow", "GET, HEAD, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("method %s is not allowed; the API is read-only (GET)", r.Method))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && s.corsAllowed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Retry-After, X-RateLimit-Limit")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, X-API-Key")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) corsAllowed(origin string) bool {
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *server) instrument(c *compiled) http.Handler {
	route := c.Method + " " + c.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panic", "route", route, "panic", p)
				writeError(rec, http.StatusInternalServerError, "internal", "internal error")
			}
			s.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
			s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		if !c.Public && !s.admit(rec, r) {
			return
		}
		p, err := c.parse(r)
		if err != nil {
			writeError(rec, http.StatusBadRequest, "bad_parameter", err.Error())
			return
		}
		c.handler(s, rec, r.WithContext(ctx), p)
	})
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// searchRoute is the compiled search route, for ParseSearch.
var searchRoute = func() *compiled {
	for _, rt := range Routes() {
		if rt.OperationID == "searchVideos" {
			return compile(rt)
		}
	}
	panic("api: no searchVideos route")
}()

// ParseSearch turns URL parameters of /v1/videos/search into an index
// query, rejecting anything the route table does not admit.
func ParseSearch(v map[string][]string) (index.Query, error) {
	p, err := searchRoute.parseValues(v, func(string) string { return "" })
	if err != nil {
		return index.Query{}, err
	}
	return searchQuery(p), nil
}

func searchQuery(p params) index.Query {
	q := index.Query{Q: p.str("q"), Sort: index.Sort(p.str("sort")), Limit: p.int("limit"), Cursor: p.str("cursor"),
		ChannelID: p.str("channel_id"), CategoryID: p.str("category_id"), Language: p.str("language"),
		PublishedAfter: p.time("published_after"), PublishedBefore: p.time("published_before"),
		ExactTotal: p.bool("exact_total"), Initials: p.bool("initials"), Layout: p.bool("layout")}
	if in := p.str("in"); in != "" {
		for _, f := range strings.Split(in, ",") {
			q.In = append(q.In, index.Field(f))
		}
	}
	if v := p.str("min_views"); v != "" {
		q.MinViews, _ = strconv.ParseInt(v, 10, 64)
	}
	return q
}

// SearchResult is one page of videos.
type SearchResult = index.Result

// VideoView is a video's latest state.
type VideoView = index.VideoDoc

func (s *server) runSearch(w http.ResponseWriter, r *http.Request, q index.Query) (index.Result, bool) {
	select {
	case s.searches <- struct{}{}:
		defer func() { <-s.searches }()
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "timeout", "search did not start in time: the server is overloaded")
		return index.Result{}, false
	}
	res, err := s.cfg.Index.Search(r.Context(), q)
	if err != nil {
		if errors.Is(err, index.ErrBadQuery) {
			writeError(w, http.StatusBadRequest, "bad_query", err.Error())
			return res, false
		}
		if r.Context().Err() != nil {
			writeError(w, http.StatusServiceUnavailable, "timeout", "search did not finish in time")
			return res, false
		}
		s.log.Error("search failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "search failed")
		return res, false
	}
	if res.Items == nil {
		res.Items = []index.Hit{}
	}
	return res, true
}

func (s *server) searchVideos(w http.ResponseWriter, r *http.Request, p params) {
	if s.cachedSearch(w, r, p, s.searchVideos) {
		return
	}
	if res, ok := s.runSearch(w, r, searchQuery(p)); ok {
		s.writeSearch(w, r, p, res)
	}
}

// cacheKey is the route and its validated parameters in a fixed order.
func cacheKey(r *http.Request, p params) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(r.Pattern)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p[k])
	}
	return b.String()
}

// cachedSearch answers from the search response cache. An entry that
// expired less than SearchCacheTTL ago is still served (X-Cache: stale)
// while one background request revalidates it (stale-while-revalidate), so
// a popular query never makes a client wait for the index; h is the handler
// that revalidates.
func (s *server) cachedSearch(w http.ResponseWriter, r *http.Request, p params, h func(http.ResponseWriter, *http.Request, params)) bool {
	if s.cfg.SearchCacheTTL <= 0 || r.Context().Value(revalidating{}) != nil {
		return false
	}
	key := cacheKey(r, p)
	v, fresh, revalidate := s.hot.getStale(key, s.cfg.Now())
	if v == nil {
		return false
	}
	state := "hit"
	if !fresh {
		state = "stale"
	}
	if revalidate {
		go s.revalidate(key, r, p, h)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Cache", state)
	_, _ = w.Write(v.([]byte))
	return true
}

// revalidating marks a background request that refreshes a stale entry.
type revalidating struct{}

// revalidate runs h again for a stale cache entry, detached from the
// client's request; writeSearch stores the fresh response.
func (s *server) revalidate(key string, r *http.Request, p params, h func(http.ResponseWriter, *http.Request, params)) {
	defer s.hot.refreshed(key)
	ctx, cancel := context.WithTimeout(context.WithValue(context.WithoutCancel(r.Context()), revalidating{}, true), revalidateTimeout)
	defer cancel()
	h(discardResponse{h: http.Header{}}, r.WithContext(ctx), p)
	s.revalidations.Inc()
}

const revalidateTimeout = 10 * time.Second

// discardResponse is the ResponseWriter of a revalidation.
type discardResponse struct{ h http.Header }

func (d discardResponse) Header() http.Header         { return d.h }
func (d discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d discardResponse) WriteHeader(int)             {}

// writeSearch encodes a search response and caches it when enabled.
func (s *server) writeSearch(w http.ResponseWriter, r *http.Request, p params, v any) {
	if s.cfg.SearchCacheTTL <= 0 {
		writeJSON(w, http.StatusOK, v)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "encoding failed")
		return
	}
	b := buf.Bytes()
	now := s.cfg.Now()
	exp := now.Add(s.cfg.SearchCacheTTL)
	s.hot.putStale(cacheKey(r, p), b, now, exp, exp.Add(s.cfg.SearchCacheTTL))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Cache", "miss")
	_, _ = w.Write(b)
}

func (s *server) getVideo(w http.ResponseWriter, r *http.Request, p params) {
	id := p.str("id")
	d, ok := s.cfg.Index.VideoDoc(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("video %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// ChannelView is the JSON shape of a channel.
type ChannelView struct {
	ID                    string    `json:"id"`
	Title                 string    `json:"title"`
	Description           string    `json:"description,omitempty"`
	Handle                string    `json:"handle,omitempty"`
	Country               string    `json:"country,omitempty"`
	PublishedAt           time.Time `json:"published_at"`
	ThumbnailURL          string    `json:"thumbnail_url,omitempty"`
	SubscriberCount       *int64    `json:"subscriber_count,omitempty"`
	HiddenSubscriberCount bool      `json:"hidden_subscriber_count,omitempty"`
	ViewCount             *int64    `json:"view_count,omitempty"`
	VideoCount            *int64    `json:"video_count,omitempty"`
	UploadsPlaylistID     string    `json:"uploads_playlist_id,omitempty"`
	FetchedAt             time.Time `json:"fetched_at"`
}

func channelView(c yt.Channel) ChannelView {
	return ChannelView{ID: c.ID, Title: c.Snippet.Title, Description: c.Snippet.Description, Handle: c.Snippet.CustomURL,
		Country: c.Snippet.Country, PublishedAt: c.Snippet.PublishedAt, ThumbnailURL: c.Snippet.Thumbnail.URL,
		SubscriberCount: c.Statistics.SubscriberCount, HiddenSubscriberCount: c.Statistics.HiddenSubscriberCount,
		ViewCount: c.Statistics.ViewCount, VideoCount: c.Statistics.VideoCount, UploadsPlaylistID: c.ContentDetails.UploadsPlaylistID, FetchedAt: c.FetchedAt}
}

func (s *server) getChannel(w http.ResponseWriter, r *http.Request, p params) {
	id := p.str("id")
	c, ok := s.cfg.Index.Channel(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("channel %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, channelView(c))
}

func (s *server) ready(w http.ResponseWriter, r *http.Request, _ params) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, Health{Status: "ready"})
}

func (s *server) openapi(w http.ResponseWriter, r *http.Request, _ params) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=60")
	_, _ = w.Write(s.doc)
}
