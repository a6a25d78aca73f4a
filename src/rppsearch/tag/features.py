"""Features for the tagger: TF-IDF (word 1–2 grams) and sentence embeddings.

Embeddings of passages come from `passage_vectors` (the search index's vectors, so a
passage is encoded once); embeddings of labelled examples are cached under the models dir
as `.npy` + `.json` keyed by text hash and encoder fingerprint, so retraining does not
re-encode. Nothing is pickled: the TF-IDF vocabulary and idf are plain JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

__all__ = [
    "TfidfFeatures",
    "count_matrix",
    "EmbeddingCache",
    "text_key",
    "blas_limits",
]

TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9'’-]+\b"
_FINGERPRINT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def text_key(text: str) -> str:
    """Cache key of a text: sha256 of its UTF-8 bytes (first 32 hex digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def blas_limits(n: int = 1) -> Any:
    """A context manager limiting BLAS/OpenMP threads (numpy's OpenBLAS fights torch's threads)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    return threadpool_limits(limits=n)


def _count_vectorizer(ngram_max: int, vocabulary: list[str] | None = None) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer  # noqa: PLC0415

    return CountVectorizer(
        lowercase=True,
        strip_accents="unicode",
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, ngram_max),
        stop_words="english",
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def count_matrix(texts: Sequence[str], *, ngram_max: int = 2) -> tuple[Any, list[str]]:
    """Term counts (CSR, n × every n-gram seen) and the terms: computed once, sliced per fold."""
    vec = _count_vectorizer(ngram_max)
    counts = vec.fit_transform(list(texts)).tocsr()
    return counts, [str(t) for t in vec.get_feature_names_out()]


class TfidfFeatures:
    """Word 1–2 gram TF-IDF whose state (terms, idf) is plain JSON.

    tf is sublinear (1 + log count), idf smooth (ln((1 + n) / (1 + df)) + 1), rows
    l2-normalised; terms need `min_df` training documents; at most `max_features` terms (the
    most frequent).
    """

    def __init__(self, *, ngram_max: int = 2, min_df: int = 2, max_features: int = 20000) -> None:
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self._terms: list[str] = []
        self._idf: np.ndarray = np.zeros(0, dtype=np.float32)
        self._cols: np.ndarray | None = None  # columns of the count space it was fitted in
        self._counter: Any = None
        self._vocabulary: dict[str, int] | None = None

    def fit_counts(self, counts: Any, terms: Sequence[str]) -> "TfidfFeatures":
        """Fit on precomputed `count_matrix` rows (a training subset of a larger count space)."""
        n = counts.shape[0]
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        total = np.asarray(counts.sum(axis=0)).ravel()
        min_df = self.min_df if (df >= self.min_df).any() else 1
        keep = np.flatnonzero(df >= min_df)
        if len(keep) > self.max_features:
            order = np.lexsort((keep, -total[keep]))  # most frequent first, ties by term order
            keep = np.sort(keep[order[: self.max_features]])
        self._cols = keep
        self._terms = [terms[i] for i in keep]
        self._idf = (np.log((1 + n) / (1 + df[keep])) + 1).astype(np.float32)
        self._counter = None
        self._vocabulary = None
        return self

    @property
    def n_features(self) -> int:
        return len(self._terms)

    def _weigh(self, counts: Any) -> Any:
        from sklearn.preprocessing import normalize  # noqa: PLC0415

        X = counts.astype(np.float32).tocsr(copy=True)
        X.data = np.log(X.data) + 1.0
        X = X.multiply(self._idf[None, :]).tocsr()
        return normalize(X, norm="l2", copy=False)

    def transform_counts(self, counts: Any) -> Any:
        """TF-IDF rows from rows of the count space this was fitted in (`fit_counts`)."""
        if self._cols is None:
            raise ModelError("TF-IDF features were loaded, not fitted: transform texts instead")
        return self._weigh(counts[:, self._cols])

    def transform(self, texts: Sequence[str]) -> Any:
        """TF-IDF rows (n, n_features): dense float32 for a few texts, else scipy CSR."""
        if not self._terms:
            raise ModelError("TF-IDF features used before fitting or loading")
        from .analyzer import stop_words, transform  # noqa: PLC0415

        stops = stop_words()
        if stops is not None:  # numpy only: no scikit-learn import for tagging
            if self._vocabulary is None:
                self._vocabulary = {t: i for i, t in enumerate(self._terms)}
            return transform(
                list(texts), vocabulary=self._vocabulary, idf=self._idf, token_pattern=TOKEN_PATTERN,
                ngram_max=self.ngram_max, stops=stops,
            )
        if self._counter is None:
            self._counter = _count_vectorizer(self.ngram_max, vocabulary=self._terms)
        return self._weigh(self._counter.transform(list(texts)))

    def to_json(self) -> dict[str, Any]:
        return {
            "ngram_max": self.ngram_max,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "token_pattern": TOKEN_PATTERN,
            "stop_words": "english",
            "terms": self._terms,
            "idf": [float(x) for x in self._idf],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TfidfFeatures":
        """Rebuild from `to_json` output; raises ValueError/KeyError/TypeError on bad data."""
        terms = data["terms"]
        idf = np.asarray(data["idf"], dtype=np.float32)
        if not isinstance(terms, list) or not terms or idf.ndim != 1 or len(terms) != len(idf):
            raise ValueError("terms and idf differ in length")
        if not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms):
            raise ValueError("terms must be distinct strings")
        if data.get("token_pattern") != TOKEN_PATTERN:
            raise ValueError("saved with another tokenizer")
        if not np.isfinite(idf).all():
            raise ValueError("idf holds NaN or infinity")
        out = cls(ngram_max=int(data["ngram_max"]), min_df=int(data["min_df"]), max_features=int(data["max_features"]))
        out._terms = list(terms)
        out._idf = idf
        return out


class EmbeddingCache:
    """Example embeddings on disk: `<dir>/<fingerprint>.npy` + `.json` (text keys, in row order).

    Appends what is missing and rewrites both files through a temp name then a rename, so
    an interrupted run leaves the previous cache intact.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _paths(self, fingerprint: str) -> tuple[Path, Path]:
        safe = _FINGERPRINT_SAFE.sub("_", fingerprint)[:120] + "-" + text_key(fingerprint)[:8]
        return self.folder / f"{safe}.npy", self.folder / f"{safe}.json"

    def _load(self, fingerprint: str, dim: int) -> tuple[list[str], np.ndarray]:
        npy, meta = self._paths(fingerprint)
        if not npy.exists() or not meta.exists():
            return [], np.zeros((0, dim), dtype=np.float32)
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            vectors = np.load(npy, allow_pickle=False)
            keys = info["keys"]
            if info.get("fingerprint") != fingerprint or vectors.shape != (len(keys), dim):
                raise ValueError("shape or fingerprint mismatch")
        except (OSError, ValueError, KeyError, TypeError):
            return [], np.zeros((0, dim), dtype=np.float32)  # a broken cache is rebuilt
        return list(keys), vectors.astype(np.float32, copy=False)

    def embed(self, texts: Sequence[str], encoder: Any) -> np.ndarray:
        """Vectors of `texts` (rows in order), encoding only those not cached yet."""
        keys, vectors = self._load(encoder.fingerprint, encoder.dim)
        index = {k: i for i, k in enumerate(keys)}
        wanted = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(wanted, texts):
            if key not in index and key not in missing:
                missing[key] = text
        if missing:
            new = np.asarray(encoder.encode(list(missing.values())), dtype=np.float32)
            for key in missing:
                index[key] = len(keys)
                keys.append(key)
            vectors = np.concatenate([vectors, new]) if len(vectors) else new
            self._save(encoder.fingerprint, keys, vectors)
        if not wanted:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return vectors[[index[k] for k in wanted]]

    def add(self, texts: Sequence[str], vectors: np.ndarray, *, fingerprint: str) -> int:
        """Keep `vectors` (rows in `texts` order, made by the encoder `fingerprint`) as those
        texts' embeddings, e.g. passages' stored vectors; returns how many were new."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if not len(texts):
            return 0
        keys, cached = self._load(fingerprint, vectors.shape[1])
        known = set(keys)
        new: list[int] = []
        for i, text in enumerate(texts):
            key = text_key(text)
            if key not in known:
                known.add(key)
                keys.append(key)
                new.append(i)
        if new:
            cached = np.concatenate([cached, vectors[new]]) if len(cached) else vectors[new]
            self._save(fingerprint, keys, cached)
        return len(new)

    def _save(self, fingerprint: str, keys: list[str], vectors: np.ndarray) -> None:
        npy, meta = self._paths(fingerprint)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp_npy = npy.with_name(npy.stem + f".tmp{os.getpid()}.npy")
            tmp_meta = meta.with_name(meta.name + f".tmp{os.getpid()}")
            np.save(tmp_npy, vectors.astype(np.float32), allow_pickle=False)
            tmp_meta.write_text(json.dumps({"fingerprint": fingerprint, "keys": keys}), encoding="utf-8")
            os.replace(tmp_npy, npy)
            os.replace(tmp_meta, meta)
        except OSError:
            pass  # the cache is an optimisation; a read-only models dir only costs re-encoding
