package index

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync/atomic"
	"unsafe"
)

// blockSize is the number of docs per rank block.
const blockSize = 128

const noBlock = ^uint32(0)

// ranked is a doc order by one sort key (views or published_at), descending
// as of the last rebuild, cut in blocks of blockSize docs. Each block keeps an
// upper and a lower bound of the CURRENT keys of its docs: a key update only
// widens the bounds of the doc's block (O(1), no reordering), so the bounds
// stay exact bounds and top-k stays exact, while early termination (skip every
// block whose bound cannot beat the k-th hit) degrades gracefully until the
// next background rebuild re-sorts. Docs added since the rebuild sit in tail
// blocks in arrival order.
type ranked struct {
	order    []uint32 // doc ids, block b = order[b*blockSize : (b+1)*blockSize]
	bmax     []int64
	bmin     []int64
	docBlock []uint32     // doc -> block, noBlock if absent
	loosened atomic.Int64 // bound widenings and tail appends since the rebuild
}

// set records key as the current key of doc.
func (r *ranked) set(doc uint32, key int64) {
	for int(doc) >= len(r.docBlock) {
		r.docBlock = append(r.docBlock, noBlock)
	}
	b := r.docBlock[doc]
	if b == noBlock {
		if len(r.order)%blockSize == 0 {
			r.bmax = append(r.bmax, key)
			r.bmin = append(r.bmin, key)
		}
		b = uint32(len(r.order) / blockSize)
		r.order = append(r.order, doc)
		r.docBlock[doc] = b
		r.loosened.Add(1)
	}
	r.widenBlock(b, key)
}

// has reports whether doc has a block.
func (r *ranked) has(doc uint32) bool {
	return int(doc) < len(r.docBlock) && r.docBlock[doc] != noBlock
}

// widen widens the bounds of the block of doc (which has one, see has) to
// cover key. It is safe under the read lock: the bounds are only ever
// widened, with compare-and-swap, and searches load them atomically.
func (r *ranked) widen(doc uint32, key int64) { r.widenBlock(r.docBlock[doc], key) }

func (r *ranked) widenBlock(b uint32, key int64) {
	for {
		m := atomic.LoadInt64(&r.bmax[b])
		if key <= m {
			break
		}
		if atomic.CompareAndSwapInt64(&r.bmax[b], m, key) {
			r.loosened.Add(1)
			break
		}
	}
	for {
		m := atomic.LoadInt64(&r.bmin[b])
		if key >= m {
			break
		}
		if atomic.CompareAndSwapInt64(&r.bmin[b], m, key) {
			r.loosened.Add(1)
			break
		}
	}
}

// bounds loads the bounds of block b (see widen).
func (r *ranked) bounds(b int) (bmax, bmin int64) {
	return atomic.LoadInt64(&r.bmax[b]), atomic.LoadInt64(&r.bmin[b])
}

func (r *ranked) block(b int) []uint32 {
	return r.order[b*blockSize : min((b+1)*blockSize, len(r.order))]
}

func (r *ranked) needsRebuild() bool {
	return r.loosened.Load() > int64(rebuildAfter(len(r.order)))
}

// rebuildAfter is how many bound widenings and tail appends an order of n
// docs takes before it is rebuilt.
func rebuildAfter(n int) int { return n/8 + 1024 }

// rebuildDue reports, under the read lock, whether maybeRebuildLocked would
// start a rebuild.
func (ix *Index) rebuildDue() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return !ix.rebuilding && !ix.closed && (ix.rankViews.needsRebuild() || ix.rankPub.needsRebuild())
}

type docKey struct {
	doc uint32
	key int64
}

// buildRanked sorts pairs by key descending (ties by doc ascending) and
// cuts blocks. nDocs sizes docBlock. scratch (may be nil) is a buffer the
// sort may use; buildRanked returns one the caller may pass to the next
// call (the views and the published orders are built one after the other:
// at 10M docs each buffer is 160 MB).
func buildRanked(pairs []docKey, nDocs int, scratch []docKey) (*ranked, []docKey) {
	sorted, spare := sortRankPairs(pairs, scratch)
	pairs = sorted
	// Room for the docs that arrive until the next rebuild (it starts
	// after at most rebuildAfter of them; twice that, for margin), so that
	// appending them under the write lock copies nothing: without it, the
	// first new doc after a swap copied both arrays (80 MB an order at 10M
	// docs) under the lock.
	room := 2*rebuildAfter(len(pairs)) + blockSize
	r := &ranked{
		order:    make([]uint32, len(pairs), len(pairs)+room),
		docBlock: make([]uint32, nDocs, nDocs+room),
	}
	for i := range r.docBlock {
		r.docBlock[i] = noBlock
	}
	nb := (len(pairs) + blockSize - 1) / blockSize
	r.bmax = make([]int64, nb, nb+room/blockSize+1)
	r.bmin = make([]int64, nb, nb+room/blockSize+1)
	for i, p := range pairs {
		b := i / blockSize
		r.order[i] = p.doc
		r.docBlock[p.doc] = uint32(b)
		if i%blockSize == 0 {
			r.bmax[b] = p.key
		}
		r.bmin[b] = p.key
	}
	return r, spare
}

// sortRankPairs sorts pairs by key descending, ties by doc ascending, and
// returns the sorted pairs (in pairs or in scratch, or a buffer of its own
// when scratch is too short) and the other buffer, free after. Pairs
// gathered in ascending doc order (as appendRankPairs does) take a stable
// LSD radix sort on the key, byte by byte, skipping the bytes all keys
// share: at 10M docs it is several times faster than a comparison sort,
// and a rank rebuild runs every 1/8 growth of a bulk load. Other input
// falls back to a comparison sort.
func sortRankPairs(pairs, scratch []docKey) (sorted, spare []docKey) {
	asc := true
	for i := 1; i < len(pairs) && asc; i++ {
		asc = pairs[i-1].doc < pairs[i].doc
	}
	if !asc || len(pairs) < 1024 {
		slices.SortFunc(pairs, func(a, b docKey) int {
			if c := cmp.Compare(b.key, a.key); c != 0 {
				return c
			}
			return cmp.Compare(a.doc, b.doc)
		})
		return pairs, scratch
	}
	// radixKey orders keys descending as unsigned integers ascending.
	radixKey := func(k int64) uint64 { return ^(uint64(k) ^ 1<<63) }
	var counts [8][256]int
	for _, p := range pairs {
		k := radixKey(p.key)
		for d := range 8 {
			counts[d][byte(k>>(8*d))]++
		}
	}
	if cap(scratch) < len(pairs) {
		scratch = make([]docKey, len(pairs))
	}
	src, dst := pairs, scratch[:len(pairs)]
	for d := range 8 {
		c := &counts[d]
		if c[byte(radixKey(pairs[0].key)>>(8*d))] == len(pairs) {
			continue // every key has the same byte d
		}
		at := 0
		for b, n := range c {
			c[b] = at
			at += n
		}
		for _, p := range src {
			b := byte(radixKey(p.key) >> (8 * d))
			dst[c[b]] = p
			c[b]++
		}
		src, dst = dst, src
	}
	return src, dst
}

// maybeRebuildLocked starts a background re-sort of the rank orders when
// their bounds got loose. Caller holds ix.mu for writing.
func (ix *Index) maybeRebuildLocked() {
	if ix.rebuilding || ix.closed || !(ix.rankViews.needsRebuild() || ix.rankPub.needsRebuild()) {
		return
	}
	// From here on every key change and new doc is recorded in pending and
	// replayed at the swap, so the keys can be read in short read-locked
	// chunks: holding the write lock over 10M docs stalled searches for
	// ~0.7 s at 10M docs.
	ix.rebuilding = true
	ix.pending = ix.pending[:0]
	nDocs, live := ix.docs.len(), ix.live
	ix.bg.Add(1)
	go func() {
		defer ix.bg.Done()
		pv, pp := ix.rankPairsChunked(nDocs, live)
		rv, spare := buildRanked(pv, nDocs, nil) // pv is free after, maybe as spare
		rp, _ := buildRanked(pp, nDocs, spare)
		// Replay the docs that changed meanwhile into the new orders
		// (private until the swap) under the read lock first: during a
		// bulk load they are hundreds of thousands of new docs, and
		// replaying them all under the write lock stalled searches for
		// up to half a second at 10M docs. An entry is in pending only
		// after its new keys are stored (applyStats, rankSet), and a
		// later change appends it again, so the write-locked replay of
		// what is left finishes the job.
		done := 0
		for {
			ix.mu.RLock()
			ix.pendMu.Lock()
			batch := ix.pending[done:len(ix.pending):len(ix.pending)]
			ix.pendMu.Unlock()
			ix.replayRank(rv, rp, batch)
			ix.mu.RUnlock()
			done += len(batch)
			if len(batch) < replayTail {
				break
			}
		}
		ix.lockWrite()
		defer ix.unlockWrite()
		ix.replayRank(rv, rp, ix.pending[done:])
		rv.loosened.Store(0)
		rp.loosened.Store(0)
		ix.rankViews, ix.rankPub = rv, rp
		ix.pending = nil
		ix.rebuilding = false
		ix.rebuilds.Add(1)
	}()
}

// replayTail is the fewest pending docs worth another read-locked replay
// pass before the write-locked one (see maybeRebuildLocked).
const replayTail = 4096

// replayRank sets the current keys of the alive docs ns in rv and rp.
// Caller holds ix.mu.
func (ix *Index) replayRank(rv, rp *ranked, ns []uint32) {
	for _, n := range ns {
		if ix.docs.at(n).alive {
			rv.set(n, ix.viewsOf(n))
			rp.set(n, *ix.pub.at(n))
		}
	}
}

// rankPairsChunked reads the sort keys of docs below nDocs in chunks, each
// under the read lock. Only valid while ix.rebuilding: a key that changes
// after its chunk was read is in ix.pending.
func (ix *Index) rankPairsChunked(nDocs, live int) (pv, pp []docKey) {
	pv = make([]docKey, 0, live)
	pp = make([]docKey, 0, live)
	const chunk = 1 << 16
	for lo := 0; lo < nDocs; lo += chunk {
		ix.mu.RLock()
		pv, pp = ix.appendRankPairs(pv, pp, lo, min(lo+chunk, nDocs))
		ix.mu.RUnlock()
	}
	return pv, pp
}

func (ix *Index) rankPairsLocked() (pv, pp []docKey) {
	return ix.appendRankPairs(make([]docKey, 0, ix.live), make([]docKey, 0, ix.live), 0, ix.docs.len())
}

// appendRankPairs appends the (doc, views) and (doc, published) pairs of the
// alive docs in [lo, hi). Caller holds ix.mu.
func (ix *Index) appendRankPairs(pv, pp []docKey, lo, hi int) ([]docKey, []docKey) {
	for i := lo; i < hi; i++ {
		if ix.docs.at(uint32(i)).alive {
			pv = append(pv, docKey{uint32(i), ix.viewsOf(uint32(i))})
			pp = append(pp, docKey{uint32(i), *ix.pub.at(uint32(i))})
		}
	}
	return pv, pp
}

// rebuildNowLocked re-sorts the rank orders synchronously (Open, tests).
func (ix *Index) rebuildNowLocked() {
	pv, pp := ix.rankPairsLocked()
	var spare []docKey
	ix.rankViews, spare = buildRanked(pv, ix.docs.len(), nil)
	ix.rankPub, _ = buildRanked(pp, ix.docs.len(), spare)
}

func decodeJSONStrings(s string) ([]string, error) {
	var out []string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }
