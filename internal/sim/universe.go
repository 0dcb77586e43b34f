package sim

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// universe is the lazily generated world. Nothing per channel or per video is
// stored: every attribute is a pure function of (seed, index, ordinal, time).
type universe struct {
	seed   uint64
	n      int
	mean   float64
	start  time.Time
	ids    idCodec
	corpus *corpus

	// metaCache memoises channel metadata (immutable, bounded): requests
	// touch the same channels over and over. Videos are never cached.
	cacheMu   sync.Mutex
	metaCache map[int]*chanMeta
}

const metaCacheSize = 4096

// chanBase holds the numeric attributes of a channel (cheap to compute).
type chanBase struct {
	idx        int
	created    time.Time // second precision
	k0         int       // uploads published by universe start
	rate       float64   // uploads per second
	subs0      float64   // subscribers at universe start
	hiddenSubs bool
	lang       string // ko, ja, en
	country    string // KR, JP, US or "" (not set)
	category   string
}

// chanMeta adds the text attributes.
type chanMeta struct {
	chanBase
	id, title, handle, desc, thumb string
	defaultLanguage                string
}

const (
	goneNone = iota
	goneDeleted
	gonePrivate
)

// vidBase is a video's full deterministic description.
type vidBase struct {
	ch         *chanMeta
	ord        int
	id         string
	pub        time.Time
	goneKind   int
	goneAt     time.Time
	editAt     time.Time // zero: title never edited
	vfinal     float64
	tau        float64 // seconds
	likeRatio  float64
	cmtRatio   float64
	hideLikes  bool
	noComments bool
	category   string
	seconds    int
	hd         bool
	caption    bool
	licensed   bool
	audioLang  string
	defLang    string
}

func (u *universe) chanRNG(idx int, salt uint64) *rng {
	return newRNG(u.seed, 0xC4A, uint64(idx), salt)
}

func (u *universe) channelBase(idx int) chanBase {
	r := u.chanRNG(idx, 1)
	b := chanBase{idx: idx}
	// Created between 3 months and 12 years before start.
	age := time.Duration(float64(90*day) + r.f64()*float64(12*year-90*day))
	b.created = u.start.Add(-age).Truncate(time.Second)
	// Skewed uploads count: lognormal with mean 1 times the configured mean.
	const sigma = 1.0
	w := math.Exp(sigma*r.norm() - sigma*sigma/2)
	// Popular channels upload more: weight (n/(rank+1))^0.3, normalised to mean ~1.
	w *= math.Pow(float64(u.n)/float64(idx+1), 0.3) * (1 - 0.3)
	b.k0 = max(1, int(math.Round(u.mean*w)))
	if b.k0 > 1<<20 {
		b.k0 = 1 << 20
	}
	b.rate = float64(b.k0) / u.start.Sub(b.created).Seconds()
	// Zipf popularity by rank.
	b.subs0 = 1e8 / math.Pow(float64(idx+1), 0.85)
	b.hiddenSubs = r.f64() < 0.03
	switch x := r.f64(); {
	case x < 0.75:
		b.lang, b.country = "ko", "KR"
	case x < 0.87:
		b.lang, b.country = "ja", "JP"
	default:
		b.lang, b.country = "en", "US"
	}
	if r.f64() < 0.08 {
		b.country = ""
	}
	b.category = pickCategory(r)
	return b
}

func (u *universe) channelMeta(idx int) *chanMeta {
	u.cacheMu.Lock()
	m, ok := u.metaCache[idx]
	u.cacheMu.Unlock()
	if ok {
		return m
	}
	m = u.genChannelMeta(idx)
	u.cacheMu.Lock()
	if u.metaCache == nil || len(u.metaCache) >= metaCacheSize {
		u.metaCache = make(map[int]*chanMeta, 256)
	}
	u.metaCache[idx] = m
	u.cacheMu.Unlock()
	return m
}

func (u *universe) genChannelMeta(idx int) *chanMeta {
	m := &chanMeta{chanBase: u.channelBase(idx)}
	r := u.chanRNG(idx, 2)
	lc := u.corpus.lang[m.lang]
	m.id = u.ids.channelID(idx)
	m.title = lc.genChannelTitle(r, m.lang, m.category)
	m.handle = handleFor(slugify(m.title, r), idx)
	m.desc = lc.genDescription(r, m.handle)
	if r.f64() < 0.3 {
		m.defaultLanguage = m.lang
	}
	m.thumb = "https://yt3.ggpht.com/" + randToken(r, 86)
	return m
}

// channelByHandle finds a channel from its @handle.
func (u *universe) channelByHandle(h string) (*chanMeta, bool) {
	slug, idx, ok := parseHandle(h)
	if !ok || idx >= u.n {
		return nil, false
	}
	m := u.channelMeta(idx)
	if s, _, _ := parseHandle(m.handle); s != slug {
		return nil, false
	}
	return m, true
}

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func randToken(r *rng, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = b64chars[r.intn(64)]
	}
	return string(b)
}

// jitter of upload ordinal i in [0,1): publish offsets are (i+jitter)/rate.
func (u *universe) jitter(idx, ord int) float64 {
	return float64(hash2(u.seed^0x4a17, uint64(idx), uint64(ord), 7)>>11) / (1 << 53)
}

// pubTime is the publish time of upload ordinal ord (strictly increasing in ord).
func (u *universe) pubTime(b *chanBase, ord int) time.Time {
	secs := (float64(ord) + u.jitter(b.idx, ord)) / b.rate
	return b.created.Add(time.Duration(math.Floor(secs)) * time.Second)
}

// uploadCount is the number of uploads published by t (ordinals 0..n-1).
func (u *universe) uploadCount(b *chanBase, t time.Time) int {
	if t.Before(b.created) {
		return 0
	}
	x := math.Floor(t.Sub(b.created).Seconds()) + 1
	n := int(x * b.rate)
	if n > 1<<ordBits {
		n = 1 << ordBits
	}
	// Fix up float rounding against the exact predicate pubTime(i) <= t.
	for n > 0 && u.pubTime(b, n-1).After(t) {
		n--
	}
	for n < 1<<ordBits && !u.pubTime(b, n).After(t) {
		n++
	}
	return n
}

func (u *universe) video(ch *chanMeta, ord int) *vidBase {
	r := newRNG(u.seed, 0x71D, uint64(ch.idx), uint64(ord))
	v := &vidBase{ch: ch, ord: ord, id: u.ids.videoID(ch.idx, ord)}
	v.pub = u.pubTime(&ch.chanBase, ord)
	if r.f64() < 0.03 {
		v.goneKind = goneDeleted
		if r.f64() < 0.5 {
			v.goneKind = gonePrivate
		}
		v.goneAt = v.pub.Add(time.Hour + time.Duration(r.f64()*float64(2*year))).Truncate(time.Second)
	}
	if r.f64() < 0.02 {
		v.editAt = v.pub.Add(time.Hour + time.Duration(r.f64()*float64(60*day))).Truncate(time.Second)
	}
	// Pareto-tailed final views scaled by channel popularity.
	p := math.Pow(1-r.f64(), -1/1.2)
	if p > 2000 {
		p = 2000
	}
	v.vfinal = ch.subs0*0.02*p + 50*math.Exp(r.norm())
	v.tau = float64(2*day/time.Second) * math.Exp(r.norm()*0.7)
	v.likeRatio = 0.005 + r.f64()*0.055
	v.cmtRatio = 0.0005 + r.f64()*0.0045
	v.hideLikes = r.f64() < 0.05
	v.noComments = r.f64() < 0.04
	v.category = ch.category
	if r.f64() < 0.15 {
		v.category = pickCategory(r)
	}
	switch x := r.f64(); {
	case x < 0.25:
		v.seconds = 10 + r.intn(51)
	case x < 0.8:
		v.seconds = 120 + r.intn(18*60)
	default:
		v.seconds = 20*60 + r.intn(100*60)
	}
	v.hd = r.f64() < 0.9
	v.caption = r.f64() < 0.15
	v.licensed = r.f64() < 0.4
	if r.f64() < 0.6 {
		v.audioLang = ch.lang
	}
	if r.f64() < 0.25 {
		v.defLang = ch.lang
	}
	return v
}

// gone reports whether the video is deleted or private at t.
func (v *vidBase) gone(t time.Time) bool {
	return v.goneKind != goneNone && !t.Before(v.goneAt)
}

func (v *vidBase) shorts() bool { return v.seconds <= 60 }

// videoText generates title, description and tags at time t (title edits apply).
func (u *universe) videoText(v *vidBase, t time.Time) (title, desc string, tags []string) {
	return u.videoTitle(v, t), u.videoDesc(v), u.videoTags(v)
}

// videoTitle is the title at t. Each text field has its own random stream so
// that search can generate titles and tags without descriptions.
func (u *universe) videoTitle(v *vidBase, t time.Time) string {
	lc := u.corpus.lang[v.ch.lang]
	if !v.editAt.IsZero() && !t.Before(v.editAt) {
		r := newRNG(u.seed, 0xED1, uint64(v.ch.idx), uint64(v.ord))
		return lc.genTitle(r, v.ch.lang, v.category)
	}
	r := newRNG(u.seed, 0x7E7, uint64(v.ch.idx), uint64(v.ord))
	title := lc.genTitle(r, v.ch.lang, v.category)
	if v.shorts() && r.f64() < 0.5 {
		title = clipRunes(title, 90) + " #shorts"
	}
	return title
}

func (u *universe) videoDesc(v *vidBase) string {
	r := newRNG(u.seed, 0xDE5, uint64(v.ch.idx), uint64(v.ord))
	return u.corpus.lang[v.ch.lang].genDescription(r, v.ch.handle)
}

func (u *universe) videoTags(v *vidBase) []string {
	r := newRNG(u.seed, 0x7A6, uint64(v.ch.idx), uint64(v.ord))
	return u.corpus.lang[v.ch.lang].genTags(r, v.ch.lang, v.category, v.ch.title)
}

// ---- statistics: deterministic, monotone in t ----

func (u *universe) views(v *vidBase, t time.Time) int64 {
	a := t.Sub(v.pub).Seconds()
	if a <= 0 {
		return 0
	}
	f := v.vfinal * (a / (a + v.tau)) * (1 + 0.15*a/float64(year/time.Second))
	return int64(f)
}

func (u *universe) subsRaw(b *chanBase, t time.Time) float64 {
	if !t.After(b.created) {
		return 0
	}
	if t.Before(u.start) {
		frac := t.Sub(b.created).Seconds() / u.start.Sub(b.created).Seconds()
		return b.subs0 * math.Pow(frac, 0.8)
	}
	return b.subs0 * (1 + 0.2*t.Sub(u.start).Seconds()/float64(year/time.Second))
}

// roundSubs rounds down to three significant figures as the API does since 2019.
func roundSubs(x int64) int64 {
	if x < 1000 {
		return x
	}
	p := int64(1)
	for x/p >= 1000 {
		p *= 10
	}
	return x / p * p
}

func (u *universe) channelStats(b *chanBase, t time.Time) (views, subs, videos int64) {
	n := u.uploadCount(b, t)
	s := u.subsRaw(b, t)
	return int64(0.1*s*float64(n)) + 1000*int64(n), roundSubs(int64(s)), int64(n)
}

// isoDuration formats seconds as the API's ISO 8601 duration (PT1H2M3S).
func isoDuration(sec int) string {
	h, m, s := sec/3600, sec/60%60, sec%60
	out := "PT"
	if h > 0 {
		out += strconv.Itoa(h) + "H"
	}
	if m > 0 {
		out += strconv.Itoa(m) + "M"
	}
	if s > 0 || (h == 0 && m == 0) {
		out += strconv.Itoa(s) + "S"
	}
	return out
}

// resolveVideo decodes an id and returns the video if it has been published by t
// (it may be gone; check v.gone(t)).
func (u *universe) resolveVideo(id string, t time.Time) (*vidBase, bool) {
	ci, ord, ok := u.ids.videoRef(id)
	if !ok {
		return nil, false
	}
	b := u.channelBase(ci)
	if ord >= u.uploadCount(&b, t) {
		return nil, false
	}
	return u.video(u.channelMeta(ci), ord), true
}

func (u *universe) resolveChannel(id string, t time.Time) (*chanMeta, bool) {
	ci, ok := u.ids.channelIndex(id)
	if !ok {
		return nil, false
	}
	m := u.channelMeta(ci)
	if t.Before(m.created) {
		return nil, false
	}
	return m, true
}

func (v *vidBase) String() string {
	return fmt.Sprintf("video %s (ch %d ord %d)", v.id, v.ch.idx, v.ord)
}
