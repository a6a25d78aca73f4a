"""OCR of PDF pages with Tesseract (Debian `tesseract-ocr`), through pytesseract.

A page is rendered with pypdfium2 at `DPI` and read by `tesseract` in the languages of
`RPP_OCR_LANG` (default `eng`; `eng+ara` etc. when those packs are installed). The text comes
back as lines grouped into paragraphs as Tesseract found them, with the mean word confidence
(0-100). Nothing here decides whether a page needs OCR: formats/pdf_pages.py does.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

#: Rendering resolution: Tesseract reads body text best at about 300 dpi.
DPI = 300
#: One page may not take longer than this (seconds) in Tesseract.
PAGE_TIMEOUT = 120
#: Below this mean word confidence a page's OCR text is garbage, not text.
MIN_CONFIDENCE = 45.0


@dataclass
class OcrPage:
    text: str
    confidence: float  # mean word confidence, 0-100 (0 when no word was read)
    words: int


def languages() -> str:
    return os.environ.get("RPP_OCR_LANG", "").strip() or "eng"


def available() -> bool:
    """True when the `tesseract` program (and pytesseract) can be used."""
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def render(page: Any, dpi: int = DPI) -> Any:
    """A pypdfium2 page as a greyscale PIL image."""
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    try:
        return bitmap.to_pil().convert("L")
    finally:
        bitmap.close()


def ocr_image(image: Any, *, lang: str | None = None) -> OcrPage:
    """Tesseract's text of an image: lines in reading order, a blank line between paragraphs."""
    import pytesseract  # noqa: PLC0415

    data = pytesseract.image_to_data(
        image, lang=lang or languages(), output_type=pytesseract.Output.DICT, timeout=PAGE_TIMEOUT
    )
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        confidences.append(conf)
        lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(word)
    out: list[str] = []
    previous: tuple[int, int] | None = None
    for (block, par, _), words in lines.items():
        if previous is not None and previous != (block, par):
            out.append("")
        out.append(" ".join(words))
        previous = (block, par)
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrPage("\n".join(out), round(mean, 1), len(confidences))


def ocr_page(page: Any, *, lang: str | None = None, dpi: int = DPI) -> OcrPage:
    """OCR one pypdfium2 page."""
    return ocr_image(render(page, dpi), lang=lang)
