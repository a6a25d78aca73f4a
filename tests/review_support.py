"""A small real store for the review/labels/agreement tests: documents, passages, model tags.

Passages are split by the real segmenter (spaCy sentencizer); the codebook is the shipped one,
written by the tagger's own `sync_dimensions`; model tags go in through `write_passage_tags`
with scores chosen per test (assigned = score >= 0.5, the tagger's calibrated threshold) and
the first sentence as evidence; a registered model version lets documents roll up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rppsearch.ingest.nlp import sentence_spans
from rppsearch.ingest.segment import split_passages
from rppsearch.models import Block, Document, Metadata
from rppsearch.store import Store
from rppsearch.store import documents as docstore
from rppsearch.store import tags as tagstore
from rppsearch.taxonomy import load_default_taxonomy

DIMS = ["learning-partnerships", "partnership-assistance", "unit-reorganization", "stewardship", "evidence-use"]

# Three documents, one paragraph a passage. Texts are written for the tests.
DOCS: dict[str, tuple[str, list[str]]] = {
    "coaching": (
        "Coaching principals in Riverbend",
        [
            "Principal supervisors in Riverbend spend three mornings a week in schools. They observe "
            "classrooms with each principal and talk through the feedback the principal will give.",
            "The district also cut each supervisor's caseload to ten schools. The deputy superintendent "
            "meets the supervisors every Friday to rehearse hard conversations with principals.",
        ],
    ),
    "hr-redesign": (
        "A human resources office that serves schools",
        [
            "The human resources office reorganized into case managers. Each school now calls one "
            "person for hiring questions instead of navigating five departments.",
        ],
    ),
    "data-cycles": (
        "Inquiry cycles in Kestrel Bay",
        [
            "Central office teams in Kestrel Bay review evidence from school visits each month. They "
            "change their own support plans when the data show that a strategy is not working.",
        ],
    ),
}

# Model scores per passage id (dimensions not listed score 0.05).
SCORES: dict[str, dict[str, float]] = {
    "coaching-p0000": {"learning-partnerships": 0.9, "partnership-assistance": 0.55},
    "coaching-p0001": {"partnership-assistance": 0.8, "learning-partnerships": 0.3},
    "hr-redesign-p0000": {"unit-reorganization": 0.97},
    "data-cycles-p0000": {"evidence-use": 0.7, "stewardship": 0.35},
}
MODEL_VERSION = "v1"


def make_document(doc_id: str, title: str, paragraphs: list[str]) -> Document:
    text, passages = split_passages([Block(p) for p in paragraphs], min_words=5)
    return Document(
        id=doc_id, path=f"/corpus/{doc_id}.txt", format="txt", text=text,
        content_hash=f"h-{doc_id}-{len(text)}", metadata=Metadata(title=title), passages=passages,
    )


def write_model_tags(store: Store, scores: dict[str, dict[str, float]], *, version: str = MODEL_VERSION) -> None:
    """Model tags for the given passages (every codebook dimension), then document roll-ups."""
    rows = []
    pks = []
    with store.transaction():
        for pid, dims in scores.items():
            row = store.conn.execute("SELECT pk, text FROM passages WHERE id = ?", (pid,)).fetchone()
            if row is None:
                continue
            pk, text = row
            pks.append(pk)
            start, end = sentence_spans(text)[0]
            for dim in DIMS:
                score = dims.get(dim, 0.05)
                evidence = [{"text": text[start:end], "start": start, "end": end, "score": score}] if score >= 0.5 else []
                rows.append(tagstore.PassageTagRow(pk, dim, score, score >= 0.5, version, evidence))
        tagstore.write_passage_tags(store, rows)
        tagstore.refresh_dimensions(store, passage_pks=pks)
    from rppsearch.review import rollup

    rollup(store, [d for (d,) in store.conn.execute("SELECT id FROM documents")])


def build_store(path: Path, *, scores: dict[str, dict[str, float]] | None = None) -> Store:
    """The sample store at `path` (rpp.db), tagged by a stand-in model version v1."""
    store = Store.open(path)
    taxonomy = load_default_taxonomy()
    with store.transaction():
        tagstore.sync_dimensions(store, taxonomy)
        for doc_id, (title, paragraphs) in DOCS.items():
            docstore.replace_document(store, make_document(doc_id, title, paragraphs))
        card: dict[str, Any] = {
            "version": MODEL_VERSION,
            "kind": "test",
            "created_at": "2024-01-01T00:00:00+00:00",
            "codebook": {"name": taxonomy.name, "hash": taxonomy.hash},
            "training": {"hash": "test", "n_examples": 0},
            "metrics": {},
        }
        tagstore.register_model(store, card, path=f"models/{MODEL_VERSION}")
    write_model_tags(store, SCORES if scores is None else scores)
    return store


def tag_row(store: Store, passage_id: str, dim: str) -> dict[str, Any]:
    row = store.conn.execute(
        "SELECT t.score, t.assigned, t.source, t.model_version, t.evidence FROM passage_tags t "
        "JOIN passages p ON p.pk = t.passage_pk WHERE p.id = ? AND t.dimension_id = ?",
        (passage_id, dim),
    ).fetchone()
    return dict(row) if row else {}


def passage_dims(store: Store, passage_id: str) -> list[str]:
    row = store.conn.execute("SELECT dimensions FROM passages WHERE id = ?", (passage_id,)).fetchone()
    return json.loads(row[0])


def document_dims(store: Store, doc_id: str) -> list[str]:
    row = store.conn.execute("SELECT dimensions FROM documents WHERE id = ?", (doc_id,)).fetchone()
    return json.loads(row[0])


def labels(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store.conn.execute("SELECT * FROM labels ORDER BY id")]
