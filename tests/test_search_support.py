"""Helpers for the search and index tests: documents written straight into a real store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rppsearch.models import Document, Metadata, Passage
from rppsearch.store import Store
from rppsearch.store.documents import delete_document, replace_document

DIMENSIONS = [
    ("learning-partnerships", "Learning partnerships"),
    ("partnership-assistance", "Assistance to partnerships"),
    ("unit-reorganization", "Unit reorganization"),
    ("stewardship", "Stewardship"),
    ("evidence-use", "Evidence use"),
]


@dataclass
class Doc:
    """A test document: passages as plain strings, plus metadata."""

    id: str
    passages: Sequence[str]
    title: str | None = None
    organization: str | None = None
    districts: list[str] = field(default_factory=list)
    year: int | None = None
    doc_type: str | None = None
    headings: Sequence[str] | None = None
    extra: dict = field(default_factory=dict)


def to_document(doc: Doc) -> Document:
    passages = []
    parts = []
    pos = 0
    for seq, text in enumerate(doc.passages):
        if parts:
            parts.append("\n\n")
            pos += 2
        heading = doc.headings[seq] if doc.headings else ""
        passages.append(Passage(seq=seq, text=text, start=pos, end=pos + len(text), heading=heading))
        parts.append(text)
        pos += len(text)
    text = "".join(parts)
    return Document(
        id=doc.id,
        path=f"/corpus/{doc.id}.txt",
        format="txt",
        text=text,
        content_hash=str(hash(text)),
        metadata=Metadata(
            title=doc.title,
            organization=doc.organization,
            districts=list(doc.districts),
            year=doc.year,
            doc_type=doc.doc_type,
            extra=dict(doc.extra),
        ),
        passages=passages,
    )


def add_docs(store: Store, docs: Sequence[Doc]) -> None:
    """Insert or replace the documents, one transaction."""
    with store.transaction():
        for doc in docs:
            replace_document(store, to_document(doc))


def remove_docs(store: Store, ids: Sequence[str]) -> None:
    with store.transaction():
        for doc_id in ids:
            delete_document(store, doc_id)


def add_dimensions(store: Store) -> None:
    with store.transaction():
        for pos, (dim_id, name) in enumerate(DIMENSIONS, start=1):
            store.conn.execute(
                "INSERT OR IGNORE INTO dimensions (id, position, name, definition, taxonomy) VALUES (?, ?, ?, ?, 'test')",
                (dim_id, pos, name, name),
            )


def tag_passage(store: Store, passage_id: str, dimension: str, *, score: float, assigned: bool, source: str = "model") -> None:
    pk = store.conn.execute("SELECT pk FROM passages WHERE id = ?", (passage_id,)).fetchone()[0]
    with store.transaction():
        store.conn.execute(
            "INSERT OR REPLACE INTO passage_tags (passage_pk, dimension_id, score, assigned, source, model_version) "
            "VALUES (?, ?, ?, ?, ?, 'test')",
            (pk, dimension, score, int(assigned), source),
        )


def index_all(store: Store, *, lexical: str = "tantivy"):  # noqa: ANN201
    """Encode `store`'s passages with the fake model and build its vectors index, and with
    `lexical="tantivy"` its tantivy index too (else searches use FTS5). Returns the settings."""
    from rppsearch.config import Settings  # noqa: PLC0415
    from rppsearch.index.bm25 import refresh_lexical  # noqa: PLC0415
    from rppsearch.index.vectors import embed_missing, refresh_index  # noqa: PLC0415

    settings = Settings(index_dir=store.path.parent, embedding_model="fake")
    embed_missing(store, settings)
    refresh_index(store, settings)
    if lexical == "tantivy":
        refresh_lexical(store, settings)
    return settings


def indexed_store(index_dir, docs: Sequence[Doc], *, lexical: str, before_index=None):  # noqa: ANN001, ANN201
    """A store at `index_dir` holding `docs`, encoded with the fake model and indexed
    (`index_all`). `before_index` runs on the store first (tags, say). Returns (store, settings)."""
    store = Store.open(index_dir / "rpp.db")
    add_docs(store, docs)
    if before_index is not None:
        before_index(store)
    return store, index_all(store, lexical=lexical)
