#!/usr/bin/env bash
# Debian packages rppsearch uses outside Python, installed when missing (as root, with apt-get):
# - tesseract-ocr + tesseract-ocr-eng: OCR of scanned PDF pages (English; add tesseract-ocr-LANG
#   packs and set RPP_OCR_LANG=eng+LANG for other scripts);
# - poppler-utils: pdftotext and pdftoppm, the independent references of benchmarks/bench_fidelity.py.
# Elsewhere (no apt-get, not root) it says what to install and carries on: scanned PDFs are then
# refused with "install tesseract-ocr to read it".
set -euo pipefail
missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "warning: could not install ${missing[*]} (OCR of scanned PDFs unavailable)" >&2
else
  echo "note: install ${missing[*]} (e.g. sudo apt-get install ${missing[*]}) to OCR scanned PDFs" >&2
fi
