package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"unsafe"
)

// Doc storage is pointer-free so the garbage collector never scans it and a
// doc costs a fixed number of bytes plus its text:
//
//   - ids:   one []byte of all video ids, with end offsets per doc, and an
//     open-addressing hash table of doc numbers (idTable);
//   - texts: an append-only arena of text records (textArena), one record per
//     doc holding the normalized title, tags and description plus a compact
//     patch that rebuilds each raw field from its normalized form (nothing
//     when they are equal, the upper-case positions when they differ only in
//     ASCII case, the raw bytes otherwise) and the thumbnail;
//   - low-cardinality strings (channel ids and titles, categories, languages,
//     durations) as ids into an intern table (strTable).

// ---- text arena ----

const (
	arenaChunkBits = 22 // 4 MiB chunks
	arenaChunk     = 1 << arenaChunkBits
)

// textArena is append-only: bytes never move once written, so strings
// returned by get alias them safely. With a spill (see textSpill), every
// chunk of at least sealMin bytes is moved to a read-only memory map of the
// spill file when the arena starts the next one (under the write lock, so
// no search reads it meanwhile; a string aliasing the heap copy stays valid,
// the collector frees it once no one holds it).
type textArena struct {
	chunks  [][]byte
	garbage int64 // bytes of records replaced by newer ones
	used    int64
	spill   *textSpill // nil: every chunk stays in the heap
	sealMin int        // smallest chunk capacity sealed (tests lower it)
	sealed  int        // chunks [0, sealed) were offered to the spill
}

// put appends b and returns its reference.
func (a *textArena) put(b []byte) uint64 {
	if len(b) > arenaChunk/4 {
		// Big record: a chunk of its own.
		a.sealFull()
		c := slices.Clone(b)
		a.chunks = append(a.chunks, c)
		a.used += int64(len(b))
		return uint64(len(a.chunks)-1) << arenaChunkBits
	}
	n := len(a.chunks)
	if n == 0 || len(a.chunks[n-1])+len(b) > cap(a.chunks[n-1]) {
		size := 64 << 10
		if n > 0 {
			size = min(arenaChunk, max(size, 2*cap(a.chunks[n-1])))
		}
		a.sealFull()
		a.chunks = append(a.chunks, make([]byte, 0, size))
		n++
	}
	c := a.chunks[n-1]
	off := len(c)
	a.chunks[n-1] = append(c, b...)
	a.used += int64(len(b))
	return uint64(n-1)<<arenaChunkBits | uint64(off)
}

// sealFull offers the chunks no longer appended to (all of them: put calls
// it before it starts a new chunk) to the spill.
func (a *textArena) sealFull() {
	for ; a.sealed < len(a.chunks); a.sealed++ {
		c := a.chunks[a.sealed]
		if a.spill == nil || a.spill.failed || cap(c) < a.sealMin || len(c) == 0 {
			continue
		}
		m, err := a.spill.seal(c)
		if err != nil {
			a.spill.failed = true
			a.spill.log.Warn("index: texts stay in the heap: cannot spill them to a file", "dir", a.spill.dir, "err", err)
			continue
		}
		a.chunks[a.sealed] = m
	}
}

// rec returns the bytes from ref to the end of its chunk.
func (a *textArena) rec(ref uint64) []byte {
	return a.chunks[ref>>arenaChunkBits][ref&(arenaChunk-1):]
}

// memBytes is the heap the arena holds (sealed chunks are mapped).
func (a *textArena) memBytes() int64 {
	var n int64
	for _, c := range a.chunks {
		n += int64(cap(c))
	}
	return n - a.mappedBytes()
}

// mappedBytes is the text the arena reads from its spill file's maps.
func (a *textArena) mappedBytes() int64 {
	if a.spill == nil {
		return 0
	}
	return a.spill.mapped
}

// close releases the spill's maps and file; the arena must not be read
// afterwards.
func (a *textArena) close() error {
	if a.spill == nil {
		return nil
	}
	a.chunks = nil
	return a.spill.close()
}

// ---- text records ----

// textFields are the fields stored in a text record, in order.
var textFields = [3]int{fTitle, fTags, fDesc}

// Patch kinds (first byte of a patch; an empty patch means raw == norm).
const (
	patchCase  = 1 // uvarint count, uvarint position deltas of upper-case ASCII
	patchRaw   = 2 // the raw bytes
	patchTags  = 3 // uvarint count, then each raw tag length-prefixed
	patchEdits = 4 // edits of norm: (uvarint copy, uvarint skip, uvarint insert + bytes)*, then copy the rest
	noThumbRec = "\x00"
)

// textRec is a decoded text record; strings alias the arena.
type textRec struct {
	norm  [nFields]string // fChannel unused (see Index.chanNorm)
	patch [nFields]string
	thumb string
}

func getUvarint(b []byte) (uint64, []byte) {
	v, n := binary.Uvarint(b)
	return v, b[n:]
}

// getUvarintStr is getUvarint on a string (no copy to a byte slice). A
// malformed varint yields 0 and the empty rest.
func getUvarintStr(s string) (uint64, string) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<shift, s[i+1:]
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, ""
}

func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func decodeRec(b []byte) textRec {
	var r textRec
	for _, fi := range textFields {
		var n uint64
		n, b = getUvarint(b)
		r.norm[fi] = aliasString(b[:n])
		b = b[n:]
		n, b = getUvarint(b)
		r.patch[fi] = aliasString(b[:n])
		b = b[n:]
	}
	n, b := getUvarint(b)
	r.thumb = aliasString(b[:n])
	return r
}

// normOf returns only the normalized text of field fi (not fChannel).
func normOf(b []byte, fi int) string {
	for _, f := range textFields {
		n, rest := getUvarint(b)
		if f == fi {
			return aliasString(rest[:n])
		}
		b = rest[n:]
		n, b = getUvarint(b)
		b = b[n:]
	}
	return ""
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func encodeRec(dst []byte, r *textRec) []byte {
	n := len(r.thumb) + binary.MaxVarintLen64
	for _, fi := range textFields {
		n += len(r.norm[fi]) + len(r.patch[fi]) + 2*binary.MaxVarintLen64
	}
	dst = slices.Grow(dst, n) // one allocation
	for _, fi := range textFields {
		dst = appendStr(dst, r.norm[fi])
		dst = appendStr(dst, r.patch[fi])
	}
	return appendStr(dst, r.thumb)
}

// makePatch returns the patch that rebuilds raw from norm.
func makePatch(dst []byte, norm, raw string) []byte {
	if norm == raw {
		return dst
	}
	if len(norm) == len(raw) {
		start := len(dst)
		// Count the ASCII capitals first (the patch starts with their
		// number), then write their positions.
		caps := 0
		ok := true
		for i := 0; i < len(raw); i++ {
			if raw[i] == norm[i] {
				continue
			}
			if raw[i] >= 'A' && raw[i] <= 'Z' && norm[i] == raw[i]+('a'-'A') {
				caps++
				continue
			}
			ok = false
			break
		}
		if ok {
			dst = append(dst, patchCase)
			dst = binary.AppendUvarint(dst, uint64(caps))
			last := 0
			for i := 0; i < len(raw); i++ {
				if raw[i] != norm[i] {
					dst = binary.AppendUvarint(dst, uint64(i-last))
					last = i
				}
			}
			if len(dst)-start < len(raw)+1 {
				return dst
			}
		}
		dst = dst[:start]
	}
	start := len(dst)
	if dst, ok := appendEdits(dst, norm, raw); ok && len(dst)-start < len(raw)+1 {
		if string(applyPatch(nil, norm, aliasString(dst[start:]))) == raw {
			return dst
		}
	}
	dst = append(dst[:start], patchRaw)
	return append(dst, raw...)
}

// appendEdits appends a patchEdits patch turning norm into raw, found by a
// greedy walk that resynchronizes after each local difference (full-width
// forms, ideographic spaces, ellipses, case). ok is false when it gives up.
func appendEdits(dst []byte, norm, raw string) ([]byte, bool) {
	const maxGap, sync = 12, 3
	dst = append(dst, patchEdits)
	i, j, copyStart := 0, 0, 0
	matchAt := func(a, b int) bool {
		for k := range sync {
			ri, nj := i+a+k, j+b+k
			if ri >= len(raw) || nj >= len(norm) {
				return ri >= len(raw) && nj >= len(norm)
			}
			if raw[ri] != norm[nj] {
				return false
			}
		}
		return true
	}
	for edits := 0; i < len(raw) || j < len(norm); {
		if i < len(raw) && j < len(norm) && raw[i] == norm[j] {
			i++
			j++
			continue
		}
		if edits++; edits > 64 {
			return dst, false
		}
		found := false
	search:
		for sum := 1; sum <= 2*maxGap; sum++ {
			for a := max(0, sum-maxGap); a <= min(sum, maxGap); a++ {
				b := sum - a
				if i+a > len(raw) || j+b > len(norm) {
					continue
				}
				if matchAt(a, b) {
					dst = binary.AppendUvarint(dst, uint64(j-copyStart))
					dst = binary.AppendUvarint(dst, uint64(b))
					dst = appendStr(dst, raw[i:i+a])
					i, j = i+a, j+b
					copyStart = j
					found = true
					break search
				}
			}
		}
		if !found {
			return dst, false
		}
	}
	return dst, true
}

// applyPatch rebuilds the raw text from norm and patch into dst.
func applyPatch(dst []byte, norm, patch string) []byte {
	if patch == "" {
		return append(dst, norm...)
	}
	switch patch[0] {
	case patchCase:
		start := len(dst)
		dst = append(dst, norm...)
		b := []byte(patch[1:])
		cnt, b := getUvarint(b)
		pos := 0
		for range cnt {
			var d uint64
			d, b = getUvarint(b)
			pos += int(d)
			dst[start+pos] -= 'a' - 'A'
		}
		return dst
	case patchRaw:
		return append(dst, patch[1:]...)
	case patchEdits:
		forEachRun(norm, patch, func(kept, ins string) {
			dst = append(dst, kept...)
			dst = append(dst, ins...)
		})
		return dst
	}
	return dst
}

// forEachRun calls fn with the runs an edit patch (patchEdits) makes the
// raw text of: each kept run of norm with the bytes inserted after it, and
// the rest of norm last (ins ""). It stops at a malformed edit (never
// written so).
func forEachRun(norm, patch string, fn func(kept, ins string)) {
	b, pos := patch[1:], 0
	for len(b) > 0 {
		var c, k, n uint64
		c, b = getUvarintStr(b)
		k, b = getUvarintStr(b)
		n, b = getUvarintStr(b)
		if pos+int(c) > len(norm) || int(n) > len(b) {
			return
		}
		fn(norm[pos:pos+int(c)], b[:n])
		pos += int(c + k)
		b = b[n:]
	}
	if pos <= len(norm) {
		fn(norm[pos:], "")
	}
}

// forEachTag calls fn with each raw tag of a tags patch (patchTags). It
// stops at a malformed entry (never written so).
func forEachTag(patch string, fn func(tag string)) {
	cnt, b := getUvarintStr(patch[1:])
	for range cnt {
		var n uint64
		n, b = getUvarintStr(b)
		if int(n) > len(b) {
			return
		}
		fn(b[:n])
		b = b[n:]
	}
}

func rawString(norm, patch string) string {
	if patch == "" {
		return norm
	}
	if patch[0] == patchRaw {
		return strings.Clone(patch[1:])
	}
	return string(applyPatch(nil, norm, patch))
}

// tagsJoinable reports whether tags survive a join with tagSep and a split.
func tagsJoinable(tags []string) bool {
	for _, t := range tags {
		if t == "" || strings.IndexByte(t, tagSep) >= 0 {
			return false
		}
	}
	return true
}

// makeTagsPatch returns the patch that rebuilds the raw tags from the
// normalized tags field.
func makeTagsPatch(dst []byte, norm string, tags []string) []byte {
	if !tagsJoinable(tags) {
		dst = append(dst, patchTags)
		dst = binary.AppendUvarint(dst, uint64(len(tags)))
		for _, t := range tags {
			dst = appendStr(dst, t)
		}
		return dst
	}
	return makePatch(dst, norm, strings.Join(tags, string(rune(tagSep))))
}

func rawTags(norm, patch string) []string {
	if patch != "" && patch[0] == patchTags {
		var out []string
		forEachTag(patch, func(t string) { out = append(out, t) })
		return out
	}
	j := rawString(norm, patch)
	if j == "" {
		return nil
	}
	return strings.Split(j, string(rune(tagSep)))
}

// rawLen is the byte length of the raw field (tags: summed tag lengths).
func rawLen(norm, patch string, tags bool) int {
	if patch != "" {
		switch patch[0] {
		case patchRaw:
			n := len(patch) - 1
			if tags && n > 0 {
				n -= strings.Count(patch[1:], string(rune(tagSep)))
			}
			return n
		case patchTags:
			n := 0
			forEachTag(patch, func(t string) { n += len(t) })
			return n
		case patchEdits:
			// The raw text is never built (Stats measures every doc): kept
			// runs of norm and inserted bytes are counted.
			sep := string(rune(tagSep))
			n := 0
			forEachRun(norm, patch, func(kept, ins string) {
				n += len(kept) + len(ins)
				if tags {
					n -= strings.Count(kept, sep) + strings.Count(ins, sep)
				}
			})
			return n
		}
	}
	n := len(norm)
	if tags && n > 0 {
		n -= strings.Count(norm, string(rune(tagSep)))
	}
	return n
}

// sameRaw reports whether the raw text rebuilt from (norm, patch) equals s,
// using buf as scratch.
func sameRaw(buf []byte, norm, patch, s string) (bool, []byte) {
	if patch == "" {
		return norm == s, buf
	}
	if patch[0] == patchRaw {
		return patch[1:] == s, buf
	}
	if patch[0] == patchCase && len(norm) != len(s) {
		return false, buf
	}
	buf = applyPatch(buf[:0], norm, patch)
	return string(buf) == s, buf
}

func sameTags(buf []byte, norm, patch string, tags []string) (bool, []byte) {
	if patch != "" && patch[0] == patchTags {
		return slices.Equal(rawTags(norm, patch), tags), buf
	}
	if !tagsJoinable(tags) {
		return false, buf
	}
	buf = applyPatch(buf[:0], norm, patch)
	s := buf
	for i, t := range tags {
		if i > 0 {
			if len(s) == 0 || s[0] != tagSep {
				return false, buf
			}
			s = s[1:]
		}
		if len(s) < len(t) || string(s[:len(t)]) != t {
			return false, buf
		}
		s = s[len(t):]
	}
	return len(s) == 0, buf
}

// ---- ids ----

var idSeed = maphash.MakeSeed()

// idTable maps video ids to doc numbers: linear probing over slots holding
// the high 32 bits of the id's hash and doc+1 (0 = empty), so a probe reads
// the id itself (in Index.idBytes) only when the hash bits match. The index
// keeps idShards of them, chosen by hash bits: growing one rehashes a small
// share of the ids, where one table of 10M ids held the write lock for
// hundreds of milliseconds each time it doubled.
type idTable struct {
	slots []uint64
	n     int
}

// idWidth is the length of a video id (yt.ValidateVideoID). Ids are stored
// at a fixed stride; any other length (never produced by validated records)
// is kept in Index.oddIDs.
const idWidth = 11

// idShards is the number of id tables (a power of two).
const idShards = 256

// ---- interned strings ----

// strTable interns low-cardinality strings; id 0 is "". It is written only
// under the index's write lock.
type strTable struct {
	strs  []string
	norms []string // normalizeField of each string (used for channel titles)
	idx   map[string]uint32
}

func (t *strTable) id(s string) uint32 {
	if s == "" {
		return 0
	}
	if i, ok := t.idx[s]; ok {
		return i
	}
	if t.idx == nil {
		t.idx = map[string]uint32{}
	}
	if len(t.strs) == 0 {
		t.strs = append(t.strs, "")
		t.norms = append(t.norms, "")
	}
	s = strings.Clone(s)
	i := uint32(len(t.strs))
	t.strs = append(t.strs, s)
	t.norms = append(t.norms, normalizeField(s))
	t.idx[s] = i
	return i
}

func (t *strTable) str(i uint32) string {
	if i == 0 {
		return ""
	}
	return t.strs[i]
}

// normOf returns normalizeField of string i.
func (t *strTable) normOf(i uint32) string {
	if i == 0 {
		return ""
	}
	return t.norms[i]
}

// docID returns the video id of doc n (aliasing idBytes).
func (ix *Index) docID(n uint32) string {
	if ix.oddIDs != nil {
		if id, ok := ix.oddIDs[n]; ok {
			return id
		}
	}
	return aliasString(ix.idBytes.at(n)[:])
}

// appendID stores the id of the new doc n.
func (ix *Index) appendID(n uint32, id string) {
	if len(id) == idWidth {
		var b [idWidth]byte
		copy(b[:], id)
		ix.idBytes.push(b)
		return
	}
	ix.idBytes.push([idWidth]byte{})
	if ix.oddIDs == nil {
		ix.oddIDs = map[uint32]string{}
	}
	ix.oddIDs[n] = strings.Clone(id)
}

func hashID(id string) uint64 { return maphash.String(idSeed, id) }

// idSlots counts the slots of the id tables.
func (ix *Index) idSlots() int64 {
	var n int64
	for i := range ix.ids {
		n += int64(len(ix.ids[i].slots))
	}
	return n
}

// idShard picks the shard of an id hash: bits 24..31, apart from the slot
// bits (the low ones) and the tag (the high 32).
func idShard(hash uint64) int { return int(hash>>24) & (idShards - 1) }

// lookup returns the doc number of video id.
func (ix *Index) lookup(id string) (uint32, bool) {
	hash := hashID(id)
	t := &ix.ids[idShard(hash)]
	if len(t.slots) == 0 {
		return 0, false
	}
	tag := hash >> 32
	mask := uint64(len(t.slots) - 1)
	for h := hash & mask; ; h = (h + 1) & mask {
		v := t.slots[h]
		if v == 0 {
			return 0, false
		}
		if v>>32 == tag && ix.docID(uint32(v)-1) == id {
			return uint32(v) - 1, true
		}
	}
}

// insertID records that doc n has id (absent from the table). A shard that
// fills up doubles (rehashing 1/idShards of the ids, under the write lock).
func (ix *Index) insertID(n uint32, id string) {
	hash := hashID(id)
	t := &ix.ids[idShard(hash)]
	if (t.n+1)*4 > len(t.slots)*3 {
		size := max(16, 2*len(t.slots))
		old := t.slots
		t.slots = make([]uint64, size)
		mask := uint64(size - 1)
		for _, v := range old {
			if v == 0 {
				continue
			}
			h := hashID(ix.docID(uint32(v)-1)) & mask
			for t.slots[h] != 0 {
				h = (h + 1) & mask
			}
			t.slots[h] = v
		}
	}
	mask := uint64(len(t.slots) - 1)
	h := hash & mask
	for t.slots[h] != 0 {
		h = (h + 1) & mask
	}
	t.slots[h] = hash>>32<<32 | uint64(n+1)
	t.n++
}

// noText marks a doc without a text record (a tombstone-only slot).
const noText = ^uint64(0)

// rec decodes the text record of doc n (an empty one if it has none).
func (ix *Index) rec(n uint32) textRec {
	if ix.docs.at(n).text == noText {
		return textRec{}
	}
	return decodeRec(ix.arena.rec(ix.docs.at(n).text))
}

// norm returns the normalized text of field fi of doc n.
func (ix *Index) norm(n uint32, fi int) string {
	d := ix.docs.at(n)
	if fi == fChannel {
		return ix.strs.normOf(d.chanTitle)
	}
	if d.text == noText {
		return ""
	}
	return normOf(ix.arena.rec(d.text), fi)
}

// setRec stores r as the text record of doc n.
func (ix *Index) setRec(n uint32, r *textRec) {
	ix.recBuf = encodeRec(ix.recBuf[:0], r)
	ix.putRec(n, ix.recBuf)
}

// putRec stores the encoded record b as the text record of doc n.
func (ix *Index) putRec(n uint32, b []byte) {
	d := ix.docs.at(n)
	*ix.thash.at(n) = 0
	ix.textGen++
	if d.text != noText {
		ix.arena.garbage += int64(recLen(ix.arena.rec(d.text)))
	}
	d.text = ix.arena.put(b)
}

// recLen is the encoded length of the record at the start of b.
func recLen(b []byte) int {
	total := len(b)
	for range 2*len(textFields) + 1 {
		n, rest := getUvarint(b)
		b = rest[n:]
	}
	return total - len(b)
}

// validRec checks a text record read from a snapshot (see encodeRec):
// every length within the record, nothing after the thumbnail, and
// patches that can be applied (see validPatch).
func validRec(b []byte) error {
	var r textRec
	next := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", errors.New("bad length")
		}
		s := aliasString(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	var err error
	for _, fi := range textFields {
		if r.norm[fi], err = next(); err != nil {
			return err
		}
		if r.patch[fi], err = next(); err != nil {
			return err
		}
	}
	if r.thumb, err = next(); err != nil {
		return err
	}
	if len(b) != 0 {
		return fmt.Errorf("%d bytes after the thumbnail", len(b))
	}
	for _, fi := range textFields {
		if err := validPatch(r.norm[fi], r.patch[fi], fi == fTags); err != nil {
			return err
		}
	}
	return nil
}

// validPatch checks that patch can rebuild a raw text from norm:
// applyPatch trusts the upper-case positions of a case patch.
func validPatch(norm, patch string, tags bool) error {
	if patch == "" {
		return nil
	}
	switch patch[0] {
	case patchRaw, patchEdits: // forEachRun stops at a malformed edit
		return nil
	case patchTags:
		if !tags {
			return errors.New("tags patch outside the tags")
		}
		return nil
	case patchCase:
		b := []byte(patch[1:])
		cnt, k := binary.Uvarint(b)
		if k <= 0 || cnt > uint64(len(norm)) {
			return errors.New("bad case patch")
		}
		b = b[k:]
		pos := 0
		for i := range cnt {
			d, k := binary.Uvarint(b)
			if k <= 0 || d > uint64(len(norm)) || (i > 0 && d == 0) {
				return errors.New("bad case patch")
			}
			b = b[k:]
			pos += int(d)
			if pos >= len(norm) || norm[pos] < 'a' || norm[pos] > 'z' {
				return errors.New("bad case patch")
			}
		}
		return nil
	}
	return fmt.Errorf("patch kind %d", patch[0])
}
