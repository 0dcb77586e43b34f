package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
)

// posting is the doc-id set of one (field, gram). It has three forms:
//
//   - list: a delta-varint list of doc ids (rare grams: a roaring container
//     costs ~50 bytes of overhead for a handful of 2-byte entries; the list
//     costs 1-3 bytes a doc). A new gram starts as a list and new docs
//     (larger ids) are appended to it until it holds listMax docs
//     (appendList).
//   - bitmap: a roaring bitmap (bm), which any other modification makes.
//   - frozen: a serialized roaring bitmap (frozen, never modified: in the
//     slab or an allocation of its own), plus the docs added since the
//     freeze in bm, all larger than every frozen doc. A query reads the
//     blob in place (roaring's FromBuffer: copy-on-write container headers,
//     no copy of the data); a removal or an out-of-order add thaws it back
//     into a bitmap.
//
// Compaction (maybeCompact) turns a modified posting into its smaller
// settled form: a list in the slab, or a frozen blob. Settled postings hold
// no pointers into the heap beyond their blob, so the garbage collector
// does not walk millions of roaring containers.
type posting struct {
	bm     *roaring.Bitmap // bitmap form; in frozen form the docs added since (nil: none)
	frozen []byte          // non-nil: frozen form (serialized roaring, read only)
	fcard  uint32          // docs in frozen
	fmax   uint32          // largest doc in frozen
	list   []byte          // non-nil: the list form (bm is empty); appended in place only in its slab room or heap capacity
	lcard  uint32          // docs in list
	llast  uint32          // last (largest) doc in list
	dirty  bool            // modified since the last compaction
	mapped bool            // frozen lives in a snapshot's memory map (see mapping), not in the heap
	// slabList: list lives in the slab, with room reserved after it
	// (cap > len) for appends in place until the next compaction.
	slabList bool
	tail     []uint32 // ascending docs added during the current Apply chunk
}

// appendList adds doc n, larger than every doc of p, to list-form or empty
// p. It reports false when p must grow as a bitmap instead. A list in the
// slab grows into the room reserved after it (appends run under the write
// lock, and no other slice covers those bytes); one that outgrows its room
// moves to the heap.
func (p *posting) appendList(n uint32) bool {
	switch {
	case p.grownPast():
		return false
	case p.list == nil:
		p.list = binary.AppendUvarint(make([]byte, 0, 8), uint64(n))
		p.lcard, p.llast = 1, n
	case n <= p.llast || p.lcard >= listMax:
		return n == p.llast // the same doc again: nothing to do
	default:
		p.setList(binary.AppendUvarint(p.list, uint64(n-p.llast)))
		p.lcard++
		p.llast = n
	}
	p.dirty = true
	return true
}

// grownPast reports whether p holds docs but not as a list (a bitmap, a
// frozen blob or a pending tail): appends go elsewhere.
func (p *posting) grownPast() bool {
	return p.list == nil && (p.bm != nil || p.frozen != nil || len(p.tail) > 0)
}

// setList replaces the list by l, an append to it, noting whether the
// append left the slab.
func (p *posting) setList(l []byte) {
	if p.slabList && (len(p.list) == 0 || &l[0] != &p.list[0]) {
		p.slabList = false
	}
	p.list = l
}

// appendListMany appends ascending docs, each larger than every doc of p,
// to list-form or empty p, while it holds at most listMax docs, with one
// allocation. It returns how many it appended (the rest go to a bitmap).
func (p *posting) appendListMany(docs []uint32) int {
	if p.grownPast() {
		return 0
	}
	m := min(len(docs), listMax-int(p.lcard))
	if m <= 0 {
		return 0
	}
	// Exact size first: a list grows in place (in its slab room or heap
	// capacity) whenever the new entries fit.
	need, prev := 0, p.llast // llast is 0 while p is empty: the first doc is absolute
	for _, d := range docs[:m] {
		need += uvarintLen(d - prev)
		prev = d
	}
	l := slices.Grow(p.list, need)
	last := p.llast
	if p.list == nil {
		l = binary.AppendUvarint(l, uint64(docs[0]))
		last, docs = docs[0], docs[1:]
		m--
	}
	for _, d := range docs[:m] {
		l = binary.AppendUvarint(l, uint64(d-last))
		last = d
	}
	added := m
	if p.list == nil {
		added++
	}
	p.setList(l)
	p.lcard, p.llast = p.lcard+uint32(added), last
	p.dirty = true
	return added
}

// uvarintLen is the length of the uvarint encoding of v.
func uvarintLen(v uint32) int {
	return (bits.Len32(v|1) + 6) / 7
}

// listMax bounds the docs of a list posting: a query materializes the
// bitmap of the lists it uses (about 20 ns a doc).
const listMax = 2048

// docs appends the doc ids of a list to dst.
func (p *posting) docs(dst []uint32) []uint32 {
	b := p.list
	last := uint32(0)
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		last += uint32(v)
		dst = append(dst, last)
		b = b[n:]
	}
	return dst
}

// bitmap returns the doc set as a bitmap, materialized for a list. Never
// modify the result.
func (p *posting) bitmap() *roaring.Bitmap {
	if p.frozen != nil {
		bm := p.frozenView()
		if p.bm != nil && !p.bm.IsEmpty() {
			bm.Or(p.bm) // copies only the containers it changes
		}
		return bm
	}
	if p.list == nil {
		if p.bm == nil {
			return roaring.New()
		}
		return p.bm
	}
	bm := roaring.New()
	bm.AddMany(p.docs(make([]uint32, 0, p.lcard)))
	return bm
}

// frozenView returns the frozen docs as a bitmap reading the blob in place
// (copy-on-write: modifying the view copies the containers it changes).
func (p *posting) frozenView() *roaring.Bitmap {
	bm := roaring.New()
	if _, err := bm.FromBuffer(p.frozen); err != nil {
		// Blobs are written by serialize or validated when loaded.
		panic(fmt.Sprintf("index: corrupt frozen posting: %v", err))
	}
	return bm
}

// addMany adds ascending docs. Docs larger than every doc of a frozen
// posting join its additions; anything else goes to the bitmap form.
func (p *posting) addMany(docs []uint32) {
	if len(docs) == 0 {
		return
	}
	if p.frozen != nil && docs[0] > p.fmax {
		if p.bm == nil {
			p.bm = roaring.New()
		}
		p.bm.AddMany(docs)
		p.dirty = true
		return
	}
	p.writable().AddMany(docs)
}

// writable returns the bitmap form, converting a list or thawing a frozen
// posting first.
func (p *posting) writable() *roaring.Bitmap {
	p.dirty = true
	if p.frozen != nil {
		bm := p.frozenView()
		if p.bm != nil {
			bm.Or(p.bm)
		}
		// The view's untouched containers still alias the blob; they are
		// copy-on-write, so modifying bm never writes the blob. A mapped
		// blob is copied: the map goes away once no frozen posting uses it.
		if p.mapped {
			bm.CloneCopyOnWriteContainers()
		}
		p.bm, p.frozen, p.fcard, p.fmax, p.mapped = bm, nil, 0, 0, false
		return bm
	}
	if p.bm == nil {
		p.bm = roaring.New()
	}
	if p.list != nil {
		p.bm.AddMany(p.docs(make([]uint32, 0, p.lcard)))
		p.list, p.lcard, p.llast, p.slabList = nil, 0, 0, false
	}
	return p.bm
}

func (p *posting) card() uint64 {
	if p.list != nil {
		return uint64(p.lcard)
	}
	if p.frozen != nil {
		n := uint64(p.fcard)
		if p.bm != nil {
			n += p.bm.GetCardinality() // disjoint: every addition is > fmax
		}
		return n
	}
	if p.bm == nil {
		return 0
	}
	return p.bm.GetCardinality()
}

// frozenOnly reports whether p is frozen with no docs added since.
func (p *posting) frozenOnly() bool {
	return p.frozen != nil && (p.bm == nil || p.bm.IsEmpty())
}

func (p *posting) isEmpty() bool {
	return p.list == nil && p.frozen == nil && (p.bm == nil || p.bm.IsEmpty())
}

// sizeBytes estimates the bytes held by the doc set, and how many of them
// are mapped rather than in the heap.
func (p *posting) sizeBytes() (n, mapped int64) {
	n = int64(len(p.list) + len(p.frozen))
	if p.mapped {
		mapped = int64(len(p.frozen))
	}
	if p.bm != nil {
		n += int64(p.bm.GetSizeInBytes())
	}
	return n, mapped
}

// listSlab holds compact posting lists and tiny frozen blobs: chunks that
// are only ever appended to, so the postings alias them safely. Blobs of
// bigBlob bytes or more get an allocation of their own instead: most frozen
// postings gain docs between compactions and are rewritten, and the
// collector frees a replaced blob, where the slab would keep it as garbage
// until every posting in it moved (they hold no pointers either way).
type listSlab struct {
	chunks [][]byte
}

const (
	listChunk = 1 << 20
	bigBlob   = 1 << 10
)

// put copies b into the slab and returns the copy (capacity len(b)).
func (s *listSlab) put(b []byte) []byte { return s.putRoom(b, 0) }

// putRoom copies b into the slab with room bytes reserved after it, and
// returns the copy (capacity len(b)+room).
func (s *listSlab) putRoom(b []byte, room int) []byte {
	n := len(b) + room
	k := len(s.chunks)
	if k == 0 || len(s.chunks[k-1])+n > cap(s.chunks[k-1]) {
		s.chunks = append(s.chunks, make([]byte, 0, max(listChunk, n)))
		k++
	}
	c := s.chunks[k-1]
	off := len(c)
	c = append(c, b...)
	c = c[:off+n]
	s.chunks[k-1] = c
	return c[off : off+len(b) : off+n]
}

// listRoom is the room reserved after a list put into the slab: about the
// growth expected until the next compaction (see compactGrowth).
func listRoom(n int) int { return n/compactGrowth + 3 }

// used is the number of bytes handed out by the slab.
func (s *listSlab) used() uint64 {
	var n uint64
	for _, c := range s.chunks {
		n += uint64(len(c))
	}
	return n
}

// inSlab reports whether p's settled bytes live in the slab.
func (p *posting) inSlab() bool {
	return (p.list != nil && p.slabList) || (p.frozen != nil && !p.mapped && len(p.frozen) < bigBlob)
}

// settledBytes is the slab space p uses (see inSlab), its room included.
func (p *posting) settledBytes() uint64 {
	if !p.inSlab() {
		return 0
	}
	return uint64(cap(p.list) + len(p.frozen))
}

// containerOverhead is the heap cost of one roaring container beyond its
// data (container struct, interface, key, flags, allocation rounding).
const containerOverhead = 56

// settled is the compacted form of a posting, computed without modifying it
// (settle) and installed under the write lock (install).
type settled struct {
	p            *posting
	list         []byte // list form, or
	lcard, llast uint32
	blob         []byte // frozen form (exact size)
	fcard, fmax  uint32
	mapped       bool // blob is p's mapped blob, kept where it is
	empty        bool
	keep         bool // the list stays where it is, in the slab
}

// settle computes the smaller settled form of dirty p: a list when it holds
// at most listCap docs and the list is smaller than the roaring form, a
// frozen blob otherwise. It only reads p (callers hold Apply's mutex, so no
// one modifies p meanwhile; searches may read it). The scratch buffers are
// reused between calls.
func settle(p *posting, listCap int, scratch *[]byte, docs *[]uint32) settled {
	s := settled{p: p}
	if p.list != nil && int(p.lcard) <= listCap {
		s.list, s.lcard, s.llast, s.keep = p.list, p.lcard, p.llast, p.slabList
		return s
	}
	var bm *roaring.Bitmap
	switch {
	case p.list != nil:
		bm = p.bitmap() // longer than listCap (tests lower it)
	case p.frozenOnly():
		s.blob, s.fcard, s.fmax, s.mapped = p.frozen, p.fcard, p.fmax, p.mapped
		return s
	case p.frozen != nil:
		bm = p.bitmap()
	case p.bm == nil:
		s.empty = true
		return s
	default:
		bm = p.bm
	}
	card := bm.GetCardinality()
	if card == 0 {
		s.empty = true
		return s
	}
	if card <= uint64(listCap) {
		ds := (*docs)[:0]
		bm.Iterate(func(x uint32) bool {
			ds = append(ds, x)
			return true
		})
		*docs = ds
		b := (*scratch)[:0]
		last := uint32(0)
		containers := uint64(0)
		for i, d := range ds {
			if i == 0 || d>>16 != last>>16 {
				containers++
			}
			b = binary.AppendUvarint(b, uint64(d-last))
			last = d
		}
		*scratch = b
		if uint64(len(b)) <= 2*card+containers*(containerOverhead+4) {
			s.list, s.lcard, s.llast = slices.Clone(b), uint32(len(ds)), ds[len(ds)-1]
			return s
		}
	}
	s.blob, s.fcard, s.fmax = serialize(bm), uint32(card), bm.Maximum()
	return s
}

// appendListPortable appends the list's docs in roaring's portable format
// (what bitmap().ToBytes() writes: byte for byte, TestListPortable), without
// building the bitmap: a snapshot writes every list posting this way. A
// list holds at most listMax (< 4096) docs, so every container is an array.
func (p *posting) appendListPortable(dst []byte, docs *[]uint32) []byte {
	ds := p.docs((*docs)[:0])
	*docs = ds
	// Containers: runs of docs sharing their high 16 bits (a list's few
	// thousand docs span at most a few thousand containers).
	var buf [64]int
	ends := buf[:0] // end of each container's run in ds
	for i := range ds {
		if i+1 == len(ds) || ds[i+1]>>16 != ds[i]>>16 {
			ends = append(ends, i+1)
		}
	}
	const (
		cookieNoRuns    = 12346 // roaring's serialCookieNoRunContainer: offsets always follow the headers
		headerPerCont   = 4     // key u16, card-1 u16
		offsetPerCont   = 4
		bytesPerArrayEl = 2
	)
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, cookieNoRuns)
	dst = le.AppendUint32(dst, uint32(len(ends)))
	start := 0
	for _, end := range ends {
		dst = le.AppendUint16(dst, uint16(ds[start]>>16))
		dst = le.AppendUint16(dst, uint16(end-start-1))
		start = end
	}
	off := uint32(8 + len(ends)*(headerPerCont+offsetPerCont))
	start = 0
	for _, end := range ends {
		dst = le.AppendUint32(dst, off)
		off += uint32((end - start) * bytesPerArrayEl)
		start = end
	}
	for _, d := range ds {
		dst = le.AppendUint16(dst, uint16(d))
	}
	return dst
}

// serialize writes bm in the portable roaring format into an exact-size
// allocation.
func serialize(bm *roaring.Bitmap) []byte {
	w := bytes.NewBuffer(make([]byte, 0, bm.GetSerializedSizeInBytes()))
	if _, err := bm.WriteTo(w); err != nil {
		panic(fmt.Sprintf("index: serialize posting: %v", err)) // bytes.Buffer never fails
	}
	return w.Bytes()
}

// install replaces s.p by its settled form, moving small blobs and lists
// into slab.
func (s *settled) install(slab *listSlab) {
	p := s.p
	p.dirty = false
	if s.keep {
		return
	}
	p.bm, p.tail = nil, nil
	p.list, p.lcard, p.llast, p.slabList = nil, 0, 0, false
	p.frozen, p.fcard, p.fmax, p.mapped = nil, 0, 0, false
	switch {
	case s.empty:
	case s.list != nil:
		p.list, p.lcard, p.llast = slab.putRoom(s.list, listRoom(len(s.list))), s.lcard, s.llast
		p.slabList = true
	case s.mapped:
		p.frozen, p.fcard, p.fmax, p.mapped = s.blob, s.fcard, s.fmax, true
	case len(s.blob) < bigBlob:
		p.frozen, p.fcard, p.fmax = slab.put(s.blob), s.fcard, s.fmax
	default:
		p.frozen, p.fcard, p.fmax = s.blob, s.fcard, s.fmax
	}
}

// compactDue reports whether enough entries were added to postings since the
// last compaction (see maybeCompact).
func (ix *Index) compactDue() bool {
	return ix.postAdded > ix.compactMin && ix.postAdded > ix.postCompacted/compactGrowth
}

// compactGrowth: a compaction runs once the entries added since the last one
// exceed 1/compactGrowth of the entries then (geometric, so each entry is
// rewritten a bounded number of times, and at most about 1/compactGrowth of
// the entries wait in unsettled bitmaps).
const compactGrowth = 8

// compactStep bounds the postings, and compactBytes the posting bytes,
// settled per write-lock hold.
const (
	compactStep  = 8192
	compactBytes = 32 << 20
)

// maybeCompact settles the postings modified since the last compaction
// when enough entries were added since then. It runs inside Apply (which
// holds applyMu, so no one else modifies postings): each step computes the
// settled forms of a few postings without the write lock, then takes it
// briefly to install them, so searches interleave. Lists and small blobs go
// to the current slab; when over a quarter of the slab would be garbage
// (replaced blobs and lists), every slab-resident posting moves to a new slab
// and the old one is freed.
func (ix *Index) maybeCompact() {
	// Checked under the read lock first: Apply calls this after every
	// chunk, and a write lock would wait for the searches in flight.
	ix.mu.RLock()
	due := !ix.closed && ix.compactDue()
	ix.mu.RUnlock()
	if !due {
		return
	}
	ix.lockWrite()
	if ix.closed || !ix.compactDue() {
		ix.unlockWrite()
		return
	}
	ix.flushTails()
	ix.postTotal += ix.postAdded
	ix.postAdded, ix.postCompacted = 0, ix.postTotal
	ix.unlockWrite()
	// The scan of every posting (about 100 ms at 2M docs) needs no write
	// lock: postings change only under applyMu, which Apply holds, and
	// searches only read them (and the maps).
	var todo []*posting
	var live uint64
	for fi := range ix.post {
		for _, p := range ix.post[fi] {
			if p.dirty {
				todo = append(todo, p)
			}
			if !p.dirty || p.slabList {
				live += p.settledBytes() // stays in the slab (else garbage)
			}
		}
	}
	used := ix.slab.used()
	moveAll := used > 1<<20 && live < used*3/4
	if moveAll {
		todo = todo[:0]
		for fi := range ix.post {
			for _, p := range ix.post[fi] {
				if p.dirty || p.inSlab() {
					todo = append(todo, p)
				}
			}
		}
		ix.slab = &listSlab{} // used only by Apply: applyMu is enough
	}
	slab := ix.slab
	listCap := ix.compactListMax
	workers := min(2, runtime.GOMAXPROCS(0))
	scratch := make([]settleScratch, workers)
	var step []settled
	for len(todo) > 0 {
		// Settle a step without the write lock: Apply's mutex keeps the
		// postings unchanged, and searches only read them.
		var work int64
		n := 0
		for n < len(todo) && n < compactStep && work < compactBytes {
			if p := todo[n]; p.dirty {
				sz, _ := p.sizeBytes()
				work += sz
			}
			n++
		}
		step = slices.Grow(step[:0], n)[:n]
		settleStep(todo[:n], step, listCap, moveAll, scratch)
		todo = todo[n:]
		ix.lockWrite()
		for i := range step {
			step[i].install(slab)
		}
		ix.unlockWrite()
	}
}

// settleScratch holds one settling goroutine's buffers.
type settleScratch struct {
	b []byte
	d []uint32
}

// settleStep computes into step[i] the settled form of ps[i], on one
// goroutine per scratch: each posting is read by one of them only, and
// none is written (install does that, under the write lock). While a
// compaction runs, Apply waits for it, so spreading it over the cores
// shortens that wait.
func settleStep(ps []*posting, step []settled, listCap int, moveAll bool, scratch []settleScratch) {
	const block = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range scratch {
		sc := &scratch[w]
		wg.Go(func() {
			for {
				lo := int(next.Add(block)) - block
				if lo >= len(ps) {
					return
				}
				for i := lo; i < min(lo+block, len(ps)); i++ {
					p := ps[i]
					if !p.dirty { // moves to the new slab as it is
						step[i] = settled{p: p, list: p.list, lcard: p.lcard, llast: p.llast,
							blob: p.frozen, fcard: p.fcard, fmax: p.fmax, mapped: p.mapped}
						continue
					}
					s := settle(p, listCap, &sc.b, &sc.d)
					s.keep = s.keep && !moveAll
					step[i] = s
				}
			}
		})
	}
	wg.Wait()
}
