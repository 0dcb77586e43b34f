package index

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tubelake/tubelake/internal/durable"
	"github.com/tubelake/tubelake/internal/yt"
)

// Snapshot deltas. A full snapshot costs time and I/O in proportion to the
// whole index (9 GB and ~40 s at 10M docs), while between two flushes of a
// running server only a sliver changes: statistics refreshes, new videos,
// a few text edits. So a Flush normally writes a delta: a small immutable
// file holding only what changed since the previous flush, chained to the
// full snapshot (the base) and the delta before it. Deltas merge among
// themselves size-tiered (planDelta). Once they add up to a quarter of the
// base (or maxDeltas of them, or the new docs since the base to a quarter
// of it), the next Flush writes a full snapshot again and deletes the
// deltas: the full merge, which runs in the flushing goroutine while
// searches and statistics refreshes go on.
//
// Delta file layout (integers little-endian or uvarint):
//
//	magic "TLDLT\x00" | version u16 | checkpoint u64
//	chain:    base size u64, base CRC u32, seq u32, CRC of the previous file u32
//	docs:     first new doc, doc count after the delta;
//	          the new docs (as in a full snapshot);
//	          count, then per changed older doc: doc number gap, the doc;
//	          count, then per refreshed older doc: doc number gap, fetched,
//	          textAt, chanAt, views, likes, comments
//	channels: count, then per channel: 1 + JSON (stored) or 0 + id (deleted)
//	postings: per field: count, then per gram: key u64, kind byte
//	          (0 whole posting, 1 docs added: all at or above the first new
//	          doc, 2 deleted), then for kinds 0 and 1 the roaring bytes
//	trailer:  CRC-32C of everything before it (u32)
//
// Every delta names its base by the base file's size and checksum, and its
// predecessor by checksum, so Open applies exactly the chain written on top
// of the base it loaded: a delta left behind by a crash between a merge's
// commit and its clean-up, or after a gap, is ignored.
const (
	deltaPrefix  = "index.delta."
	deltaMagic   = "TLDLT\x00"
	deltaVersion = 1
	deltaDigits  = 8

	// mergeRatio: the deltas together may reach this share of the base
	// before the next Flush merges them into a new full snapshot.
	mergeRatio = 0.25
	// maxDeltas bounds the chain: each delta costs Open a file, and a
	// server flushing every 5 s reaches it in about 85 minutes.
	maxDeltas = 1024
)

// Posting kinds of a delta.
const (
	deltaWhole   = 0
	deltaAdded   = 1
	deltaDeleted = 2
)

// changes records what changed since the cut of the last Flush: every doc
// at or above cut is new; below it, the docs whose statistics were
// refreshed in place (stats, set atomically under the read lock by
// applyStats), the docs changed otherwise (full), the postings whose docs
// below cut changed (a removal, a revival, a text edit), and the channels
// stored or deleted. New docs join postings only as additions above cut,
// which the delta finds from each posting's largest doc.
type changes struct {
	cut   uint32
	stats []uint64
	full  []uint64
	grams [nFields]map[uint64]struct{}
	chans map[string]struct{}
}

func newChanges(cut int) *changes {
	c := &changes{cut: uint32(cut), stats: make([]uint64, (cut+63)/64), full: make([]uint64, (cut+63)/64), chans: map[string]struct{}{}}
	for fi := range c.grams {
		c.grams[fi] = map[uint64]struct{}{}
	}
	return c
}

// markStats records a statistics refresh of doc n (under the read lock;
// the two preparing goroutines may mark neighbours of one word).
func (c *changes) markStats(n uint32) {
	if n < c.cut {
		atomic.OrUint64(&c.stats[n>>6], 1<<(n&63))
	}
}

// markDoc records any other change of doc n. Caller holds ix.mu for writing.
func (ix *Index) markDoc(n uint32) {
	if c := ix.chg; n < c.cut {
		c.full[n>>6] |= 1 << (n & 63)
	}
}

// snapState is the committed snapshot chain in ix.dir: guarded by flushMu
// (and set by load before the index is shared).
type snapState struct {
	baseSize  int64 // 0: no base known, the next Flush writes one
	baseDocs  int   // docs in the base
	forceFull bool  // the next Flush writes a full snapshot (a failed flush, a version 1 base)
	// files are the chain: [0] the base, [i] delta i.
	files []chainFile
	// runs are the deltas written by this process at the chain's tail, by
	// level, oldest (highest level) first: the ones a later delta may
	// merge (see planDelta).
	runs []deltaRun
}

type chainFile struct {
	crc  uint32 // its trailer
	size int64
}

// deltaRun is a run of deltas of one level at the chain's tail: count of
// them from seq first on, acc the union of the changes they hold.
type deltaRun struct {
	level, count int
	first        uint32
	acc          *changes
}

// deltaFanout: this many deltas of one level merge into one of the next
// level (size-tiered, like an LSM tree's merges): a server flushing every
// few seconds keeps a chain of at most deltaFanout deltas per level, and
// each change is rewritten once per level.
const deltaFanout = 8

// seq is the number of deltas in the chain.
func (s *snapState) seq() uint32 { return uint32(max(len(s.files)-1, 0)) }

// deltaBytes is the size of the chain's deltas.
func (s *snapState) deltaBytes() int64 {
	var n int64
	for _, f := range s.files[min(1, len(s.files)):] {
		n += f.size
	}
	return n
}

// fullDue reports whether the next Flush must write a full snapshot, with
// docs docs and deltas allowed up to ratio (mergeRatio) of the base.
func (s *snapState) fullDue(docs int, ratio float64) bool {
	return s.baseSize == 0 || len(s.files) == 0 || s.forceFull || s.seq() >= maxDeltas ||
		float64(s.deltaBytes()) > ratio*float64(s.baseSize) ||
		float64(docs-s.baseDocs) > ratio*float64(max(s.baseDocs, 1))
}

// deltaPlan is the delta a Flush writes: file seq, holding chg; it
// replaces the deltas from seq on (a merge when seq is not the next one)
// and is of the given level. keep is how many runs stay.
type deltaPlan struct {
	seq         uint32
	chg         *changes
	level, keep int
}

// planDelta plans the delta of changes c: a new delta of level 0 unless
// the run of level 0 at the tail holds deltaFanout-1 deltas, in which case
// the new one merges them (the union of their changes and c) into one of
// level 1, and so on up. It may modify the runs' unions: a failed Flush
// forces a full snapshot next, which drops them.
func (s *snapState) planDelta(c *changes) deltaPlan {
	p := deltaPlan{seq: s.seq() + 1, chg: c, keep: len(s.runs)}
	for p.keep > 0 {
		r := s.runs[p.keep-1]
		if r.level != p.level || r.count+1 < deltaFanout {
			break
		}
		p.chg = r.acc.union(p.chg)
		p.seq, p.level = r.first, p.level+1
		p.keep--
	}
	return p
}

// commitDelta records delta p, committed with trailer crc and size, and
// returns the sequence numbers of the delta files it replaced.
func (s *snapState) commitDelta(p deltaPlan, crc uint32, size int64) (replaced []uint32) {
	for q := p.seq + 1; q <= s.seq(); q++ {
		replaced = append(replaced, q)
	}
	s.files = append(s.files[:p.seq], chainFile{crc: crc, size: size})
	s.runs = s.runs[:p.keep]
	if n := len(s.runs); n > 0 && s.runs[n-1].level == p.level {
		r := &s.runs[n-1]
		r.count++
		r.acc = r.acc.union(p.chg)
	} else {
		s.runs = append(s.runs, deltaRun{level: p.level, count: 1, first: p.seq, acc: p.chg})
	}
	return replaced
}

// union adds to a the changes of b, recorded after a's: the docs b found
// below its cut but at or above a's are new docs for a. It returns a.
func (a *changes) union(b *changes) *changes {
	n := min(len(a.stats), len(b.stats))
	for i := range n {
		a.stats[i] |= b.stats[i]
		a.full[i] |= b.full[i]
	}
	if r := a.cut % 64; r != 0 && n == len(a.stats) && n > 0 {
		mask := uint64(1)<<r - 1
		a.stats[n-1] &= mask
		a.full[n-1] &= mask
	}
	for fi := range a.grams {
		for k := range b.grams[fi] {
			a.grams[fi][k] = struct{}{}
		}
	}
	for id := range b.chans {
		a.chans[id] = struct{}{}
	}
	return a
}

func deltaName(seq uint32) string {
	return fmt.Sprintf("%s%0*d", deltaPrefix, deltaDigits, seq)
}

// deltaFiles lists the delta files of dir by sequence number.
func deltaFiles(dir string) (map[uint32]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[uint32]string{}
	for _, e := range ents {
		name := e.Name()
		num, ok := strings.CutPrefix(name, deltaPrefix)
		if !ok || len(num) != deltaDigits {
			continue
		}
		seq, err := strconv.ParseUint(num, 10, 32)
		if err != nil || seq == 0 {
			continue
		}
		out[uint32(seq)] = filepath.Join(dir, name)
	}
	return out, nil
}

// removeDeltas deletes every delta file of ix.dir (after a full snapshot
// was committed: they belong to the base it replaced).
func (ix *Index) removeDeltas() {
	files, err := deltaFiles(ix.dir)
	if err != nil {
		ix.log.Warn("index flush: list deltas", "err", err)
		return
	}
	for _, path := range files {
		if err := os.Remove(path); err != nil {
			ix.log.Warn("index flush: remove delta", "err", err)
		}
	}
	if len(files) > 0 {
		if err := durable.SyncDir(ix.dir); err != nil {
			ix.log.Warn("index flush: sync dir", "err", err)
		}
	}
}

// setBits appends the positions of the bits set in words to dst.
func setBits(dst []uint32, words []uint64) []uint32 {
	for i, w := range words {
		for w != 0 {
			dst = append(dst, uint32(i*64+bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
	return dst
}

// maxDoc returns the largest doc of p, and false when p is empty. Caller
// holds ix.mu.
func (p *posting) maxDoc() (uint32, bool) {
	switch {
	case p.list != nil:
		return p.llast, true
	case p.bm != nil && !p.bm.IsEmpty():
		return p.bm.Maximum(), true // additions of a frozen posting are above fmax
	case p.frozen != nil:
		return p.fmax, true
	}
	return 0, false
}

// encodeDelta writes the changes c (since the last Flush, or since the
// cut of the first delta a merge replaces) as delta seq of the chain st.
// Caller holds ix.mu for reading, and the encode gate: no writer runs, so
// every doc at or above c.cut is new since then.
func (ix *Index) encodeDelta(ctx context.Context, e *encoder, checkpoint uint64, c *changes, st *snapState, seq uint32) error {
	w := e.w
	w.WriteString(deltaMagic)
	binary.Write(w, binary.LittleEndian, uint16(deltaVersion))
	binary.Write(w, binary.LittleEndian, checkpoint)
	binary.Write(w, binary.LittleEndian, uint64(st.baseSize))
	binary.Write(w, binary.LittleEndian, st.files[0].crc)
	binary.Write(w, binary.LittleEndian, seq)
	binary.Write(w, binary.LittleEndian, st.files[seq-1].crc)
	start, end := c.cut, uint32(ix.docs.len())
	e.uvarint(uint64(start))
	e.uvarint(uint64(end))
	for n := start; n < end; n++ {
		if n&65535 == 65535 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ix.encodeDoc(e, n)
	}
	full := setBits(nil, c.full)
	e.uvarint(uint64(len(full)))
	prev := uint32(0)
	for _, n := range full {
		e.uvarint(uint64(n - prev))
		prev = n
		ix.encodeDoc(e, n)
	}
	// A refresh of a doc also changed otherwise is in its full record.
	for i := range c.stats {
		c.stats[i] &^= c.full[i]
	}
	refreshed := setBits(full[:0], c.stats)
	e.uvarint(uint64(len(refreshed)))
	prev = 0
	for i, n := range refreshed {
		if i&65535 == 65535 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e.uvarint(uint64(n - prev))
		prev = n
		d := ix.docs.at(n)
		for _, v := range []int64{atomic.LoadInt64(&d.fetched), atomic.LoadInt64(&d.textAt), atomic.LoadInt64(&d.chanAt),
			atomic.LoadInt64(ix.views.at(n)), atomic.LoadInt64(ix.likes.at(n)), atomic.LoadInt64(ix.comments.at(n))} {
			e.varint(v)
		}
	}
	ids := slices.Sorted(maps.Keys(c.chans))
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		ch := ix.channels[id]
		if ch == nil {
			w.WriteByte(0)
			e.str(id)
			continue
		}
		b, err := json.Marshal(ch)
		if err != nil {
			return err
		}
		w.WriteByte(1)
		e.str(string(b))
	}
	e.postStart = e.pos()
	type entry struct {
		k    uint64
		p    *posting
		kind byte
	}
	var ents []entry
	var lb []byte
	var docs []uint32
	for fi := range ix.post {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := ix.post[fi]
		ents = ents[:0]
		for k, p := range m {
			_, changed := c.grams[fi][k]
			switch mx, ok := p.maxDoc(); {
			case changed || (canMmap && p.frozen != nil && !p.mapped && len(p.frozen) >= bigBlob):
				// Its older docs changed; or compaction froze it anew in
				// the heap since: written whole, it is read from the
				// delta's map afterwards (adopt).
				ents = append(ents, entry{k, p, deltaWhole})
			case ok && mx >= start:
				ents = append(ents, entry{k, p, deltaAdded})
			}
		}
		for k := range c.grams[fi] {
			if m[k] == nil {
				ents = append(ents, entry{k: k, kind: deltaDeleted})
			}
		}
		slices.SortFunc(ents, func(a, b entry) int { return cmp.Compare(a.k, b.k) })
		e.uvarint(uint64(len(ents)))
		for _, en := range ents {
			binary.Write(w, binary.LittleEndian, en.k)
			w.WriteByte(en.kind)
			var bb []byte
			switch en.kind {
			case deltaDeleted:
				continue
			case deltaWhole:
				var err error
				if bb, lb, err = en.p.portable(lb, &docs); err != nil {
					return err
				}
			case deltaAdded:
				var err error
				if bb, err = en.p.addedSince(start, &docs); err != nil {
					return err
				}
			}
			e.uvarint(uint64(len(bb)))
			if en.kind == deltaWhole && en.p.frozen != nil && len(bb) >= bigBlob {
				if off := e.pos(); off >= 0 {
					e.adopt = append(e.adopt, adoptRec{p: en.p, old: en.p.frozen, off: off, n: len(bb)})
				}
			}
			w.Write(bb)
		}
	}
	return nil
}

// portable returns p's docs in roaring's portable format: the frozen blob
// itself when nothing was added to it, else bytes in lb (returned grown)
// or a new serialization. Caller holds ix.mu.
func (p *posting) portable(lb []byte, docs *[]uint32) (bb, lbOut []byte, err error) {
	switch {
	case p.frozenOnly():
		return p.frozen, lb, nil // the same portable format
	case p.list != nil:
		lb = p.appendListPortable(lb[:0], docs)
		return lb, lb, nil
	default:
		bb, err = p.bitmap().ToBytes()
		return bb, lb, err
	}
}

// addedSince serializes p's docs at or above start. Caller holds ix.mu.
func (p *posting) addedSince(start uint32, docs *[]uint32) ([]byte, error) {
	bm := roaring.New()
	if p.list != nil {
		all := p.docs((*docs)[:0])
		*docs = all
		i, _ := slices.BinarySearch(all, start)
		bm.AddMany(all[i:])
	} else {
		it := p.bitmap().Iterator()
		it.AdvanceIfNeeded(start)
		buf := (*docs)[:0]
		for it.HasNext() {
			buf = append(buf, it.Next())
			if len(buf) == cap(buf) && len(buf) >= 4096 {
				bm.AddMany(buf)
				buf = buf[:0]
			}
		}
		bm.AddMany(buf)
		*docs = buf
	}
	bm.RunOptimize()
	return bm.ToBytes()
}

// loadDeltas applies the delta chain of ix.dir on top of the base just
// decoded (st describes it) and returns how many it applied. A delta that
// does not continue the chain (left by a crash after a merge, or after a
// gap) is ignored; a damaged one fails Open.
func (ix *Index) loadDeltas(st *snapState) error {
	files, err := deltaFiles(ix.dir)
	if err != nil {
		return err
	}
	for seq := uint32(1); ; seq++ {
		path, ok := files[seq]
		if !ok {
			break
		}
		delete(files, seq)
		applied, err := ix.loadDelta(path, st)
		if err != nil {
			return fmt.Errorf("index open %s: %w", path, err)
		}
		if !applied {
			ix.log.Warn("index open: delta not of this snapshot chain, ignored", "path", path)
			break
		}
	}
	for _, path := range files {
		ix.log.Warn("index open: delta not of this snapshot chain, ignored", "path", path)
	}
	return nil
}

// errNotChained marks a delta written on top of another snapshot.
var errNotChained = errors.New("delta of another snapshot chain")

// loadDelta applies one delta file if it continues the chain st.
func (ix *Index) loadDelta(path string, st *snapState) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	if size < int64(len(deltaMagic))+2+8+8+4+4+4+4 {
		return false, errors.New("delta truncated")
	}
	m, err := mapRange(f, 0, size, false)
	if err != nil {
		return false, err
	}
	data := m.data[:size]
	sum := binary.LittleEndian.Uint32(data[size-4:])
	if crc32.Checksum(data[:size-4], crcTable) != sum {
		m.close()
		return false, errors.New("delta checksum mismatch")
	}
	dec := &decoder{r: &memReader{b: data[:size-4]}}
	postStart, kept, err := ix.decodeDelta(dec, st, !m.heap)
	if err != nil {
		m.close()
		if errors.Is(err, errNotChained) {
			return false, nil
		}
		return false, err
	}
	if m.heap || !kept {
		m.close() // no posting reads it
	} else {
		m.drop(postStart)
		ix.maps = append(ix.maps, m)
	}
	st.files = append(st.files, chainFile{crc: sum, size: size})
	return true, nil
}

// decodeDelta applies a delta (see encodeDelta) and returns the offset of
// its postings section, and whether a posting kept a blob of it (mapped).
func (ix *Index) decodeDelta(dec *decoder, st *snapState, mapped bool) (postStart int64, kept bool, err error) {
	r := dec.r
	hdr, err := r.view(len(deltaMagic) + 2 + 8 + 8 + 4 + 4 + 4)
	if err != nil || string(hdr[:len(deltaMagic)]) != deltaMagic {
		return 0, false, errors.New("not an index delta")
	}
	h := hdr[len(deltaMagic):]
	if v := binary.LittleEndian.Uint16(h); v != deltaVersion {
		return 0, false, fmt.Errorf("delta version %d, this build reads %d", v, deltaVersion)
	}
	cp := binary.LittleEndian.Uint64(h[2:])
	baseSize, baseCRC := binary.LittleEndian.Uint64(h[10:]), binary.LittleEndian.Uint32(h[18:])
	seq, prevCRC := binary.LittleEndian.Uint32(h[22:]), binary.LittleEndian.Uint32(h[26:])
	if baseSize != uint64(st.baseSize) || baseCRC != st.files[0].crc || seq != st.seq()+1 || prevCRC != st.files[st.seq()].crc {
		return 0, false, errNotChained
	}
	start, end := dec.uvarint(), dec.uvarint()
	if dec.err != nil {
		return 0, false, dec.err
	}
	if start != uint64(ix.docs.len()) || end < start || end > 1<<32-2 || end-start > dec.left()/minDocBytes {
		return 0, false, fmt.Errorf("delta adds docs %d..%d to %d docs", start, end, ix.docs.len())
	}
	var tags []string
	for n := start; n < end && dec.err == nil; n++ {
		if err := ix.decodeDoc(dec, 0, false, snapVersion, &tags); err != nil {
			return 0, false, err
		}
	}
	// Changed and refreshed older docs: ascending doc numbers below start.
	older := func(what string, fn func(n uint32) error) error {
		cnt := dec.uvarint()
		if cnt > dec.left() {
			return fmt.Errorf("%d %s docs in %d bytes", cnt, what, dec.left())
		}
		n := uint64(0)
		for i := uint64(0); i < cnt && dec.err == nil; i++ {
			gap := dec.uvarint()
			if i > 0 && gap == 0 || n+gap >= start {
				return fmt.Errorf("%s doc %d of %d docs", what, n+gap, start)
			}
			n += gap
			if err := fn(uint32(n)); err != nil {
				return err
			}
		}
		return dec.err
	}
	if err := older("changed", func(n uint32) error { return ix.decodeDoc(dec, n, true, snapVersion, &tags) }); err != nil {
		return 0, false, err
	}
	if err := older("refreshed", func(n uint32) error {
		d := ix.docs.at(n)
		d.fetched, d.textAt, d.chanAt = dec.varint(), dec.varint(), dec.varint()
		*ix.views.at(n), *ix.likes.at(n), *ix.comments.at(n) = dec.varint(), dec.varint(), dec.varint()
		return nil
	}); err != nil {
		return 0, false, err
	}
	nCh := dec.uvarint()
	for i := uint64(0); i < nCh && dec.err == nil; i++ {
		switch dec.byte1() {
		case 0:
			delete(ix.channels, dec.tmpStr())
		case 1:
			b := dec.view(1 << 24)
			var c yt.Channel
			if dec.err == nil {
				if err := json.Unmarshal(b, &c); err != nil {
					return 0, false, err
				}
				ix.channels[c.ID] = &c
			}
		default:
			if dec.err == nil {
				return 0, false, errors.New("bad channel entry")
			}
		}
	}
	postStart = int64(dec.r.off)
	var docs []uint32
	for fi := range ix.post {
		ng := dec.uvarint()
		if ng > dec.left()/9 {
			return 0, false, fmt.Errorf("%d postings in %d bytes", ng, dec.left())
		}
		m := ix.post[fi]
		for i := uint64(0); i < ng && dec.err == nil; i++ {
			kb, err := dec.r.view(8)
			if err != nil {
				return 0, false, err
			}
			k := binary.LittleEndian.Uint64(kb)
			kind := dec.byte1()
			if kind == deltaDeleted {
				delete(m, k)
				continue
			}
			b := dec.view(1 << 31)
			if dec.err != nil {
				break
			}
			switch kind {
			case deltaWhole:
				p, err := ix.loadPosting(b, mapped, uint64(ix.docs.len()))
				if err != nil {
					return 0, false, fmt.Errorf("posting %x: %w", k, err)
				}
				m[k] = p
				ix.postTotal += p.card()
				kept = kept || p.mapped
			case deltaAdded:
				bm := roaring.New()
				if _, err := bm.FromBuffer(b); err != nil {
					return 0, false, fmt.Errorf("posting %x: %w", k, err)
				}
				if err := bm.Validate(); err != nil {
					return 0, false, fmt.Errorf("posting %x: %w", k, err)
				}
				if bm.IsEmpty() || bm.Minimum() < uint32(start) || uint64(bm.Maximum()) >= end {
					return 0, false, fmt.Errorf("posting %x: added docs outside %d..%d", k, start, end)
				}
				p := m[k]
				if p == nil {
					p = &posting{}
					m[k] = p
				} else if mx, ok := p.maxDoc(); ok && mx >= bm.Minimum() {
					return 0, false, fmt.Errorf("posting %x: added docs overlap its docs", k)
				}
				docs = bm.ToArray()
				if j := p.appendListMany(docs); j < len(docs) {
					p.addMany(docs[j:])
				}
				ix.postAdded += uint64(len(docs))
			default:
				return 0, false, fmt.Errorf("posting %x: kind %d", k, kind)
			}
		}
	}
	if dec.err != nil {
		return 0, false, dec.err
	}
	if dec.left() != 0 {
		return 0, false, fmt.Errorf("%d bytes after the delta's postings", dec.left())
	}
	ix.checkpoint.Store(cp)
	return postStart, kept, nil
}
