"""Documents and passages: insert, replace, delete, look up. Callers hold the transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields
from datetime import datetime, timezone
from typing import Any

from ..models import METADATA_FIELDS, Document, Metadata
from . import Store
from .district_sql import district_match, district_params


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def passage_id(document_id: str, seq: int) -> str:
    """Stable, URL-safe passage ids: `DOCID-p0003`."""
    return f"{document_id}-p{seq:04d}"


def document_by_path(store: Store, path: str) -> dict[str, Any] | None:
    row = store.conn.execute(
        "SELECT id, path, title, metadata, content_hash, metadata_hash, document_metadata FROM documents WHERE path = ?",
        (path,),
    ).fetchone()
    return dict(row) if row else None


def document_text(store: Store, doc_id: str) -> str:
    row = store.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
    return row[0] if row else ""


def metadata_to_dict(metadata: Metadata) -> dict[str, Any]:
    return {k: v for k, v in asdict(metadata).items() if v not in (None, "", [], {})}


def metadata_from_dict(data: dict[str, Any]) -> Metadata:
    names = {f.name for f in fields(Metadata)}
    return Metadata(**{k: v for k, v in data.items() if k in names})


def stored_layers(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row's own metadata layer ("document", a Metadata), library entry ("library"),
    catalog entry ("catalog"), and the digest of the district aliases the own layer's
    mentioned districts were found with ("mentions_aliases", None when not noted)."""
    try:
        data = json.loads(row.get("document_metadata") or "{}")
    except ValueError:
        data = {}
    own = data.get("document")
    return {
        "document": metadata_from_dict(own) if isinstance(own, dict) else None,
        "library": data.get("library"),
        "catalog": data.get("catalog"),
        "mentions_aliases": data.get("mentions_aliases"),
    }


def _layers_json(
    document_metadata: Metadata | None,
    library: dict[str, Any] | None,
    catalog: dict[str, Any] | None,
    mentions_aliases: str | None = None,
) -> str:
    data: dict[str, Any] = {}
    if document_metadata is not None:
        data["document"] = metadata_to_dict(document_metadata)
        if mentions_aliases:
            data["mentions_aliases"] = mentions_aliases
    if library:
        data["library"] = library
    if catalog:
        data["catalog"] = catalog
    return json.dumps(data, ensure_ascii=False, default=str)


def _metadata_columns(meta: Metadata) -> dict[str, Any]:
    return {
        "title": meta.title,
        "authors": json.dumps(meta.authors, ensure_ascii=False),
        "organization": meta.organization,
        "districts": json.dumps(meta.districts, ensure_ascii=False),
        "year": meta.year,
        "doc_type": meta.doc_type,
        "url": meta.url,
        "site_name": meta.site_name,
        "published": meta.published,
        "metadata": json.dumps(meta.extra, ensure_ascii=False, default=str),
        "mentioned_districts": json.dumps(meta.mentioned_districts, ensure_ascii=False),
        "metadata_sources": json.dumps(meta.sources, ensure_ascii=False, sort_keys=True),
    }


def update_metadata(
    store: Store,
    doc_id: str,
    metadata: Metadata,
    *,
    document_metadata: Metadata | None,
    metadata_hash: str | None,
    library: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    mentions_aliases: str | None = None,
) -> None:
    """Write a document's metadata columns (passages' titles follow) without touching its text.
    `mentions_aliases`: the digest of the district aliases `document_metadata`'s mentioned
    districts were found with (`ingest.metadata.Layers.aliases_digest`), if known. Must run
    inside `store.transaction()`."""
    conn = store.conn
    _, before = _stored_encoded_title(store, doc_id)
    values = _metadata_columns(metadata)
    values["document_metadata"] = _layers_json(document_metadata, library, catalog, mentions_aliases)
    values["metadata_hash"] = metadata_hash
    values["updated_at"] = now_iso()
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE documents SET {sets} WHERE id = ?", [*values.values(), doc_id])
    after = encoded_title(metadata.title, metadata.sources.get("title"))
    passages_follow_title(store, doc_id, metadata.title, drop_vectors=after != before)
    bump_metadata_generation(store)


#: Counts passages whose vectors were dropped in place (a new title): the vectors index reuses
#: rows by passage pk, so it rebuilds every row when this moved since it was built.
VECTORS_REWRITTEN = "vectors_rewritten"

#: Title sources whose title is not encoded with the passages: a title rppsearch guessed from
#: the text (its opening sentence or an early heading, or a shared title told apart by opening
#: words) repeats words of one passage on every passage of the document. Titles the document
#: declares, or a catalog, library, data set or person gives, are encoded.
GUESSED_TITLE_SOURCES = ("inferred",)
#: The same rule in SQL, for a row of `documents` aliased `d`.
GUESSED_TITLE_SQL = (
    "json_extract(d.metadata_sources, '$.title') IN (" + ", ".join(f"'{s}'" for s in GUESSED_TITLE_SOURCES) + ")"
)


def encoded_title(title: str | None, source: str | None) -> str | None:
    """The title encoded with a document's passages: `title`, unless rppsearch guessed it."""
    return None if source in GUESSED_TITLE_SOURCES else title


def _stored_encoded_title(store: Store, doc_id: str) -> tuple[bool, str | None]:
    """(whether `doc_id` is stored, the title its passages' vectors encode)."""
    row = store.conn.execute(
        "SELECT title, json_extract(metadata_sources, '$.title') FROM documents WHERE id = ?", (doc_id,)
    ).fetchone()
    return (False, None) if row is None else (True, encoded_title(row[0], row[1]))


def passages_follow_title(store: Store, doc_id: str, title: str | None, *, drop_vectors: bool) -> int:
    """Give `doc_id`'s passages `title`; return how many changed. With `drop_vectors` (the
    encoded title changed: `encoded_title`), their vectors go: `rpp build` re-encodes those
    passages, and only those. The lexical index, which holds titles, becomes stale when the
    title changed. Must run inside `store.transaction()`."""
    conn = store.conn
    dropped = conn.execute(
        "DELETE FROM passage_vectors WHERE passage_pk IN (SELECT pk FROM passages WHERE document_id = ?)", (doc_id,),
    ).rowcount if drop_vectors else 0
    if dropped:  # these passages keep their pks but will get new vectors: the matrix's rows for them go stale
        store.bump_meta(VECTORS_REWRITTEN)
    cur = conn.execute("UPDATE passages SET title = ? WHERE document_id = ? AND title IS NOT ?", (title, doc_id, title))
    if cur.rowcount:  # the lexical index holds titles: it goes stale
        store.bump_meta("passages_generation")
    return cur.rowcount


def title_rows(store: Store) -> list[dict[str, Any]]:
    """Every document's id, format, title, its title's source and the shared title it was told
    apart from (JSON, or None): cheap columns only, to find who shares a title."""
    rows = store.conn.execute(
        "SELECT id, format, title, json_extract(metadata_sources, '$.title') AS title_source, "
        "json_extract(metadata, '$.shared_title') AS shared FROM documents ORDER BY id"
    )
    return [dict(r) for r in rows]


def title_details(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """For `ids`: path, field sources, extra metadata, own layer and the first passage's text."""
    sql = (
        "SELECT d.id, d.path, d.metadata_sources, d.metadata, d.document_metadata, "
        "(SELECT p.text FROM passages p WHERE p.document_id = d.id ORDER BY p.seq LIMIT 1) AS first_passage "
        "FROM documents d WHERE d.id IN"
    )
    from .chunked import select_in  # noqa: PLC0415

    return {r["id"]: dict(r) for r in select_in(store, sql, ids)}


def retitle_document(store: Store, doc_id: str, *, title: str, sources: dict[str, str], extra: dict[str, Any]) -> None:
    """Set a document's title (its passages follow), the source of each field and its extra
    metadata, nothing else. Must run inside `store.transaction()`."""
    _, before = _stored_encoded_title(store, doc_id)
    store.conn.execute(
        "UPDATE documents SET title = ?, metadata_sources = ?, metadata = ?, updated_at = ? WHERE id = ?",
        (title, json.dumps(sources, ensure_ascii=False, sort_keys=True), json.dumps(extra, ensure_ascii=False, default=str),
         now_iso(), doc_id),
    )
    passages_follow_title(store, doc_id, title, drop_vectors=encoded_title(title, sources.get("title")) != before)
    bump_metadata_generation(store)


#: Counts metadata changes made without touching passages (`rpp edit`, catalog or alias
#: updates): what a filter lets through may differ after one, so searches key caches on it.
METADATA_GENERATION = "metadata_generation"


def bump_metadata_generation(store: Store) -> None:
    """Must run inside `store.transaction()`."""
    store.bump_meta(METADATA_GENERATION)


def user_overrides(store: Store, doc_id: str) -> dict[str, Any] | None:
    """The fields the user set with `rpp edit` (they win over every other source)."""
    row = store.conn.execute("SELECT fields FROM document_overrides WHERE document_id = ?", (doc_id,)).fetchone()
    return json.loads(row[0]) or None if row else None


def set_user_overrides(store: Store, doc_id: str, values: dict[str, Any]) -> None:
    """Merge `values` into the user's overrides of `doc_id`. Must run inside a transaction."""
    current = user_overrides(store, doc_id) or {}
    current.update(values)
    store.conn.execute(
        "INSERT INTO document_overrides (document_id, fields, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(document_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
        (doc_id, json.dumps(current, ensure_ascii=False), now_iso()),
    )


def save_district_aliases(store: Store, pairs: list[tuple[str, str]]) -> None:
    """Add or update spellings (spelling -> canonical name) in the `district_aliases` table that
    filters consult. Spellings from earlier runs stay: an ingest of another folder, without
    that folder's alias file, must not forget them (no write when nothing is new)."""
    known = dict(district_alias_pairs(store))
    new = [(alias, canonical) for alias, canonical in pairs if known.get(alias) != canonical]
    if not new:
        return
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO district_aliases (alias, canonical) VALUES (?, ?) "
            "ON CONFLICT(alias) DO UPDATE SET canonical = excluded.canonical",
            new,
        )
        bump_metadata_generation(store)


def document_by_id(store: Store, doc_id: str) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
    return dict(row) if row else None


def documents_with_hash(store: Store, content_hash: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT id, path, format FROM documents WHERE content_hash = ? ORDER BY pk", (content_hash,)
    )
    return [dict(r) for r in rows]


def move_document(store: Store, doc_id: str, path: str) -> None:
    """Record that a stored document's file now lives at `path` (same content, nothing re-parsed)."""
    store.conn.execute("UPDATE documents SET path = ?, updated_at = ? WHERE id = ?", (path, now_iso(), doc_id))


def all_document_paths(store: Store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.conn.execute("SELECT id, path FROM documents ORDER BY id")]


def replace_document(
    store: Store,
    doc: Document,
    *,
    metadata_hash: str | None = None,
    library: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    mentions_aliases: str | None = None,
) -> str:
    """Insert `doc` or replace the stored one with the same id; return 'added' or 'updated'.
    (`mentions_aliases`: as for `update_metadata`.)

    Passages are replaced wholesale (FTS follows through triggers). Vectors of passages
    whose text did not change are carried over, so a changed file only re-encodes what
    changed. Must run inside `store.transaction()`.
    """
    conn = store.conn
    assert conn.in_transaction, "replace_document needs a transaction"
    stored, before = _stored_encoded_title(store, doc.id)
    carried: dict[tuple[str, str | None], tuple[str, bytes]] = {}
    if stored:
        # A vector encodes the passage's encoded title and heading with its text: carried only
        # when all three are unchanged (a new title re-encodes the document's passages, nothing else).
        if before == encoded_title(doc.metadata.title, doc.metadata.sources.get("title")):
            for row in conn.execute(
                "SELECT v.text_hash, p.heading, v.model, v.vector FROM passage_vectors v "
                "JOIN passages p ON p.pk = v.passage_pk WHERE p.document_id = ?",
                (doc.id,),
            ):
                carried[(row[0], row[1])] = (row[2], row[3])
        conn.execute("DELETE FROM passages WHERE document_id = ?", (doc.id,))
    meta = doc.metadata
    stamp = now_iso()
    values = {
        "id": doc.id,
        "path": doc.path,
        "format": doc.format,
        **_metadata_columns(meta),
        "document_metadata": _layers_json(doc.document_metadata, library, catalog, mentions_aliases),
        "metadata_hash": metadata_hash,
        "text": doc.text,
        "content_hash": doc.content_hash,
        "word_count": doc.word_count,
        "passage_count": len(doc.passages),
        "updated_at": stamp,
    }
    if not stored:
        values["ingested_at"] = stamp
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        conn.execute(f"INSERT INTO documents ({cols}) VALUES ({marks})", list(values.values()))
        status = "added"
    else:
        sets = ", ".join(f"{k} = ?" for k in values if k != "id")
        conn.execute(
            f"UPDATE documents SET {sets}, dimensions = '[]' WHERE id = ?",
            [v for k, v in values.items() if k != "id"] + [doc.id],
        )
        conn.execute("DELETE FROM document_tags WHERE document_id = ? AND source = 'model'", (doc.id,))
        status = "updated"
    for passage in doc.passages:
        digest = text_hash(passage.text)
        cur = conn.execute(
            'INSERT INTO passages (id, document_id, seq, title, heading, text, start, "end", '
            "word_count, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                passage_id(doc.id, passage.seq),
                doc.id,
                passage.seq,
                meta.title,
                passage.heading,
                passage.text,
                passage.start,
                passage.end,
                passage.word_count,
                digest,
            ),
        )
        if (digest, passage.heading) in carried:
            model, blob = carried[(digest, passage.heading)]
            conn.execute(
                "INSERT INTO passage_vectors (passage_pk, model, text_hash, vector) VALUES (?, ?, ?, ?)",
                (cur.lastrowid, model, digest, blob),
            )
    return status


def delete_document(store: Store, doc_id: str) -> bool:
    """Remove a document, its passages, vectors and tags. Must run inside a transaction."""
    conn = store.conn
    conn.execute("DELETE FROM passages WHERE document_id = ?", (doc_id,))
    conn.execute("DELETE FROM document_overrides WHERE document_id = ?", (doc_id,))
    cur = conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
    return cur.rowcount > 0


def corpus_stats(store: Store) -> dict[str, Any]:
    """Counts of documents, passages and words; breakdowns by organization, year, doc type."""
    conn = store.conn
    docs, words = conn.execute("SELECT count(*), coalesce(sum(word_count), 0) FROM documents").fetchone()
    passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]

    def breakdown(column: str) -> list[dict[str, Any]]:
        rows = conn.execute(
            f"SELECT {column} AS value, count(*) AS documents, coalesce(sum(passage_count), 0) AS passages, "
            f"coalesce(sum(word_count), 0) AS words FROM documents GROUP BY {column} "
            f"ORDER BY documents DESC, value"
        )
        return [dict(r) for r in rows]

    return {
        "documents": docs,
        "passages": passages,
        "words": words,
        "by_organization": breakdown("organization"),
        "by_year": breakdown("year"),
        "by_doc_type": breakdown("doc_type"),
        "by_format": breakdown("format"),
    }


def district_alias_pairs(store: Store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.conn.execute("SELECT alias, canonical FROM district_aliases")]


_JSON_COLUMNS = ("authors", "districts", "mentioned_districts", "dimensions", "metadata_sources", "metadata")
_LISTED = ("id", "title", "year", "organization", "districts", "mentioned_districts", "doc_type", "authors",
           "url", "published", "format", "path", "word_count", "passage_count", "dimensions", "metadata_sources",
           "metadata")


def public_row(row: dict[str, Any]) -> dict[str, Any]:
    """A documents row as users see it: JSON columns decoded, the text and layers left out;
    `sources` names where each field came from, `extra` holds DOI, keywords and the like."""
    out = {k: row.get(k) for k in _LISTED}
    for name in _JSON_COLUMNS:
        try:
            out[name] = json.loads(out.get(name) or ("{}" if name in ("metadata_sources", "metadata") else "[]"))
        except ValueError:
            pass
    out["sources"] = out.pop("metadata_sources")
    out["extra"] = out.pop("metadata")
    return out


def row_metadata(row: dict[str, Any]) -> Metadata:
    """A stored row's resolved metadata as a Metadata (for rows stored before layers were kept)."""
    data = public_row(row)
    return Metadata(
        title=data["title"], authors=data["authors"], organization=data["organization"], districts=data["districts"],
        year=data["year"], doc_type=data["doc_type"], url=data["url"], published=data["published"],
        sources={k: v for k, v in data["sources"].items() if v in ("document", "inferred")},
    )


def document_rows(
    store: Store,
    *,
    organization: str | None = None,
    district: str | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    doc_type: str | None = None,
    dimension: str | None = None,
    missing: str | None = None,
) -> Any:
    """Documents (without their text) matching the filters, by id. `district` (any spelling)
    matches the districts a document is about (district_sql.district_match); `missing` a field it lacks."""
    clauses, params = [], []
    if organization:
        clauses.append("organization = ? COLLATE NOCASE")
        params.append(organization)
    if district:
        clauses.append(district_match(""))
        params += district_params(district)
    if year_from is not None:
        clauses.append("year >= ?")
        params.append(year_from)
    if year_to is not None:
        clauses.append("year <= ?")
        params.append(year_to)
    if doc_type:
        clauses.append("doc_type = ? COLLATE NOCASE")
        params.append(doc_type)
    if dimension:
        clauses.append("EXISTS (SELECT 1 FROM json_each(dimensions) j WHERE j.value = ?)")
        params.append(dimension)
    if missing:
        if missing not in METADATA_FIELDS:
            raise ValueError(f"not a metadata field: {missing}")
        clauses.append(f"({missing} IS NULL OR {missing} IN ('', '[]'))")  # a known column name
    where = " WHERE " + " AND ".join(f"({c})" for c in clauses) if clauses else ""
    cols = ", ".join(f'"{c}"' for c in _LISTED)
    for row in store.conn.execute(f"SELECT {cols} FROM documents{where} ORDER BY id", params):
        yield public_row(dict(row))


def document_tag_rows(store: Store, doc_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT dimension_id, round(score, 3) AS score, assigned, n_passages, source, model_version "
        "FROM document_tags WHERE document_id = ? ORDER BY score DESC",
        (doc_id,),
    )
    return [dict(r) for r in rows]


def passage_rows(store: Store, doc_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT id, seq, heading, word_count, dimensions, text FROM passages WHERE document_id = ? ORDER BY seq",
        (doc_id,),
    )
    out = []
    for r in rows:
        item = dict(r)
        item["dimensions"] = json.loads(item["dimensions"] or "[]")
        out.append(item)
    return out
