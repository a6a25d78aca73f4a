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


@dataclass
class Hit:
    """A search result."""

    id: str
    document_id: str
    title: str | None
    score: float
    content: str
    dimensions: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    highlights: list[tuple[int, int]] = field(default_factory=list)


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
