"""SQL functions for served stores: `rpp_similarity(vector_blob, text)` and `rpp_embed(text)`.

Texts are embedded with the store's own model, loaded once under a lock, and cached. Any
query can call these functions, so new (uncached) texts are rationed: at most
`SQL_ENCODE_BUDGET` per `SQL_ENCODE_WINDOW_S` seconds for the whole server, and a text of at
most `MAX_SQL_TEXT_CHARS` characters. One anonymous `select count(rpp_embed('x'||pk)) from
passages` once burned 5 s of CPU; now it stops with an error after the budget. The search
page does not go through these functions and is not rationed.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from .stores import store_model_name

SQL_ENCODE_BUDGET = 8
SQL_ENCODE_WINDOW_S = 10.0
MAX_SQL_TEXT_CHARS = 1000


class _Encoder(Protocol):
    dim: int

    def encode(self, texts: list[str], *, batch_size: int = 64) -> Any: ...


class QueryEmbedder:
    """Embeds query texts with a named model; loads each model once; caches by text."""

    def __init__(self, *, cache_size: int = 256) -> None:
        self.model_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._cache_size = cache_size
        self.loads = 0
        self.encodes = 0

    def encoder(self, model: str, *, index_dir: Path | None = None) -> _Encoder:
        """The encoder for `model`, created at most once across threads.

        `index_dir` (the store's folder) is where an exported ONNX graph is cached."""
        from .. import embed  # noqa: PLC0415 - numpy and the model only when needed

        with self.model_lock:
            if model not in embed._CACHE:  # noqa: SLF001 - count real loads for tests
                self.loads += 1
            return embed.get_encoder(model, index_dir=index_dir)

    def cached(self, model: str, text: str) -> bool:
        with self._cache_lock:
            return (model, text) in self._cache

    def vector(self, model: str, text: str, *, index_dir: Path | None = None) -> Any:
        """The query vector for `text` (float32, normalised), computed once per text."""
        key = (model, text)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        encoder = self.encoder(model, index_dir=index_dir)
        with self.model_lock:  # one encoder user at a time; and a text racing in is encoded once
            with self._cache_lock:
                if key in self._cache:
                    return self._cache[key]
            vec = encoder.encode([text])[0]  # a lone text: the encoder runs it on one thread
            self.encodes += 1
            with self._cache_lock:
                self._cache[key] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vec


EMBEDDER = QueryEmbedder()


class SqlBudget:
    """A sliding-window ration of new texts the SQL functions may embed."""

    def __init__(self, *, budget: int = SQL_ENCODE_BUDGET, window_s: float = SQL_ENCODE_WINDOW_S) -> None:
        self.budget = budget
        self.window_s = window_s
        self._times: list[float] = []
        self._lock = threading.Lock()

    def take(self, function: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._times = [t for t in self._times if now - t < self.window_s]
            if len(self._times) >= self.budget:
                raise ValueError(
                    f"{function}: at most {self.budget} new texts per {self.window_s:g} s can be "
                    "embedded from SQL; use the search page (/-/rpp-search) for many queries"
                )
            self._times.append(now)


SQL_BUDGET = SqlBudget()


def _sql_vector(function: str, db_path: str | os.PathLike[str], index_dir: Path, text: str) -> Any:
    """The vector of `text` for a SQL function; called once per row, so nothing here builds paths."""
    if len(text) > MAX_SQL_TEXT_CHARS:
        raise ValueError(f"{function}: the text has {len(text)} characters; at most {MAX_SQL_TEXT_CHARS}")
    model = store_model_name(db_path)
    if not EMBEDDER.cached(model, text):
        SQL_BUDGET.take(function)
    return EMBEDDER.vector(model, text, index_dir=index_dir)


def make_similarity(db_path: str | os.PathLike[str]):  # noqa: ANN201
    """`rpp_similarity(vector_blob, text)` for the store at `db_path`."""
    index_dir = Path(db_path).parent

    def rpp_similarity(blob: bytes | None, text: str | None) -> float | None:
        if blob is None or text is None or not str(text).strip():
            return None
        import numpy as np  # noqa: PLC0415

        from ..store.vectors import from_blob  # noqa: PLC0415

        query = _sql_vector("rpp_similarity", db_path, index_dir, str(text))
        if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) != 4 * query.shape[0]:
            return None  # not a vector of this model's size
        vector = from_blob(blob)
        return float(np.dot(vector, query))

    return rpp_similarity


def make_embed(db_path: str | os.PathLike[str]):  # noqa: ANN201
    """`rpp_embed(text)`: the text's vector as a float32 little-endian blob."""
    index_dir = Path(db_path).parent

    def rpp_embed(text: str | None) -> bytes | None:
        if text is None or not str(text).strip():
            return None
        from ..store.vectors import to_blob  # noqa: PLC0415

        return to_blob(_sql_vector("rpp_embed", db_path, index_dir, str(text)))

    return rpp_embed

