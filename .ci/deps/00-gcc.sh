#!/usr/bin/env bash
# gcc for cgo (DuckDB is linked statically through duckdb-go).
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v gcc >/dev/null; then
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq gcc
fi
