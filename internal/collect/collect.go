package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/api/option"
	"google.golang.org/api/youtube/v3"

	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/yt"
)

// Publisher receives the records a crawl produces (declared here, where it
// is consumed). Publish may be called concurrently; an error stops the crawl.
type Publisher interface {
	Publish(ctx context.Context, recs ...yt.Record) error
}

// Config configures a Collector. Zero values take the documented defaults.
type Config struct {
	Endpoint            string // API base URL, e.g. http://127.0.0.1:8081 (default https://youtube.googleapis.com)
	FeedEndpoint        string // RSS base URL (default: Endpoint if set, else https://www.youtube.com)
	APIKeys             []string
	Workers             int           // concurrent calls, default 32
	MaxVideosPerChannel int           // 0 = all uploads
	MaxVideoAge         time.Duration // 0 = no limit; stop walking uploads at older videos
	RequestTimeout      time.Duration // per call, default 10s
	MaxRetries          int           // per call, default 5 (negative = no retries)
	QuotaPerDay         int64         // per key, default 10000
	RatePerKey          float64       // calls per second per key, default 100; negative = unlimited
	RetryBaseDelay      time.Duration // default 200ms; delay n is uniform in [d/2, d], d = base*2^(n-1)
	RetryMaxDelay       time.Duration // default 10s
	Ledger              *quota.Ledger // optional, shared quota ledger (default: a new one from QuotaPerDay and Now)
	// Planner, if set, debits every call from a bucket of the day's plan
	// (quota.Planner over Ledger) as well as from the key: calls of an
	// exhausted bucket are not sent (ErrBudgetExhausted).
	Planner    *quota.Planner
	HTTPClient *http.Client // optional; its Transport is used under the key-adding transport
	// FullResponses turns off partial responses (the fields parameter):
	// every part is sent back whole. Only for measuring what fields saves.
	FullResponses bool
	Now           func() time.Time
	Logger        *slog.Logger // nil = no logs; never receives a key
	Registerer    prometheus.Registerer
	Progress      func(Stats) // optional, called about once a second with current totals
}

// Stats are the totals of one crawl.
type Stats struct {
	Calls      int64            // API calls sent
	QuotaUnits int64            // units spent (local ledger)
	Channels   int64            // channel snapshots published
	Videos     int64            // video snapshots published
	Tombstones int64            // tombstone events published (videos and channels)
	Retries    int64            // calls sent again (after a transient error, or on another key)
	Backoff    time.Duration    // total time retried calls waited before being sent again
	Errors     map[string]int64 // failed calls by reason (quotaExceeded, http_503, timeout, truncated...)
	Unfetched  int64            // ids (channels or videos) given up on after permanent errors
	Elapsed    time.Duration
}

func (s Stats) String() string {
	return fmt.Sprintf("calls=%d units=%d channels=%d videos=%d tombstones=%d retries=%d backoff=%s unfetched=%d errors=%v elapsed=%s",
		s.Calls, s.QuotaUnits, s.Channels, s.Videos, s.Tombstones, s.Retries, s.Backoff.Round(time.Millisecond), s.Unfetched, s.Errors, s.Elapsed.Round(time.Millisecond))
}

// Collector crawls channels and videos. It is safe for concurrent use; the
// quota ledger and key state are shared by all calls.
type Collector struct {
	cfg      Config
	pub      Publisher
	keys     []*apiKey
	ledger   *quota.Ledger
	scrub    *scrubber
	log      *slog.Logger
	m        *metrics
	feedHTTP *http.Client
	feedBase string
	now      func() time.Time
	rr       atomic.Uint64

	feedMu sync.Mutex
	feeds  map[string]*feedState
}

const (
	defaultEndpoint     = "https://youtube.googleapis.com"
	defaultFeedEndpoint = "https://www.youtube.com"
	batchSize           = 50
)

// New validates cfg and builds a Collector publishing to pub.
func New(cfg Config, pub Publisher) (*Collector, error) {
	if pub == nil {
		return nil, errors.New("collect: nil Publisher")
	}
	var secrets []string
	seen := map[string]bool{}
	for _, k := range cfg.APIKeys {
		k = strings.TrimSpace(k)
		if k != "" && !seen[k] {
			seen[k] = true
			secrets = append(secrets, k)
		}
	}
	if len(secrets) == 0 {
		return nil, errors.New("collect: no API key configured")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.QuotaPerDay <= 0 {
		cfg.QuotaPerDay = quota.DefaultPerDay
	}
	if cfg.RatePerKey == 0 {
		cfg.RatePerKey = 100
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = 200 * time.Millisecond
	}
	if cfg.RetryMaxDelay <= 0 {
		cfg.RetryMaxDelay = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if endpoint == "" {
		endpoint = defaultEndpoint
	}
	feedBase := strings.TrimRight(cfg.FeedEndpoint, "/")
	if feedBase == "" {
		feedBase = strings.TrimRight(cfg.Endpoint, "/")
	}
	if feedBase == "" {
		feedBase = defaultFeedEndpoint
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("collect: register metrics: %w", err)
	}
	c := &Collector{
		cfg: cfg, pub: pub, scrub: newScrubber(secrets), log: log, m: m,
		feedBase: feedBase, now: cfg.Now, feeds: map[string]*feedState{},
	}
	c.ledger = cfg.Ledger
	if c.ledger == nil && cfg.Planner != nil {
		c.ledger = cfg.Planner.Ledger()
	}
	if c.ledger == nil {
		c.ledger = quota.New(cfg.QuotaPerDay, cfg.Now)
	}

	base, redirect := c.baseTransport()
	c.feedHTTP = &http.Client{Transport: base, CheckRedirect: redirect}
	limit, burst := rate.Limit(cfg.RatePerKey), cfg.Workers
	if cfg.RatePerKey < 0 {
		limit = rate.Inf
	}
	quiet := slog.New(slog.DiscardHandler) // the library's own request logging would print URLs with key=
	for _, s := range secrets {
		hc := &http.Client{Transport: &keyTransport{key: s, base: base}, CheckRedirect: redirect}
		// The library resolves "youtube/v3/videos" against the endpoint, so the
		// endpoint is the bare base URL with a trailing slash.
		svc, err := youtube.NewService(context.Background(),
			option.WithEndpoint(endpoint+"/"), option.WithHTTPClient(hc), option.WithLogger(quiet))
		if err != nil {
			return nil, fmt.Errorf("collect: youtube client: %s", c.scrub.String(err.Error()))
		}
		c.keys = append(c.keys, &apiKey{id: quota.KeyID(s), secret: s, svc: svc, lim: rate.NewLimiter(limit, burst)})
	}
	c.log.Debug("collector ready", "endpoint", endpoint, "keys", keyIDs(c.keys), "workers", cfg.Workers)
	return c, nil
}

// baseTransport returns the transport all calls share: the configured
// client's, or one tuned for many concurrent keep-alive calls to one host.
func (c *Collector) baseTransport() (http.RoundTripper, func(*http.Request, []*http.Request) error) {
	if hc := c.cfg.HTTPClient; hc != nil {
		if hc.Transport != nil {
			return hc.Transport, hc.CheckRedirect
		}
		return http.DefaultTransport, hc.CheckRedirect
	}
	w := c.cfg.Workers
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2*w + 16,
		MaxIdleConnsPerHost:   w + 8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: c.cfg.RequestTimeout,
		ExpectContinueTimeout: time.Second,
	}, nil
}

// KeyIDs returns the fingerprints of the configured keys (for reports).
func (c *Collector) KeyIDs() []string { return keyIDs(c.keys) }

// Ledger returns the quota ledger in use.
func (c *Collector) Ledger() *quota.Ledger { return c.ledger }

// reserve debits cost units for a call of bucket on key.
func (c *Collector) reserve(bucket, key string, cost int64) bool {
	if p := c.cfg.Planner; p != nil {
		return p.Reserve(bucketOr(bucket), key, cost)
	}
	return c.ledger.Reserve(key, cost)
}

func (c *Collector) refund(bucket, key string, cost int64) {
	if p := c.cfg.Planner; p != nil {
		p.Refund(bucketOr(bucket), key, cost)
		return
	}
	c.ledger.Refund(key, cost)
}

// bucketOr names the bucket of calls made outside the scheduler (Collect,
// FetchVideos): discovery.
func bucketOr(b string) string {
	if b == "" {
		return quota.BucketDiscovery
	}
	return b
}

// pickKey reserves cost units on the next usable key (round robin).
func (c *Collector) pickKey(bucket string, cost int64) (*apiKey, error) {
	if p := c.cfg.Planner; p != nil && p.Left(bucketOr(bucket)) < cost {
		return nil, fmt.Errorf("collect: %w: %q has no units left in today's plan", ErrBudgetExhausted, bucketOr(bucket))
	}
	n := len(c.keys)
	start := int(c.rr.Add(1) % uint64(n))
	usable := 0
	for i := range n {
		k := c.keys[(start+i)%n]
		if k.invalid.Load() {
			continue
		}
		usable++
		if c.reserve(bucket, k.id, cost) {
			return k, nil
		}
	}
	if usable == 0 {
		return nil, fmt.Errorf("collect: %w: all %d key(s) were rejected by the API", ErrNoUsableKey, n)
	}
	return nil, fmt.Errorf("collect: %w: %d usable key(s) have no quota left until %s",
		ErrQuotaExhausted, usable, quota.NextReset(c.now()).Format(time.RFC3339))
}

// backoff returns the full-jitter delay before attempt (1-based).
func (c *Collector) backoff(attempt int) time.Duration {
	d := c.cfg.RetryBaseDelay << min(attempt-1, 20)
	if d <= 0 || d > c.cfg.RetryMaxDelay {
		d = c.cfg.RetryMaxDelay
	}
	return d/2 + rand.N(d/2+1)
}
