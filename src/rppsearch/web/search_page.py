"""The `/-/rpp-search` page (HTML) and `/-/rpp-search.json`: search for researchers.

Hybrid, BM25 or semantic search with dimension and metadata filters, run in a worker
thread on a read-only connection. Bad parameters get a 400 naming the parameter.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datasette.utils.asgi import Response

from ..errors import QueryError, RppError
from ..models import snippet_window
from .metadata import REVIEW_PATH, SEARCH_PATH
from .sqlfuncs import EMBEDDER
from .stores import Unavailable, can_review, pick_database, store_model_name, writable

MODES = ("hybrid", "bm25", "semantic")
BY = ("passage", "document")
FUSIONS = ("rrf", "convex")
MAX_QUERY_CHARS = 1000
MAX_TEXT_PARAM_CHARS = 200
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
SNIPPET_CHARS = 700


@dataclass
class SearchParams:
    """Validated parameters of `/-/rpp-search`."""

    query: str = ""
    mode: str = "hybrid"
    by: str = "passage"
    limit: int = DEFAULT_LIMIT
    dimensions: list[str] = field(default_factory=list)
    min_score: float | None = None
    organization: str | None = None
    district: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    doc_type: str | None = None
    fusion: str = "rrf"
    weight: float = 0.5
    db: str | None = None

    def filters_dict(self) -> dict[str, Any]:
        return {
            "dimensions": self.dimensions,
            "min_score": self.min_score,
            "organization": self.organization,
            "district": self.district,
            "year_from": self.year_from,
            "year_to": self.year_to,
            "doc_type": self.doc_type,
        }


def _one(args: Any, name: str) -> str:
    values = [v for v in args.getlist(name) if v.strip()]
    if len(values) > 1:
        raise QueryError(f"{name}: give one value, not {len(values)}")
    return values[0].strip() if values else ""


def _choice(args: Any, name: str, choices: tuple[str, ...], default: str) -> str:
    value = _one(args, name) or default
    if value not in choices:
        raise QueryError(f"{name}: unknown value {value[:40]!r} (choose {', '.join(choices)})")
    return value


def _number(args: Any, name: str, kind: type, low: float, high: float) -> Any:
    raw = _one(args, name)
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise QueryError(f"{name}: {raw[:40]!r} is not {what}") from None
    if not (low <= value <= high):  # also rejects nan
        raise QueryError(f"{name}: {raw[:40]} is out of range ({low:g}–{high:g})")
    return value


def _text(args: Any, name: str) -> str | None:
    value = _one(args, name)
    if len(value) > MAX_TEXT_PARAM_CHARS:
        raise QueryError(f"{name}: {len(value)} characters is too long (at most {MAX_TEXT_PARAM_CHARS})")
    return value or None


def parse_search_params(args: Any, *, dimensions: set[str]) -> SearchParams:
    """Validate request parameters; raise QueryError naming the parameter and the reason."""
    query = " ".join(args.getlist("q")).strip()
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"q: the query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
    if "\x00" in query:
        raise QueryError("q: the query contains a NUL character")
    chosen = []
    for value in args.getlist("dimension"):
        value = value.strip()
        if not value:
            continue
        if value not in dimensions:
            known = ", ".join(sorted(dimensions)) or "none: the store has no codebook yet"
            raise QueryError(f"dimension: unknown dimension {value[:60]!r} (known: {known})")
        if value not in chosen:
            chosen.append(value)
    limit = _number(args, "limit", int, 1, MAX_LIMIT)
    weight = _number(args, "weight", float, 0.0, 1.0)
    params = SearchParams(
        query=query,
        mode=_choice(args, "mode", MODES, "hybrid"),
        by=_choice(args, "by", BY, "passage"),
        limit=DEFAULT_LIMIT if limit is None else limit,
        dimensions=chosen,
        min_score=_number(args, "min_score", float, 0.0, 1.0),
        organization=_text(args, "organization"),
        district=_text(args, "district"),
        year_from=_number(args, "year_from", int, 0, 9999),
        year_to=_number(args, "year_to", int, 0, 9999),
        doc_type=_text(args, "doc_type"),
        fusion=_choice(args, "fusion", FUSIONS, "rrf"),
        weight=0.5 if weight is None else weight,
        db=_text(args, "db"),
    )
    if params.year_from is not None and params.year_to is not None and params.year_from > params.year_to:
        raise QueryError(f"year_from: {params.year_from} is after year_to ({params.year_to})")
    return params


def snippet_segments(
    content: str, highlights: list[Any], *, width: int = SNIPPET_CHARS
) -> list[tuple[str, bool]]:
    """Cut `content` into (text, highlighted) pieces from character offsets.

    Offsets outside the text are dropped, overlaps merged; a long text is windowed around
    the first highlight. The pieces are plain text: the template escapes them.
    """
    spans = []
    for item in highlights or []:
        try:
            start, end = int(item[0]), int(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        start, end = max(0, start), min(len(content), end)
        if start < end:
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    lo, hi = snippet_window(content, merged, width)
    out: list[tuple[str, bool]] = []
    if lo > 0:
        out.append(("… ", False))
    pos = lo
    for start, end in merged:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        if start > pos:
            out.append((content[pos:start], False))
        out.append((content[start:end], True))
        pos = end
    if pos < hi:
        out.append((content[pos:hi], False))
    if hi < len(content):
        out.append((" …", False))
    return out


async def filter_options(db: Any) -> dict[str, Any]:
    """Values for the filter selects, read from the store (static SQL, no user input)."""

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        def values(sql: str) -> list[Any]:
            return [row[0] for row in conn.execute(sql)]

        years = conn.execute("SELECT min(year), max(year) FROM documents").fetchone()
        return {
            "dimensions": [
                {"id": r[0], "name": r[1]}
                for r in conn.execute("SELECT id, name FROM dimensions ORDER BY position, id")
            ],
            "organizations": values(
                "SELECT DISTINCT organization FROM documents WHERE organization IS NOT NULL "
                "AND organization != '' ORDER BY organization COLLATE NOCASE"
            ),
            "districts": values(
                "SELECT DISTINCT j.value FROM documents d, json_each(d.districts) j "
                "WHERE json_valid(d.districts) AND j.type = 'text' ORDER BY j.value COLLATE NOCASE"
            ),
            "doc_types": values(
                "SELECT DISTINCT doc_type FROM documents WHERE doc_type IS NOT NULL "
                "AND doc_type != '' ORDER BY doc_type COLLATE NOCASE"
            ),
            "year_min": years[0],
            "year_max": years[1],
        }

    return await db.execute_fn(read)


def _run_search(db_path: str, params: SearchParams) -> tuple[list[Any], float, str, str | None]:
    """The blocking part: open the store read-only and search. Runs in a worker thread.

    Returns (hits, milliseconds, mode used, notice). While `rpp add` is between adding
    passages and refreshing the vectors index, the index is stale: a hybrid search then
    answers with BM25 alone and says so, rather than failing; a semantic search fails (503).
    """
    from ..config import Settings  # noqa: PLC0415
    from ..errors import IndexStateError  # noqa: PLC0415
    from ..search import Filters, search  # noqa: PLC0415
    from ..store import Store  # noqa: PLC0415

    model = store_model_name(db_path)
    settings = Settings(index_dir=Path(db_path).parent, embedding_model=model)
    filters = Filters(**params.filters_dict())
    started = time.perf_counter()

    def run(store: Any, mode: str) -> list[Any]:
        return search(
            store,
            settings,
            query=params.query,
            mode=mode,
            limit=params.limit,
            by=params.by,
            filters=filters,
            fusion=params.fusion,
            weight=params.weight,
        )

    notice = None
    mode = params.mode
    with Store.open(db_path, create=False, readonly=True) as store:
        if mode == "bm25":
            hits = run(store, mode)
        else:
            EMBEDDER.encoder(model)  # load once, under the lock, before the engine asks for it
            try:
                # One encoder user at a time (tokenizers are not re-entrant).
                with EMBEDDER.model_lock:
                    hits = run(store, mode)
            except IndexStateError as exc:
                if mode != "hybrid":
                    raise
                notice = f"semantic ranking unavailable ({exc.message}); showing keyword (BM25) results"
                mode = "bm25"
                hits = run(store, mode)
    return hits, (time.perf_counter() - started) * 1000, mode, notice


async def _row_pks(db: Any, table: str, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    sql = f"SELECT id, pk FROM {'passages' if table == 'passages' else 'documents'} WHERE id IN ({marks})"
    return {row[0]: row[1] for row in (await db.execute(sql, list(ids))).rows}


async def _results(datasette: Any, db: Any, hits: list[Any]) -> list[dict[str, Any]]:
    """Hits as dicts with links to their rows: `url` (the hit), `passage_url`, `document_url`."""
    passage_ids = {h.metadata.get("passage_id") or h.id for h in hits}
    passage_pks = await _row_pks(db, "passages", sorted(i for i in passage_ids if isinstance(i, str)))
    document_pks = await _row_pks(db, "documents", sorted({h.document_id for h in hits}))

    def row_url(table: str, pk: int | None) -> str | None:
        return datasette.urls.row(db.name, table, pk) if pk is not None else None

    results = []
    for rank, hit in enumerate(hits, 1):
        row = asdict(hit)
        row["highlights"] = [list(span) for span in hit.highlights]
        row["rank"] = rank
        passage_id = hit.metadata.get("passage_id") or hit.id
        row["passage_url"] = row_url("passages", passage_pks.get(passage_id))
        row["document_url"] = row_url("documents", document_pks.get(hit.document_id))
        row["url"] = row["passage_url"] if hit.id in passage_pks else row["document_url"]
        results.append(row)
    return results


async def _page(
    datasette: Any, request: Any, context: dict[str, Any], status: int = 200
) -> Response:
    body = await datasette.render_template("rpp_search.html", context, request=request)
    return Response.html(body, status=status)


async def search_view(datasette: Any, request: Any) -> Response:
    """`/-/rpp-search` (HTML) and `/-/rpp-search.json`."""
    as_json = request.url_vars.get("format") == ".json"
    context: dict[str, Any] = {
        "search_url": datasette.urls.path(SEARCH_PATH),
        "json_url": datasette.urls.path(SEARCH_PATH + ".json")
        + (f"?{request.query_string}" if request.query_string else ""),
        "params": SearchParams(),
        "args": request.args,
        "options": {"dimensions": [], "organizations": [], "districts": [], "doc_types": []},
        "modes": MODES,
        "by_choices": BY,
        "fusions": FUSIONS,
        "max_limit": MAX_LIMIT,
        "max_query": MAX_QUERY_CHARS,
        "results": None,
        "error": None,
        "elapsed_ms": None,
        "mode_used": None,
        "notice": None,
        "database": None,
        "writable": writable(datasette),
        "review_url": datasette.urls.path(REVIEW_PATH),
        "current_url": request.full_path,
        "can_review": await can_review(datasette, request.actor),
        "login_url": datasette.urls.path("/-/login"),
    }

    async def fail(message: str, status: int) -> Response:
        if as_json:
            return Response.json({"ok": False, "error": message, "status": status}, status=status)
        context["error"] = message
        return await _page(datasette, request, context, status)

    try:
        db_name = _one(request.args, "db") or None
        db = pick_database(datasette, db_name)
        context["database"] = db.name
        options = await filter_options(db)
        context["options"] = options
        params = parse_search_params(request.args, dimensions={d["id"] for d in options["dimensions"]})
        context["params"] = params
    except QueryError as exc:
        return await fail(exc.message, 400)
    except Unavailable as exc:
        return await fail(exc.message, exc.status)

    if not params.query:
        if as_json:
            return await fail("q: give a query", 400)
        return await _page(datasette, request, context)
    try:
        hits, elapsed, mode_used, notice = await asyncio.to_thread(_run_search, str(db.path), params)
    except QueryError as exc:
        return await fail(exc.message, 400)
    except RppError as exc:
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return await fail(message, 503)
    results = await _results(datasette, db, hits)
    if as_json:
        return Response.json(
            {
                "ok": True,
                "database": db.name,
                "query": params.query,
                "mode": params.mode,
                "mode_used": mode_used,
                "notice": notice,
                "by": params.by,
                "limit": params.limit,
                "fusion": params.fusion,
                "weight": params.weight,
                "filters": params.filters_dict(),
                "elapsed_ms": round(elapsed, 1),
                "count": len(results),
                "results": results,
            }
        )
    for row in results:
        row["segments"] = snippet_segments(row["content"], row["highlights"])
    context["results"] = results
    context["elapsed_ms"] = elapsed
    context["mode_used"] = mode_used
    context["notice"] = notice
    return await _page(datasette, request, context)

