"""Turning ranked passage keys into hits: rows, highlights, the per-document cap, JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .index import lexical
from .models import Hit, SearchPage
from .store import Store
from .store import search_sql


def cap_per_document(
    items: list[tuple[int, float]], doc_of: dict[int, int], cap: int
) -> tuple[list[tuple[int, float]], dict[int, int]]:
    """Keep at most `cap` passages per document (0: no cap), in rank order.

    Returns the kept items and, keyed by the pk of each document's best kept passage, how
    many of that document's passages were folded away.
    """
    if cap <= 0:
        return items, {}
    kept: list[tuple[int, float]] = []
    shown: dict[int, int] = {}
    first: dict[int, int] = {}
    folded: dict[int, int] = {}
    for pk, score in items:
        doc = doc_of.get(pk, -1)
        if shown.get(doc, 0) >= cap:
            folded[first[doc]] = folded.get(first[doc], 0) + 1
            continue
        shown[doc] = shown.get(doc, 0) + 1
        first.setdefault(doc, pk)
        kept.append((pk, score))
    return kept, folded


def build_hits(
    store: Store,
    items: list[tuple[int, float]],
    *,
    by: str,
    best: dict[int, int],
    highlights: Callable[[dict[int, str]], dict[int, list[tuple[int, int]]]] | None,
    matched_by: dict[int, dict[str, dict[str, Any]]] | None = None,
    relevance: dict[int, float] | None = None,
    more: dict[int, int] | None = None,
) -> list[Hit]:
    """Hits for ranked `(key, score)` items: passage pks, or document pks (`by="document"`,
    shown through their best passage `best[doc]`)."""
    passage_pks = [pk for pk, _ in items] if by == "passage" else [best[d] for d, _ in items]
    rows = search_sql.hit_rows(store, passage_pks)
    marks = highlights({pk: row["text"] for pk, row in rows.items()}) if highlights is not None else {}
    hits: list[Hit] = []
    for (key, score), pk in zip(items, passage_pks):
        row = rows.get(pk)
        if row is None:  # deleted between ranking and reading: skip it
            continue
        spans = marks.get(pk, [])
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
            "highlights": [list(span) for span in spans],
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
                highlights=spans,
                matched_by=(matched_by or {}).get(key, {}),
                relevance=(relevance or {}).get(key, 0.0),
                more_from_document=(more or {}).get(key, 0),
            )
        )
    return hits


def fts_highlights(words: list[str], texts: dict[int, str]) -> dict[int, list[tuple[int, int]]]:
    """Offsets of the query's words in each text, as FTS5's tokenizer (porter) matches them."""
    terms = list(dict.fromkeys(t for w in words for t in lexical.tokenize(w)))
    if not terms:
        return {}
    match = " OR ".join(lexical.fts_quote(t) for t in terms)
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
    """The `rpp search --json` object: id, document_id, title, score, content, dimensions,
    metadata (the stable keys), then relevance, matched_by and more_from_document."""
    return {
        "id": hit.id,
        "document_id": hit.document_id,
        "title": hit.title,
        "score": hit.score,
        "content": hit.content,
        "dimensions": list(hit.dimensions),
        "metadata": dict(hit.metadata),
        "relevance": hit.relevance,
        "matched_by": {name: dict(v) for name, v in hit.matched_by.items()},
        "more_from_document": hit.more_from_document,
    }


def page_to_json(page: SearchPage) -> dict[str, Any]:
    """What a page of hits is part of (the `rpp search --json` header line's `summary`)."""
    return {
        "query": page.query,
        "mode": page.mode,
        "total": page.total,
        "total_exact": page.total_exact,
        "offset": page.offset,
        "limit": page.limit,
        "returned": len(page.hits),
        "folded": page.folded,
        "unknown": dict(page.unknown),
        "include_unknown": page.include_unknown,
        "notices": unknown_notices(page),
        "message": page.message,
        "facets": {name: [list(pair) for pair in values] for name, values in page.facets.items()},
    }


FIELD_WORDS = {"year": "a year", "organization": "an organization", "district": "a district", "doc_type": "a document type"}


def unknown_notices(page: SearchPage) -> list[str]:
    """One sentence per filtered field some documents lack: how many, left out or kept."""
    lines = []
    for name, count in page.unknown.items():
        if not count:
            continue
        docs = "1 document lacks" if count == 1 else f"{count} documents lack"
        what = FIELD_WORDS.get(name, name)
        verb = "was" if count == 1 else "were"
        if page.include_unknown:
            lines.append(f"{docs} {what} and {verb} kept (--include-unknown)")
        else:
            lines.append(f"{docs} {what} and {verb} left out (use --include-unknown)")
    return lines
