package collect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/api/youtube/v3"
)

// apiKey is one API key with its client, limiter and state. The secret is
// only ever read by keyTransport.
type apiKey struct {
	id      string // quota.KeyID: safe to log
	secret  string
	svc     *youtube.Service
	lim     *rate.Limiter
	invalid atomic.Bool // the API said keyInvalid & co: never use again
}

// keyTransport adds the API key to each request, as the library's own
// transport.APIKey does (the library drops WithAPIKey when WithHTTPClient is
// given), and tees the response body into a capture found in the request
// context, so that the raw JSON can be inspected (presence of counts).
type keyTransport struct {
	key  string
	base http.RoundTripper
}

func (t *keyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	q := r.URL.Query()
	q.Set("key", t.key)
	r.URL.RawQuery = q.Encode()
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	if c, ok := req.Context().Value(captureKey{}).(*capture); ok {
		resp.Body = &teeBody{rc: resp.Body, w: &c.buf}
	}
	return resp, nil
}

type captureKey struct{}

// capture receives a copy of the response body of one call.
type capture struct{ buf bytes.Buffer }

// capturePool recycles capture buffers: a videos.list body is ~100 KB, and
// allocating one per call was a large share of the collector's CPU (GC).
var capturePool = sync.Pool{New: func() any { return &capture{} }}

func withCapture(ctx context.Context) (context.Context, *capture) {
	c := capturePool.Get().(*capture)
	c.buf.Reset()
	return context.WithValue(ctx, captureKey{}, c), c
}

// release returns the buffer for reuse; the capture must not be used after.
func (c *capture) release() {
	if c != nil && c.buf.Cap() <= 4<<20 {
		capturePool.Put(c)
	}
}

type teeBody struct {
	rc io.ReadCloser
	w  *bytes.Buffer
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.w.Write(p[:n])
	return n, err
}
func (t *teeBody) Close() error { return t.rc.Close() }

// scrubber removes API keys from any text before it reaches a log line, an
// error or a metric label.
type scrubber struct {
	secrets []string
	repl    *strings.Replacer
}

var keyParamRe = regexp.MustCompile(`(?i)(key=)[^&\s"'<>]+`)

func newScrubber(secrets []string) *scrubber {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, "REDACTED")
		}
	}
	return &scrubber{secrets: secrets, repl: strings.NewReplacer(pairs...)}
}

func (s *scrubber) String(msg string) string {
	return keyParamRe.ReplaceAllString(s.repl.Replace(msg), "${1}REDACTED")
}

// Sentinel errors for conditions that stop a crawl.
var (
	// ErrQuotaExhausted: every key is parked or out of local quota.
	ErrQuotaExhausted = errors.New("all API keys are out of quota")
	// ErrNoUsableKey: every key was rejected by the API (keyInvalid...).
	ErrNoUsableKey = errors.New("no usable API key")
	// ErrBudgetExhausted: the quota plan's bucket for this work is spent
	// for today (other buckets may still have units).
	ErrBudgetExhausted = errors.New("quota plan bucket exhausted")
)

// APIError is one classified failure of an API call. It carries no key and
// no unscrubbed text; it does not unwrap to the library's error (whose
// fields could hold the request URL), only to context errors.
type APIError struct {
	Op     string // e.g. "videos.list"
	Key    string // quota.KeyID of the key used, "" if none
	Code   int    // HTTP status, 0 if no response
	Reason string // API reason (quotaExceeded, keyInvalid...) or timeout, truncated, network, http_503...
	Msg    string // scrubbed
	class  errClass
	ctxErr error
	after  time.Duration // server's Retry-After, if any
}

func (e *APIError) Error() string {
	s := e.Op
	if e.Key != "" {
		s += " [" + e.Key + "]"
	}
	return s + ": " + e.Reason + ": " + e.Msg
}

// Unwrap exposes context.Canceled / DeadlineExceeded, nothing else.
func (e *APIError) Unwrap() error { return e.ctxErr }

// Retryable reports whether the call may succeed if sent again.
func (e *APIError) Retryable() bool { return e.class == classRetry }

// keyIDs returns the fingerprints of keys (for logs).
func keyIDs(keys []*apiKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return ids
}
