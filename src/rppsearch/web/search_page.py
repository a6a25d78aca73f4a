"""The `/-/rpp-search` page for researchers, and its exports (`.json`, `.csv`).

Calls `rppsearch.search.search_page` (hybrid, BM25 or semantic; filters before ranking;
at most `per_document` passages of one document, the rest folded) in a worker thread on
a read-only connection. The page shows the total and pages through it, facet counts that
refine the query, how many documents a filter left out for lack of the field (with a
toggle to include them), each hit's relevance and which engine found it (words, meaning,
both, with each engine's rank), passages grouped under their document, and dimension
badges with the score and who assigned them (the model, or the reviewer who confirmed).
The CSV and `?_all=1` JSON exports hold the whole result set with absolute URLs.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasette.utils.asgi import Response

from ..errors import QueryError, RppError
from .metadata import REVIEW_PATH, SEARCH_PATH
from ..search_options import BY, FUSIONS, MODES
from .search_params import MAX_LIMIT, MAX_QUERY_CHARS, SearchParams, parse_search_params, snippet_segments
from .sqlfuncs import EMBEDDER
from .stores import Unavailable, can_review, pick_database, store_model_name, store_version, writable
from ..store.district_sql import document_districts

EXPORT_MAX = 5000
ENGINE_WORDS = {"bm25": "words", "semantic": "meaning"}
FACET_PARAMS = {"dimension": "dimension", "organization": "organization", "district": "district", "doc_type": "doc_type"}
FACET_TITLES = {"dimension": "Dimension", "organization": "Organization", "district": "District", "year": "Year",
                "doc_type": "Document type"}
CSV_COLUMNS = ("rank", "id", "document_id", "title", "relevance", "matched_by", "bm25_rank", "semantic_rank",
               "dimensions", "organization", "districts", "year", "doc_type", "heading", "passage_url",
               "document_url", "source_url", "content")
FIELD_WORDS = {"year": "a year", "organization": "an organization", "district": "a district", "doc_type": "a document type"}


_options_cache: dict[str, tuple[tuple[int, ...], dict[str, Any]]] = {}


async def filter_options(db: Any) -> dict[str, Any]:
    """Values for the filter selects, read from the store (static SQL, no user input).

    Every search, map and profile request asks; the five queries scan the documents, so the
    answer is kept until the store is written (`store_version`). Callers only read it."""
    key = str(db.path)
    version = store_version(key)
    cached = _options_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    options = await db.execute_fn(_read_filter_options)
    _options_cache[key] = (version, options)
    return options


def _read_filter_options(conn: sqlite3.Connection) -> dict[str, Any]:
    def values(sql: str) -> list[Any]:
        return [row[0] for row in conn.execute(sql)]

    years = conn.execute("SELECT min(year), max(year) FROM documents").fetchone()
    return {
        "dimensions": [
            {"id": r[0], "name": r[1]} for r in conn.execute("SELECT id, name FROM dimensions ORDER BY position, id")
        ],
        "organizations": values(
            "SELECT DISTINCT organization FROM documents WHERE organization IS NOT NULL "
            "AND organization != '' ORDER BY organization COLLATE NOCASE"
        ),
        "districts": values(
            f"SELECT DISTINCT j.value FROM documents d, json_each({document_districts('d')}) j "
            "WHERE json_valid(d.districts) AND j.type = 'text' ORDER BY j.value COLLATE NOCASE"
        ),
        "doc_types": values(
            "SELECT DISTINCT doc_type FROM documents WHERE doc_type IS NOT NULL "
            "AND doc_type != '' ORDER BY doc_type COLLATE NOCASE"
        ),
        "year_min": years[0],
        "year_max": years[1],
    }


@dataclass
class Outcome:
    page: Any  # models.SearchPage
    elapsed_ms: float
    mode_used: str
    notice: str | None


def run_search(db_path: str, params: SearchParams, *, offset: int, limit: int) -> Outcome:
    """The blocking part: open the store read-only and search. Runs in a worker thread.

    While `rpp add` is between adding passages and refreshing the vectors index, the index
    is stale: a hybrid search then answers with BM25 alone and says so; a semantic one fails.
    """
    from ..config import Settings  # noqa: PLC0415
    from ..errors import IndexStateError  # noqa: PLC0415
    from ..search import search_page  # noqa: PLC0415
    from ..store import Store  # noqa: PLC0415

    model = store_model_name(db_path)
    settings = Settings(index_dir=Path(db_path).parent, embedding_model=model)
    filters = params.filters
    started = time.perf_counter()

    def run(store: Any, mode: str) -> Any:
        return search_page(
            store, settings, params.query or None, mode=mode, filters=filters, limit=limit, offset=offset,
            per_document=params.per_document, by=params.by, fusion=params.fusion, weight=params.weight,
            expand=params.expand and mode == "hybrid",
        )

    notice = None
    mode = params.mode
    with Store.open(db_path, create=False, readonly=True) as store:
        if mode == "bm25" or not params.query:
            page = run(store, mode)
        else:
            EMBEDDER.encoder(model, index_dir=settings.index_dir)  # load once, before the engine asks
            try:
                with EMBEDDER.model_lock:  # one encoder user at a time (tokenizers are not re-entrant)
                    page = run(store, mode)
            except IndexStateError as exc:
                if mode != "hybrid":
                    raise
                notice = f"semantic ranking unavailable ({exc.message}); showing keyword (BM25) results"
                mode = "bm25"
                page = run(store, mode)
    return Outcome(page, (time.perf_counter() - started) * 1000, mode, notice)


def url_with(base: str, args: Any, drop: tuple[str, ...] = (), **changes: Any) -> str:
    """`base` with the request's parameters, minus `drop`, with `changes` (None removes)."""
    pairs = [(k, v) for k in args for v in args.getlist(k) if k not in drop and k not in changes and v != ""]
    for key, value in changes.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return f"{base}?{urllib.parse.urlencode(pairs)}" if pairs else base


def matched_words(matched_by: dict[str, Any]) -> str:
    engines = [ENGINE_WORDS.get(name, name) for name in ("bm25", "semantic") if name in matched_by]
    return "both" if len(engines) == 2 else (engines[0] if engines else "")


async def badges(db: Any, hits: list[Any], *, by: str) -> dict[str, list[dict[str, Any]]]:
    """Per hit id: its assigned dimensions with score and source (model, or the reviewer)."""
    ids = sorted({h.id for h in hits})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    if by == "passage":
        tags_sql = (f"SELECT p.id, t.dimension_id, t.score, t.source FROM passage_tags t JOIN passages p "
                    f"ON p.pk = t.passage_pk WHERE t.assigned = 1 AND p.id IN ({marks})")  # noqa: S608 - placeholders
    else:
        tags_sql = (f"SELECT document_id, dimension_id, score, source FROM document_tags "
                    f"WHERE assigned = 1 AND document_id IN ({marks})")  # noqa: S608 - placeholders
    labels_sql = (f"SELECT target_id, dimension_id, reviewer FROM labels WHERE target_type = ? "
                  f"AND decision = 'accept' AND target_id IN ({marks}) ORDER BY id")  # noqa: S608 - placeholders
    tags = (await db.execute(tags_sql, ids)).rows
    reviewers = {(r[0], r[1]): r[2] for r in (await db.execute(labels_sql, [by, *ids])).rows}
    out: dict[str, list[dict[str, Any]]] = {}
    for target, dim, score, source in tags:
        out.setdefault(target, []).append({
            "dimension": dim, "score": round(float(score), 2), "source": source,
            "reviewer": reviewers.get((target, dim)) if source == "human" else None,
        })
    for values in out.values():
        values.sort(key=lambda b: (-b["score"], b["dimension"]))
    return out


async def _pks(db: Any, table: str, ids: set[str]) -> dict[str, int]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = (await db.execute(f"SELECT id, pk FROM {table} WHERE id IN ({marks})", sorted(ids))).rows  # noqa: S608
    return {row[0]: row[1] for row in rows}


async def result_rows(
    datasette: Any, request: Any, db: Any, outcome: Outcome, params: SearchParams, *, absolute_urls: bool
) -> list[dict[str, Any]]:
    """Hits as dicts (the `rpp search --json` keys plus rank, links, badges); exports get
    absolute URLs, the page links within the site."""
    from ..results import hit_to_json  # noqa: PLC0415

    hits = outcome.page.hits
    passage_pks = await _pks(db, "passages", {h.metadata.get("passage_id") or h.id for h in hits})
    document_pks = await _pks(db, "documents", {h.document_id for h in hits})
    marks = await badges(db, hits, by=params.by)

    def link(path: str) -> str:
        return datasette.absolute_url(request, path) if absolute_urls else path

    def absolute(table: str, pk: int | None) -> str | None:
        return link(datasette.urls.row(db.name, table, pk)) if pk is not None else None

    rows = []
    for rank, hit in enumerate(hits, outcome.page.offset + 1):
        row = hit_to_json(hit)
        row["rank"] = rank
        row["highlights"] = [list(span) for span in hit.highlights]
        row["passage_url"] = absolute("passages", passage_pks.get(hit.metadata.get("passage_id") or hit.id))
        row["document_url"] = absolute("documents", document_pks.get(hit.document_id))
        row["url"] = row["passage_url"] if params.by == "passage" else row["document_url"]
        row["matched"] = matched_words(hit.matched_by)
        row["badges"] = marks.get(hit.id, [])
        row["more_url"] = (
            link(url_with(datasette.urls.path(SEARCH_PATH), request.args, drop=("offset",),
                          document=hit.document_id, per_document=0))
            if hit.more_from_document else None
        )
        rows.append(row)
    return rows


def group_by_document(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Passages under their document, documents in the order of their best passage."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row["document_id"], {
            "document_id": row["document_id"], "title": row["title"], "document_url": row["document_url"],
            "metadata": row["metadata"], "hits": [], "more": 0, "more_url": None,
        })
        group["hits"].append(row)
        if row["more_from_document"]:
            group["more"] += row["more_from_document"]
            group["more_url"] = row["more_url"]
    return list(groups.values())


def facet_links(datasette: Any, request: Any, page: Any, params: SearchParams) -> list[dict[str, Any]]:
    """Each facet's values with counts and a link that refines (or, when chosen, widens) the query."""
    base = datasette.urls.path(SEARCH_PATH)
    out = []
    for name, values in page.facets.items():
        items = []
        for value, count in values[:12]:
            if name == "year":
                chosen = params.filters.year_from == params.filters.year_to == int(value)
                pick = None if chosen else value
                href = url_with(base, request.args, drop=("offset",), year_from=pick, year_to=pick)
            elif name == "dimension":
                chosen = value in params.filters.dimensions
                others = [d for d in params.filters.dimensions if d != value]
                href = url_with(base, request.args, drop=("offset", "dimension"),
                                dimension=others if chosen else [*params.filters.dimensions, value])
            else:
                key = FACET_PARAMS[name]
                chosen = getattr(params.filters, key) == value
                href = url_with(base, request.args, drop=("offset", key), **{key: None if chosen else value})
            items.append({"value": value, "count": count, "chosen": chosen, "href": href})
        if items:
            out.append({"name": name, "title": FACET_TITLES.get(name, name), "entries": items, "more": max(0, len(values) - 12)})
    return out


def unknown_notes(datasette: Any, request: Any, page: Any) -> list[dict[str, Any]]:
    base = datasette.urls.path(SEARCH_PATH)
    notes = []
    for name, count in page.unknown.items():
        if count:
            notes.append({"count": count, "what": FIELD_WORDS.get(name, name)})
    toggle = url_with(base, request.args, drop=("offset", "include_unknown"),
                      include_unknown=None if page.include_unknown else "1")
    return [{**n, "toggle": toggle, "kept": page.include_unknown} for n in notes]


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        meta = row["metadata"]
        writer.writerow({
            **row,
            "bm25_rank": (row["matched_by"].get("bm25") or {}).get("rank"),
            "semantic_rank": (row["matched_by"].get("semantic") or {}).get("rank"),
            "matched_by": row["matched"],
            "dimensions": "; ".join(row["dimensions"]),
            "organization": meta.get("organization"),
            "districts": "; ".join(meta.get("districts") or []),
            "year": meta.get("year"),
            "doc_type": meta.get("doc_type"),
            "heading": meta.get("heading"),
            "source_url": meta.get("url"),
        })
    return buffer.getvalue()


async def search_view(datasette: Any, request: Any) -> Response:
    """`/-/rpp-search` (HTML), `.json` (a page; `?_all=1` the whole set) and `.csv` (the whole set)."""
    fmt = (request.url_vars.get("format") or "").lstrip(".")
    search_url = datasette.urls.path(SEARCH_PATH)
    query_string = f"?{request.query_string}" if request.query_string else ""
    context: dict[str, Any] = {
        "search_url": search_url,
        "json_url": datasette.urls.path(SEARCH_PATH + ".json") + query_string,
        "json_all_url": url_with(datasette.urls.path(SEARCH_PATH + ".json"), request.args, drop=("offset", "_all"), _all=1),
        "csv_url": url_with(datasette.urls.path(SEARCH_PATH + ".csv"), request.args, drop=("offset",)),
        "params": SearchParams(), "args": request.args,
        "options": {"dimensions": [], "organizations": [], "districts": [], "doc_types": []},
        "modes": MODES, "by_choices": BY, "fusions": FUSIONS, "max_limit": MAX_LIMIT, "max_query": MAX_QUERY_CHARS,
        "page": None, "groups": None, "facets": [], "unknown": [], "error": None, "elapsed_ms": None,
        "mode_used": None, "notice": None, "database": None, "writable": writable(datasette),
        "review_url": datasette.urls.path(REVIEW_PATH), "current_url": request.full_path,
        "can_review": await can_review(datasette, request.actor), "login_url": datasette.urls.path("/-/login"),
        "prev_url": None, "next_url": None,
    }

    async def fail(message: str, status: int) -> Response:
        if fmt:
            return Response.json({"ok": False, "error": message, "status": status}, status=status)
        context["error"] = message
        body = await datasette.render_template("rpp_search.html", context, request=request)
        return Response.html(body, status=status)

    try:
        db = pick_database(datasette, request.args.get("db") or None)
        context["database"] = db.name
        options = await filter_options(db)
        context["options"] = options
        params = parse_search_params(request.args, dimensions={d["id"] for d in options["dimensions"]})
        context["params"] = params
    except QueryError as exc:
        return await fail(exc.message, 400)
    except Unavailable as exc:
        return await fail(exc.message, exc.status)

    if not params.active:
        if fmt:
            return await fail("q: give a query (or a filter to browse)", 400)
        return Response.html(await datasette.render_template("rpp_search.html", context, request=request))
    whole = fmt == "csv" or (fmt == "json" and request.args.get("_all") == "1")
    offset, limit = (0, EXPORT_MAX) if whole else (params.offset, params.limit)
    try:
        outcome = await asyncio.to_thread(run_search, str(db.path), params, offset=offset, limit=limit)
    except QueryError as exc:
        return await fail(exc.message, 400)
    except RppError as exc:
        return await fail(exc.message + (f" ({exc.hint})" if exc.hint else ""), 503)
    page = outcome.page
    rows = await result_rows(datasette, request, db, outcome, params, absolute_urls=bool(fmt))
    if fmt == "csv":
        name = "rpp-search.csv"
        return Response(to_csv(rows), content_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}"'})
    if fmt == "json":
        from ..results import page_to_json  # noqa: PLC0415

        summary = page_to_json(page)
        return Response.json({
            "ok": True, "database": db.name, "mode_used": outcome.mode_used, "notice": outcome.notice,
            "by": params.by, "per_document": params.per_document, "expand": params.expand,
            "filters": params.filters_dict(),
            "elapsed_ms": round(outcome.elapsed_ms, 1), **summary, "count": len(rows), "results": rows,
            "exported_all": whole,
        })
    for row in rows:
        row["segments"] = snippet_segments(row["content"], row["highlights"])
    context.update(
        page=page, groups=group_by_document(rows), facets=facet_links(datasette, request, page, params),
        unknown=unknown_notes(datasette, request, page), elapsed_ms=outcome.elapsed_ms,
        mode_used=outcome.mode_used, notice=outcome.notice, results=rows,
    )
    if page.offset > 0:
        context["prev_url"] = url_with(search_url, request.args, drop=("offset",), offset=max(0, page.offset - page.limit) or None)
    if page.offset + len(rows) < page.total:
        context["next_url"] = url_with(search_url, request.args, drop=("offset",), offset=page.offset + page.limit)
    return Response.html(await datasette.render_template("rpp_search.html", context, request=request))
