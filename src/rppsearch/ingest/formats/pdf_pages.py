"""Each PDF page's text from the best source that reads it: pdfium's layout reader first, pypdf
where pdfium's text looks broken, pdfminer.six for CJK pages and pages still broken (it maps
CID-keyed fonts the others do not), Tesseract where no text layer is usable.

A page's text "looks broken" (`defects`) when it has run-together words (more than 25 letters
in one token), private-use glyphs or replacement characters, doubled characters ("TThhee"),
letters scattered over many scripts, or, for Latin text, too few tokens that look like words
(a garbage OCR layer). Such a page is read again with pypdf; if that is no better it goes to
OCR, as does a page without text whose images cover a third of it (a scan). Without Tesseract
a page with run-together words is kept with a warning, any other broken page is dropped with a
warning, and a PDF with no readable page at all is refused.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import ocr
from ..clean import normalize_text

#: A token with more letters than this is words run together (where the reference separates them).
LONG_WORD = 25
#: Fewer letters than this and a page has no text layer worth keeping.
MIN_PAGE_LETTERS = 10
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_LATIN_WORD = re.compile(r"(?:[A-Z]?[a-zß-ÿ]+|[A-Z]+)(?:['’-][A-Za-zß-ÿ]+)*|\d+(?:[.,]\d+)*")
#: Scripts written without spaces between words: long tokens there are not words run together.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_VOWEL = re.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüý]", re.IGNORECASE)

# (font size, bold, text, baseline y) of one line
Chunk = tuple[float, bool, str, float]


def _private(ch: str) -> bool:
    return "\ue000" <= ch <= "\uf8ff" or ch == "\ufffd"


def defects(text: str) -> list[str]:
    """Why a page's text looks broken (empty list: it looks like language)."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return []
    found: list[str] = []
    if sum(map(_private, chars)) > 0.1 * len(chars):
        found.append("private-use glyphs")
    tokens = _TOKEN.findall(text)
    # Run together: much of the page's text in overlong tokens (a few German compounds are not).
    if sum(len(t) for t in long_tokens(text)) >= 0.2 * max(letters(text), 1):
        found.append("run-together words")
    alpha = [t for t in tokens if len(t) >= 4 and t.isalpha()]
    doubled = [t for t in alpha if len(t) % 2 == 0 and t[0::2] == t[1::2]]
    if len(alpha) >= 10 and len(doubled) > 0.2 * len(alpha):
        found.append("duplicated characters")
    marks = sum(1 for ch in chars if unicodedata.category(ch)[0] in "PS" and ch not in ".·-_")  # not leaders
    if garbled(text) or (len(chars) >= 10 and marks > 0.35 * len(chars)):
        found.append("garbled characters")
    latin = [t for t in tokens if t.isascii() and len(t) >= 4 and any(ch.isalpha() for ch in t)]
    if len(latin) >= 12 and len(latin) >= 0.3 * len(tokens):
        wordlike = sum(1 for t in latin if _LATIN_WORD.fullmatch(t) and _VOWEL.search(t))
        if wordlike < 0.5 * len(latin):
            found.append("garbage text layer")
    return found


@functools.lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    """A letter's script family from its Unicode name (CJK ideographs and kana count as one)."""
    try:
        word = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
    return "CJK" if word in ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH") else word


def garbled(text: str) -> bool:
    """Letters scattered over many unrelated scripts: glyph codes read as text, not language.

    Real text has one script, perhaps two (Latin with Greek symbols, Arabic with Latin);
    a PDF font without a Unicode map yields a soup of Greek, Cyrillic, Arabic, Indic letters.
    """
    if text.isascii():  # one script
        return False
    scripts = Counter(map(_script, filter(str.isalpha, text)))
    total = sum(scripts.values())
    if total < 50:
        return False
    top_two = sum(count for _, count in scripts.most_common(2))
    spread = sum(1 for count in scripts.values() if count >= 0.02 * total)
    return top_two < 0.85 * total and spread >= 4


def extract_page_pypdf(page: Any, chunks: list[Chunk]) -> str:
    """A page's text (plain mode), recording each text chunk's effective font size and weight."""

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text or not text.strip():
            return
        try:
            a, b, c, d = (
                tm[0] * cm[0] + tm[1] * cm[2],
                tm[0] * cm[1] + tm[1] * cm[3],
                tm[2] * cm[0] + tm[3] * cm[2],
                tm[2] * cm[1] + tm[3] * cm[3],
            )
            effective = float(size) * abs(a * d - b * c) ** 0.5
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            base = str(font.get("/BaseFont", "")).lower() if font else ""
        except (TypeError, ValueError, AttributeError, IndexError):
            return
        bold = any(w in base for w in ("bold", "black", "heavy", "semibold", "demi"))
        chunks.append((round(effective, 1), bold, text, float(y)))

    return page.extract_text(extraction_mode="plain", visitor_text=visit) or ""


def long_tokens(text: str) -> list[str]:
    """Tokens of more than LONG_WORD letters (words run together, or a long compound)."""
    return [
        t for t in _TOKEN.findall(text)
        if len(t) > LONG_WORD and sum(map(str.isalpha, t)) > LONG_WORD and "-" not in t and not _CJK.search(t)
    ]


def letters(text: str) -> int:
    return sum(map(str.isalpha, text))


@dataclass
class Pages:
    """Per page: lines, their distance from the top as a fraction of the page height (None
    when unknown), font chunks; plus which pages were OCR'd and warnings for the file."""

    lines: list[list[str]] = field(default_factory=list)
    tops: list[list[float] | None] = field(default_factory=list)
    styles: list[list[Chunk]] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    dropped: dict[int, str] = field(default_factory=dict)  # page number -> why its text was not kept
    needs_ocr: list[int] = field(default_factory=list)  # scanned pages left unread (no Tesseract)
    broken: dict[int, str] = field(default_factory=dict)  # page number -> why its text layer was not used
    flawed: dict[int, str] = field(default_factory=dict)  # page number -> what is wrong with the text kept
    failed: list[int] = field(default_factory=list)
    first_error: str = ""

    def add(self, lines: list[str], tops: list[float] | None, chunks: list[Chunk]) -> None:
        self.lines.append(lines)
        self.tops.append(tops)
        self.styles.append(chunks)


def _reason(exc: BaseException) -> str:
    from .common import short_reason  # noqa: PLC0415

    return "recursive page content" if isinstance(exc, RecursionError) else short_reason(exc)


def split_lines(text: str) -> list[str]:
    text = text.replace("\u00ad\n", "-\n")  # a soft hyphen at a line end is a hyphenation point
    return [line.strip() for line in normalize_text(text).split("\n")]


def _scanned(page: Any) -> bool:
    """Images cover at least a third of the page: a scan (not a figure on a blank page)."""
    import pypdfium2.raw as raw  # noqa: PLC0415

    try:
        area = page.get_width() * page.get_height() or 1.0
        covered = 0.0
        for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, bottom, right, top = obj.get_pos()
            covered += max(0.0, right - left) * max(0.0, top - bottom)
        return covered >= area / 3
    except Exception:  # noqa: BLE001 - a page we cannot inspect: let OCR look at it
        return True


@dataclass
class _Reading:
    text: str
    chunks: list[Chunk]
    positioned: bool  # chunks are the lines, with their positions

    def __post_init__(self) -> None:
        self.problems = defects(self.text)
        self.letters = letters(self.text)
        self.score = (len(self.problems) + (self.letters < MIN_PAGE_LETTERS), len(long_tokens(self.text)))

    def beaten_by(self, other: _Reading) -> bool:
        """`other` reads the page better: fewer defects, or as few and clearly more letters.

        Where this reading has glyphs without Unicode (U+FFFD) among real text, a reading with
        letters of a script that text does not use is reading those glyphs' numbers as
        letters (pypdf gave "ᜡᜢᜣᜤ" for the glyphs pdfium flags as unmapped): not better."""
        if other.letters < MIN_PAGE_LETTERS or other.letters < self.letters // 2:
            return False
        if "\ufffd" in self.text and self.letters >= MIN_PAGE_LETTERS and _scripts(other.text) - _scripts(self.text):
            return False
        return other.score < self.score or (other.score == self.score and other.letters > 1.5 * self.letters)


def _scripts(text: str) -> set[str]:
    return {_script(ch) for ch in set(text) if ch.isalpha()}


def _pdfminer_page(path: Path | None, index: int) -> str:
    """One page through pdfminer.six, which maps CID-keyed (CJK) fonts neither pdfium nor pypdf map."""
    if path is None:
        return ""
    from pdfminer.high_level import extract_text  # noqa: PLC0415

    text = extract_text(str(path), page_numbers=[index]) or ""
    text = re.sub(r"\(cid:\d+\)", "", text)  # a glyph pdfminer could not map either: nothing known
    # Vertical CJK comes out a character a line or space-separated: those spaces are not in the text.
    return re.sub(rf"(?<={_CJK.pattern})[ \n]+(?={_CJK.pattern})", "", text)


def read_pages(document: Any, reader: Any, path: Path | None = None) -> Pages:
    """Every page of a pypdfium2 `document` (pypdf `reader` and pdfminer.six on `path` for pages
    pdfium reads badly), OCR'd where needed."""
    from .pdf_layout import read_page  # noqa: PLC0415

    pages = Pages()
    scanned: list[tuple[int, str]] = []  # (index, why) of pages for OCR
    for index in range(len(document)):
        page = document[index]
        errors = 0
        try:
            height = page.get_height() or 792.0
            best = _Reading(*read_page(page), positioned=True)
        except Exception as exc:  # noqa: BLE001 - pdfium failed on this page: the others may not
            best, height, errors = _Reading("", [], positioned=False), 792.0, 1
            pages.first_error = pages.first_error or _reason(exc)
        if best.score != (0, 0):
            chunks: list[Chunk] = []
            try:
                other = _Reading(extract_page_pypdf(reader.pages[index], chunks) if reader else "", chunks, False)
                best = other if best.beaten_by(other) else best
            except Exception as exc:  # noqa: BLE001 - one broken page should not lose the rest
                pages.first_error, errors = pages.first_error or _reason(exc), errors + 1
        if best.problems or _CJK.search(best.text) or (errors and best.letters < MIN_PAGE_LETTERS):
            try:
                other = _Reading(_pdfminer_page(path, index), [], False)
                best = other if best.beaten_by(other) else best
            except Exception as exc:  # noqa: BLE001
                pages.first_error, errors = pages.first_error or _reason(exc), errors + 1
        if errors >= 2 and best.letters == 0:  # no reader could read it
            pages.failed.append(index + 1)
            pages.add([], None, [])
            continue
        if best.problems:
            scanned.append((index, ", ".join(best.problems)))
        elif best.letters < MIN_PAGE_LETTERS and _scanned(page):
            scanned.append((index, "no text layer"))
        if best.positioned and best.chunks:
            lines = [" ".join(split_lines(c[2])) for c in best.chunks]
            pages.add(lines, [1.0 - c[3] / height for c in best.chunks], best.chunks)
        else:
            pages.add(split_lines(best.text), None, best.chunks)
    if scanned:
        _ocr(document, pages, scanned)
    return pages


def _ocr(document: Any, pages: Pages, scanned: list[tuple[int, str]]) -> None:
    """Replace the text of `scanned` pages by Tesseract's, or drop it when it cannot be read."""
    use_ocr = ocr.available()
    for index, why in scanned:
        if why != "no text layer":
            pages.broken[index + 1] = why
        if not use_ocr:
            if why == "no text layer":
                pages.needs_ocr.append(index + 1)
            elif why == "run-together words":  # readable, if poorly searchable: kept, and said
                pages.flawed[index + 1] = why
            else:
                pages.dropped[index + 1] = why
                pages.lines[index], pages.tops[index], pages.styles[index] = [], None, []
            continue
        try:
            result = ocr.ocr_page(document[index])
        except Exception as exc:  # noqa: BLE001 - Tesseract failing on one page (a missing
            # language pack, its time limit) drops that page, not the document's other pages
            pages.dropped[index + 1] = f"OCR failed ({_reason(exc)})"
            pages.lines[index], pages.tops[index], pages.styles[index] = [], None, []
            continue
        if result.words and result.confidence >= ocr.MIN_CONFIDENCE:
            pages.lines[index], pages.tops[index], pages.styles[index] = split_lines(result.text), None, []
            pages.ocr_pages.append(index + 1)
            pages.confidences.append(result.confidence)
        else:
            if result.words:
                pages.dropped[index + 1] = f"OCR confidence too low ({result.confidence:.0f})"
            elif why != "no text layer":
                pages.dropped[index + 1] = why
            if why != "no text layer":
                pages.lines[index], pages.tops[index], pages.styles[index] = [], None, []
