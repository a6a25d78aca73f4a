"""`passage_vectors`: float32 little-endian blobs, one row per passage, tagged with the encoder.

The `model` column holds the encoder fingerprint (`all-MiniLM-L6-v2@<sha256>`); a vector
counts for a model only when its fingerprint matches and its `text_hash` still equals the
passage's. Writers hold the transaction (`with store.transaction():`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from . import Store
from .chunked import select_in
from .documents import GUESSED_TITLE_SQL

__all__ = [
    "store_identity",
    "vectors_generation",
    "put_vectors",
    "get_vectors",
    "missing_vector_pks",
    "vector_pks",
    "passages_for_embedding",
    "vector_count",
    "vector_rows",
    "to_blob",
    "from_blob",
]


def to_blob(vector: np.ndarray) -> bytes:
    """float32 little-endian bytes, as `llm` and `datasette-embeddings` store vectors."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    """The float32 vector stored in `blob` (a read-only view of its bytes)."""
    return np.frombuffer(blob, dtype="<f4")


def store_identity(store: Store, *, create: bool = False) -> str | None:
    """A random id naming this store file (meta `store_id`), so an index built for another
    store with the same passage count and generation is never taken as current.

    With `create`, one is made when missing (in its own transaction or the caller's).
    """
    value = store.get_meta("store_id")
    if value is None and create:
        import uuid  # noqa: PLC0415

        value = uuid.uuid4().hex
        with store.transaction():
            store.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', ?)", (value,))
        value = store.get_meta("store_id")
    return value


def put_vectors(
    store: Store, items: Iterable[tuple[int, str, np.ndarray]], *, model: str
) -> int:
    """Insert or replace `(passage_pk, text_hash, vector)` rows for `model`; return the count.

    Must run inside `store.transaction()`.
    """
    assert store.conn.in_transaction, "put_vectors needs a transaction"
    rows = [(int(pk), model, digest, to_blob(vec)) for pk, digest, vec in items]
    store.conn.executemany(
        "INSERT OR REPLACE INTO passage_vectors (passage_pk, model, text_hash, vector) VALUES (?, ?, ?, ?)",
        rows,
    )
    if rows:  # indexes built before these vectors are stale even at the same passages generation
        store.bump_meta("vectors_generation")
    return len(rows)


def vectors_generation(store: Store) -> int:
    """A counter bumped by every `put_vectors` (vectors carried over with passages, or deleted
    with them, move the passages generation instead)."""
    return int(store.get_meta("vectors_generation", "0") or 0)


def get_vectors(store: Store, pks: Sequence[int], *, model: str, dim: int | None = None) -> np.ndarray:
    """Vectors of `pks` (in that order) for `model` as a float32 (n, dim) array.

    Raises KeyError naming the first passage pk without a current vector.
    """
    pks = [int(pk) for pk in pks]
    found: dict[int, bytes] = {}
    sql = (
        "SELECT v.passage_pk, v.vector FROM passage_vectors v JOIN passages p ON p.pk = v.passage_pk "
        "WHERE v.model = ? AND v.text_hash = p.text_hash AND v.passage_pk IN"
    )
    for pk, blob in select_in(store, sql, pks, params=[model]):
        found[pk] = blob
    if not pks:
        return np.zeros((0, dim or 0), dtype=np.float32)
    missing = [pk for pk in pks if pk not in found]
    if missing:
        raise KeyError(missing[0])
    return np.stack([from_blob(found[pk]) for pk in pks]).astype(np.float32, copy=False)


def missing_vector_pks(store: Store, *, model: str) -> list[int]:
    """Passage pks without a current vector for `model` (none, another model, or stale text)."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT p.pk FROM passages p LEFT JOIN passage_vectors v ON v.passage_pk = p.pk "
            "WHERE v.passage_pk IS NULL OR v.model != ? OR v.text_hash != p.text_hash ORDER BY p.pk",
            (model,),
        )
    ]


def vector_pks(store: Store, *, model: str) -> np.ndarray:
    """Sorted int64 pks of passages with a current vector for `model`."""
    rows = store.conn.execute(
        "SELECT v.passage_pk FROM passage_vectors v JOIN passages p ON p.pk = v.passage_pk "
        "WHERE v.model = ? AND v.text_hash = p.text_hash ORDER BY v.passage_pk",
        (model,),
    ).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def vector_rows(store: Store, *, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(sorted passage pks, their document pks) of passages with a current vector for `model`."""
    rows = store.conn.execute(
        "SELECT v.passage_pk, d.pk FROM passage_vectors v JOIN passages p ON p.pk = v.passage_pk "
        "JOIN documents d ON d.id = p.document_id "
        "WHERE v.model = ? AND v.text_hash = p.text_hash ORDER BY v.passage_pk",
        (model,),
    ).fetchall()
    n = len(rows)
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    docs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    return pks, docs


def vector_count(store: Store, *, model: str | None = None) -> int:
    """How many vectors are stored (for `model`, when given)."""
    if model is None:
        return int(store.conn.execute("SELECT count(*) FROM passage_vectors").fetchone()[0])
    return int(
        store.conn.execute("SELECT count(*) FROM passage_vectors WHERE model = ?", (model,)).fetchone()[0]
    )


def passages_for_embedding(store: Store, pks: Sequence[int]) -> list[tuple[int, str, str, str, str]]:
    """`(pk, text_hash, title, heading, text)` for `pks`, in that order; the title is the one
    encoded with the passage (`documents.encoded_title`: '' when rppsearch guessed it)."""
    pks = [int(pk) for pk in pks]
    rows: dict[int, tuple[int, str, str, str, str]] = {}
    sql = (
        f"SELECT p.pk, p.text_hash, CASE WHEN {GUESSED_TITLE_SQL} THEN '' ELSE coalesce(p.title, '') END, "
        "p.heading, p.text FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.pk IN"
    )
    for r in select_in(store, sql, pks):
        rows[r[0]] = (r[0], r[1], r[2], r[3], r[4])
    return [rows[pk] for pk in pks if pk in rows]


def passage_lengths(store: Store, pks: Sequence[int] | None = None) -> dict[int, int]:
    """Character length of each passage's text (all passages when `pks` is None)."""
    if pks is None:
        return {r[0]: r[1] for r in store.conn.execute("SELECT pk, length(text) FROM passages")}
    out: dict[int, int] = {}
    pks = [int(pk) for pk in pks]
    for r in select_in(store, "SELECT pk, length(text) FROM passages WHERE pk IN", pks):
        out[r[0]] = r[1]
    return out
