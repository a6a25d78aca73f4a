"""Datasette plugin: metadata, SQL functions and the `/-/rpp-search` page (issue 6).

Registered through the `datasette` entry point, so a plain `datasette indexes/rpp.db` picks
it up. Heavy pieces (torch, the encoder, the search engine) load only when a request needs
them: `rpp_similarity()` in a query, or a semantic/hybrid search.

- `get_metadata`: titles, descriptions, facets, FTS, sort orders, canned queries
  (`datasette_config.py`) for every served database that is an rpp store.
- `prepare_connection`: `rpp_similarity(vector_blob, text)` (cosine of a stored float32
  vector to `text` embedded with the store's model; the text is embedded once and cached)
  and `rpp_embed(text)` (the vector as a float32 blob). Read-only unless writing is enabled
  (`rpp serve --writable`, or plugin config `{"rppsearch": {"writable": true}}`).
- `/-/rpp-search` and `/-/rpp-search.json`: hybrid, BM25 or semantic search with dimension
  and metadata filters over `rppsearch.search.search`, run in a worker thread on a read-only
  connection. Bad parameters get a 400 naming the parameter.
- `/-/rpp-review` (POST, only with writing enabled): accept or reject a dimension on a passage
  from the search results, recorded through `review.decide` like `rpp review` does.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from datasette import hookimpl
from datasette.utils.asgi import Response

from . import datasette_config
from .errors import QueryError, RppError
from .models import snippet_window

PLUGIN_NAME = "rppsearch"
SEARCH_PATH = datasette_config.SEARCH_PATH
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
WRITABLE_ENV = "RPP_DATASETTE_WRITABLE"

MODES = ("hybrid", "bm25", "semantic")
BY = ("passage", "document")
FUSIONS = ("rrf", "convex")
MAX_QUERY_CHARS = 1000
MAX_TEXT_PARAM_CHARS = 200
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
SNIPPET_CHARS = 700
# Tables whose presence marks a database as an rpp store.
RPP_MARKERS = frozenset({"meta", "documents", "passages", "passages_fts"})


# -- which served databases are rpp stores ---------------------------------------------
_store_cache: dict[tuple[str, str], bool] = {}
_store_cache_lock = threading.Lock()


def is_rpp_store(path: str | os.PathLike[str]) -> bool:
    """True when the SQLite file at `path` has the rpp tables (read-only peek)."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=5)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return RPP_MARKERS <= names


def rpp_database_names(datasette: Any) -> list[str]:
    """Names of the served databases that are rpp stores, in serving order."""
    names = []
    for name, db in list(datasette.databases.items()):
        if name == "_internal" or db.is_memory or not db.path:
            continue
        key = (name, str(db.path))
        with _store_cache_lock:
            known = _store_cache.get(key)
        if known is None:
            known = is_rpp_store(db.path)
            with _store_cache_lock:
                _store_cache[key] = known
        if known:
            names.append(name)
    return names


def writable(datasette: Any) -> bool:
    """Writing is off unless `rpp serve --writable` or plugin config turns it on."""
    if os.environ.get(WRITABLE_ENV, "") == "1":
        return True
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    return bool(config.get("writable"))


# -- metadata ----------------------------------------------------------------------------
_metadata_cache: dict[tuple[tuple[str, ...], str], str] = {}


@hookimpl
def get_metadata(datasette: Any, key: Any, database: Any, table: Any) -> dict[str, Any]:
    """Titles, descriptions, facets, FTS and canned queries for each served rpp store."""
    names = tuple(rpp_database_names(datasette))
    if not names:
        return {}
    search_url = datasette.urls.path(SEARCH_PATH)
    cache_key = (names, search_url)
    if cache_key not in _metadata_cache:
        _metadata_cache[cache_key] = json.dumps(
            datasette_config.build_metadata(databases=list(names), search_url=search_url)
        )
    # Datasette merges later sources into what we return, and asks many times a page: hand
    # out a fresh copy, parsed from JSON (3x cheaper than copy.deepcopy).
    return json.loads(_metadata_cache[cache_key])


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Any) -> None:
    """Make `rpp_search.html` findable (a module plugin gets no templates folder of its own)."""
    from jinja2 import ChoiceLoader, FileSystemLoader  # noqa: PLC0415

    env.loader = ChoiceLoader([env.loader, FileSystemLoader(str(TEMPLATES_DIR))])


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    if not rpp_database_names(datasette):
        return []
    return [{"href": datasette.urls.path(SEARCH_PATH), "label": "Search the corpus (rppsearch)"}]


# -- query embeddings: the model loads lazily, once, under a lock ------------------------
class _Encoder(Protocol):
    dim: int

    def encode(self, texts: list[str], *, batch_size: int = 64) -> Any: ...


def model_name_from_fingerprint(fingerprint: str) -> str:
    """`all-MiniLM-L6-v2@<sha>` -> `all-MiniLM-L6-v2`; `fake@64` -> `fake:64`."""
    name, _, rest = fingerprint.rpartition("@")
    if not name:
        return fingerprint
    if name == "fake":
        return f"fake:{rest}" if rest.isdigit() else "fake"
    return name


_model_cache: dict[str, str] = {}


def store_model_name(db_path: str | os.PathLike[str]) -> str:
    """The embedding model the store's vectors were made with (else the configured one)."""
    key = str(Path(db_path).resolve())
    if key in _model_cache:
        return _model_cache[key]
    from .config import Settings  # noqa: PLC0415

    name = Settings().embedding_model
    try:
        conn = sqlite3.connect(f"file:{key}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT model FROM passage_vectors LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        row = None
    if row and row[0]:
        name = model_name_from_fingerprint(str(row[0]))
        _model_cache[key] = name  # vectors exist: the answer will not change while serving
    return name


class QueryEmbedder:
    """Embeds query texts with a named model; loads each model once; caches by text."""

    def __init__(self, *, cache_size: int = 256) -> None:
        self.model_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._cache_size = cache_size
        self.loads = 0
        self.encodes = 0

    def encoder(self, model: str) -> _Encoder:
        """The encoder for `model`, created at most once across threads."""
        from .embed import get_encoder  # noqa: PLC0415 - numpy/torch only when needed

        with self.model_lock:
            from . import embed  # noqa: PLC0415

            if model not in embed._CACHE:  # noqa: SLF001 - count real loads for tests
                self.loads += 1
            return get_encoder(model)

    def vector(self, model: str, text: str) -> Any:
        """The query vector for `text` (float32, normalised), computed once per text."""
        key = (model, text)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        encoder = self.encoder(model)
        with self.model_lock:  # one encoder user at a time; and a text racing in is encoded once
            with self._cache_lock:
                if key in self._cache:
                    return self._cache[key]
            vec = encoder.encode([text])[0]  # a lone text: the encoder runs it on one thread
            self.encodes += 1
            with self._cache_lock:
                self._cache[key] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vec


EMBEDDER = QueryEmbedder()

def make_similarity(db_path: str | os.PathLike[str]):  # noqa: ANN201
    """`rpp_similarity(vector_blob, text)` for the store at `db_path`."""

    def rpp_similarity(blob: bytes | None, text: str | None) -> float | None:
        if blob is None or text is None or not str(text).strip():
            return None
        import numpy as np  # noqa: PLC0415

        from .store.vectors import from_blob  # noqa: PLC0415

        query = EMBEDDER.vector(store_model_name(db_path), str(text))
        if not isinstance(blob, (bytes, bytearray, memoryview)) or len(blob) != 4 * query.shape[0]:
            return None  # not a vector of this model's size
        vector = from_blob(blob)
        return float(np.dot(vector, query))

    return rpp_similarity


def make_embed(db_path: str | os.PathLike[str]):  # noqa: ANN201
    """`rpp_embed(text)`: the text's vector as a float32 little-endian blob."""

    def rpp_embed(text: str | None) -> bytes | None:
        if text is None or not str(text).strip():
            return None
        from .store.vectors import to_blob  # noqa: PLC0415

        return to_blob(EMBEDDER.vector(store_model_name(db_path), str(text)))

    return rpp_embed


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


# -- the search page ---------------------------------------------------------------------
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


def _one_or_blank(args: Any, name: str) -> str:
    values = args.getlist(name)
    return values[0].strip()[:MAX_TEXT_PARAM_CHARS] if values else ""


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


class _Unavailable(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _pick_database(datasette: Any, name: str | None) -> Any:
    names = rpp_database_names(datasette)
    if not names:
        raise _Unavailable("no rppsearch store is being served (run `rpp build`, then `rpp serve`)", 404)
    if name is None:
        return datasette.databases[names[0]]
    if name not in names:
        raise QueryError(f"db: no rppsearch store named {name[:60]!r} is served (served: {', '.join(names)})")
    return datasette.databases[name]


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
    from .config import Settings  # noqa: PLC0415
    from .errors import IndexStateError  # noqa: PLC0415
    from .search import Filters, search  # noqa: PLC0415
    from .store import Store  # noqa: PLC0415

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
        "reviewer": _one_or_blank(request.args, "reviewer")
        or ((request.actor or {}).get("id") if isinstance(request.actor, dict) else "")
        or "",
    }

    async def fail(message: str, status: int) -> Response:
        if as_json:
            return Response.json({"ok": False, "error": message, "status": status}, status=status)
        context["error"] = message
        return await _page(datasette, request, context, status)

    try:
        db_name = _one(request.args, "db") or None
        db = _pick_database(datasette, db_name)
        context["database"] = db.name
        options = await filter_options(db)
        context["options"] = options
        params = parse_search_params(request.args, dimensions={d["id"] for d in options["dimensions"]})
        context["params"] = params
    except QueryError as exc:
        return await fail(exc.message, 400)
    except _Unavailable as exc:
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


# -- review in the browser (only with writing enabled) ------------------------------------
REVIEW_PATH = "/-/rpp-review"
DECISIONS = ("accept", "reject")
MAX_REVIEWER_CHARS = 100


def safe_next(value: str | None, *, default: str) -> str:
    """A local path to go back to (never another site: no scheme, no `//host`)."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(c in value for c in "\r\n"):
        return default
    return value


def _with_param(url: str, key: str, value: str) -> str:
    path, _, query = url.partition("?")
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k != key]
    pairs.append((key, value))
    return f"{path}?{urllib.parse.urlencode(pairs)}"


def _record_decision(db_path: str, *, passage_id: str, dimension: str, decision: str, reviewer: str) -> None:
    """Write one decision the way `rpp review` does (labels row, human tag, roll-up)."""
    from . import review  # noqa: PLC0415
    from .store import Store  # noqa: PLC0415
    from .store import labels as labelstore  # noqa: PLC0415

    with Store.open(db_path, create=False) as store:
        target = labelstore.resolve_target(store, passage_id, target_type="passage")
        review.decide(store, target=target, decisions=[(dimension, decision)], reviewer=reviewer)


async def review_view(datasette: Any, request: Any) -> Response:
    """POST `/-/rpp-review`: accept or reject a dimension on a passage, recorded in `labels`."""

    async def fail(message: str, status: int) -> Response:
        body = await datasette.render_template(
            "error.html", {"error": message, "status": status, "title": "Review not recorded"}, request=request
        )
        return Response.html(body, status=status)

    if request.method != "POST":
        return await fail("send decisions with POST from the search page", 405)
    if not writable(datasette):
        return await fail("writing is disabled: start the server with `rpp serve --writable`", 403)
    form = await request.post_vars()
    back = safe_next(form.get("next"), default=datasette.urls.path(SEARCH_PATH))
    reviewer = (form.get("reviewer") or "").strip()
    passage_id = (form.get("passage") or "").strip()
    dimension = (form.get("dimension") or "").strip()
    decision = (form.get("decision") or "").strip()
    if not reviewer:
        return await fail("reviewer: give your name so the decision can be attributed", 400)
    if len(reviewer) > MAX_REVIEWER_CHARS:
        return await fail(f"reviewer: at most {MAX_REVIEWER_CHARS} characters", 400)
    if decision not in DECISIONS:
        return await fail(f"decision: use {' or '.join(DECISIONS)}", 400)
    if not passage_id or not dimension:
        return await fail("passage and dimension: both are needed", 400)
    try:
        db = _pick_database(datasette, (form.get("db") or "").strip() or None)
        await asyncio.to_thread(
            _record_decision, str(db.path), passage_id=passage_id, dimension=dimension, decision=decision,
            reviewer=reviewer,
        )
    except _Unavailable as exc:
        return await fail(exc.message, exc.status)
    except RppError as exc:  # LabelError (unknown passage or dimension), QueryError (db)
        return await fail(exc.message + (f" ({exc.hint})" if exc.hint else ""), 400)
    datasette.add_message(request, f"Recorded: {decision} {dimension} on {passage_id} (by {reviewer}).")
    return Response.redirect(_with_param(back, "reviewer", reviewer))


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [
        (r"^/-/rpp-search(?P<format>\.json)?$", search_view),
        (r"^/-/rpp-review$", review_view),
        *_report_routes(),
    ]


def _report_routes() -> list[tuple[str, Any]]:
    from .report.pages import cell_page, map_page, profile_page  # noqa: PLC0415

    return [(r"^/-/rpp-map$", map_page), (r"^/-/rpp-map/cell$", cell_page), (r"^/-/rpp-profile$", profile_page)]
