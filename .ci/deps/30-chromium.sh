#!/usr/bin/env bash
# Headless Chromium for the web UI's browser tests (internal/api, chromedp),
# with CJK fonts so Korean and Japanese text renders in the screenshots.
# The screenshots go to $TUBELAKE_ARTIFACTS/ui (exported through $CI_ENV).
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need=()
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}"
fi
chromium --version
ART="${TUBELAKE_ARTIFACTS:-${TMPDIR:-/tmp}/tubelake-artifacts}"
mkdir -p "$ART"
echo "UI screenshots will be saved under $ART/ui"
if [ -n "${CI_ENV:-}" ]; then
  echo "TUBELAKE_ARTIFACTS=$ART" >> "$CI_ENV"
  echo "TUBELAKE_CHROMIUM=$(command -v chromium)" >> "$CI_ENV"
fi
