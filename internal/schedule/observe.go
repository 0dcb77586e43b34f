package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tubelake/tubelake/internal/yt"
)

// Milestones are the view counts whose crossing emits an EventMilestone.
var Milestones = []int64{1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000}

// Batch is the outcome of refreshing some items: the observations and the
// ids the API no longer returns. Build it with Store.Prepare, publish
// Batch.Events together with the snapshots, then Commit: the schedule only
// moves on after the records are stored, so a crash in between re-fetches
// (never loses) the batch.
type Batch struct {
	s       *Store
	now     time.Time
	updates map[string]*item // kind+id -> new state
	// Events are the change events (title, description, tags, thumbnail,
	// milestones) against the previous observation. First observations emit
	// no change events.
	Events []yt.Event
	// NewChannels are channels referenced by the videos and not yet
	// scheduled (owned by this shard); Commit schedules them.
	NewChannels []string
}

// FNV-1a, 64 bits, computed in place (hash/fnv would copy the string).
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

func hash64(s string) uint64 {
	return fnvString(fnvOffset64, s) | 1 // never 0, which means "unknown"
}

// tagsHash is hash64(strings.Join(tags, "\x1f")) without the join.
func tagsHash(tags []string) uint64 {
	h := uint64(fnvOffset64)
	for i, t := range tags {
		if i > 0 {
			h = fnvString(h, "\x1f")
		}
		h = fnvString(h, t)
	}
	return h | 1
}

// Prepare computes the next state of the observed videos and channels and
// the change events. gone are video ids the API did not return (tombstoned):
// they leave the schedule. It does not write anything.
func (s *Store) Prepare(now time.Time, videos []*yt.Video, channels []*yt.Channel, goneVideos, goneChannels []string) (*Batch, error) {
	b := &Batch{s: s, now: now, updates: map[string]*item{}}
	nowMs := now.UnixMilli()
	newCh := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, v := range videos {
			key := ikey(Video, v.ID)
			prev, err := getItem(tx, key)
			if err != nil {
				return err
			}
			at := v.FetchedAt
			if at.IsZero() {
				at = now
			}
			it := &item{Ch: v.Snippet.ChannelID, At: at.UnixMilli(), Views: yt.Val(v.Statistics.ViewCount),
				Title: v.Snippet.Title, Desc: hash64(v.Snippet.Description), Tags: tagsHash(v.Snippet.Tags), Thumb: v.Snippet.Thumbnail.URL}
			if !v.Snippet.PublishedAt.IsZero() {
				it.Pub = v.Snippet.PublishedAt.Unix()
			}
			if prev != nil && prev.At > 0 {
				b.videoEvents(prev, it, v, at)
				if dt := float64(it.At-prev.At) / 3.6e6; dt > 0 {
					it.Vel = max(0, float64(it.Views-prev.Views)/dt)
				} else {
					it.Vel = prev.Vel
				}
			} else if it.Pub > 0 {
				// First sight: lifetime average velocity.
				if age := now.Sub(time.Unix(it.Pub, 0)).Hours(); age > 0 {
					it.Vel = float64(it.Views) / max(age, 1)
				}
			}
			tier, iv := s.cfg.tierOf(time.Unix(it.Pub, 0), it.Vel, now)
			it.Tier, it.Iv = uint8(tier+1), iv.Milliseconds()
			it.Due = it.At + iv.Milliseconds()
			b.updates[string(key)] = it
			if ch := it.Ch; ch != "" {
				if _, seen := newCh[ch]; !seen {
					isNew := s.cfg.Shard.Owns(ch) && tx.Bucket(bItems).Get(ikey(Channel, ch)) == nil
					newCh[ch] = isNew
					if isNew {
						b.NewChannels = append(b.NewChannels, ch)
					}
				}
			}
		}
		for _, c := range channels {
			key := ikey(Channel, c.ID)
			prev, err := getItem(tx, key)
			if err != nil {
				return err
			}
			at := c.FetchedAt
			if at.IsZero() {
				at = now
			}
			it := &item{At: at.UnixMilli(), Views: yt.Val(c.Statistics.ViewCount), Title: c.Snippet.Title,
				Desc: hash64(c.Snippet.Description), Thumb: c.Snippet.Thumbnail.URL, Tier: channelTierByte}
			if prev != nil && prev.At > 0 {
				b.change(prev.Title, it.Title, yt.EventTitleChanged, yt.KindChannel, c.ID, c.ID, at)
				if prev.Desc != 0 && prev.Desc != it.Desc {
					b.add(yt.EventDescriptionChanged, yt.KindChannel, c.ID, c.ID, "", c.Snippet.Description, at)
				}
				b.change(prev.Thumb, it.Thumb, yt.EventThumbnailChanged, yt.KindChannel, c.ID, c.ID, at)
				if dt := float64(it.At-prev.At) / 3.6e6; dt > 0 {
					it.Vel = max(0, float64(it.Views-prev.Views)/dt)
				}
			}
			it.Iv = s.cfg.ChannelInterval.Milliseconds()
			it.Due = it.At + it.Iv
			b.updates[string(key)] = it
		}
		for _, id := range goneVideos {
			b.updates[string(ikey(Video, id))] = &item{Gone: true, At: nowMs}
		}
		for _, id := range goneChannels {
			b.updates[string(ikey(Channel, id))] = &item{Gone: true, At: nowMs}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: prepare: %w", err)
	}
	return b, nil
}

func (b *Batch) add(t yt.EventType, k yt.Kind, id, channel, old, new string, at time.Time) {
	b.Events = append(b.Events, yt.Event{Type: t, EntityKind: k, EntityID: id, ChannelID: channel, Old: old, New: new, ObservedAt: at})
}

func (b *Batch) change(old, new string, t yt.EventType, k yt.Kind, id, channel string, at time.Time) {
	if old != "" && old != new {
		b.add(t, k, id, channel, old, new, at)
	}
}

func (b *Batch) videoEvents(prev, it *item, v *yt.Video, at time.Time) {
	ch := v.Snippet.ChannelID
	b.change(prev.Title, it.Title, yt.EventTitleChanged, yt.KindVideo, v.ID, ch, at)
	if prev.Desc != 0 && prev.Desc != it.Desc {
		b.add(yt.EventDescriptionChanged, yt.KindVideo, v.ID, ch, "", v.Snippet.Description, at)
	}
	if prev.Tags != 0 && prev.Tags != it.Tags {
		b.add(yt.EventTagsChanged, yt.KindVideo, v.ID, ch, "", strings.Join(v.Snippet.Tags, ","), at)
	}
	b.change(prev.Thumb, it.Thumb, yt.EventThumbnailChanged, yt.KindVideo, v.ID, ch, at)
	if v.Statistics.ViewCount != nil {
		for _, m := range Milestones {
			if prev.Views < m && it.Views >= m {
				b.add(yt.EventMilestone, yt.KindVideo, v.ID, ch, strconv.FormatInt(prev.Views, 10), strconv.FormatInt(m, 10), at)
			}
		}
	}
}

// Commit durably stores the new states and due times and clears the leases.
// Concurrent commits are grouped into one transaction (bbolt Batch).
func (b *Batch) Commit() error {
	if len(b.updates) == 0 && len(b.NewChannels) == 0 {
		return nil
	}
	if err := b.s.db.Batch(b.apply); err != nil {
		return fmt.Errorf("schedule: commit: %w", err)
	}
	b.s.unlease(maps.Keys(b.updates))
	return nil
}

// Commit durably stores several batches in one transaction (one fsync), in
// order: what a committer goroutine does with the batches that piled up
// while the previous commit was being written. Either all are stored or none.
func (s *Store) Commit(bs ...*Batch) error {
	n := 0
	for _, b := range bs {
		if b.s != s {
			return errors.New("schedule: commit: batch of another store")
		}
		n += len(b.updates) + len(b.NewChannels)
	}
	if n == 0 {
		return nil
	}
	// All updates in key order (bbolt is much faster with sorted writes);
	// a key updated by two batches keeps their order.
	ups := make([]update, 0, n)
	for _, b := range bs {
		for k, it := range b.updates {
			ups = append(ups, update{k, it})
		}
	}
	sort.SliceStable(ups, func(i, j int) bool { return ups[i].key < ups[j].key })
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := applyUpdates(tx, ups); err != nil {
			return err
		}
		for _, b := range bs {
			if err := b.addNewChannels(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule: commit %d batch(es): %w", len(bs), err)
	}
	// Only now that the new due times are stored may these items be leased
	// again (earlier, a lease could still see their old due entries).
	for _, b := range bs {
		s.unlease(maps.Keys(b.updates))
	}
	return nil
}

type update struct {
	key string
	it  *item
}

// Len is the number of entities the batch updates.
func (b *Batch) Len() int { return len(b.updates) }

func (b *Batch) apply(tx *bolt.Tx) error {
	ups := make([]update, 0, len(b.updates))
	for k, it := range b.updates {
		ups = append(ups, update{k, it})
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].key < ups[j].key }) // bbolt is much faster with sorted writes
	if err := applyUpdates(tx, ups); err != nil {
		return err
	}
	return b.addNewChannels(tx)
}

// applyUpdates stores new states over the previous ones (read without
// their strings unless needed), moving their due index entries.
func applyUpdates(tx *bolt.Tx, ups []update) error {
	var prev item
	items, due := tx.Bucket(bItems), tx.Bucket(bDue)
	// One cursor each, repositioned by every Seek (Get and Delete would
	// allocate a cursor per call).
	dc, c := due.Cursor(), items.Cursor()
	for _, u := range ups {
		it := u.it
		kb := []byte(u.key) // bbolt keeps put keys until the commit: one each
		k, v := c.Seek(kb)
		found := v != nil && bytes.Equal(k, kb)
		if found {
			if err := decodeItem(v, &prev, true); err != nil {
				return fmt.Errorf("schedule: corrupt item %q: %w", kb, err)
			}
		}
		if found && !prev.Gone {
			if err := delKey(dc, dkey(prev.Tier, prev.Due, kb)); err != nil {
				return err
			}
		}
		if found && it.Gone {
			full, err := getItem(tx, kb)
			if err != nil {
				return err
			}
			gone := *full
			gone.Gone = true
			it = &gone
		} else if found {
			it.Walked = prev.Walked
			if it.Ch == "" {
				ch, err := decodeCh(tx.Bucket(bItems).Get(kb))
				if err != nil {
					return fmt.Errorf("schedule: corrupt item %q: %w", kb, err)
				}
				it.Ch = ch
			}
		}
		if err := items.Put(kb, encodeItem(it)); err != nil {
			return err
		}
		if !it.Gone {
			if err := due.Put(dkey(it.Tier, it.Due, kb), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *Batch) addNewChannels(tx *bolt.Tx) error {
	for _, ch := range b.NewChannels {
		ck := ikey(Channel, ch)
		if tx.Bucket(bItems).Get(ck) == nil {
			if err := putItem(tx, ck, &item{Due: b.now.UnixMilli(), Tier: channelTierByte}); err != nil {
				return err
			}
		}
	}
	return nil
}
