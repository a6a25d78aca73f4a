"""Glyphs a PDF font gives no Unicode for are not letters: pdfium reports their glyph numbers as
characters ("ϲΒϴΒ" glued to "habibi" in a WeasyPrint Arabic PDF), and pypdf does the same.
The PDF is made here with pypdfium2: a Latin line in a standard font, then glyphs of an
embedded TrueType font that its cmap does not reach (so the font's ToUnicode has no entry
for them), then a word in the standard font."""

from __future__ import annotations

import ctypes
import re
import unicodedata
from pathlib import Path

import pytest

from rppsearch.ingest.pipeline import read_document

pdfium = pytest.importorskip("pypdfium2")
raw = pytest.importorskip("pypdfium2.raw")
TTFont = pytest.importorskip("fontTools.ttLib").TTFont

FONT = next(
    (p for p in (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), Path("/usr/share/fonts/TTF/DejaVuSans.ttf"))
     if p.exists()),
    None,
)
pytestmark = pytest.mark.skipif(FONT is None, reason="DejaVuSans.ttf is not installed")


def _pdf(path: Path, *, unmapped: int = 6, mapped_word: str | None = None) -> None:
    assert FONT is not None
    data = FONT.read_bytes()
    font_file = TTFont(str(FONT))
    reachable = set(font_file.getBestCmap().values())
    glyphs = [i for i, name in enumerate(font_file.getGlyphOrder()) if name not in reachable and i > 300][:unmapped]
    doc = pdfium.PdfDocument.new()
    page = doc.new_page(612, 792)
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    embedded = raw.FPDFText_LoadFont(doc.raw, buffer, len(data), raw.FPDF_FONT_TRUETYPE, True)
    helvetica = raw.FPDFText_LoadStandardFont(doc.raw, b"Helvetica")

    def show(font, x: float, y: float, text: str | None = None, codes: list[int] | None = None) -> None:
        obj = raw.FPDFPageObj_CreateTextObj(doc.raw, font, 14.0)
        if text is not None:
            wide = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
            raw.FPDFText_SetText(obj, ctypes.cast(wide, ctypes.POINTER(ctypes.c_ushort)))
        else:
            raw.FPDFText_SetCharcodes(obj, (ctypes.c_uint32 * len(codes))(*codes), len(codes))
        raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
        raw.FPDFPage_InsertObject(page.raw, obj)

    show(helvetica, 72, 700, "Greetings from the district office")
    if glyphs:
        show(embedded, 72, 670, codes=glyphs)  # no space after them: they sit right against the word
    show(helvetica, 150, 670, "habibi")
    if mapped_word:
        show(embedded, 72, 640, mapped_word)  # a word the font maps: real text in another script
    raw.FPDFPage_GenerateContent(page.raw)
    doc.save(str(path))
    doc.close()


def _scripts(text: str) -> set[str]:
    return {unicodedata.name(ch).split()[0] for ch in text if ch.isalpha()}


def test_unmapped_glyphs_are_not_stored_as_letters_of_another_script(tmp_path: Path) -> None:
    path = tmp_path / "glyphs.pdf"
    _pdf(path)
    text = read_document(path).text
    assert "Greetings from the district office" in text
    assert "habibi" in re.findall(r"\w+", text)  # its own word, not glued to glyph numbers
    assert _scripts(text) == {"LATIN"}


def test_a_word_the_font_maps_in_another_script_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "greek.pdf"
    _pdf(path, unmapped=0, mapped_word="παιδεία και σχολείο")
    text = read_document(path).text
    assert "παιδεία και σχολείο" in text and "habibi" in text
    assert "\ufffd" not in text
