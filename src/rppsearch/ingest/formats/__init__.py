"""One parser a format: files in, clean paragraph `Block`s and file metadata out.

`parse_file(path)` picks the format from the suffix through the registry `FORMATS` (one
module a format: txt, md, html, pdf, docx, pptx) and returns a `ParsedDocument`; a file named
as text that starts like a PDF or an Office package is parsed as one (a mislabelled download).
Anything unreadable raises `InputError(path, reason)` with a short reason ("empty file",
"encrypted PDF (password required)", "not a valid DOCX: …"): never a traceback.

Heavy libraries (trafilatura, pypdf, python-docx, python-pptx, charset-normalizer, yaml) are
imported lazily by the format modules.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError
from ...models import Block, Metadata, ParsedDocument
from ..clean import normalize_text
from . import docx, html, md, pdf, pptx, txt
from .common import MAX_BINARY_BYTES, MAX_TEXT_BYTES, mb_text, quiet, short_reason
from .md import markdown_blocks, md_inline
from .text import decode_text

Parser = Callable[[Path, int], tuple[list[Block], Metadata]]


@dataclass(frozen=True)
class Format:
    """A readable format: its name (stored as the document's format), the label used in error
    messages, the suffixes it is chosen by, its parser, and whether it is a binary package
    (larger size limit, never sniffed as text)."""

    name: str
    label: str
    suffixes: tuple[str, ...]
    parse: Parser
    binary: bool = False


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("txt", "text file", (".txt",), txt.parse_txt),
        Format("md", "Markdown", (".md", ".markdown"), md.parse_md),
        Format("html", "HTML", (".html", ".htm"), html.parse_html),
        Format("pdf", "PDF", (".pdf",), pdf.parse_pdf, binary=True),
        Format("docx", "DOCX", (".docx",), docx.parse_docx, binary=True),
        Format("pptx", "PPTX", (".pptx",), pptx.parse_pptx, binary=True),
    )
}
_BY_SUFFIX: dict[str, str] = {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_BY_SUFFIX)

#: The main part that marks a ZIP as an Office package of a format (for mislabelled downloads).
_PACKAGE_PARTS = {"word/document.xml": "docx", "ppt/presentation.xml": "pptx"}


def format_of(path: Path) -> str | None:
    """The format name `path`'s suffix selects, or None for an unsupported suffix."""
    return _BY_SUFFIX.get(Path(path).suffix.lower())


def check_file(path: Path, *, max_bytes: int | None = None) -> tuple[str, int]:
    """The format to parse `path` as and its size limit, or `InputError` for a file not worth
    reading (unsupported, missing, not a regular file, empty, too large).

    Cheap (a stat and an 8-byte read): ingest calls it before hashing a file, so a refused
    1 GB file costs nothing on the next run either.
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt is None:
        raise InputError(
            path,
            "unsupported file type",
            hint="supported: " + " ".join(sorted(SUPPORTED_SUFFIXES)),
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise InputError(path, "not a regular file")
    if not FORMATS[fmt].binary and size > 0:
        fmt = _sniff_binary(path) or fmt
    limit = max_bytes if max_bytes is not None else (MAX_BINARY_BYTES if FORMATS[fmt].binary else MAX_TEXT_BYTES)
    if size == 0:
        raise InputError(path, "empty file")
    if size > limit:
        raise InputError(path, f"file too large ({mb_text(size)}, limit {mb_text(limit)})")
    return fmt, limit


def parse_file(path: Path, *, max_bytes: int | None = None) -> ParsedDocument:
    """Parse one file into clean blocks and file metadata.

    `max_bytes` overrides the default size limit (100 MB for text formats, 200 MB for
    pdf/docx/pptx). Raises `InputError` with a short reason for anything that can't be read.
    """
    path = Path(path)
    fmt, limit = check_file(path, max_bytes=max_bytes)
    label = FORMATS[fmt].label
    try:
        with quiet():
            blocks, metadata = FORMATS[fmt].parse(path, limit)
    except InputError:
        raise
    except RecursionError:
        raise InputError(path, f"{label} is nested too deeply to parse") from None
    except MemoryError:
        raise InputError(path, "too large to parse in memory") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    except Exception as exc:  # a last net: a parser library failed in a way we did not foresee
        raise InputError(path, f"cannot parse {label} ({type(exc).__name__}: {short_reason(exc)})") from exc

    blocks = _finish_blocks(blocks)
    if blocks and not any(b.heading_level == 0 for b in blocks):
        # Only short title-like lines (a form, a label sheet): they are the text.
        blocks = [Block(b.text) for b in blocks]
    if not blocks:
        raise InputError(path, "no text found")
    return ParsedDocument(blocks=blocks, metadata=metadata, format=fmt)


def _sniff_binary(path: Path) -> str | None:
    """"pdf", "docx" or "pptx" for a file named as text whose bytes say otherwise (a mislabelled
    download); a zip that is no Office document is refused. None: read it as its suffix says."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None  # parse_file's own read reports it
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise InputError(path, "binary data, not text (a damaged ZIP archive)") from None
        for part, fmt in _PACKAGE_PARTS.items():
            if part in names:
                return fmt
        raise InputError(path, "binary data, not text (a ZIP archive)")
    return None


def _finish_blocks(blocks: list[Block]) -> list[Block]:
    """Normalised, non-empty blocks; headings on one line."""
    out: list[Block] = []
    for block in blocks:
        text = normalize_text(block.text)
        if block.heading_level > 0:
            text = " ".join(text.split())
        if text:
            out.append(Block(text, block.heading_level))
    return out


__all__ = [
    "FORMATS",
    "MAX_BINARY_BYTES",
    "MAX_TEXT_BYTES",
    "SUPPORTED_SUFFIXES",
    "Format",
    "check_file",
    "decode_text",
    "format_of",
    "markdown_blocks",
    "md_inline",
    "parse_file",
]
