package index

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/RoaringBitmap/roaring/v2"
)

// Query parsing limits.
const (
	maxTerms     = 16
	maxTermRunes = 256
	maxQueryLen  = 4096
)

// pattern is one normalized form a term may take.
type pattern struct {
	text     string
	runes    []rune
	initials bool // choseong runes match any syllable with that initial
	keys     []uint64
	exact    bool // the gram postings alone prove the match
}

// term is one query term: a match of any of its alternative patterns
// (original, layout-corrected) in any selected field.
type term struct {
	raw   string
	alts  []pattern
	exact bool
}

// parseQuery splits q into terms: "quoted phrases" (spaces kept) and
// white-space separated words, normalizes them and adds the alternatives
// asked for by initials and layout.
func parseQuery(q string, initials, layout bool) ([]term, error) {
	if len(q) > maxQueryLen {
		return nil, fmt.Errorf("%w: q longer than %d bytes", ErrBadQuery, maxQueryLen)
	}
	var raws []string
	for i := 0; i < len(q); {
		r, sz := utf8.DecodeRuneInString(q[i:])
		switch {
		case r == '"':
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				raws = append(raws, q[i+1:])
				i = len(q)
			} else {
				raws = append(raws, q[i+1:i+1+end])
				i += end + 2
			}
		case unicode.IsSpace(r):
			i += sz
		default:
			j := i
			for j < len(q) {
				r2, sz2 := utf8.DecodeRuneInString(q[j:])
				if r2 == '"' || unicode.IsSpace(r2) {
					break
				}
				j += sz2
			}
			raws = append(raws, q[i:j])
			i = j
		}
	}
	var terms []term
	seen := map[string]bool{}
	for _, raw := range raws {
		t, ok, err := buildTerm(raw, initials, layout)
		if err != nil {
			return nil, err
		}
		if !ok || seen[t.alts[0].text] {
			continue
		}
		seen[t.alts[0].text] = true
		terms = append(terms, t)
	}
	if len(terms) == 0 {
		return nil, fmt.Errorf("%w: empty q", ErrBadQuery)
	}
	if len(terms) > maxTerms {
		return nil, fmt.Errorf("%w: more than %d terms", ErrBadQuery, maxTerms)
	}
	return terms, nil
}

func buildTerm(raw string, initials, layout bool) (term, bool, error) {
	t := term{raw: raw}
	add := func(s string) error {
		n := Normalize(s)
		if n == "" {
			return nil
		}
		rs := []rune(n)
		if len(rs) > maxTermRunes {
			return fmt.Errorf("%w: term longer than %d characters", ErrBadQuery, maxTermRunes)
		}
		p := pattern{text: n, runes: rs}
		if initials && slices.ContainsFunc(rs, isChoseong) {
			p.initials = true
		}
		for _, o := range t.alts {
			if o.text == p.text && o.initials == p.initials {
				return nil
			}
		}
		p.keys, p.exact = patternGrams(p)
		t.alts = append(t.alts, p)
		return nil
	}
	if err := add(raw); err != nil || len(t.alts) == 0 {
		return t, false, err
	}
	if layout {
		if hasLatinLetter(raw) {
			if err := add(LayoutToHangul(raw)); err != nil {
				return t, false, err
			}
		}
		if hasHangul(raw) {
			if err := add(HangulToLayout(raw)); err != nil {
				return t, false, err
			}
		}
	}
	t.exact = true
	for _, p := range t.alts {
		t.exact = t.exact && p.exact
	}
	return t, true, nil
}

// ---- cursor ----

// cursor is the search_after position: the sort key and id of the last hit.
type cursor struct {
	sort byte
	key  float64
	id   string
}

const cursorVersion = 1

func sortCode(s Sort) byte {
	switch s {
	case SortViews:
		return 1
	case SortRecent:
		return 2
	default:
		return 3
	}
}

func encodeCursor(c cursor) string {
	b := make([]byte, 0, 10+len(c.id))
	b = append(b, cursorVersion, c.sort)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(c.key))
	b = append(b, c.id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 10 || b[0] != cursorVersion || len(b) > 10+64 {
		return cursor{}, fmt.Errorf("%w: bad cursor", ErrBadQuery)
	}
	c := cursor{sort: b[1], key: math.Float64frombits(binary.BigEndian.Uint64(b[2:10])), id: string(b[10:])}
	if math.IsNaN(c.key) || !utf8.ValidString(c.id) {
		return cursor{}, fmt.Errorf("%w: bad cursor", ErrBadQuery)
	}
	return c, nil
}

// ---- planning ----

// plan is a validated query.
type plan struct {
	q          Query
	terms      []term
	fields     []int
	maxBonus   float64 // the largest per-term bonus any selected field can give
	sort       Sort
	limit      int
	cur        *cursor
	colCheck   bool
	colExclude *roaring.Bitmap // docs proven to fail the column filters
	after      int64
	before     int64
	tkey       string // totalKey, once built
}

func prepare(q Query) (*plan, error) {
	p := &plan{q: q, sort: q.Sort, limit: q.Limit}
	if p.sort == "" {
		p.sort = SortRelevance
	}
	switch p.sort {
	case SortViews, SortRecent, SortRelevance:
	default:
		return nil, fmt.Errorf("%w: unknown sort %q (want views, recent or relevance)", ErrBadQuery, q.Sort)
	}
	switch {
	case p.limit == 0:
		p.limit = DefaultLimit
	case p.limit < 0:
		return nil, fmt.Errorf("%w: negative limit", ErrBadQuery)
	case p.limit > MaxLimit:
		p.limit = MaxLimit
	}
	in := q.In
	if len(in) == 0 {
		in = []Field{FieldTitle}
	}
	for _, f := range in {
		fi := slices.Index(fieldNames[:], Field(strings.ToLower(string(f))))
		if fi < 0 {
			return nil, fmt.Errorf("%w: unknown field %q (want title, tags, channel or description)", ErrBadQuery, f)
		}
		if !slices.Contains(p.fields, fi) {
			p.fields = append(p.fields, fi)
			p.maxBonus = max(p.maxBonus, fieldBonus[fi]+posBonus+wholeBonus)
		}
	}
	if q.MinViews < 0 {
		return nil, fmt.Errorf("%w: negative min_views", ErrBadQuery)
	}
	p.after, p.before = math.MinInt64, math.MaxInt64
	if !q.PublishedAfter.IsZero() {
		p.after = q.PublishedAfter.UnixMicro()
	}
	if !q.PublishedBefore.IsZero() {
		p.before = q.PublishedBefore.UnixMicro()
	}
	p.colCheck = !q.PublishedAfter.IsZero() || !q.PublishedBefore.IsZero() || q.MinViews > 0
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		if c.sort != sortCode(p.sort) {
			return nil, fmt.Errorf("%w: cursor belongs to another sort", ErrBadQuery)
		}
		p.cur = &c
	}
	terms, err := parseQuery(q.Q, q.Initials, q.Layout)
	if err != nil {
		return nil, err
	}
	p.terms = terms
	return p, nil
}

// ---- execution ----

// directMax is the candidate count under which the engine verifies every
// candidate instead of walking the rank order.
const directMax = 4096

// Search runs a query. Invalid input yields an error wrapping ErrBadQuery.
func (ix *Index) Search(ctx context.Context, q Query) (Result, error) {
	start := time.Now()
	p, err := prepare(q)
	if err != nil {
		return Result{}, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return Result{}, ErrClosed
	}
	res, err := ix.run(ctx, p)
	res.TookMicros = time.Since(start).Microseconds()
	return res, err
}

// hitRef is a heap entry.
type hitRef struct {
	doc   uint32
	key   float64
	score float64
}

type searcher struct {
	ix   *Index
	p    *plan
	heap []hitRef // min-heap on (key asc, id desc): the worst hit on top
	k    int
}

func (s *searcher) worse(a, b hitRef) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return s.ix.docID(a.doc) > s.ix.docID(b.doc)
}

func (s *searcher) full() bool { return len(s.heap) >= s.k }

// beats reports whether (key, doc) would enter the full heap.
func (s *searcher) beats(key float64, doc uint32) bool {
	return !s.full() || s.worse(s.heap[0], hitRef{doc: doc, key: key})
}

func (s *searcher) push(h hitRef) {
	if !s.full() {
		s.heap = append(s.heap, h)
		i := len(s.heap) - 1
		for i > 0 {
			parent := (i - 1) / 2
			if !s.worse(s.heap[i], s.heap[parent]) {
				break
			}
			s.heap[i], s.heap[parent] = s.heap[parent], s.heap[i]
			i = parent
		}
		return
	}
	if !s.worse(s.heap[0], h) {
		return
	}
	s.heap[0] = h
	i, n := 0, len(s.heap)
	for {
		l, m := 2*i+1, i
		if l < n && s.worse(s.heap[l], s.heap[m]) {
			m = l
		}
		if r := l + 1; r < n && s.worse(s.heap[r], s.heap[m]) {
			m = r
		}
		if m == i {
			return
		}
		s.heap[i], s.heap[m] = s.heap[m], s.heap[i]
		i = m
	}
}

// afterCursor reports whether (key, doc) comes after the cursor in sort order.
func (s *searcher) afterCursor(key float64, doc uint32) bool {
	c := s.p.cur
	if c == nil {
		return true
	}
	return key < c.key || (key == c.key && s.ix.docID(doc) > c.id)
}

// Relevance is popularity plus text quality, additively in log10(views)
// units: score = log10(1+views) + mean over terms of the best
// matchBonus (field bonus + position bonus [+ whole-field bonus]). The text
// part is bounded by maxBonus (<= 0.45), so the rank walk in views order only
// verifies docs whose views are within a factor 10^maxBonus of the k-th hit:
// that band, not the number of matches, bounds the work.
func matchBonus(fi, pos int, whole bool) float64 {
	b := fieldBonus[fi] + posBonus/(1+float64(pos)/16)
	if whole {
		b += wholeBonus
	}
	return b
}

// relScore combines the summed term bonuses with popularity.
func relScore(sumBonus float64, terms int, views int64) float64 {
	return popularity(views) + sumBonus/float64(terms)
}

// relBound is an upper bound of the relevance score of a doc with the given
// views, padded for rounding.
func (p *plan) relBound(views int64) float64 { return popularity(views) + p.maxBonus + 1e-9 }

func popularity(views int64) float64 { return math.Log10(1 + float64(max(views, 0))) }

func (ix *Index) colOK(p *plan, n uint32) bool {
	if !p.colCheck {
		return true
	}
	pub := *ix.pub.at(n)
	return pub >= p.after && pub < p.before && ix.viewsOf(n) >= p.q.MinViews
}

// verify checks every term of the query against doc n. With score it also
// computes the relevance score; exact terms then still need their position.
func (ix *Index) verify(p *plan, n uint32, score bool) (bool, float64) {
	d := ix.docs.at(n)
	var norms [nFields]string
	var have [nFields]bool
	sum := 0.0
	for ti := range p.terms {
		t := &p.terms[ti]
		if t.exact && !score {
			continue
		}
		best := -1.0
		for ai := range t.alts {
			a := &t.alts[ai]
			for _, fi := range p.fields {
				if !have[fi] {
					have[fi] = true
					if fi == fChannel {
						norms[fi] = ix.strs.normOf(d.chanTitle)
					} else if d.text != noText {
						norms[fi] = normOf(ix.arena.rec(d.text), fi)
					}
				}
				text := norms[fi]
				var pos int
				if a.initials {
					pos = matchInitials(text, a.runes)
				} else {
					pos = strings.Index(text, a.text)
				}
				if pos < 0 {
					continue
				}
				if !score {
					best = 1
					break
				}
				best = max(best, matchBonus(fi, pos, len(a.text) == len(text)))
			}
			if best >= 0 && !score {
				break
			}
		}
		if best < 0 {
			return false, 0
		}
		sum += best
	}
	if !score {
		return true, 0
	}
	return true, relScore(sum, len(p.terms), ix.viewsOf(n))
}

// check verifies (and with scoring scores) doc n when the plan needs it;
// otherwise the doc matches as a candidate.
func (ix *Index) check(p *plan, n uint32, needVerify, scoring bool) (bool, float64) {
	if needVerify || scoring {
		return ix.verify(p, n, scoring)
	}
	return true, 0
}

func (ix *Index) sortKey(p *plan, n uint32) float64 {
	if p.sort == SortRecent {
		return float64(*ix.pub.at(n))
	}
	return float64(ix.viewsOf(n))
}

// candidates intersects the gram postings of every term with the filters.
// The returned bitmap may be a posting list itself: never modify it.
func (ix *Index) candidates(p *plan) *roaring.Bitmap {
	var parts []*roaring.Bitmap
	for ti := range p.terms {
		t := &p.terms[ti]
		var ors []*roaring.Bitmap
		for ai := range t.alts {
			for _, fi := range p.fields {
				if bm := ix.andGrams(fi, t.alts[ai].keys); bm != nil {
					ors = append(ors, bm)
				}
			}
		}
		switch len(ors) {
		case 0:
			return nil
		case 1:
			parts = append(parts, ors[0])
		default:
			parts = append(parts, roaring.FastOr(ors...))
		}
	}
	for _, f := range []struct {
		m map[string]*posting
		k string
	}{{ix.byChannel, p.q.ChannelID}, {ix.byCategory, p.q.CategoryID}, {ix.byLang, strings.ToLower(strings.ReplaceAll(p.q.Language, "_", "-"))}} {
		if f.k == "" {
			continue
		}
		fp := f.m[f.k]
		if fp == nil {
			return nil
		}
		parts = append(parts, fp.bitmap())
	}
	if bm := ix.columnFilter(p); bm != nil {
		parts = append(parts, bm)
	}
	out := andAll(parts)
	if p.colExclude != nil && out != nil {
		if len(parts) == 1 {
			out = out.Clone()
		}
		out.AndNot(p.colExclude)
	}
	return out
}

// columnFilter turns MinViews and the published range into bitmaps from the
// bucket indexes when they are selective: a superset of the docs that pass
// (colOK still checks exactly). When the excluded side is the smaller one it
// is set as p.colExclude instead. It returns nil when there is nothing useful.
func (ix *Index) columnFilter(p *plan) *roaring.Bitmap {
	var incl []*roaring.Bitmap
	var excl []*roaring.Bitmap
	if p.q.MinViews > 0 {
		b := viewBucketOf(p.q.MinViews)
		var in, out []*roaring.Bitmap
		var cin, cout uint64
		for i, bm := range ix.viewBucket {
			if bm == nil {
				continue
			}
			if i >= b {
				in, cin = append(in, bm), cin+bm.GetCardinality()
			} else {
				out, cout = append(out, bm), cout+bm.GetCardinality()
			}
		}
		// Docs whose bucket changed in place still sit in their old one:
		// keep them as candidates (colOK checks the views exactly).
		moved := ix.movedDocs()
		if cin <= cout {
			bm := orAll(in)
			if moved != nil {
				bm = roaring.Or(bm, moved)
			}
			incl = append(incl, bm)
		} else if moved != nil {
			excl = append(excl, roaring.AndNot(orAll(out), moved))
		} else {
			excl = append(excl, out...)
		}
	}
	if p.after != math.MinInt64 || p.before != math.MaxInt64 {
		lo, hi := int32(math.MinInt32), int32(math.MaxInt32)
		if p.after != math.MinInt64 {
			lo = pubBucketOf(p.after)
		}
		if p.before != math.MaxInt64 {
			hi = pubBucketOf(p.before - 1)
		}
		var in, out []*roaring.Bitmap
		var cin, cout uint64
		for m, bm := range ix.pubBucket {
			if m >= lo && m <= hi {
				in, cin = append(in, bm), cin+bm.GetCardinality()
			} else {
				out, cout = append(out, bm), cout+bm.GetCardinality()
			}
		}
		if cin <= cout {
			incl = append(incl, orAll(in))
		} else {
			excl = append(excl, out...)
		}
	}
	if len(excl) > 0 {
		p.colExclude = orAll(excl)
	}
	if len(incl) == 0 {
		return nil
	}
	return andAll(incl)
}

func orAll(bms []*roaring.Bitmap) *roaring.Bitmap {
	switch len(bms) {
	case 0:
		return roaring.New()
	case 1:
		return bms[0]
	}
	return roaring.FastOr(bms...)
}

// andGrams intersects the postings of a pattern's grams, rarest first. With
// more than one gram the pattern is verified against the text anyway, so
// once the rarest grams leave andEnough candidates the others are not read:
// rejecting a few false candidates costs less than materializing more
// postings (a long title has dozens of grams). The result may be a posting
// list itself: never modify it.
func (ix *Index) andGrams(fi int, keys []uint64) *roaring.Bitmap {
	if len(keys) == 0 {
		return nil
	}
	type gramPosting struct {
		p    *posting
		card uint64
	}
	ps := make([]gramPosting, 0, len(keys))
	for _, k := range keys {
		p := ix.post[fi][k]
		if p == nil {
			return nil
		}
		ps = append(ps, gramPosting{p: p})
	}
	var out *roaring.Bitmap
	if len(ps) == 1 {
		out = ps[0].p.bitmap()
	} else {
		for i := range ps {
			ps[i].card = ps[i].p.card()
		}
		slices.SortFunc(ps, func(a, b gramPosting) int { return cmp.Compare(a.card, b.card) })
		out = roaring.And(ps[0].p.bitmap(), ps[1].p.bitmap())
		c := out.GetCardinality()
		removed := ps[0].card - c
		for _, g := range ps[2:] {
			// Another intersection costs about a merge of both inputs; a
			// false candidate left in costs at most one verification
			// (about andVerifyCost merge steps). The next posting is
			// larger, so likely less selective, than the last: stop when
			// removing as many docs as the last one did would not pay
			// for the merge. (Consecutive grams of a word are strongly
			// correlated: at 3M docs a 5-trigram term spent 1.1 ms on three
			// intersections that removed 96 of 185,104 candidates.)
			if c <= andEnough || removed*andVerifyCost < c+g.card {
				break
			}
			out.And(g.p.bitmap())
			next := out.GetCardinality()
			removed, c = c-next, next
		}
	}
	if out.IsEmpty() {
		return nil
	}
	return out
}

// andEnough and andVerifyCost: see andGrams.
const (
	andEnough     = 32
	andVerifyCost = 64
)

// andAll intersects bitmaps smallest first. With one input it returns it as is.
func andAll(bms []*roaring.Bitmap) *roaring.Bitmap {
	switch len(bms) {
	case 0:
		return nil
	case 1:
		return bms[0]
	}
	slices.SortFunc(bms, func(a, b *roaring.Bitmap) int {
		ca, cb := a.GetCardinality(), b.GetCardinality()
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return 0
	})
	out := roaring.And(bms[0], bms[1])
	for _, bm := range bms[2:] {
		if out.IsEmpty() {
			break
		}
		out.And(bm)
	}
	return out
}

func (ix *Index) run(ctx context.Context, p *plan) (Result, error) {
	res := Result{TotalRelation: "eq", Items: []Hit{}}
	cand := ix.candidates(p)
	if cand == nil || cand.IsEmpty() {
		return res, nil
	}
	needVerify := false
	for _, t := range p.terms {
		needVerify = needVerify || !t.exact
	}
	scoring := p.sort == SortRelevance
	s := &searcher{ix: ix, p: p, k: p.limit + 1}
	card := cand.GetCardinality()
	total := 0
	exactTotal := false

	// Verify every candidate in one pass when the rank walk cannot win: few
	// candidates, or a total that must be counted by verification anyway and
	// will likely not stop early at TotalCap.
	// A total already in the total cache is not counted again (only docs
	// newer than its horizon are), so the walk wins then.
	cached := ix.totalCached(p) // one total-cache lookup per query
	countAll := (needVerify || p.colCheck) && (p.q.ExactTotal || card <= TotalCap*6/5) && !cached
	if card <= uint64(ix.directMax) || card <= uint64(4*s.k) || (countAll && ix.directMax > 0) {
		// Few candidates: verify them all; the total comes for free. When
		// the total is cached (and the sort key needs no text), only the
		// candidates that would enter the top k are verified: in doc-id
		// order, unrelated to the sort key, that is about k*(1+ln(n/k))
		// of n candidates.
		lazy := needVerify && !scoring && cached
		it := cand.Iterator()
		var buf [verifyGather]uint32
		var sink byte
		for i := 0; it.HasNext(); i++ {
			if i&127 == 127 {
				if err := ctx.Err(); err != nil {
					return res, err
				}
			}
			m := ix.gather(p, it, buf[:])
			if (needVerify && !lazy) || scoring {
				sink += ix.touchCandidates(buf[:m])
			}
			for _, n := range buf[:m] {
				if lazy {
					key := ix.sortKey(p, n)
					if s.afterCursor(key, n) && s.beats(key, n) {
						if ok, _ := ix.verify(p, n, false); ok {
							s.push(hitRef{doc: n, key: key})
						}
					}
					continue
				}
				ok, sc := ix.check(p, n, needVerify, scoring)
				if !ok {
					continue
				}
				total++
				key := sc
				if !scoring {
					key = ix.sortKey(p, n)
				}
				if s.afterCursor(key, n) {
					s.push(hitRef{doc: n, key: key, score: sc})
				}
			}
		}
		runtime.KeepAlive(sink)
		if lazy {
			c, all, err := ix.cachedCount(ctx, p, cand, needVerify)
			if err != nil {
				return res, err
			}
			total, exactTotal = c, all
		} else {
			exactTotal = true
			if needVerify && !cached {
				ix.storeTotal(p, uint32(ix.docs.len()), total, true)
			}
		}
	} else {
		if err := ix.walk(ctx, p, s, cand, needVerify); err != nil {
			return res, err
		}
		switch {
		case !needVerify && !p.colCheck:
			total, exactTotal = int(card), true
		default:
			c, all, err := ix.cachedCount(ctx, p, cand, needVerify)
			if err != nil {
				return res, err
			}
			total, exactTotal = c, all
		}
	}
	res.Total = total
	if !exactTotal {
		res.TotalRelation = "gte"
	}
	// Heap to best-first order.
	hits := slices.Clone(s.heap)
	slices.SortFunc(hits, func(a, b hitRef) int {
		switch {
		case s.worse(b, a):
			return -1
		case s.worse(a, b):
			return 1
		}
		return 0
	})
	if len(hits) > p.limit {
		last := hits[p.limit-1]
		res.NextCursor = encodeCursor(cursor{sort: sortCode(p.sort), key: last.key, id: strings.Clone(ix.docID(last.doc))})
		hits = hits[:p.limit]
	}
	res.Items = make([]Hit, len(hits))
	for i, h := range hits {
		res.Items[i] = ix.hit(h.doc)
		if scoring {
			res.Items[i].Score = h.score
		}
	}
	return res, nil
}

// walk visits the rank blocks (views order for views and relevance, published
// order for recent), skipping every block whose key bounds prove that none of
// its docs can enter the top k (block-max early termination). Only docs that
// are candidates and can still enter the heap are verified.
// denseSets holds the bitsets of walk (all zeros when put back).
var denseSets = sync.Pool{New: func() any { return new([]uint64) }}

// setDense sets (or clears the words of) the docs of bm in dense.
func setDense(dense []uint64, bm *roaring.Bitmap, set bool) {
	it := bm.ManyIterator()
	var chunk [256]uint32
	for k := it.NextMany(chunk[:]); k > 0; k = it.NextMany(chunk[:]) {
		for _, n := range chunk[:k] {
			if set {
				dense[n>>6] |= 1 << (n & 63)
			} else {
				dense[n>>6] = 0
			}
		}
	}
}

func (ix *Index) walk(ctx context.Context, p *plan, s *searcher, cand *roaring.Bitmap, needVerify bool) error {
	r := ix.rankViews
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64) // key range any match can have
	if p.sort == SortRecent {
		r = ix.rankPub
		lo, hi = p.after, p.before-1
	} else if p.q.MinViews > 0 {
		lo = p.q.MinViews
	}
	scoring := p.sort == SortRelevance
	// A moderate candidate set is probed through a dense bitset: a roaring
	// probe binary-searches the container keys first (about 60 ns in a 10M
	// index), a bit test costs a cached load. Filling and clearing it costs
	// a few ns per candidate, and the walk probes about k*N/card docs, so
	// it pays when card^2 is below ~20*k*N.
	var dense []uint64
	if card := cand.GetCardinality(); card*card <= 400*uint64(ix.docs.len()) {
		buf := denseSets.Get().(*[]uint64)
		if need := ix.docs.len()/64 + 1; cap(*buf) < need {
			*buf = make([]uint64, need)
		}
		dense = (*buf)[:ix.docs.len()/64+1]
		setDense(dense, cand, true)
		defer func() {
			setDense(dense, cand, false) // back to all zeros for the next walk
			denseSets.Put(buf)
		}()
	}
	if p.cur != nil && !scoring {
		// Keys after the cursor are <= cursor key.
		hi = min(hi, int64(math.Floor(p.cur.key)))
	}
	for b := range r.bmax {
		if b&255 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		bmax, bmin := r.bounds(b)
		if bmax < lo || bmin > hi {
			continue
		}
		if s.full() {
			top := s.heap[0].key
			bound := float64(bmax)
			if scoring {
				bound = p.relBound(bmax)
			}
			if bound < top {
				continue
			}
		}
		// floor: docs whose raw key is below it cannot enter the full heap
		// (checked before the bitmap probe: tail blocks are unsorted).
		floor := math.Inf(-1)
		setFloor := func() {
			if !s.full() {
				return
			}
			top := s.heap[0].key
			if scoring {
				// relBound(v) < top  <=>  v < 10^(top-maxBonus-1e-9) - 1; keep a margin.
				floor = math.Pow(10, top-p.maxBonus-1e-9) - 2
			} else {
				floor = top
			}
		}
		setFloor()
		recent := p.sort == SortRecent
		for _, n := range r.block(b) {
			// Until the heap is full, only the bitmap probe filters (the
			// key, a random load in a large index, is not needed yet);
			// then the doc's key is compared with the floor before the
			// (costlier) probe, which keeps unsorted tail blocks cheap.
			if s.full() {
				var k int64
				if recent {
					k = *ix.pub.at(n)
				} else {
					k = ix.viewsOf(n)
				}
				if float64(k) < floor {
					continue
				}
			}
			if dense != nil {
				if dense[n>>6]&(1<<(n&63)) == 0 {
					continue
				}
			} else if !cand.Contains(n) {
				continue
			}
			var key float64
			if scoring {
				if !s.beats(p.relBound(ix.viewsOf(n)), n) {
					continue
				}
			} else {
				key = ix.sortKey(p, n)
				if !s.beats(key, n) || !s.afterCursor(key, n) {
					continue
				}
			}
			if !ix.colOK(p, n) {
				continue
			}
			ok, sc := ix.check(p, n, needVerify, scoring)
			if !ok {
				continue
			}
			if scoring {
				key = sc
				if !s.afterCursor(key, n) {
					continue
				}
			}
			s.push(hitRef{doc: n, key: key, score: sc})
			setFloor()
		}
	}
	return nil
}

// count counts matching candidates with ids >= from, starting at base,
// stopping at TotalCap unless ExactTotal.
func (ix *Index) count(ctx context.Context, p *plan, cand *roaring.Bitmap, needVerify bool, from uint32, base int) (int, bool, error) {
	c := base
	it := cand.Iterator()
	if from > 0 {
		it.AdvanceIfNeeded(from)
	}
	if c >= TotalCap && !p.q.ExactTotal {
		return c, !it.HasNext(), nil
	}
	var buf [verifyGather]uint32
	var sink byte
	for i := 0; it.HasNext(); i++ {
		if i&127 == 127 {
			if err := ctx.Err(); err != nil {
				return 0, false, err
			}
		}
		m := ix.gather(p, it, buf[:])
		if needVerify {
			sink += ix.touchCandidates(buf[:m])
		}
		for j, n := range buf[:m] {
			if needVerify {
				if ok, _ := ix.verify(p, n, false); !ok {
					continue
				}
			}
			c++
			if c >= TotalCap && !p.q.ExactTotal {
				runtime.KeepAlive(sink)
				return c, j == m-1 && !it.HasNext(), nil
			}
		}
	}
	runtime.KeepAlive(sink)
	return c, true, nil
}

// verifyGather is how many candidates a verification loop gathers before
// verifying them (see touchCandidates).
const verifyGather = 32

// gather fills buf with the next candidates of it that pass p's column
// filters and returns how many it found (fewer than len(buf) only at the
// end of it).
func (ix *Index) gather(p *plan, it roaring.IntIterable, buf []uint32) int {
	m := 0
	for m < len(buf) && it.HasNext() {
		if n := it.Next(); ix.colOK(p, n) {
			buf[m] = n
			m++
		}
	}
	return m
}

// touchCandidates loads the first line of the stored texts of docs ns.
// Verifying a candidate costs two dependent cache misses in a large index
// (its doc, then its text record) and little else; issuing the loads of a
// group of candidates in tight loops first lets the CPU overlap the misses
// of different candidates, and the verifications then hit the cache.
// It returns a value depending on the loads (callers keep it alive, so the
// loads are not optimized away).
func (ix *Index) touchCandidates(ns []uint32) byte {
	var refs [verifyGather]uint64
	for j, n := range ns {
		refs[j] = ix.docs.at(n).text
	}
	var sink byte
	for _, ref := range refs[:len(ns)] {
		if ref != noText {
			if r := ix.arena.rec(ref); len(r) > 0 {
				sink += r[0]
			}
		}
	}
	return sink
}

// totalCache remembers the verified totals of recent queries so that a
// popular query does not re-verify 10,000 matches on every request. An entry
// holds the count over doc ids below its horizon upTo; it stays valid while
// Index.gen is unchanged (no existing doc changed text, filters or liveness),
// and newer docs (ids >= upTo) are counted incrementally. Statistics refreshes
// never invalidate it; queries with column filters (views, dates) bypass it.
type totalCache struct {
	mu  sync.Mutex
	m   map[string]totalEntry
	off bool // benchmarks measure the uncached cost
}

type totalEntry struct {
	gen   uint64
	upTo  uint32
	count int
	exact bool
}

const totalCacheMax = 8192

func (ix *Index) cachedCount(ctx context.Context, p *plan, cand *roaring.Bitmap, needVerify bool) (int, bool, error) {
	if p.colCheck || ix.totals.off {
		return ix.count(ctx, p, cand, needVerify, 0, 0)
	}
	e, ok := ix.lookupTotal(p)
	horizon := uint32(ix.docs.len())
	from, base := uint32(0), 0
	if ok {
		if !e.exact && !p.q.ExactTotal {
			return e.count, false, nil
		}
		from, base = e.upTo, e.count
	}
	c, exact, err := ix.count(ctx, p, cand, needVerify, from, base)
	if err != nil {
		return c, exact, err
	}
	if c >= TotalCap && !p.q.ExactTotal {
		exact = false // a later horizon can only add matches
	}
	ix.storeTotal(p, horizon, c, exact)
	return c, exact, nil
}

// storeTotal caches the total c of p's matches among docs below horizon
// (exact: c counts all of them, not just TotalCap). Totals of queries with
// column filters are not cached (they change with statistics).
func (ix *Index) storeTotal(p *plan, horizon uint32, c int, exact bool) {
	if p.colCheck || ix.totals.off || ix.inverting {
		return
	}
	tc := &ix.totals
	tc.mu.Lock()
	if tc.m == nil || len(tc.m) >= totalCacheMax {
		tc.m = make(map[string]totalEntry)
	}
	tc.m[p.totalKey()] = totalEntry{gen: ix.gen, upTo: horizon, count: c, exact: exact}
	tc.mu.Unlock()
}

// lookupTotal returns the cached total of p if it is still valid (no doc
// changed text, filters or liveness since).
func (ix *Index) lookupTotal(p *plan) (totalEntry, bool) {
	tc := &ix.totals
	tc.mu.Lock()
	e, ok := tc.m[p.totalKey()]
	tc.mu.Unlock()
	return e, ok && e.gen == ix.gen
}

// totalCached reports whether cachedCount will take p's total from the
// cache instead of verifying every candidate.
func (ix *Index) totalCached(p *plan) bool {
	if p.colCheck || ix.totals.off {
		return false
	}
	e, ok := ix.lookupTotal(p)
	return ok && (e.exact || !p.q.ExactTotal)
}

// totalKey identifies what a total depends on: terms, fields and bitmap
// filters. Built once per query.
func (p *plan) totalKey() string {
	if p.tkey != "" {
		return p.tkey
	}
	var b strings.Builder
	for _, t := range p.terms {
		for _, a := range t.alts {
			b.WriteString(a.text)
			if a.initials {
				b.WriteByte(1)
			}
			b.WriteByte(2)
		}
		b.WriteByte(3)
	}
	for _, f := range p.fields {
		b.WriteByte(byte('0' + f))
	}
	fmt.Fprintf(&b, "\x04%s\x04%s\x04%s\x04%v", p.q.ChannelID, p.q.CategoryID, strings.ToLower(p.q.Language), p.q.ExactTotal)
	p.tkey = b.String()
	return p.tkey
}

// viewsOf loads the current view count of doc n: statistics refreshes store
// it under the read lock (applyStats).
func (ix *Index) viewsOf(n uint32) int64 { return atomic.LoadInt64(ix.views.at(n)) }
