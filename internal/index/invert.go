package index

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/tubelake/tubelake/internal/yt"
)

// Batch inversion. Adding a new doc's grams one by one costs a lookup in
// the field's gram map per gram (about 220 grams a generated doc, a cache
// miss each at 10M docs) under the write lock. A chunk of new docs shares
// most of its grams: 4096 generated docs hold ~29 distinct grams per doc.
// prepareChunk therefore groups the grams of the chunk's new-doc records by
// gram OUTSIDE the write lock (one goroutine per field), and applyChunk then
// looks each distinct gram up once and appends its docs in ascending order,
// again one goroutine per field (each field has its own gram map).

// inversion is the grams of a chunk's new-doc candidates grouped by gram,
// per field.
type inversion struct {
	fields [nFields]invGroups
}

// invGroups lists, per distinct gram of one field, the chunk records whose
// text holds it: grams[j] is in recs[start[j]:start[j+1]] (ascending).
type invGroups struct {
	grams []uint64
	start []uint32
	recs  []uint16
}

// bulkChunk is the chunk size of big Apply batches: large enough that the
// grams of its new docs repeat (fewer gram lookups per doc), small enough
// that its write-lock hold stays in the tens of milliseconds. Chunks that
// cannot be inverted release the write lock every applyChunk records.
const bulkChunk = 4096

// invMin is the fewest new-doc candidates worth grouping.
const invMin = 64

// invEligible reports which records of a chunk go into its inversion:
// video records whose video the chunk's preparation did not find and whose
// texts were prepared. The chunk must hold only video records and no video
// twice (a later record of a video created in the same chunk must see its
// postings), so a chunk with anything else returns nil.
func invEligible(recs []yt.Record, cp *chunkPrep) []bool {
	if len(recs) > 1<<16 {
		return nil
	}
	// A new-doc candidate: texts prepared, video not found, not applied yet.
	cand := func(i int) bool { return cp.p[i] != nil && cp.doc[i] == 0 && !cp.done[i] }
	n := 0
	for i := range recs {
		if cand(i) {
			n++
		}
	}
	if n < invMin {
		return nil // also every chunk of statistics refreshes: no map built
	}
	in := make([]bool, len(recs))
	seen := make(map[string]struct{}, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.Kind != yt.KindVideo || r.Video == nil {
			return nil
		}
		if _, dup := seen[r.Video.ID]; dup {
			return nil
		}
		seen[r.Video.ID] = struct{}{}
		in[i] = cand(i)
	}
	return in
}

// invert groups the grams of the records in[i] of the chunk.
// The inversion comes from invs and goes back with chunkPrep.release.
func invert(ps []*prepared, in []bool) *inversion {
	inv := invs.Get().(*inversion)
	var wg sync.WaitGroup
	for fi := range nFields {
		wg.Go(func() {
			t := gramTables.Get().(*gramTable)
			t.group(&inv.fields[fi], ps, in, fi)
			gramTables.Put(t)
		})
	}
	wg.Wait()
	return inv
}

var invs = sync.Pool{New: func() any { return &inversion{} }}

var gramTables = sync.Pool{New: func() any { return &gramTable{} }}

// gramTable is an open-addressing hash table from gram to group slot,
// reused between chunks.
type gramTable struct {
	ents  []gramEnt
	grams []uint64 // per slot
	count []uint32 // per slot
	pairs []int32  // slot of each counted (record, gram), in record order
	prec  []uint16 // record of each counted pair
	shift uint
}

// gramEnt is a table entry: one cache line access finds the gram, its
// slot and the last record counted for it (a gram may repeat in a text).
type gramEnt struct {
	key  uint64 // 0 = empty (no gram key is 0: normalized text has no U+0000)
	slot int32
	last int32
}

const gramMul = 0x9e3779b97f4a7c15

func (t *gramTable) reset(size int) {
	n := 1 << 10
	for n < size {
		n <<= 1
	}
	// Pooled tables serve fields of very different sizes: keep the
	// largest array and clear only the part this field uses.
	if cap(t.ents) < n {
		t.ents = make([]gramEnt, n)
	} else {
		t.ents = t.ents[:n]
		clear(t.ents)
	}
	t.shift = uint(64 - bits.TrailingZeros(uint(len(t.ents))))
	t.grams, t.count, t.pairs, t.prec = t.grams[:0], t.count[:0], t.pairs[:0], t.prec[:0]
}

// find returns the entry of gram g, adding it.
func (t *gramTable) find(g uint64) *gramEnt {
	mask := uint64(len(t.ents) - 1)
	for h := (g * gramMul) >> t.shift; ; h = (h + 1) & mask {
		e := &t.ents[h]
		switch e.key {
		case g:
			return e
		case 0:
			if 2*(len(t.grams)+1) > len(t.ents) {
				t.grow()
				return t.find(g)
			}
			*e = gramEnt{key: g, slot: int32(len(t.grams)), last: -1}
			t.grams = append(t.grams, g)
			t.count = append(t.count, 0)
			return e
		}
	}
}

func (t *gramTable) grow() {
	old := t.ents
	t.ents = make([]gramEnt, 2*len(old))
	t.shift--
	mask := uint64(len(t.ents) - 1)
	for _, e := range old {
		if e.key == 0 {
			continue
		}
		h := (e.key * gramMul) >> t.shift
		for t.ents[h].key != 0 {
			h = (h + 1) & mask
		}
		t.ents[h] = e
	}
}

// group builds into g (reusing its arrays) the groups of field fi.
func (t *gramTable) group(g *invGroups, ps []*prepared, in []bool, fi int) {
	pairs := 0
	for i, p := range ps {
		if in[i] {
			pairs += len(p.grams[fi])
		}
	}
	g.grams, g.start, g.recs = g.grams[:0], g.start[:0], g.recs[:0]
	if pairs == 0 {
		return
	}
	t.reset(pairs / 4) // ~13 % of the pairs are distinct grams; load stays <= 1/2
	for i, p := range ps {
		if !in[i] {
			continue
		}
		for _, g := range p.grams[fi] {
			e := t.find(g)
			if e.last == int32(i) {
				continue // the same gram again in this text
			}
			e.last = int32(i)
			t.count[e.slot]++
			t.pairs = append(t.pairs, e.slot)
			t.prec = append(t.prec, uint16(i))
		}
	}
	g.grams = append(g.grams, t.grams...)
	g.start = slices.Grow(g.start, len(t.grams)+1)[:len(t.grams)+1]
	g.start[0] = 0
	g.recs = slices.Grow(g.recs, len(t.pairs))[:len(t.pairs)]
	for s, c := range t.count {
		g.start[s+1] = g.start[s] + c
	}
	// The pairs are in record order, so each gram's records land ascending.
	next := t.count // reused as the fill cursor of each slot
	for s := range next {
		next[s] = g.start[s]
	}
	for q, s := range t.pairs {
		g.recs[next[s]] = t.prec[q]
		next[s]++
	}
}

// applyInversion adds the docs created from the chunk's inverted records to
// the postings of their grams: one gram lookup per distinct gram of the
// chunk. created[i] is the doc number + 1 of the doc record i created (0:
// none, its postings were handled by applyVideo); chanDirect[i]: its
// channel field was indexed directly (another channel title applied).
// It works in invParts parts, each a share of every field's grams, and
// calls yield between them: the whole inversion of a 4096-doc chunk held
// the write lock for tens of milliseconds. The new docs' filter postings
// (channel, category, language) are added beside the first part. Caller
// holds ix.mu for writing.
func (ix *Index) applyInversion(inv *inversion, created []uint32, chanDirect []bool, yield func()) {
	ix.flushTails()
	var added [nFields]uint64
	for part := range invParts {
		if part > 0 {
			yield()
		}
		var wg sync.WaitGroup
		if part == 0 {
			wg.Go(func() { ix.addFiltersMany(created) })
		}
		for fi := range nFields {
			g := &inv.fields[fi]
			lo, hi := part*len(g.grams)/invParts, (part+1)*len(g.grams)/invParts
			wg.Go(func() { added[fi] += ix.invertField(fi, g, lo, hi, created, chanDirect) })
		}
		wg.Wait()
	}
	for _, a := range added {
		ix.postAdded += a
	}
}

// invParts is the number of write-lock holds a chunk's inversion is cut in.
const invParts = 4

// invertField adds the docs of groups from..to-1 of one field to its
// postings. It touches only that field's gram map and postings, so the
// fields run in parallel. It returns the entries added.
func (ix *Index) invertField(fi int, g *invGroups, from, to int, created []uint32, chanDirect []bool) uint64 {
	var docs []uint32
	var added uint64
	var sink uint64
	var ps [gatherGrams]*posting
	m := ix.post[fi]
	for lo := from; lo < to; lo += gatherGrams {
		grams := g.grams[lo:min(lo+gatherGrams, to)]
		// Gather: each gram's posting is a chain of cold cache lines (map
		// slot, posting, bitmap, its last container and the container's
		// end). Walking them for a group of grams in tight loops lets the
		// CPU overlap the misses of different grams before the appends.
		for j, gram := range grams {
			ps[j] = m[gram]
		}
		for _, p := range ps[:len(grams)] {
			switch {
			case p == nil:
			case p.bm != nil && !p.bm.IsEmpty():
				sink += uint64(p.bm.Maximum())
			case len(p.list) > 0:
				sink += uint64(p.list[len(p.list)-1])
			case len(p.frozen) > 0:
				sink += uint64(p.frozen[len(p.frozen)-1])
			}
		}
		for j, gram := range grams {
			k := lo + j
			docs = docs[:0]
			for _, r := range g.recs[g.start[k]:g.start[k+1]] {
				if n := created[r]; n != 0 && (fi != fChannel || !chanDirect[r]) {
					docs = append(docs, n-1)
				}
			}
			if len(docs) == 0 {
				continue
			}
			p := ps[j]
			if p == nil {
				p = &posting{}
				m[gram] = p
			}
			if i := p.appendListMany(docs); i < len(docs) {
				p.addMany(docs[i:])
			}
			added += uint64(len(docs))
		}
	}
	runtime.KeepAlive(sink)
	return added
}

// gatherGrams is how many grams invertField looks up and touches at once.
const gatherGrams = 16
