"""Datasette metadata for an rpp store: descriptions, facets, FTS, sort orders, canned queries.

(Formerly `datasette_config.py`.)

The plugin serves this through Datasette's `get_metadata` hook, so a plain
`datasette indexes/rpp.db` is ready to explore; `rpp serve --dump-metadata` prints it for
anyone who wants to pass it with `datasette -m` instead (local metadata wins over the hook).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TITLE = "rppsearch: central office transformation corpus"
SEARCH_PATH = "/-/rpp-search"
REVIEW_PATH = "/-/rpp-review"

DESCRIPTION_HTML = """<p>Documents about school-district central office transformation, cut into
passages and tagged with Meredith Honig's five dimensions (learning partnerships with principals,
assistance to those partnerships, reorganizing central office units, stewardship of the
transformation, and the use of evidence throughout).</p>
<p>Start with <a href="{search}">search</a> (keyword, semantic or hybrid, with dimension and
metadata filters), the <code>documents</code> and <code>passages</code> tables (facet by
dimension, organization, district, year and document type; full-text search), or the canned
queries below.</p>"""

SOURCE = "Documents listed in the corpus catalog; each row's url names its publisher"
LICENSE = "Texts stay under their publishers' terms; compiled for research use"

# Tables a newcomer never needs: vectors are binary blobs, meta is bookkeeping.
HIDDEN_TABLES = ("meta", "passage_vectors", "sqlite_sequence")

_DOCUMENT_COLUMNS = {
    "pk": "Row number (stable; passages and search results link here)",
    "id": "Document id: the catalog id or a slug of the file path",
    "path": "Source file, shown relative to the corpus folder (hover for the full path)",
    "format": "File format the text was extracted from (txt, md, html, pdf, docx)",
    "title": ("Title from your edit, the catalog, the library export or the file (see metadata_sources); "
              "documents sharing one title are told apart after ' — ' (metadata: shared_title)"),
    "authors": "JSON array of authors",
    "organization": "Publishing organization (district, research group, association)",
    "districts": "JSON array of the school districts the document is about",
    "mentioned_districts": "JSON array of the school districts the text names (canonical names)",
    "metadata_sources": "Where each metadata field came from: catalog, library, document, inferred or user",
    "year": "Year of publication",
    "doc_type": "Kind of document (report, case study, news, plan, …)",
    "url": "Where the document came from",
    "site_name": "Web site the document came from",
    "published": "Publication date as found",
    "metadata": "Other catalog fields (JSON)",
    "text": "The clean text of the whole document (left out of the table page; shown on the row page)",
    "content_hash": "Hash of the source file: unchanged files are skipped on rebuild",
    "word_count": "Words in the clean text",
    "passage_count": "Number of passages",
    "dimensions": "JSON array of the dimensions assigned to the document (human decisions win)",
    "ingested_at": "When the document was first added (UTC)",
    "updated_at": "When the document was last changed (UTC)",
}

_PASSAGE_COLUMNS = {
    "pk": "Row number (stable; the search page links here)",
    "id": "Passage id: DOCUMENT-pNNNN, numbered from 0",
    "document_id": "The document this passage belongs to",
    "seq": "Position in the document, from 0",
    "title": "Title of the document",
    "heading": "Section headings above the passage (outermost first)",
    "text": "The passage: a run of whole sentences, about 60–200 words",
    "start": "Character offset of the passage in the document text",
    "end": "Character offset just past the passage in the document text",
    "word_count": "Words in the passage",
    "text_hash": "Hash of the passage text (vectors are reused while it is unchanged)",
    "dimensions": "JSON array of the dimensions assigned to the passage (human decisions win)",
}

_TAG_COLUMNS = {
    "dimension_id": "Dimension id (see the dimensions table)",
    "score": "Classifier probability (1.0 / 0.0 for a human decision)",
    "assigned": "1 when the dimension is assigned, 0 when not",
    "source": "'model' for a classifier suggestion, 'human' for a reviewer's decision",
    "model_version": "The classifier version that produced the score",
}

_COVERAGE_COLUMNS = {
    "dimension_id": "Dimension id",
    "dimension": "Dimension name",
    "documents": "Documents in this group",
    "tagged_documents": "Documents in this group with the dimension assigned",
    "percent_documents": "Share of the group's documents with the dimension, in percent",
    "mean_document_score": "Mean document score where assigned",
    "passages": "Passages in this group",
    "tagged_passages": "Passages in this group with the dimension assigned",
}


def _coverage_view(group: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "facets": ["dimension_id"],
        "columns": {group: f"The {group} (documents without one are grouped as '(none)')", **_COVERAGE_COLUMNS},
    }


def table_metadata() -> dict[str, dict[str, Any]]:
    """Per-table (and per-view) metadata for an rpp store."""
    tables: dict[str, dict[str, Any]] = {
        "documents": {
            "description": "One row per source document, with its metadata and clean text.",
            "label_column": "title",
            "sort_desc": "year",
            "fts_table": "documents_fts",
            "fts_pk": "pk",
            "facets": [
                {"array": "dimensions"},
                "organization",
                {"array": "districts"},
                {"array": "mentioned_districts"},
                "year",
                "doc_type",
            ],
            "columns": _DOCUMENT_COLUMNS,
        },
        "passages": {
            "description": "Passages: runs of whole sentences that respect headings. "
            "Search them here (full text) or on the rpp search page (hybrid).",
            "label_column": "id",
            "sort": "pk",
            "fts_table": "passages_fts",
            "fts_pk": "pk",
            "facets": [{"array": "dimensions"}, "document_id"],
            "columns": _PASSAGE_COLUMNS,
        },
        "dimensions": {
            "description": "The codebook: the dimensions passages and documents are tagged with.",
            "label_column": "name",
            "sort": "position",
            "columns": {
                "id": "Dimension id used everywhere (filters, tags, labels)",
                "position": "Order in the codebook",
                "name": "Dimension name",
                "definition": "What the dimension covers",
                "taxonomy": "The codebook this dimension belongs to",
            },
        },
        "passage_tags": {
            "description": "One row per passage and dimension: the classifier's score, or a "
            "reviewer's decision (source = human), with the evidence sentences.",
            "sort_desc": "score",
            "facets": ["dimension_id", "assigned", "source"],
            "columns": {
                "passage_pk": "The passage (row number in passages)",
                **_TAG_COLUMNS,
                "evidence": "JSON list of {text, start, end, score}: the sentences that carry "
                "the tag, with offsets into the passage text",
            },
        },
        "document_tags": {
            "description": "One row per document and dimension, rolled up from its passages.",
            "sort_desc": "score",
            "facets": ["dimension_id", "assigned", "source"],
            "columns": {
                "document_id": "The document",
                **_TAG_COLUMNS,
                "n_passages": "Passages of the document with the dimension assigned",
            },
        },
        "labels": {
            "description": "Every human decision on a suggested tag (append-only): who, when, what.",
            "sort_desc": "created_at",
            "facets": ["decision", "reviewer", "dimension_id", "target_type"],
            "columns": {
                "target_type": "passage or document",
                "target_id": "Passage id or document id",
                "target_hash": "Hash of the target's text when decided",
                "dimension_id": "The dimension decided on",
                "decision": "accept, reject or skip",
                "reviewer": "Who decided",
                "note": "The reviewer's note",
                "model_version": "The classifier version whose suggestion was reviewed",
                "suggested_score": "The classifier's score at the time",
                "created_at": "When (UTC)",
            },
        },
        "models": {
            "description": "Trained classifier versions and their evaluation metrics.",
            "sort_desc": "created_at",
            "label_column": "version",
        },
        "document_dimensions": {
            "description": "Documents joined with the dimensions assigned to them (a view).",
            "facets": ["dimension_id", "organization", "year", "doc_type", "source"],
            "sort_desc": "score",
        },
        "passage_dimensions": {
            "description": "Passages joined with their assigned dimensions and their documents' "
            "metadata (a view).",
            "facets": ["dimension_id", "organization", "year", "doc_type", "source"],
            "sort_desc": "score",
        },
        "coverage_by_organization": _coverage_view(
            "organization", "How much of each organization's documents each dimension covers."
        ),
        "coverage_by_district": _coverage_view(
            "district", "How much of the documents about each district each dimension covers."
        ),
        "coverage_by_year": _coverage_view(
            "year", "How much of each year's documents each dimension covers."
        ),
    }
    for name in HIDDEN_TABLES:
        tables[name] = {"hidden": True}
    return tables


def canned_queries() -> dict[str, dict[str, Any]]:
    """Named, parameterised queries that answer a newcomer's first questions."""
    return {
        "passages_for_dimension": {
            "title": "Passages tagged with a dimension, above a score",
            "description": "Passages the classifier (or a reviewer) assigned to a dimension, "
            "best first. dimension: a dimension id; min_score: 0–1 (default 0.5).",
            "sql": """select
  p.pk, p.id as passage_id, p.document_id, d.title, t.score, t.source,
  p.heading, p.text
from passage_tags t
join passages p on p.pk = t.passage_pk
join documents d on d.id = p.document_id
where t.dimension_id = :dimension
  and t.assigned = 1
  and t.score >= coalesce(cast(nullif(:min_score, '') as real), 0.5)
order by t.score desc, p.pk
limit 200""",
        },
        "untagged_documents": {
            "title": "Documents with no dimension assigned",
            "description": "Documents where no dimension is assigned: outside the codebook, "
            "or waiting for tagging or review.",
            "sql": """select d.pk, d.id, d.title, d.organization, d.year, d.doc_type, d.passage_count
from documents d
where not exists (
  select 1 from document_tags t where t.document_id = d.id and t.assigned = 1
)
order by d.year desc, d.title""",
        },
        "search_passages": {
            "title": "Full-text search of passages, most relevant first",
            "description": "Passages matching your words (FTS5 with Porter stemming), ranked by "
            "BM25 relevance; the table search lands here. Words in «» matched. For meaning as "
            "well as words use the search page.",
            "sql": """select
  p.id as passage_id, p.document_id, p.heading,
  snippet(passages_fts, 0, '«', '»', '…', 32) as matched_text,
  round(-bm25(passages_fts), 2) as relevance
from passages_fts
join passages p on p.pk = passages_fts.rowid
where :q != '' and passages_fts match escape_fts(:q)
order by rank
limit 100""",
        },
        "search_documents": {
            "title": "Full-text search of documents, most relevant first",
            "description": "Documents whose title or text match your words, ranked by BM25 "
            "relevance; the table search lands here.",
            "sql": """select
  d.id as document_id, d.title, d.organization, d.year, d.doc_type,
  snippet(documents_fts, 1, '«', '»', '…', 32) as matched_text,
  round(-bm25(documents_fts), 2) as relevance
from documents_fts
join documents d on d.pk = documents_fts.rowid
where :q != '' and documents_fts match escape_fts(:q)
order by rank
limit 100""",
        },
        "review_queue": {
            "title": "Review queue: the most uncertain suggestions first",
            "description": "Classifier suggestions no reviewer has accepted or rejected yet, "
            "closest to the decision threshold first (margin = |score − threshold|; threshold defaults to 0.5). Decide them with "
            "`rpp review`. dimension: optional filter.",
            "sql": """select
  abs(t.score - coalesce(cast(nullif(:threshold, '') as real), 0.5)) as margin,
  p.pk, p.id as passage_id, t.dimension_id, t.score, t.assigned, t.model_version,
  d.title, p.text
from passage_tags t
join passages p on p.pk = t.passage_pk
join documents d on d.id = p.document_id
where t.source = 'model'
  and (:dimension = '' or t.dimension_id = :dimension)
  and not exists (
    select 1 from labels l
    where l.target_type = 'passage' and l.target_id = p.id
      and l.dimension_id = t.dimension_id and l.decision in ('accept', 'reject')
  )
order by margin, p.pk, t.dimension_id
limit 200""",
        },
        "semantic_passages_sql": {
            "title": "Semantic search in SQL (rpp_similarity)",
            "description": "Passages ranked by the cosine similarity of their stored vectors to "
            "your text, embedded with the index's model (the model loads on first use). The "
            "search page does this faster and mixes in keyword matches.",
            "sql": """select
  p.pk, p.id as passage_id, p.title, rpp_similarity(v.vector, :query) as similarity, p.text
from passage_vectors v
join passages p on p.pk = v.passage_pk
where :query != ''
order by similarity desc
limit 20""",
        },
    }


def database_metadata(*, search_url: str = SEARCH_PATH) -> dict[str, Any]:
    """Metadata for one rpp database: description, tables, canned queries."""
    return {
        "title": TITLE,
        "description_html": DESCRIPTION_HTML.format(search=search_url),
        "source": SOURCE,
        "license": LICENSE,
        "tables": table_metadata(),
        "queries": canned_queries(),
    }


def build_metadata(*, databases: list[str], search_url: str = SEARCH_PATH) -> dict[str, Any]:
    """Datasette metadata for the named rpp databases (empty when there are none)."""
    if not databases:
        return {}
    return {
        "title": TITLE,
        "description_html": DESCRIPTION_HTML.format(search=search_url),
        "source": SOURCE,
        "license": LICENSE,
        "databases": {name: database_metadata(search_url=search_url) for name in databases},
    }


def write_metadata(path: Path, *, databases: list[str]) -> Path:
    """Write the metadata as JSON (temp file, then rename) for `datasette -m`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from ..index.manifest import atomic_write  # noqa: PLC0415

    with atomic_write(path) as handle:
        json.dump(build_metadata(databases=databases), handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return path


# Datasette settings for `rpp serve`: facets over tens of thousands of passages and the
# rpp_similarity() canned query need more than the defaults (200 ms / 1 s).
SERVE_SETTINGS = {"facet_time_limit_ms": 1000, "sql_time_limit_ms": 5000}


def serve_args(*, db_path: Path, host: str, port: int) -> list[str]:
    """Arguments for `datasette` serving the store.

    The database is opened mutable (not `-i`): Datasette then reads through `mode=ro`
    connections that respect SQLite's WAL locking, so `rpp add` writing meanwhile is never
    seen half-done; immutable mode would skip locking and could read a torn state.
    """
    args = ["serve", str(db_path), "--host", host, "--port", str(port)]
    for key, value in SERVE_SETTINGS.items():
        args += ["--setting", key, str(value)]
    return args
