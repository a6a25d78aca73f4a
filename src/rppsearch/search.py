"""Search: BM25 (tantivy, or the store's FTS5), semantic (the vectors index), hybrid fusion.

`search_page()` is the API the CLI and the Datasette plugin call: a page of hits with the
total, facet counts over the whole result set, what the filters left out, and a notice
when the query has nothing to search for; `search()` (the hits alone, no cap) and
`similar()` remain for other callers. Filters are applied before ranking: metadata filters
select documents and dimension filters passages (SQL), which restrict tantivy through term
sets, FTS5 through joins and the matrix through a row mask, so a filtered query fills its
`limit` whenever that many passages match. Queries are parsed by `rppsearch.query` (phrases,
-exclusion, OR, title:/heading:) before any index or model is opened. BM25 mode never
imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import Settings
from .errors import IndexStateError, QueryError
from .fusion import convex_fuse, relevance, rrf_fuse
from .models import Filters, Hit, SearchPage
from .query import Clause, ParsedQuery, empty_message, parse
from .results import build_hits, cap_per_document, hit_to_json, page_to_json, unknown_notices
from .expansion import FEEDBACK_PASSAGES
from .engines import _QUERY_VECTORS, _Allowed, _bm25, _Lexical, _open_vectors, _semantic, encode_query  # noqa: F401 (_QUERY_VECTORS: benchmarks clear it)
from .store import Store
from .store import search_sql
from .search_options import BY, DEFAULT_FUSION, DEFAULT_PER_DOCUMENT, FUSIONS, MODES

MAX_LIMIT = 10_000
MAX_OFFSET = 100_000
MAX_QUERY_CHARS = 4_000
DEFAULT_DEPTH = 200  # candidates taken from each mode before fusion
#: Candidates a lexical-only result set is counted over (`SearchPage.total`).
MAX_CANDIDATES = 10_000
#: RRF weights of (semantic, bm25) in hybrid mode.
RRF_WEIGHTS: tuple[float, float] = (1.0, 1.0)
DEFAULT_DIMENSIONS = (
    "learning-partnerships",
    "partnership-assistance",
    "unit-reorganization",
    "stewardship",
    "evidence-use",
)

__all__ = [
    "Filters", "SearchPage", "search", "search_page", "similar", "rrf_fuse", "convex_fuse", "hit_to_json",
    "page_to_json", "unknown_notices",
    "MODES", "FUSIONS", "BY",
]


# -- validation --------------------------------------------------------------------------
def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise QueryError(f"{name}: unknown value {value!r} (choose one of {', '.join(choices)})")
    return value


def _whole(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise QueryError(f"{name}: must be a whole number from {low} to {high}, got {value!r}")


def _check_filters(store: Store, filters: Filters | None) -> Filters | None:
    if filters is None or filters.is_empty():
        return None
    if filters.dimensions:
        known = search_sql.known_dimensions(store) or set(DEFAULT_DIMENSIONS)
        for dim in filters.dimensions:
            if dim not in known:
                raise QueryError(f"dimension: unknown dimension {dim!r} (known: {', '.join(sorted(known))})")
    if filters.min_score is not None:
        score = filters.min_score
        if not isinstance(score, (int, float)) or math.isnan(score) or not 0.0 <= score <= 1.0:
            raise QueryError(f"min_score: must be a number between 0 and 1, got {score!r}")
    for name in ("year_from", "year_to"):
        value = getattr(filters, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 10_000):
            raise QueryError(f"{name}: must be a year like 2015, got {value!r}")
    if filters.year_from is not None and filters.year_to is not None and filters.year_from > filters.year_to:
        raise QueryError(f"year_from: {filters.year_from} is after year_to {filters.year_to}")
    if filters.document_id and search_sql.document_pk_by_id(store, filters.document_id) is None:
        raise QueryError(f"document_id: no document with id {filters.document_id!r}")
    return filters


def _check_numbers(limit: int, weight: float, rrf_k: int, depth: int | None) -> None:
    _whole("limit", limit, 1, MAX_LIMIT)
    if not isinstance(weight, (int, float)) or math.isnan(weight) or not 0.0 <= weight <= 1.0:
        raise QueryError(f"weight: must be between 0 and 1, got {weight!r}")
    if not isinstance(rrf_k, int) or isinstance(rrf_k, bool) or rrf_k < 1:
        raise QueryError(f"rrf_k: must be a whole number >= 1, got {rrf_k!r}")
    if depth is not None:
        _whole("depth", depth, 1, 100_000)


def _check_rrf_weights(weights: tuple[float, float] | None) -> tuple[float, float]:
    if weights is None:
        return RRF_WEIGHTS
    try:
        sem, lex = (float(w) for w in weights)
    except (TypeError, ValueError):
        raise QueryError(f"rrf_weights: must be two numbers (semantic, bm25), got {weights!r}") from None
    if not (0 <= sem and 0 <= lex and sem + lex > 0) or math.isnan(sem + lex):
        raise QueryError(f"rrf_weights: must be two numbers >= 0, not both 0, got {weights!r}")
    return sem, lex


def parse_query(query: str | None) -> ParsedQuery | None:
    """The parsed query, or None for a blank one (browsing); QueryError when malformed."""
    if query is None:
        return None
    if not isinstance(query, str):
        raise QueryError(f"query: must be text, got {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query: longer than {MAX_QUERY_CHARS} characters ({len(query)})")
    if not query.strip():
        return None
    return parse(query)


# -- ranking -----------------------------------------------------------------------------
@dataclass
class _Ranking:
    """Ranked keys (passage or document pks) with the fused score, each engine's
    `{key: (rank, score)}`, documents' best passages, and each passage's document."""

    items: list[tuple[int, float]]
    engines: dict[str, dict[int, tuple[int, float]]] = field(default_factory=dict)
    best: dict[int, int] = field(default_factory=dict)
    lex: _Lexical | None = None
    doc_of: dict[int, int] | None = None
    complete: bool = True  # False when an engine may have had more candidates than it gave


def _ranks(items: list[tuple[int, float]]) -> dict[int, tuple[int, float]]:
    return {key: (rank, score) for rank, (key, score) in enumerate(items, start=1)}


def _constraints(lex: _Lexical) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Passages the semantic side may rank under the query's operators: (those containing
    every required phrase / field term, or None when none is required; those containing an
    excluded word, or None)."""
    parsed = lex.query
    only = exclude = None
    required = tuple(c for c in parsed.positive if c.required)
    if required:
        hits = lex.passages(MAX_CANDIDATES, query=ParsedQuery(parsed.raw, required + parsed.excluded))
        only = np.asarray(sorted(pk for pk, _ in hits), dtype=np.int64)
    if parsed.excluded:
        positive = tuple(Clause(c.atoms) for c in parsed.excluded)
        hits = lex.passages(MAX_CANDIDATES, query=ParsedQuery(parsed.raw, positive))
        exclude = np.asarray(sorted(pk for pk, _ in hits), dtype=np.int64)
    return only, exclude


def _rank(
    store: Store,
    settings: Settings,
    parsed: ParsedQuery,
    *,
    mode: str,
    by: str,
    allowed: _Allowed,
    pool: int,
    lexical_pool: int,
    fusion: str,
    weight: float,
    rrf_k: int,
    rrf_weights: tuple[float, float],
    auto_refresh: bool,
    expand: bool = False,
) -> _Ranking:
    lex = _Lexical(store, settings, parsed, allowed=allowed, auto_refresh=auto_refresh)
    if mode == "bm25":
        ranked = _bm25(lex, depth=lexical_pool, by=by)
        items = ranked.items(by)
        return _Ranking(items, {"bm25": _ranks(items)}, ranked.best(), lex, complete=len(items) < lexical_pool)
    index = _open_vectors(store, settings, auto_refresh=auto_refresh)
    vector = encode_query(settings, parsed.semantic_text)
    only, exclude = _constraints(lex)
    dense = _semantic(
        store, index, vector, allowed=allowed, depth=pool, by=by, exclude=exclude, only=only,
        top_passages=FEEDBACK_PASSAGES if expand and mode == "hybrid" else 0,
    )
    dense_items = dense.items(by)
    if mode == "semantic":
        return _Ranking(dense_items, {"semantic": _ranks(dense_items)}, dense.best(), lex, complete=len(dense_items) < pool)
    expansion = None
    if expand:  # pseudo-relevance feedback from the dense engine's best passages (expansion.py)
        expansion = lex.feedback([pk for pk, _ in dense.passages[:FEEDBACK_PASSAGES]])
    lexical_ranked = _bm25(lex, depth=pool, by=by, expansion=expansion)
    lex_items = lexical_ranked.items(by)
    best: dict[int, int] = {}
    if by == "document":
        for ranked in (lexical_ranked, dense):  # the dense pick wins when both have one
            best.update(ranked.best())
    if fusion == "rrf":
        fused = rrf_fuse([[key for key, _ in dense_items], [key for key, _ in lex_items]], k=rrf_k, weights=list(rrf_weights))
    else:
        fused = convex_fuse([dense_items, lex_items], [weight, 1.0 - weight])
    engines = {"bm25": _ranks(lex_items), "semantic": _ranks(dense_items)}
    return _Ranking(fused, engines, best, lex, complete=len(dense_items) < pool and len(lex_items) < pool)


def _browse(store: Store, filters: Filters | None, *, by: str) -> _Ranking:
    """Every passage passing the filters (documents: their first passage), newest first."""
    rows = search_sql.browse_passages(store, filters)
    if by == "passage":
        return _Ranking([(pk, 0.0) for pk, _ in rows], doc_of=dict(rows))
    best: dict[int, int] = {}
    for pk, doc in rows:
        best.setdefault(doc, pk)
    return _Ranking([(doc, 0.0) for doc in best], best=best)


def _relevance(
    ranking: _Ranking, key: int, score: float, *, mode: str, fusion: str, rrf_k: int, rrf_weights: tuple[float, float]
) -> float:
    if not ranking.engines:
        return 0.0
    if mode == "hybrid" and fusion == "convex":
        return round(100.0 * score, 1)
    names = ["semantic", "bm25"] if mode == "hybrid" else list(ranking.engines)
    ranks = [ranking.engines[name].get(key, (None,))[0] for name in names]
    return relevance(ranks, k=rrf_k, weights=list(rrf_weights) if mode == "hybrid" else None)


# -- the API -----------------------------------------------------------------------------
def search_page(
    store: Store,
    settings: Settings,
    query: str | None = None,
    *,
    mode: str = "hybrid",
    filters: Filters | None = None,
    limit: int = 10,
    offset: int = 0,
    per_document: int = DEFAULT_PER_DOCUMENT,
    by: str = "passage",
    fusion: str = DEFAULT_FUSION,
    weight: float = 0.5,
    rrf_k: int = 60,
    depth: int | None = None,
    auto_refresh: bool = False,
    rrf_weights: tuple[float, float] | None = None,
    count: bool = True,
    facets: bool = True,
    expand: bool = False,
) -> SearchPage:
    """One page of results for `query` (blank or None: browse the filters, newest first;
    the page's `mode` is then "browse").

    `mode`: `bm25`, `semantic` or `hybrid` (fusion of both: `rrf` with `rrf_k`, or `convex`
    over min-max normalised scores, `weight` being the semantic share). `depth`: candidates
    taken from each engine before fusion (default 200, at least `offset + limit`).
    `expand` (hybrid only, off by default): widen the BM25 query with words of the dense
    engine's best passages when they lack most of the query's words (`rppsearch.expansion`:
    it helps questions phrased in other words on topical collections and cost SciFact 0.015;
    never for queries with phrases, field terms or exclusions).
    `per_document`: in passage mode, at most this many passages of one document (0: no cap);
    the rest are counted in the best shown hit's `more_from_document`. The result set that
    `total` and `facets` describe: bm25, every match (up to 10,000); semantic and hybrid, the
    fused candidates (`total_exact` is False when an engine had more). `count=False` ranks
    only what the page needs (no totals, nor the counts of documents a filter leaves out). With `auto_refresh`, stale indexes are refreshed from the store
    (no re-encoding); pass it only when the caller may write the index folder. Raises
    QueryError naming a bad parameter or a malformed query before any index or model loads.
    """
    _check_choice("mode", mode, MODES)
    _check_choice("by", by, BY)
    _check_choice("fusion", fusion, FUSIONS)
    _check_numbers(limit, weight, rrf_k, depth)
    _whole("offset", offset, 0, MAX_OFFSET)
    _whole("per_document", per_document, 0, MAX_LIMIT)
    rrf_weights = _check_rrf_weights(rrf_weights)
    parsed = parse_query(query)
    filters = _check_filters(store, filters)
    # what the filters leave out for lack of a field: for the page's notices (not `search()`)
    unknown = search_sql.unknown_counts(store, filters) if filters is not None and count else {}
    page = SearchPage(
        hits=[], total=0, offset=offset, limit=limit, unknown=unknown, query=query or "", mode=mode,
        include_unknown=bool(filters and filters.include_unknown),
    )
    if parsed is not None and parsed.is_empty:
        page.message = empty_message(query or "", parsed)
        return page
    allowed = _Allowed(store, filters)
    need = offset + limit
    if parsed is None:
        page.mode = "browse"
        ranking = _browse(store, filters, by=by)
    else:
        pool = max(depth or DEFAULT_DEPTH, need)
        lexical_pool = max(MAX_CANDIDATES, need) if count else need
        ranking = _rank(
            store, settings, parsed, mode=mode, by=by, allowed=allowed, pool=pool, lexical_pool=lexical_pool,
            fusion=fusion, weight=weight, rrf_k=rrf_k, rrf_weights=rrf_weights, auto_refresh=auto_refresh,
            expand=expand,
        )
    items, more = ranking.items, {}
    if by == "passage" and per_document:
        doc_of = ranking.doc_of
        if doc_of is None:  # a ranked page (browsing gives doc_of): the lexical side knows its hits' documents
            assert ranking.lex is not None
            keys = [pk for pk, _ in items]
            doc_of = dict(zip(keys, ranking.lex.document_pks(keys)))
        items, more = cap_per_document(items, doc_of, per_document)
    page.total = len(items)
    page.total_exact = ranking.complete
    page.folded = sum(more.values())
    shown = items[offset : offset + limit]
    if facets:
        pks = [key for key, _ in items] if by == "passage" else [ranking.best[key] for key, _ in items]
        page.facets = search_sql.facet_counts(store, pks, by=by)
    matched = {
        key: {name: {"rank": ranks[key][0], "score": round(float(ranks[key][1]), 6)}
              for name, ranks in ranking.engines.items() if key in ranks}
        for key, _ in shown
    }
    rel = {
        key: _relevance(ranking, key, score, mode=mode, fusion=fusion, rrf_k=rrf_k, rrf_weights=rrf_weights)
        for key, score in shown
    }
    page.hits = build_hits(
        store, shown, by=by, best=ranking.best, highlights=ranking.lex.highlights if ranking.lex else None,
        matched_by=matched, relevance=rel, more=more,
    )
    return page


def search(
    store: Store,
    settings: Settings,
    *,
    query: str,
    mode: str = "hybrid",
    limit: int = 10,
    by: str = "passage",
    filters: Filters | None = None,
    fusion: str = DEFAULT_FUSION,
    weight: float = 0.5,
    rrf_k: int = 60,
    depth: int | None = None,
    auto_refresh: bool = False,
    per_document: int = 0,
    offset: int = 0,
    rrf_weights: tuple[float, float] | None = None,
    expand: bool = False,
) -> list[Hit]:
    """The hits of `search_page` alone, uncapped by default and without counting the whole
    result set (what benchmarks and scripts want). A query with nothing to search for
    gives no hits."""
    return search_page(
        store, settings, query, mode=mode, filters=filters, limit=limit, offset=offset, per_document=per_document,
        by=by, fusion=fusion, weight=weight, rrf_k=rrf_k, depth=depth, auto_refresh=auto_refresh,
        rrf_weights=rrf_weights, count=False, facets=False, expand=expand,
    ).hits


def similar(
    store: Store,
    settings: Settings,
    *,
    target_id: str,
    by: str = "passage",
    limit: int = 10,
    filters: Filters | None = None,
    auto_refresh: bool = False,
) -> list[Hit]:
    """Passages (or documents) closest in meaning to a stored passage or document.

    `target_id` is a passage id (`DOCID-p0003`) or a document id; a document is represented
    by the normalised mean of its passage vectors. The target itself is left out.
    """
    _check_choice("by", by, BY)
    _check_numbers(limit, 0.5, 60, None)
    filters = _check_filters(store, filters)
    index = _open_vectors(store, settings, auto_refresh=auto_refresh)
    passage_pk = search_sql.passage_pk_by_id(store, target_id)
    if passage_pk is not None:
        target_pks = [passage_pk]
        own_doc = int(search_sql.passage_document_pks(store, [passage_pk])[0])
    else:
        doc_pk = search_sql.document_pk_by_id(store, target_id)
        if doc_pk is None:
            raise QueryError(f"target_id: no passage or document with id {target_id!r}")
        target_pks = search_sql.document_passage_pks(store, target_id)
        own_doc = doc_pk
    rows = index.rows_for_pks(np.asarray(target_pks, dtype=np.int64))
    if not len(rows):
        raise IndexStateError(
            f"{target_id}: no vector in the vectors index", hint="run `rpp build` to encode it"
        )
    vector = index.mean_vector(rows)
    norm = float(np.linalg.norm(vector))
    if norm > 0:
        vector = vector / norm
    exclude = np.asarray(target_pks, dtype=np.int64)
    if by == "document":
        exclude = index.pks[index.docs == own_doc]
    dense = _semantic(store, index, vector, allowed=_Allowed(store, filters), depth=limit, by=by, exclude=exclude)
    items = dense.items(by)[:limit]
    matched = {key: {"semantic": {"rank": rank, "score": round(score, 6)}} for rank, (key, score) in enumerate(items, 1)}
    rel = {key: relevance([rank]) for rank, (key, _) in enumerate(items, 1)}
    return build_hits(store, items, by=by, best=dense.best(), highlights=None, matched_by=matched, relevance=rel)
