"""Dense vectors: encode what is missing into the store, and serve a memory-mapped matrix.

`indexes/vectors/` holds `vectors.npy` (float16, one row per passage, ordered by passage pk),
`pks.npy` (int64 passage pks), `docs.npy` (int64 document pks), the sign codes of a coarse scan
(`codes.npy`: `index/quantized.py`) and `manifest.json` (store schema version,
passages generation, encoder fingerprint, dim, count, hashes). Every file is written to a temp
path and renamed into place, the manifest last. The matrix is always derived from
`passage_vectors`, so it can be rebuilt at any time without re-encoding.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..embed import batch_encoder, fingerprint_of, get_encoder
from ..errors import IndexStateError
from ..progress import ProgressFactory, no_progress
from ..store import Store
from ..store import vectors as vstore
from ..store.documents import VECTORS_REWRITTEN
from . import quantized
from .manifest import atomic_path, index_lock, now_iso, read_manifest, store_mismatch, write_manifest


FORMAT = 1
# What each passage's vector encodes. Changing it means re-encoding: it is in the manifest.
# The title only where the document or a person gave it (`store.documents.encoded_title`):
# hybrid nDCG@10 on the domain questions 0.818 -> 0.823 (benchmarks/results/domain.json), on
# their real pages alone 0.800 -> 0.821 (benchmarks/results/domain_signals_real.json).
TEXT_RECIPE = "given-title+heading+text"
VECTORS_FILE = "vectors.npy"
# The matrix is stored in float16 (half the disk and page cache, the same top 10 for 96-100% of
# queries: benchmarks/results/dense.json) and widened to float32 when loaded, where numpy's BLAS
# scans it without torch. The store keeps float32; this copy is derived.
MATRIX_DTYPE = "float16"
PKS_FILE = "pks.npy"
DOCS_FILE = "docs.npy"


def embedding_text(title: str | None, heading: str | None, text: str) -> str:
    """The text encoded for a passage: document title (the encoded one, `encoded_title`:
    none when rppsearch guessed it), heading path and passage text."""
    if TEXT_RECIPE == "text":
        return text
    parts = [p.strip() for p in (title or "", heading or "") if p and p.strip()]
    parts.append(text)
    return "\n".join(parts)


def current_fingerprint(settings: Settings) -> str:
    """The fingerprint of the settings' encoder, without loading torch when avoidable."""
    return fingerprint_of(settings.embedding_model)


# -- encoding ----------------------------------------------------------------------------
def embed_missing(
    store: Store,
    settings: Settings,
    *,
    progress: ProgressFactory | None = None,
    batch_size: int = 64,
    chunk: int = 2048,
) -> dict[str, Any]:
    """Encode passages lacking a current vector for the settings' encoder; store them.

    Passages are encoded longest first in chunks of `chunk` (each chunk one transaction),
    so batches pad little and a crash loses at most one chunk of work.
    """
    progress = progress or no_progress
    start = time.perf_counter()
    model = current_fingerprint(settings)
    pks = vstore.missing_vector_pks(store, model=model)
    if not pks:
        return {"encoded": 0, "model": model}
    with progress("Loading the embedding model", None):
        encoder = batch_encoder(settings.embedding_model, len(pks), index_dir=settings.index_dir)
    model = encoder.fingerprint
    lengths = vstore.passage_lengths(store, pks)
    pks.sort(key=lambda pk: -lengths.get(pk, 0))
    encode_seconds = 0.0
    with progress("Encoding passages", len(pks)) as advance:
        for i in range(0, len(pks), chunk):
            rows = vstore.passages_for_embedding(store, pks[i : i + chunk])
            texts = [embedding_text(title, heading, text) for _, _, title, heading, text in rows]
            parts = []
            for j in range(0, len(texts), batch_size):  # the bar moves with every batch
                t0 = time.perf_counter()
                parts.append(encoder.encode(texts[j : j + batch_size], batch_size=batch_size))
                encode_seconds += time.perf_counter() - t0
                advance(len(parts[-1]))
            vectors = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)
            with store.transaction():
                vstore.put_vectors(
                    store, ((pk, digest, vec) for (pk, digest, *_), vec in zip(rows, vectors)), model=model
                )
    seconds = time.perf_counter() - start
    return {
        "encoded": len(pks),
        "model": model,
        "engine": getattr(encoder, "engine", "torch"),
        "seconds": round(seconds, 3),
        "passages_per_s": round(len(pks) / seconds, 1) if seconds else None,
        "encode_share": round(encode_seconds / seconds, 3) if seconds else None,
    }


# -- the matrix --------------------------------------------------------------------------
def _pks_digest(pks: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pks, dtype="<i8").tobytes()).hexdigest()


def _index_files_ok(folder: Path) -> bool:
    return all((folder / name).exists() for name in (VECTORS_FILE, PKS_FILE, DOCS_FILE))


def _state(folder: Path, manifest: dict[str, Any] | None, store: Store, fingerprint: str) -> str | None:
    """Why the index in `folder` (with `manifest`) does not serve this store and encoder; None when it does."""
    if manifest is None or not _index_files_ok(folder):
        return f"no vectors index at {folder}"
    return _mismatch(manifest, store, fingerprint)


def index_state(store: Store, settings: Settings, *, fingerprint: str | None = None) -> str | None:
    """Why the vectors index does not match the store and settings; None when it does."""
    folder = settings.vectors_dir
    return _state(folder, read_manifest(folder), store, fingerprint or current_fingerprint(settings))


def _foreign(manifest: dict[str, Any], fingerprint: str) -> str | None:
    """Why rows of the index with `manifest` are not this rppsearch's vectors for `fingerprint`
    (format, dtype, model, text recipe); None when they are, however stale."""
    if manifest.get("format") != FORMAT or manifest.get("dtype") != MATRIX_DTYPE:
        return f"vectors index has format {manifest.get('format')}/{manifest.get('dtype')}, this rppsearch writes {FORMAT}/{MATRIX_DTYPE}"
    if manifest.get("model") != fingerprint:
        return f"vectors index was built with model {manifest.get('model')}, settings use {fingerprint}"
    if manifest.get("text_recipe") != TEXT_RECIPE:
        return f"vectors index encodes {manifest.get('text_recipe')!r}, this rppsearch encodes {TEXT_RECIPE!r}"
    return None


def _mismatch(manifest: dict[str, Any], store: Store, fingerprint: str) -> str | None:
    problem = _foreign(manifest, fingerprint) or store_mismatch("vectors", manifest, store)
    if problem:
        return problem
    stored = vstore.vectors_generation(store)
    if manifest.get("vectors_generation", 0) != stored:
        return (
            f"vectors index is stale: vectors were stored after it was built (vectors generation "
            f"{manifest.get('vectors_generation', 0)}, store at {stored})"
        )
    return None


def refresh_index(
    store: Store, settings: Settings, *, force: bool = False, fingerprint: str | None = None
) -> dict[str, Any]:
    """Write `indexes/vectors/` from `passage_vectors` when it is stale (or `force`).

    Rows of the old matrix are reused for passages still present; only new passages'
    vectors are read from the store; removed passages drop out. Nothing is re-encoded.
    """
    start = time.perf_counter()
    folder = settings.vectors_dir
    model = fingerprint or current_fingerprint(settings)
    old = read_manifest(folder)
    if not force and _state(folder, old, store, model) is None and _codes_current(folder, old):
        return {"status": "fresh", "count": old.get("count", 0)}
    with index_lock(folder):
        return _refresh_locked(store, settings, force=force, model=model, start=start)


def _refresh_locked(store: Store, settings: Settings, *, force: bool, model: str, start: float) -> dict[str, Any]:
    """refresh_index's work, holding the folder's lock (re-checked: another writer may have just done it)."""
    folder = settings.vectors_dir
    old = read_manifest(folder)
    if not force and _state(folder, old, store, model) is None and _codes_current(folder, old):
        return {"status": "fresh", "count": old.get("count", 0)}
    store_id = vstore.store_identity(store, create=True)
    generation = store.passages_generation()
    vectors_generation = vstore.vectors_generation(store)
    schema = store.schema_version()
    pks, docs = vstore.vector_rows(store, model=model)
    total_passages = int(store.conn.execute("SELECT count(*) FROM passages").fetchone()[0])
    dim = _store_dim(store, model, pks, settings)
    old_pks: np.ndarray | None = None
    old_matrix: np.ndarray | None = None
    rewritten = int(store.get_meta(VECTORS_REWRITTEN, "0") or 0)
    if (old is not None and not force and _foreign(old, model) is None and old.get("store_id") == store_id
            and old.get(VECTORS_REWRITTEN, 0) == rewritten):  # (a retitled passage keeps its pk, not its vector)
        try:  # rows of the old matrix are reused only from a whole index of this model and size
            old_pks, _, old_matrix = read_index_files(folder, old)
        except IndexStateError:
            pass
        if old_matrix is not None and old_matrix.shape[1] != dim:
            old_pks = old_matrix = None
    reused = 0
    # pks.npy is replaced first and the manifest last: a run killed in between leaves pks that
    # differ from the manifest's digest, so neither readers nor the next refresh take the other
    # files for the manifest's (a matrix of the old shape with other rows would pass as whole)
    with atomic_path(folder / PKS_FILE) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, pks)
    with atomic_path(folder / VECTORS_FILE) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.dtype(MATRIX_DTYPE), shape=(len(pks), dim))
        if old_pks is not None and old_matrix is not None and len(old_pks):
            pos = np.searchsorted(old_pks, pks)
            pos_clipped = np.minimum(pos, len(old_pks) - 1)
            keep = old_pks[pos_clipped] == pks
        else:
            pos_clipped = np.zeros(len(pks), dtype=np.int64)
            keep = np.zeros(len(pks), dtype=bool)
        step = 65_536
        for i in range(0, len(pks), step):
            sl = slice(i, min(i + step, len(pks)))
            k = keep[sl]
            if k.any() and old_matrix is not None:
                out[sl][k] = old_matrix[pos_clipped[sl][k]]
                reused += int(k.sum())
        fresh_rows = np.flatnonzero(~keep)
        for i in range(0, len(fresh_rows), 20_000):
            rows = fresh_rows[i : i + 20_000]
            out[rows] = vstore.get_vectors(store, pks[rows].tolist(), model=model, dim=dim)
        out.flush()
        codes = quantized.build_codes(out)
        del out
    old_matrix = None
    with atomic_path(folder / DOCS_FILE) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, docs)
    with atomic_path(folder / quantized.CODES_FILE) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, codes)
    manifest = {
        "kind": "vectors",
        "format": FORMAT,
        "store_id": store_id,
        "schema_version": schema,
        "passages_generation": generation,
        "vectors_generation": vectors_generation,
        VECTORS_REWRITTEN: rewritten,
        "model": model,
        "model_name": settings.embedding_model,
        "weights_sha256": model.rsplit("@", 1)[-1],
        "text_recipe": TEXT_RECIPE,
        "dim": dim,
        "dtype": MATRIX_DTYPE,
        "count": int(len(pks)),
        "missing": int(total_passages - len(pks)),
        "pks_sha256": _pks_digest(pks),
        "codes": quantized.CODES_KIND,
        "created": now_iso(),
    }
    write_manifest(folder, manifest)
    _LOADED.pop(str(folder), None)
    return {
        "status": "updated" if old_pks is not None else "rebuilt",
        "count": int(len(pks)),
        "reused": reused,
        "added": int(len(pks) - reused),
        "missing": manifest["missing"],
        "seconds": round(time.perf_counter() - start, 3),
    }


def _codes_current(folder: Path, manifest: dict[str, Any] | None) -> bool:
    """Whether the index names this version's sign codes and has their files (an index written by
    an earlier version is served by the exact scan, and refreshed to add them)."""
    return bool(manifest) and manifest.get("codes") == quantized.CODES_KIND and (folder / quantized.CODES_FILE).exists()


def _store_dim(store: Store, model: str, pks: np.ndarray, settings: Settings) -> int:
    if len(pks):
        return int(vstore.get_vectors(store, [int(pks[0])], model=model).shape[1])
    return int(get_encoder(settings.embedding_model, index_dir=settings.index_dir).dim)


# -- loading and scoring -----------------------------------------------------------------
@dataclass
class VectorIndex:
    """A loaded vectors index with helpers for top-k and per-document maxima, in numpy.

    The float16 file is widened to float32 once per process: numpy's float32 matrix-vector
    product (BLAS) is the fast one, and neither torch nor any model is needed to scan. On a
    large index with sign codes, a ranking that needs only its best `depth` rows scores the
    coarse scan's candidates alone (`scores(..., depth=)`).
    """

    folder: Path
    manifest: dict[str, Any]
    pks: np.ndarray
    docs: np.ndarray
    matrix: np.ndarray  # (n, dim) float32
    codes: np.ndarray | None = field(default=None, repr=False)  # (words, n) uint64 sign codes
    _ones: np.ndarray | None = field(default=None, repr=False)
    _doc_groups: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return int(len(self.pks))

    def rows_for_pks(self, pks: np.ndarray) -> np.ndarray:
        """Row numbers of the given passage pks that are in the index."""
        pks = np.asarray(pks, dtype=np.int64)
        if not len(self.pks) or not len(pks):
            return np.zeros(0, dtype=np.int64)
        pos = np.searchsorted(self.pks, pks)
        pos = np.minimum(pos, len(self.pks) - 1)
        return pos[self.pks[pos] == pks]

    def mask_for_pks(self, pks: np.ndarray) -> np.ndarray:
        """A bool mask over rows: True for the given passage pks."""
        mask = np.zeros(self.count, dtype=bool)
        mask[self.rows_for_pks(pks)] = True
        return mask

    def mask_for(self, *, doc_pks: np.ndarray | None, passage_pks: np.ndarray | None) -> np.ndarray | None:
        """A bool mask of rows in the given documents and passages (None: no limit)."""
        mask = None
        if doc_pks is not None:
            top = int(max(self.docs.max(initial=0), doc_pks.max(initial=0))) + 1
            table = np.zeros(top, dtype=bool)
            table[doc_pks] = True
            mask = table[self.docs]
        if passage_pks is not None:
            by_passage = self.mask_for_pks(passage_pks)
            mask = by_passage if mask is None else mask & by_passage
        return mask

    def mean_vector(self, rows: np.ndarray) -> np.ndarray:
        """The mean of the given rows' vectors (float32, not normalised)."""
        return np.asarray(self.matrix[np.asarray(rows, dtype=np.int64)].mean(axis=0), dtype=np.float32)

    def scores(
        self, query: np.ndarray, mask: np.ndarray | None = None, *, depth: int | None = None, documents: bool = False
    ) -> np.ndarray:
        """Cosine scores of every row (-inf where `mask` is False).

        With `depth` (the caller ranks no more than the best `depth` passages, or with
        `documents` documents), rows the coarse scan leaves out score -inf too: on an index of at
        least `quantized.MIN_ROWS` rows with codes, only `quantized.candidate_count(depth)`
        candidates (or every allowed row, when the mask allows no more) are scored, exactly. For
        documents, every row is scored when the candidates span fewer than `depth` documents.
        """
        q = np.ascontiguousarray(query, dtype=np.float32)
        allowed = None if mask is None else np.asarray(mask, dtype=bool)
        rows = self._candidates(q, allowed, depth)
        if rows is not None and documents and len(np.unique(self.docs[rows])) < (depth or 0):
            rows = None  # too few documents among the candidates to rank `depth` of them
        if rows is None:
            scores = self.matrix @ q
            if allowed is not None:
                scores[~allowed] = -np.inf
            return scores
        scores = np.full(self.count, -np.inf, dtype=np.float32)
        scores[rows] = self.matrix[rows] @ q
        return scores

    def _candidates(self, q: np.ndarray, allowed: np.ndarray | None, depth: int | None) -> np.ndarray | None:
        """Rows to score for the best `depth`; None when the exact scan of every row serves."""
        if depth is None or self.codes is None or self.count < quantized.MIN_ROWS:
            return None
        want = quantized.candidate_count(depth)
        if want * 4 > self.count:
            return None
        if allowed is not None and int(np.count_nonzero(allowed)) <= want:
            return np.flatnonzero(allowed)
        if self._ones is None:
            self._ones = quantized.row_ones(self.codes)
        return quantized.candidates(self.codes, self._ones, q, want, allowed)

    def top_passages(self, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(passage pk, score) of the best `k` finite scores."""
        rows = _top_rows(scores, k)
        return [(int(self.pks[r]), float(scores[r])) for r in rows]

    def _groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._doc_groups is None:
            doc_ids, inverse = np.unique(self.docs, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            starts = np.searchsorted(inverse[order], np.arange(len(doc_ids) + 1))
            self._doc_groups = (doc_ids, inverse.astype(np.int64), order, starts)
        return self._doc_groups

    def top_documents(self, scores: np.ndarray, k: int) -> list[tuple[int, float, int]]:
        """(document pk, best score, best passage pk) of the best `k` documents."""
        if not self.count:
            return []
        doc_ids, _, order, starts = self._groups()
        best = np.maximum.reduceat(scores[order], starts[:-1])
        out = []
        for d in _top_rows(best, k):
            rows = order[starts[d] : starts[d + 1]]
            row = int(rows[int(np.argmax(scores[rows]))])
            out.append((int(doc_ids[d]), float(best[d]), int(self.pks[row])))
        return out


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the best `k` finite values, best first (ties: lower index first)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    part = part[np.lexsort((part, -scores[part]))]
    return part[np.isfinite(scores[part])]


_LOADED: dict[str, tuple[tuple[int, int], VectorIndex]] = {}


def read_index_files(
    folder: Path, manifest: dict[str, Any], *, mmap_mode: str = "r"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pks, docs and the memory-mapped matrix of the index in `folder`, checked against its
    manifest (shape, count, pks digest); IndexStateError when unreadable or torn."""
    try:
        pks = np.load(folder / PKS_FILE, allow_pickle=False)
        docs = np.load(folder / DOCS_FILE, allow_pickle=False)
        matrix = np.load(folder / VECTORS_FILE, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"{folder}: unreadable vectors index ({exc})", hint="run `rpp build`") from exc
    count = manifest.get("count")
    if (
        matrix.ndim != 2
        or matrix.shape[0] != count
        or len(pks) != count
        or len(docs) != count
        or _pks_digest(pks) != manifest.get("pks_sha256")
    ):
        raise IndexStateError(
            f"{folder}: vectors index files do not match their manifest (interrupted write?)",
            hint="run `rpp build`",
        )
    return pks, docs, matrix


def load_index(settings: Settings) -> VectorIndex:
    """The vectors index at `settings.vectors_dir`, as float32; cached while unchanged."""
    folder = settings.vectors_dir
    path = folder / "manifest.json"
    try:
        stat = path.stat()
    except OSError:
        raise IndexStateError(f"no vectors index at {folder}", hint="run `rpp build`") from None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _LOADED.get(str(folder))
    if cached and cached[0] == key:
        return cached[1]
    manifest = read_manifest(folder)
    if manifest is None or not _index_files_ok(folder):
        raise IndexStateError(f"no vectors index at {folder}", hint="run `rpp build`")
    pks, docs, matrix = read_index_files(folder, manifest, mmap_mode="r")
    count = manifest.get("count")
    dense = np.array(matrix, dtype=np.float32) if count else np.zeros((0, int(manifest.get("dim") or 1)), dtype=np.float32)
    codes = quantized.read_codes(folder, manifest)
    index = VectorIndex(folder=folder, manifest=manifest, pks=pks, docs=docs, matrix=dense, codes=codes)
    _LOADED[str(folder)] = (key, index)
    return index


def open_index(
    store: Store, settings: Settings, *, fingerprint: str, auto_refresh: bool = False
) -> VectorIndex:
    """Load the index and check it against the store; refresh it from the store when allowed.

    Raises IndexStateError naming the mismatch (model, schema, generation) otherwise.
    """
    problem = index_state(store, settings, fingerprint=fingerprint)
    if problem is not None:
        if auto_refresh and vstore.vector_count(store, model=fingerprint) > 0 and os.access(
            settings.index_dir, os.W_OK
        ):
            try:
                refresh_index(store, settings, fingerprint=fingerprint)
            except sqlite3.OperationalError as exc:  # a read-only connection cannot record the store id
                raise IndexStateError(problem, hint="run `rpp build`") from exc
        else:
            raise IndexStateError(problem, hint="run `rpp build`")
    return load_index(settings)
