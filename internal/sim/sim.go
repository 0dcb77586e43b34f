package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // quota days are America/Los_Angeles; do not depend on the host zoneinfo

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tubelake/tubelake/internal/yt"
)

// Config configures the emulator. The zero value is usable.
type Config struct {
	Seed             int64
	Channels         int      // default 2000
	VideosPerChannel int      // mean, default 100
	QuotaPerDay      int64    // default 10000; negative = unlimited
	Keys             []string // accepted keys; empty = any non-empty key accepted except ones starting with "invalid"
	RateLimitQPS     float64  // per key, 0 = none
	Latency          time.Duration
	LatencyJitter    time.Duration
	Fault5xx         float64          // probability of a 503 backendError
	FaultTimeout     float64          // probability of hanging until the client gives up
	FaultTruncate    float64          // probability of writing half the body then closing
	Start            time.Time        // simulated epoch; zero = 2026-11-01T00:00:00Z
	Speed            float64          // simulated seconds per real second; 0 = 1
	Now              func() time.Time // optional real-clock override for tests
	Logger           *slog.Logger
}

// DefaultStart is the simulated epoch used when Config.Start is zero.
var DefaultStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	cfg       Config
	u         *universe
	log       *slog.Logger
	realStart time.Time
	offset    atomic.Int64 // extra simulated nanoseconds (Advance)
	pacific   *time.Location
	keys      map[string]bool

	mu       sync.Mutex
	quota    map[string]*keyQuota
	limiters map[string]*rate.Limiter
	rnd      *rand.Rand
	usage    Usage

	metrics *metrics
	closed  chan struct{}
	once    sync.Once
}

type keyQuota struct {
	day  string // PT date of the current quota day
	used int64
}

// Usage is a snapshot of what the emulator served. Keys appear as given by
// clients: keep this struct out of logs.
type Usage struct {
	Calls       map[string]int64 // by endpoint: videos, channels, playlistItems, search, videoCategories, rss
	Units       map[string]int64 // quota units charged, by key (all days)
	UnitsToday  map[string]int64 // units charged in the current PT quota day, by key
	Errors      map[string]int64 // error responses by reason (quotaExceeded, keyInvalid, backendError, ...)
	Faults      map[string]int64 // injected faults: 5xx, timeout, truncate
	NotModified int64            // 304 responses
}

func (u Usage) clone() Usage {
	cp := func(m map[string]int64) map[string]int64 {
		o := make(map[string]int64, len(m))
		for k, v := range m {
			o[k] = v
		}
		return o
	}
	return Usage{Calls: cp(u.Calls), Units: cp(u.Units), UnitsToday: cp(u.UnitsToday), Errors: cp(u.Errors), Faults: cp(u.Faults), NotModified: u.NotModified}
}

// New builds an emulator. It does no per-video work: the universe is lazy.
func New(cfg Config) (*Server, error) {
	if cfg.Channels == 0 {
		cfg.Channels = 2000
	}
	if cfg.VideosPerChannel == 0 {
		cfg.VideosPerChannel = 100
	}
	if cfg.QuotaPerDay == 0 {
		cfg.QuotaPerDay = 10000
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.Channels < 1 || cfg.Channels > 1<<24:
		return nil, fmt.Errorf("sim: channels %d out of range 1..%d", cfg.Channels, 1<<24)
	case cfg.VideosPerChannel < 1 || cfg.VideosPerChannel > 100000:
		return nil, fmt.Errorf("sim: videos per channel %d out of range 1..100000", cfg.VideosPerChannel)
	case cfg.Speed < 0:
		return nil, errors.New("sim: negative speed")
	case cfg.RateLimitQPS < 0 || cfg.Latency < 0 || cfg.LatencyJitter < 0:
		return nil, errors.New("sim: negative rate limit or latency")
	}
	for _, p := range []float64{cfg.Fault5xx, cfg.FaultTimeout, cfg.FaultTruncate} {
		if p < 0 || p > 1 {
			return nil, fmt.Errorf("sim: fault probability %v out of range 0..1", p)
		}
	}
	c, err := loadCorpus()
	if err != nil {
		return nil, fmt.Errorf("sim: load corpus: %w", err)
	}
	pt, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		return nil, fmt.Errorf("sim: load America/Los_Angeles: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seed := uint64(cfg.Seed)
	s := &Server{
		cfg: cfg,
		u: &universe{
			seed:   mix64(seed ^ 0x5eed),
			n:      cfg.Channels,
			mean:   float64(cfg.VideosPerChannel),
			start:  cfg.Start.UTC(),
			ids:    newIDCodec(mix64(seed^0x1d), cfg.Channels),
			corpus: c,
		},
		log:       log,
		realStart: cfg.Now(),
		pacific:   pt,
		quota:     map[string]*keyQuota{},
		limiters:  map[string]*rate.Limiter{},
		rnd:       rand.New(rand.NewPCG(seed, 0xfa17)),
		usage: Usage{Calls: map[string]int64{}, Units: map[string]int64{}, UnitsToday: map[string]int64{},
			Errors: map[string]int64{}, Faults: map[string]int64{}},
		metrics: newMetrics(),
		closed:  make(chan struct{}),
	}
	if len(cfg.Keys) > 0 {
		s.keys = map[string]bool{}
		for _, k := range cfg.Keys {
			s.keys[k] = true
		}
	}
	return s, nil
}

// Now returns the simulated time: Start + Speed*(real elapsed) + Advance offsets.
func (s *Server) Now() time.Time {
	el := s.cfg.Now().Sub(s.realStart)
	sim := time.Duration(float64(el) * s.cfg.Speed)
	return s.cfg.Start.Add(sim + time.Duration(s.offset.Load())).UTC()
}

// Advance moves the simulated clock forward by d (tests and demos).
func (s *Server) Advance(d time.Duration) { s.offset.Add(int64(d)) }

// Close releases requests hanging in an injected timeout fault. The handler
// keeps working afterwards, without timeouts.
func (s *Server) Close() { s.once.Do(func() { close(s.closed) }) }

// ChannelIDs returns the first n channel ids of the universe, most popular first.
func (s *Server) ChannelIDs(n int) []string {
	n = min(max(n, 0), s.u.n)
	out := make([]string, n)
	for i := range out {
		out[i] = s.u.ids.channelID(i)
	}
	return out
}

// UploadIDs returns the ids of the videos a channel has published by at,
// newest first, including videos that are (or later become) deleted or private.
func (s *Server) UploadIDs(channelID string, at time.Time) []string {
	ci, ok := s.u.ids.channelIndex(channelID)
	if !ok {
		return nil
	}
	b := s.u.channelBase(ci)
	n := s.u.uploadCount(&b, at)
	out := make([]string, n)
	for i := range out {
		out[i] = s.u.ids.videoID(ci, n-1-i)
	}
	return out
}

// UploadStates splits the uploads of channels at time at into the videos
// videos.list returns (public) and those it no longer returns (gone:
// deleted or private): what a complete crawl must have in the lake.
func (s *Server) UploadStates(channels []string, at time.Time) (public, gone map[string]bool) {
	public, gone = map[string]bool{}, map[string]bool{}
	for _, ch := range channels {
		for _, id := range s.UploadIDs(ch, at) {
			if _, ok := s.Video(id, at); ok {
				public[id] = true
			} else {
				gone[id] = true
			}
		}
	}
	return public, gone
}

// Video returns the public state of a video at `at`; false if the id is
// unknown, not yet published, deleted or private at that time.
func (s *Server) Video(id string, at time.Time) (yt.Video, bool) {
	v, ok := s.u.resolveVideo(id, at)
	if !ok || v.gone(at) {
		return yt.Video{}, false
	}
	res := s.videoResource(v, at, partSet{snippet: true, statistics: true, contentDetails: true})
	out := yt.Video{
		ID:   v.id,
		ETag: res.ETag,
		Snippet: yt.VideoSnippet{
			PublishedAt:          v.pub,
			ChannelID:            v.ch.id,
			Title:                res.Snippet.Title,
			Description:          res.Snippet.Description,
			Thumbnail:            bestThumb(res.Snippet.Thumbnails),
			ChannelTitle:         v.ch.title,
			Tags:                 res.Snippet.Tags,
			CategoryID:           v.category,
			LiveBroadcastContent: "none",
			DefaultLanguage:      v.defLang,
			DefaultAudioLanguage: v.audioLang,
		},
		ContentDetails: yt.VideoContentDetails{
			Duration:        res.ContentDetails.Duration,
			Dimension:       res.ContentDetails.Dimension,
			Definition:      res.ContentDetails.Definition,
			Caption:         res.ContentDetails.Caption,
			LicensedContent: res.ContentDetails.LicensedContent,
		},
		FetchedAt: yt.TruncMicros(at),
	}
	st := res.Statistics
	out.Statistics.ViewCount = parseCount(st.ViewCount)
	out.Statistics.LikeCount = parseCount(st.LikeCount)
	out.Statistics.CommentCount = parseCount(st.CommentCount)
	return out, true
}

// Channel returns the state of a channel at `at`; false if unknown or not yet created.
func (s *Server) Channel(id string, at time.Time) (yt.Channel, bool) {
	m, ok := s.u.resolveChannel(id, at)
	if !ok {
		return yt.Channel{}, false
	}
	res := s.channelResource(m, at, partSet{snippet: true, statistics: true, contentDetails: true})
	out := yt.Channel{
		ID:   m.id,
		ETag: res.ETag,
		Snippet: yt.ChannelSnippet{
			Title:           m.title,
			Description:     m.desc,
			CustomURL:       m.handle,
			PublishedAt:     m.created,
			Thumbnail:       bestThumb(res.Snippet.Thumbnails),
			DefaultLanguage: m.defaultLanguage,
			Country:         m.country,
		},
		ContentDetails: yt.ChannelContentDetails{UploadsPlaylistID: yt.UploadsPlaylistID(m.id)},
		FetchedAt:      yt.TruncMicros(at),
	}
	st := res.Statistics
	out.Statistics.ViewCount = parseCount(st.ViewCount)
	out.Statistics.SubscriberCount = parseCount(st.SubscriberCount)
	out.Statistics.HiddenSubscriberCount = st.HiddenSubscriberCount
	out.Statistics.VideoCount = parseCount(st.VideoCount)
	return out, true
}

// ChannelByHandle resolves an @handle (as channels.list forHandle does).
func (s *Server) ChannelByHandle(handle string) (string, bool) {
	m, ok := s.u.channelByHandle(handle)
	if !ok {
		return "", false
	}
	return m.id, true
}

// Usage returns a snapshot of calls, units and errors.
func (s *Server) Usage() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.usage.clone()
	day := s.ptDay(s.Now())
	for k, q := range s.quota {
		if q.day == day {
			u.UnitsToday[k] = q.used
		}
	}
	return u
}

// Registerer registers the emulator's Prometheus metrics (keys never appear as labels).
func (s *Server) Registerer(r prometheus.Registerer) error {
	for _, c := range s.metrics.all() {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("sim: register metrics: %w", err)
		}
	}
	return nil
}

// Handler serves /youtube/v3/..., /feeds/videos.xml and /healthz.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) ptDay(t time.Time) string { return t.In(s.pacific).Format(time.DateOnly) }

type metrics struct {
	calls   *prometheus.CounterVec
	units   prometheus.Counter
	errors  *prometheus.CounterVec
	faults  *prometheus.CounterVec
	notMod  prometheus.Counter
	latency *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		calls:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_sim_calls_total", Help: "Emulator calls by endpoint and HTTP status."}, []string{"endpoint", "code"}),
		units:   prometheus.NewCounter(prometheus.CounterOpts{Name: "tubelake_sim_quota_units_total", Help: "Quota units charged (all keys)."}),
		errors:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_sim_errors_total", Help: "Error responses by reason."}, []string{"reason"}),
		faults:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tubelake_sim_faults_total", Help: "Injected faults by kind."}, []string{"kind"}),
		notMod:  prometheus.NewCounter(prometheus.CounterOpts{Name: "tubelake_sim_not_modified_total", Help: "304 responses."}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tubelake_sim_request_seconds", Help: "Emulator request duration.", Buckets: prometheus.DefBuckets}, []string{"endpoint"}),
	}
}

func (m *metrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.calls, m.units, m.errors, m.faults, m.notMod, m.latency}
}
