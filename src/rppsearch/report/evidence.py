"""The passages behind a map cell, and a group's best evidence sentences.

A passage's evidence sentences are those the tagger stored with its tag (`passage_tags.evidence`,
see `tag.evidence`); a passage a person accepted without the model's tag has none stored, so
its first sentence-like span stands in (marked `stored: false`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..store import Store
from .matrix import EVIDENCE_RULE, MapFilters, column_documents
from ..store.district_sql import document_districts

__all__ = ["CellPassage", "cell_passages", "count_cell_passages", "best_sentences"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_FALLBACK_CHARS = 300
MIN_QUOTE_WORDS = 6


@dataclass(frozen=True)
class CellPassage:
    passage_id: str
    passage_pk: int
    document_id: str
    title: str
    year: int | None
    organization: str | None
    districts: list[str]
    doc_type: str | None
    url: str | None
    heading: str
    text: str
    score: float
    human: bool
    sentences: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passage_id": self.passage_id,
            "document_id": self.document_id,
            "title": self.title,
            "year": self.year,
            "organization": self.organization,
            "districts": self.districts,
            "doc_type": self.doc_type,
            "url": self.url,
            "heading": self.heading,
            "score": round(self.score, 3),
            "confirmed": self.human,
            "sentences": self.sentences,
            "text": self.text,
        }


def _fallback_sentence(text: str) -> dict[str, Any]:
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    if len(first) > MAX_FALLBACK_CHARS:
        first = first[:MAX_FALLBACK_CHARS].rsplit(" ", 1)[0] + " …"
    return {"text": first, "score": None, "stored": False}


def _sentences(raw: str | None, text: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(raw or "[]")
    except json.JSONDecodeError:
        items = []
    out = [
        {"text": str(s.get("text", "")).strip(), "score": s.get("score"), "stored": True}
        for s in items
        if isinstance(s, dict) and str(s.get("text", "")).strip()
    ]
    return out or [_fallback_sentence(text)]


def _cell_from(
    store: Store, *, dimension: str, by: str, value: str | None, filters: MapFilters, documents: list[str] | None
) -> tuple[str, list[Any]]:
    """FROM/WHERE over `t`, `p`, `d` selecting the cell's evidence passages, and its parameters."""
    docs = column_documents(store, by=by, value=value, filters=filters) if documents is None else documents
    return (
        "FROM passages p JOIN passage_tags t ON t.passage_pk = p.pk AND t.dimension_id = ? "
        "JOIN documents d ON d.id = p.document_id "
        f"WHERE p.document_id IN (SELECT value FROM json_each(?)) AND {EVIDENCE_RULE} ",
        [dimension, json.dumps(docs)],
    )


def count_cell_passages(
    store: Store, *, dimension: str, by: str, value: str | None, filters: MapFilters | None = None,
    documents: list[str] | None = None,
) -> int:
    """How many evidence passages the cell holds (`documents`: as for `cell_passages`)."""
    sql, params = _cell_from(store, dimension=dimension, by=by, value=value, filters=filters or MapFilters(),
                             documents=documents)
    return int(store.conn.execute("SELECT count(*) " + sql, params).fetchone()[0])


def cell_passages(
    store: Store,
    *,
    dimension: str,
    by: str,
    value: str | None,
    filters: MapFilters | None = None,
    limit: int = 200,
    offset: int = 0,
    documents: list[str] | None = None,
) -> list[CellPassage]:
    """A cell's evidence passages: people's accepts first, then by score, then reading order.

    `value` is the column key (`(none)` or None for documents without one). `documents`: the
    column's document ids when the caller has them (`column_documents`, `documents_by_column`);
    finding them reads every document, which a caller visiting many cells should do once."""
    sql, params = _cell_from(store, dimension=dimension, by=by, value=value, filters=filters or MapFilters(),
                             documents=documents)
    sql = (
        "SELECT p.id, p.pk, p.document_id, coalesce(d.title, d.id), d.year, d.organization, "
        f"{document_districts('d')}, "
        "d.doc_type, d.url, p.heading, p.text, t.score, t.source = 'human', t.evidence "
        + sql
        + "ORDER BY t.source = 'human' DESC, t.score DESC, d.year DESC, p.document_id, p.seq LIMIT ? OFFSET ?"
    )
    out = []
    for row in store.conn.execute(sql, params + [int(limit), int(offset)]):
        pid, pk, doc, title, year, org, districts, doc_type, url, heading, text, score, human, evidence = row
        try:
            district_list = [str(x) for x in json.loads(districts or "[]")]
        except json.JSONDecodeError:
            district_list = []
        out.append(
            CellPassage(
                passage_id=pid,
                passage_pk=int(pk),
                document_id=doc,
                title=title,
                year=year,
                organization=org,
                districts=district_list,
                doc_type=doc_type,
                url=url,
                heading=heading or "",
                text=text,
                score=float(score),
                human=bool(human),
                sentences=_sentences(evidence, text),
            )
        )
    return out


def best_sentences(passages: list[CellPassage], *, n: int = 3) -> list[dict[str, Any]]:
    """Up to `n` evidence sentences, from different documents where possible: people's
    accepts first, then the highest-scoring passages (the order `cell_passages` returns)."""
    picked: list[dict[str, Any]] = []
    seen_docs: set[str] = set()
    for second_round in (False, True):
        for p in passages:
            if len(picked) >= n:
                return picked
            if not second_round and p.document_id in seen_docs:
                continue
            if any(x["passage_id"] == p.passage_id for x in picked):
                continue
            # The highest-scoring sentence, preferring ones long enough to say something.
            best = max(p.sentences, key=lambda s: (len(s["text"].split()) >= MIN_QUOTE_WORDS,
                                                   s["score"] if s["score"] is not None else -1.0))
            picked.append(
                {
                    "text": best["text"],
                    "passage_id": p.passage_id,
                    "document_id": p.document_id,
                    "title": p.title,
                    "year": p.year,
                    "url": p.url,
                    "confirmed": p.human,
                    "score": round(p.score, 3),
                    "all_sentences": [s["text"] for s in p.sentences],
                }
            )
            seen_docs.add(p.document_id)
    return picked
