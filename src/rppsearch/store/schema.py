"""Numbered schema migrations. Append new ones; never edit a released one."""

from __future__ import annotations

#: The districts a document `d` is about (store/district_sql.document_districts, spelled out so
#: that a migration's text never changes when that module does).
_DOC_DISTRICTS = (
    "(CASE WHEN coalesce(d.districts, '[]') IN ('[]', '') "
    "AND coalesce(json_extract(d.metadata_sources, '$.districts'), '') != 'user' "
    "THEN coalesce(d.mentioned_districts, '[]') ELSE d.districts END)"
)


def _coverage_view(column: str, groups: str) -> str:
    """`CREATE VIEW coverage_by_<column>`: per group and dimension, the documents and passages
    and how many carry the tag. `groups` is a parenthesised query of (document_id, grp) rows.

    Released migrations are built with it, so it is released text too: never edit it; a view of
    another shape needs a new migration with its own SQL."""
    return f"""CREATE VIEW coverage_by_{column} AS
        WITH dg AS {groups},
        totals AS (SELECT grp, count(DISTINCT document_id) AS documents FROM dg GROUP BY grp),
        passage_totals AS (
            SELECT dg.grp, count(*) AS n FROM passages p JOIN dg ON dg.document_id = p.document_id
            GROUP BY dg.grp
        ),
        doc_hits AS (
            SELECT dg.grp, t.dimension_id, count(*) AS n, avg(t.score) AS mean_score
            FROM document_tags t JOIN dg ON dg.document_id = t.document_id
            WHERE t.assigned = 1 GROUP BY dg.grp, t.dimension_id
        ),
        passage_hits AS (
            SELECT dg.grp, t.dimension_id, count(*) AS n
            FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk
            JOIN dg ON dg.document_id = p.document_id
            WHERE t.assigned = 1 GROUP BY dg.grp, t.dimension_id
        )
        SELECT totals.grp AS {column}, dim.id AS dimension_id, dim.name AS dimension,
               totals.documents, coalesce(dh.n, 0) AS tagged_documents,
               round(100.0 * coalesce(dh.n, 0) / totals.documents, 1) AS percent_documents,
               round(dh.mean_score, 3) AS mean_document_score,
               coalesce(pt.n, 0) AS passages, coalesce(ph.n, 0) AS tagged_passages
        FROM totals CROSS JOIN dimensions dim
        LEFT JOIN passage_totals pt ON pt.grp IS totals.grp
        LEFT JOIN doc_hits dh ON dh.grp IS totals.grp AND dh.dimension_id = dim.id
        LEFT JOIN passage_hits ph ON ph.grp IS totals.grp AND ph.dimension_id = dim.id
        ORDER BY totals.grp, dim.position
        """


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
    # 2: read-only views for Datasette and reports: dimensions joined to their documents and
    # passages, and dimension coverage by organization, district and year (zero rows kept, so
    # gaps show). Views hold no data: nothing to migrate, nothing to keep in sync.
    [
        """CREATE VIEW document_dimensions AS
        SELECT d.pk AS document_pk, d.id AS document_id, d.title, d.organization, d.districts,
               d.year, d.doc_type, t.dimension_id, dim.name AS dimension, t.score, t.n_passages,
               t.source, t.model_version
        FROM document_tags t
        JOIN documents d ON d.id = t.document_id
        LEFT JOIN dimensions dim ON dim.id = t.dimension_id
        WHERE t.assigned = 1
        """,
        """CREATE VIEW passage_dimensions AS
        SELECT p.pk AS passage_pk, p.id AS passage_id, p.document_id, d.title, p.heading,
               d.organization, d.districts, d.year, d.doc_type, t.dimension_id,
               dim.name AS dimension, t.score, t.source, t.model_version, t.evidence, p.text
        FROM passage_tags t
        JOIN passages p ON p.pk = t.passage_pk
        JOIN documents d ON d.id = p.document_id
        LEFT JOIN dimensions dim ON dim.id = t.dimension_id
        WHERE t.assigned = 1
        """,
        _coverage_view(
            "organization",
            "(SELECT id AS document_id, coalesce(organization, '(none)') AS grp FROM documents)",
        ),
        _coverage_view(
            "district",
            """(
            SELECT DISTINCT d.id AS document_id, j.value AS grp FROM documents d, json_each(d.districts) j
            UNION ALL
            SELECT id, '(none)' FROM documents WHERE json_array_length(districts) = 0
        )""",
        ),
        _coverage_view(
            "year",
            "(SELECT id AS document_id, year AS grp FROM documents)",
        ),
    ],
    # 3: labels remember whether the model had assigned the tag it reviewed (with the score
    # already in suggested_score), so undo can restore the model's tag exactly, a second
    # reviewer sees the model's suggestion rather than the first reviewer's decision, and
    # `rpp evaluate` can tell how often the model agreed with people.
    [
        "ALTER TABLE labels ADD COLUMN suggested_assigned INTEGER",
        "CREATE INDEX labels_created ON labels(created_at, id)",
    ],
    # 4: a file found under a new path is matched to the stored document with the same
    # content (a moved or renamed corpus folder) without scanning every document.
    [
        "CREATE INDEX documents_content_hash ON documents(content_hash)",
    ],
    # metadata users can filter on: where each field came from (catalog, library, document,
    # inferred, user), the districts the text mentions (canonical names, apart from the
    # catalog's), the document's own metadata (so a changed catalog or library export updates
    # a row without re-parsing its file), the user's `rpp edit` overrides (kept across
    # re-ingests), and the district spellings collapsed onto one canonical name.
    [
        "ALTER TABLE documents ADD COLUMN mentioned_districts TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE documents ADD COLUMN metadata_sources TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE documents ADD COLUMN document_metadata TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE documents ADD COLUMN metadata_hash TEXT",
        """CREATE TABLE document_overrides (
            document_id TEXT PRIMARY KEY,
            fields TEXT NOT NULL DEFAULT '{}',
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE district_aliases (
            alias TEXT PRIMARY KEY,
            canonical TEXT NOT NULL
        )""",
    ],
    # districts in the coverage view by the one rule filters, facets and maps use: the districts
    # a catalog, library or edit names, else those the document's own text names.
    [
        "DROP VIEW coverage_by_district",
        _coverage_view(
            "district",
            f"""(
            SELECT DISTINCT d.id AS document_id, j.value AS grp FROM documents d, json_each({_DOC_DISTRICTS}) j
            UNION ALL
            SELECT id, '(none)' FROM documents d WHERE json_array_length({_DOC_DISTRICTS}) = 0
        )""",
        ),
    ],
    # passages are encoded with their document's title only when the document or a person gave
    # it (`documents.encoded_title`): vectors encoding a title rppsearch guessed are dropped, and
    # `rpp build` re-encodes those passages only
    [
        "DELETE FROM passage_vectors WHERE passage_pk IN (SELECT p.pk FROM passages p "
        "JOIN documents d ON d.id = p.document_id WHERE json_extract(d.metadata_sources, '$.title') IN ('inferred'))",
        "INSERT INTO meta(key, value) VALUES ('vectors_rewritten', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
