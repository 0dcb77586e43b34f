package searchbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// anchorDoc is what every anchor indexes: the normalized title (the same
// text the oracle scans), the id and the view count.
type anchorDoc struct {
	ID    string
	Title string // normalized with index.Normalize
	Views int64
	Year  int
}

// anchor is an existing engine answering the same queries on the same docs:
// terms ANDed as substrings of the title, top k by views desc, id asc.
type anchor interface {
	Name() string
	Add(ctx context.Context, docs []anchorDoc) error
	Finish(ctx context.Context) error
	Search(ctx context.Context, terms []string, k int) ([]string, error)
	Close() error
}

// AnchorNames are the anchors `--anchors` accepts.
var AnchorNames = []string{"scan", "bleve", "sqlite", "duckdb"}

func newAnchor(ctx context.Context, name, dir string, s *store, docs int) (anchor, error) {
	switch name {
	case "scan":
		return &scanAnchor{s: s, docs: docs}, nil
	case "bleve":
		return newBleve(filepath.Join(dir, "bleve"))
	case "sqlite":
		return newSQLite(ctx, filepath.Join(dir, "sqlite"))
	case "duckdb":
		return newDuck(filepath.Join(dir, "duckdb"))
	}
	return nil, fmt.Errorf("unknown anchor %q (want %s)", name, strings.Join(AnchorNames, ", "))
}

// scanAnchor is the brute-force scan over the first docs of the oracle store.
type scanAnchor struct {
	s    *store
	docs int
}

func (a *scanAnchor) Name() string                           { return "scan" }
func (a *scanAnchor) Add(context.Context, []anchorDoc) error { return nil }
func (a *scanAnchor) Finish(context.Context) error           { return nil }
func (a *scanAnchor) Close() error                           { return nil }
func (a *scanAnchor) Search(ctx context.Context, terms []string, k int) ([]string, error) {
	res, err := a.s.scan(ctx, terms, 0, a.docs, k, 2)
	return res.IDs, err
}

// likeEscape escapes % _ and \ for LIKE ... ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// BuiltAnchors are the anchors compiled into this binary: all of
// AnchorNames with -tags anchors, otherwise scan and duckdb.
func BuiltAnchors() []string {
	if heavyAnchorsBuilt {
		return AnchorNames
	}
	return []string{"scan", "duckdb"}
}
