#!/usr/bin/env bash
# The test command from the README. On a fresh machine it sets up what the
# tests need first (Debian packages: gcc, MariaDB, PostgreSQL, Chromium;
# already-present ones are left alone; TUBELAKE_TEST_NO_SETUP=1 skips this
# and the browser and database tests then skip), then runs gofmt, go vet
# and every test. CI's .ci/run is just this command.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive
if ! command -v go >/dev/null; then
  echo "Go 1.26 is required (expected at /usr/local/go)"; exit 1
fi
go version
# CI (.ci/run) runs this script as the README's test command: the second
# line of the README's first code block must still name it.
readme_cmd=$(awk '/^```/ { if (inblock) exit; inblock = 1; next } inblock { n++; if (n == 2) { print; exit } }' README.md)
if [ "$readme_cmd" != "./scripts/test.sh" ]; then
  echo "README.md's test command is '$readme_cmd', but CI runs ./scripts/test.sh: update one of them" >&2
  exit 1
fi
if [ ! -d ../shared/data ]; then
  echo "warning: ../shared/data is missing; tests that need real YouTube data will skip" >&2
fi
if [ "${TUBELAKE_TEST_NO_SETUP:-}" != 1 ]; then
  # Each .ci/deps/*.sh installs (apt-get) and starts what one part of the
  # test suite needs, and may export variables for the tests by appending
  # to $CI_ENV.
  export CI_ENV="$(mktemp)"
  for f in .ci/deps/*.sh; do
    echo "== $f"
    bash "$f"
  done
  set -a; . "$CI_ENV"; set +a
fi
# No `go mod tidy` here: it would download DuckDB for every platform.
go mod download
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
