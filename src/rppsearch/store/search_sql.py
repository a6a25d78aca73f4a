"""Reads for search: FTS5 BM25 with filters joined in, filtered passage sets, hit rows.

Every statement is parameterised; the only text spliced into SQL is fixed fragments and
`?` placeholders built here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import Store

if TYPE_CHECKING:  # pragma: no cover
    from ..search import Filters

_CHUNK = 900


def known_dimensions(store: Store) -> set[str]:
    """Dimension ids in the store's codebook table."""
    return {r[0] for r in store.conn.execute("SELECT id FROM dimensions")}


def filter_sql(filters: "Filters | None") -> tuple[str, list[Any]]:
    """A WHERE fragment over `p` (passages) and `d` (documents), and its parameters.

    A passage passes the dimension filter when it has an assigned tag (`passage_tags.assigned`,
    a human decision overriding the model's) for ANY of the dimensions, with `score >=
    min_score` when given; `min_score` alone means any assigned dimension at that score.
    """
    if filters is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if filters.dimensions or filters.min_score is not None:
        sub = "SELECT 1 FROM passage_tags t WHERE t.passage_pk = p.pk AND t.assigned = 1"
        if filters.dimensions:
            sub += f" AND t.dimension_id IN ({','.join('?' * len(filters.dimensions))})"
            params.extend(filters.dimensions)
        if filters.min_score is not None:
            sub += " AND t.score >= ?"
            params.append(float(filters.min_score))
        clauses.append(f"EXISTS ({sub})")
    if filters.organization:
        clauses.append("d.organization = ? COLLATE NOCASE")
        params.append(filters.organization)
    if filters.doc_type:
        clauses.append("d.doc_type = ? COLLATE NOCASE")
        params.append(filters.doc_type)
    if filters.district:
        clauses.append("EXISTS (SELECT 1 FROM json_each(d.districts) j WHERE lower(j.value) = lower(?))")
        params.append(filters.district)
    if filters.year_from is not None:
        clauses.append("d.year >= ?")
        params.append(int(filters.year_from))
    if filters.year_to is not None:
        clauses.append("d.year <= ?")
        params.append(int(filters.year_to))
    return " AND ".join(clauses), params


def fts_search(
    store: Store,
    match: str,
    *,
    weights: Sequence[float],
    filters: "Filters | None" = None,
    limit: int,
) -> list[tuple[int, float]]:
    """`(passage_pk, score)` best first; score = -bm25() (higher is better). Filters join in SQL."""
    where, params = filter_sql(filters)
    w = ", ".join(str(float(x)) for x in weights)
    if where:
        sql = (
            f"SELECT f.rowid, bm25(passages_fts, {w}) AS s FROM passages_fts f "
            "JOIN passages p ON p.pk = f.rowid JOIN documents d ON d.id = p.document_id "
            f"WHERE passages_fts MATCH ? AND {where} ORDER BY s LIMIT ?"
        )
    else:
        sql = f"SELECT rowid, bm25(passages_fts, {w}) AS s FROM passages_fts WHERE passages_fts MATCH ? ORDER BY s LIMIT ?"
    return [(r[0], -r[1]) for r in store.conn.execute(sql, [match, *params, int(limit)])]


def filtered_pks(store: Store, filters: "Filters") -> np.ndarray:
    """Sorted int64 pks of the passages that pass `filters`."""
    where, params = filter_sql(filters)
    sql = "SELECT p.pk FROM passages p JOIN documents d ON d.id = p.document_id"
    if where:
        sql += f" WHERE {where}"
    sql += " ORDER BY p.pk"
    rows = store.conn.execute(sql, params).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def hit_rows(store: Store, pks: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Passage and document fields for building hits, keyed by passage pk."""
    out: dict[int, dict[str, Any]] = {}
    pks = [int(pk) for pk in pks]
    for i in range(0, len(pks), _CHUNK):
        part = pks[i : i + _CHUNK]
        marks = ",".join("?" * len(part))
        for r in store.conn.execute(
            'SELECT p.pk, p.id, p.document_id, p.seq, p.heading, p.text, p.start, p."end", '
            "p.dimensions AS passage_dimensions, d.pk AS document_pk, d.title, d.organization, "
            "d.districts, d.year, d.doc_type, d.url, d.dimensions AS document_dimensions "
            f"FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.pk IN ({marks})",
            part,
        ):
            row = dict(r)
            row["districts"] = _json_list(row["districts"])
            row["passage_dimensions"] = _json_list(row["passage_dimensions"])
            row["document_dimensions"] = _json_list(row["document_dimensions"])
            out[row["pk"]] = row
    return out


def _json_list(value: str | None) -> list[Any]:
    try:
        parsed = json.loads(value or "[]")
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


_SCRATCH: sqlite3.Connection | None = None


def highlight_texts(match: str, texts: dict[int, str], *, start: str, end: str, tokenizer: str) -> dict[int, str]:
    """`texts` with the terms of `match` wrapped in `start`/`end`, keyed like `texts`.

    Runs FTS5's own `highlight()` over a scratch in-memory table with the store's tokenizer,
    so marks agree exactly with what BM25 matched; texts without a match are left out.
    """
    global _SCRATCH
    if not texts:
        return {}
    if _SCRATCH is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        conn.execute(f"CREATE VIRTUAL TABLE h USING fts5(text, tokenize={_sql_string(tokenizer)})")
        _SCRATCH = conn
    conn = _SCRATCH
    conn.execute("BEGIN")
    try:
        conn.execute("DELETE FROM h")
        conn.executemany("INSERT INTO h(rowid, text) VALUES (?, ?)", [(int(k), v) for k, v in texts.items()])
        rows = conn.execute(
            "SELECT rowid, highlight(h, 0, ?, ?) FROM h WHERE h MATCH ?", (start, end, match)
        ).fetchall()
    finally:
        conn.execute("ROLLBACK")
    return {int(r[0]): r[1] for r in rows}


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def passage_pk_by_id(store: Store, passage_id: str) -> int | None:
    row = store.conn.execute("SELECT pk FROM passages WHERE id = ?", (passage_id,)).fetchone()
    return int(row[0]) if row else None


def document_pk_by_id(store: Store, document_id: str) -> int | None:
    row = store.conn.execute("SELECT pk FROM documents WHERE id = ?", (document_id,)).fetchone()
    return int(row[0]) if row else None


def document_passage_pks(store: Store, document_id: str) -> list[int]:
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT pk FROM passages WHERE document_id = ? ORDER BY seq", (document_id,)
        )
    ]


def passage_document_pks(store: Store, pks: Sequence[int]) -> np.ndarray:
    """Document pk of each passage pk (in order); -1 for unknown passages."""
    found: dict[int, int] = {}
    pks = [int(pk) for pk in pks]
    for i in range(0, len(pks), _CHUNK):
        part = pks[i : i + _CHUNK]
        marks = ",".join("?" * len(part))
        for r in store.conn.execute(
            f"SELECT p.pk, d.pk FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.pk IN ({marks})",
            part,
        ):
            found[r[0]] = r[1]
    return np.fromiter((found.get(pk, -1) for pk in pks), dtype=np.int64, count=len(pks))


def all_passage_document_pks(store: Store) -> tuple[np.ndarray, np.ndarray]:
    """(passage pks sorted, their document pks) for the whole store."""
    rows = store.conn.execute(
        "SELECT p.pk, d.pk FROM passages p JOIN documents d ON d.id = p.document_id ORDER BY p.pk"
    ).fetchall()
    n = len(rows)
    pks = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    docs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    return pks, docs
