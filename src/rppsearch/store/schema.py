"""Numbered schema migrations. Append new ones; never edit a released one."""

from __future__ import annotations

# Each migration is a list of SQL statements run in one transaction.
MIGRATIONS: list[list[str]] = [
    # 1: documents, passages (+FTS5, porter), vectors, codebook, tags, labels, models.
    [
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)""",
        """CREATE TABLE documents (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL UNIQUE,
            format TEXT NOT NULL,
            title TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            organization TEXT,
            districts TEXT NOT NULL DEFAULT '[]',
            year INTEGER,
            doc_type TEXT,
            url TEXT,
            site_name TEXT,
            published TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            word_count INTEGER NOT NULL,
            passage_count INTEGER NOT NULL,
            dimensions TEXT NOT NULL DEFAULT '[]',
            ingested_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE passages (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            title TEXT,
            heading TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            word_count INTEGER NOT NULL,
            text_hash TEXT NOT NULL,
            dimensions TEXT NOT NULL DEFAULT '[]'
        )""",
        "CREATE INDEX passages_document ON passages(document_id, seq)",
        """CREATE VIRTUAL TABLE passages_fts USING fts5(
            text, heading, title,
            content="passages", content_rowid="pk",
            tokenize='porter unicode61 remove_diacritics 2'
        )""",
        """CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
            INSERT INTO passages_fts(rowid, text, heading, title)
            VALUES (new.pk, new.text, new.heading, new.title);
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'passages_generation';
        END""",
        """CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
            INSERT INTO passages_fts(passages_fts, rowid, text, heading, title)
            VALUES ('delete', old.pk, old.text, old.heading, old.title);
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'passages_generation';
        END""",
        """CREATE TRIGGER passages_au AFTER UPDATE OF text, heading, title ON passages BEGIN
            INSERT INTO passages_fts(passages_fts, rowid, text, heading, title)
            VALUES ('delete', old.pk, old.text, old.heading, old.title);
            INSERT INTO passages_fts(rowid, text, heading, title)
            VALUES (new.pk, new.text, new.heading, new.title);
        END""",
        """CREATE VIRTUAL TABLE documents_fts USING fts5(
            title, text,
            content="documents", content_rowid="pk",
            tokenize='porter unicode61 remove_diacritics 2'
        )""",
        """CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
            INSERT INTO documents_fts(rowid, title, text) VALUES (new.pk, new.title, new.text);
        END""",
        """CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
            INSERT INTO documents_fts(documents_fts, rowid, title, text)
            VALUES ('delete', old.pk, old.title, old.text);
        END""",
        """CREATE TRIGGER documents_au AFTER UPDATE OF title, text ON documents BEGIN
            INSERT INTO documents_fts(documents_fts, rowid, title, text)
            VALUES ('delete', old.pk, old.title, old.text);
            INSERT INTO documents_fts(rowid, title, text) VALUES (new.pk, new.title, new.text);
        END""",
        """CREATE TABLE passage_vectors (
            passage_pk INTEGER PRIMARY KEY REFERENCES passages(pk) ON DELETE CASCADE,
            model TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            vector BLOB NOT NULL
        )""",
        """CREATE TABLE dimensions (
            id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            definition TEXT NOT NULL,
            taxonomy TEXT NOT NULL
        )""",
        """CREATE TABLE passage_tags (
            passage_pk INTEGER NOT NULL REFERENCES passages(pk) ON DELETE CASCADE,
            dimension_id TEXT NOT NULL REFERENCES dimensions(id),
            score REAL NOT NULL,
            assigned INTEGER NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('model', 'human')),
            model_version TEXT,
            evidence TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (passage_pk, dimension_id)
        )""",
        "CREATE INDEX passage_tags_dimension ON passage_tags(dimension_id, assigned, score)",
        """CREATE TABLE document_tags (
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            dimension_id TEXT NOT NULL REFERENCES dimensions(id),
            score REAL NOT NULL,
            assigned INTEGER NOT NULL,
            n_passages INTEGER NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('model', 'human')),
            model_version TEXT,
            PRIMARY KEY (document_id, dimension_id)
        )""",
        "CREATE INDEX document_tags_dimension ON document_tags(dimension_id, assigned, score)",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            target_type TEXT NOT NULL CHECK (target_type IN ('passage', 'document')),
            target_id TEXT NOT NULL,
            target_hash TEXT,
            dimension_id TEXT,
            decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'skip')),
            reviewer TEXT NOT NULL,
            note TEXT,
            model_version TEXT,
            suggested_score REAL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX labels_target ON labels(target_type, target_id, dimension_id)",
        "CREATE INDEX labels_reviewer ON labels(reviewer)",
        """CREATE TABLE models (
            version TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            taxonomy TEXT NOT NULL,
            taxonomy_hash TEXT NOT NULL,
            training_hash TEXT NOT NULL,
            n_examples INTEGER NOT NULL,
            metrics TEXT NOT NULL DEFAULT '{}',
            path TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 0
        )""",
        "INSERT INTO meta(key, value) VALUES ('passages_generation', '0')",
        "INSERT INTO meta(key, value) VALUES ('fts_tokenizer', 'porter unicode61 remove_diacritics 2')",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
