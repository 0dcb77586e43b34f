package sim

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed corpus/*.csv.gz corpus/KR_category_id.json
var corpusFS embed.FS

// rng is a tiny deterministic generator (splitmix64 stream).
type rng struct{ s uint64 }

func newRNG(parts ...uint64) *rng {
	s := uint64(0x6a09e667f3bcc909)
	for _, p := range parts {
		s = mix64(s ^ p)
	}
	return &rng{s: s}
}

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// f64 is uniform in [0,1).
func (r *rng) f64() float64 { return float64(r.u64()>>11) / (1 << 53) }

func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.u64() % uint64(n))
}

func (r *rng) norm() float64 {
	u1 := r.f64()
	if u1 < 1e-12 {
		u1 = 1e-12
	}
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*r.f64())
}

func pick[T any](r *rng, s []T) T {
	var zero T
	if len(s) == 0 {
		return zero
	}
	return s[r.intn(len(s))]
}

// langCorpus is the vocabulary learnt from one country's Kaggle trending sample.
type langCorpus struct {
	titles        []string
	titlesByCat   map[string][]string
	tokens        []string
	tokensByCat   map[string][]string
	tags          []string
	tagsByCat     map[string][]string
	descLines     []string
	channelTokens []string
	channelTitles []string
}

// corpus holds the three languages. It is immutable after loading.
type corpus struct {
	lang       map[string]*langCorpus // "ko", "ja", "en"
	categories []byte                 // KR_category_id.json verbatim
	catTitle   map[string]string
}

// loadCorpus parses the embedded CC0 data once per process: it is immutable,
// so sharing it between servers is safe.
var loadCorpus = sync.OnceValues(func() (*corpus, error) {
	c := &corpus{lang: map[string]*langCorpus{}}
	for _, f := range []struct{ file, lang string }{
		{"corpus/KR_youtube_trending_data.csv.gz", "ko"},
		{"corpus/JP_youtube_trending_data.csv.gz", "ja"},
		{"corpus/US_youtube_trending_data.csv.gz", "en"},
	} {
		lc, err := parseTrendingCSV(f.file)
		if err != nil {
			return nil, err
		}
		c.lang[f.lang] = lc
	}
	b, err := corpusFS.ReadFile("corpus/KR_category_id.json")
	if err != nil {
		return nil, err
	}
	c.categories = b
	cats, err := parseCategories(b)
	if err != nil {
		return nil, err
	}
	c.catTitle = map[string]string{}
	for _, ct := range cats {
		c.catTitle[ct.ID] = ct.Snippet.Title
	}
	return c, nil
})

func parseTrendingCSV(name string) (*langCorpus, error) {
	raw, err := corpusFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cr := csv.NewReader(zr)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, need := range []string{"video_id", "title", "channelTitle", "categoryId", "tags", "description"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: missing column %s", name, need)
		}
	}
	lc := &langCorpus{titlesByCat: map[string][]string{}, tokensByCat: map[string][]string{}, tagsByCat: map[string][]string{}}
	seenVid, seenLine, seenChan := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) < len(head) || seenVid[rec[col["video_id"]]] {
			continue
		}
		seenVid[rec[col["video_id"]]] = true
		cat := rec[col["categoryId"]]
		title := strings.TrimSpace(rec[col["title"]])
		if title != "" && !strings.ContainsRune(title, utf8.RuneError) {
			lc.titles = append(lc.titles, title)
			lc.titlesByCat[cat] = append(lc.titlesByCat[cat], title)
			for _, t := range strings.Fields(title) {
				if hasLetter(t) {
					lc.tokens = append(lc.tokens, t)
					lc.tokensByCat[cat] = append(lc.tokensByCat[cat], t)
				}
			}
		}
		if tags := rec[col["tags"]]; tags != "[None]" && tags != "" {
			for _, t := range strings.Split(tags, "|") {
				t = strings.TrimSpace(t)
				if t != "" && utf8.RuneCountInString(t) <= 30 {
					lc.tags = append(lc.tags, t)
					lc.tagsByCat[cat] = append(lc.tagsByCat[cat], t)
				}
			}
		}
		for _, line := range strings.Split(strings.ReplaceAll(rec[col["description"]], "\r", ""), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || seenLine[line] || utf8.RuneCountInString(line) > 200 || strings.Contains(line, "@") {
				continue
			}
			seenLine[line] = true
			lc.descLines = append(lc.descLines, line)
		}
		if ct := strings.TrimSpace(rec[col["channelTitle"]]); ct != "" && !seenChan[ct] {
			seenChan[ct] = true
			lc.channelTitles = append(lc.channelTitles, ct)
			for _, t := range strings.Fields(ct) {
				if hasLetter(t) && utf8.RuneCountInString(t) >= 2 {
					lc.channelTokens = append(lc.channelTokens, t)
				}
			}
		}
	}
	if len(lc.titles) == 0 || len(lc.tokens) == 0 || len(lc.channelTokens) == 0 {
		return nil, fmt.Errorf("%s: empty corpus", name)
	}
	return lc, nil
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// topicTerms are common search terms per language and category id, inserted
// into generated titles and tags so that keyword searches (영어, 초등영어, 먹방...)
// find things.
var topicTerms = map[string]map[string][]string{
	"ko": {
		"1":  {"영화", "영화리뷰", "결말포함", "애니"},
		"2":  {"자동차", "시승기", "신차", "드라이브"},
		"10": {"노래", "커버", "플레이리스트", "뮤직비디오", "라이브", "케이팝"},
		"15": {"강아지", "고양이", "반려견", "댕댕이"},
		"17": {"축구", "야구", "하이라이트", "골프", "헬스"},
		"19": {"여행", "캠핑", "맛집", "여행브이로그"},
		"20": {"게임", "롤", "마인크래프트", "배그", "공략"},
		"22": {"브이로그", "일상", "먹방", "육아", "자취"},
		"23": {"개그", "코미디", "웃긴영상", "몰카"},
		"24": {"예능", "드라마", "하이라이트", "먹방", "리액션"},
		"25": {"뉴스", "속보", "정치", "경제", "날씨"},
		"26": {"요리", "레시피", "먹방", "메이크업", "살림"},
		"27": {"영어", "초등영어", "영어회화", "공부", "수학", "강의", "한국사"},
		"28": {"리뷰", "언박싱", "아이폰", "갤럭시", "코딩"},
	},
	"ja": {
		"1":  {"映画", "アニメ", "予告"},
		"2":  {"車", "試乗", "ドライブ"},
		"10": {"歌ってみた", "MV", "ライブ", "弾いてみた"},
		"15": {"猫", "犬", "ペット"},
		"17": {"野球", "サッカー", "ハイライト"},
		"19": {"旅行", "キャンプ", "グルメ"},
		"20": {"ゲーム実況", "マイクラ", "APEX"},
		"22": {"vlog", "日常", "大食い", "モッパン"},
		"23": {"コント", "漫才", "ドッキリ"},
		"24": {"バラエティ", "ドラマ", "切り抜き"},
		"25": {"ニュース", "速報"},
		"26": {"料理", "レシピ", "メイク"},
		"27": {"英語", "英会話", "勉強", "授業"},
		"28": {"レビュー", "開封", "iPhone"},
	},
	"en": {
		"1":  {"trailer", "movie", "review"},
		"2":  {"car", "test drive", "review"},
		"10": {"official video", "cover", "lyrics", "live"},
		"15": {"dog", "cat", "puppy"},
		"17": {"highlights", "NBA", "football"},
		"19": {"travel", "camping", "food tour"},
		"20": {"gameplay", "minecraft", "fortnite"},
		"22": {"vlog", "day in my life", "mukbang"},
		"23": {"comedy", "funny", "prank"},
		"24": {"reaction", "challenge", "highlights"},
		"25": {"news", "breaking news"},
		"26": {"recipe", "cooking", "makeup", "DIY"},
		"27": {"english", "learn english", "lesson", "tutorial"},
		"28": {"review", "unboxing", "iPhone"},
	},
}

// channelCategories is the channel category mix (weights sum to 100).
var channelCategories = []struct {
	id string
	w  int
}{{"24", 18}, {"22", 16}, {"10", 10}, {"20", 10}, {"27", 9}, {"26", 9}, {"25", 6}, {"17", 5}, {"23", 5}, {"1", 4}, {"28", 4}, {"15", 2}, {"19", 1}, {"2", 1}}

func pickCategory(r *rng) string {
	n := r.intn(100)
	for _, c := range channelCategories {
		if n < c.w {
			return c.id
		}
		n -= c.w
	}
	return "24"
}

var channelSuffix = map[string][]string{
	"ko": {"TV", "티비", "채널", "튜브", "Official", "스튜디오", "로그"},
	"ja": {"チャンネル", "TV", "ch", "Official", "スタジオ"},
	"en": {"TV", "Official", "Channel", "Studios", "Vlogs", "HQ"},
}

// genTitle builds a title from a real skeleton title of the same language and
// category, replacing some words with corpus words and adding a topic term.
func (lc *langCorpus) genTitle(r *rng, lang, cat string) string {
	sk := lc.titlesByCat[cat]
	if len(sk) < 5 {
		sk = lc.titles
	}
	toks := strings.Fields(pick(r, sk))
	pool := lc.tokensByCat[cat]
	if len(pool) < 20 {
		pool = lc.tokens
	}
	for i, t := range toks {
		if hasLetter(t) && r.f64() < 0.45 {
			toks[i] = pick(r, pool)
		}
	}
	if terms := topicTerms[lang][cat]; len(terms) > 0 && r.f64() < 0.75 {
		term := pick(r, terms)
		switch x := r.f64(); {
		case x < 0.35:
			toks = append([]string{"[" + term + "]"}, toks...)
		case x < 0.7:
			toks = append([]string{term}, toks...)
		default:
			toks = append(toks, "#"+strings.ReplaceAll(term, " ", ""))
		}
	}
	return clipRunes(strings.Join(toks, " "), 100)
}

func (lc *langCorpus) genTags(r *rng, lang, cat, channelTitle string) []string {
	if r.f64() < 0.3 {
		return nil
	}
	pool := lc.tagsByCat[cat]
	if len(pool) < 20 {
		pool = lc.tags
	}
	n := 3 + r.intn(12)
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	add(channelTitle)
	if terms := topicTerms[lang][cat]; len(terms) > 0 {
		add(pick(r, terms))
	}
	for i := 0; i < n; i++ {
		add(pick(r, pool))
	}
	return out
}

func (lc *langCorpus) genDescription(r *rng, handle string) string {
	if r.f64() < 0.08 {
		return ""
	}
	n := 1 + r.intn(5)
	lines := make([]string, 0, n+2)
	for i := 0; i < n; i++ {
		lines = append(lines, pick(r, lc.descLines))
	}
	if r.f64() < 0.5 {
		lines = append(lines, "", "https://www.youtube.com/"+handle)
	}
	return clipRunes(strings.Join(lines, "\n"), 1500)
}

func (lc *langCorpus) genChannelTitle(r *rng, lang, cat string) string {
	var parts []string
	switch x := r.f64(); {
	case x < 0.45:
		parts = []string{pick(r, lc.channelTokens), pick(r, channelSuffix[lang])}
	case x < 0.75:
		parts = []string{pick(r, lc.channelTokens), pick(r, lc.channelTokens)}
	default:
		parts = []string{pick(r, topicTerms[lang][cat]), pick(r, lc.channelTokens)}
	}
	return clipRunes(strings.Join(parts, " "), 50)
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)[:n]
	out := string(rs)
	if i := strings.LastIndexByte(out, ' '); i > n/2 {
		out = out[:i]
	}
	return strings.TrimSpace(out)
}

// ---- handles: slug from title, with a small Hangul romanisation ----

var (
	romInitial = []string{"g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"}
	romMedial  = []string{"a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu", "ui", "i"}
	romFinal   = []string{"", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"}
)

func slugify(title string, r *rng) string {
	var b strings.Builder
	for _, c := range title {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		case c >= 0xAC00 && c <= 0xD7A3:
			s := int(c - 0xAC00)
			b.WriteString(romInitial[s/588] + romMedial[(s%588)/28] + romFinal[s%28])
		}
		if b.Len() >= 16 {
			break
		}
	}
	s := b.String()
	if len(s) > 16 {
		s = s[:16]
	}
	if len(s) < 3 {
		s = pick(r, []string{"channel", "official", "tube", "studio", "daily", "kanal"})
	}
	return s
}
