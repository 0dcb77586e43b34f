package searchbench

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tubelake/tubelake/internal/yt"
)

// Doc is one generated video.
type Doc struct {
	N            int
	ID           string
	Title        string
	ChannelID    string
	ChannelTitle string
	Tags         []string
	Description  string
	CategoryID   string
	Language     string
	Views        int64
	Likes        int64
	Comments     int64
	Published    time.Time
	Duration     string
}

// TextBytes is the size of the text fields the index searches (title, tags,
// channel title, description), as Stats.TextBytes counts them.
func (d *Doc) TextBytes() int64 {
	n := len(d.Title) + len(d.ChannelTitle) + len(d.Description)
	for _, t := range d.Tags {
		n += len(t)
	}
	return int64(n)
}

// FetchedAt is when every generated video was (notionally) observed.
var FetchedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	pubFrom = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	pubTo   = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
)

// Record wraps the doc in a video record observed at fetched with the given counts.
func (d *Doc) Record(fetched time.Time, views int64) yt.Record {
	v := &yt.Video{
		ID: d.ID,
		Snippet: yt.VideoSnippet{
			PublishedAt:     d.Published,
			ChannelID:       d.ChannelID,
			Title:           d.Title,
			Description:     d.Description,
			Thumbnail:       yt.Thumbnail{URL: "https://i.ytimg.com/vi/" + d.ID + "/hqdefault.jpg", Width: 480, Height: 360},
			ChannelTitle:    d.ChannelTitle,
			Tags:            d.Tags,
			CategoryID:      d.CategoryID,
			DefaultLanguage: d.Language,
		},
		Statistics:     yt.VideoStatistics{ViewCount: yt.Int64(views), LikeCount: yt.Int64(d.Likes), CommentCount: yt.Int64(d.Comments)},
		ContentDetails: yt.VideoContentDetails{Duration: d.Duration, Dimension: "2d", Definition: "hd"},
		FetchedAt:      fetched,
	}
	return yt.NewVideoRecord("import", v)
}

// Generator produces a deterministic corpus: doc i depends only on the
// model, the seed and i, so any doc can be regenerated on demand and the
// corpus is never held in memory. A Generator is not safe for concurrent
// use; make one per goroutine (they share the read-only Model).
type Generator struct {
	m        *Model
	seed     uint64
	docs     int
	channels int
	pcg      rand.PCG
	r        *rand.Rand
	buf      []byte // sentence's buffer, reused
}

// NewGenerator returns a generator of a corpus of docs videos.
func NewGenerator(m *Model, seed uint64, docs int) *Generator {
	g := &Generator{m: m, seed: seed, docs: docs, channels: max(100, docs/40)}
	g.r = rand.New(&g.pcg)
	return g
}

// mix is the splitmix64 finalizer: a bijection of uint64.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// VideoID returns the 11-character id of doc i: 64 bits of a bijective hash
// of i, so ids never collide, laid out like YouTube's (the last character
// carries 4 bits).
func VideoID(seed uint64, i int) string {
	x := mix(uint64(i) ^ mix(seed))
	var b [11]byte
	for k := 0; k < 10; k++ {
		b[k] = b64[x&63]
		x >>= 6
	}
	b[10] = b64[(x&15)<<2]
	return string(b[:])
}

func channelID(seed uint64, c int) string {
	x, y := mix(uint64(c)^mix(seed+1)), mix(uint64(c)^mix(seed+2))
	var b [24]byte
	b[0], b[1] = 'U', 'C'
	for k := 0; k < 10; k++ {
		b[2+k] = b64[x&63]
		x >>= 6
		b[12+k] = b64[y&63]
		y >>= 6
	}
	b[22] = b64[x&63]
	b[23] = b64[(y&3)<<4]
	return string(b[:])
}

// docLang maps a percentile to a language by langShare. Channel c has
// language c % nLangs, so a video's channel speaks its language.
func docLang(p int) int {
	for l, s := range langShare {
		if p < s {
			return l
		}
		p -= s
	}
	return langKO
}

// Doc fills d with doc i of the corpus.
func (g *Generator) Doc(i int, d *Doc) {
	g.pcg.Seed(g.seed, uint64(i))
	r := g.r
	// Channel: a few channels publish most videos.
	lang := docLang(r.IntN(100))
	u := r.Float64()
	c := int(float64(g.channels/nLangs)*u*u*u)*nLangs + lang
	lm := g.m.langs[lang]
	*d = Doc{N: i, ID: VideoID(g.seed, i), Language: langCodes[lang]}
	d.ChannelID = channelID(g.seed, c)
	d.ChannelTitle = lm.channels[mix(uint64(c)^mix(g.seed+4))%uint64(len(lm.channels))]
	d.Title = g.sentence(lm, 100, true)
	switch p := r.Float64(); {
	case p < 0.5 && len(lm.tagLists) > 0:
		tl := lm.tagLists[r.IntN(len(lm.tagLists))]
		d.Tags = append(d.Tags, tl[:min(len(tl), 1+r.IntN(12))]...)
	case p < 0.8:
		for k := r.IntN(5); k >= 0; k-- {
			d.Tags = append(d.Tags, lm.vocab[lm.uni[r.IntN(len(lm.uni))]].text)
		}
	}
	switch p := r.Float64(); {
	case p < 0.4 && len(lm.descLines) > 0:
		d.Description = lm.descLines[r.IntN(len(lm.descLines))]
	case p < 0.8:
		d.Description = g.sentence(lm, 160, false)
	}
	d.CategoryID = lm.categories[r.IntN(len(lm.categories))]
	// Views: Pareto (Zipf-like rank distribution), a long tail of small counts.
	d.Views = int64(math.Min(5e9, 50*math.Pow(1-r.Float64(), -1/0.6)))
	d.Likes = int64(float64(d.Views) * (0.002 + 0.05*r.Float64()))
	d.Comments = int64(float64(d.Likes) * 0.05 * r.Float64())
	// Published: 2010..2025, more videos in recent years.
	span := pubTo.Sub(pubFrom)
	d.Published = pubFrom.Add(time.Duration(math.Sqrt(r.Float64()) * float64(span))).Truncate(time.Second)
	secs := 15 + int(math.Exp(r.Float64()*7.5))
	d.Duration = "PT" + strconv.Itoa(secs/60) + "M" + strconv.Itoa(secs%60) + "S"
}

// Views returns the view count of doc i without generating its text.
func (g *Generator) Views(i int) int64 {
	var d Doc
	g.Doc(i, &d)
	return d.Views
}

// sentence samples a title-like text from the word-bigram model with
// back-off to the unigram distribution (so titles recombine), and a small
// share of coined words (the long tail of names every real corpus has).
func (g *Generator) sentence(lm *langModel, maxRunes int, title bool) string {
	r := g.r
	b := g.buf[:0]
	runes := 0 // counted per piece: every piece is valid UTF-8
	prev := uint32(endTok)
	for n := 0; n < 30; n++ {
		var t uint32
		switch {
		case n == 0:
			t = lm.start[r.IntN(len(lm.start))]
		case r.Float64() < 0.2:
			t = lm.uni[r.IntN(len(lm.uni))]
		default:
			nx := lm.next[prev]
			if len(nx) == 0 {
				t = endTok
			} else {
				t = nx[r.IntN(len(nx))]
			}
		}
		if t == endTok {
			if title || n >= 3 {
				break
			}
			t = lm.uni[r.IntN(len(lm.uni))]
		}
		tok := lm.vocab[t]
		text := tok.text
		if r.Float64() < 0.02 {
			text = g.coin(lm)
		}
		if n > 0 && !tok.glue {
			b = append(b, ' ')
			runes++
		}
		b = append(b, text...)
		runes += utf8.RuneCountInString(text)
		prev = t
		if runes >= maxRunes {
			break
		}
	}
	g.buf = b
	if runes > maxRunes {
		return string([]rune(string(b))[:maxRunes])
	}
	return string(b)
}

// coin makes a new word from the rune model of the language's words.
func (g *Generator) coin(lm *langModel) string {
	r := g.r
	if len(lm.wordStart) == 0 {
		return "x"
	}
	rs := make([]rune, 0, 8)
	c := lm.wordStart[r.IntN(len(lm.wordStart))]
	rs = append(rs, c)
	for n := 2 + r.IntN(5); len(rs) < n; {
		nx := lm.wordNext[c]
		if len(nx) == 0 {
			break
		}
		c = nx[r.IntN(len(nx))]
		rs = append(rs, c)
	}
	return string(rs)
}
