#!/usr/bin/env bash
# Install everything and run the whole test suite (unit, real-spaCy, real-MiniLM and browser tiers).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-venv.sh
# Headless Chromium for the one end-to-end browser test (Debian's package; skipped if absent).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
fi
# pdftoppm renders the profile PDF to check it (tests/test_report_profile.py; that check is skipped if absent).
if ! command -v pdftoppm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
    || echo "warning: could not install poppler-utils; the PDF page render check will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
