"""The SQLite store: migrations, WAL, transactions roll back, FTS stays in sync."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rppsearch.errors import StoreError
from rppsearch.ingest.segment import split_passages
from rppsearch.models import Block, Document, Metadata
from rppsearch.store import SCHEMA_VERSION, Store
from rppsearch.store import documents as docstore


def make_doc(doc_id: str, paragraphs: list[str], *, title: str = "A title") -> Document:
    text, passages = split_passages([Block(p) for p in paragraphs])
    return Document(
        id=doc_id, path=f"/tmp/{doc_id}.txt", format="txt", text=text,
        content_hash=f"hash-{doc_id}-{len(text)}", metadata=Metadata(title=title), passages=passages,
    )


def fts_ids(store: Store, query: str) -> list[str]:
    rows = store.conn.execute(
        "SELECT p.id FROM passages_fts JOIN passages p ON p.pk = passages_fts.rowid "
        "WHERE passages_fts MATCH ? ORDER BY p.id", (query,)
    )
    return [r[0] for r in rows]


def test_new_store_is_migrated_and_in_wal_mode(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"documents", "passages", "passages_fts", "dimensions", "passage_tags",
            "document_tags", "labels", "models"} <= tables


def test_reopening_does_not_migrate_again(index_dir: Path) -> None:
    Store.open(index_dir / "rpp.db").close()
    with Store.open(index_dir / "rpp.db") as again:
        assert again.migrate() == []


def test_newer_schema_is_refused(index_dir: Path) -> None:
    Store.open(index_dir / "rpp.db").close()
    conn = sqlite3.connect(index_dir / "rpp.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(index_dir / "rpp.db")


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "rpp.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="rpp.db"):
        Store.open(bad)


def test_missing_store_readonly_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path / "nope.db", create=False)
    assert "rpp build" in (info.value.hint or "")


def test_fts_follows_insert_replace_and_delete(store: Store) -> None:
    with store.transaction():
        docstore.replace_document(store, make_doc("d1", ["Principal supervisors coach principals weekly."]))
    assert fts_ids(store, "supervisor") == ["d1-p0000"]  # porter: supervisors -> supervisor
    with store.transaction():
        docstore.replace_document(store, make_doc("d1", ["Human resources units redesign hiring."]))
    assert fts_ids(store, "supervisor") == []
    assert fts_ids(store, "hiring") == ["d1-p0000"]
    with store.transaction():
        docstore.delete_document(store, "d1")
    assert fts_ids(store, "hiring") == []
    store.conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            docstore.replace_document(store, make_doc("d2", ["Evidence use in the central office."]))
            raise RuntimeError("crash mid-document")
    assert store.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM passages").fetchone()[0] == 0
    assert fts_ids(store, "evidence") == []


def test_vectors_of_unchanged_passages_survive_a_document_change(store: Store) -> None:
    first = "Principal supervisors coach principals in weekly school visits."
    with store.transaction():
        docstore.replace_document(store, make_doc("d3", [first, "An old closing paragraph here."]))
        pk = store.conn.execute("SELECT pk, text_hash FROM passages WHERE document_id='d3'").fetchone()
        store.conn.execute(
            "INSERT INTO passage_vectors(passage_pk, model, text_hash, vector) VALUES (?, 'm', ?, x'0000803f')",
            (pk[0], pk[1]),
        )
    generation = store.passages_generation()
    with store.transaction():
        docstore.replace_document(store, make_doc("d3", [first, "An old closing paragraph here."]))
    assert store.passages_generation() > generation
    rows = store.conn.execute(
        "SELECT v.vector FROM passage_vectors v JOIN passages p ON p.pk = v.passage_pk WHERE p.document_id='d3'"
    ).fetchall()
    assert [bytes(r[0]) for r in rows] == [b"\x00\x00\x80\x3f"]
