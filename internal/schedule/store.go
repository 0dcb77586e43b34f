package schedule

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Kind is what a scheduled item is.
type Kind byte

const (
	Video   Kind = 'v'
	Channel Kind = 'c'
)

var (
	bItems  = []byte("items")  // kind+id -> item (binary itemV1; JSON in files written before it)
	bDue    = []byte("due")    // tier(1) + due unix ms (8, big endian) + kind+id -> nil
	bLeased = []byte("leased") // kind+id -> nil: leases of files written before leases were kept in memory (Open releases them)
	bMeta   = []byte("meta")
)

// channelTierByte is the due-index prefix of channels; video tier i is i+1.
const channelTierByte = 0

// item is the compact persisted state of one entity: what is needed to
// schedule it and to detect changes (hashes, not texts, except the title and
// thumbnail URL which events carry).
type item struct {
	Ch     string  `json:"ch,omitempty"` // channel of a video
	Pub    int64   `json:"p,omitempty"`  // published, unix seconds
	Due    int64   `json:"d"`            // next due, unix ms
	Tier   uint8   `json:"t"`            // due-index prefix
	At     int64   `json:"a,omitempty"`  // last fetched, unix ms (0 = never)
	Views  int64   `json:"n,omitempty"`
	Vel    float64 `json:"v,omitempty"` // views per hour between the last two fetches
	Title  string  `json:"ti,omitempty"`
	Desc   uint64  `json:"de,omitempty"`
	Tags   uint64  `json:"tg,omitempty"`
	Thumb  string  `json:"th,omitempty"`
	Gone   bool    `json:"g,omitempty"`
	Leased bool    `json:"l,omitempty"`
	Iv     int64   `json:"iv,omitempty"` // current refresh interval, ms
	Walked bool    `json:"w,omitempty"`  // channel: uploads playlist walked once
}

// Store is the persisted schedule (bbolt). It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	cfg Config

	// Leases live in memory: Open would release persisted ones anyway (a
	// lease not completed before a crash is fetched again), and bbolt's file
	// lock keeps the store to one process, so writing them would only cost
	// two more writes per item and an fsync per lease. A leased item keeps
	// its due index entry; Lease skips it and the commit moves it.
	mu     sync.Mutex       // serialises Lease; guards leased
	leased map[string]uint8 // kind+id -> due-index tier byte
}

// Open opens (or creates) the schedule at path. Items leased by a previous
// process that never completed them (a crash or kill between sending and
// publishing) are put back in the due queue with their original due time:
// they were not confirmed as published, so they are fetched once more;
// completed items are never fetched again before their next due time.
func Open(path string, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("schedule: open %s: %w (is another collector using this data dir?)", path, err)
	}
	s := &Store{db: db, cfg: cfg, leased: map[string]uint8{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bItems, bDue, bLeased, bMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if prev := meta.Get([]byte("shard")); prev != nil && string(prev) != cfg.Shard.String() {
			return fmt.Errorf("schedule: %s was built for shard %s, not %s: use one data dir per shard", path, prev, cfg.Shard)
		}
		if err := meta.Put([]byte("shard"), []byte(cfg.Shard.String())); err != nil {
			return err
		}
		if err := meta.Put([]byte("encoding"), []byte("item-v1")); err != nil {
			return err
		}
		return releasePersisted(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return s, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Config returns the configuration in use (defaults applied).
func (s *Store) Config() Config { return s.cfg }

// chunkSize bounds the writes of one bbolt transaction: bbolt splits
// nodes only at commit, so one huge random-order transaction is quadratic.
const chunkSize = 4000

// chunked runs fn over [0, n) in transactions of at most chunkSize items.
func chunked(db *bolt.DB, n int, fn func(tx *bolt.Tx, lo, hi int) error) error {
	for lo := 0; lo < n; lo += chunkSize {
		hi := min(n, lo+chunkSize)
		if err := db.Update(func(tx *bolt.Tx) error { return fn(tx, lo, hi) }); err != nil {
			return err
		}
	}
	return nil
}

func ikey(k Kind, id string) []byte { return append([]byte{byte(k)}, id...) }

func dkey(tier uint8, due int64, key []byte) []byte {
	b := make([]byte, 9, 9+len(key))
	b[0] = tier
	binary.BigEndian.PutUint64(b[1:], uint64(due))
	return append(b, key...)
}

func getItem(tx *bolt.Tx, key []byte) (*item, error) {
	v := tx.Bucket(bItems).Get(key)
	if v == nil {
		return nil, nil
	}
	it := &item{}
	if err := decodeItem(v, it, false); err != nil {
		return nil, fmt.Errorf("schedule: corrupt item %q: %w", key, err)
	}
	return it, nil
}

// delKey deletes key through the reusable cursor c (Bucket.Delete would
// allocate a cursor for every call).
func delKey(c *bolt.Cursor, key []byte) error {
	if k, _ := c.Seek(key); k != nil && bytes.Equal(k, key) {
		return c.Delete()
	}
	return nil
}

// getHead is getItem without the strings (ch, title, thumb).
func getHead(tx *bolt.Tx, key []byte, it *item) (bool, error) {
	v := tx.Bucket(bItems).Get(key)
	if v == nil {
		return false, nil
	}
	if err := decodeItem(v, it, true); err != nil {
		return false, fmt.Errorf("schedule: corrupt item %q: %w", key, err)
	}
	return true, nil
}

func putItem(tx *bolt.Tx, key []byte, it *item) error {
	if err := tx.Bucket(bItems).Put(key, encodeItem(it)); err != nil {
		return err
	}
	if !it.Gone {
		return tx.Bucket(bDue).Put(dkey(it.Tier, it.Due, key), nil)
	}
	return nil
}

// releasePersisted repairs a file written when leases were persisted (item
// flag + "leased" bucket, no due entry): its leased items are due again at
// their original time, as a restart always did.
func releasePersisted(tx *bolt.Tx) error {
	lb := tx.Bucket(bLeased)
	var keys [][]byte
	if err := lb.ForEach(func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		it, err := getItem(tx, k)
		if err != nil {
			return err
		}
		if it != nil && it.Leased {
			it.Leased = false
			if err := putItem(tx, k, it); err != nil {
				return err
			}
		}
		if err := lb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// NewVideo is a video found by discovery (feed, playlist, seed).
type NewVideo struct {
	ID        string
	ChannelID string
	Published time.Time
}

// AddChannels schedules channels not yet known (due now). Channels of other
// shards are skipped. It returns how many were added.
func (s *Store) AddChannels(ids []string, now time.Time) (int, error) {
	added := 0
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	err := chunked(s.db, len(ids), func(tx *bolt.Tx, lo, hi int) error {
		for _, id := range ids[lo:hi] {
			if id == "" || !s.cfg.Shard.Owns(id) {
				continue
			}
			k := ikey(Channel, id)
			if tx.Bucket(bItems).Get(k) != nil {
				continue
			}
			if err := putItem(tx, k, &item{Due: now.UnixMilli(), Tier: channelTierByte}); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil {
		return added, fmt.Errorf("schedule: add channels: %w", err)
	}
	return added, nil
}

// AddVideos schedules videos not yet known (due now), and their channels.
// Videos of channels owned by other shards are skipped.
func (s *Store) AddVideos(vs []NewVideo, now time.Time) (int, error) {
	added := 0
	vs = append([]NewVideo(nil), vs...)
	sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	err := chunked(s.db, len(vs), func(tx *bolt.Tx, lo, hi int) error {
		for _, v := range vs[lo:hi] {
			if v.ID == "" || !s.owns(v.ChannelID, v.ID) {
				continue
			}
			k := ikey(Video, v.ID)
			if tx.Bucket(bItems).Get(k) != nil {
				continue
			}
			it := &item{Ch: v.ChannelID, Due: now.UnixMilli()}
			if !v.Published.IsZero() {
				it.Pub = v.Published.Unix()
			}
			tier, _ := s.cfg.tierOf(v.Published, 0, now)
			if v.Published.IsZero() {
				tier = 0
			}
			it.Tier = uint8(tier + 1)
			if err := putItem(tx, k, it); err != nil {
				return err
			}
			added++
			if v.ChannelID != "" {
				ck := ikey(Channel, v.ChannelID)
				if tx.Bucket(bItems).Get(ck) == nil {
					if err := putItem(tx, ck, &item{Due: now.UnixMilli(), Tier: channelTierByte}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return added, fmt.Errorf("schedule: add videos: %w", err)
	}
	return added, nil
}

// owns: videos follow their channel; a video whose channel is unknown is
// placed by its own id.
func (s *Store) owns(channelID, videoID string) bool {
	if channelID != "" {
		return s.cfg.Shard.Owns(channelID)
	}
	return s.cfg.Shard.Owns(videoID)
}

// Has reports whether the entity is scheduled (or known as gone).
func (s *Store) Has(k Kind, id string) bool {
	found := false
	s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bItems).Get(ikey(k, id)) != nil
		return nil
	})
	return found
}

// Lease is one item handed out for fetching.
type Lease struct {
	ID        string
	ChannelID string
	Tier      string // tier name, or NewTier for an item never fetched
	Due       time.Time
}

// NewTier is the Lease.Tier of items never fetched: their first fetch is
// discovery work (and paid from the discovery budget).
const NewTier = "discovery"

// Lease marks up to n items of kind k that are due at now (or within the
// tier's slack) as leased and returns them, highest expected change first:
// never-fetched items, then by views/hour x hours since the last fetch.
// Leased items are not handed out again until their commit, Release,
// Postpone or a restart (Open). Leases are kept in memory (see Store), so a
// lease reads the store and writes nothing.
//
// Items of the tiers named in exclude (NewTier for never-fetched items) are
// left alone, e.g. because their quota bucket is spent.
func (s *Store) Lease(k Kind, now time.Time, n int, exclude ...string) ([]Lease, error) {
	if n <= 0 {
		return nil, nil
	}
	skip := map[string]bool{}
	for _, t := range exclude {
		skip[t] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type cand struct {
		key  []byte
		ch   string
		it   item // head only (no strings)
		prio float64
		tier string
	}
	cands := make([]cand, 0, min(2*n, 1<<16))
	var out []Lease
	nowMs := now.UnixMilli()
	err := s.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(bItems)
		scan := func(tier uint8, name string, slack time.Duration) error {
			if skip[name] && skip[NewTier] {
				return nil
			}
			c := tx.Bucket(bDue).Cursor()
			limit := now.Add(slack).UnixMilli()
			got := 0
			var it item
			ic := items.Cursor() // one cursor for all the lookups (Get allocates one each)
			for dk, _ := c.Seek([]byte{tier}); dk != nil && dk[0] == tier && got < 2*n; dk, _ = c.Next() {
				due := int64(binary.BigEndian.Uint64(dk[1:9]))
				if due > limit {
					break
				}
				if _, busy := s.leased[string(dk[9:])]; busy {
					continue
				}
				ik, v := ic.Seek(dk[9:])
				if v == nil || !bytes.Equal(ik, dk[9:]) {
					continue
				}
				if err := decodeItem(v, &it, true); err != nil {
					return fmt.Errorf("corrupt item %q: %w", dk[9:], err)
				}
				if it.Gone || it.Due != due {
					continue // stale index entry, removed on the next write
				}
				if (it.At == 0 && skip[NewTier]) || (it.At != 0 && skip[name]) {
					continue
				}
				p := math.Inf(1)
				if it.At > 0 {
					p = max(it.Vel, 0.001) * float64(nowMs-it.At) / 3.6e6
				}
				ch, err := decodeCh(v)
				if err != nil {
					return fmt.Errorf("corrupt item %q: %w", dk[9:], err)
				}
				cands = append(cands, cand{key: append([]byte(nil), dk[9:]...), ch: ch, it: it, prio: p, tier: name})
				got++
			}
			return nil
		}
		if k == Channel {
			return scan(channelTierByte, ChannelTier, time.Duration(s.cfg.Slack*float64(s.cfg.ChannelInterval)))
		}
		for i, t := range s.cfg.Tiers {
			if err := scan(uint8(i+1), t.Name, time.Duration(s.cfg.Slack*float64(t.Interval))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: lease: %w", err)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].prio > cands[j].prio })
	if len(cands) > n {
		cands = cands[:n]
	}
	out = make([]Lease, 0, len(cands))
	for i := range cands {
		c := &cands[i]
		tier := c.tier
		if c.it.At == 0 {
			tier = NewTier
		}
		s.leased[string(c.key)] = c.it.Tier
		out = append(out, Lease{ID: string(c.key[1:]), ChannelID: c.ch, Tier: tier, Due: time.UnixMilli(c.it.Due)})
	}
	return out, nil
}

// unlease forgets the leases of keys (after their new state is stored).
func (s *Store) unlease(keys iter.Seq[string]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range keys {
		delete(s.leased, k)
	}
}

// Release puts leased items that were not fetched back in the due queue,
// unchanged.
func (s *Store) Release(k Kind, ids []string) error {
	if err := s.releaseIDs(k, ids, 0); err != nil {
		return fmt.Errorf("schedule: release: %w", err)
	}
	return nil
}

// Postpone puts leased items that failed back in the due queue at until
// (e.g. after a permanent error, so one bad batch is not retried in a loop).
func (s *Store) Postpone(k Kind, ids []string, until time.Time) error {
	if err := s.releaseIDs(k, ids, until.UnixMilli()); err != nil {
		return fmt.Errorf("schedule: postpone: %w", err)
	}
	return nil
}

// releaseIDs ends the leases of ids; with notBefore > 0 (unix ms) their due
// times move to no earlier than notBefore first, in key order, in chunked
// transactions. Ids not leased are left alone.
func (s *Store) releaseIDs(k Kind, ids []string, notBefore int64) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, 0, len(ids)) // kind+id of the leased ones
	s.mu.Lock()
	for _, id := range ids {
		if key := string(ikey(k, id)); hasKey(s.leased, key) {
			keys = append(keys, key)
		}
	}
	s.mu.Unlock()
	if notBefore > 0 {
		slices.Sort(keys)
		err := chunked(s.db, len(keys), func(tx *bolt.Tx, lo, hi int) error {
			dc := tx.Bucket(bDue).Cursor()
			for _, ks := range keys[lo:hi] {
				key := []byte(ks)
				it, err := getItem(tx, key)
				if err != nil {
					return err
				}
				if it == nil || it.Gone || it.Due >= notBefore {
					continue
				}
				if err := delKey(dc, dkey(it.Tier, it.Due, key)); err != nil {
					return err
				}
				it.Due = notBefore
				if err := putItem(tx, key, it); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	s.unlease(slices.Values(keys))
	return nil
}

func hasKey[K []byte | string](m map[string]uint8, key K) bool {
	_, ok := m[string(key)]
	return ok
}

// Leased returns how many items are currently leased.
func (s *Store) Leased() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.leased)
}

// Due returns the next due time of an item (zero if unknown or gone).
func (s *Store) Due(k Kind, id string) (time.Time, string) {
	var t time.Time
	var tier string
	s.db.View(func(tx *bolt.Tx) error {
		it, _ := getItem(tx, ikey(k, id))
		if it != nil && !it.Gone {
			t = time.UnixMilli(it.Due)
			tier = s.tierName(it.Tier)
		}
		return nil
	})
	return t, tier
}

func (s *Store) tierName(b uint8) string {
	if b == channelTierByte {
		return ChannelTier
	}
	if int(b)-1 < len(s.cfg.Tiers) {
		return s.cfg.Tiers[b-1].Name
	}
	return "?"
}

// TierStat is the state of one tier at an instant.
type TierStat struct {
	Tier     string
	Interval time.Duration // configured (the shortest, for a stretched tier)
	Items    int           // scheduled (leased included)
	Leased   int
	Overdue  int           // due before now - tolerance and not leased
	Lag      time.Duration // now - oldest due among not leased items (0 if none overdue)
}

// Stats scans the due index (keys only) and returns one row per tier,
// channels first. tolerance is how late an item may be and still count as
// fresh (e.g. the collector's cycle length).
func (s *Store) Stats(now time.Time, tolerance time.Duration) ([]TierStat, error) {
	rows := make([]TierStat, len(s.cfg.Tiers)+1)
	rows[0] = TierStat{Tier: ChannelTier, Interval: s.cfg.ChannelInterval}
	for i, t := range s.cfg.Tiers {
		rows[i+1] = TierStat{Tier: t.Name, Interval: t.Interval}
	}
	cut := now.Add(-tolerance).UnixMilli()
	nowMs := now.UnixMilli()
	s.mu.Lock()
	leased := maps.Clone(s.leased)
	s.mu.Unlock()
	for _, t := range leased {
		if int(t) < len(rows) {
			rows[t].Leased++
		}
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bDue).Cursor()
		for dk, _ := c.First(); dk != nil; dk, _ = c.Next() {
			t := int(dk[0])
			if t >= len(rows) {
				continue
			}
			due := int64(binary.BigEndian.Uint64(dk[1:9]))
			r := &rows[t]
			r.Items++ // a leased item keeps its due entry until its commit
			if hasKey(leased, dk[9:]) {
				continue
			}
			if due < cut {
				r.Overdue++
			}
			if due < nowMs && r.Lag == 0 {
				r.Lag = time.Duration(nowMs-due) * time.Millisecond
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: stats: %w", err)
	}
	return rows, nil
}

// Demand estimates the list calls per day each tier needs at its
// configured interval: items x 24h / interval / 50 ids a call, plus one
// partly filled call per cycle (a collector cycling every tick sends the
// items due in that tick even when they are fewer than 50).
func Demand(stats []TierStat, tick time.Duration) map[string]int64 {
	out := make(map[string]int64, len(stats))
	for _, r := range stats {
		if r.Interval <= 0 || r.Items == 0 {
			continue
		}
		perDay := float64(r.Items) * float64(24*time.Hour) / float64(r.Interval)
		calls := int64(math.Ceil(perDay / 50))
		if tick > 0 {
			calls += min(int64(math.Ceil(float64(24*time.Hour)/float64(max(tick, r.Interval/10)))), int64(math.Ceil(perDay)))
		}
		out[r.Tier] = calls
	}
	return out
}

var errStop = errors.New("stop")

// ChannelIDs returns the scheduled channels (not gone), up to limit (0 = all).
func (s *Store) ChannelIDs(limit int) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bItems).Cursor()
		for k, v := c.Seek([]byte{byte(Channel)}); k != nil && k[0] == byte(Channel); k, v = c.Next() {
			var it item
			if err := decodeItem(v, &it, true); err != nil {
				return fmt.Errorf("corrupt item %q: %w", k, err)
			}
			if it.Gone {
				continue
			}
			out = append(out, string(k[1:]))
			if limit > 0 && len(out) >= limit {
				return errStop
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("schedule: channels: %w", err)
	}
	return out, nil
}

// LastViews returns the view count stored for a video at its last fetch.
func (s *Store) LastViews(id string) (int64, bool) {
	var n int64
	var ok bool
	s.db.View(func(tx *bolt.Tx) error {
		it, _ := getItem(tx, ikey(Video, id))
		if it != nil && it.At > 0 {
			n, ok = it.Views, true
		}
		return nil
	})
	return n, ok
}

// Unwalked returns up to n scheduled channels whose uploads were never
// walked (new seeds and channels found in collected data).
func (s *Store) Unwalked(n int) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bItems).Cursor()
		for k, v := c.Seek([]byte{byte(Channel)}); k != nil && k[0] == byte(Channel); k, v = c.Next() {
			var it item
			if err := decodeItem(v, &it, true); err != nil {
				return fmt.Errorf("corrupt item %q: %w", k, err)
			}
			if it.Walked || it.Gone {
				continue
			}
			out = append(out, string(k[1:]))
			if len(out) >= n {
				return errStop
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("schedule: unwalked: %w", err)
	}
	return out, nil
}

// MarkWalked records that the channels' uploads were walked.
func (s *Store) MarkWalked(ids []string, now time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, id := range ids {
			k := ikey(Channel, id)
			it, err := getItem(tx, k)
			if err != nil {
				return err
			}
			if it == nil {
				it = &item{Due: now.UnixMilli(), Tier: channelTierByte}
			}
			it.Walked = true
			if err := tx.Bucket(bItems).Put(k, encodeItem(it)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule: mark walked: %w", err)
	}
	return nil
}

// IsWalked reports whether the channel's uploads were walked.
func (s *Store) IsWalked(id string) bool {
	w := false
	s.db.View(func(tx *bolt.Tx) error {
		it, _ := getItem(tx, ikey(Channel, id))
		w = it != nil && it.Walked
		return nil
	})
	return w
}
