"""Datasette hooks of the rppsearch plugin (the entry point names this module).

A plain `datasette indexes/rpp.db` picks them up; every hook leaves databases that are not
rpp stores alone. Heavy pieces (the encoder, the search engine) load only when a request
needs them, or in a background thread at start when `rpp serve` asks (`RPP_WARM=1`).

- metadata (`metadata.py`), reviewer accounts for datasette-auth-passwords (`accounts.py`)
- SQL functions `rpp_similarity`, `rpp_embed`, rationed (`sqlfuncs.py`)
- pages: `/-/rpp-search` (+ `.json`, `.csv`) and `POST /-/rpp-review` (`search_page.py`, `review.py`)
- an ASGI guard: Host allowlist, cross-site POST refusal, frame headers (`security.py`)
- links that work between documents, passages, tags and labels; ranked table search (`links.py`)
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response

from . import accounts, links, metadata, security
from .review import review_view
from .search_page import run_search, search_view
from .search_params import parse_search_params
from .sqlfuncs import make_embed, make_similarity
from .stores import REVIEW_PERMISSION, REVIEWERS_ENV, WARM_ENV, plugin_setting, rpp_database_names, writable

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SEARCH_PATH = metadata.SEARCH_PATH

_metadata_cache: dict[tuple[tuple[str, ...], str], str] = {}
# get_metadata reads plugin config (writable? where are the accounts?), which asks
# get_metadata again: the flag stops that recursion.
_inside = threading.local()


def reviewers_file(datasette: Any) -> Path | None:
    """Where the reviewer accounts live: `rpp serve`'s choice, plugin config, or beside the store."""
    chosen = os.environ.get(REVIEWERS_ENV) or plugin_setting(datasette, "reviewers_file")
    if chosen:
        return Path(chosen)
    names = rpp_database_names(datasette)
    if not names:
        return None
    return Path(datasette.databases[names[0]].path).parent / accounts.FILE_NAME


def reviewer_accounts(datasette: Any) -> dict[str, str]:
    """Name -> password hash of the reviewers; empty unless writing is on."""
    if not writable(datasette):
        return {}
    path = reviewers_file(datasette)
    return accounts.cached_reviewers(path) if path else {}


@hookimpl
def get_metadata(datasette: Any, key: Any, database: Any, table: Any) -> dict[str, Any]:
    """Titles, descriptions, facets, FTS and canned queries for each served rpp store."""
    names = tuple(rpp_database_names(datasette))
    if not names:
        return {}
    search_url = datasette.urls.path(SEARCH_PATH)
    cache_key = (names, search_url)
    if cache_key not in _metadata_cache:
        _metadata_cache[cache_key] = json.dumps(metadata.build_metadata(databases=list(names), search_url=search_url))
    # Datasette merges later sources into what we return and asks many times a page: hand
    # out a fresh copy, parsed from JSON (3x cheaper than copy.deepcopy).
    result = json.loads(_metadata_cache[cache_key])
    if getattr(_inside, "metadata", False):
        return result  # asked again while reading our own plugin config: no accounts needed
    _inside.metadata = True
    try:
        reviewers = reviewer_accounts(datasette)
    finally:
        _inside.metadata = False
    if reviewers:
        result["plugins"] = {accounts.AUTH_PLUGIN: accounts.auth_plugin_config(reviewers)}
    return result


@hookimpl
def permission_allowed(datasette: Any, actor: Any, action: str, resource: Any) -> bool | None:
    """`rpp-review`: only a logged-in reviewer whose account is in the reviewers file."""
    if action != REVIEW_PERMISSION:
        return None
    if not isinstance(actor, dict) or not actor.get("id"):
        return False
    return str(actor["id"]) in reviewer_accounts(datasette)


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Any) -> None:
    """Our templates first: `rpp_search.html`, `index.html` (a search box on the home page) and
    `row.html` (a row's related rows at the top); the last two extend Datasette's own."""
    from jinja2 import ChoiceLoader, FileSystemLoader  # noqa: PLC0415

    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES_DIR)), env.loader])


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    if not rpp_database_names(datasette):
        return []
    return [{"href": datasette.urls.path(SEARCH_PATH), "label": "Search the corpus (rppsearch)"}]


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    """Register the SQL functions on rpp stores; make their connections read-only by default."""
    db = datasette.databases.get(database)
    if db is None or not db.path or database not in rpp_database_names(datasette):
        return
    conn.create_function("rpp_similarity", 2, make_similarity(db.path), deterministic=True)
    conn.create_function("rpp_embed", 1, make_embed(db.path), deterministic=True)
    if not writable(datasette):
        conn.execute("PRAGMA query_only = 1")


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    return links.render_cell(row, value, column, table, database, datasette)


@hookimpl
def extra_template_vars(template: str, database: Any, table: Any, view_name: str, request: Any, datasette: Any) -> Any:
    async def inner() -> dict[str, Any]:
        out: dict[str, Any] = {"rpp_search_url": datasette.urls.path(SEARCH_PATH),
                               "rpp_store": bool(rpp_database_names(datasette))}
        if view_name == "row" and database and table and request is not None:
            pks = request.url_vars.get("pks")
            if pks:
                related = await links.related_rows(datasette, database, table, urllib.parse.unquote(pks))
                if related is not None:  # at the bottom, as Datasette lists them, and at the top
                    out["foreign_key_tables"] = out["rpp_related"] = related
        return out

    return inner


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def rewrite(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") == "http" and scope.get("method") in ("GET", "HEAD"):
                change = links.rewrite_table_request(scope, rpp_database_names(datasette))
                if change is not None:
                    kind, value = change
                    if kind == "redirect":
                        await Response.redirect(datasette.urls.path(value)).asgi_send(send)
                        return
                    scope = {**scope, "query_string": value.encode("latin-1")}
            await app(scope, receive, send)

        return security.guard(rewrite, datasette)

    return wrap


@hookimpl
def startup(datasette: Any) -> None:
    """With `RPP_WARM=1` (set by `rpp serve`): one search in a background thread loads the
    encoder and the indexes (the first page is not delayed)."""
    if os.environ.get(WARM_ENV) != "1":
        return
    names = rpp_database_names(datasette)
    if not names:
        return
    db_path = Path(datasette.databases[names[0]].path)
    threading.Thread(target=warm_search, args=(db_path,), name="rpp-warm", daemon=True).start()


def warm_search(db_path: Path) -> None:
    """Run one hybrid search the way the page does: the encoder, the vectors and lexical
    indexes and the search code are then loaded, and the first real query is as fast as the rest."""
    from datasette.utils import MultiParams  # noqa: PLC0415

    try:
        params = parse_search_params(MultiParams({"q": ["central office transformation"], "mode": ["hybrid"]}),
                                     dimensions=set())
        run_search(str(db_path), params, offset=0, limit=10)
    except Exception:  # noqa: BLE001 - warming is best effort; the first query reports errors
        return


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [
        (r"^/-/rpp-search(?P<format>\.json|\.csv)?$", search_view),
        (r"^/-/rpp-review$", review_view),
        *_report_routes(),
    ]


def _report_routes() -> list[tuple[str, Any]]:
    from ..report.pages import cell_page, map_page, profile_page  # noqa: PLC0415

    return [(r"^/-/rpp-map$", map_page), (r"^/-/rpp-map/cell$", cell_page), (r"^/-/rpp-profile$", profile_page)]
