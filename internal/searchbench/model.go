package searchbench

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Languages of the corpus, in the proportions of a Korean discovery service.
const (
	langKO = iota
	langJA
	langEN
	nLangs
)

var langCodes = [nLangs]string{"ko", "ja", "en"}

// langShare is the share of channels (and so videos) per language, in percent.
var langShare = [nLangs]int{60, 20, 20}

// Source files under the data dir. The first one is required.
const (
	fileMostPopular = "trending/kr-jp-us-mostpopular-2025-11/videos_latest.csv.gz"
	fileKR2024      = "trending/kr-2024-04-22-sample/KR_youtube_trending_data.csv.gz"
	fileFedelux     = "trending/fedelux3-2020-04-kr/KR_videos_2020-04-01_to_2020-04-04.jsonl.gz"
	dirKaggle       = "trending/kaggle-rsrishav-2020-08-sample"
)

// kaggleFiles are the Kaggle (rsrishav) samples read, with their language.
var kaggleFiles = []struct {
	name string
	lang int
}{
	{"KR_youtube_trending_data.csv.gz", langKO},
	{"JP_youtube_trending_data.csv.gz", langJA},
	{"US_youtube_trending_data.csv.gz", langEN},
	{"GB_youtube_trending_data.csv.gz", langEN},
	{"CA_youtube_trending_data.csv.gz", langEN},
}

// mostPopularCategories maps the category keys of kr-jp-us-mostpopular to ids.
var mostPopularCategories = map[string]string{
	"film": "1", "autos": "2", "music": "10", "pets": "15", "sports": "17", "travel": "19",
	"gaming": "20", "people": "22", "comedy": "23", "entertainment": "24", "news": "25",
	"howto": "26", "education": "27", "science": "28",
}

// realVideo is what the models learn from one real video.
type realVideo struct {
	lang                  int
	title, channel        string
	tags                  []string
	desc, category, vidID string
}

// token is a vocabulary entry of a title model: its text and whether it is
// glued to the previous token (no space), as inside Japanese titles.
type token struct {
	text string
	glue bool
}

// langModel is the learned model of one language.
type langModel struct {
	vocab []token
	byKey map[token]uint32
	start []uint32   // first tokens, one entry per occurrence (weighted sampling)
	next  [][]uint32 // successors per token, endTok marks the end of a title
	uni   []uint32   // every token occurrence (back-off)

	// Rune-level model of words, to coin new words (the long tail of names).
	wordStart []rune
	wordNext  map[rune][]rune

	channels   []string   // real channel titles (one per video: popular ones weigh more)
	tagLists   [][]string // real tag lists
	descLines  []string   // real first lines of descriptions
	categories []string   // real category ids (one per video)
	titles     int        // titles learned
}

const endTok = 0 // vocab[0] is a sentinel

func newLangModel() *langModel {
	return &langModel{vocab: []token{{}}, byKey: map[token]uint32{}, next: [][]uint32{nil}, wordNext: map[rune][]rune{}}
}

func (m *langModel) id(t token) uint32 {
	if n, ok := m.byKey[t]; ok {
		return n
	}
	n := uint32(len(m.vocab))
	m.vocab = append(m.vocab, t)
	m.next = append(m.next, nil)
	m.byKey[t] = n
	return n
}

// Model is the corpus model learned from real titles.
type Model struct {
	langs [nLangs]*langModel
	// Sources lists the files read and the videos learned from each.
	Sources []string
}

// Titles returns how many real titles were learned per language code.
func (m *Model) Titles() map[string]int {
	out := map[string]int{}
	for l, lm := range m.langs {
		out[langCodes[l]] = lm.titles
	}
	return out
}

// LoadModel learns the corpus model from the real YouTube data in dataDir
// (../shared/data, see its README.md).
func LoadModel(dataDir string) (*Model, error) {
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("search bench: real data dir %q not found: the corpus is learned from the real titles in ../shared/data (see its README.md); pass --data-dir", dataDir)
	}
	var vids []realVideo
	seen := map[string]bool{}
	add := func(v realVideo) bool {
		if v.title == "" || strings.ContainsRune(v.title, utf8.RuneError) || !utf8.ValidString(v.title) {
			return false
		}
		k := langCodes[v.lang] + "/" + v.vidID
		if v.vidID != "" && seen[k] {
			return false
		}
		seen[k] = true
		vids = append(vids, v)
		return true
	}
	m := &Model{}
	n, err := readMostPopular(filepath.Join(dataDir, fileMostPopular), add)
	if err != nil {
		return nil, fmt.Errorf("search bench: %w (the corpus is learned from ../shared/data; see its README.md)", err)
	}
	m.Sources = append(m.Sources, fmt.Sprintf("%s (%d videos)", fileMostPopular, n))
	for _, kf := range kaggleFiles {
		rel := filepath.Join(dirKaggle, kf.name)
		n, err := readRsrishav(filepath.Join(dataDir, rel), kf.lang, true, add)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("search bench: %w", err)
		}
		m.Sources = append(m.Sources, fmt.Sprintf("%s (%d videos)", rel, n))
	}
	if n, err := readRsrishav(filepath.Join(dataDir, fileKR2024), langKO, false, add); err == nil {
		m.Sources = append(m.Sources, fmt.Sprintf("%s (%d videos)", fileKR2024, n))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("search bench: %w", err)
	}
	if n, err := readFedelux(filepath.Join(dataDir, fileFedelux), add); err == nil {
		m.Sources = append(m.Sources, fmt.Sprintf("%s (%d videos)", fileFedelux, n))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("search bench: %w", err)
	}
	for l := range m.langs {
		m.langs[l] = newLangModel()
	}
	for _, v := range vids {
		m.learn(v)
	}
	for l, lm := range m.langs {
		if lm.titles == 0 || len(lm.channels) == 0 {
			return nil, fmt.Errorf("search bench: no real %s titles found in %s", langCodes[l], dataDir)
		}
		if len(lm.categories) == 0 {
			lm.categories = []string{"24"}
		}
	}
	return m, nil
}

func (m *Model) learn(v realVideo) {
	lm := m.langs[v.lang]
	toks := tokenize(v.title, v.lang)
	if len(toks) == 0 {
		return
	}
	lm.titles++
	prev := uint32(endTok)
	for i, t := range toks {
		id := lm.id(t)
		if i == 0 {
			lm.start = append(lm.start, id)
		} else {
			lm.next[prev] = append(lm.next[prev], id)
		}
		lm.uni = append(lm.uni, id)
		prev = id
		lm.learnWord(t.text)
	}
	lm.next[prev] = append(lm.next[prev], endTok)
	if c := strings.TrimSpace(v.channel); c != "" && !strings.ContainsRune(c, utf8.RuneError) {
		lm.channels = append(lm.channels, c)
	}
	if len(v.tags) > 0 {
		lm.tagLists = append(lm.tagLists, v.tags)
	}
	if d := firstLine(v.desc); d != "" {
		lm.descLines = append(lm.descLines, d)
	}
	if v.category != "" {
		lm.categories = append(lm.categories, v.category)
	}
}

// learnWord feeds the rune model with a word made of letters only.
func (lm *langModel) learnWord(w string) {
	rs := []rune(w)
	if len(rs) < 2 || len(rs) > 12 {
		return
	}
	for _, r := range rs {
		if !unicode.IsLetter(r) {
			return
		}
	}
	lm.wordStart = append(lm.wordStart, rs[0])
	for i := 1; i < len(rs); i++ {
		lm.wordNext[rs[i-1]] = append(lm.wordNext[rs[i-1]], rs[i])
	}
}

// firstLine returns the first non-empty line of a description, cut to 120 runes.
func firstLine(d string) string {
	for _, l := range strings.Split(d, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.ContainsRune(l, utf8.RuneError) {
			continue
		}
		if rs := []rune(l); len(rs) > 120 {
			l = string(rs[:120])
		}
		return l
	}
	return ""
}

// script classifies a rune for splitting Japanese text into words.
func script(r rune) int {
	switch {
	case unicode.Is(unicode.Han, r):
		return 1
	case unicode.Is(unicode.Hiragana, r):
		return 2
	case unicode.Is(unicode.Katakana, r) || r == 'ー':
		return 3
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return 4
	}
	return 5
}

// tokenize splits a title into tokens: white-space separated words, and in
// Japanese also at every change of script (kanji, hiragana, katakana, latin,
// other), the parts glued together.
func tokenize(title string, lang int) []token {
	var out []token
	for _, w := range strings.Fields(title) {
		if lang != langJA {
			out = append(out, token{text: w})
			continue
		}
		start, prev := 0, -1
		for i, r := range w {
			s := script(r)
			if prev >= 0 && s != prev {
				out = append(out, token{text: w[start:i], glue: start > 0})
				start = i
			}
			prev = s
		}
		out = append(out, token{text: w[start:], glue: start > 0})
	}
	return out
}

func openGz(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

func readMostPopular(path string, add func(realVideo) bool) (int, error) {
	rc, err := openGz(path)
	if err != nil {
		return 0, fmt.Errorf("read real titles: %w", err)
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, c := range []string{"region", "video_id", "title", "channel_name", "category_keys"} {
		if _, ok := col[c]; !ok {
			return 0, fmt.Errorf("%s: no column %q", path, c)
		}
	}
	n := 0
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		if len(row) != len(head) {
			continue
		}
		lang := langKO
		switch row[col["region"]] {
		case "JP":
			lang = langJA
		case "US":
			lang = langEN
		}
		cat := ""
		if keys := strings.Split(row[col["category_keys"]], "|"); len(keys) > 0 {
			cat = mostPopularCategories[keys[0]]
		}
		if add(realVideo{lang: lang, vidID: row[col["video_id"]], title: row[col["title"]], channel: row[col["channel_name"]], category: cat}) {
			n++
		}
	}
	return n, nil
}

// readRsrishav reads a Kaggle rsrishav-format CSV (with or without header).
func readRsrishav(path string, lang int, header bool, add func(realVideo) bool) (int, error) {
	rc, err := openGz(path)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	if header {
		if _, err := cr.Read(); err != nil {
			return 0, fmt.Errorf("%s: header: %w", path, err)
		}
	}
	n := 0
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if len(row) < 16 {
			continue
		}
		var tags []string
		if row[7] != "" && row[7] != "[None]" {
			tags = strings.Split(row[7], "|")
		}
		if add(realVideo{lang: lang, vidID: row[0], title: row[1], channel: row[4], category: row[5], tags: tags, desc: row[15]}) {
			n++
		}
	}
	return n, nil
}

func readFedelux(path string, add func(realVideo) bool) (int, error) {
	rc, err := openGz(path)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	n := 0
	for {
		var v struct {
			VideoID      string   `json:"video_id"`
			Title        string   `json:"title"`
			ChannelTitle string   `json:"channelTitle"`
			CategoryID   string   `json:"categoryId"`
			Tags         []string `json:"tags"`
			Description  string   `json:"description"`
		}
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if add(realVideo{lang: langKO, vidID: v.VideoID, title: v.Title, channel: v.ChannelTitle, category: v.CategoryID, tags: v.Tags, desc: v.Description}) {
			n++
		}
	}
	return n, nil
}
