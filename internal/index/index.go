package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tubelake/tubelake/internal/yt"
)

// Field names a searchable text field of a video.
type Field string

// Searchable fields.
const (
	FieldTitle       Field = "title"
	FieldTags        Field = "tags"
	FieldChannel     Field = "channel" // the channel title
	FieldDescription Field = "description"
)

// Sort names a result order.
type Sort string

// Result orders. Ties are broken by video id ascending.
const (
	SortViews     Sort = "views"     // current view count, descending
	SortRecent    Sort = "recent"    // published_at, descending
	SortRelevance Sort = "relevance" // field weight x match position x popularity prior
)

const (
	fTitle = iota
	fTags
	fChannel
	fDesc
	nFields
)

var fieldNames = [nFields]Field{FieldTitle, FieldTags, FieldChannel, FieldDescription}

// fieldWeight is the relevance weight of a match in each field.
var fieldWeight = [nFields]float64{1.0, 0.7, 0.6, 0.3}

// Defaults and limits of a Query.
const (
	DefaultLimit = 20
	MaxLimit     = 1000
	// TotalCap is how far totals are counted exactly unless Query.ExactTotal.
	TotalCap = 10000
	// applyChunk is how many records Apply applies per write-lock hold, so
	// searches never wait behind a big batch.
	applyChunk = 256
)

// ErrBadQuery is wrapped by Search for invalid input (empty q, bad cursor,
// bad field or sort, bad limit). The API maps it to 400.
var ErrBadQuery = errors.New("bad query")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("index closed")

// Options configures an Index.
type Options struct {
	Logger *slog.Logger
}

// Query is one search request.
type Query struct {
	Q      string  // terms ANDed; "quoted phrase" is one substring
	In     []Field // fields a term may match in (any of them); empty = title
	Sort   Sort    // empty = relevance
	Limit  int     // default 20, max 1000
	Cursor string  // NextCursor of the previous page (search_after)

	ChannelID, CategoryID, Language string    // exact filters (Language "en" also matches "en-US")
	PublishedAfter, PublishedBefore time.Time // [after, before)
	MinViews                        int64

	ExactTotal bool // count every match instead of stopping at TotalCap
	Initials   bool // Korean initial-consonant search: ㅊㄷㅇㅇ finds 초등영어
	Layout     bool // keyboard-layout correction: chemdduddj finds 초등영어, ㅡㅑㅜㄷ finds mine
}

// Hit is one search result: the latest state of a video.
type Hit struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	ChannelID    string    `json:"channel_id"`
	ChannelTitle string    `json:"channel_title"`
	PublishedAt  time.Time `json:"published_at"`
	ViewCount    int64     `json:"view_count"`
	LikeCount    int64     `json:"like_count"`
	CommentCount int64     `json:"comment_count"`
	CategoryID   string    `json:"category_id,omitempty"`
	Language     string    `json:"language,omitempty"`
	Tags         []string  `json:"tags,omitempty"`
	ThumbnailURL string    `json:"thumbnail_url,omitempty"`
	Duration     string    `json:"duration,omitempty"`
	Score        float64   `json:"score,omitempty"`
}

// VideoDoc is the full latest state of a video kept by the index.
type VideoDoc struct {
	Hit
	Description string    `json:"description,omitempty"`
	FetchedAt   time.Time `json:"fetched_at"`
}

// Result is one page of search results.
type Result struct {
	Total         int    `json:"total"`
	TotalRelation string `json:"total_relation"` // "eq" | "gte"
	Items         []Hit  `json:"items"`
	NextCursor    string `json:"next_cursor,omitempty"`
	TookMicros    int64  `json:"took_us"`
}

// Stats describes the index.
type Stats struct {
	Docs         int    `json:"docs"`          // searchable videos
	Deleted      int    `json:"deleted"`       // tombstoned videos still holding a slot
	Channels     int    `json:"channels"`      // channels with a stored yt.Channel
	Grams        int    `json:"grams"`         // distinct (field, gram) posting lists
	TextBytes    int64  `json:"text_bytes"`    // raw text held (titles, descriptions, tags, channel titles)
	PostingBytes int64  `json:"posting_bytes"` // serialized size of all posting lists
	MemBytes     int64  `json:"mem_bytes"`     // rough estimate of the heap held
	Applied      uint64 `json:"applied"`       // records that changed state
	Stale        uint64 `json:"stale"`         // records ignored as older than the stored state
	Rejected     uint64 `json:"rejected"`      // invalid records skipped
	Rebuilds     uint64 `json:"rebuilds"`      // rank-order rebuilds
	Checkpoint   uint64 `json:"checkpoint"`
}

// doc is the latest state of one video. Counts and published_at live in
// the Index's columns, so a statistics refresh touches no text.
type doc struct {
	id, title, desc, chanID, chanTitle, catID, lang, thumb, dur string
	tags                                                        []string
	norm                                                        [nFields]string // normalized field texts
	fetched                                                     int64           // FetchedAt of the applied snapshot (unix µs)
	textAt                                                      int64           // observation time of the current texts
	chanAt                                                      int64           // observation time of chanTitle
	tomb                                                        int64           // latest tombstone observed (0 = none)
	alive                                                       bool
}

// Index is the in-memory search engine. It is safe for concurrent use.
type Index struct {
	log *slog.Logger
	dir string

	mu       sync.RWMutex
	closed   bool
	docs     []doc
	byID     map[string]uint32
	views    []int64 // columns indexed by doc id
	likes    []int64
	comments []int64
	pub      []int64 // published_at, unix µs
	live     int

	post       [nFields]map[uint64]*roaring.Bitmap
	byChannel  map[string]*roaring.Bitmap
	byCategory map[string]*roaring.Bitmap
	byLang     map[string]*roaring.Bitmap
	channels   map[string]*yt.Channel

	rankViews, rankPub *ranked
	rebuilding         bool
	pending            []uint32 // docs whose rank keys changed during a rebuild
	bg                 sync.WaitGroup

	scratchA, scratchB []uint64
	directMax          int // see directMax; tests lower it to force the rank walk

	checkpoint                         atomic.Uint64
	applied, stale, rejected, rebuilds atomic.Uint64
	flushMu                            sync.Mutex
}

// Open loads the snapshot in dir (if any) or starts empty. dir "" keeps the
// index in memory only (Flush then only records the checkpoint).
func Open(dir string, opts Options) (*Index, error) {
	ix := newIndex(dir, opts)
	if dir != "" {
		if err := ix.load(); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

func newIndex(dir string, opts Options) *Index {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ix := &Index{
		log:        log.With("component", "index"),
		dir:        dir,
		byID:       map[string]uint32{},
		byChannel:  map[string]*roaring.Bitmap{},
		byCategory: map[string]*roaring.Bitmap{},
		byLang:     map[string]*roaring.Bitmap{},
		channels:   map[string]*yt.Channel{},
		rankViews:  &ranked{},
		rankPub:    &ranked{},
		directMax:  directMax,
	}
	for f := range ix.post {
		ix.post[f] = map[uint64]*roaring.Bitmap{}
	}
	return ix
}

// Close waits for background work and releases the index. Searches and
// Apply after Close fail with ErrClosed.
func (ix *Index) Close() error {
	ix.mu.Lock()
	ix.closed = true
	ix.mu.Unlock()
	ix.bg.Wait()
	return nil
}

// Checkpoint returns the checkpoint of the last Flush or of the loaded snapshot.
func (ix *Index) Checkpoint() uint64 { return ix.checkpoint.Load() }

// Apply applies records idempotently: snapshots older than (or as old as)
// the stored state are ignored, so redelivery and out-of-order replay are
// harmless. Invalid records are skipped (counted in Stats.Rejected and logged
// at debug level) rather than failing the batch. Records are applied in chunks
// so concurrent searches are never blocked for long.
func (ix *Index) Apply(ctx context.Context, recs []yt.Record) error {
	for len(recs) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("index apply: %w", err)
		}
		n := min(applyChunk, len(recs))
		ix.mu.Lock()
		if ix.closed {
			ix.mu.Unlock()
			return ErrClosed
		}
		for i := range recs[:n] {
			ix.applyOne(&recs[i])
		}
		ix.maybeRebuildLocked()
		ix.mu.Unlock()
		recs = recs[n:]
	}
	return nil
}

func (ix *Index) applyOne(r *yt.Record) {
	if err := r.Validate(); err != nil {
		ix.rejected.Add(1)
		ix.log.Debug("skip invalid record", "err", err)
		return
	}
	var changed bool
	switch r.Kind {
	case yt.KindVideo:
		changed = ix.applyVideo(r.Video)
	case yt.KindChannel:
		changed = ix.applyChannel(r.Channel)
	case yt.KindEvent:
		changed = ix.applyEvent(r.Event)
	}
	if changed {
		ix.applied.Add(1)
	} else {
		ix.stale.Add(1)
	}
}

func videoLang(s *yt.VideoSnippet) string {
	if s.DefaultLanguage != "" {
		return s.DefaultLanguage
	}
	return s.DefaultAudioLanguage
}

func (ix *Index) newSlot(id string) uint32 {
	n := uint32(len(ix.docs))
	ix.docs = append(ix.docs, doc{id: id})
	ix.byID[id] = n
	ix.views = append(ix.views, 0)
	ix.likes = append(ix.likes, 0)
	ix.comments = append(ix.comments, 0)
	ix.pub = append(ix.pub, 0)
	return n
}

func (ix *Index) applyVideo(v *yt.Video) bool {
	f := v.FetchedAt.UnixMicro()
	n, ok := ix.byID[v.ID]
	if !ok {
		n = ix.newSlot(v.ID)
	}
	d := &ix.docs[n]
	if ok && (f <= d.fetched || f <= d.tomb) {
		return false
	}
	s := &v.Snippet
	d.fetched = f
	ix.views[n] = yt.Val(v.Statistics.ViewCount)
	ix.likes[n] = yt.Val(v.Statistics.LikeCount)
	ix.comments[n] = yt.Val(v.Statistics.CommentCount)
	ix.pub[n] = s.PublishedAt.UnixMicro()
	d.thumb = s.Thumbnail.URL
	d.dur = v.ContentDetails.Duration

	chanTitle, chanAt := s.ChannelTitle, f
	if ch := ix.channels[s.ChannelID]; ch != nil && ch.FetchedAt.UnixMicro() > f {
		chanTitle, chanAt = ch.Snippet.Title, ch.FetchedAt.UnixMicro()
	}
	if !d.alive {
		// New or revived: index everything.
		d.title, d.desc, d.tags = s.Title, s.Description, slices.Clone(s.Tags)
		d.chanID, d.chanTitle, d.chanAt = s.ChannelID, chanTitle, chanAt
		d.catID, d.lang = s.CategoryID, videoLang(s)
		d.textAt = f
		d.norm = [nFields]string{
			fTitle:   normalizeField(d.title),
			fTags:    normalizeTags(d.tags),
			fChannel: normalizeField(d.chanTitle),
			fDesc:    normalizeField(d.desc),
		}
		for fi := range nFields {
			ix.addText(fi, n, d.norm[fi])
		}
		ix.addFilters(n, d)
		d.alive = true
		ix.live++
	} else {
		if f > d.textAt {
			d.textAt = f
			if d.title != s.Title {
				d.title = s.Title
				ix.setText(fTitle, n, normalizeField(s.Title))
			}
			if d.desc != s.Description {
				d.desc = s.Description
				ix.setText(fDesc, n, normalizeField(s.Description))
			}
			if !slices.Equal(d.tags, s.Tags) {
				d.tags = slices.Clone(s.Tags)
				ix.setText(fTags, n, normalizeTags(s.Tags))
			}
		}
		if chanAt > d.chanAt {
			d.chanAt = chanAt
			if d.chanTitle != chanTitle {
				d.chanTitle = chanTitle
				ix.setText(fChannel, n, normalizeField(chanTitle))
			}
		}
		if d.chanID != s.ChannelID || d.catID != s.CategoryID || d.lang != videoLang(s) {
			ix.removeFilters(n, d)
			d.chanID, d.catID, d.lang = s.ChannelID, s.CategoryID, videoLang(s)
			ix.addFilters(n, d)
		}
	}
	ix.rankSet(n)
	return true
}

// rankSet records the current sort keys of doc n in the rank orders.
func (ix *Index) rankSet(n uint32) {
	ix.rankViews.set(n, ix.views[n])
	ix.rankPub.set(n, ix.pub[n])
	if ix.rebuilding {
		ix.pending = append(ix.pending, n)
	}
}

func (ix *Index) applyChannel(c *yt.Channel) bool {
	old := ix.channels[c.ID]
	if old != nil && !c.FetchedAt.After(old.FetchedAt) {
		return false
	}
	cc := *c
	ix.channels[c.ID] = &cc
	cf := c.FetchedAt.UnixMicro()
	if bm := ix.byChannel[c.ID]; bm != nil {
		var norm string
		normDone := false
		it := bm.Iterator()
		for it.HasNext() {
			n := it.Next()
			d := &ix.docs[n]
			if cf <= d.chanAt {
				continue
			}
			d.chanAt = cf
			if d.chanTitle == c.Snippet.Title {
				continue
			}
			if !normDone {
				norm, normDone = normalizeField(c.Snippet.Title), true
			}
			d.chanTitle = c.Snippet.Title
			ix.setText(fChannel, n, norm)
		}
	}
	return true
}

func (ix *Index) applyEvent(e *yt.Event) bool {
	o := e.ObservedAt.UnixMicro()
	if e.EntityKind == yt.KindChannel {
		if e.Type == yt.EventTombstone {
			if ch := ix.channels[e.EntityID]; ch != nil && o >= ch.FetchedAt.UnixMicro() {
				delete(ix.channels, e.EntityID)
				return true
			}
		}
		return false
	}
	if e.EntityKind != yt.KindVideo {
		return false
	}
	n, ok := ix.byID[e.EntityID]
	if e.Type == yt.EventTombstone {
		if !ok {
			if yt.ValidateVideoID(e.EntityID) != nil {
				return false
			}
			n = ix.newSlot(e.EntityID) // remember the tombstone against late replays
		}
		d := &ix.docs[n]
		if o <= d.tomb {
			return false
		}
		d.tomb = o
		if d.alive && o >= d.fetched {
			ix.removeDoc(n)
		}
		return true
	}
	if !ok {
		return false
	}
	d := &ix.docs[n]
	if !d.alive || o <= d.textAt {
		return false
	}
	switch e.Type {
	case yt.EventTitleChanged:
		d.textAt = o
		if d.title != e.New {
			d.title = e.New
			ix.setText(fTitle, n, normalizeField(e.New))
		}
	case yt.EventDescriptionChanged:
		d.textAt = o
		if d.desc != e.New {
			d.desc = e.New
			ix.setText(fDesc, n, normalizeField(e.New))
		}
	case yt.EventTagsChanged:
		d.textAt = o
		tags := parseEventTags(e.New)
		if !slices.Equal(d.tags, tags) {
			d.tags = tags
			ix.setText(fTags, n, normalizeTags(tags))
		}
	case yt.EventThumbnailChanged:
		d.textAt = o
		d.thumb = e.New
	default:
		return false
	}
	return true
}

// parseEventTags reads the New value of a tags_changed event: a JSON array
// of strings, or else a comma-separated list.
func parseEventTags(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "[") {
		if tags, err := decodeJSONStrings(s); err == nil {
			return tags
		}
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (ix *Index) removeDoc(n uint32) {
	d := &ix.docs[n]
	for fi := range nFields {
		ix.removeText(fi, n, d.norm[fi])
	}
	ix.removeFilters(n, d)
	d.alive = false
	ix.live--
}

// ---- postings ----

func (ix *Index) addText(fi int, n uint32, norm string) {
	if norm == "" {
		return
	}
	g := uniqGrams(appendGrams(ix.scratchA[:0], norm))
	ix.scratchA = g
	m := ix.post[fi]
	for _, k := range g {
		bm := m[k]
		if bm == nil {
			bm = roaring.New()
			m[k] = bm
		}
		bm.Add(n)
	}
}

func (ix *Index) removeText(fi int, n uint32, norm string) {
	if norm == "" {
		return
	}
	g := uniqGrams(appendGrams(ix.scratchA[:0], norm))
	ix.scratchA = g
	ix.removeGrams(fi, n, g)
}

func (ix *Index) removeGrams(fi int, n uint32, g []uint64) {
	m := ix.post[fi]
	for _, k := range g {
		if bm := m[k]; bm != nil {
			bm.Remove(n)
			if bm.IsEmpty() {
				delete(m, k)
			}
		}
	}
}

// setText replaces the text of field fi of doc n, touching only the grams
// that differ between the old and the new text.
func (ix *Index) setText(fi int, n uint32, norm string) {
	d := &ix.docs[n]
	old := d.norm[fi]
	d.norm[fi] = norm
	if old == norm {
		return
	}
	a := uniqGrams(appendGrams(ix.scratchA[:0], old))
	b := uniqGrams(appendGrams(ix.scratchB[:0], norm))
	ix.scratchA, ix.scratchB = a, b
	m := ix.post[fi]
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			if bm := m[a[i]]; bm != nil {
				bm.Remove(n)
				if bm.IsEmpty() {
					delete(m, a[i])
				}
			}
			i++
		case i == len(a) || b[j] < a[i]:
			bm := m[b[j]]
			if bm == nil {
				bm = roaring.New()
				m[b[j]] = bm
			}
			bm.Add(n)
			j++
		default:
			i++
			j++
		}
	}
}

// ---- filters ----

func langKeys(lang string) (full, primary string) {
	full = strings.ToLower(strings.ReplaceAll(lang, "_", "-"))
	primary, _, _ = strings.Cut(full, "-")
	return full, primary
}

func bmAdd(m map[string]*roaring.Bitmap, k string, n uint32) {
	if k == "" {
		return
	}
	bm := m[k]
	if bm == nil {
		bm = roaring.New()
		m[k] = bm
	}
	bm.Add(n)
}

func bmRemove(m map[string]*roaring.Bitmap, k string, n uint32) {
	if bm := m[k]; bm != nil {
		bm.Remove(n)
		if bm.IsEmpty() {
			delete(m, k)
		}
	}
}

func (ix *Index) addFilters(n uint32, d *doc) {
	bmAdd(ix.byChannel, d.chanID, n)
	bmAdd(ix.byCategory, d.catID, n)
	full, primary := langKeys(d.lang)
	bmAdd(ix.byLang, full, n)
	if primary != full {
		bmAdd(ix.byLang, primary, n)
	}
}

func (ix *Index) removeFilters(n uint32, d *doc) {
	bmRemove(ix.byChannel, d.chanID, n)
	bmRemove(ix.byCategory, d.catID, n)
	full, primary := langKeys(d.lang)
	bmRemove(ix.byLang, full, n)
	if primary != full {
		bmRemove(ix.byLang, primary, n)
	}
}

// ---- getters ----

func (ix *Index) hit(n uint32) Hit {
	d := &ix.docs[n]
	h := Hit{
		ID: d.id, Title: d.title, ChannelID: d.chanID, ChannelTitle: d.chanTitle,
		PublishedAt:  time.UnixMicro(ix.pub[n]).UTC(),
		ViewCount:    ix.views[n],
		LikeCount:    ix.likes[n],
		CommentCount: ix.comments[n],
		CategoryID:   d.catID, Language: d.lang, ThumbnailURL: d.thumb, Duration: d.dur,
	}
	if len(d.tags) > 0 {
		h.Tags = slices.Clone(d.tags)
	}
	return h
}

// Video returns the latest state of a searchable video.
func (ix *Index) Video(id string) (Hit, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok || !ix.docs[n].alive {
		return Hit{}, false
	}
	return ix.hit(n), true
}

// VideoDoc returns the full latest state of a searchable video, description included.
func (ix *Index) VideoDoc(id string) (VideoDoc, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok || !ix.docs[n].alive {
		return VideoDoc{}, false
	}
	d := &ix.docs[n]
	return VideoDoc{Hit: ix.hit(n), Description: d.desc, FetchedAt: time.UnixMicro(d.fetched).UTC()}, true
}

// Channel returns the latest stored snapshot of a channel.
func (ix *Index) Channel(id string) (yt.Channel, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.channels[id]
	if c == nil {
		return yt.Channel{}, false
	}
	return *c, true
}

// Stats describes the index. It walks every posting list, so it costs a few
// milliseconds per million grams: call it for monitoring, not per request.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := Stats{
		Docs: ix.live, Deleted: len(ix.docs) - ix.live, Channels: len(ix.channels),
		Applied: ix.applied.Load(), Stale: ix.stale.Load(), Rejected: ix.rejected.Load(),
		Rebuilds: ix.rebuilds.Load(), Checkpoint: ix.checkpoint.Load(),
	}
	var strBytes int64
	for i := range ix.docs {
		d := &ix.docs[i]
		t := int64(len(d.title) + len(d.desc) + len(d.chanTitle))
		for _, tg := range d.tags {
			t += int64(len(tg))
		}
		st.TextBytes += t
		strBytes += t + int64(len(d.id)+len(d.chanID)+len(d.catID)+len(d.lang)+len(d.thumb)+len(d.dur))
		for fi, s := range d.norm {
			if !sameString(s, [nFields]string{d.title, "", d.chanTitle, d.desc}[fi]) {
				strBytes += int64(len(s))
			}
		}
	}
	const bitmapOverhead = 64 + 48 // roaring.Bitmap header + map entry
	for fi := range ix.post {
		st.Grams += len(ix.post[fi])
		for _, bm := range ix.post[fi] {
			st.PostingBytes += int64(bm.GetSizeInBytes())
		}
		st.MemBytes += int64(len(ix.post[fi])) * bitmapOverhead
	}
	const docOverhead = int64(16*13 + 24 + 4*8 + 8 + 32*4 + 2*8) // struct, columns, map entry, rank entries
	st.MemBytes += st.PostingBytes + strBytes + int64(len(ix.docs))*docOverhead
	return st
}

// sameString reports whether a and b share their bytes (one is the other).
func sameString(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || strings.Compare(a, b) == 0 && unsafeData(a) == unsafeData(b))
}
