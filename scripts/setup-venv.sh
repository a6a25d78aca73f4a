#!/usr/bin/env bash
# Create .venv (Python 3.11) and install rppsearch into it: torch first (the pinned CPU
# wheel; an unpinned torch would pull a multi-GB CUDA build), then the package.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/system-deps.sh  # Tesseract (OCR) and poppler-utils, from Debian
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
