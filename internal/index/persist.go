package index

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tubelake/tubelake/internal/yt"
)

// Snapshot file layout (all integers little-endian or uvarint):
//
//	magic "TLIDX\x00" | version u16 | checkpoint u64
//	docs:      count, then per doc its strings, times, columns, flags
//	channels:  count, then per channel its JSON
//	postings:  per field: count, then (gram key u64, len, roaring bytes)
//	trailer:   CRC-32C of everything before it (u32)
//
// Filter bitmaps and rank orders are derived on load.
const (
	snapName    = "index.snap"
	snapMagic   = "TLIDX\x00"
	snapVersion = 2 // 2: ASCII trigram postings; version 1 files get them on load
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Flush writes a crash-safe snapshot of the index to its directory (temp file,
// fsync, rename, fsync dir) recording checkpoint, the last stream sequence the
// caller applied. Searches continue during Flush, statistics refreshes too
// (they take the read lock); other writes wait for its encoding.
func (ix *Index) Flush(ctx context.Context, checkpoint uint64) error {
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	if ix.dir == "" {
		ix.checkpoint.Store(checkpoint)
		return nil
	}
	if err := os.MkdirAll(ix.dir, 0o755); err != nil {
		return fmt.Errorf("index flush: %w", err)
	}
	tmp, err := os.CreateTemp(ix.dir, snapName+".tmp-*")
	if err != nil {
		return fmt.Errorf("index flush: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, h), 1<<20)
	// Writers wait at the gate, not on ix.mu, so searches go on (see
	// lockWrite).
	ix.encodeGate.Lock()
	ix.mu.RLock()
	if ix.flushHook != nil {
		ix.flushHook()
	}
	err = ix.encode(ctx, bw, checkpoint)
	ix.mu.RUnlock()
	ix.encodeGate.Unlock()
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = binary.Write(tmp, binary.LittleEndian, h.Sum32())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(ix.dir, snapName))
	}
	if err == nil {
		err = syncDir(ix.dir)
	}
	if err != nil {
		return fmt.Errorf("index flush: %w", err)
	}
	ix.checkpoint.Store(checkpoint)
	ix.log.Info("index flushed", "checkpoint", checkpoint)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type encoder struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
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

func (ix *Index) encode(ctx context.Context, w *bufio.Writer, checkpoint uint64) error {
	e := &encoder{w: w}
	w.WriteString(snapMagic)
	binary.Write(w, binary.LittleEndian, uint16(snapVersion))
	binary.Write(w, binary.LittleEndian, checkpoint)
	e.uvarint(uint64(len(ix.docs)))
	for i := range ix.docs {
		if i&65535 == 65535 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		d := &ix.docs[i]
		var r textRec
		if d.text != noText {
			r = ix.rec(uint32(i))
		}
		title, desc := rawString(r.norm[fTitle], r.patch[fTitle]), rawString(r.norm[fDesc], r.patch[fDesc])
		chanTitle := ix.strs.str(d.chanTitle)
		for _, s := range []string{ix.docID(uint32(i)), title, desc, ix.strs.str(d.chanID), chanTitle, ix.strs.str(d.catID), ix.strs.str(d.lang), r.thumb, ix.strs.str(d.dur)} {
			e.str(s)
		}
		tags := rawTags(r.norm[fTags], r.patch[fTags])
		e.uvarint(uint64(len(tags)))
		for _, t := range tags {
			e.str(t)
		}
		// Normalized texts: flag 0 = same as the original field.
		r.norm[fChannel] = ix.strs.normOf(d.chanTitle)
		orig := [nFields]string{title, "\x00", chanTitle, desc}
		for fi, s := range r.norm {
			if s == orig[fi] {
				w.WriteByte(0)
			} else {
				w.WriteByte(1)
				e.str(s)
			}
		}
		for _, v := range []int64{atomic.LoadInt64(&d.fetched), atomic.LoadInt64(&d.textAt), atomic.LoadInt64(&d.chanAt), d.tomb,
			atomic.LoadInt64(&ix.views[i]), atomic.LoadInt64(&ix.likes[i]), atomic.LoadInt64(&ix.comments[i]), ix.pub[i]} {
			e.varint(v)
		}
		if d.alive {
			w.WriteByte(1)
		} else {
			w.WriteByte(0)
		}
	}
	ids := make([]string, 0, len(ix.channels))
	for id := range ix.channels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
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
	for fi := range ix.post {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := ix.post[fi]
		keys := make([]uint64, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.uvarint(uint64(len(keys)))
		for _, k := range keys {
			switch p := m[k]; {
			case p.frozenOnly():
				bb = p.frozen // the same portable format
			case p.list != nil:
				lb = p.appendListPortable(lb[:0], &docs)
				bb = lb
			default:
				var err error
				if bb, err = p.bitmap().ToBytes(); err != nil {
					return err
				}
			}
			binary.Write(w, binary.LittleEndian, k)
			e.uvarint(uint64(len(bb)))
			w.Write(bb)
		}
	}
	return nil
}

type decoder struct {
	r       *bufio.Reader
	err     error
	scratch []byte // see tmpStr
}

// tmpStr reads a string into the decoder's scratch space and returns it
// aliased, valid until the next resetTmp: the per-doc strings of a
// snapshot are all copied elsewhere (interned, encoded into the text arena,
// patched), and allocating each one was a sixth of the time to open a
// 10M-doc snapshot.
func (d *decoder) tmpStr() string {
	n, ok := d.length(1 << 30)
	if !ok {
		return ""
	}
	if uint64(cap(d.scratch)-len(d.scratch)) < n {
		// A new buffer: strings handed out before stay valid in the old one.
		d.scratch = make([]byte, 0, max(uint64(2*cap(d.scratch)), n, 4096))
	}
	off := len(d.scratch)
	d.scratch = d.scratch[:off+int(n)]
	b := d.scratch[off:]
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = err
		return ""
	}
	return aliasString(b)
}

// resetTmp makes the scratch space reusable: every string tmpStr returned
// since the last reset must be dead.
func (d *decoder) resetTmp() { d.scratch = d.scratch[:0] }

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
	return n, true
}

func (d *decoder) bytes(maxLen uint64) []byte {
	n, ok := d.length(maxLen)
	if !ok {
		return nil
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.r, b)
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

// load reads the snapshot of ix.dir, if any, into the empty index.
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
	if err := verifyCRC(f); err != nil {
		return fmt.Errorf("index open %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("index open: %w", err)
	}
	st, _ := f.Stat()
	dec := &decoder{r: bufio.NewReaderSize(io.LimitReader(f, st.Size()-4), 1<<20)}
	if err := ix.decode(dec); err != nil {
		return fmt.Errorf("index open %s: %w", path, err)
	}
	ix.rebuildNowLocked()
	ix.log.Info("index loaded", "docs", ix.live, "checkpoint", ix.checkpoint.Load())
	return nil
}

func verifyCRC(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < int64(len(snapMagic))+14 {
		return errors.New("snapshot truncated")
	}
	var h hash.Hash32 = crc32.New(crcTable)
	if _, err := io.Copy(h, io.LimitReader(f, st.Size()-4)); err != nil {
		return err
	}
	var want uint32
	if err := binary.Read(f, binary.LittleEndian, &want); err != nil {
		return err
	}
	if h.Sum32() != want {
		return errors.New("snapshot checksum mismatch")
	}
	return nil
}

func (ix *Index) decode(dec *decoder) error {
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(dec.r, magic); err != nil || string(magic) != snapMagic {
		return errors.New("not an index snapshot")
	}
	var ver uint16
	var cp uint64
	if err := binary.Read(dec.r, binary.LittleEndian, &ver); err != nil {
		return err
	}
	if ver != snapVersion && ver != 1 {
		return fmt.Errorf("snapshot version %d, this build reads 1 and %d", ver, snapVersion)
	}
	if err := binary.Read(dec.r, binary.LittleEndian, &cp); err != nil {
		return err
	}
	nDocs := dec.uvarint()
	if nDocs > 1<<32-2 {
		return errors.New("too many docs")
	}
	ix.docs = make([]doc, 0, nDocs)
	var tags []string
	for i := uint64(0); i < nDocs && dec.err == nil; i++ {
		// Every string of a doc is read into the decoder's scratch space
		// (tmpStr) and copied where it is kept: interned (strs.id, which
		// clones new strings), the id table, the text arena (setRec).
		dec.resetTmp()
		var f [9]string // id, title, desc, chanID, chanTitle, catID, lang, thumb, dur
		for j := range f {
			f[j] = dec.tmpStr()
		}
		nt := dec.uvarint()
		if nt > 1<<20 {
			return errors.New("too many tags")
		}
		tags = tags[:0]
		for j := uint64(0); j < nt && dec.err == nil; j++ {
			tags = append(tags, dec.tmpStr())
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
			break
		}
		n := ix.newSlot(f[0])
		d := &ix.docs[n]
		d.chanID, d.chanTitle, d.catID, d.lang, d.dur = ix.strs.id(f[3]), ix.strs.id(f[4]), ix.strs.id(f[5]), ix.strs.id(f[6]), ix.strs.id(f[8])
		d.fetched, d.textAt, d.chanAt, d.tomb = dec.varint(), dec.varint(), dec.varint(), dec.varint()
		ix.views[n], ix.likes[n], ix.comments[n], ix.pub[n] = dec.varint(), dec.varint(), dec.varint(), dec.varint()
		d.alive = dec.byte1() == 1
		if d.alive || f[1] != "" || f[2] != "" || len(tags) > 0 || r.norm != [nFields]string{} || f[7] != "" {
			ix.patchBuf = ix.patchBuf[:0]
			r.patch[fTitle] = ix.patch(r.norm[fTitle], f[1])
			r.patch[fTags] = ix.tagsPatch(r.norm[fTags], tags)
			r.patch[fDesc] = ix.patch(r.norm[fDesc], f[2])
			r.thumb = f[7]
			ix.setRec(n, &r)
		}
		if d.alive {
			ix.live++
			ix.addBuckets(n)
		}
	}
	if dec.err == nil {
		ix.addFiltersBulk()
	}
	nCh := dec.uvarint()
	for i := uint64(0); i < nCh && dec.err == nil; i++ {
		b := dec.bytes(1 << 24)
		var c yt.Channel
		if dec.err == nil {
			if err := json.Unmarshal(b, &c); err != nil {
				return err
			}
			ix.channels[c.ID] = &c
		}
	}
	for fi := range ix.post {
		ng := dec.uvarint()
		m := make(map[uint64]*posting, min(ng, 1<<24))
		for i := uint64(0); i < ng && dec.err == nil; i++ {
			var k uint64
			if err := binary.Read(dec.r, binary.LittleEndian, &k); err != nil {
				return err
			}
			b := dec.bytes(1 << 31)
			if dec.err != nil {
				break
			}
			p, err := ix.loadPosting(b)
			if err != nil {
				return fmt.Errorf("posting %x: %w", k, err)
			}
			m[k] = p
			ix.postTotal += p.card()
		}
		ix.post[fi] = m
	}
	if dec.err != nil {
		return dec.err
	}
	ix.postCompacted = ix.postTotal
	if ver == 1 {
		ix.addTrigramPostings()
	}
	ix.checkpoint.Store(cp)
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
		for n := range ix.docs {
			if d := &ix.docs[n]; d.alive {
				start[f.id(d)+1]++
			}
		}
		for i := 1; i < len(start); i++ {
			start[i] += start[i-1]
		}
		copy(next, start)
		for n := range ix.docs {
			if d := &ix.docs[n]; d.alive {
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
	for n := range ix.docs {
		if !ix.docs[n].alive {
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
// snapshot (b is not reused by the caller): a list when it is small, else
// the blob itself, frozen, after validating it.
func (ix *Index) loadPosting(b []byte) (*posting, error) {
	bm := roaring.New()
	if _, err := bm.FromBuffer(b); err != nil {
		return nil, err
	}
	if err := bm.Validate(); err != nil {
		return nil, err
	}
	p := &posting{bm: bm, dirty: true}
	var s settled
	if card := bm.GetCardinality(); card > uint64(ix.compactListMax) {
		s = settled{p: p, blob: b, fcard: uint32(card), fmax: bm.Maximum()}
	} else {
		var scratch []byte
		var docs []uint32
		s = settle(p, ix.compactListMax, &scratch, &docs)
	}
	s.install(ix.slab)
	return p, nil
}
