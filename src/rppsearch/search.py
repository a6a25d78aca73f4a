"""Search: BM25 (tantivy, or the store's FTS5), semantic (the vectors index), hybrid fusion.

`search()` and `similar()` are the API the CLI and the Datasette plugin call. Filters are
applied before ranking: metadata filters select documents and dimension filters passages
(SQL), which restrict tantivy through term sets, FTS5 through joins and the matrix through
a row mask, so a filtered query fills its `limit` whenever that many passages match.
BM25 mode never imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import Settings
from .errors import IndexStateError, QueryError
from .index import lexical
from .models import Hit
from .store import Store
from .store import search_sql

MODES = ("hybrid", "bm25", "semantic")
FUSIONS = ("rrf", "convex")
BY = ("passage", "document")
MAX_LIMIT = 10_000
MAX_QUERY_CHARS = 4_000
DEFAULT_DEPTH = 200  # candidates taken from each mode before fusion
DEFAULT_DIMENSIONS = (
    "learning-partnerships",
    "partnership-assistance",
    "unit-reorganization",
    "stewardship",
    "evidence-use",
)

__all__ = ["Filters", "search", "similar", "rrf_fuse", "convex_fuse", "MODES", "FUSIONS", "BY"]


@dataclass
class Filters:
    """Restrictions applied before ranking.

    `dimensions`: a passage matches when it has ANY of them assigned (human decisions win
    over the model's), with `score >= min_score` when given. `organization` and `doc_type`
    match exactly, ignoring case; `district` matches one of the document's districts;
    `year_from`/`year_to` bound the document year (inclusive).
    """

    dimensions: list[str] = field(default_factory=list)
    min_score: float | None = None
    organization: str | None = None
    district: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    doc_type: str | None = None

    def is_empty(self) -> bool:
        return not (
            self.dimensions
            or self.min_score is not None
            or self.organization
            or self.district
            or self.year_from is not None
            or self.year_to is not None
            or self.doc_type
        )


# -- validation --------------------------------------------------------------------------
def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise QueryError(f"{name}: unknown value {value!r} (choose one of {', '.join(choices)})")
    return value


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
    return filters


def _check_numbers(limit: int, weight: float, rrf_k: int, depth: int | None) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit: must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    if not isinstance(weight, (int, float)) or math.isnan(weight) or not 0.0 <= weight <= 1.0:
        raise QueryError(f"weight: must be between 0 and 1, got {weight!r}")
    if not isinstance(rrf_k, int) or isinstance(rrf_k, bool) or rrf_k < 1:
        raise QueryError(f"rrf_k: must be a whole number >= 1, got {rrf_k!r}")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 100_000):
        raise QueryError(f"depth: must be a whole number from 1 to 100000, got {depth!r}")


# -- fusion ------------------------------------------------------------------------------
def rrf_fuse(rankings: list[list[Any]], *, k: int = 60) -> list[tuple[Any, float]]:
    """Reciprocal rank fusion: score(x) = sum over lists of 1 / (k + rank), rank from 1.

    Ties keep the order of first appearance (earlier lists, better ranks first).
    """
    scores: dict[Any, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    order = {key: i for i, key in enumerate(_first_seen(rankings))}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def convex_fuse(
    scored: list[list[tuple[Any, float]]], weights: list[float]
) -> list[tuple[Any, float]]:
    """Weighted sum of min-max normalised scores (a missing candidate counts 0 in that list)."""
    fused: dict[Any, float] = {}
    for items, w in zip(scored, weights):
        if not items:
            continue
        values = [s for _, s in items]
        lo, hi = min(values), max(values)
        span = hi - lo
        for key, s in items:
            norm = (s - lo) / span if span > 0 else 1.0
            fused[key] = fused.get(key, 0.0) + w * norm
        for key in fused:
            fused.setdefault(key, 0.0)
    order = {key: i for i, key in enumerate(_first_seen([[k for k, _ in items] for items in scored]))}
    return sorted(fused.items(), key=lambda item: (-item[1], order[item[0]]))


def _first_seen(rankings: list[list[Any]]) -> list[Any]:
    seen: dict[Any, None] = {}
    for depth in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if depth < len(ranking):
                seen.setdefault(ranking[depth], None)
    return list(seen)


# -- the two engines ---------------------------------------------------------------------
@dataclass
class _Ranked:
    """One mode's candidates: passages [(pk, score)] or documents [(doc_pk, score, best_pk)]."""

    passages: list[tuple[int, float]] = field(default_factory=list)
    documents: list[tuple[int, float, int]] = field(default_factory=list)

    def items(self, by: str) -> list[tuple[int, float]]:
        """`(key, score)` best first: passages, or (`by="document"`) documents."""
        return self.passages if by == "passage" else [(d, s) for d, s, _ in self.documents]

    def best(self) -> dict[int, int]:
        """Each ranked document's best passage pk."""
        return {d: pk for d, _, pk in self.documents}


class _Lexical:
    """BM25 for one query: the tantivy index when current, else the store's FTS5 index.

    The index is opened on first ranking only: semantic mode needs no more than highlights,
    which tantivy's analyzer gives without opening (or refreshing) the index.
    """

    _UNOPENED: Any = object()

    def __init__(self, store: Store, settings: Settings, query: str, *, allowed: "_Allowed", auto_refresh: bool) -> None:
        self.store = store
        self.settings = settings
        self.query = query
        self.allowed = allowed
        self.auto_refresh = auto_refresh
        self._engine: Any = self._UNOPENED

    @property
    def engine(self) -> Any:
        """The tantivy index, or None when the FTS5 fallback serves this query."""
        if self._engine is self._UNOPENED:
            from .index import bm25  # noqa: PLC0415

            self._engine = bm25.open_lexical(self.store, self.settings, auto_refresh=self.auto_refresh)
        return self._engine

    @property
    def name(self) -> str:
        return "tantivy" if self.engine is not None else "fts5"

    def passages(self, limit: int) -> list[tuple[int, float]]:
        if self.engine is not None:
            return self.engine.search(
                self.query, limit=limit, doc_pks=self.allowed.doc_pks(), passage_pks=self.allowed.passage_pks()
            )
        match = lexical.build_match(self.query)
        if match is None:
            return []
        return search_sql.fts_search(
            self.store, match, weights=lexical.DEFAULT_WEIGHTS, filters=self.allowed.filters, limit=limit
        )

    def highlights(self, texts: dict[int, str]) -> dict[int, list[tuple[int, int]]]:
        """Offsets of the query's words, by the analyzer of the engine that ranked (tantivy's
        when nothing was ranked lexically)."""
        if self._engine is None:
            return _highlights(lexical.build_match(self.query), texts)
        from .index.bm25 import highlight_spans  # noqa: PLC0415

        return {pk: spans for pk, text in texts.items() if (spans := highlight_spans(text, self.query))}


_DOC_FILTER_CACHE: dict[tuple[Any, ...], np.ndarray] = {}


class _Allowed:
    """What a filter lets through, computed once per query: documents (metadata filters) and
    passages (dimension filters); None on either side means no restriction there."""

    def __init__(self, store: Store, filters: Filters | None) -> None:
        self.store = store
        self.filters = filters
        self._docs: np.ndarray | None = None
        self._passages: np.ndarray | None = None

    def doc_pks(self) -> np.ndarray | None:
        if self.filters is None or not search_sql.has_document_filter(self.filters):
            return None
        if self._docs is None:
            f = self.filters
            # documents change only with their passages, so the generation dates the answer
            key = (
                str(self.store.path), self.store.get_meta("store_id"), self.store.passages_generation(),
                f.organization, f.doc_type, f.district, f.year_from, f.year_to,
            )
            found = _DOC_FILTER_CACHE.get(key)
            if found is None:
                found = search_sql.filtered_document_pks(self.store, f)
                if len(_DOC_FILTER_CACHE) >= 64:
                    _DOC_FILTER_CACHE.pop(next(iter(_DOC_FILTER_CACHE)))
                _DOC_FILTER_CACHE[key] = found
            self._docs = found
        return self._docs

    def passage_pks(self) -> np.ndarray | None:
        if self.filters is None or not search_sql.has_dimension_filter(self.filters):
            return None
        if self._passages is None:
            self._passages = search_sql.tagged_passage_pks(self.store, self.filters)
        return self._passages


def _bm25(lex: _Lexical, *, depth: int, by: str) -> _Ranked:
    if by == "passage":
        return _Ranked(passages=lex.passages(depth))
    fetch = max(depth * 3, 100)
    while True:
        hits = lex.passages(fetch)
        docs = search_sql.passage_document_pks(lex.store, [pk for pk, _ in hits])
        best: dict[int, tuple[float, int]] = {}
        for (pk, score), doc in zip(hits, docs.tolist()):
            if doc not in best:
                best[doc] = (score, pk)
        if len(best) >= depth or len(hits) < fetch:
            ranked = [(doc, s, pk) for doc, (s, pk) in best.items()][:depth]
            return _Ranked(documents=ranked)
        fetch *= 4


def _open_vectors(store: Store, settings: Settings, *, auto_refresh: bool) -> Any:
    from .index import vectors as vindex  # noqa: PLC0415

    _limit_blas_threads()
    return vindex.open_index(
        store, settings, fingerprint=vindex.current_fingerprint(settings), auto_refresh=auto_refresh
    )


def _semantic(
    store: Store,
    index: Any,
    query_vector: np.ndarray,
    *,
    allowed: _Allowed,
    depth: int,
    by: str,
    exclude: np.ndarray | None = None,
) -> _Ranked:
    mask = index.mask_for(doc_pks=allowed.doc_pks(), passage_pks=allowed.passage_pks())
    if exclude is not None and len(exclude):
        if mask is None:
            mask = np.ones(index.count, dtype=bool)
        mask[index.rows_for_pks(exclude)] = False
    scores = index.scores(query_vector, mask)
    if by == "passage":
        return _Ranked(passages=index.top_passages(scores, depth))
    return _Ranked(documents=index.top_documents(scores, depth))


_BLAS_LIMITED = False


def _limit_blas_threads() -> None:
    """numpy's OpenBLAS threads spinning beside torch's slow both down: keep BLAS at one."""
    global _BLAS_LIMITED
    if _BLAS_LIMITED:
        return
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415

        threadpool_limits(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - best effort only
        pass
    _BLAS_LIMITED = True


_QUERY_VECTORS: dict[tuple[str, str], np.ndarray] = {}


def encode_query(settings: Settings, query: str) -> np.ndarray:
    """The query's embedding with the index's encoder; the last 256 are kept (paging, facets)."""
    key = (settings.embedding_model, query)
    cached = _QUERY_VECTORS.get(key)
    if cached is not None:
        return cached
    from .embed import get_encoder  # noqa: PLC0415

    _limit_blas_threads()
    vector = get_encoder(settings.embedding_model, index_dir=settings.index_dir).encode([query])[0]
    if len(_QUERY_VECTORS) >= 256:
        _QUERY_VECTORS.pop(next(iter(_QUERY_VECTORS)))
    _QUERY_VECTORS[key] = vector
    return vector


# -- the API -----------------------------------------------------------------------------
def search(
    store: Store,
    settings: Settings,
    *,
    query: str,
    mode: str = "hybrid",
    limit: int = 10,
    by: str = "passage",
    filters: Filters | None = None,
    fusion: str = "rrf",
    weight: float = 0.5,
    rrf_k: int = 60,
    depth: int | None = None,
    auto_refresh: bool = False,
) -> list[Hit]:
    """Rank passages (or documents, by their best passage) for `query`.

    `mode`: `bm25`, `semantic` or `hybrid` (fusion of both: `rrf` with `rrf_k`, or `convex`
    over min-max normalised scores, `weight` being the semantic share). `depth`: candidates
    taken from each mode before fusion (default 200, at least `limit`). With `auto_refresh`,
    stale indexes are refreshed from the store (no re-encoding) instead of raising
    IndexStateError (vectors) or falling back to FTS5 (lexical); pass it only when the caller
    may write the index folder. Raises QueryError naming a bad parameter.
    """
    _check_choice("mode", mode, MODES)
    _check_choice("by", by, BY)
    _check_choice("fusion", fusion, FUSIONS)
    _check_numbers(limit, weight, rrf_k, depth)
    if not isinstance(query, str) or not query.strip():
        raise QueryError("query: empty")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query: longer than {MAX_QUERY_CHARS} characters ({len(query)})")
    filters = _check_filters(store, filters)
    allowed = _Allowed(store, filters)
    if mode == "bm25":
        lex = _Lexical(store, settings, query, allowed=allowed, auto_refresh=auto_refresh)
        ranked = _bm25(lex, depth=limit, by=by)
        return _hits(store, ranked.items(by)[:limit], by=by, lex=lex, best=ranked.best())
    pool = max(limit, depth or DEFAULT_DEPTH) if mode == "hybrid" else limit
    index = _open_vectors(store, settings, auto_refresh=auto_refresh)
    vector = encode_query(settings, query)
    dense = _semantic(store, index, vector, allowed=allowed, depth=pool, by=by)
    lex = _Lexical(store, settings, query, allowed=allowed, auto_refresh=auto_refresh)
    if mode == "semantic":
        return _hits(store, dense.items(by)[:limit], by=by, lex=lex, best=dense.best())
    lexical_ranked = _bm25(lex, depth=pool, by=by)
    lists = [dense.items(by), lexical_ranked.items(by)]
    best: dict[int, int] = {}
    if by == "document":
        for ranked in (lexical_ranked, dense):  # the dense pick wins when both have one
            best.update(ranked.best())
    if fusion == "rrf":
        fused = rrf_fuse([[key for key, _ in items] for items in lists], k=rrf_k)
    else:
        fused = convex_fuse(lists, [weight, 1.0 - weight])
    return _hits(store, fused[:limit], by=by, lex=lex, best=best)


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
    return _hits(store, dense.items(by)[:limit], by=by, lex=None, best=dense.best())


# -- hits --------------------------------------------------------------------------------
def _hits(
    store: Store,
    items: list[tuple[int, float]],
    *,
    by: str,
    lex: _Lexical | None,
    best: dict[int, int],
) -> list[Hit]:
    passage_pks = [pk for pk, _ in items] if by == "passage" else [best[d] for d, _ in items]
    rows = search_sql.hit_rows(store, passage_pks)
    marks = lex.highlights({pk: row["text"] for pk, row in rows.items()}) if lex is not None else {}
    hits: list[Hit] = []
    for (key, score), pk in zip(items, passage_pks):
        row = rows.get(pk)
        if row is None:  # deleted between ranking and reading: skip it
            continue
        highlights = marks.get(pk, [])
        metadata = {
            "organization": row["organization"],
            "districts": row["districts"],
            "year": row["year"],
            "doc_type": row["doc_type"],
            "url": row["url"],
            "heading": row["heading"],
            "passage_id": row["id"],
            "start": row["start"],
            "end": row["end"],
            "highlights": [list(span) for span in highlights],
        }
        hits.append(
            Hit(
                id=row["id"] if by == "passage" else row["document_id"],
                document_id=row["document_id"],
                title=row["title"],
                score=round(float(score), 6),
                content=row["text"],
                dimensions=row["passage_dimensions"] if by == "passage" else row["document_dimensions"],
                metadata=metadata,
                highlights=highlights,
            )
        )
    return hits


def _highlights(match: str | None, texts: dict[int, str]) -> dict[int, list[tuple[int, int]]]:
    """Offsets of the query's matched terms in each text (FTS5's tokenizer decides)."""
    if match is None:
        return {}
    clean = {pk: t for pk, t in texts.items() if lexical.START_MARK not in t and lexical.END_MARK not in t}
    marked = search_sql.highlight_texts(
        match, clean, start=lexical.START_MARK, end=lexical.END_MARK, tokenizer=lexical.TOKENIZER
    )
    out: dict[int, list[tuple[int, int]]] = {}
    for pk, value in marked.items():
        plain, spans = lexical.marks_to_offsets(value)
        if plain == texts[pk]:
            out[pk] = spans
    return out


def hit_to_json(hit: Hit) -> dict[str, Any]:
    """The `rpp search --json` object: id, document_id, title, score, content, dimensions, metadata."""
    return {
        "id": hit.id,
        "document_id": hit.document_id,
        "title": hit.title,
        "score": hit.score,
        "content": hit.content,
        "dimensions": list(hit.dimensions),
        "metadata": dict(hit.metadata),
    }
