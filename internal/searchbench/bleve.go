//go:build anchors

package searchbench

import (
	"context"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search/query"
)

// runeGramTokenizer emits every run of n consecutive runes of the whole
// text (spaces included) with consecutive positions, like the n-gram
// tokenizer of Elasticsearch/OpenSearch. Bleve's ngram token filter gives
// every gram of a word the word's position, so match_phrase over it would
// not mean "substring"; with consecutive positions a match_phrase of the
// query's bigrams is exactly a substring match (Hangul becomes syllable
// bigrams, as an OpenSearch ngram(2,2) analyzer does).
type runeGramTokenizer struct{ n int }

func (t runeGramTokenizer) Tokenize(b []byte) analysis.TokenStream {
	var starts []int
	for i := range string(b) {
		starts = append(starts, i)
	}
	starts = append(starts, len(b))
	runes := len(starts) - 1
	if runes < t.n {
		return nil
	}
	out := make(analysis.TokenStream, 0, runes-t.n+1)
	for i := 0; i+t.n <= runes; i++ {
		out = append(out, &analysis.Token{
			Start: starts[i], End: starts[i+t.n], Term: b[starts[i]:starts[i+t.n]],
			Position: i + 1, Type: analysis.Ideographic,
		})
	}
	return out
}

const runeGramType = "tubelake_rune_gram"

var registerOnce sync.Once

func registerRuneGram() {
	registerOnce.Do(func() {
		_ = registry.RegisterTokenizer(runeGramType, func(cfg map[string]interface{}, _ *registry.Cache) (analysis.Tokenizer, error) {
			n, _ := cfg["n"].(float64)
			if n < 1 {
				return nil, fmt.Errorf("%s: n must be >= 1", runeGramType)
			}
			return runeGramTokenizer{n: int(n)}, nil
		})
	})
}

type bleveAnchor struct {
	ix    bleve.Index
	batch *bleve.Batch
}

type bleveDoc struct {
	Bi    string  `json:"bi"`
	Uni   string  `json:"uni"`
	Views float64 `json:"views"`
}

func newBleve(dir string) (*bleveAnchor, error) {
	registerRuneGram()
	im := bleve.NewIndexMapping()
	for name, n := range map[string]float64{"bigram": 2, "unigram": 1} {
		if err := im.AddCustomTokenizer(name+"_tok", map[string]interface{}{"type": runeGramType, "n": n}); err != nil {
			return nil, fmt.Errorf("bleve: %w", err)
		}
		if err := im.AddCustomAnalyzer(name, map[string]interface{}{"type": custom.Name, "tokenizer": name + "_tok", "token_filters": []string{}}); err != nil {
			return nil, fmt.Errorf("bleve: %w", err)
		}
	}
	dm := bleve.NewDocumentStaticMapping()
	bi := bleve.NewTextFieldMapping()
	bi.Analyzer, bi.Store, bi.IncludeInAll, bi.IncludeTermVectors, bi.DocValues = "bigram", false, false, true, false
	uni := bleve.NewTextFieldMapping()
	uni.Analyzer, uni.Store, uni.IncludeInAll, uni.IncludeTermVectors, uni.DocValues = "unigram", false, false, false, false
	views := bleve.NewNumericFieldMapping()
	views.Store, views.IncludeInAll, views.DocValues = false, false, true
	dm.AddFieldMappingsAt("bi", bi)
	dm.AddFieldMappingsAt("uni", uni)
	dm.AddFieldMappingsAt("views", views)
	im.DefaultMapping = dm
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	ix, err := bleve.New(dir, im)
	if err != nil {
		return nil, fmt.Errorf("bleve: %w", err)
	}
	return &bleveAnchor{ix: ix}, nil
}

func (a *bleveAnchor) Name() string { return "bleve" }

func (a *bleveAnchor) Add(_ context.Context, docs []anchorDoc) error {
	b := a.ix.NewBatch()
	for _, d := range docs {
		if err := b.Index(d.ID, bleveDoc{Bi: d.Title, Uni: d.Title, Views: float64(d.Views)}); err != nil {
			return fmt.Errorf("bleve: %w", err)
		}
	}
	if err := a.ix.Batch(b); err != nil {
		return fmt.Errorf("bleve: %w", err)
	}
	return nil
}

func (a *bleveAnchor) Finish(context.Context) error { return nil }

func (a *bleveAnchor) Search(ctx context.Context, terms []string, k int) ([]string, error) {
	var qs []query.Query
	for _, t := range terms {
		if utf8.RuneCountInString(t) == 1 {
			tq := bleve.NewTermQuery(t)
			tq.SetField("uni")
			qs = append(qs, tq)
		} else {
			pq := bleve.NewMatchPhraseQuery(t)
			pq.SetField("bi")
			qs = append(qs, pq)
		}
	}
	var q query.Query = qs[0]
	if len(qs) > 1 {
		q = bleve.NewConjunctionQuery(qs...)
	}
	req := bleve.NewSearchRequestOptions(q, k, 0, false)
	req.SortBy([]string{"-views", "_id"})
	res, err := a.ix.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("bleve: %w", err)
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

func (a *bleveAnchor) Close() error { return a.ix.Close() }

var _ mapping.IndexMapping = (*mapping.IndexMappingImpl)(nil)
