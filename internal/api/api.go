package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/yt"
)

// Searcher is what the API needs from the search index.
type Searcher interface {
	Search(ctx context.Context, q index.Query) (index.Result, error)
	Video(id string) (index.Hit, bool)
	Channel(id string) (yt.Channel, bool)
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
	Index  Searcher
	Status Statuser
	// Gatherer serves /metrics; Registerer receives the API's own metrics.
	Gatherer       prometheus.Gatherer
	Registerer     prometheus.Registerer
	Logger         *slog.Logger
	RequestTimeout time.Duration // default 10s
	// Ready reports readiness (e.g. index loaded); nil = always ready.
	Ready func() error
}

//go:embed web
var webFS embed.FS

type server struct {
	cfg      Config
	log      *slog.Logger
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
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
	s := &server{cfg: cfg, log: cfg.Logger}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tubelake_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"route"})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("api: metrics: %w", err)
			}
		}
	}
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(pattern, h))
	}
	route("GET /v1/videos/search", s.searchVideos)
	route("GET /v1/videos/{id}", s.getVideo)
	route("GET /v1/channels/{id}", s.getChannel)
	route("GET /v1/status", s.status)
	route("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	route("GET /readyz", s.ready)
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, fmt.Errorf("api: web assets: %w", err)
	}
	mux.Handle("GET /", http.FileServerFS(sub))
	mux.HandleFunc("GET /v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux, nil
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *server) instrument(route string, h http.HandlerFunc) http.Handler {
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
		h(rec, r.WithContext(ctx))
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

var searchParams = map[string]bool{"q": true, "in": true, "sort": true, "limit": true, "cursor": true, "channel_id": true,
	"category_id": true, "language": true, "published_after": true, "published_before": true, "min_views": true,
	"exact_total": true, "initials": true, "layout": true}

// ParseSearch turns URL parameters into an index query, rejecting anything
// it does not understand.
func ParseSearch(v map[string][]string) (index.Query, error) {
	var q index.Query
	for k, vals := range v {
		if !searchParams[k] {
			return q, fmt.Errorf("unknown parameter %q", k)
		}
		if len(vals) > 1 {
			return q, fmt.Errorf("parameter %q given %d times", k, len(vals))
		}
	}
	get := func(k string) string {
		if vals := v[k]; len(vals) > 0 {
			return vals[0]
		}
		return ""
	}
	q.Q = strings.TrimSpace(get("q"))
	if q.Q == "" {
		return q, errors.New("parameter q is required")
	}
	if len(q.Q) > 512 {
		return q, errors.New("parameter q is longer than 512 bytes")
	}
	if in := get("in"); in != "" {
		for _, f := range strings.Split(in, ",") {
			switch index.Field(f) {
			case "title", "tags", "channel", "description":
				q.In = append(q.In, index.Field(f))
			default:
				return q, fmt.Errorf("in: unknown field %q (want title, tags, channel, description)", f)
			}
		}
	}
	switch s := get("sort"); s {
	case "", "relevance", "views", "recent":
		q.Sort = index.Sort(s)
	default:
		return q, fmt.Errorf("sort: unknown order %q (want relevance, views, recent)", s)
	}
	if l := get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return q, fmt.Errorf("limit: want an integer 1..100, got %q", l)
		}
		q.Limit = n
	} else {
		q.Limit = 20
	}
	q.Cursor = get("cursor")
	q.ChannelID = get("channel_id")
	if q.ChannelID != "" {
		if err := yt.ValidateChannelID(q.ChannelID); err != nil {
			return q, fmt.Errorf("channel_id: %w", err)
		}
	}
	q.CategoryID = get("category_id")
	q.Language = get("language")
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"published_after", &q.PublishedAfter}, {"published_before", &q.PublishedBefore}} {
		if s := get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				if t2, err2 := time.Parse("2006-01-02", s); err2 == nil {
					t = t2
				} else {
					return q, fmt.Errorf("%s: want RFC 3339 time or YYYY-MM-DD, got %q", p.name, s)
				}
			}
			*p.dst = t
		}
	}
	if s := get("min_views"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("min_views: want a non-negative integer, got %q", s)
		}
		q.MinViews = n
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"exact_total", &q.ExactTotal}, {"initials", &q.Initials}, {"layout", &q.Layout}} {
		if s := get(p.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return q, fmt.Errorf("%s: want true or false, got %q", p.name, s)
			}
			*p.dst = b
		}
	}
	return q, nil
}

func (s *server) searchVideos(w http.ResponseWriter, r *http.Request) {
	q, err := ParseSearch(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	res, err := s.cfg.Index.Search(r.Context(), q)
	if err != nil {
		if errors.Is(err, index.ErrBadQuery) {
			writeError(w, http.StatusBadRequest, "bad_query", err.Error())
			return
		}
		if r.Context().Err() != nil {
			writeError(w, http.StatusServiceUnavailable, "timeout", "search did not finish in time")
			return
		}
		s.log.Error("search failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "search failed")
		return
	}
	if res.Items == nil {
		res.Items = []index.Hit{}
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) getVideo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := yt.ValidateVideoID(id); err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	h, ok := s.cfg.Index.Video(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("video %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, h)
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

func (s *server) getChannel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := yt.ValidateChannelID(id); err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	c, ok := s.cfg.Index.Channel(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("channel %s is not known", id))
		return
	}
	writeJSON(w, http.StatusOK, ChannelView{ID: c.ID, Title: c.Snippet.Title, Description: c.Snippet.Description, Handle: c.Snippet.CustomURL,
		Country: c.Snippet.Country, PublishedAt: c.Snippet.PublishedAt, ThumbnailURL: c.Snippet.Thumbnail.URL,
		SubscriberCount: c.Statistics.SubscriberCount, HiddenSubscriberCount: c.Statistics.HiddenSubscriberCount,
		ViewCount: c.Statistics.ViewCount, VideoCount: c.Statistics.VideoCount, UploadsPlaylistID: c.ContentDetails.UploadsPlaylistID, FetchedAt: c.FetchedAt})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Status == nil {
		writeError(w, http.StatusNotFound, "not_found", "status is not available in this process")
		return
	}
	st, err := s.cfg.Status.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
