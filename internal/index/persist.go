package index

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tubelake/tubelake/internal/durable"
	"github.com/tubelake/tubelake/internal/yt"
)

// Snapshot file layout, version 3 (all integers little-endian or uvarint):
//
//	magic "TLIDX\x00" | version u16 | checkpoint u64
//	docs:      count, then per doc its strings (id, channel id, channel
//	           title, category, language, duration), its text record as
//	           the text arena holds it (normalized title, tags and
//	           description, each with the patch rebuilding the raw text,
//	           and the thumbnail; empty: none), times, columns, liveness
//	channels:  count, then per channel its JSON
//	postings:  per field: count, then (gram key u64, len, roaring bytes)
//	trailer:   file offset of the postings section (u64), then the CRC-32C
//	           of everything before it (u32)
//
// The postings offset lets Open decode the postings while it decodes the
// docs. Version 2 stored each doc's raw texts (and normalized ones where
// they differ), whose patches Open recomputed, and no offset; version 1
// also lacked the trigram postings, which are added on load. Filter bitmaps
// and rank orders are derived on load.
const (
	snapName    = "index.snap"
	snapMagic   = "TLIDX\x00"
	snapVersion = 3
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Flush makes the index's state durable in its directory, recording
// checkpoint, the last stream sequence the caller applied. It writes a
// delta of what changed since the previous Flush (see delta.go) or, when
// none can be chained or the deltas have grown, a full snapshot that
// replaces the base and its deltas. Either is crash-safe: temp file, fsync,
// rename, fsync dir. Searches continue during Flush, statistics refreshes
// too (they take the read lock); other writes wait for its encoding. Once
// the file is committed, the frozen postings it holds are read from its
// memory map (adopt).
func (ix *Index) Flush(ctx context.Context, checkpoint uint64) error {
	return ix.flush(ctx, checkpoint, flushAuto)
}

// FlushFull is Flush always writing a full snapshot (merging any deltas).
func (ix *Index) FlushFull(ctx context.Context, checkpoint uint64) error {
	return ix.flush(ctx, checkpoint, flushFull)
}

// FlushDelta is Flush writing a delta whenever the chain can take one,
// even when the deltas have grown enough for a full snapshot: a quick
// flush before a shutdown (the next Flush merges).
func (ix *Index) FlushDelta(ctx context.Context, checkpoint uint64) error {
	return ix.flush(ctx, checkpoint, flushDelta)
}

// Flush modes: the merge policy's choice, always full, a delta if possible.
const (
	flushAuto = iota
	flushFull
	flushDelta
)

func (ix *Index) flush(ctx context.Context, checkpoint uint64, mode int) error {
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	if ix.dir == "" {
		ix.checkpoint.Store(checkpoint)
		return nil
	}
	if err := os.MkdirAll(ix.dir, 0o755); err != nil {
		return fmt.Errorf("index flush: %w", err)
	}
	start := time.Now()
	name := snapName
	tmp, err := os.CreateTemp(ix.dir, snapName+".tmp-*")
	if err != nil {
		return fmt.Errorf("index flush: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()           // no-op after the close below
	h := crc32.New(crcTable)
	var written countWriter
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, h, &written), 1<<20)
	// The file offset of the next byte: what reached the file plus what
	// waits in the buffer.
	e := &encoder{w: bw, pos: func() int64 { return written.n + int64(bw.Buffered()) }}
	st := &ix.snap
	// Writers wait at the gate, not on ix.mu, so searches go on (see
	// lockWrite). Holding it, the cut (under the write lock) and the
	// encoding see the same docs.
	ix.encodeGate.Lock()
	ix.lockMu()
	closed := ix.closed
	prev := ix.chg
	docs := ix.docs.len()
	var full bool
	switch mode {
	case flushFull:
		full = true
	case flushDelta:
		full = st.fullDue(docs, math.Inf(1))
	default:
		full = st.fullDue(docs, ix.mergeRatio)
	}
	if !closed {
		ix.chg = newChanges(docs)
	}
	ix.unlockWrite()
	var plan deltaPlan
	if !full {
		plan = st.planDelta(prev)
		name = deltaName(plan.seq)
	}
	ix.mu.RLock()
	if closed || ix.closed {
		err = ErrClosed
	} else {
		if ix.flushHook != nil {
			ix.flushHook()
		}
		if full {
			err = ix.encode(ctx, e, checkpoint)
		} else {
			err = ix.encodeDelta(ctx, e, checkpoint, plan.chg, st, plan.seq)
		}
	}
	ix.mu.RUnlock()
	ix.encodeGate.Unlock()
	if err == nil {
		err = bw.Flush()
	}
	size := e.pos() + 4
	sum := h.Sum32()
	if err == nil {
		err = binary.Write(tmp, binary.LittleEndian, sum)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(ix.dir, name))
	}
	if err == nil {
		err = durable.SyncDir(ix.dir)
	}
	if err != nil {
		// The changes since the last cut are no longer tracked (and the
		// file may be half there): only a full snapshot is sure to hold
		// them.
		st.forceFull = true
		return fmt.Errorf("index flush: %w", err)
	}
	if full {
		*st = snapState{baseSize: size, baseDocs: docs, files: []chainFile{{crc: sum, size: size}}}
		ix.removeDeltas()
	} else if replaced := st.commitDelta(plan, sum, size); len(replaced) > 0 {
		// Merged: the deltas after it are replaced (a crash before they are
		// gone leaves them unchained to the new one: ignored by Open).
		for _, q := range replaced {
			if err := os.Remove(filepath.Join(ix.dir, deltaName(q))); err != nil {
				ix.log.Warn("index flush: remove merged delta", "err", err)
			}
		}
		if err := durable.SyncDir(ix.dir); err != nil {
			ix.log.Warn("index flush: sync dir", "err", err)
		}
	}
	ix.snapDeltas.Store(int64(st.seq()))
	ix.snapBytes.Store(st.baseSize + st.deltaBytes())
	ix.checkpoint.Store(checkpoint)
	// The snapshot is committed; reading its frozen postings from its map
	// is a memory saving, not part of the commit.
	if err := ix.adopt(tmp, e.adopt, e.postStart, size-4); err != nil {
		ix.log.Warn("index flush: frozen postings stay in the heap", "err", err)
	}
	if err := tmp.Close(); err != nil {
		ix.log.Warn("index flush: close snapshot", "err", err)
	}
	ix.log.Info("index flushed", "checkpoint", checkpoint, "file", name, "bytes", size,
		"deltas", st.seq(), "seconds", time.Since(start).Seconds())
	return nil
}

// Chain reports the committed snapshot chain: the deltas on top of the
// full snapshot and the bytes of all of it (cheap, unlike Stats).
func (ix *Index) Chain() (deltas int, bytes int64) {
	return int(ix.snapDeltas.Load()), ix.snapBytes.Load()
}

// FlushKind reports what the next Flush will write: "delta" or "full".
func (ix *Index) FlushKind() string {
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	ix.mu.RLock()
	docs := ix.docs.len()
	ix.mu.RUnlock()
	if ix.snap.fullDue(docs, ix.mergeRatio) {
		return "full"
	}
	return "delta"
}

// adoptRec is a frozen posting written by a Flush: its blob at encode time
// and where the snapshot holds the posting (the blob, or the blob and the
// docs added since, in one bitmap).
type adoptRec struct {
	p   *posting
	old []byte
	off int64
	n   int
}

// adoptStep bounds the postings swapped per write-lock hold.
const adoptStep = 8192

// adopt makes the frozen postings a Flush just wrote read their blobs from
// a memory map of the snapshot (f, whose postings section starts at
// postStart and ends at end) instead of the heap, and unmaps the maps of
// earlier snapshots that no posting reads any more. A posting whose frozen
// blob changed since it was encoded (compacted, thawed) keeps its own; one
// that gained docs since keeps them as its additions. It holds Apply's
// mutex, so postings change only here; the swaps are installed under the
// write lock, a step at a time, so searches interleave.
func (ix *Index) adopt(f *os.File, recs []adoptRec, postStart, end int64) error {
	ix.applyMu.Lock()
	defer ix.applyMu.Unlock()
	ix.mu.RLock()
	closed := ix.closed
	ix.mu.RUnlock()
	if closed {
		return nil
	}
	var m *mapping
	if len(recs) > 0 && postStart >= 0 && end > postStart {
		var err error
		if m, err = mapRange(f, postStart, end-postStart, true); err != nil {
			return err
		}
		if m.heap { // no mmap on this platform: a heap copy saves nothing
			m.close()
			m = nil
		}
	}
	type swap struct {
		p           *posting
		blob        []byte
		fcard, fmax uint32
		rest        *roaring.Bitmap
	}
	var swaps []swap
	adopted := 0
	for m != nil && len(recs) > 0 {
		n := min(len(recs), adoptStep)
		swaps = swaps[:0]
		for _, r := range recs[:n] {
			p := r.p
			if !sameBytes(p.frozen, r.old) || len(p.tail) > 0 {
				continue // settled or thawed since
			}
			blob := m.slice(r.off, r.n)
			view := roaring.New()
			if _, err := view.FromBuffer(blob); err != nil || view.IsEmpty() {
				return fmt.Errorf("posting written at offset %d: %v", r.off, err)
			}
			s := swap{p: p, blob: blob, fcard: uint32(view.GetCardinality()), fmax: view.Maximum()}
			if p.bm != nil && !p.bm.IsEmpty() {
				// The docs added since the encoding stay additions. The
				// snapshot holds a subset of p's docs (frozen blob unchanged,
				// additions only grow), so equal counts mean equal sets.
				s.rest = p.bm.Clone()
				s.rest.RemoveRange(0, uint64(s.fmax)+1)
				if s.rest.IsEmpty() {
					s.rest = nil
				}
			}
			extra := uint64(0)
			if s.rest != nil {
				extra = s.rest.GetCardinality()
			}
			if uint64(s.fcard)+extra != p.card() {
				continue // an addition below the written maximum (a text edit of an older doc)
			}
			swaps = append(swaps, s)
		}
		recs = recs[n:]
		ix.lockWrite()
		for _, s := range swaps {
			s.p.frozen, s.p.fcard, s.p.fmax, s.p.bm, s.p.mapped = s.blob, s.fcard, s.fmax, s.rest, true
		}
		ix.unlockWrite()
		adopted += len(swaps)
	}
	if m != nil {
		ix.maps = append(ix.maps, m)
	}
	ix.releaseMaps()
	ix.statsMu.Lock()
	ix.statsAt = time.Time{} // the heap estimate changed: Stats measures again
	ix.statsMu.Unlock()
	if m != nil {
		ix.log.Debug("index flush: frozen postings mapped", "postings", adopted, "bytes", len(m.data))
	}
	return nil
}

// sameBytes reports whether a and b are the same slice of memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// releaseMaps unmaps every snapshot map no posting reads any more. The
// caller holds Apply's mutex (postings change only under it) and flushMu.
func (ix *Index) releaseMaps() {
	if len(ix.maps) == 0 {
		return
	}
	used := make([]bool, len(ix.maps))
	for fi := range ix.post {
		for _, p := range ix.post[fi] {
			if !p.mapped {
				continue
			}
			for i, m := range ix.maps {
				if !used[i] && m.contains(p.frozen) {
					used[i] = true
					break
				}
			}
		}
	}
	var drop []*mapping
	keep := ix.maps[:0]
	for i, m := range ix.maps {
		if used[i] {
			keep = append(keep, m)
		} else {
			drop = append(drop, m)
		}
	}
	ix.maps = keep
	if len(drop) == 0 {
		return
	}
	// A search that read a dropped map before its postings moved has ended
	// once the write lock is ours (searches hold the read lock throughout).
	ix.lockWrite()
	ix.unlockWrite()
	for _, m := range drop {
		if err := m.close(); err != nil {
			ix.log.Warn("index: unmap snapshot", "err", err)
		}
	}
}

// countWriter counts the bytes written through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

type encoder struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
	pos func() int64 // file offset of the next byte written

	postStart int64      // file offset of the postings section
	adopt     []adoptRec // frozen postings written (see adopt)
}

func (e *encoder) uvarint(v uint64) {
	n := binary.PutUvarint(e.buf[:], v)
	e.w.Write(e.buf[:n])
}

func (e *encoder) varint(v int64) {
	n := binary.PutVarint(e.buf[:], v)
	e.w.Write(e.buf[:n])
}

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.w.WriteString(s)
}

func (ix *Index) encode(ctx context.Context, e *encoder, checkpoint uint64) error {
	w := e.w
	w.WriteString(snapMagic)
	binary.Write(w, binary.LittleEndian, uint16(snapVersion))
	binary.Write(w, binary.LittleEndian, checkpoint)
	e.uvarint(uint64(ix.docs.len()))
	for i := range ix.docs.len() {
		if i&65535 == 65535 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ix.encodeDoc(e, uint32(i))
	}
	ids := slices.Sorted(maps.Keys(ix.channels))
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		b, err := json.Marshal(ix.channels[id])
		if err != nil {
			return err
		}
		e.str(string(b))
	}
	var bb, lb []byte
	var docs []uint32
	e.postStart = e.pos()
	for fi := range ix.post {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := ix.post[fi]
		keys := slices.Sorted(maps.Keys(m))
		e.uvarint(uint64(len(keys)))
		for _, k := range keys {
			p := m[k]
			var err error
			if bb, lb, err = p.portable(lb, &docs); err != nil {
				return err
			}
			binary.Write(w, binary.LittleEndian, k)
			e.uvarint(uint64(len(bb)))
			if p.frozen != nil && len(bb) >= bigBlob {
				e.adopt = append(e.adopt, adoptRec{p: p, old: p.frozen, off: e.pos(), n: len(bb)})
			}
			w.Write(bb)
		}
	}
	return binary.Write(w, binary.LittleEndian, uint64(e.postStart))
}

// encodeDoc writes doc n (what decodeDoc reads).
func (ix *Index) encodeDoc(e *encoder, n uint32) {
	w := e.w
	d := ix.docs.at(n)
	for _, s := range []string{ix.docID(n), ix.strs.str(d.chanID), ix.strs.str(d.chanTitle), ix.strs.str(d.catID), ix.strs.str(d.lang), ix.strs.str(d.dur)} {
		e.str(s)
	}
	if d.text == noText {
		e.uvarint(0)
	} else {
		b := ix.arena.rec(d.text)
		b = b[:recLen(b)]
		e.uvarint(uint64(len(b)))
		w.Write(b)
	}
	for _, v := range []int64{atomic.LoadInt64(&d.fetched), atomic.LoadInt64(&d.textAt), atomic.LoadInt64(&d.chanAt), d.tomb,
		atomic.LoadInt64(ix.views.at(n)), atomic.LoadInt64(ix.likes.at(n)), atomic.LoadInt64(ix.comments.at(n)), *ix.pub.at(n)} {
		e.varint(v)
	}
	if d.alive {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
}

type decoder struct {
	r     *memReader
	err   error
	start int // where the postings section started (decodePostings)
}

// memReader reads a snapshot from memory (its map).
type memReader struct {
	b   []byte
	off int
}

func (r *memReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

func (r *memReader) ReadByte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// view returns the next n bytes in place.
func (r *memReader) view(n int) ([]byte, error) {
	if n > len(r.b)-r.off {
		return nil, io.ErrUnexpectedEOF
	}
	b := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return b, nil
}

// tmpStr reads a string in place: it aliases the snapshot's bytes, so it
// must be copied wherever it is kept (the per-doc strings are: interned,
// encoded into the text arena, patched). Allocating each one was a sixth of
// the time to open a 10M-doc snapshot.
func (d *decoder) tmpStr() string { return aliasString(d.view(1 << 30)) }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	d.err = err
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(d.r)
	d.err = err
	return v
}

// length reads a length prefix of at most maxLen.
func (d *decoder) length(maxLen uint64) (uint64, bool) {
	n := d.uvarint()
	if d.err != nil {
		return 0, false
	}
	if n > maxLen {
		d.err = fmt.Errorf("length %d exceeds %d", n, maxLen)
		return 0, false
	}
	if left := d.left(); n > left {
		// Checked before anything is allocated for it.
		d.err = fmt.Errorf("length %d exceeds the %d bytes left", n, left)
		return 0, false
	}
	return n, true
}

// left is the number of bytes not read yet.
func (d *decoder) left() uint64 { return uint64(len(d.r.b) - d.r.off) }

// The fewest bytes a doc (9 empty strings, no tags, 4 normalized-text
// flags, 8 one-byte varints, the alive flag) and a posting (key, length,
// the smallest roaring blob: cookie and container count) take in a
// snapshot: counts read from a damaged file are checked against them
// before anything is allocated for them.
const (
	minDocBytes     = 9 + 1 + 4 + 8 + 1
	minPostingBytes = 8 + 1 + 8
)

// view reads a length-prefixed byte string in place (it aliases the
// snapshot's map).
func (d *decoder) view(maxLen uint64) []byte {
	n, ok := d.length(maxLen)
	if !ok {
		return nil
	}
	b, err := d.r.view(int(n))
	d.err = err
	return b
}

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	b, err := d.r.ReadByte()
	d.err = err
	return b
}

// load reads the snapshot of ix.dir, if any, into the empty index. The
// file is read through a memory map, which the frozen postings keep
// reading in place (see mapping); the pages of the rest are dropped from
// the resident set once decoded.
func (ix *Index) load() error {
	path := filepath.Join(ix.dir, snapName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index open: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("index open: %w", err)
	}
	size := st.Size()
	if size < int64(len(snapMagic))+14 {
		return fmt.Errorf("index open %s: snapshot truncated", path)
	}
	m, err := mapRange(f, 0, size, false)
	if err != nil {
		return fmt.Errorf("index open %s: %w", path, err)
	}
	data := m.data[:size]
	if crc32.Checksum(data[:size-4], crcTable) != binary.LittleEndian.Uint32(data[size-4:]) {
		m.close()
		return fmt.Errorf("index open %s: snapshot checksum mismatch", path)
	}
	dec := &decoder{r: &memReader{b: data[:size-4]}}
	postStart, err := ix.decode(dec, !m.heap)
	if err != nil {
		m.close()
		return fmt.Errorf("index open %s: %w", path, err)
	}
	if m.heap {
		m.close() // the frozen blobs were copied
	} else {
		m.drop(postStart)
		ix.maps = append(ix.maps, m)
	}
	crc := binary.LittleEndian.Uint32(data[size-4:])
	chain := snapState{baseSize: size, baseDocs: ix.docs.len(), forceFull: ix.snap.forceFull, files: []chainFile{{crc: crc, size: size}}}
	if err := ix.loadDeltas(&chain); err != nil {
		for _, m := range ix.maps {
			m.close()
		}
		ix.maps = nil
		return err
	}
	ix.snap = chain
	ix.snapDeltas.Store(int64(chain.seq()))
	ix.snapBytes.Store(chain.baseSize + chain.deltaBytes())
	ix.finishLoad()
	ix.log.Info("index loaded", "docs", ix.live, "deltas", chain.seq(), "checkpoint", ix.checkpoint.Load())
	return nil
}

// finishLoad derives what a snapshot does not hold (the live count,
// filters, buckets and rank orders) once the base and its deltas are read,
// and starts tracking changes for the next Flush.
func (ix *Index) finishLoad() {
	ix.live = 0
	for n := range ix.docs.len() {
		if ix.docs.at(uint32(n)).alive {
			ix.live++
			ix.addBuckets(uint32(n))
		}
	}
	ix.addFiltersBulk()
	ix.rebuildNowLocked()
	ix.chg = newChanges(ix.docs.len())
}

// decode reads a snapshot into the empty index and returns the file offset
// of its postings section. Frozen posting blobs alias the decoder's bytes
// when mapped, else they are copied.
func (ix *Index) decode(dec *decoder, mapped bool) (int64, error) {
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(dec.r, magic); err != nil || string(magic) != snapMagic {
		return 0, errors.New("not an index snapshot")
	}
	var ver uint16
	var cp uint64
	if err := binary.Read(dec.r, binary.LittleEndian, &ver); err != nil {
		return 0, err
	}
	if ver < 1 || ver > snapVersion {
		return 0, fmt.Errorf("snapshot version %d, this build reads 1 to %d", ver, snapVersion)
	}
	if err := binary.Read(dec.r, binary.LittleEndian, &cp); err != nil {
		return 0, err
	}
	var postDec *decoder
	if ver >= 3 {
		// The trailer gives the postings offset: the docs end there.
		b := dec.r.b
		if len(b)-dec.r.off < 8 {
			return 0, errors.New("snapshot truncated")
		}
		off := binary.LittleEndian.Uint64(b[len(b)-8:])
		if off < uint64(dec.r.off) || off > uint64(len(b)-8) {
			return 0, fmt.Errorf("postings offset %d outside the snapshot", off)
		}
		postDec = &decoder{r: &memReader{b: b[:len(b)-8], off: int(off)}}
		dec.r.b = b[:off]
	}
	nDocs := dec.uvarint()
	if nDocs > 1<<32-2 || nDocs > dec.left()/minDocBytes {
		return 0, fmt.Errorf("%d docs in a snapshot of %d bytes", nDocs, len(dec.r.b))
	}
	ix.docs.reset(int(nDocs))
	ix.views.reset(int(nDocs))
	ix.likes.reset(int(nDocs))
	ix.comments.reset(int(nDocs))
	ix.pub.reset(int(nDocs))
	ix.thash.reset(int(nDocs))
	ix.idBytes.reset(int(nDocs))
	var postErr error
	var wg sync.WaitGroup
	if postDec != nil {
		// The postings touch nothing the docs do (the gram maps and the
		// slab, not the docs, strings, ids or arena).
		wg.Go(func() { postErr = ix.decodePostings(postDec, mapped, nDocs) })
	}
	err := ix.decodeDocs(dec, nDocs, ver)
	if postDec == nil {
		postDec = dec
		if err == nil {
			postErr = ix.decodePostings(dec, mapped, nDocs)
		}
	}
	wg.Wait()
	if err == nil {
		err = postErr
	}
	if err == nil && (dec.left() != 0 || postDec.left() != 0) {
		err = fmt.Errorf("%d bytes after the channels, %d after the postings", dec.left(), postDec.left())
	}
	if err != nil {
		return 0, err
	}
	ix.postCompacted = ix.postTotal
	if ver == 1 {
		ix.addTrigramPostings()
		ix.snap.forceFull = true // no delta on top of a version 1 file
	}
	ix.checkpoint.Store(cp)
	return int64(postDec.start), nil
}

// decodeDocs reads nDocs docs of a snapshot of version ver, then its
// channels.
func (ix *Index) decodeDocs(dec *decoder, nDocs uint64, ver uint16) error {
	var tags []string
	for i := uint64(0); i < nDocs && dec.err == nil; i++ {
		if err := ix.decodeDoc(dec, 0, false, ver, &tags); err != nil {
			return err
		}
	}
	nCh := dec.uvarint()
	for i := uint64(0); i < nCh && dec.err == nil; i++ {
		b := dec.view(1 << 24)
		var c yt.Channel
		if dec.err == nil {
			if err := json.Unmarshal(b, &c); err != nil {
				return err
			}
			ix.channels[c.ID] = &c
		}
	}
	return dec.err
}

// decodePostings reads the postings section (of a snapshot of nDocs docs).
func (ix *Index) decodePostings(dec *decoder, mapped bool, nDocs uint64) error {
	dec.start = dec.r.off
	for fi := range ix.post {
		ng := dec.uvarint()
		if ng > dec.left()/minPostingBytes {
			return fmt.Errorf("%d postings in %d bytes", ng, dec.left())
		}
		m := make(map[uint64]*posting, ng)
		for i := uint64(0); i < ng && dec.err == nil; i++ {
			kb, err := dec.r.view(8)
			if err != nil {
				return err
			}
			k := binary.LittleEndian.Uint64(kb)
			b := dec.view(1 << 31)
			if dec.err != nil {
				break
			}
			p, err := ix.loadPosting(b, mapped, nDocs)
			if err != nil {
				return fmt.Errorf("posting %x: %w", k, err)
			}
			m[k] = p
			ix.postTotal += p.card()
		}
		ix.post[fi] = m
	}
	return dec.err
}

// decodeDoc reads a doc written by encodeDoc (of snapshot version ver)
// into a new slot, or with replace over doc n (whose video id it must
// hold: a snapshot delta's changed doc). Filters, buckets and the live
// count are derived once everything is read (finishLoad).
func (ix *Index) decodeDoc(dec *decoder, n uint32, replace bool, ver uint16, tags *[]string) error {
	if ver < 3 {
		return ix.decodeDocV2(dec, n, replace, tags)
	}
	// The strings alias the snapshot (tmpStr) and are copied where kept:
	// interned (strs.id clones new strings), the id table, the text arena.
	var f [6]string // id, chanID, chanTitle, catID, lang, dur
	for j := range f {
		f[j] = dec.tmpStr()
	}
	rec := dec.view(1 << 30)
	if dec.err != nil {
		return nil // the caller reports dec.err
	}
	if len(rec) > 0 {
		if err := validRec(rec); err != nil {
			return fmt.Errorf("video %q: text record: %w", f[0], err)
		}
	}
	n, err := ix.decodeDocFields(dec, n, replace, f[0], f[1], f[2], f[3], f[4], f[5])
	if err != nil {
		return err
	}
	d := ix.docs.at(n)
	if len(rec) > 0 {
		ix.putRec(n, rec) // copied into the arena
	} else if d.text != noText {
		ix.arena.garbage += int64(recLen(ix.arena.rec(d.text)))
		d.text = noText
	}
	return nil
}

// decodeDocFields puts a decoded doc in a new slot, or over doc n when
// replacing (it must hold video id), sets its interned strings and reads
// its times, columns and liveness. It returns the doc.
func (ix *Index) decodeDocFields(dec *decoder, n uint32, replace bool, id, chanID, chanTitle, catID, lang, dur string) (uint32, error) {
	if !replace {
		n = ix.newSlot(id)
	} else if got := ix.docID(n); got != id {
		return 0, fmt.Errorf("doc %d is video %q in the snapshot, %q in its delta", n, got, id)
	}
	d := ix.docs.at(n)
	d.chanID, d.chanTitle, d.catID, d.lang, d.dur = ix.strs.id(chanID), ix.strs.id(chanTitle), ix.strs.id(catID), ix.strs.id(lang), ix.strs.id(dur)
	d.fetched, d.textAt, d.chanAt, d.tomb = dec.varint(), dec.varint(), dec.varint(), dec.varint()
	*ix.views.at(n), *ix.likes.at(n), *ix.comments.at(n), *ix.pub.at(n) = dec.varint(), dec.varint(), dec.varint(), dec.varint()
	d.alive = dec.byte1() == 1
	return n, nil
}

// decodeDocV2 reads a doc of a version 1 or 2 snapshot: raw texts (and
// normalized ones where they differ), whose patches it computes.
func (ix *Index) decodeDocV2(dec *decoder, n uint32, replace bool, tags *[]string) error {
	// Every string of a doc aliases the snapshot (tmpStr) and is copied
	// where it is kept: interned (strs.id, which clones new strings), the
	// id table, the text arena (setRec).
	var f [9]string // id, title, desc, chanID, chanTitle, catID, lang, thumb, dur
	for j := range f {
		f[j] = dec.tmpStr()
	}
	nt := dec.uvarint()
	if nt > 1<<20 {
		return errors.New("too many tags")
	}
	*tags = (*tags)[:0]
	for j := uint64(0); j < nt && dec.err == nil; j++ {
		*tags = append(*tags, dec.tmpStr())
	}
	var r textRec
	orig := [nFields]string{f[1], "", f[4], f[2]}
	for fi := range r.norm {
		if dec.byte1() == 0 {
			r.norm[fi] = orig[fi]
		} else {
			r.norm[fi] = dec.tmpStr()
		}
	}
	if dec.err != nil {
		return nil // the caller reports dec.err
	}
	n, err := ix.decodeDocFields(dec, n, replace, f[0], f[3], f[4], f[5], f[6], f[8])
	if err != nil {
		return err
	}
	d := ix.docs.at(n)
	if d.alive || f[1] != "" || f[2] != "" || len(*tags) > 0 || r.norm != [nFields]string{} || f[7] != "" {
		ix.patchBuf = ix.patchBuf[:0]
		r.patch[fTitle] = ix.patch(r.norm[fTitle], f[1])
		r.patch[fTags] = ix.tagsPatch(r.norm[fTags], *tags)
		r.patch[fDesc] = ix.patch(r.norm[fDesc], f[2])
		r.thumb = f[7]
		ix.setRec(n, &r)
	} else if d.text != noText {
		ix.arena.garbage += int64(recLen(ix.arena.rec(d.text)))
		d.text = noText
	}
	return nil
}

// addFiltersBulk files every alive doc under its channel, category and
// language keys (what addFilters does doc by doc), one key at a time: the
// docs are grouped by interned string with a counting sort (ascending docs
// within a key), so each filter posting grows in one run. Filing doc by doc
// touched a random posting per doc and key: a fifth of the time to open a
// 10M-doc snapshot.
func (ix *Index) addFiltersBulk() {
	// String id 0 is the empty string, also when the table is still empty
	// (no doc had a channel, category or language).
	nStr := max(len(ix.strs.strs), 1)
	start := make([]uint32, nStr+1)
	next := make([]uint32, nStr)
	order := make([]uint32, ix.live)
	one := func(s string, fn func(k string)) { fn(s) }
	for _, f := range []struct {
		m    map[string]*posting
		id   func(d *doc) uint32
		keys func(s string, fn func(k string)) // the filter keys of interned string s
	}{
		{ix.byChannel, func(d *doc) uint32 { return d.chanID }, one},
		{ix.byCategory, func(d *doc) uint32 { return d.catID }, one},
		{ix.byLang, func(d *doc) uint32 { return d.lang }, langFilterKeys},
	} {
		clear(start)
		for n := range ix.docs.len() {
			if d := ix.docs.at(uint32(n)); d.alive {
				start[f.id(d)+1]++
			}
		}
		for i := 1; i < len(start); i++ {
			start[i] += start[i-1]
		}
		copy(next, start)
		for n := range ix.docs.len() {
			if d := ix.docs.at(uint32(n)); d.alive {
				k := f.id(d)
				order[next[k]] = uint32(n)
				next[k]++
			}
		}
		for id := 1; id < len(start)-1; id++ { // id 0 is the empty string: no key
			if docs := order[start[id]:start[id+1]]; len(docs) > 0 {
				f.keys(ix.strs.str(uint32(id)), func(k string) {
					for _, n := range docs {
						postAdd(f.m, k, n) // ignores the empty key
					}
				})
			}
		}
	}
}

// addTrigramPostings adds the trigram postings a version 1 snapshot lacks
// (queries look trigrams up, so without them they would miss these docs).
func (ix *Index) addTrigramPostings() {
	var g []uint64
	for n := range ix.docs.len() {
		if !ix.docs.at(uint32(n)).alive {
			continue
		}
		for fi := range nFields {
			norm := ix.norm(uint32(n), fi)
			g = uniqGrams(appendTrigrams(g[:0], norm))
			if len(g) > 0 {
				ix.addText(fi, uint32(n), norm, g)
			}
		}
	}
	ix.flushTails()
}

// loadPosting makes the settled posting of a serialized bitmap read from a
// snapshot: a list when it is small, else the blob, frozen, after validating
// it: b itself when it lies in the snapshot's map (mapped), else a copy.
func (ix *Index) loadPosting(b []byte, mapped bool, nDocs uint64) (*posting, error) {
	bm := roaring.New()
	if _, err := bm.FromBuffer(b); err != nil {
		return nil, err
	}
	if err := bm.Validate(); err != nil {
		return nil, err
	}
	if !bm.IsEmpty() && uint64(bm.Maximum()) >= nDocs {
		return nil, fmt.Errorf("doc %d beyond the %d docs", bm.Maximum(), nDocs)
	}
	p := &posting{bm: bm, dirty: true}
	var s settled
	if card := bm.GetCardinality(); card > uint64(ix.compactListMax) {
		s = settled{p: p, blob: b, fcard: uint32(card), fmax: bm.Maximum(), mapped: mapped}
		if !mapped {
			s.blob = slices.Clone(b)
		}
	} else {
		var scratch []byte
		var docs []uint32
		s = settle(p, ix.compactListMax, &scratch, &docs)
	}
	s.install(ix.slab)
	return p, nil
}
