"""PDF: each page's text from pypdfium2 in reading order (formats/pdf_layout.py: columns,
bands, margin line numbers dropped), pypdf where that text looks broken, Tesseract for scanned
pages and garbage text layers (formats/pdf_pages.py, ingest/ocr.py); running headers, footers
and page numbers dropped from the page margins only; hyphenation undone; lines rejoined into
paragraphs (vertical gaps from the text positions help); headings from font size and weight,
else from the shape of the line; the title from metadata unless it is a file name or a section
heading, else page 1's largest text (formats/pdf_title.py). OCR'd pages and text not kept are
recorded in the metadata (`ocr`, `ocr_confidence`, `ocr_pages`, `warnings`)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Block, Metadata
from ..clean import normalize_text
from ..metadata import split_list
from .common import BULLET as _BULLET
from .common import SENTENCE_END as _SENTENCE_END
from .common import dehyphenate_join as _dehyphenate_join
from .common import heading_like as _heading_like
from .common import short_reason as _short
from .common import word_sets as _word_sets
from .pdf_pages import Chunk, Pages, extract_page_pypdf, garbled, read_pages, split_lines
from .pdf_title import first_page_title
from .titles import pick_title

#: A PDF with more pages is refused rather than parsed for minutes.
MAX_PDF_PAGES = 2000

_PAGE_NUMBER = re.compile(
    r"(?:page|p\.|seite|pág\.?|s\.)?\s*[-–—]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*"
    r"(?:(?:of|/|von|de|sur)\s*\d{1,4})?\s*[-–—]?",
    re.IGNORECASE,
)
_LONE_MARKER = re.compile(r"\(?(?:\d{1,3}|[a-zA-Z])[.)]?|[-*•◦▪▫■□●○‣⁃–—]")
_SECTION_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+\S")
_FURNITURE_LINES = 3  # lines at the top and bottom of a page that may be running headers/footers


def parse_pdf(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    with open(path, "rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise InputError(path, "corrupt PDF: no %PDF header (not a PDF file)")
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError:
                raise InputError(
                    path, "encrypted PDF (needs the 'cryptography' package to decrypt)",
                    hint="pip install cryptography",
                ) from None
            if not opened:
                raise InputError(path, "encrypted PDF (password required)")
        count = len(reader.pages)
    except InputError:
        raise
    except RecursionError:
        raise InputError(path, "corrupt PDF: recursive structure") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds of errors on broken files
        raise InputError(path, f"corrupt PDF: {_short(exc)}") from None
    if count == 0:
        raise InputError(path, "corrupt PDF: no pages")
    if count > MAX_PDF_PAGES:
        raise InputError(path, f"PDF has too many pages ({count:,}, limit {MAX_PDF_PAGES:,})")

    document = _open_pdfium(path)
    if document is None:  # pdfium cannot open it: pypdf alone, page by page
        pages = _pypdf_pages(path, reader, count)
    else:
        try:
            pages = read_pages(document, reader, path)
        finally:
            document.close()
    if len(pages.failed) == count:
        raise InputError(path, f"corrupt PDF: no page could be read ({pages.first_error})")

    page_lines = remove_page_furniture(pages.lines, pages.tops)
    found = sum(1 for lines in page_lines for line in lines for ch in line if ch.isalpha())
    if found == 0 or (count >= 2 and found < 10 * count and not pages.ocr_pages):
        if pages.needs_ocr:
            raise InputError(path, "scanned PDF (no text layer); install tesseract-ocr to read it")
        if pages.dropped or pages.broken:
            why = sorted(set(pages.dropped.values()) | set(pages.broken.values()))[0]
            raise InputError(path, f"unreadable text layer ({why})")
        raise InputError(path, "no text layer (scanned or image-only PDF)")
    if garbled("".join(line for lines in page_lines for line in lines)):
        raise InputError(path, "unreadable text layer (garbled characters: fonts without a Unicode map)")
    levels = _font_heading_levels(page_lines, pages.styles)
    lines = [line for page in page_lines for line in page]
    blocks = pdf_lines_to_blocks(lines, levels, _paragraph_starts(pages.styles))
    metadata = _pdf_metadata(reader)
    metadata.title = pick_title(metadata.title, first_page_title(pages.styles[0] if pages.styles else []))
    metadata.extra["pages"] = count
    if pages.failed:
        metadata.extra["unreadable_pages"] = pages.failed
    _record_warnings(metadata, pages, count)
    return blocks, metadata


def _open_pdfium(path: Path) -> Any:
    import pypdfium2 as pdfium  # noqa: PLC0415

    try:
        return pdfium.PdfDocument(str(path))
    except Exception:  # noqa: BLE001 - pypdf may still read what pdfium refuses
        return None


def _pypdf_pages(path: Path, reader: Any, count: int) -> Pages:
    from pypdf.errors import DependencyError  # noqa: PLC0415

    pages = Pages()
    for number in range(count):
        chunks: list[Chunk] = []
        try:
            text = extract_page_pypdf(reader.pages[number], chunks)
        except DependencyError:
            raise InputError(
                path, "encrypted PDF (needs the 'cryptography' package to decrypt)", hint="pip install cryptography"
            ) from None
        except RecursionError:
            pages.failed.append(number + 1)
            pages.first_error = pages.first_error or "recursive page content"
            text = ""
        except Exception as exc:  # noqa: BLE001 - one broken page should not lose the rest
            pages.failed.append(number + 1)
            pages.first_error = pages.first_error or _short(exc)
            text = ""
        pages.add(split_lines(text), None, chunks)
    return pages


def _record_warnings(metadata: Metadata, pages: Pages, count: int) -> None:
    """What was OCR'd or left unread, in the document's metadata (`ocr`, `ocr_confidence`, `warnings`)."""
    warnings: list[str] = []
    if pages.ocr_pages:
        mean = sum(pages.confidences) / len(pages.confidences)
        metadata.extra["ocr"] = True
        metadata.extra["ocr_pages"] = pages.ocr_pages
        metadata.extra["ocr_confidence"] = round(mean, 1)
        warnings.append(f"{len(pages.ocr_pages)} of {count} pages OCR'd (mean confidence {mean:.0f})")
    if pages.needs_ocr:
        warnings.append(
            f"{len(pages.needs_ocr)} of {count} pages are scanned images, not read (install tesseract-ocr)"
        )
    for number, why in sorted(pages.flawed.items()):
        warnings.append(f"page {number}: {why} (install tesseract-ocr to OCR the page)")
    for number, why in sorted(pages.dropped.items()):
        warnings.append(f"page {number}: text not kept ({why})")
    if pages.failed:
        warnings.append(f"{len(pages.failed)} of {count} pages could not be read")
    if warnings:
        metadata.extra["warnings"] = warnings


def _squash(text: str) -> str:
    return "".join(normalize_text(text).split())


def _font_heading_levels(page_lines: list[list[str]], styles: list[list[Chunk]]) -> list[int] | None:
    """A heading level for each line (0: body) from font sizes and weights, or None without a signal.

    The body size is the size most characters are set in; a short line set entirely in larger
    or bold type is a heading; larger sizes rank higher (level 1 = largest).
    """
    weight: Counter[float] = Counter()
    for chunks in styles:
        for size, _, text, _ in chunks:
            weight[size] += len(text.strip())
    if not weight:
        return None
    body = weight.most_common(1)[0][0]
    if body <= 0:
        return None
    heading_sizes = sorted({size for size in weight if size >= 1.08 * body}, reverse=True)
    rank = {size: min(i + 1, 3) for i, size in enumerate(heading_sizes)}
    bold_level = min(len(heading_sizes) + 1, 4)

    levels: list[int] = []
    found = False
    for lines, chunks in zip(page_lines, styles, strict=True):
        # The page's emphasised text without whitespace, and where each chunk sits in it.
        joined, spans, pos = [], [], 0
        for size, bold, text, _ in chunks:
            if size in rank or bold:
                key = _squash(text)
                joined.append(key)
                spans.append((pos, pos + len(key), size))
                pos += len(key)
        emphasised = "".join(joined)
        for line in lines:
            key = "".join(line.split())
            start = emphasised.find(key) if len(key) >= 3 and _heading_shape(line) else -1
            level = 0
            if start >= 0:
                end = start + len(key)
                big = max((size for a, b, size in spans if a < end and b > start and size in rank), default=None)
                level = rank[big] if big is not None else bold_level
                found = True
            levels.append(level)
    return levels if found else None


def _paragraph_starts(styles: list[list[Chunk]]) -> set[str]:
    """Keys (first 40 non-space characters) of lines that follow a vertical gap: new paragraphs.

    Chunks on one baseline form a visual line; a step down clearly larger than the page's
    usual line spacing starts a paragraph (plain extraction drops that spacing).
    """
    starts: set[str] = set()
    for chunks in styles:
        lines: list[list[Any]] = []  # [baseline, text, font size]
        for size, _, text, y in chunks:
            if lines and abs(lines[-1][0] - y) < 0.5 * max(size, 1.0):
                lines[-1][1] += text
            else:
                lines.append([y, text, size])
        steps = [lines[i - 1][0] - lines[i][0] for i in range(1, len(lines))]
        downward = sorted(step for step in steps if step > 0)
        if len(downward) < 3:
            continue
        spacing = downward[len(downward) // 3]  # usual line spacing (paragraph gaps are rarer)
        for i, step in enumerate(steps, start=1):
            if step > 1.4 * spacing and step > 1.6 * lines[i][2]:
                key = _squash(lines[i][1])[:40]
                if len(key) >= 8:
                    starts.add(key)
    return starts


def _heading_shape(line: str) -> bool:
    """Short, with letters, not ending like a sentence, not a page number."""
    s = line.strip()
    return (
        len(s.split()) <= 15
        and len(s) <= 150
        and sum(ch.isalpha() for ch in s) >= 2
        and s[-1] not in ".,;"
        and not _PAGE_NUMBER.fullmatch(s)
    )


def _furniture_key(line: str) -> str:
    """Running headers compare case-, digit- and space-insensitively ("-2- Title" = "-3-Title")."""
    return re.sub(r"\d+", "#", "".join(line.split()).casefold())


#: Where a page's margins end: running headers and footers sit in the top and bottom 12%.
MARGIN = 0.12


def remove_page_furniture(
    pages: list[list[str]], tops: list[list[float] | None] | None = None
) -> list[list[str]]:
    """Drop running headers/footers and page numbers ("3", "Page 3 of 9", "- iv -").

    Where the lines' positions are known (`tops`: distance from the top of the page, as a
    fraction of its height), only lines in the top or bottom margin (MARGIN) can be furniture:
    a page number there, or a line (digits ignored) found in the margin of at least half the
    pages. Body text repeated on every page stays. Without positions, the first and last three
    lines of a page stand for its margins, and a running header is dropped wherever it sits
    (extraction order sometimes puts it mid-page).
    """
    def edges(index: int) -> list[int]:
        lines = pages[index]
        where = tops[index] if tops is not None and index < len(tops) else None
        if where is not None:
            return [i for i, top in enumerate(where) if lines[i] and (top < MARGIN or top > 1 - MARGIN)]
        filled = [i for i, line in enumerate(lines) if line]
        return sorted(set(filled[:_FURNITURE_LINES] + filled[-_FURNITURE_LINES:]))

    counts: Counter[str] = Counter()
    per_page_max: Counter[str] = Counter()
    for index, lines in enumerate(pages):
        margin = edges(index)
        counts.update({_furniture_key(lines[i]) for i in margin})
        positioned = tops is not None and index < len(tops) and tops[index] is not None
        looked_at = [lines[i] for i in margin] if positioned else [line for line in lines if line]
        for key, c in Counter(_furniture_key(line) for line in looked_at).items():
            per_page_max[key] = max(per_page_max[key], c)
    n = len(pages)
    # Furniture appears once a page; a line repeated within a page is body text (or a table).
    repeated = {
        key for key, c in counts.items() if n >= 2 and c >= 2 and 2 * c >= n and per_page_max[key] == 1
    }
    out: list[list[str]] = []
    for index, lines in enumerate(pages):
        margin = edges(index)
        drop = {i for i in margin if _PAGE_NUMBER.fullmatch(lines[i])}
        positioned = tops is not None and index < len(tops) and tops[index] is not None
        candidates = margin if positioned else range(len(lines))
        drop |= {i for i in candidates if lines[i] and _furniture_key(lines[i]) in repeated}
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def pdf_lines_to_blocks(
    lines: list[str], levels: list[int] | None = None, starts: set[str] | None = None
) -> list[Block]:
    """Rejoin extracted lines into paragraphs and headings.

    A blank line, or a line clearly shorter than a full line that ends a sentence, ends a
    paragraph; bullets, and lines whose key is in `starts` (after a vertical gap), start one. Headings come from `levels` (one a line, from fonts) when
    given, else from the text: a short Title Case / numbered / upper-case line standing
    between paragraphs. Consecutive heading lines of one level merge. Hyphenation is undone.
    """
    filled = [line for line in lines if line]
    if not filled:
        return []
    long_lines = sorted(len(line) for line in filled if len(line.split()) >= 3) or [len(line) for line in filled]
    full = long_lines[min(len(long_lines) - 1, int(0.8 * len(long_lines)))]
    vocabulary, compounds = _word_sets("\n".join(filled))

    def heading_level(i: int) -> int:
        if levels is not None:
            return levels[i]
        following = next((x for x in lines[i + 1 :] if x), "")
        return _pdf_heading_level(lines[i]) if _pdf_heading(lines[i], full, following) else 0

    blocks: list[Block] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            text = current[0]
            for line in current[1:]:
                text = _dehyphenate_join(text, line, vocabulary, compounds)
            blocks.append(Block(text))
            current.clear()

    for i, line in enumerate(lines):
        if not line:
            flush()
            continue
        level = heading_level(i)
        if level:
            flush()
            last = blocks[-1] if blocks else None
            if last and last.heading_level == level and len(last.text.split()) + len(line.split()) <= 20 \
                    and i > 0 and heading_level(i - 1) == level:
                last.text = f"{last.text} {line}"
            else:
                blocks.append(Block(line, level))
            continue
        if _LONE_MARKER.fullmatch(line):  # "2" or "•" on a line of its own starts a list item
            flush()
            current.append(line)
            continue
        if current and not _LONE_MARKER.fullmatch(current[-1]):
            prev = current[-1]
            short_end = len(prev) < 0.8 * full and bool(_SENTENCE_END.search(prev))
            gap = bool(starts) and "".join(line.split())[:40] in starts
            if short_end or gap or _BULLET.match(line):
                flush()
        current.append(line)
    flush()
    return blocks


def _pdf_heading(line: str, full: int, following: str) -> bool:
    """A standalone heading: short, numbered or Title Case / upper case, followed by a capital."""
    if not following or not (following[0].isupper() or following[0].isdigit() or _BULLET.match(following)):
        return False
    if len(following.split()) < 4 and not _BULLET.match(following):
        return False  # figure labels and table cells: a heading is followed by prose
    if len(line) > max(0.7 * full, 20) or _PAGE_NUMBER.fullmatch(line):
        return False
    if sum(ch.isalpha() for ch in line) < 3:
        return False
    if _SECTION_NUMBER.match(line) and not _SENTENCE_END.search(line):
        rest = _SECTION_NUMBER.sub("", line).strip()
        return bool(rest) and len(line.split()) <= 12
    return _heading_like(line, max_words=10)


def _pdf_heading_level(line: str) -> int:
    match = _SECTION_NUMBER.match(line)
    if match:
        return min(1 + match.group(1).count("."), 6)
    return 1 if line.isupper() else 2


def _pdf_metadata(reader: Any) -> Metadata:
    metadata = Metadata()
    try:
        info = reader.metadata
    except Exception:  # noqa: BLE001 - broken /Info dictionaries are common and harmless
        return metadata
    if not info:
        return metadata

    def get(key: str) -> str:
        try:
            value = info.get(key)
            value = value.get_object() if hasattr(value, "get_object") else value
            return " ".join(str(value).split()) if value else ""
        except Exception:  # noqa: BLE001
            return ""

    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", get("/Title"))
    if title and not re.search(r"\.(?:docx?|pdf|indd|pptx?|tex|dvi|rtf|odt|txt|md|html?)$|^untitled", title, re.IGNORECASE):
        metadata.title = title
    author = get("/Author")
    if author:
        metadata.authors = split_list(author)
    created = get("/CreationDate")
    match = re.search(r"(?:D:)?((?:1[89]|20)\d\d)", created)
    if match:
        metadata.year = int(match.group(1))
    return metadata
