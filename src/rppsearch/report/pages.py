"""Datasette pages: `/-/rpp-map` (the matrix and its filters), `/-/rpp-map/cell` (one cell's
passages) and `/-/rpp-profile` (a district's or organization's profile).

Registered by the plugin's `register_routes`. Each request opens the store read-only and
computes from the tag tables, so the pages follow every build and review. Bad parameters give
a 400 page naming the parameter; nothing the store holds is trusted as HTML (templates escape).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..errors import QueryError, RppError
from .matrix import COLUMNS, MIN_DOCUMENTS, NONE_LABEL, MapFilters, cell_url, search_url
from ..web.metadata import SEARCH_PATH
from ..web.search_page import filter_options
from ..web.search_params import number_param, text_param
from ..web.stores import Unavailable, pick_database

__all__ = ["map_page", "cell_page", "profile_page", "parse_map_params"]

MAP_PATH = "/-/rpp-map"
PROFILE_PATH = "/-/rpp-profile"
DEFAULT_PAGE_COLUMNS = 30
CELL_PAGE_SIZE = 50


def parse_map_params(args: Any) -> dict[str, Any]:
    """Validated map parameters: cols, filters, min_documents, max_cols, db."""
    cols = text_param(args, "cols") or "district"
    if cols not in COLUMNS:
        raise QueryError(f"cols: unknown value {cols[:40]!r} (choose {', '.join(COLUMNS)})")
    dims = tuple(dict.fromkeys(v.strip() for v in args.getlist("dimension") if v.strip()))
    filters = MapFilters(
        dimensions=dims,
        organization=text_param(args, "organization") or None,
        district=text_param(args, "district") or None,
        year_from=number_param(args, "year_from", int, 0, 9999),
        year_to=number_param(args, "year_to", int, 0, 9999),
        doc_type=text_param(args, "doc_type") or None,
    )
    return {
        "cols": cols,
        "filters": filters,
        "min_documents": number_param(args, "min_documents", int, 1, 1000) or MIN_DOCUMENTS,
        "max_cols": number_param(args, "max_cols", int, 1, 1000) or DEFAULT_PAGE_COLUMNS,
        "db": text_param(args, "db") or None,
    }


_codebook_cache: dict[tuple[str, int], Any] = {}


def _shipped_codebook() -> Any:
    """The shipped codebook, parsed once (48 ms of YAML a profile request otherwise); re-read
    only if the file changes."""
    from ..config import default_taxonomy_path  # noqa: PLC0415
    from ..taxonomy import load_taxonomy  # noqa: PLC0415

    path = default_taxonomy_path()
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _codebook_cache:
        _codebook_cache.clear()
        _codebook_cache[key] = load_taxonomy(path)
    return _codebook_cache[key]


def _in_thread(db_path: str, work: Any) -> Any:
    from ..store import Store  # noqa: PLC0415

    with Store.open(Path(db_path), create=False, readonly=True) as store:
        return work(store)


async def _render(datasette: Any, request: Any, template: str, context: dict[str, Any], status: int = 200) -> Any:
    from datasette.utils.asgi import Response  # noqa: PLC0415

    body = await datasette.render_template(template, context, request=request)
    return Response.html(body, status=status)


async def _error(datasette: Any, request: Any, template: str, context: dict[str, Any], exc: RppError) -> Any:
    """The page with the error named: 400 for bad parameters, 404 when no store is served."""
    context["error"] = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return await _render(datasette, request, template, context, 400 if isinstance(exc, QueryError) else 404)


def _database(datasette: Any, name: str | None) -> Any:
    """The served store named `name` (the first one when None), as the search page picks it."""
    try:
        return pick_database(datasette, name)
    except Unavailable as exc:
        raise RppError(exc.message, hint="run `rpp build`, then `rpp serve`") from None


def _with_db(url: str, db: str | None) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({"db": db}) if db else url


async def map_page(datasette: Any, request: Any) -> Any:
    """`/-/rpp-map`: the matrix with its filters; cells open their passages."""
    from .html import map_view  # noqa: PLC0415
    from .matrix import evidence_map  # noqa: PLC0415

    context: dict[str, Any] = {"args": request.args, "columns_kinds": COLUMNS, "error": None, "map": None,
                               "options": {"dimensions": [], "organizations": [], "districts": [], "doc_types": []},
                               "map_url": datasette.urls.path(MAP_PATH), "profile_url": datasette.urls.path(PROFILE_PATH)}
    try:
        params = parse_map_params(request.args)
        db = _database(datasette, params["db"])
        context["options"] = await filter_options(db)  # before the work: an error page keeps its choices

        def work(store: Any) -> Any:
            return evidence_map(store, by=params["cols"], filters=params["filters"],
                                min_documents=params["min_documents"], max_columns=params["max_cols"])

        emap = await asyncio.to_thread(_in_thread, str(db.path), work)
    except RppError as exc:
        return await _error(datasette, request, "rpp_map.html", context, exc)
    context["map"] = map_view(
        emap, lambda dim, key: datasette.urls.path(_with_db(cell_url(dim, emap.by, key, emap.filters), params["db"]))
    )
    if emap.by in ("district", "organization"):
        context["profile_links"] = {
            c.key: datasette.urls.path(PROFILE_PATH + "?" + urlencode({emap.by: c.key})) for c in emap.columns if c.key
        }
    return await _render(datasette, request, "rpp_map.html", context)


async def cell_page(datasette: Any, request: Any) -> Any:
    """`/-/rpp-map/cell`: one cell's evidence passages, people's accepts first."""
    from .evidence import cell_passages, count_cell_passages  # noqa: PLC0415
    from .matrix import check_dimensions, column_documents  # noqa: PLC0415

    context: dict[str, Any] = {"error": None, "passages": [], "map_url": datasette.urls.path(MAP_PATH)}
    try:
        params = parse_map_params(request.args)
        dimension = text_param(request.args, "dimension")
        if not dimension:
            raise QueryError("dimension: give the cell's dimension id")
        by = text_param(request.args, "by") or "district"
        if by not in COLUMNS:
            raise QueryError(f"by: unknown value {by[:40]!r} (choose {', '.join(COLUMNS)})")
        value = text_param(request.args, "value") or NONE_LABEL
        page = number_param(request.args, "page", int, 1, 100_000) or 1
        filters = params["filters"]
        db = _database(datasette, params["db"])

        def work(store: Any) -> tuple[Any, ...]:
            (row,) = check_dimensions(store, [dimension])
            cell = {"dimension": dimension, "by": by, "value": value, "filters": filters,
                    "documents": column_documents(store, by=by, value=value, filters=filters)}
            total = count_cell_passages(store, **cell)
            rows = cell_passages(store, **cell, limit=CELL_PAGE_SIZE, offset=(page - 1) * CELL_PAGE_SIZE)
            return row.name, total, rows

        name, total, rows = await asyncio.to_thread(_in_thread, str(db.path), work)
    except RppError as exc:
        return await _error(datasette, request, "rpp_map_cell.html", context, exc)
    key = None if value == NONE_LABEL else value
    passages = []
    for p in rows:
        item = p.to_dict()
        item["row_url"] = datasette.urls.row(db.name, "passages", str(p.passage_pk))
        item["document_url"] = datasette.urls.table(db.name, "documents") + "?" + urlencode({"id": p.document_id})
        passages.append(item)
    more = total > page * CELL_PAGE_SIZE
    args = {k: request.args.getlist(k) for k in request.args.keys() if k != "page"}
    context.update(
        {
            "dimension": dimension,
            "dimension_name": name,
            "by": by,
            "value": value,
            "total": total,
            "page": page,
            "passages": passages,
            "next_url": (request.path + "?" + urlencode({**args, "page": page + 1}, doseq=True)) if more else None,
            "search_action": datasette.urls.path(SEARCH_PATH),
            "search_url": datasette.urls.path(search_url(dimension, by, key, filters)),
            "hidden": [(k, v) for k, v in _search_hidden(dimension, by, key, filters).items()],
            "back_url": datasette.urls.path(MAP_PATH + "?" + urlencode({"cols": by, **{k: v for k, v in filters.to_dict().items() if v not in (None, [], "")}}, doseq=True)),
        }
    )
    return await _render(datasette, request, "rpp_map_cell.html", context)


def _search_hidden(dimension: str, by: str, key: str | None, filters: MapFilters) -> dict[str, Any]:
    from urllib.parse import parse_qsl, urlsplit  # noqa: PLC0415

    return {k: v for k, v in parse_qsl(urlsplit(search_url(dimension, by, key, filters)).query) if k != "q"}


async def profile_page(datasette: Any, request: Any) -> Any:
    """`/-/rpp-profile?district=…` (or `organization=…`)."""
    from .html import profile_view  # noqa: PLC0415
    from .profile import build_profile  # noqa: PLC0415

    context: dict[str, Any] = {"error": None, "profile": None, "args": request.args,
                               "map_url": datasette.urls.path(MAP_PATH), "profile_url": datasette.urls.path(PROFILE_PATH),
                               "options": {"districts": [], "organizations": []}}
    try:
        district = text_param(request.args, "district") or None
        organization = text_param(request.args, "organization") or None
        db = _database(datasette, text_param(request.args, "db") or None)
        context["options"] = await filter_options(db)  # before the work: an error page keeps its choices

        def work(store: Any) -> Any:
            if district is None and organization is None:
                return None
            return build_profile(store, district=district, organization=organization, taxonomy=_shipped_codebook())

        profile = await asyncio.to_thread(_in_thread, str(db.path), work)
    except RppError as exc:
        return await _error(datasette, request, "rpp_profile.html", context, exc)
    if profile is not None:
        context["profile"] = profile_view(profile)
        context["passage_href"] = lambda pid: datasette.urls.table(db.name, "passages") + "?" + urlencode({"id": pid})
    return await _render(datasette, request, "rpp_profile.html", context)
