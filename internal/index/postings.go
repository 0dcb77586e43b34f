package index

import (
	"encoding/binary"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// posting is the doc-id set of one (field, gram). It has two forms: a
// delta-varint list of doc ids (rare grams: a roaring container costs ~50
// bytes of overhead for a handful of 2-byte entries; the list costs 1-3 bytes
// a doc), or a roaring bitmap. A new gram starts as a list and new docs
// (larger ids) are appended to it until it holds listMax docs (appendList);
// any other modification turns it into a bitmap, and the next compaction
// picks the smaller form again. Compaction moves lists into a shared
// pointer-free slab.
type posting struct {
	bm    *roaring.Bitmap // nil only while empty or in list form
	list  []byte          // non-nil: the compact form (bm is empty); never modified in place
	lcard uint32          // docs in list
	llast uint32          // last (largest) doc in list
	dirty bool            // modified since the last compaction
	tail  []uint32        // ascending docs added during the current Apply chunk
}

// appendList adds doc n, larger than every doc of p, to list-form or empty
// p. It reports false when p must grow as a bitmap instead. An append to a
// list in the slab (capacity == length) copies it first, so the slab is
// never written.
func (p *posting) appendList(n uint32) bool {
	switch {
	case p.list == nil && (p.bm != nil || len(p.tail) > 0):
		return false
	case p.list == nil:
		p.list = binary.AppendUvarint(make([]byte, 0, 8), uint64(n))
		p.lcard, p.llast = 1, n
	case n <= p.llast || p.lcard >= listMax:
		return n == p.llast // the same doc again: nothing to do
	default:
		p.list = binary.AppendUvarint(p.list, uint64(n-p.llast))
		p.lcard++
		p.llast = n
	}
	p.dirty = true
	return true
}

// appendListMany appends ascending docs, each larger than every doc of p,
// to list-form or empty p, while it holds at most listMax docs, with one
// allocation. It returns how many it appended (the rest go to a bitmap).
func (p *posting) appendListMany(docs []uint32) int {
	if p.list == nil && (p.bm != nil || len(p.tail) > 0) {
		return 0
	}
	m := min(len(docs), listMax-int(p.lcard))
	if m <= 0 {
		return 0
	}
	// A list in the slab (capacity == length) is copied, so the slab is
	// never written; a heap list grows in place when it has room.
	l := slices.Grow(p.list, 3*m)
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
	p.list, p.lcard, p.llast = l, p.lcard+uint32(added), last
	p.dirty = true
	return added
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

// writable returns the bitmap form, converting a list first.
func (p *posting) writable() *roaring.Bitmap {
	p.dirty = true
	if p.bm == nil {
		p.bm = roaring.New()
	}
	if p.list != nil {
		p.bm.AddMany(p.docs(make([]uint32, 0, p.lcard)))
		p.list, p.lcard, p.llast = nil, 0, 0
	}
	return p.bm
}

func (p *posting) card() uint64 {
	if p.list != nil {
		return uint64(p.lcard)
	}
	if p.bm == nil {
		return 0
	}
	return p.bm.GetCardinality()
}

func (p *posting) isEmpty() bool { return p.list == nil && (p.bm == nil || p.bm.IsEmpty()) }

// sizeBytes estimates the heap held by the doc set.
func (p *posting) sizeBytes() int64 {
	if p.list != nil {
		return int64(len(p.list))
	}
	if p.bm == nil {
		return 0
	}
	return int64(p.bm.GetSizeInBytes())
}

// listSlab holds compact posting lists: chunks that are only ever appended
// to, so the lists alias them safely.
type listSlab struct {
	chunks [][]byte
}

const listChunk = 1 << 20

// put copies b into the slab and returns the copy (capacity len(b)).
func (s *listSlab) put(b []byte) []byte {
	k := len(s.chunks)
	if k == 0 || len(s.chunks[k-1])+len(b) > cap(s.chunks[k-1]) {
		s.chunks = append(s.chunks, make([]byte, 0, listChunk))
		k++
	}
	c := s.chunks[k-1]
	off := len(c)
	c = append(c, b...)
	s.chunks[k-1] = c
	return c[off:len(c):len(c)]
}

// containerOverhead is the heap cost of one roaring container beyond its
// data (container struct, interface, key, flags, allocation rounding).
const containerOverhead = 56

// compactPosting rewrites the bitmap of p in its smaller form with
// exact-size storage (growing arrays leave up to half of their capacity
// unused). The scratch buffers are reused between calls.
func compactPosting(p *posting, slab *listSlab, scratch *[]byte, docs *[]uint32) {
	p.dirty = false
	if p.list != nil {
		p.list = slab.put(p.list) // exact size, out of the heap
		return
	}
	if p.bm == nil {
		return
	}
	card := p.bm.GetCardinality()
	if card == 0 {
		return
	}
	if card <= listMax {
		ds := (*docs)[:0]
		p.bm.Iterate(func(x uint32) bool {
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
			p.list, p.lcard, p.llast = slab.put(b), uint32(len(ds)), ds[len(ds)-1]
			p.bm = nil
			return
		}
	}
	p.bm = p.bm.Clone()
}

// compactDue reports whether enough entries were added to postings since the
// last compaction (see maybeCompact).
func (ix *Index) compactDue() bool {
	return ix.postAdded > ix.compactMin && ix.postAdded > ix.postCompacted
}

// compactStep is the number of postings compacted per write-lock hold.
const compactStep = 8192

// maybeCompact compacts the posting lists modified since the last compaction
// when enough entries were added since then (geometric schedule: each entry
// is rewritten a bounded number of times). It takes the write lock in short
// steps, so searches interleave. Lists go to the current slab; when more than
// half of the slab is garbage (lists turned back into bitmaps), every list
// moves to a new slab and the old one is freed.
func (ix *Index) maybeCompact() {
	// Checked under the read lock first: Apply calls this after every
	// chunk, and a write lock would wait for the searches in flight.
	ix.mu.RLock()
	due := !ix.closed && ix.compactDue()
	ix.mu.RUnlock()
	if !due {
		return
	}
	ix.mu.Lock()
	if ix.closed || !ix.compactDue() {
		ix.mu.Unlock()
		return
	}
	ix.postAdded = 0
	ix.flushTails()
	var todo []*posting
	var total, live uint64
	for fi := range ix.post {
		for _, p := range ix.post[fi] {
			total += p.card()
			live += uint64(len(p.list))
			if p.dirty {
				todo = append(todo, p)
			}
		}
	}
	var used uint64
	for _, c := range ix.slab.chunks {
		used += uint64(len(c))
	}
	moveAll := used > 1<<20 && live < used/2
	if moveAll {
		todo = todo[:0]
		for fi := range ix.post {
			for _, p := range ix.post[fi] {
				if p.dirty || p.list != nil {
					todo = append(todo, p)
				}
			}
		}
		ix.slab = &listSlab{}
	}
	slab := ix.slab
	ix.postCompacted = total
	ix.mu.Unlock()
	var scratch []byte
	var docs []uint32
	for len(todo) > 0 {
		n := min(compactStep, len(todo))
		ix.mu.Lock()
		ix.flushTails()
		for _, p := range todo[:n] {
			if p.list != nil && !p.dirty {
				if moveAll {
					p.list = slab.put(p.list) // into the new slab, so the old one is freed
				}
				continue
			}
			if p.dirty {
				compactPosting(p, slab, &scratch, &docs)
			}
		}
		ix.mu.Unlock()
		todo = todo[n:]
	}
}
