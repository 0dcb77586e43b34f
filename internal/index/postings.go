package index

import (
	"encoding/binary"

	"github.com/RoaringBitmap/roaring/v2"
)

// posting is the doc-id set of one (field, gram). It has two forms: a
// roaring bitmap (mutable), or, after compaction, when it is smaller and has
// at most listMax docs, a delta-varint list of doc ids in a shared
// pointer-free slab (rare grams: a roaring container costs ~50 bytes of
// overhead for a handful of 2-byte entries; the list costs 1-3 bytes a doc).
// A modification turns a list back into a bitmap; the next compaction picks
// the smaller form again.
type posting struct {
	bm    *roaring.Bitmap // nil only while empty or in list form
	list  []byte          // non-nil: the compact form (bm is empty); never modified in place
	lcard uint32          // docs in list
	tail  []uint32        // ascending docs added during the current Apply chunk
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
	var buf [listMax]uint32
	bm := roaring.New()
	bm.AddMany(p.docs(buf[:0]))
	return bm
}

// writable returns the bitmap form, converting a list first.
func (p *posting) writable() *roaring.Bitmap {
	if p.bm == nil {
		p.bm = roaring.New()
	}
	if p.list != nil {
		var buf [listMax]uint32
		p.bm.AddMany(p.docs(buf[:0]))
		p.list, p.lcard = nil, 0
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

// compactPosting rewrites p in its smaller form with exact-size storage
// (growing arrays leave up to half of their capacity unused). scratch is
// reused between calls.
func compactPosting(p *posting, slab *listSlab, scratch *[]byte) {
	if p.list != nil {
		*scratch = append((*scratch)[:0], p.list...)
		p.list = slab.put(*scratch)
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
		var buf [listMax]uint32
		n := p.bm.ManyIterator().NextMany(buf[:card])
		b := (*scratch)[:0]
		last := uint32(0)
		for _, d := range buf[:n] {
			b = binary.AppendUvarint(b, uint64(d-last))
			last = d
		}
		*scratch = b
		if uint64(len(b)) <= p.bm.GetSizeInBytes()+p.bm.Stats().Containers*containerOverhead {
			p.list, p.lcard = slab.put(b), uint32(n)
			p.bm = nil
			return
		}
	}
	p.bm = p.bm.Clone()
}

// postingEntries counts the entries added to postings since the last
// compaction (see maybeCompact).
func (ix *Index) compactDue() bool {
	return ix.postAdded > ix.compactMin && ix.postAdded > ix.postCompacted/2
}

// compactStep is the number of postings compacted per write-lock hold.
const compactStep = 8192

// maybeCompact compacts every posting list when enough entries were added
// since the last compaction (geometric schedule: each entry is rewritten a
// bounded number of times). It takes the write lock in short steps, so
// searches interleave. A new slab replaces the old one; the old slab is freed
// once no list refers to it.
func (ix *Index) maybeCompact() {
	ix.mu.Lock()
	if ix.closed || !ix.compactDue() {
		ix.mu.Unlock()
		return
	}
	ix.postAdded = 0
	var all []*posting
	for fi := range ix.post {
		for _, p := range ix.post[fi] {
			all = append(all, p)
		}
	}
	slab := &listSlab{}
	var scratch []byte
	ix.mu.Unlock()
	var total uint64
	for len(all) > 0 {
		n := min(compactStep, len(all))
		ix.mu.Lock()
		ix.flushTails()
		for _, p := range all[:n] {
			compactPosting(p, slab, &scratch) // lists move to the new slab, so the old one is freed
			total += p.card()
		}
		ix.mu.Unlock()
		all = all[n:]
	}
	ix.mu.Lock()
	ix.postCompacted = total
	ix.mu.Unlock()
}
