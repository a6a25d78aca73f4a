"""The two search engines for one query: BM25 (tantivy, or the store's FTS5 when the
tantivy index is missing or stale) and the dense vectors index, both restricted by the
filters before ranking (`_Allowed`), and the query encoder with its small cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import Settings
from .index import lexical
from .models import Filters
from .query import ParsedQuery, parse
from .results import fts_highlights
from .store import Store
from .store import search_sql
from .store.documents import METADATA_GENERATION


@dataclass
class _Ranked:
    """One mode's candidates: passages [(pk, score)] or documents [(doc_pk, score, best_pk)]
    (with, for a dense document ranking, its best few passages in `passages`)."""

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

    def __init__(
        self, store: Store, settings: Settings, query: "str | ParsedQuery", *, allowed: "_Allowed", auto_refresh: bool
    ) -> None:
        self.store = store
        self.settings = settings
        self.query = query if isinstance(query, ParsedQuery) else parse(query)
        self.allowed = allowed
        self.auto_refresh = auto_refresh
        self._engine: Any = self._UNOPENED
        self._doc_of: dict[int, int] = {}  # passage pk -> document pk, as the index gave them

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

    def passages(
        self, limit: int, *, query: ParsedQuery | None = None, expansion: dict[str, float] | None = None
    ) -> list[tuple[int, float]]:
        """`(pk, score)` of the best `limit` passages for this query (or another `query`,
        on the same engine and filters), with optional `expansion` terms (tantivy only)."""
        query = query or self.query
        if self.engine is not None:
            hits = self.engine.search_with_documents(
                query, limit=limit, doc_pks=self.allowed.doc_pks(), passage_pks=self.allowed.passage_pks(),
                expansion=expansion,
            )
            self._doc_of.update((pk, doc) for pk, _, doc in hits)
            return [(pk, score) for pk, score, _ in hits]
        match = query.fts_match()
        if match is None:
            return []
        return search_sql.fts_search(
            self.store, match, weights=lexical.DEFAULT_WEIGHTS, filters=self.allowed.filters, limit=limit
        )

    def document_pks(self, pks: list[int]) -> list[int]:
        """The document pk of each passage pk (-1 when unknown): from what the index gave
        with its hits, the store asked only for the others (FTS5 hits, dense-only ones)."""
        missing = [pk for pk in pks if pk not in self._doc_of]
        if missing:
            self._doc_of.update(zip(missing, search_sql.passage_document_pks(self.store, missing).tolist()))
        return [self._doc_of[pk] for pk in pks]

    def feedback(self, pks: list[int]) -> dict[str, float]:
        """Expansion terms from these passages (the dense engine's best) for this query; empty
        when the query has operators (its words are what was asked for) or FTS5 serves it."""
        parsed = self.query
        if not pks or parsed.excluded or any(c.required for c in parsed.positive) or self.engine is None:
            return {}
        from .index.bm25 import body_text  # noqa: PLC0415

        rows = search_sql.passages_for_index(self.store, pks)
        return self.engine.expansion_for([body_text(t, h, x) for _, _, t, h, x in rows], parsed)

    def highlights(self, texts: dict[int, str]) -> dict[int, list[tuple[int, int]]]:
        """Offsets of the query's words, by the analyzer of the engine that ranked (tantivy's
        when nothing was ranked lexically)."""
        if self._engine is None:
            return fts_highlights(self.query.highlight_words(), texts)
        from .index.bm25 import highlight_texts  # noqa: PLC0415

        return highlight_texts(texts, self.query)


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
            # dated by both generations: documents come and go with their passages, and their
            # metadata changes without them (`rpp edit`, a catalog or alias update)
            key = (
                str(self.store.path), self.store.get_meta("store_id"), self.store.passages_generation(),
                self.store.get_meta(METADATA_GENERATION), f.organization, f.doc_type, f.district,
                f.year_from, f.year_to, f.include_unknown, f.document_id,
            )
            found = _DOC_FILTER_CACHE.get(key)
            if found is None:  # 11 ms over 10k documents: worth keeping for paging and facets
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


def _bm25(lex: _Lexical, *, depth: int, by: str, expansion: dict[str, float] | None = None) -> _Ranked:
    if by == "passage":
        return _Ranked(passages=lex.passages(depth, expansion=expansion))
    fetch = max(depth * 3, 100)
    while True:
        hits = lex.passages(fetch, expansion=expansion)
        docs = lex.document_pks([pk for pk, _ in hits])
        best: dict[int, tuple[float, int]] = {}
        for (pk, score), doc in zip(hits, docs):
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
    only: np.ndarray | None = None,
    top_passages: int = 0,
) -> _Ranked:
    keep = allowed.passage_pks()
    if only is not None:
        keep = only if keep is None else np.intersect1d(keep, only)
    mask = index.mask_for(doc_pks=allowed.doc_pks(), passage_pks=keep)
    if exclude is not None and len(exclude):
        if mask is None:
            mask = np.ones(index.count, dtype=bool)
        mask[index.rows_for_pks(exclude)] = False
    # on a large index a coarse scan picks the rows to score (every row when it cannot serve)
    scores = index.scores(query_vector, mask, depth=depth, documents=by == "document")
    if by == "passage":
        return _Ranked(passages=index.top_passages(scores, depth))
    return _Ranked(documents=index.top_documents(scores, depth), passages=index.top_passages(scores, top_passages))


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


