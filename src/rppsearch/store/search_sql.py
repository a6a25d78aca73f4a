"""Reads for search: FTS5 BM25 with filters joined in, filtered passage sets, hit rows.

Every statement is parameterised; the only text spliced into SQL is fixed fragments and
`?` placeholders built here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import Store
from .chunked import placeholders, select_in
from .district_sql import district_match, district_params, document_districts, lacks_district

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Filters


def known_dimensions(store: Store) -> set[str]:
    """Dimension ids in the store's codebook table."""
    return {r[0] for r in store.conn.execute("SELECT id FROM dimensions")}


#: SQL over `d` (documents) true when the document lacks the field (FILTER_FIELDS).
UNKNOWN_SQL = {
    "year": "d.year IS NULL",
    "organization": "coalesce(d.organization, '') = ''",
    "district": lacks_district("d"),
    "doc_type": "coalesce(d.doc_type, '') = ''",
}


def _field_conditions(filters: "Filters") -> dict[str, tuple[str, list[Any]]]:
    """Per document field the filter restricts: its condition over `d` and its parameters.
    With `include_unknown`, a document lacking the field passes too."""
    out: dict[str, tuple[str, list[Any]]] = {}
    if filters.organization:
        out["organization"] = ("d.organization = ? COLLATE NOCASE", [filters.organization])
    if filters.doc_type:
        out["doc_type"] = ("d.doc_type = ? COLLATE NOCASE", [filters.doc_type])
    if filters.district:
        out["district"] = (district_match("d"), district_params(filters.district))
    years = []
    params: list[Any] = []
    if filters.year_from is not None:
        years.append("d.year >= ?")
        params.append(int(filters.year_from))
    if filters.year_to is not None:
        years.append("d.year <= ?")
        params.append(int(filters.year_to))
    if years:
        out["year"] = (" AND ".join(years), params)
    if filters.include_unknown:
        out = {name: (f"({UNKNOWN_SQL[name]} OR ({sql}))", p) for name, (sql, p) in out.items()}
    return out


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
        tag_where, tag_params = _tag_conditions(filters, alias="t.")
        clauses.append(
            f"EXISTS (SELECT 1 FROM passage_tags t WHERE t.passage_pk = p.pk AND t.assigned = 1{tag_where})"
        )
        params.extend(tag_params)
    doc_where, doc_params = _document_where(filters)
    if doc_where:
        clauses.append(doc_where)
        params.extend(doc_params)
    return " AND ".join(clauses), params


def _document_where(filters: "Filters", *, skip: str | None = None) -> tuple[str, list[Any]]:
    """The document-level part of a filter (metadata and `document_id`), minus field `skip`."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, (sql, p) in _field_conditions(filters).items():
        if name != skip:
            clauses.append(sql)
            params.extend(p)
    if filters.document_id:
        clauses.append("d.id = ?")
        params.append(filters.document_id)
    return " AND ".join(clauses), params


def unknown_counts(store: Store, filters: "Filters") -> dict[str, int]:
    """Per field the filter restricts: documents lacking it that pass the filter's other
    document conditions (those the field's condition leaves out, or keeps with include_unknown)."""
    out: dict[str, int] = {}
    for name in filters.filtered_fields():
        where, params = _document_where(filters, skip=name)
        sql = f"SELECT count(*) FROM documents d WHERE {UNKNOWN_SQL[name]}" + (f" AND {where}" if where else "")
        out[name] = int(store.conn.execute(sql, params).fetchone()[0])
    return out


def _tag_conditions(filters: Filters, *, alias: str = "") -> tuple[str, list[Any]]:
    """` AND …` conditions on `passage_tags` columns (prefixed with `alias`) for the filter's
    dimensions (any of them) and `min_score`, and their parameters."""
    sql = ""
    params: list[Any] = []
    if filters.dimensions:
        sql += f" AND {alias}dimension_id IN ({placeholders(len(filters.dimensions))})"
        params.extend(filters.dimensions)
    if filters.min_score is not None:
        sql += f" AND {alias}score >= ?"
        params.append(float(filters.min_score))
    return sql, params


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


def has_document_filter(filters: "Filters") -> bool:
    return bool(filters.filtered_fields() or filters.document_id)


def has_dimension_filter(filters: "Filters") -> bool:
    return bool(filters.dimensions) or filters.min_score is not None


def filtered_document_pks(store: Store, filters: "Filters") -> np.ndarray:
    """Sorted int64 pks of the documents passing the document-level filters (metadata)."""
    where, params = _document_where(filters)
    sql = "SELECT d.pk FROM documents d" + (f" WHERE {where}" if where else "") + " ORDER BY d.pk"
    rows = store.conn.execute(sql, params).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def browse_passages(store: Store, filters: "Filters | None") -> list[tuple[int, int]]:
    """`(passage pk, document pk)` of every passage passing the filters, newest document
    first (year, then publication date, then most recently added), passages in order."""
    where, params = filter_sql(filters)
    sql = (
        "SELECT p.pk, d.pk FROM passages p JOIN documents d ON d.id = p.document_id"
        + (f" WHERE {where}" if where else "")
        + " ORDER BY d.year IS NULL, d.year DESC, d.published IS NULL, d.published DESC, d.pk DESC, p.seq"
    )
    return [(r[0], r[1]) for r in store.conn.execute(sql, params)]


#: Facet dimensions of a result set: SQL over the candidate rows `r` yielding one value per row
#: (NULLs dropped). The page shows them in this order.
_FACETS = {
    "dimension": "SELECT j.value AS v FROM r JOIN json_each(r.dimensions) j",
    "organization": "SELECT r.organization AS v FROM r WHERE coalesce(r.organization, '') != ''",
    "district": "SELECT j.value AS v FROM r JOIN json_each(r.districts) j",
    "year": "SELECT CAST(r.year AS TEXT) AS v FROM r WHERE r.year IS NOT NULL",
    "doc_type": "SELECT r.doc_type AS v FROM r WHERE coalesce(r.doc_type, '') != ''",
}
#: One statement: the candidates' rows are joined and read once (`r`: SQLite materialises a
#: CTE used more than once), then every facet's counts, most frequent first within a facet.
_FACET_SQL = (
    "WITH r AS (SELECT {dims} AS dimensions, d.organization, "
    + document_districts("d")
    + " AS districts, d.year, d.doc_type "
    "FROM json_each(?) x JOIN passages p ON p.pk = x.value JOIN documents d ON d.id = p.document_id) "
    + " UNION ALL ".join(
        f"SELECT {i} AS facet, v, count(*) AS n FROM ({inner}) GROUP BY v" for i, inner in enumerate(_FACETS.values())
    )
    + " ORDER BY facet, n DESC, v"
)


def facet_counts(store: Store, passage_pks: Sequence[int], *, by: str = "passage") -> dict[str, list[tuple[str, int]]]:
    """Counts per facet value over a result set of passages (`by="document"`: one
    passage per document, counted with its document's dimensions), most frequent first."""
    ids = json.dumps([int(pk) for pk in passage_pks])
    sql = _FACET_SQL.format(dims="p.dimensions" if by == "passage" else "d.dimensions")
    names = list(_FACETS)
    out: dict[str, list[tuple[str, int]]] = {name: [] for name in names}
    for facet, value, n in store.conn.execute(sql, (ids,)):
        out[names[facet]].append((str(value), int(n)))
    return out


def tagged_passage_pks(store: Store, filters: "Filters") -> np.ndarray:
    """Sorted int64 pks of passages with an assigned tag for any of the filter's dimensions
    (any dimension when none is given), at `min_score` or above when set."""
    tag_where, params = _tag_conditions(filters)
    sql = f"SELECT DISTINCT passage_pk FROM passage_tags WHERE assigned = 1{tag_where} ORDER BY passage_pk"
    rows = store.conn.execute(sql, params).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def hit_rows(store: Store, pks: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Passage and document fields for building hits, keyed by passage pk."""
    out: dict[int, dict[str, Any]] = {}
    pks = [int(pk) for pk in pks]
    for r in select_in(
        store,
        'SELECT p.pk, p.id, p.document_id, p.seq, p.heading, p.text, p.start, p."end", '
        "p.dimensions AS passage_dimensions, d.pk AS document_pk, d.title, d.organization, "
        "d.districts, d.year, d.doc_type, d.url, d.dimensions AS document_dimensions "
        "FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.pk IN",
        pks,
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
    sql = "SELECT p.pk, d.pk FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.pk IN"
    for r in select_in(store, sql, pks):
        found[r[0]] = r[1]
    return np.fromiter((found.get(pk, -1) for pk in pks), dtype=np.int64, count=len(pks))


def all_passage_pks(store: Store) -> np.ndarray:
    """Sorted int64 pks of every passage."""
    rows = store.conn.execute("SELECT pk FROM passages ORDER BY pk").fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


_INDEX_COLUMNS = "p.pk, d.pk, coalesce(p.title, ''), p.heading, p.text FROM passages p JOIN documents d ON d.id = p.document_id"


def iter_passages_for_index(
    store: Store, *, after_pk: int = 0, batch: int = 10_000
) -> Iterator[list[tuple[int, int, str, str, str]]]:
    """Batches of `(pk, document pk, title, heading, text)` with pk > `after_pk`, in pk order."""
    last = int(after_pk)
    while True:
        rows = store.conn.execute(
            f"SELECT {_INDEX_COLUMNS} WHERE p.pk > ? ORDER BY p.pk LIMIT ?", (last, batch)
        ).fetchall()
        if not rows:
            return
        yield [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        last = rows[-1][0]


def passages_for_index(store: Store, pks: Sequence[int]) -> list[tuple[int, int, str, str, str]]:
    """`(pk, document pk, title, heading, text)` of the given passages."""
    pks = [int(pk) for pk in pks]
    return [
        (r[0], r[1], r[2], r[3], r[4]) for r in select_in(store, f"SELECT {_INDEX_COLUMNS} WHERE p.pk IN", pks)
    ]
