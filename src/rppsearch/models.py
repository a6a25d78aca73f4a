"""Plain dataclasses passed between pipeline stages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Ideographs and kana, written without spaces: each counts as one word unit.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD_UNIT = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")


def count_words(text: str) -> int:
    """Words for passage sizing and stats: runs between spaces, one per CJK character (a
    Japanese or Chinese text has no spaces, yet each character is about one model token)."""
    return sum(1 for _ in WORD_UNIT.finditer(text))


@dataclass
class Metadata:
    """What we know about a document: from the file, overridden by a library export, the
    catalog and the user's own edits. `sources` names where each stored field came from
    (one of `SOURCES`); `mentioned_districts` are the districts the text names (canonical)."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    organization: str | None = None
    districts: list[str] = field(default_factory=list)
    year: int | None = None
    doc_type: str | None = None
    url: str | None = None
    site_name: str | None = None
    published: str | None = None
    catalog_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    mentioned_districts: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    #: What tells the document apart from another with the same title, best first: its first
    #: headings after the title, then its opening words (kept in its own layer; see titling.py).
    distinctions: list[str] = field(default_factory=list)


#: Where a metadata field came from, weakest first: a later one overrides an earlier one.
SOURCES = ("inferred", "document", "library", "catalog", "user")
#: The metadata fields that carry a source (and that `rpp edit` can set).
METADATA_FIELDS = ("title", "authors", "organization", "districts", "year", "doc_type", "url",
                   "site_name", "published")


@dataclass
class Block:
    """A paragraph-like unit of clean text; `heading_level` > 0 marks a heading."""

    text: str
    heading_level: int = 0


@dataclass
class ParsedDocument:
    """A parser's output: clean text blocks plus file metadata."""

    blocks: list[Block]
    metadata: Metadata
    format: str


@dataclass
class Passage:
    """A run of whole sentences, with offsets into its document's text."""

    seq: int
    text: str
    start: int
    end: int
    heading: str = ""

    @property
    def word_count(self) -> int:
        return count_words(self.text)


@dataclass
class Document:
    """A cleaned document ready for the store."""

    id: str
    path: str
    format: str
    text: str
    content_hash: str
    metadata: Metadata
    passages: list[Passage] = field(default_factory=list)
    #: What the document says about itself (before library, catalog and user layers), kept
    #: so a metadata-only change is re-resolved without re-parsing the file.
    document_metadata: Metadata | None = None

    @property
    def word_count(self) -> int:
        return count_words(self.text)


@dataclass
class Evidence:
    """A sentence that carries a tag, with offsets into the passage text."""

    text: str
    start: int
    end: int
    score: float


#: Document fields a filter can restrict, and so fields a document may lack ("unknown").
FILTER_FIELDS = ("year", "organization", "district", "doc_type")


@dataclass
class Filters:
    """Restrictions applied before ranking.

    `dimensions`: a passage matches when it has ANY of them assigned (human decisions win
    over the model's), with `score >= min_score` when given. `organization` and `doc_type`
    match exactly, ignoring case; `district` matches one of the document's districts;
    `year_from`/`year_to` bound the document year (inclusive). A document lacking a filtered
    field (no year, no organization, no district, no type) is left out, and counted in
    `SearchPage.unknown`; with `include_unknown` it is kept (and still counted).
    `document_id` restricts to one document ("more from this document").
    """

    dimensions: list[str] = field(default_factory=list)
    min_score: float | None = None
    organization: str | None = None
    district: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    doc_type: str | None = None
    include_unknown: bool = False
    document_id: str | None = None

    def is_empty(self) -> bool:
        """Nothing is restricted (`include_unknown` alone restricts nothing)."""
        return not (self.dimensions or self.min_score is not None or self.document_id or self.filtered_fields())

    def filtered_fields(self) -> list[str]:
        """The FILTER_FIELDS this filter restricts (those whose unknowns it leaves out)."""
        used = {
            "year": self.year_from is not None or self.year_to is not None,
            "organization": bool(self.organization),
            "district": bool(self.district),
            "doc_type": bool(self.doc_type),
        }
        return [name for name in FILTER_FIELDS if used[name]]


@dataclass
class Hit:
    """A search result.

    `score` is the ranking engine's own number (RRF sum, BM25, cosine); `relevance` is the one
    a person reads: 0-100, the hit's fused score as a share of the best score possible in
    that mode (100 = ranked first by every engine used; see `rppsearch.fusion`).
    `matched_by` gives each engine that found the hit its rank (from 1) and score, e.g.
    `{"bm25": {"rank": 3, "score": 8.85}, "semantic": {"rank": 1, "score": 0.65}}`.
    `more_from_document`: further hits of this document folded away by the per-document cap
    (set on the document's best hit shown).
    """

    id: str
    document_id: str
    title: str | None
    score: float
    content: str
    dimensions: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    highlights: list[tuple[int, int]] = field(default_factory=list)
    matched_by: dict[str, dict[str, Any]] = field(default_factory=dict)
    relevance: float = 0.0
    more_from_document: int = 0


@dataclass
class SearchPage:
    """One page of results and what a reader needs around it.

    `total`: every result after filters and the per-document cap (what paging walks;
    `total_exact` False when an engine had more candidates than were ranked, see
    `search_page`); `folded`: passages hidden by the per-document cap; `unknown`: per
    filtered field (FILTER_FIELDS), documents lacking it, left out (or kept, with
    `include_unknown`); `message`: a notice instead of results (a query with no searchable
    words); `facets`: per dimension, organization, district, year and doc_type, `(value,
    count)` over the whole result set, most frequent first.
    """

    hits: list[Hit]
    total: int
    offset: int
    limit: int
    unknown: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    folded: int = 0
    total_exact: bool = True
    include_unknown: bool = False
    query: str = ""
    mode: str = "hybrid"


def snippet_window(text: str, spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """(start, end) of a window of at most `width` characters around the first highlight
    (a third of it before), cut at spaces: the terminal's and the Datasette page's snippet."""
    if len(text) <= width:
        return 0, len(text)
    anchor = spans[0][0] if spans else 0
    start = max(0, min(anchor - width // 3, len(text) - width))
    end = min(len(text), start + width)
    if start > 0:
        space = text.find(" ", start, start + 40)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return start, end
