//go:build !anchors

package searchbench

import (
	"context"
	"fmt"
)

// The Bleve and SQLite anchors add about a minute of compilation to every
// fresh build of tubelake, so they are compiled only with -tags anchors:
//
//	go run -tags anchors ./cmd/tubelake bench search --docs 1000000
const heavyAnchorsBuilt = false

func errNotBuilt(name string) error {
	return fmt.Errorf("the %s anchor is compiled only with the build tag: go run -tags anchors ./cmd/tubelake bench search ...", name)
}

func newBleve(string) (anchor, error) { return nil, errNotBuilt("bleve") }

func newSQLite(context.Context, string) (anchor, error) { return nil, errNotBuilt("sqlite") }
