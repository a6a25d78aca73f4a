"""PPTX (python-pptx): one section a slide, in slide order.

- A slide's title becomes a heading (the first slide's title level 1, the others level 2).
- Its other shapes follow in reading order (top to bottom, then left to right), grouped shapes
  read inside their group: each text-frame paragraph a block, each table row one block
  (cells joined with " | ", a merged cell once).
- Speaker notes follow the slide's own text.
- Slide-number, date, footer and header placeholders are furniture: not read.

Title: the first slide's title, else the core-properties title, through `titles.pick_title`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Block, Metadata
from .common import short_reason
from .ooxml import check_zip, core_metadata
from .titles import pick_title

#: Group shapes nested deeper than this are not read (a hostile file's recursion).
MAX_GROUP_DEPTH = 8


def parse_pptx(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    check_zip(path, "PPTX")
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        presentation = Presentation(str(path))
        blocks, first_title = _slides(presentation)
        with zipfile.ZipFile(path) as archive:  # python-pptx invents core properties a package lacks
            metadata = core_metadata(archive, path)
    except (PackageNotFoundError, KeyError, ValueError, AttributeError, TypeError, SyntaxError, zipfile.BadZipFile) as exc:
        raise InputError(path, f"not a valid PPTX: {short_reason(exc)}") from None
    if not any(b.text.strip() for b in blocks):
        raise InputError(path, "no text found in PPTX (slides without text)")
    metadata.title = pick_title(first_title, metadata.title)
    metadata.extra["slides"] = len(presentation.slides)
    return blocks, metadata


def _slides(presentation: Any) -> tuple[list[Block], str | None]:
    blocks: list[Block] = []
    first_title: str | None = None
    for number, slide in enumerate(presentation.slides):
        title_shape = _title_shape(slide)
        title = _frame_text(title_shape) if title_shape is not None else ""
        if title.strip():
            blocks.append(Block(" ".join(title.split()), 1 if number == 0 else 2))
            if number == 0:
                first_title = " ".join(title.split())
        _shapes(slide.shapes, blocks, skip=title_shape, depth=0)
        if slide.has_notes_slide:
            frame = slide.notes_slide.notes_text_frame
            if frame is not None:
                blocks.extend(_paragraphs(frame))
    return blocks, first_title


def _title_shape(slide: Any) -> Any:
    try:
        return slide.shapes.title
    except (KeyError, ValueError, AttributeError):
        return None


def _furniture(shape: Any) -> bool:
    """Slide number, date, footer and header placeholders."""
    from pptx.enum.shapes import PP_PLACEHOLDER

    if not getattr(shape, "is_placeholder", False):
        return False
    try:
        kind = shape.placeholder_format.type
    except (ValueError, AttributeError):
        return False
    return kind in (PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.HEADER)


def _position(shape: Any) -> tuple[int, int]:
    top, left = getattr(shape, "top", None), getattr(shape, "left", None)
    return (top if isinstance(top, int) else 0, left if isinstance(left, int) else 0)


def _shapes(shapes: Any, blocks: list[Block], *, skip: Any, depth: int) -> None:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    ordered = sorted(shapes, key=_position)  # sorted() is stable: unplaced shapes keep their order
    for shape in ordered:
        if skip is not None and shape.shape_id == skip.shape_id and depth == 0:
            continue
        if _furniture(shape):
            continue
        if getattr(shape, "shape_type", None) == MSO_SHAPE_TYPE.GROUP:
            if depth < MAX_GROUP_DEPTH:
                _shapes(shape.shapes, blocks, skip=None, depth=depth + 1)
            continue
        if getattr(shape, "has_table", False):
            _table(shape.table, blocks)
        elif getattr(shape, "has_text_frame", False):
            blocks.extend(_paragraphs(shape.text_frame))


def _frame_text(shape: Any) -> str:
    if not getattr(shape, "has_text_frame", False):
        return ""
    return " ".join(p.text.replace("\v", " ") for p in shape.text_frame.paragraphs)


def _paragraphs(frame: Any) -> list[Block]:
    out: list[Block] = []
    for paragraph in frame.paragraphs:
        text = paragraph.text.replace("\v", "\n")
        if text.strip():
            out.append(Block(text))
    return out


def _table(table: Any, blocks: list[Block]) -> None:
    for row in table.rows:
        texts = []
        for cell in row.cells:
            if cell.is_spanned:  # covered by a merged cell: its text is the origin cell's
                continue
            text = " ".join(cell.text.replace("\v", " ").split())
            if text:
                texts.append(text)
        if texts:
            blocks.append(Block(" | ".join(texts)))
