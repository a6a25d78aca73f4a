#!/usr/bin/env bash
# Install everything and run the whole test suite (unit, real-spaCy, real-MiniLM and browser tiers).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-venv.sh
# Headless Chromium for the browser tests (Debian's package; they are skipped if it is absent).
# (setup-venv.sh has installed tesseract-ocr and poppler-utils through scripts/system-deps.sh.)
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
