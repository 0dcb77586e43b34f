#!/usr/bin/env bash
# The test command from the README: formatting, vet, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
# -tags anchors compiles the Bleve and SQLite anchors of `bench search` so
# their tests run too (the default build leaves them out to keep builds fast).
go vet -tags anchors ./...
# The search index is concurrent by design (searches under its read lock,
# statistics refreshes in place, per-field goroutines applying new docs):
# its tests run under the race detector, the other packages' tests as is.
go test -tags anchors -count=1 -timeout 20m $(go list ./... | grep -vx 'github.com/tubelake/tubelake/internal/index')
go test -race -count=1 -timeout 10m ./internal/index
