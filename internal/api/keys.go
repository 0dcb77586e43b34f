package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// KeysFile is the key store's file name inside a data directory.
const KeysFile = "apikeys.json"

// APIKey is one client key as stored: only a salted SHA-256 of the secret
// is kept (the secret is 256 random bits, so a slow hash adds nothing).
type APIKey struct {
	ID        string    `json:"id"` // public part of the key, safe to log
	Name      string    `json:"name"`
	Salt      string    `json:"salt"` // hex
	Hash      string    `json:"hash"` // hex sha256(salt || secret)
	Rate      float64   `json:"rate"` // requests per second (0 = unlimited)
	Burst     int       `json:"burst"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled,omitempty"`
}

type keysFile struct {
	Version int      `json:"version"`
	Keys    []APIKey `json:"keys"`
}

// KeyStore holds client API keys (hashed) in <data>/apikeys.json.
type KeyStore struct {
	path string
	mu   sync.RWMutex
	keys map[string]*APIKey
	// The file is re-read when it changes (checked at most every second),
	// so keys created or revoked by `tubelake apikey` apply to a running
	// server.
	checked time.Time
	mtime   time.Time
	size    int64
}

// OpenKeyStore loads the key store of a data directory; a missing file is
// an empty store.
func OpenKeyStore(dataDir string) (*KeyStore, error) {
	ks := &KeyStore{path: filepath.Join(dataDir, KeysFile), keys: map[string]*APIKey{}}
	if err := ks.loadLocked(); err != nil {
		return nil, err
	}
	return ks, nil
}

func (ks *KeyStore) loadLocked() error {
	st, err := os.Stat(ks.path)
	if errors.Is(err, fs.ErrNotExist) {
		clear(ks.keys)
		ks.mtime, ks.size = time.Time{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("apikeys: %w", err)
	}
	b, err := os.ReadFile(ks.path)
	if err != nil {
		return fmt.Errorf("apikeys: %w", err)
	}
	var f keysFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("apikeys: %s: %w", ks.path, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("apikeys: %s: unsupported version %d", ks.path, f.Version)
	}
	keys := map[string]*APIKey{}
	for i := range f.Keys {
		k := f.Keys[i]
		keys[k.ID] = &k
	}
	ks.keys, ks.mtime, ks.size = keys, st.ModTime(), st.Size()
	return nil
}

// refresh re-reads the file if it changed since the last check. A file
// that became unreadable keeps the keys last loaded.
func (ks *KeyStore) refresh() {
	ks.mu.RLock()
	due := time.Since(ks.checked) > time.Second
	ks.mu.RUnlock()
	if !due {
		return
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if time.Since(ks.checked) <= time.Second {
		return
	}
	ks.checked = time.Now()
	st, err := os.Stat(ks.path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(ks.keys) == 0:
		return
	case err == nil && st.ModTime().Equal(ks.mtime) && st.Size() == ks.size:
		return
	}
	_ = ks.loadLocked()
}

// Len is the number of enabled keys.
func (ks *KeyStore) Len() int {
	ks.refresh()
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	n := 0
	for _, k := range ks.keys {
		if !k.Disabled {
			n++
		}
	}
	return n
}

// List returns the stored keys (hashes only).
func (ks *KeyStore) List() []APIKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := make([]APIKey, 0, len(ks.keys))
	for _, k := range ks.keys {
		out = append(out, *k)
	}
	sortKeys(out)
	return out
}

func sortKeys(ks []APIKey) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].CreatedAt.Before(ks[j-1].CreatedAt); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

var keyNameRe = regexp.MustCompile(`^[\p{L}\p{N} ._@-]{1,64}$`)

// Create makes a key, stores its hash and returns the secret, which is
// shown once and never stored.
func (ks *KeyStore) Create(name string, perSecond float64, burst int) (secret string, k APIKey, err error) {
	if !keyNameRe.MatchString(name) {
		return "", k, fmt.Errorf("apikeys: name %q: want 1-64 letters, digits, spaces or ._@-", name)
	}
	if perSecond < 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) || burst < 0 {
		return "", k, errors.New("apikeys: rate and burst must be non-negative")
	}
	idb, salt, sec := make([]byte, 6), make([]byte, 16), make([]byte, 32)
	for _, b := range [][]byte{idb, salt, sec} {
		if _, err := rand.Read(b); err != nil {
			return "", k, fmt.Errorf("apikeys: %w", err)
		}
	}
	id := hex.EncodeToString(idb)
	secretPart := base64.RawURLEncoding.EncodeToString(sec)
	secret = "tlk_" + id + "_" + secretPart
	if burst == 0 && perSecond > 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	k = APIKey{ID: id, Name: name, Salt: hex.EncodeToString(salt), Hash: hashSecret(salt, secretPart), Rate: perSecond, Burst: burst, CreatedAt: time.Now().UTC()}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, o := range ks.keys {
		if o.Name == name && !o.Disabled {
			return "", APIKey{}, fmt.Errorf("apikeys: a key named %q exists (revoke it first)", name)
		}
	}
	ks.keys[id] = &k
	if err := ks.saveLocked(); err != nil {
		delete(ks.keys, id)
		return "", APIKey{}, err
	}
	return secret, k, nil
}

// Revoke disables the key with this id or name.
func (ks *KeyStore) Revoke(idOrName string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, k := range ks.keys {
		if (k.ID == idOrName || k.Name == idOrName) && !k.Disabled {
			k.Disabled = true
			return ks.saveLocked()
		}
	}
	return fmt.Errorf("apikeys: no enabled key %q", idOrName)
}

func hashSecret(salt []byte, secret string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return hex.EncodeToString(h.Sum(nil))
}

func (ks *KeyStore) saveLocked() error {
	f := keysFile{Version: 1}
	for _, k := range ks.keys {
		f.Keys = append(f.Keys, *k)
	}
	sortKeys(f.Keys)
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("apikeys: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(ks.path), 0o755); err != nil {
		return fmt.Errorf("apikeys: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(ks.path), ".apikeys-*.tmp")
	if err != nil {
		return fmt.Errorf("apikeys: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), ks.path)
	}
	if err != nil {
		return fmt.Errorf("apikeys: save %s: %w", ks.path, err)
	}
	if st, err := os.Stat(ks.path); err == nil {
		ks.mtime, ks.size = st.ModTime(), st.Size()
	}
	return nil
}

// Verify returns the key a presented secret belongs to.
func (ks *KeyStore) Verify(secret string) (APIKey, bool) {
	rest, ok := strings.CutPrefix(secret, "tlk_")
	if !ok {
		return APIKey{}, false
	}
	id, sec, ok := strings.Cut(rest, "_")
	if !ok {
		return APIKey{}, false
	}
	ks.refresh()
	ks.mu.RLock()
	k := ks.keys[id]
	ks.mu.RUnlock()
	if k == nil || k.Disabled {
		return APIKey{}, false
	}
	salt, err := hex.DecodeString(k.Salt)
	if err != nil {
		return APIKey{}, false
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(salt, sec)), []byte(k.Hash)) != 1 {
		return APIKey{}, false
	}
	return *k, true
}

// limiters holds one token bucket per key id or anonymous client IP.
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newLimiters() *limiters { return &limiters{m: map[string]*rate.Limiter{}} }

func (l *limiters) get(id string, perSecond float64, burst int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[id]
	if lim == nil {
		if len(l.m) > 100_000 { // bound memory under many anonymous IPs
			clear(l.m)
		}
		lim = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
		l.m[id] = lim
	}
	return lim
}

// presentedKey returns the key in Authorization: Bearer or X-API-Key.
func presentedKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		if k, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(k)
		}
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

// admit authenticates and rate-limits a request; on refusal it has written
// the error response.
func (s *server) admit(w http.ResponseWriter, r *http.Request) bool {
	secret := presentedKey(r)
	ks := s.cfg.Keys
	required := s.cfg.RequireKey || (ks != nil && ks.Len() > 0)
	var limID string
	var perSecond float64
	var burst int
	switch {
	case secret != "":
		if ks == nil {
			s.limited.WithLabelValues("unauthorized").Inc()
			writeError(w, http.StatusUnauthorized, "unauthorized", "this server has no API keys; send the request without one")
			return false
		}
		k, ok := ks.Verify(secret)
		if !ok {
			s.limited.WithLabelValues("unauthorized").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="tubelake"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "unknown or revoked API key")
			return false
		}
		limID, perSecond, burst = "key:"+k.ID, k.Rate, k.Burst
	case required:
		s.limited.WithLabelValues("unauthorized").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="tubelake"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key> (create one with `tubelake apikey create`)")
		return false
	default:
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		limID, perSecond, burst = "ip:"+host, s.cfg.AnonRate, s.cfg.AnonBurst
	}
	if perSecond <= 0 {
		return true
	}
	lim := s.limiters.get(limID, perSecond, burst)
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		s.limited.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		w.Header().Set("X-RateLimit-Limit", strconv.FormatFloat(perSecond, 'f', -1, 64))
		writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("rate limit of %g requests/s exceeded; retry after %s", perSecond, d.Round(time.Millisecond)))
		return false
	}
	return true
}
