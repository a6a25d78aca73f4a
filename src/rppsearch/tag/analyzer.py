"""TF-IDF rows for a fitted vocabulary without importing scikit-learn (about 1 s with scipy
and pandas, which `rpp classify` and `rpp add` would otherwise pay for every text they tag).

`transform` reproduces scikit-learn's `CountVectorizer(lowercase=True, strip_accents="unicode",
token_pattern=…, ngram_range=(1, n), stop_words="english")` followed by the sublinear tf, idf
weighting and l2 normalisation of `TfidfFeatures._weigh`; tests/test_tag_analyzer.py checks it
against scikit-learn. The English stop words are read from scikit-learn's own list file, loaded
alone (without running `sklearn/__init__`); where that file is missing, `stop_words()` returns
None and callers use scikit-learn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib.util import find_spec, module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str] | None:
    """scikit-learn's ENGLISH_STOP_WORDS, read from its file without importing the package."""
    try:
        spec = find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "feature_extraction" / "_stop_words.py"
        if path.is_file():
            loader_spec = spec_from_file_location("_rpp_sklearn_stop_words", path)
            if loader_spec is None or loader_spec.loader is None:
                return None
            module = module_from_spec(loader_spec)
            try:
                loader_spec.loader.exec_module(module)
            except Exception:  # noqa: BLE001 - an unexpected file: use scikit-learn itself
                return None
            words = getattr(module, "ENGLISH_STOP_WORDS", None)
            return frozenset(words) if words else None
    return None


def _strip_accents(text: str) -> str:
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def analyze(text: str, *, pattern: re.Pattern[str], stops: frozenset[str], ngram_max: int) -> list[str]:
    """The terms of `text`: lowercased, accents stripped, tokens, stop words out, 1..n-grams."""
    tokens = [t for t in pattern.findall(_strip_accents(text.lower())) if t not in stops]
    terms = list(tokens)
    for n in range(2, min(ngram_max, len(tokens)) + 1):
        terms.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return terms


#: Up to this many texts the rows come back dense (no scipy import); more come back as CSR.
DENSE_MAX = 512


def transform(
    texts: Sequence[str], *, vocabulary: dict[str, int], idf: np.ndarray, token_pattern: str, ngram_max: int,
    stops: frozenset[str],
) -> Any:
    """TF-IDF rows (n, len(vocabulary)): 1 + ln(count), times idf, l2-normalised; float32, dense
    for up to DENSE_MAX texts (a document's passages), scipy CSR beyond (memory stays small)."""
    pattern = re.compile(token_pattern)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for row, text in enumerate(texts):
        counts: dict[int, int] = {}
        for term in analyze(text, pattern=pattern, stops=stops, ngram_max=ngram_max):
            col = vocabulary.get(term)
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
        if not counts:
            continue
        c = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        v = (np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts))) + 1.0) * idf[c]
        v = v / np.float32(np.sqrt(float((v.astype(np.float64) ** 2).sum())))
        rows.append(np.full(len(c), row, dtype=np.int64))
        cols.append(c)
        vals.append(v.astype(np.float32))
    shape = (len(texts), len(vocabulary))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    v = np.concatenate(vals) if vals else np.zeros(0, dtype=np.float32)
    if len(texts) <= DENSE_MAX:
        out = np.zeros(shape, dtype=np.float32)
        out[r, c] = v
        return out
    from scipy import sparse  # noqa: PLC0415

    return sparse.csr_matrix((v, (r, c)), shape=shape, dtype=np.float32)
