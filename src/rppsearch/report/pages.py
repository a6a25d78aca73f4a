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
from ..store.district_sql import document_districts

__all__ = ["map_page", "cell_page", "profile_page", "parse_map_params"]

MAP_PATH = "/-/rpp-map"
PROFILE_PATH = "/-/rpp-profile"
MAX_TEXT = 200
DEFAULT_PAGE_COLUMNS = 30
CELL_PAGE_SIZE = 50
#: Tables whose presence marks a served database as an rpp store with tags.
_NEEDED = {"documents", "passages", "passage_tags", "dimensions"}


def _one(args: Any, name: str) -> str:
    values = [v.strip() for v in args.getlist(name) if v.strip()]
    if len(values) > 1:
        raise QueryError(f"{name}: give one value, not {len(values)}")
    value = values[0] if values else ""
    if len(value) > MAX_TEXT:
        raise QueryError(f"{name}: {len(value)} characters is too long (at most {MAX_TEXT})")
    return value


def _int(args: Any, name: str, low: int, high: int) -> int | None:
    raw = _one(args, name)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name}: {raw[:40]!r} is not a whole number") from None
    if not low <= value <= high:
        raise QueryError(f"{name}: {value} is out of range ({low}–{high})")
    return value


def parse_map_params(args: Any) -> dict[str, Any]:
    """Validated map parameters: cols, filters, min_documents, max_cols, db."""
    cols = _one(args, "cols") or "district"
    if cols not in COLUMNS:
        raise QueryError(f"cols: unknown value {cols[:40]!r} (choose {', '.join(COLUMNS)})")
    dims = tuple(dict.fromkeys(v.strip() for v in args.getlist("dimension") if v.strip()))
    filters = MapFilters(
        dimensions=dims,
        organization=_one(args, "organization") or None,
        district=_one(args, "district") or None,
        year_from=_int(args, "year_from", 0, 9999),
        year_to=_int(args, "year_to", 0, 9999),
        doc_type=_one(args, "doc_type") or None,
    )
    return {
        "cols": cols,
        "filters": filters,
        "min_documents": _int(args, "min_documents", 1, 1000) or MIN_DOCUMENTS,
        "max_cols": _int(args, "max_cols", 1, 1000) or DEFAULT_PAGE_COLUMNS,
        "db": _one(args, "db") or None,
    }


async def _database(datasette: Any, name: str | None) -> Any:
    names = []
    for db_name, db in list(datasette.databases.items()):
        if db_name == "_internal" or db.is_memory or not db.path:
            continue
        if _NEEDED <= set(await db.table_names()):
            names.append(db_name)
    if not names:
        raise RppError("no rppsearch store is being served", hint="run `rpp build`, then `rpp serve`")
    if name is None:
        return datasette.databases[names[0]]
    if name not in names:
        raise QueryError(f"db: no rppsearch store named {name[:60]!r} is served (served: {', '.join(names)})")
    return datasette.databases[name]


def _in_thread(db_path: str, work: Any) -> Any:
    from ..store import Store  # noqa: PLC0415

    with Store.open(Path(db_path), create=False, readonly=True) as store:
        return work(store)


def _options(store: Any) -> dict[str, Any]:
    conn = store.conn
    return {
        "dimensions": [{"id": r[0], "name": r[1]} for r in conn.execute("SELECT id, name FROM dimensions ORDER BY position, id")],
        "organizations": [r[0] for r in conn.execute(
            "SELECT DISTINCT organization FROM documents WHERE trim(coalesce(organization, '')) != '' ORDER BY 1 COLLATE NOCASE")],
        "districts": [r[0] for r in conn.execute(
            f"SELECT DISTINCT j.value FROM documents d, json_each({document_districts('d')}) j "
            "WHERE j.type = 'text' ORDER BY 1 COLLATE NOCASE")],
        "doc_types": [r[0] for r in conn.execute(
            "SELECT DISTINCT doc_type FROM documents WHERE trim(coalesce(doc_type, '')) != '' ORDER BY 1 COLLATE NOCASE")],
    }


async def _render(datasette: Any, request: Any, template: str, context: dict[str, Any], status: int = 200) -> Any:
    from datasette.utils.asgi import Response  # noqa: PLC0415

    body = await datasette.render_template(template, context, request=request)
    return Response.html(body, status=status)


async def _error(datasette: Any, request: Any, template: str, context: dict[str, Any], exc: RppError) -> Any:
    """The page with the error named: 400 for bad parameters, 404 when no store is served."""
    context["error"] = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return await _render(datasette, request, template, context, 400 if isinstance(exc, QueryError) else 404)


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
        db = await _database(datasette, params["db"])

        def work(store: Any) -> tuple[Any, dict[str, Any]]:
            emap = evidence_map(store, by=params["cols"], filters=params["filters"],
                                min_documents=params["min_documents"], max_columns=params["max_cols"])
            return emap, _options(store)

        emap, options = await asyncio.to_thread(_in_thread, str(db.path), work)
    except RppError as exc:
        return await _error(datasette, request, "rpp_map.html", context, exc)
    context["options"] = options
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
    from .matrix import check_dimensions  # noqa: PLC0415

    context: dict[str, Any] = {"error": None, "passages": [], "map_url": datasette.urls.path(MAP_PATH)}
    try:
        params = parse_map_params(request.args)
        dimension = _one(request.args, "dimension")
        if not dimension:
            raise QueryError("dimension: give the cell's dimension id")
        by = _one(request.args, "by") or "district"
        if by not in COLUMNS:
            raise QueryError(f"by: unknown value {by[:40]!r} (choose {', '.join(COLUMNS)})")
        value = _one(request.args, "value") or NONE_LABEL
        page = _int(request.args, "page", 1, 100_000) or 1
        filters = params["filters"]
        db = await _database(datasette, params["db"])

        def work(store: Any) -> tuple[Any, ...]:
            check_dimensions(store, [dimension])
            names = {r[0]: r[1] for r in store.conn.execute("SELECT id, name FROM dimensions")}
            total = count_cell_passages(store, dimension=dimension, by=by, value=value, filters=filters)
            rows = cell_passages(store, dimension=dimension, by=by, value=value, filters=filters,
                                 limit=CELL_PAGE_SIZE, offset=(page - 1) * CELL_PAGE_SIZE)
            return names.get(dimension, dimension), total, rows

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
            "search_action": datasette.urls.path("/-/rpp-search"),
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
    from ..taxonomy import load_default_taxonomy  # noqa: PLC0415
    from .html import profile_view  # noqa: PLC0415
    from .profile import build_profile  # noqa: PLC0415

    context: dict[str, Any] = {"error": None, "profile": None, "args": request.args,
                               "map_url": datasette.urls.path(MAP_PATH), "profile_url": datasette.urls.path(PROFILE_PATH),
                               "options": {"districts": [], "organizations": []}}
    try:
        district = _one(request.args, "district") or None
        organization = _one(request.args, "organization") or None
        db = await _database(datasette, _one(request.args, "db") or None)

        def work(store: Any) -> tuple[Any, dict[str, Any]]:
            options = _options(store)
            if district is None and organization is None:
                return None, options
            return build_profile(store, district=district, organization=organization, taxonomy=load_default_taxonomy()), options

        profile, options = await asyncio.to_thread(_in_thread, str(db.path), work)
    except RppError as exc:
        return await _error(datasette, request, "rpp_profile.html", context, exc)
    context["options"] = options
    if profile is not None:
        context["profile"] = profile_view(profile)
        context["passage_href"] = lambda pid: datasette.urls.table(db.name, "passages") + "?" + urlencode({"id": pid})
    return await _render(datasette, request, "rpp_profile.html", context)
