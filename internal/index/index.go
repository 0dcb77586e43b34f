package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cespare/xxhash/v2"

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
	SortRelevance Sort = "relevance" // log10(views) + field and match-position bonus (see doc.go)
)

const (
	fTitle = iota
	fTags
	fChannel
	fDesc
	nFields
)

var fieldNames = [nFields]Field{FieldTitle, FieldTags, FieldChannel, FieldDescription}

// fieldBonus is the relevance bonus of a match in each field, in units of
// log10(views): a title match outranks a description match unless the latter
// has 10^0.3 = 2x the views.
var fieldBonus = [nFields]float64{0.3, 0.2, 0.15, 0}

// Position bonuses (same units): up to posBonus for a match at the start of
// the field, decaying with the byte offset; wholeBonus when the term is the
// whole field.
const (
	posBonus   = 0.1
	wholeBonus = 0.05
)

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
	Docs         int    `json:"docs"`           // searchable videos
	Deleted      int    `json:"deleted"`        // tombstoned videos still holding a slot
	Channels     int    `json:"channels"`       // channels with a stored yt.Channel
	Grams        int    `json:"grams"`          // distinct (field, gram) posting lists
	TextBytes    int64  `json:"text_bytes"`     // raw text held (titles, descriptions, tags, channel titles)
	PostingBytes int64  `json:"posting_bytes"`  // serialized size of all posting lists
	MemBytes     int64  `json:"mem_bytes"`      // rough estimate of the heap held
	MappedBytes  int64  `json:"mapped_bytes"`   // posting bytes read in place from the snapshot's memory map (page cache, not heap)
	Deltas       int    `json:"deltas"`         // snapshot deltas written or loaded on top of the full snapshot (see Flush)
	SnapBytes    int64  `json:"snapshot_bytes"` // the full snapshot and its deltas on disk
	Applied      uint64 `json:"applied"`        // records that changed state
	Stale        uint64 `json:"stale"`          // records ignored as older than the stored state
	Rejected     uint64 `json:"rejected"`       // invalid records skipped
	Rebuilds     uint64 `json:"rebuilds"`       // rank-order rebuilds
	InPlace      uint64 `json:"in_place"`       // statistics refreshes applied under the read lock (see applyStats)
	Checkpoint   uint64 `json:"checkpoint"`
	// WriteHolds: the write-lock holds so far, each a pause for searches.
	WriteHolds LockHolds `json:"write_holds"`
	// TextMappedBytes: text records read from the spill file's memory map
	// (page cache, not heap; see textSpill).
	TextMappedBytes int64 `json:"text_mapped_bytes"`
}

// doc is the latest state of one video. Counts and published_at live in
// the Index's columns, so a statistics refresh touches no text.
type doc struct {
	text    uint64 // textArena reference of the text record (noText: none)
	fetched int64  // FetchedAt of the applied snapshot (unix µs)
	textAt  int64  // observation time of the current texts
	chanAt  int64  // observation time of chanTitle
	tomb    int64  // latest tombstone observed (0 = none)
	// interned strings (see strTable)
	chanID, chanTitle, catID, lang, dur uint32
	alive                               bool
}

// Index is the in-memory search engine. It is safe for concurrent use.
type Index struct {
	log *slog.Logger
	dir string

	mu       sync.RWMutex
	closed   bool
	docs     paged[doc]
	ids      [idShards]idTable    // video id -> doc
	idBytes  paged[[idWidth]byte] // the video id of each doc
	oddIDs   map[uint32]string    // ids of another length (not produced by valid records)
	arena    textArena
	strs     strTable
	recBuf   []byte
	patchBuf []byte
	views    paged[int64] // columns indexed by doc id (paged: see paged)
	likes    paged[int64]
	comments paged[int64]
	pub      paged[int64] // published_at, unix µs
	// thash is textHash of the stored texts, set when a doc is created from
	// a record or a statistics refresh found its texts equal to the stored
	// ones (0: unknown, compare the texts). Any change of a
	// doc's texts, channel title or thumbnail resets it (putRec,
	// setChanTitle).
	thash paged[uint64]
	live  int

	post  [nFields]map[uint64]*posting
	dirty []*posting // postings with a tail to flush (see flushTails)
	// Filter postings: the docs of a channel, category or language. Most
	// channels have a few docs spread over the whole id space, where a
	// roaring bitmap costs a container (~60 bytes) a doc; a posting keeps
	// them as a delta-varint list, and dense keys grow into bitmaps.
	byChannel  map[string]*posting
	byCategory map[string]*posting
	byLang     map[string]*posting
	channels   map[string]*yt.Channel
	viewBucket [65]*roaring.Bitmap       // bits.Len64(views) -> docs: a superset filter for MinViews
	pubBucket  map[int32]*roaring.Bitmap // month of published_at -> docs: for the date range

	rankViews, rankPub *ranked
	rebuilding         bool
	pending            []uint32   // docs whose rank keys changed during a rebuild
	pendMu             sync.Mutex // guards pending and movedFrom under the read lock (applyStats)
	// movedFrom: docs whose view-count bucket changed in place (applyStats),
	// with the bucket they are still filed in; flushMovesLocked re-files them
	// under the write lock, and columnFilter treats them as candidates
	// meanwhile.
	movedFrom  map[uint32]uint8
	movedSince time.Time  // when the oldest pending move was recorded
	applyMu    sync.Mutex // serializes Apply
	bg         sync.WaitGroup

	scratchA, scratchB []uint64

	// postAdded counts posting entries added since the last compaction,
	// postTotal the entries added before it (plus those loaded; removals
	// are not subtracted) and postCompacted postTotal at that compaction
	// (see maybeCompact).
	postAdded, postTotal, postCompacted uint64
	textGen                             uint64    // changes whenever a stored text changes (see chunkPrep)
	slab                                *listSlab // compact posting lists (see maybeCompact)
	compactMin                          uint64    // entries added before any compaction (16M, ~100k docs); tests lower it
	compactListMax                      int       // settled postings of at most this many docs may be lists; tests lower it
	directMax                           int       // see directMax; tests lower it to force the rank walk

	// gen changes whenever the postings or filters of an existing doc change
	// (text edit, removal, revival); new docs and statistics do not change it.
	// Cached totals stay valid while gen is unchanged (see totalCache).
	gen    uint64
	totals totalCache

	statsMu    sync.Mutex
	statsAt    time.Time
	statsBytes byteFigures // see measure

	checkpoint                         atomic.Uint64
	applied, stale, rejected, rebuilds atomic.Uint64
	inPlace                            atomic.Uint64
	flushMu                            sync.Mutex
	// encodeGate is held by a Flush while it encodes under the read lock;
	// writers pass it before queueing on mu (see lockWrite).
	encodeGate sync.Mutex
	// inverting is set while a chunk's new docs are stored but not yet in
	// all of their postings (between holds, see applyChunk): a count of matches
	// taken then must not be cached, as those docs will match later.
	inverting bool
	// lockedAt is when the write lock was last taken (written under it);
	// holds records every hold (see unlockWrite).
	lockedAt  time.Time
	holds     holdHist
	flushHook func() // tests: called by Flush under the read lock
	gapHook   func() // tests: called without the lock between a chunk's two holds (see applyChunk)
	// maps are the snapshot maps frozen postings read their blobs from
	// (see mapping): changed by load, Flush (holding flushMu and applyMu)
	// and Close.
	maps []*mapping
	// chg is what changed since the last Flush's cut (see changes): replaced
	// under the write lock, marked under it or (statistics) under the read
	// lock. snap is the committed snapshot chain (flushMu).
	chg        *changes
	snap       snapState
	mergeRatio float64 // see mergeRatio; tests raise it
	// snapDeltas and snapBytes mirror snap for Stats (which must not wait
	// for a Flush in progress).
	snapDeltas, snapBytes atomic.Int64
}

// Open loads the snapshot in dir (if any) or starts empty. dir "" keeps the
// index in memory only (Flush then only records the checkpoint).
func Open(dir string, opts Options) (*Index, error) {
	// Normalize's table of stable runes (~30 ms, once per process) is built
	// here rather than on the first text that needs it, which could be a
	// search request.
	stableBMP()
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
		log:            log,
		dir:            dir,
		byChannel:      map[string]*posting{},
		byCategory:     map[string]*posting{},
		byLang:         map[string]*posting{},
		channels:       map[string]*yt.Channel{},
		pubBucket:      map[int32]*roaring.Bitmap{},
		movedFrom:      map[uint32]uint8{},
		rankViews:      &ranked{},
		rankPub:        &ranked{},
		directMax:      directMax,
		compactMin:     1 << 24,
		compactListMax: listMax,
		slab:           &listSlab{},
		chg:            newChanges(0),
		mergeRatio:     mergeRatio,
	}
	ix.arena.sealMin = arenaChunk
	if dir != "" && canMmap {
		ix.arena.spill = &textSpill{dir: dir, log: log}
	}
	for f := range ix.post {
		ix.post[f] = map[uint64]*posting{}
	}
	return ix
}

// lockWrite takes the write lock. A Flush encodes under the read lock
// (tens of seconds at 10M docs), and sync.RWMutex admits no new reader while
// a writer is queued: a writer waiting on mu during a flush would stall
// every search until the flush ends. So writers first pass encodeGate,
// which a Flush holds while it encodes, and wait there instead.
func (ix *Index) lockWrite() {
	ix.encodeGate.Lock()
	ix.lockMu()
	ix.encodeGate.Unlock()
}

// lockMu takes mu for writing and starts timing the hold (see unlockWrite).
func (ix *Index) lockMu() {
	ix.mu.Lock()
	ix.lockedAt = time.Now()
}

// unlockWrite releases the write lock taken by lockWrite and records how
// long it was held (Stats.WriteHolds).
func (ix *Index) unlockWrite() {
	d := time.Since(ix.lockedAt)
	ix.mu.Unlock()
	ix.holds.record(d)
}

// Wait blocks until the background work started so far (rank-order
// rebuilds) has finished: for measurements that must not count a rebuild's
// second copy of the orders.
func (ix *Index) Wait() { ix.bg.Wait() }

// Close waits for background work and releases the index. Searches and
// Apply after Close fail with ErrClosed.
func (ix *Index) Close() error {
	ix.lockWrite()
	ix.closed = true
	ix.unlockWrite()
	ix.bg.Wait()
	// A Flush or an Apply (compacting without the lock) may still read
	// mapped postings: the maps go once they are done.
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	ix.applyMu.Lock()
	defer ix.applyMu.Unlock()
	var err error
	for _, m := range ix.maps {
		if cerr := m.close(); err == nil && cerr != nil {
			err = fmt.Errorf("index close: %w", cerr)
		}
	}
	ix.maps = nil
	ix.mu.Lock() // no search can be running (closed), but keep the race detector informed
	if cerr := ix.arena.close(); err == nil && cerr != nil {
		err = fmt.Errorf("index close: %w", cerr)
	}
	ix.mu.Unlock()
	return err
}

// Checkpoint returns the checkpoint of the last Flush or of the loaded snapshot.
func (ix *Index) Checkpoint() uint64 { return ix.checkpoint.Load() }

// Apply applies records idempotently: snapshots older than (or as old as)
// the stored state are ignored, so redelivery and out-of-order replay are
// harmless. Invalid records are skipped (counted in Stats.Rejected and logged
// at debug level) rather than failing the batch. Records are applied in chunks
// so concurrent searches are never blocked for long.
func (ix *Index) Apply(ctx context.Context, recs []yt.Record) error {
	ix.applyMu.Lock()
	defer ix.applyMu.Unlock()
	defer func() {
		if ix.movesDue() {
			ix.flushMoves()
		}
	}()
	if len(recs) <= 2*applyChunk {
		for len(recs) > 0 {
			n := min(applyChunk, len(recs))
			cp := ix.prepareChunk(recs[:n])
			err := ix.applyChunk(ctx, recs[:n], cp)
			cp.release()
			if err != nil {
				return err
			}
			recs = recs[n:]
		}
		ix.maybeCompact()
		return nil
	}
	// Big batch: a second goroutine prepares chunk i+1 (statistics refreshes
	// applied under the read lock, texts normalized and grams cut for the
	// rest) while chunk i is applied under the write lock.
	type batch struct {
		recs []yt.Record
		prep *chunkPrep
	}
	ch := make(chan batch, 2)
	stop := make(chan struct{})
	go func() {
		defer close(ch)
		for len(recs) > 0 {
			n := min(bulkChunk, len(recs))
			b := batch{recs: recs[:n], prep: ix.prepareChunk(recs[:n])}
			recs = recs[n:]
			select {
			case ch <- b:
			case <-stop:
				return
			}
		}
	}()
	var err error
	for b := range ch {
		if err == nil {
			err = ix.applyChunk(ctx, b.recs, b.prep)
			b.prep.release()
			if err != nil {
				close(stop)
			} else {
				ix.maybeCompact()
			}
		}
	}
	return err
}

func (ix *Index) applyChunk(ctx context.Context, recs []yt.Record, prep *chunkPrep) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index apply: %w", err)
	}
	if prep.left == 0 && !prep.closed {
		// Every record was a statistics refresh applied under the read lock
		// (or stale): the write lock is needed only to re-file bucket moves
		// (in short holds) and to start a rank rebuild.
		if ix.movesDue() {
			ix.flushMoves()
		}
		if !ix.rebuildDue() {
			return nil
		}
	}
	// The chunk keeps encodeGate for all its write-lock holds: it yields
	// the lock to searches between them (yieldWrite), and neither a
	// Flush's cut nor another writer may see it half applied.
	ix.encodeGate.Lock()
	defer ix.encodeGate.Unlock()
	ix.lockMu()
	defer ix.unlockWrite()
	if ix.closed {
		return ErrClosed
	}
	ix.flushMovesLocked(movesStep)
	var created []uint32
	var chanDirect []bool
	yieldEvery := applyChunk
	if prep.inv != nil {
		created, chanDirect = make([]uint32, len(recs)), make([]bool, len(recs))
		// From here until the inversion is done the chunk's new docs
		// are stored without (all of) their postings (see below).
		ix.inverting = true
		yieldEvery = invYieldEvery
	}
	yield := func() {
		ix.flushTails()
		ix.yieldWrite()
		if ix.gapHook != nil {
			ix.mu.Unlock()
			ix.gapHook()
			ix.mu.Lock()
		}
	}
	for i := range recs {
		if prep.done[i] {
			continue
		}
		if i > 0 && i%yieldEvery == 0 {
			yield() // let searches in
		}
		p, hint := prep.p[i], prep.doc[i]
		same := prep.same[i] && prep.gen == ix.textGen
		var df deferral
		if prep.inv != nil && prep.invIn[i] {
			df.on = true
		}
		ix.applyOne(&recs[i], p, same, hint, &df)
		if df.created {
			created[i], chanDirect[i] = df.doc+1, df.chanDirect
		}
	}
	if prep.inv != nil {
		// The chunk's records are applied (with pauses for searches
		// every invYieldEvery records), its new docs stored without
		// postings: let searches in before adding them, and between the
		// parts of the inversion (see applyInversion). Meanwhile a new doc
		// is found by the terms whose grams it was already added to and
		// not by the others (never a false match: candidates are verified
		// against the stored text); totals are not cached (see inverting).
		yield()
		ix.applyInversion(prep.inv, created, chanDirect, yield)
		ix.inverting = false
	}
	ix.flushTails()
	ix.maybeRebuildLocked()
	return nil
}

// invYieldEvery is how many records of an inverted chunk are applied per
// write-lock hold (4096 new docs took about 30 ms at 2M docs).
const invYieldEvery = 1024

// yieldWrite lets waiting searches in: it releases the write lock (recording
// the hold) and takes it again. Only Apply's chunks call it, holding
// encodeGate, so no other writer can take the lock in between; Close cannot
// either, so ix.closed need not be checked again.
func (ix *Index) yieldWrite() {
	ix.unlockWrite()
	ix.lockMu()
}

// deferral asks applyVideo to leave a new doc's postings to the chunk's
// inversion, and reports what it did.
type deferral struct {
	on         bool   // the record's grams are in the chunk's inversion
	created    bool   // a new doc was created, its postings (and filter postings) left to the inversion
	doc        uint32 // the new doc
	chanDirect bool   // its channel field was indexed directly
}

// movesThreshold is how many in-place bucket moves wait before a chunk
// takes the write lock to re-file them (also when the oldest is older than
// movesMaxAge). Taking the write lock after every Apply would make each
// batch of refreshes wait for the searches in flight.
const movesThreshold = 4096

func (ix *Index) movesDue() bool {
	ix.pendMu.Lock()
	defer ix.pendMu.Unlock()
	n := len(ix.movedFrom)
	return n >= movesThreshold || (n > 0 && time.Since(ix.movedSince) > movesMaxAge)
}

// movesMaxAge bounds how long an in-place bucket move waits to be re-filed
// (searches treat pending moves correctly; this only bounds their cost).
const movesMaxAge = time.Second

// flushMoves re-files in-place bucket moves, if any, under the write lock,
// movesStep moves per hold: re-filing costs about a microsecond a move in
// bitmaps of millions of docs, and searches wait for the write lock.
func (ix *Index) flushMoves() {
	for {
		ix.pendMu.Lock()
		n := len(ix.movedFrom)
		ix.pendMu.Unlock()
		if n == 0 {
			return
		}
		ix.lockWrite()
		if ix.closed {
			ix.unlockWrite()
			return
		}
		ix.flushMovesLocked(movesStep)
		ix.unlockWrite()
	}
}

// movesStep is how many bucket moves one write-lock hold re-files.
const movesStep = 512

// prepared holds the normalized texts and grams (unsorted, a gram may
// repeat) of a video record, computed outside the write lock.
type prepared struct {
	norm  [nFields]string
	grams [nFields][]uint64
	rec   []byte // the encoded text record of a new doc (see encodeRec)
	thash uint64 // textHash of the record
}

// chunkPrep is the preparation of a chunk of records.
type chunkPrep struct {
	p []*prepared
	// same[i]: the texts, channel title and thumbnail of record i equal the
	// stored ones, as of textGen gen (valid while Index.textGen == gen).
	same []bool
	gen  uint64
	doc  []uint32 // doc number + 1 of record i's video, 0 = not found (ids are never removed)
	// done[i]: record i was fully applied (or found stale) by prepareChunk;
	// left counts the others.
	done   []bool
	left   int
	closed bool
	// inv groups the grams of the records invIn[i] (new-doc candidates) by
	// gram; nil when the chunk is not inverted (see invEligible).
	inv   *inversion
	invIn []bool
	// gramBufs hold the prepared grams (see prepareTexts, release).
	gramBufs [2]*[]uint64
}

// prepParts is how many goroutines prepare a chunk: records are split by a
// hash of their video id, so every record of one video is handled, in
// order, by the same goroutine.
func prepParts(n int) int {
	if n < 64 {
		return 1
	}
	return min(2, runtime.GOMAXPROCS(0))
}

func idPart(id string, parts int) int {
	if parts == 1 || len(id) < 2 {
		return 0
	}
	return int(id[len(id)-1]+id[len(id)-2]) % parts
}

// prepareChunk prepares a chunk of records under the read lock, so searches
// run meanwhile. A statistics refresh (a newer snapshot with the same texts,
// filters, published_at and view-count bucket: the common record) is applied
// right here, in place, with atomic stores to the columns and the rank
// bounds: it never takes the write lock. Other video records get their texts
// normalized and their grams cut (pure functions of the record) for
// applyChunk; the "same texts" verdict is used only if no text changed since
// (textGen).
func (ix *Index) prepareChunk(recs []yt.Record) *chunkPrep {
	cp := &chunkPrep{
		same: make([]bool, len(recs)), doc: make([]uint32, len(recs)),
		done: make([]bool, len(recs)), p: make([]*prepared, len(recs)),
	}
	need := make([]bool, len(recs))
	parts := prepParts(len(recs))
	ix.mu.RLock()
	if ix.closed {
		ix.mu.RUnlock()
		cp.closed, cp.left = true, len(recs)
		return cp
	}
	cp.gen = ix.textGen
	if parts == 1 {
		ix.classify(recs, cp, need, 0, 1)
	} else {
		var wg sync.WaitGroup
		for k := range parts {
			wg.Go(func() { ix.classify(recs, cp, need, k, parts) })
		}
		wg.Wait()
	}
	ix.mu.RUnlock()
	for i := range recs {
		if !cp.done[i] {
			cp.left++
		}
	}
	if parts == 1 {
		cp.gramBufs[0] = prepareTexts(recs, need, cp.p, 0, 1)
	} else {
		var wg sync.WaitGroup
		for k := range parts {
			wg.Go(func() { cp.gramBufs[k] = prepareTexts(recs, need, cp.p, k, parts) })
		}
		wg.Wait()
	}
	if in := invEligible(recs, cp); in != nil {
		cp.inv, cp.invIn = invert(cp.p, in), in
	}
	return cp
}

// classify handles the video records of part k: statistics refreshes are
// applied (applyStats), stale snapshots dropped, and need[i] set for the
// records whose texts must be prepared. Caller holds ix.mu for reading.
func (ix *Index) classify(recs []yt.Record, cp *chunkPrep, need []bool, k, parts int) {
	var buf []byte
	var applied, stale uint64
	var sink int64
	var idx [gatherRecs]int
	var ns [gatherRecs]uint32
	var found [gatherRecs]bool
	for lo := 0; lo < len(recs); {
		// Gather: a statistics refresh of a random doc reads about ten
		// random cache lines (id table, doc, columns, rank block), each a
		// cache and TLB miss in a large index. Looking up a group of
		// records first and loading their lines in tight loops lets the
		// CPU overlap those misses; the classification below then hits
		// the cache.
		m := 0
		for ; lo < len(recs) && m < gatherRecs; lo++ {
			r := &recs[lo]
			if r.Kind == yt.KindVideo && r.Video != nil && idPart(r.Video.ID, parts) == k {
				idx[m] = lo
				m++
			}
		}
		for j := range m {
			ns[j], found[j] = ix.lookup(recs[idx[j]].Video.ID)
		}
		sink += ix.touch(ns[:m], found[:m])
		for j := range m {
			sink += touchTexts(recs[idx[j]].Video)
		}
		for j := range m {
			i := idx[j]
			r := &recs[i]
			v := r.Video
			n, ok := ns[j], found[j]
			if !ok {
				need[i] = true
				continue
			}
			cp.doc[i] = n + 1
			d := ix.docs.at(n)
			f := v.FetchedAt.UnixMicro()
			valid := validVideoRecord(r)
			if f <= d.fetched || f <= d.tomb {
				if valid {
					cp.done[i] = true
					stale++
				}
				continue
			}
			if !d.alive {
				need[i] = true
				continue
			}
			// One 8-byte column instead of the stored texts: a statistics
			// refresh of a random doc costs a cache miss less per field.
			h := textHash(v)
			switch th := *ix.thash.at(n); {
			case th == h:
			case th != 0 || !ix.sameTexts(n, v, &buf):
				need[i] = true
				continue
			default:
				atomic.StoreUint64(ix.thash.at(n), h)
			}
			cp.same[i] = true
			if valid && ix.statsOnly(n, v, f) {
				ix.applyStats(n, v, f)
				cp.done[i] = true
				applied++
			}
		}
	}
	runtime.KeepAlive(sink)
	ix.applied.Add(applied)
	ix.inPlace.Add(applied)
	ix.stale.Add(stale)
}

// touchTexts loads the first line of each text textHash reads (see touch).
func touchTexts(v *yt.Video) int64 {
	s := &v.Snippet
	sum := int64(len(s.Tags))
	for _, t := range [...]string{s.Title, s.Description, s.ChannelTitle, s.Thumbnail.URL} {
		if t != "" {
			sum += int64(t[0])
		}
	}
	if len(s.Tags) > 0 && s.Tags[0] != "" {
		sum += int64(s.Tags[0][0])
	}
	return sum
}

// gatherRecs is how many records classify looks up and touches at once.
const gatherRecs = 32

// touch loads the cache lines a statistics refresh of docs ns[j] (found[j])
// reads or writes, and returns a value depending on them (so the loads are
// not optimized away). Caller holds ix.mu for reading.
func (ix *Index) touch(ns []uint32, found []bool) int64 {
	var sum int64
	rv, chg := ix.rankViews, ix.chg
	for j, n := range ns {
		if found[j] {
			sum += ix.docs.at(n).fetched + *ix.pub.at(n) + *ix.views.at(n) + *ix.likes.at(n) + *ix.comments.at(n) + int64(*ix.thash.at(n))
			if int(n) < len(rv.docBlock) {
				sum += int64(rv.docBlock[n])
			}
			if n < chg.cut { // the refresh marks it for the next delta (the other goroutine may be marking a neighbour)
				sum += int64(atomic.LoadUint64(&chg.stats[n>>6]))
			}
		}
	}
	// statsOnly compares the doc's interned channel id and duration: their
	// string headers, then their bytes (two more misses each).
	strs := ix.strs.strs
	var hs [2 * gatherRecs]string
	for j, n := range ns {
		if found[j] {
			d := ix.docs.at(n)
			if int(d.chanID) < len(strs) {
				hs[2*j] = strs[d.chanID]
			}
			if int(d.dur) < len(strs) {
				hs[2*j+1] = strs[d.dur]
			}
		}
	}
	for _, h := range hs[:2*len(ns)] {
		if h != "" {
			sum += int64(h[0])
		}
	}
	return sum
}

// textHash is a 64-bit hash (xxHash, never 0) of the raw texts a
// statistics refresh must find unchanged: title, description, tags, channel
// title and thumbnail. A text change goes unnoticed only on a hash
// collision (2^-64).
func textHash(v *yt.Video) uint64 {
	// Each text is hashed in one call (xxhash's one-shot path: a Digest
	// fed many short writes buffers each of them) and the hashes are
	// chained in field order, so moving bytes between fields or tags
	// changes the result like a length prefix did.
	s := &v.Snippet
	h := mixHash(uint64(len(s.Tags)), xxhash.Sum64String(s.Title))
	h = mixHash(h, xxhash.Sum64String(s.Description))
	h = mixHash(h, xxhash.Sum64String(s.ChannelTitle))
	h = mixHash(h, xxhash.Sum64String(thumbOf(v.ID, s.Thumbnail.URL)))
	for _, t := range s.Tags {
		h = mixHash(h, xxhash.Sum64String(t))
	}
	return h | 1
}

// mixHash chains hash x onto h (order-dependent).
func mixHash(h, x uint64) uint64 {
	return (bits.RotateLeft64(h, 31) ^ x) * 0x9e3779b97f4a7c15
}

// statsOnly reports whether snapshot v (newer, same texts) of alive doc n
// changes nothing but counters that applyStats may update under the read
// lock: same filters, duration and published_at, and the doc already has
// its rank block. Caller holds ix.mu for reading.
func (ix *Index) statsOnly(n uint32, v *yt.Video, f int64) bool {
	d := ix.docs.at(n)
	s := &v.Snippet
	if s.PublishedAt.UnixMicro() != *ix.pub.at(n) {
		return false
	}
	if ix.strs.str(d.chanID) != s.ChannelID || ix.strs.str(d.catID) != s.CategoryID ||
		ix.strs.str(d.lang) != videoLang(s) || ix.strs.str(d.dur) != v.ContentDetails.Duration {
		return false
	}
	if ch := ix.channels[s.ChannelID]; ch != nil && ch.FetchedAt.UnixMicro() > f && ch.Snippet.Title != s.ChannelTitle {
		return false
	}
	return ix.rankViews.has(n)
}

// applyStats applies a statistics refresh of doc n under the read lock (see
// statsOnly). Searches read the counters with atomic loads; a rank bound is
// widened before the new key is stored, so a search that sees the key also
// sees a bound that covers it. Every record of one video goes to the same
// goroutine (idPart), and Apply calls are serialized, so no two writers ever
// touch one doc at a time.
func (ix *Index) applyStats(n uint32, v *yt.Video, f int64) {
	d := ix.docs.at(n)
	views := yt.Val(v.Statistics.ViewCount)
	ix.chg.markStats(n)
	atomic.StoreInt64(&d.fetched, f)
	atomic.StoreInt64(ix.likes.at(n), yt.Val(v.Statistics.LikeCount))
	atomic.StoreInt64(ix.comments.at(n), yt.Val(v.Statistics.CommentCount))
	if f > d.textAt {
		atomic.StoreInt64(&d.textAt, f)
	}
	chanAt := f
	if ch := ix.channels[v.Snippet.ChannelID]; ch != nil && ch.FetchedAt.UnixMicro() > f {
		chanAt = ch.FetchedAt.UnixMicro()
	}
	if chanAt > d.chanAt {
		atomic.StoreInt64(&d.chanAt, chanAt)
	}
	ix.rankViews.widen(n, views)
	old := *ix.views.at(n)
	moved := viewBucketOf(old) != viewBucketOf(views)
	if moved || ix.rebuilding {
		ix.pendMu.Lock()
		if moved {
			if len(ix.movedFrom) == 0 {
				ix.movedSince = time.Now()
			}
			if _, ok := ix.movedFrom[n]; !ok {
				ix.movedFrom[n] = uint8(viewBucketOf(old))
			}
		}
		// Stored before the doc joins pending: a rebuild replays pending
		// under the read lock (see maybeRebuildLocked) and must read the
		// new count for every entry it sees.
		atomic.StoreInt64(ix.views.at(n), views)
		if ix.rebuilding {
			ix.pending = append(ix.pending, n)
		}
		ix.pendMu.Unlock()
		return
	}
	atomic.StoreInt64(ix.views.at(n), views)
}

// flushMovesLocked re-files up to limit docs whose view-count bucket changed in
// place. Caller holds ix.mu for writing (so no applyStats runs).
func (ix *Index) flushMovesLocked(limit int) {
	for n, from := range ix.movedFrom {
		if limit == 0 {
			return
		}
		limit--
		delete(ix.movedFrom, n)
		if bm := ix.viewBucket[from]; bm != nil {
			bm.Remove(n)
		}
		b := viewBucketOf(*ix.views.at(n))
		if ix.viewBucket[b] == nil {
			ix.viewBucket[b] = roaring.New()
		}
		ix.viewBucket[b].Add(n)
	}
}

// movedDocs returns the docs whose view-count bucket changed in place since
// the last flushMovesLocked, or nil. Caller holds ix.mu for reading.
func (ix *Index) movedDocs() *roaring.Bitmap {
	ix.pendMu.Lock()
	defer ix.pendMu.Unlock()
	if len(ix.movedFrom) == 0 {
		return nil
	}
	bm := roaring.New()
	for n := range ix.movedFrom {
		bm.Add(n)
	}
	return bm
}

// prepareTexts normalizes the texts and cuts the grams of the records of
// part k with need[i] set.
//
// The grams of all its records go into one buffer from gramBufs, returned
// (possibly grown) for chunkPrep.release: at ~2 KB of grams a doc, a fresh
// slice per doc was the indexing's largest garbage.
func prepareTexts(recs []yt.Record, need []bool, out []*prepared, k, parts int) *[]uint64 {
	buf := gramBufs.Get().(*[]uint64)
	gb := (*buf)[:0]
	for i := range recs {
		if !need[i] || idPart(recs[i].Video.ID, parts) != k {
			continue
		}
		s := &recs[i].Video.Snippet
		p := &prepared{}
		p.norm[fTitle] = normalizeField(s.Title)
		p.norm[fTags] = normalizeTags(s.Tags)
		p.norm[fChannel] = normalizeField(s.ChannelTitle)
		p.norm[fDesc] = normalizeField(s.Description)
		// Not deduplicated: every consumer (addText, the inversion) skips a
		// gram repeated in one text, and sorting cost more than the rest of
		// the preparation.
		for fi := range nFields {
			if p.norm[fi] != "" {
				at := len(gb)
				gb = appendGrams(gb, p.norm[fi])
				p.grams[fi] = gb[at:len(gb):len(gb)]
			}
		}
		var r textRec
		r.norm = p.norm
		pb := makePatch(nil, r.norm[fTitle], s.Title)
		n1 := len(pb)
		pb = makeTagsPatch(pb, r.norm[fTags], s.Tags)
		n2 := len(pb)
		pb = makePatch(pb, r.norm[fDesc], s.Description)
		r.patch[fTitle], r.patch[fTags], r.patch[fDesc] = aliasString(pb[:n1]), aliasString(pb[n1:n2]), aliasString(pb[n2:])
		r.thumb = thumbOf(recs[i].Video.ID, s.Thumbnail.URL)
		p.rec = encodeRec(nil, &r)
		p.thash = textHash(recs[i].Video)
		out[i] = p
	}
	*buf = gb
	return buf
}

// gramBufs holds the gram buffers of prepared chunks (see prepareTexts).
var gramBufs = sync.Pool{New: func() any { return new([]uint64) }}

// release returns the chunk's gram buffers and inversion once the chunk is applied (its
// prepared grams must not be used after).
func (cp *chunkPrep) release() {
	if cp.inv != nil {
		invs.Put(cp.inv)
		cp.inv = nil
	}
	for i, b := range cp.gramBufs {
		if b != nil {
			gramBufs.Put(b)
			cp.gramBufs[i] = nil
		}
	}
}

func (ix *Index) applyOne(r *yt.Record, p *prepared, same bool, hint uint32, df *deferral) {
	if !validVideoRecord(r) {
		if err := r.Validate(); err != nil {
			ix.rejected.Add(1)
			ix.log.Debug("skip invalid record", "err", err)
			return
		}
	}
	var changed bool
	switch r.Kind {
	case yt.KindVideo:
		changed = ix.applyVideo(r.Video, p, same, hint, df)
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

// validVideoRecord is the fast path of yt.Record.Validate for video records
// (the regexp costs more than applying a statistics refresh). It returns
// false when unsure; the caller then runs the full Validate.
func validVideoRecord(r *yt.Record) bool {
	if r.V < 1 || r.V > yt.SchemaVersion || r.ID == "" || r.Kind != yt.KindVideo || r.Video == nil || r.Video.FetchedAt.IsZero() {
		return false
	}
	id := r.Video.ID
	if len(id) != 11 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// sameTexts reports whether doc n (alive) has the texts and thumbnail of v.
func (ix *Index) sameTexts(n uint32, v *yt.Video, buf *[]byte) bool {
	d := ix.docs.at(n)
	s := &v.Snippet
	if ix.strs.str(d.chanTitle) != s.ChannelTitle {
		return false
	}
	r := ix.rec(n)
	if r.thumb != thumbOf(v.ID, s.Thumbnail.URL) {
		return false
	}
	var ok bool
	if ok, *buf = sameRaw(*buf, r.norm[fTitle], r.patch[fTitle], s.Title); !ok {
		return false
	}
	if ok, *buf = sameRaw(*buf, r.norm[fDesc], r.patch[fDesc], s.Description); !ok {
		return false
	}
	ok, *buf = sameTags(*buf, r.norm[fTags], r.patch[fTags], s.Tags)
	return ok
}

// thumbOf stores "" for the standard thumbnail URL of a video (rebuilt by
// thumbURL), noThumb for none, the URL itself otherwise.
func thumbOf(id, url string) string {
	const pre, suf = "https://i.ytimg.com/vi/", "/hqdefault.jpg"
	switch {
	case url == "":
		return noThumb
	case len(url) == len(pre)+len(id)+len(suf) && strings.HasPrefix(url, pre) && strings.HasSuffix(url, suf) && url[len(pre):len(pre)+len(id)] == id:
		return ""
	}
	return url
}

const noThumb = "\x00"

func stdThumb(id string) string { return "https://i.ytimg.com/vi/" + id + "/hqdefault.jpg" }

func thumbURL(id, thumb string) string {
	switch thumb {
	case "":
		return stdThumb(id)
	case noThumb:
		return ""
	}
	return strings.Clone(thumb)
}

// normOr returns the prepared normalized text of field fi, or normalizes raw.
func (p *prepared) normOr(fi int, raw string) string {
	if p != nil {
		return p.norm[fi]
	}
	return normalizeField(raw)
}

func videoLang(s *yt.VideoSnippet) string {
	if s.DefaultLanguage != "" {
		return s.DefaultLanguage
	}
	return s.DefaultAudioLanguage
}

func (ix *Index) newSlot(id string) uint32 {
	n := uint32(ix.docs.len())
	ix.docs.push(doc{text: noText})
	ix.appendID(n, id)
	ix.insertID(n, id)
	ix.views.push(0)
	ix.likes.push(0)
	ix.comments.push(0)
	ix.pub.push(0)
	ix.thash.push(0)
	return n
}

// patch returns the patch rebuilding raw from norm, aliasing ix.patchBuf
// (valid until the next reset of patchBuf).
func (ix *Index) patch(norm, raw string) string {
	start := len(ix.patchBuf)
	ix.patchBuf = makePatch(ix.patchBuf, norm, raw)
	return aliasString(ix.patchBuf[start:])
}

func (ix *Index) tagsPatch(norm string, tags []string) string {
	start := len(ix.patchBuf)
	ix.patchBuf = makeTagsPatch(ix.patchBuf, norm, tags)
	return aliasString(ix.patchBuf[start:])
}

// applyVideo applies a video snapshot. same: its texts and thumbnail are
// known to equal the stored ones (see chunkPrep).
// hint is the doc number + 1 of v.ID if known (0 = look it up).
//
// With df.on, a NEW doc's postings are left to the chunk's inversion
// (df.created), except fields whose prepared grams were dropped.
func (ix *Index) applyVideo(v *yt.Video, p *prepared, same bool, hint uint32, df *deferral) bool {
	f := v.FetchedAt.UnixMicro()
	n, ok := hint-1, hint != 0
	if !ok {
		n, ok = ix.lookup(v.ID)
	}
	if !ok {
		n = ix.newSlot(v.ID)
	}
	d := ix.docs.at(n)
	if ok && (f <= d.fetched || f <= d.tomb) {
		return false
	}
	ix.markDoc(n)
	s := &v.Snippet
	wasAlive, oldViews, oldPub := d.alive, *ix.views.at(n), *ix.pub.at(n)
	d.fetched = f
	*ix.views.at(n) = yt.Val(v.Statistics.ViewCount)
	*ix.likes.at(n) = yt.Val(v.Statistics.LikeCount)
	*ix.comments.at(n) = yt.Val(v.Statistics.CommentCount)
	*ix.pub.at(n) = s.PublishedAt.UnixMicro()
	if ix.strs.str(d.dur) != v.ContentDetails.Duration {
		d.dur = ix.strs.id(v.ContentDetails.Duration)
	}

	chanTitle, chanAt := s.ChannelTitle, f
	if ch := ix.channels[s.ChannelID]; ch != nil && ch.FetchedAt.UnixMicro() > f {
		chanTitle, chanAt = ch.Snippet.Title, ch.FetchedAt.UnixMicro()
	}
	ix.patchBuf = ix.patchBuf[:0]
	if !d.alive {
		// New or revived: index everything.
		if ok {
			ix.gen++ // a revived slot sits below the cached counts' horizon
		}
		d.chanID, d.chanTitle, d.chanAt = ix.strs.id(s.ChannelID), ix.strs.id(chanTitle), chanAt
		d.catID, d.lang = ix.strs.id(s.CategoryID), ix.strs.id(videoLang(s))
		d.textAt = f
		var r textRec
		var grams [nFields][]uint64
		if p != nil {
			r.norm, grams = p.norm, p.grams
			if chanTitle != s.ChannelTitle {
				grams[fChannel] = nil
			}
		} else {
			r.norm[fTitle] = normalizeField(s.Title)
			r.norm[fTags] = normalizeTags(s.Tags)
			r.norm[fDesc] = normalizeField(s.Description)
		}
		r.norm[fChannel] = ix.strs.normOf(d.chanTitle)
		if p != nil && p.rec != nil {
			ix.putRec(n, p.rec)
		} else {
			r.patch[fTitle] = ix.patch(r.norm[fTitle], s.Title)
			r.patch[fTags] = ix.tagsPatch(r.norm[fTags], s.Tags)
			r.patch[fDesc] = ix.patch(r.norm[fDesc], s.Description)
			r.thumb = thumbOf(v.ID, s.Thumbnail.URL)
			ix.setRec(n, &r)
		}
		deferred := df != nil && df.on && !ok && p != nil
		if deferred {
			df.created, df.doc = true, n
		}
		for fi := range nFields {
			if deferred && grams[fi] != nil {
				continue // the inversion adds them
			}
			if deferred && fi == fChannel {
				df.chanDirect = true // the prepared channel grams are not this doc's
			}
			ix.addText(fi, n, r.norm[fi], grams[fi])
		}
		if p != nil && chanTitle == s.ChannelTitle {
			// The stored texts are the record's: its first statistics
			// refresh compares one hash instead of every text.
			*ix.thash.at(n) = p.thash
		}
		if !deferred {
			ix.addFilters(n, d) // else the inversion adds them (addFiltersMany)
		}
		d.alive = true
		ix.live++
	} else if same {
		d.textAt = max(d.textAt, f)
	} else {
		r := ix.rec(n)
		thumb := thumbOf(v.ID, s.Thumbnail.URL)
		changed := r.thumb != thumb
		r.thumb = thumb
		if f > d.textAt {
			d.textAt = f
			var same bool
			if same, ix.recBuf = sameRaw(ix.recBuf, r.norm[fTitle], r.patch[fTitle], s.Title); !same {
				nn := p.normOr(fTitle, s.Title)
				ix.setText(fTitle, n, r.norm[fTitle], nn)
				r.norm[fTitle], r.patch[fTitle] = nn, ix.patch(nn, s.Title)
				changed = true
			}
			if same, ix.recBuf = sameRaw(ix.recBuf, r.norm[fDesc], r.patch[fDesc], s.Description); !same {
				nn := p.normOr(fDesc, s.Description)
				ix.setText(fDesc, n, r.norm[fDesc], nn)
				r.norm[fDesc], r.patch[fDesc] = nn, ix.patch(nn, s.Description)
				changed = true
			}
			if same, ix.recBuf = sameTags(ix.recBuf, r.norm[fTags], r.patch[fTags], s.Tags); !same {
				var nn string
				if p != nil {
					nn = p.norm[fTags]
				} else {
					nn = normalizeTags(s.Tags)
				}
				ix.setText(fTags, n, r.norm[fTags], nn)
				r.norm[fTags], r.patch[fTags] = nn, ix.tagsPatch(nn, s.Tags)
				changed = true
			}
		}
		if changed {
			ix.setRec(n, &r)
		}
	}
	if wasAlive {
		if chanAt > d.chanAt {
			d.chanAt = chanAt
			ix.setChanTitle(n, chanTitle)
		}
		if ix.strs.str(d.chanID) != s.ChannelID || ix.strs.str(d.catID) != s.CategoryID || ix.strs.str(d.lang) != videoLang(s) {
			ix.gen++
			ix.removeFilters(n, d)
			d.chanID, d.catID, d.lang = ix.strs.id(s.ChannelID), ix.strs.id(s.CategoryID), ix.strs.id(videoLang(s))
			ix.addFilters(n, d)
		}
	}
	if wasAlive {
		ix.moveBuckets(n, oldViews, oldPub)
	} else {
		ix.addBuckets(n)
	}
	ix.rankSet(n)
	return true
}

// setChanTitle sets the channel title of doc n, updating its postings.
func (ix *Index) setChanTitle(n uint32, title string) {
	d := ix.docs.at(n)
	if ix.strs.str(d.chanTitle) == title {
		return
	}
	old := ix.strs.normOf(d.chanTitle)
	d.chanTitle = ix.strs.id(title)
	ix.markDoc(n) // a text changed: the next delta holds the whole doc
	*ix.thash.at(n) = 0
	ix.textGen++
	ix.setText(fChannel, n, old, ix.strs.normOf(d.chanTitle))
}

func viewBucketOf(v int64) int { return bits.Len64(uint64(max(v, 0))) }

func pubBucketOf(us int64) int32 {
	t := time.UnixMicro(us).UTC()
	return int32(t.Year())*12 + int32(t.Month()) - 1
}

func (ix *Index) addBuckets(n uint32) {
	b := viewBucketOf(*ix.views.at(n))
	if ix.viewBucket[b] == nil {
		ix.viewBucket[b] = roaring.New()
	}
	ix.viewBucket[b].Add(n)
	pb := pubBucketOf(*ix.pub.at(n))
	if ix.pubBucket[pb] == nil {
		ix.pubBucket[pb] = roaring.New()
	}
	ix.pubBucket[pb].Add(n)
}

func (ix *Index) removeBuckets(n uint32, views, pub int64) {
	if bm := ix.viewBucket[viewBucketOf(views)]; bm != nil {
		bm.Remove(n)
	}
	pb := pubBucketOf(pub)
	if bm := ix.pubBucket[pb]; bm != nil {
		bm.Remove(n)
		if bm.IsEmpty() {
			delete(ix.pubBucket, pb)
		}
	}
}

// moveBuckets re-files doc n if its views or published_at changed bucket.
func (ix *Index) moveBuckets(n uint32, oldViews, oldPub int64) {
	if viewBucketOf(oldViews) == viewBucketOf(*ix.views.at(n)) && (oldPub == *ix.pub.at(n) || pubBucketOf(oldPub) == pubBucketOf(*ix.pub.at(n))) {
		return
	}
	ix.removeBuckets(n, oldViews, oldPub)
	ix.addBuckets(n)
}

// rankSet records the current sort keys of doc n in the rank orders.
func (ix *Index) rankSet(n uint32) {
	ix.rankViews.set(n, *ix.views.at(n))
	ix.rankPub.set(n, *ix.pub.at(n))
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
	ix.chg.chans[c.ID] = struct{}{}
	cf := c.FetchedAt.UnixMicro()
	if p := ix.byChannel[c.ID]; p != nil {
		it := p.bitmap().Iterator()
		for it.HasNext() {
			n := it.Next()
			d := ix.docs.at(n)
			if cf <= d.chanAt {
				continue
			}
			d.chanAt = cf
			ix.chg.markStats(n) // a delta's refresh record holds chanAt
			ix.setChanTitle(n, c.Snippet.Title)
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
				ix.chg.chans[e.EntityID] = struct{}{}
				return true
			}
		}
		return false
	}
	if e.EntityKind != yt.KindVideo {
		return false
	}
	n, ok := ix.lookup(e.EntityID)
	if e.Type == yt.EventTombstone {
		if !ok {
			if yt.ValidateVideoID(e.EntityID) != nil {
				return false
			}
			n = ix.newSlot(e.EntityID) // remember the tombstone against late replays
		}
		d := ix.docs.at(n)
		if o <= d.tomb {
			return false
		}
		d.tomb = o
		ix.markDoc(n)
		if d.alive && o >= d.fetched {
			ix.removeDoc(n)
		}
		return true
	}
	if !ok {
		return false
	}
	d := ix.docs.at(n)
	if !d.alive || o <= d.textAt {
		return false
	}
	ix.markDoc(n)
	r := ix.rec(n)
	ix.patchBuf = ix.patchBuf[:0]
	var same bool
	switch e.Type {
	case yt.EventTitleChanged, yt.EventDescriptionChanged:
		fi := fTitle
		if e.Type == yt.EventDescriptionChanged {
			fi = fDesc
		}
		d.textAt = o
		if same, ix.recBuf = sameRaw(ix.recBuf, r.norm[fi], r.patch[fi], e.New); same {
			return true
		}
		nn := normalizeField(e.New)
		ix.setText(fi, n, r.norm[fi], nn)
		r.norm[fi], r.patch[fi] = nn, ix.patch(nn, e.New)
	case yt.EventTagsChanged:
		d.textAt = o
		tags := parseEventTags(e.New)
		if same, ix.recBuf = sameTags(ix.recBuf, r.norm[fTags], r.patch[fTags], tags); same {
			return true
		}
		nn := normalizeTags(tags)
		ix.setText(fTags, n, r.norm[fTags], nn)
		r.norm[fTags], r.patch[fTags] = nn, ix.tagsPatch(nn, tags)
	case yt.EventThumbnailChanged:
		d.textAt = o
		th := thumbOf(ix.docID(n), e.New)
		if th == r.thumb {
			return true
		}
		r.thumb = th
	default:
		return false
	}
	ix.setRec(n, &r)
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
	ix.gen++
	d := ix.docs.at(n)
	for fi := range nFields {
		ix.removeText(fi, n, ix.norm(n, fi))
	}
	ix.removeFilters(n, d)
	ix.removeBuckets(n, *ix.views.at(n), *ix.pub.at(n))
	d.alive = false
	ix.live--
}

// ---- postings ----

func (ix *Index) addText(fi int, n uint32, norm string, g []uint64) {
	if norm == "" {
		return
	}
	if g == nil {
		g = appendGrams(ix.scratchA[:0], norm)
		ix.scratchA = g
	}
	m := ix.post[fi]
	old := ix.chg.grams[fi]
	if n >= ix.chg.cut {
		old = nil // a new doc: the delta finds it above the cut
	}
	for _, k := range g {
		if old != nil {
			old[k] = struct{}{}
		}
		p := m[k]
		if p == nil {
			p = &posting{}
			m[k] = p
		}
		if p.appendList(n) {
			ix.postAdded++
			continue
		}
		switch l := len(p.tail); {
		case l == 0:
			ix.dirty = append(ix.dirty, p)
		case p.tail[l-1] == n:
			continue // the same gram again in this text
		case p.tail[l-1] > n:
			// Out of order (a revived doc): add directly.
			p.writable().Add(n)
			continue
		}
		p.tail = append(p.tail, n)
	}
}

// flushTails moves the docs appended by addText into the bitmaps. Apply calls
// it before releasing the lock, so searches never see a tail, and before any
// removal, so removals see every doc.
func (ix *Index) flushTails() {
	for _, p := range ix.dirty {
		p.addMany(p.tail)
		ix.postAdded += uint64(len(p.tail))
		p.tail = nil
	}
	clear(ix.dirty)
	ix.dirty = ix.dirty[:0]
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
	ix.flushTails()
	m := ix.post[fi]
	for _, k := range g {
		ix.markGram(fi, k, n)
		if p := m[k]; p != nil {
			p.writable().Remove(n)
			if p.isEmpty() {
				delete(m, k)
			}
		}
	}
}

// setText replaces the text of field fi of doc n, touching only the grams
// that differ between the old and the new text.
func (ix *Index) setText(fi int, n uint32, old, norm string) {
	if old == norm {
		return
	}
	ix.gen++
	ix.flushTails()
	a := uniqGrams(appendGrams(ix.scratchA[:0], old))
	b := uniqGrams(appendGrams(ix.scratchB[:0], norm))
	ix.scratchA, ix.scratchB = a, b
	m := ix.post[fi]
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			ix.markGram(fi, a[i], n)
			if p := m[a[i]]; p != nil {
				p.writable().Remove(n)
				if p.isEmpty() {
					delete(m, a[i])
				}
			}
			i++
		case i == len(a) || b[j] < a[i]:
			ix.markGram(fi, b[j], n)
			p := m[b[j]]
			if p == nil {
				p = &posting{}
				m[b[j]] = p
			}
			p.writable().Add(n)
			ix.postAdded++
			j++
		default:
			i++
			j++
		}
	}
}

// markGram records that the posting of gram k in field fi changed for doc
// n: a delta writes it whole when n is not a new doc (see changes).
func (ix *Index) markGram(fi int, k uint64, n uint32) {
	if n < ix.chg.cut {
		ix.chg.grams[fi][k] = struct{}{}
	}
}

// ---- filters ----

func langKeys(lang string) (full, primary string) {
	full = strings.ToLower(strings.ReplaceAll(lang, "_", "-"))
	primary, _, _ = strings.Cut(full, "-")
	return full, primary
}

// langFilterKeys calls fn with each language filter key of lang: its full
// tag and, when different, its primary subtag.
func langFilterKeys(lang string, fn func(k string)) {
	full, primary := langKeys(lang)
	fn(full)
	if primary != full {
		fn(primary)
	}
}

// postAdd adds doc n to the posting of key k (a list while docs come in
// ascending order and stay few; see posting).
func postAdd(m map[string]*posting, k string, n uint32) {
	if k == "" {
		return
	}
	postAddTo(m, k, m[k], n)
}

// postAddTo adds doc n to p, the posting of key k in m already looked up
// (nil: absent, created here).
func postAddTo(m map[string]*posting, k string, p *posting, n uint32) {
	if p == nil {
		p = &posting{}
		m[k] = p
	}
	if !p.appendList(n) {
		p.writable().Add(n)
	}
}

func postRemove(m map[string]*posting, k string, n uint32) {
	if p := m[k]; p != nil {
		p.writable().Remove(n)
		if p.isEmpty() {
			delete(m, k)
		}
	}
}

// addFiltersMany adds the filter postings of the new docs created[i]-1
// (ascending; 0 = none). The channel postings are looked up for a group of
// docs first and their list tails touched in a tight loop, so the CPU
// overlaps the cache misses of different channels (about 2 µs a doc at
// 10M docs one by one). It touches only the filter maps and postings.
func (ix *Index) addFiltersMany(created []uint32) {
	const group = 16
	var ns [group]uint32
	var ps [group]*posting
	var keys [group]string
	var sink byte
	for i := 0; i < len(created); {
		m := 0
		for ; i < len(created) && m < group; i++ {
			if created[i] != 0 {
				ns[m] = created[i] - 1
				m++
			}
		}
		for j, n := range ns[:m] {
			keys[j] = ix.strs.str(ix.docs.at(n).chanID)
			ps[j] = ix.byChannel[keys[j]]
		}
		for _, p := range ps[:m] {
			if p != nil && len(p.list) > 0 {
				sink += p.list[len(p.list)-1]
			}
		}
		for j, n := range ns[:m] {
			p := ps[j]
			if p == nil && keys[j] != "" {
				p = ix.byChannel[keys[j]] // an earlier doc of the group may have created it
			}
			if keys[j] != "" {
				postAddTo(ix.byChannel, keys[j], p, n)
			}
			ix.addOtherFilters(n, ix.docs.at(n))
		}
	}
	runtime.KeepAlive(sink)
}

func (ix *Index) addFilters(n uint32, d *doc) {
	postAdd(ix.byChannel, ix.strs.str(d.chanID), n)
	ix.addOtherFilters(n, d)
}

// addOtherFilters adds doc n to its category and language postings.
func (ix *Index) addOtherFilters(n uint32, d *doc) {
	postAdd(ix.byCategory, ix.strs.str(d.catID), n)
	langFilterKeys(ix.strs.str(d.lang), func(k string) { postAdd(ix.byLang, k, n) })
}

func (ix *Index) removeFilters(n uint32, d *doc) {
	postRemove(ix.byChannel, ix.strs.str(d.chanID), n)
	postRemove(ix.byCategory, ix.strs.str(d.catID), n)
	langFilterKeys(ix.strs.str(d.lang), func(k string) { postRemove(ix.byLang, k, n) })
}

// ---- getters ----

func (ix *Index) hit(n uint32) Hit {
	d := ix.docs.at(n)
	r := ix.rec(n)
	id := strings.Clone(ix.docID(n))
	h := Hit{
		ID: id, Title: strings.Clone(rawString(r.norm[fTitle], r.patch[fTitle])),
		ChannelID: ix.strs.str(d.chanID), ChannelTitle: ix.strs.str(d.chanTitle),
		PublishedAt:  time.UnixMicro(*ix.pub.at(n)).UTC(),
		ViewCount:    atomic.LoadInt64(ix.views.at(n)),
		LikeCount:    atomic.LoadInt64(ix.likes.at(n)),
		CommentCount: atomic.LoadInt64(ix.comments.at(n)),
		CategoryID:   ix.strs.str(d.catID), Language: ix.strs.str(d.lang), ThumbnailURL: thumbURL(id, r.thumb), Duration: ix.strs.str(d.dur),
	}
	if tags := rawTags(r.norm[fTags], r.patch[fTags]); len(tags) > 0 {
		// The tags may alias the text arena (read from a memory map that
		// Close unmaps): a hit holds copies.
		h.Tags = tags
		for i := range tags {
			h.Tags[i] = strings.Clone(tags[i])
		}
	}
	return h
}

// Video returns the latest state of a searchable video.
func (ix *Index) Video(id string) (Hit, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return Hit{}, false
	}
	n, ok := ix.lookup(id)
	if !ok || !ix.docs.at(n).alive {
		return Hit{}, false
	}
	return ix.hit(n), true
}

// VideoDoc returns the full latest state of a searchable video, description included.
func (ix *Index) VideoDoc(id string) (VideoDoc, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return VideoDoc{}, false
	}
	n, ok := ix.lookup(id)
	if !ok || !ix.docs.at(n).alive {
		return VideoDoc{}, false
	}
	d := ix.docs.at(n)
	r := ix.rec(n)
	desc := strings.Clone(rawString(r.norm[fDesc], r.patch[fDesc]))
	return VideoDoc{Hit: ix.hit(n), Description: desc, FetchedAt: time.UnixMicro(atomic.LoadInt64(&d.fetched)).UTC()}, true
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

// Stats describes the index. The byte estimates walk every posting list
// (milliseconds per million grams); they are recomputed at most every
// statsRefresh and cached in between, so Stats is cheap to poll.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	st := Stats{
		Docs: ix.live, Deleted: ix.docs.len() - ix.live, Channels: len(ix.channels),
		Applied: ix.applied.Load(), Stale: ix.stale.Load(), Rejected: ix.rejected.Load(),
		Rebuilds: ix.rebuilds.Load(), Checkpoint: ix.checkpoint.Load(), InPlace: ix.inPlace.Load(),
		Deltas: int(ix.snapDeltas.Load()), SnapBytes: ix.snapBytes.Load(),
		WriteHolds: ix.holds.snapshot(),
	}
	for fi := range ix.post {
		st.Grams += len(ix.post[fi])
	}
	ix.mu.RUnlock()
	ix.statsMu.Lock()
	defer ix.statsMu.Unlock()
	if time.Since(ix.statsAt) > statsRefresh || ix.statsAt.IsZero() {
		ix.statsBytes = ix.measure()
		ix.statsAt = time.Now()
	}
	b := ix.statsBytes
	st.TextBytes, st.PostingBytes, st.MemBytes, st.MappedBytes, st.TextMappedBytes = b.text, b.postings, b.mem, b.mapped, b.textMapped
	return st
}

const statsRefresh = 10 * time.Second

// measureStep is how many docs measure reads per read-lock hold.
const measureStep = 1 << 16

// measure estimates text, posting and total bytes. It walks every doc and
// posting (over a second at 10M docs), so it takes the read lock in short
// steps: a held read lock would stall Apply's write lock, and every search
// queued behind it, for the whole walk. Under concurrent writes the figures
// mix moments, which is fine for an estimate.
func (ix *Index) measure() byteFigures {
	var text, postBytes, mem, mapped, textMapped int64
	for lo := 0; ; lo += measureStep {
		ix.mu.RLock()
		if ix.closed { // the texts may be unmapped
			ix.mu.RUnlock()
			break
		}
		hi := min(lo+measureStep, ix.docs.len())
		for i := lo; i < hi; i++ {
			d := ix.docs.at(uint32(i))
			if d.text == noText {
				continue
			}
			r := ix.rec(uint32(i))
			text += int64(rawLen(r.norm[fTitle], r.patch[fTitle], false) + rawLen(r.norm[fDesc], r.patch[fDesc], false) +
				rawLen(r.norm[fTags], r.patch[fTags], true) + len(ix.strs.str(d.chanTitle)))
		}
		ix.mu.RUnlock()
		if hi-lo < measureStep {
			break
		}
	}
	const bitmapOverhead = int64(unsafe.Sizeof(posting{})) + 48 // posting struct + map entry
	for fi := range ix.post {
		ix.mu.RLock()
		for _, p := range ix.post[fi] {
			n, m := p.sizeBytes()
			postBytes += n
			mapped += m
		}
		mem += int64(len(ix.post[fi])) * bitmapOverhead
		ix.mu.RUnlock()
	}
	const docBytes = int64(unsafe.Sizeof(doc{})) + 4*8 + 2*8 // struct, columns, rank entries
	ix.mu.RLock()
	mem += postBytes - mapped + ix.arena.memBytes() + ix.idBytes.capBytes(idWidth) + ix.idSlots()*8 + ix.docs.capBytes(docBytes)
	textMapped = ix.arena.mappedBytes()
	ix.mu.RUnlock()
	return byteFigures{text: text, postings: postBytes, mem: mem, mapped: mapped, textMapped: textMapped}
}

// byteFigures are measure's estimates (see the Stats fields of the same
// names): raw text, posting bytes, heap, mapped posting bytes, mapped text.
type byteFigures struct {
	text, postings, mem, mapped, textMapped int64
}
