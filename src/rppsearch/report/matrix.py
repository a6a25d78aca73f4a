"""The evidence-and-gap matrix: dimensions (rows) × districts, organizations, years, types or
documents (columns), computed from the tag tables when asked.

What counts as evidence for a dimension (human decisions win over the model):
- a passage whose tag for the dimension is assigned (`passage_tags.assigned = 1`): the model's
  tag, or a person's accept (a person's reject sets `assigned = 0`, so the passage leaves);
- except a passage the model tagged in a document a person rejected for that dimension
  (a document-level reject), unless a person accepted that passage itself.
A cell then holds:
- `passages`: its evidence passages; `documents`: the documents they come from, plus
  documents a person accepted for the dimension at document level;
- `mean_confidence`: the mean tag score of its passages (a person's accept scores 1.0);
- `confirmed`: how many of its passages a person accepted, and `confirmed_share`;
- `status`: `gap` (no evidence), `weak` (fewer documents than `min_documents` — or than the
  column has, if it has fewer — or only borderline model tags nobody confirmed, mean score
  below `WEAK_CONFIDENCE`), else `evidence`.
A document with no district (organization, year, type) falls in the `(none)` column.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..errors import QueryError
from ..store import Store
from ..store.chunked import placeholders
from ..store.district_sql import canonical_district, district_match, district_params, document_districts

__all__ = [
    "COLUMNS",
    "NONE_LABEL",
    "WEAK_CONFIDENCE",
    "MIN_DOCUMENTS",
    "MapFilters",
    "Cell",
    "Column",
    "Row",
    "EvidenceMap",
    "evidence_map",
    "check_dimensions",
    "EVIDENCE_RULE",
    "column_documents",
    "documents_by_column",
    "cell_command",
    "cell_url",
    "search_url",
]

COLUMNS = ("district", "organization", "year", "doc_type", "document")
NONE_LABEL = "(none)"
WEAK_CONFIDENCE = 0.6
MIN_DOCUMENTS = 2
CELL_PATH = "/-/rpp-map/cell"
SEARCH_PATH = "/-/rpp-search"


@dataclass(frozen=True)
class MapFilters:
    """The usual filters: dimensions (any of), organization, district, year range, doc type."""

    dimensions: tuple[str, ...] = ()
    organization: str | None = None
    district: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    doc_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimensions": list(self.dimensions),
            "organization": self.organization,
            "district": self.district,
            "year_from": self.year_from,
            "year_to": self.year_to,
            "doc_type": self.doc_type,
        }


@dataclass(frozen=True)
class Row:
    id: str
    name: str


@dataclass(frozen=True)
class Column:
    """One column: its key (None for the `(none)` group), label, and what the group holds."""

    key: str | None
    label: str
    documents: int
    passages: int


@dataclass(frozen=True)
class Cell:
    dimension_id: str
    key: str | None
    documents: int = 0
    passages: int = 0
    confirmed: int = 0
    mean_confidence: float | None = None
    status: str = "gap"

    @property
    def confirmed_share(self) -> float | None:
        return None if self.passages == 0 else self.confirmed / self.passages


@dataclass
class EvidenceMap:
    by: str
    rows: list[Row]
    columns: list[Column]
    cells: dict[tuple[str, str | None], Cell]
    filters: MapFilters = field(default_factory=MapFilters)
    min_documents: int = MIN_DOCUMENTS
    hidden_columns: int = 0

    def cell(self, dimension_id: str, key: str | None) -> Cell:
        return self.cells[(dimension_id, key)]

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per cell (rows in codebook order, then columns): for --json/--csv."""
        out = []
        for row in self.rows:
            for col in self.columns:
                c = self.cell(row.id, col.key)
                share = c.confirmed_share
                out.append(
                    {
                        "dimension_id": row.id,
                        "dimension": row.name,
                        "by": self.by,
                        "column": col.key,
                        "label": col.label,
                        "column_documents": col.documents,
                        "documents": c.documents,
                        "passages": c.passages,
                        "mean_confidence": None if c.mean_confidence is None else round(c.mean_confidence, 3),
                        "confirmed": c.confirmed,
                        "confirmed_share": None if share is None else round(share, 3),
                        "status": c.status,
                        "command": cell_command(row.id, self.by, col.key, self.filters),
                        "url": cell_url(row.id, self.by, col.key, self.filters),
                    }
                )
        return out


# -- documents and their columns ---------------------------------------------------------
#: Document filters as (MapFilters field, SQL over `d`): the search's semantics (exact, any
#: case; a district is any of the document's; years inclusive). Not imported from the search's
#: SQL module, which loads numpy (half the start-up time of `rpp map`).
_DOCUMENT_FILTERS = (
    ("organization", "lower(d.organization) = lower(?)"),
    ("district", district_match("d")),  # district_params(name): the name, in any spelling
    ("year_from", "d.year >= ?"),
    ("year_to", "d.year <= ?"),
    ("doc_type", "lower(d.doc_type) = lower(?)"),
)


def _document_filters(f: MapFilters) -> tuple[str, list[Any]]:
    used = [(name, sql, getattr(f, name)) for name, sql in _DOCUMENT_FILTERS if getattr(f, name) not in (None, "")]
    params = [v for name, _, value in used for v in (district_params(value) if name == "district" else [value])]
    return " AND ".join(["1", *(sql for _, sql, _ in used)]), params


#: The evidence rule over `t` (passage_tags) and `p` (passages): assigned, and not a model tag
#: in a document a person rejected for the dimension.
EVIDENCE_RULE = (
    "t.assigned = 1 AND (t.source = 'human' OR NOT EXISTS (SELECT 1 FROM document_tags dt "
    "WHERE dt.document_id = p.document_id AND dt.dimension_id = t.dimension_id "
    "AND dt.source = 'human' AND dt.assigned = 0))"
)


def column_documents(store: Store, *, by: str, value: str | None, filters: MapFilters) -> list[str]:
    """Ids of the filtered documents in column `value` (`(none)` or None: without one)."""
    return documents_by_column(store, by=by, filters=filters).get(None if value in (None, NONE_LABEL) else value, [])


def documents_by_column(store: Store, *, by: str, filters: MapFilters) -> dict[str | None, list[str]]:
    """`column_documents` for every column at once ({column key: document ids}): one pass over
    the documents for a caller that visits many cells of a map."""
    if by not in COLUMNS:
        raise QueryError(f"by: unknown column kind {by!r} (choose {', '.join(COLUMNS)})")
    groups, _ = _document_groups(store, by, filters)
    out: dict[str | None, list[str]] = {}
    for doc, keys in groups.items():
        for key in keys:
            out.setdefault(key, []).append(doc)
    return out


# -- pointers to a cell's evidence ---------------------------------------------------------
def _cell_params(dimension_id: str, by: str, key: str | None, filters: MapFilters) -> dict[str, Any]:
    params: dict[str, Any] = {"dimension": dimension_id}
    for name in ("organization", "district", "doc_type"):
        value = getattr(filters, name)
        if value:
            params[name] = value
    if filters.year_from is not None:
        params["year_from"] = filters.year_from
    if filters.year_to is not None:
        params["year_to"] = filters.year_to
    params["by"] = by
    params["value"] = NONE_LABEL if key is None else key
    return params


def cell_url(dimension_id: str, by: str, key: str | None, filters: MapFilters) -> str:
    """The Datasette page listing a cell's evidence passages (relative to the server root)."""
    return CELL_PATH + "?" + urlencode(_cell_params(dimension_id, by, key, filters))


def search_url(dimension_id: str, by: str, key: str | None, filters: MapFilters, *, query: str = "") -> str:
    """`/-/rpp-search` with the cell's filters set: without a query the page browses the
    cell's passages, newest first."""
    params: dict[str, Any] = {"q": query, "dimension": dimension_id}
    for name in ("organization", "district", "doc_type", "year_from", "year_to"):
        value = getattr(filters, name)
        if value is not None and value != "":
            params[name] = value
    if key is not None and by in ("organization", "district", "doc_type"):
        params[by] = key
    elif key is not None and by == "year":
        params["year_from"] = params["year_to"] = key
    return SEARCH_PATH + "?" + urlencode(params)


def cell_command(dimension_id: str, by: str, key: str | None, filters: MapFilters) -> str:
    """The `rpp evidence` command that lists a cell's passages."""
    parts = ["rpp", "evidence", dimension_id, "--by", by, "--value", NONE_LABEL if key is None else key]
    for name in ("organization", "district", "doc_type"):
        value = getattr(filters, name)
        if value:
            parts += [f"--{name.replace('_', '-')}", value]
    if filters.year_from is not None:
        parts += ["--year-from", str(filters.year_from)]
    if filters.year_to is not None:
        parts += ["--year-to", str(filters.year_to)]
    return " ".join(shlex.quote(p) for p in parts)


# -- the matrix ----------------------------------------------------------------------------
def check_dimensions(store: Store, dimensions: Sequence[str]) -> list[Row]:
    """The codebook's rows (in order), only `dimensions` when given; QueryError for an unknown id."""
    return _rows(store, dimensions)


def _rows(store: Store, dimensions: Sequence[str]) -> list[Row]:
    rows = [Row(r[0], r[1]) for r in store.conn.execute("SELECT id, name FROM dimensions ORDER BY position, id")]
    if not rows:
        raise QueryError("the store has no codebook yet", hint="run `rpp build` (or `rpp tag`) first")
    if dimensions:
        known = {r.id for r in rows}
        unknown = [d for d in dimensions if d not in known]
        if unknown:
            raise QueryError(f"dimension: unknown dimension {unknown[0]!r}", hint=f"known: {', '.join(sorted(known))}")
        rows = [r for r in rows if r.id in set(dimensions)]
    return rows


def _check(by: str, filters: MapFilters, min_documents: int) -> None:
    if by not in COLUMNS:
        raise QueryError(f"cols: unknown column kind {by!r} (choose {', '.join(COLUMNS)})")
    if filters.year_from is not None and filters.year_to is not None and filters.year_from > filters.year_to:
        raise QueryError(f"year_from: {filters.year_from} is after year_to ({filters.year_to})")
    if min_documents < 1:
        raise QueryError(f"min_documents: {min_documents} must be at least 1")


def _column_order(by: str, col: Column) -> tuple[Any, ...]:
    if by == "year":
        return (col.key is None, int(col.key) if col.key is not None else 0)
    if by == "document":
        return (col.label.lower(), col.key or "")
    return (col.key is None, -col.documents, col.label.lower())


def _status(c_docs: int, passages: int, confirmed: int, mean: float | None, col_docs: int, min_documents: int) -> str:
    if passages == 0 and c_docs == 0:
        return "gap"
    if c_docs < min(min_documents, max(col_docs, 1)):
        return "weak"
    if confirmed == 0 and mean is not None and mean < WEAK_CONFIDENCE:
        return "weak"
    return "evidence"


def _document_groups(store: Store, by: str, filters: MapFilters) -> tuple[dict[str, list[str | None]], dict[str, str]]:
    """{document id: its column keys} for the filtered documents, and document titles."""
    where, params = _document_filters(filters)
    groups: dict[str, list[str | None]] = {}
    titles: dict[str, str] = {}
    wanted = canonical_district(store.conn, filters.district).lower() if filters.district else None
    for doc_id, title, organization, districts, year, doc_type in store.conn.execute(
        f"SELECT d.id, d.title, d.organization, {document_districts('d')}, d.year, d.doc_type FROM documents d WHERE {where}",
        params,
    ):
        if by == "district":
            try:
                names = json.loads(districts or "[]")
            except json.JSONDecodeError:
                names = []
            keys: list[str | None] = list(dict.fromkeys(n for n in names if isinstance(n, str) and n.strip()))
            if wanted is not None:
                keys = [k for k in keys if k.lower() == wanted]  # type: ignore[union-attr]
            groups[doc_id] = keys or ([] if wanted is not None else [None])
        elif by == "organization":
            groups[doc_id] = [organization.strip() if organization and organization.strip() else None]
        elif by == "year":
            groups[doc_id] = [None if year is None else str(year)]
        elif by == "doc_type":
            groups[doc_id] = [doc_type.strip() if doc_type and doc_type.strip() else None]
        else:
            groups[doc_id] = [doc_id]
            titles[doc_id] = title or doc_id
    return groups, titles


def _per_document(store: Store, dims: Sequence[str]) -> dict[tuple[str, str], list[float]]:
    """{(document, dimension): [passages, confirmed, score sum]} over evidence passages.

    One pass over the assigned tags (through the dimension index); a document-level reject by a
    person keeps only the passages a person accepted."""
    marks = placeholders(len(dims))
    rejected = {
        (doc, dim)
        for doc, dim in store.conn.execute(
            f"SELECT document_id, dimension_id FROM document_tags WHERE source = 'human' AND assigned = 0 "
            f"AND dimension_id IN ({marks})",
            list(dims),
        )
    }
    out: dict[tuple[str, str], list[float]] = {}
    for doc, dim, human, n, total in store.conn.execute(
        # NOT INDEXED: a sequential scan of the tag table is ~3x faster here than the
        # (dimension, assigned) index, whose rows each need a lookup into the table.
        "SELECT p.document_id, t.dimension_id, t.source = 'human', count(*), sum(t.score) FROM passage_tags t "
        f"NOT INDEXED JOIN passages p ON p.pk = t.passage_pk WHERE t.assigned = 1 AND t.dimension_id IN ({marks}) "
        "GROUP BY p.document_id, t.dimension_id, t.source = 'human'",
        list(dims),
    ):
        if not human and (doc, dim) in rejected:
            continue
        acc = out.setdefault((doc, dim), [0, 0, 0.0])
        acc[0] += n
        acc[1] += n if human else 0
        acc[2] += total
    return out


def evidence_map(
    store: Store,
    *,
    by: str = "district",
    filters: MapFilters | None = None,
    min_documents: int = MIN_DOCUMENTS,
    max_columns: int | None = None,
    include_none: bool = True,
) -> EvidenceMap:
    """The matrix for `store` as it is now. `max_columns` keeps the columns with most documents
    (the rest are counted in `hidden_columns`); `include_none` keeps the `(none)` column.

    Reads each document's group and its per-dimension evidence totals (one pass over the
    assigned tags), then adds them up by column."""
    filters = filters or MapFilters()
    _check(by, filters, min_documents)
    rows = _rows(store, filters.dimensions)
    dims = [r.id for r in rows]
    groups, titles = _document_groups(store, by, filters)
    passage_counts = dict(store.conn.execute("SELECT id, passage_count FROM documents"))
    col_docs: dict[str | None, int] = {}
    col_passages: dict[str | None, int] = {}
    for doc_id, keys in groups.items():
        for key in keys:
            col_docs[key] = col_docs.get(key, 0) + 1
            col_passages[key] = col_passages.get(key, 0) + int(passage_counts.get(doc_id) or 0)
    columns = [
        Column(key, NONE_LABEL if key is None else titles.get(key, key), n, col_passages[key])
        for key, n in col_docs.items()
        if key is not None or include_none
    ]
    hidden = 0
    if max_columns is not None and len(columns) > max_columns:
        keep = sorted(columns, key=lambda c: (c.key is None, -c.documents, c.label.lower()))[:max_columns]
        hidden = len(columns) - len(keep)
        columns = keep
    columns.sort(key=lambda c: _column_order(by, c))
    shown = {c.key for c in columns}
    # [documents, passages, confirmed, score sum] per cell
    stats: dict[tuple[str, str | None], list[float]] = {}
    per_document = _per_document(store, dims)
    for (doc, dim), (n, human, total) in per_document.items():
        for key in groups.get(doc, ()):
            if key in shown:
                acc = stats.setdefault((dim, key), [0, 0, 0, 0.0])
                acc[0] += 1
                acc[1] += n
                acc[2] += human
                acc[3] += total
    human_docs = store.conn.execute(
        f"SELECT document_id, dimension_id FROM document_tags WHERE source = 'human' AND assigned = 1 "
        f"AND dimension_id IN ({placeholders(len(dims))})",
        dims,
    ).fetchall()
    for doc, dim in human_docs:  # a person's document-level accept counts the document
        for key in groups.get(doc, ()):
            if key in shown:
                if (doc, dim) not in per_document:
                    stats.setdefault((dim, key), [0, 0, 0, 0.0])[0] += 1
    cells: dict[tuple[str, str | None], Cell] = {}
    for row in rows:
        for col in columns:
            n_docs, n_pass, human, total = stats.get((row.id, col.key), [0, 0, 0, 0.0])
            mean = total / n_pass if n_pass else None
            cells[(row.id, col.key)] = Cell(
                dimension_id=row.id,
                key=col.key,
                documents=int(n_docs),
                passages=int(n_pass),
                confirmed=int(human),
                mean_confidence=mean,
                status=_status(int(n_docs), int(n_pass), int(human), mean, col.documents, min_documents),
            )
    return EvidenceMap(
        by=by, rows=rows, columns=columns, cells=cells, filters=filters, min_documents=min_documents, hidden_columns=hidden
    )
