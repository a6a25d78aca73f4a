"""DOCX: the main part's XML read in reading order, nothing a reader sees left out.

- Body paragraphs and tables in document order; heading styles (and outline levels) become
  headings, the Title style a level-1 heading.
- Text boxes (`w:txbxContent`) follow the paragraph they are anchored in. A shape Word writes
  twice inside `mc:AlternateContent` (a DrawingML `mc:Choice` and a VML `mc:Fallback`) is read
  once, from the Choice; a VML-only text box (`w:pict`) is read too.
- Content controls (`w:sdt`), block and inline, also around table rows and cells, are read
  through their content; custom XML, hyperlinks, fields' results and insertions likewise.
  Deleted and moved-from text, field codes and the placeholder properties are not.
- Tables row by row: short cells join with " | "; a row holding prose, headings or a nested
  table becomes the cells' own blocks. Rows with missing or merged cells (gridSpan, vMerge
  continuations) are read cell by cell without padding.
- Footnotes and endnotes are kept at the end of the document (footnotes first), one block a
  note, numbered in the order the body refers to them ("[1] …"). No heading is invented for them.
- Headers and footers are page furniture: not read. Comments are not part of the text.

Title: the first Title-style paragraph, else the core-properties title, each only when
`titles.pick_title` accepts it (no file names, no section headings, no template defaults).

The package is read with zipfile + ElementTree, namespace-agnostic (strict OOXML reads like
transitional), after the zip-bomb guards in `ooxml.check_zip`. (python-docx's object model
skips text boxes, content controls and notes, and refuses rows with odd cells, so it is only
used by the tests, to write documents the way Word does.)
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Block, Metadata
from .common import short_reason
from .ooxml import attr, check_zip, child, core_metadata, local, optional_xml, part_of_type, read_xml
from .titles import pick_title

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre|título|titolo|kop)\s*(\d)$", re.IGNORECASE)
#: Tables and text boxes nested deeper than this are not read (a hostile file's recursion).
MAX_DEPTH = 8
#: A table cell longer than this is prose, not a data cell.
MAX_CELL_CHARS = 200

# Elements whose text is not the document's: deletions, moves away, field codes, content-control
# properties, revision records, and references whose marks are not text.
_SKIP = {
    "del", "moveFrom", "delText", "delInstrText", "instrText", "sdtPr", "sdtEndPr", "rPr", "pPrChange",
    "rPrChange", "commentReference", "annotationRef", "footnoteRef", "endnoteRef", "separator",
    "continuationSeparator", "fldData", "bookmarkStart", "bookmarkEnd", "proofErr", "lastRenderedPageBreak",
}
_NOTE_KINDS = {"footnoteReference": "footnotes", "endnoteReference": "endnotes"}


def parse_docx(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    check_zip(path, "DOCX")
    try:
        with zipfile.ZipFile(path) as archive:
            main = _main_part(archive, path)
            root = read_xml(archive, main, path)
            reader = _Reader(_styles(archive, main, path))
            notes = {kind: _notes(archive, main, kind, path) for kind in ("footnotes", "endnotes")}
            metadata = core_metadata(archive, path)
    except InputError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError) as exc:
        raise InputError(path, f"not a valid DOCX: {short_reason(exc)}") from None
    body = next((el for el in root.iter() if local(el.tag) == "body"), root)
    blocks: list[Block] = []
    reader.container(body, blocks, depth=0)
    blocks.extend(reader.note_blocks(notes))
    if not any(b.text.strip() for b in blocks):
        raise InputError(path, "no text found in DOCX (empty document)")
    metadata.title = pick_title(reader.title, metadata.title)
    return blocks, metadata


def _style_level(name: str) -> int:
    name = (name or "").strip()
    match = _HEADING_STYLE.match(name)
    if match:
        return max(1, min(int(match.group(1)), 6))
    if name.lower() == "title":
        return 1
    if name.lower() == "subtitle":
        return 2
    return 0


def _outline_level(ppr: Any) -> int:
    """The heading level a paragraph's or style's properties give by outline level (0-5 ->
    1-6), or 0 (body text, or no `w:pPr`)."""
    outline = child(ppr, "outlineLvl") if ppr is not None else None
    value = attr(outline, "val") if outline is not None else None
    return int(value) + 1 if value and value.isdigit() and int(value) < 6 else 0


def _main_part(archive: zipfile.ZipFile, path: Path) -> str:
    names = set(archive.namelist())
    target = part_of_type(archive, "", "officeDocument", path)
    if target:
        return target
    if "word/document.xml" in names:
        return "word/document.xml"
    if "[Content_Types].xml" in names:
        for override in read_xml(archive, "[Content_Types].xml", path).iter():
            if "document.main" in (attr(override, "ContentType") or ""):
                part = (attr(override, "PartName") or "").lstrip("/")
                if part in names:
                    return part
    raise InputError(path, "not a valid DOCX: no main document part")


def _styles(archive: zipfile.ZipFile, main: str, path: Path) -> dict[str, tuple[str, int]]:
    """styleId -> (style name, heading level from the name or the style's outline level)."""
    folder = main.rsplit("/", 1)[0] + "/" if "/" in main else ""
    root = optional_xml(archive, part_of_type(archive, main, "styles", path) or folder + "styles.xml", path)
    if root is None:
        return {}
    styles: dict[str, tuple[str, int]] = {}
    for style in root.iter():
        if local(style.tag) != "style":
            continue
        style_id = attr(style, "styleId") or ""
        label = next((attr(c, "val") for c in style if local(c.tag) == "name"), None) or style_id
        styles[style_id] = (label, _style_level(label) or _outline_level(child(style, "pPr")))
    return styles


def _notes(archive: zipfile.ZipFile, main: str, kind: str, path: Path) -> dict[str, Any]:
    """Note id -> its XML element, for the footnotes or endnotes part (separators left out)."""
    root = optional_xml(archive, part_of_type(archive, main, kind, path), path)
    if root is None:
        return {}
    out: dict[str, Any] = {}
    for note in root:
        if local(note.tag) in ("footnote", "endnote") and (attr(note, "type") or "normal") == "normal":
            out[attr(note, "id") or ""] = note
    return out


class _Reader:
    """Walks WordprocessingML containers into blocks, remembering the Title-style paragraph
    and the note references in the order they occur."""

    def __init__(self, styles: dict[str, tuple[str, int]]) -> None:
        self.styles = styles
        self.title: str | None = None
        self.note_refs: list[tuple[str, str]] = []

    def container(self, element: Any, out: list[Block], depth: int) -> None:
        """Block-level content: the body, a cell, a text box, a content control, a note."""
        for item in element:
            name = local(item.tag)
            if name == "p":
                self.paragraph(item, out, depth)
            elif name == "tbl":
                if depth < MAX_DEPTH:
                    self.table(item, out, depth)
            elif name == "AlternateContent":
                chosen = _alternative(item)
                if chosen is not None:
                    self.container(chosen, out, depth)
            elif name in ("sdt", "sdtContent", "customXml", "ins", "moveTo", "smartTag", "txbxContent"):
                self.container(item, out, depth)

    def paragraph(self, p: Any, out: list[Block], depth: int) -> None:
        parts: list[str] = []
        boxes: list[Any] = []
        level = 0
        style = ""
        ppr = child(p, "pPr")
        if ppr is not None:
            pstyle = child(ppr, "pStyle")
            style_id = attr(pstyle, "val") or "" if pstyle is not None else ""
            style, level = self.styles.get(style_id, (style_id, _style_level(style_id)))
            level = level or _outline_level(ppr)
        self._inline(p, parts, boxes)
        text = "".join(parts)
        if text.strip():
            out.append(Block(text, level))
            if self.title is None and style.strip().lower() == "title":
                self.title = " ".join(text.split())
        if depth < MAX_DEPTH:
            for box in boxes:
                self.container(box, out, depth + 1)

    def _inline(self, element: Any, parts: list[str], boxes: list[Any]) -> None:
        for item in element:
            name = local(item.tag)
            if name == "t":
                parts.append(item.text or "")
            elif name in ("tab", "ptab"):
                parts.append(" ")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name == "noBreakHyphen":
                parts.append("-")
            elif name == "txbxContent":
                boxes.append(item)
            elif name in _NOTE_KINDS:
                self.note_refs.append((_NOTE_KINDS[name], attr(item, "id") or ""))
            elif name == "AlternateContent":
                chosen = _alternative(item)
                if chosen is not None:
                    self._inline(chosen, parts, boxes)
            elif name == "pPr" or name in _SKIP:
                continue
            else:  # runs, hyperlinks, fields, inline content controls, drawings, VML shapes …
                self._inline(item, parts, boxes)

    def table(self, tbl: Any, out: list[Block], depth: int) -> None:
        for row in _descendants(tbl, "tr"):
            cells: list[list[Block]] = []
            nested = False
            for cell in _descendants(row, "tc"):
                cell_blocks: list[Block] = []
                self.container(cell, cell_blocks, depth + 1)
                cells.append(cell_blocks)
                nested = nested or bool(_descendants(cell, "tbl"))
            texts = ["\n".join(b.text for b in cb) for cb in cells]
            prose = nested or any(
                len(cb) > 1 or "\n" in t or len(t) > MAX_CELL_CHARS or any(b.heading_level for b in cb)
                for cb, t in zip(cells, texts, strict=True)
            )
            if prose:
                for cb in cells:
                    out.extend(cb)
            else:
                row_text = " | ".join(t for t in texts if t.strip())
                if row_text:
                    out.append(Block(row_text))

    def note_blocks(self, notes: dict[str, dict[str, Any]]) -> list[Block]:
        """The referenced footnotes, then endnotes, numbered in reference order."""
        out: list[Block] = []
        for kind in ("footnotes", "endnotes"):
            # referenced notes in first-reference order (a dict: thousands of notes stay linear)
            seen = dict.fromkeys(i for k, i in self.note_refs if k == kind and i in notes[kind])
            texts: list[str] = []
            for number, note_id in enumerate(seen, 1):
                note_blocks: list[Block] = []
                self.container(notes[kind][note_id], note_blocks, depth=1)
                text = "\n".join(b.text.strip() for b in note_blocks if b.text.strip())
                if text:
                    texts.append(f"[{number}] {text}")
            out.extend(Block(t) for t in texts)
        return out


def _alternative(element: Any) -> Any:
    """One branch of an `mc:AlternateContent`: the first Choice, else the Fallback (never both:
    Word writes the same text box in each)."""
    return child(element, "Choice") if child(element, "Choice") is not None else child(element, "Fallback")


def _descendants(element: Any, name: str) -> list[Any]:
    """Child elements named `name`, also inside content controls and custom XML wrapping them
    (a row or cell inside `w:sdt`/`w:sdtContent`/`w:customXml`)."""
    found: list[Any] = []
    for item in element:
        tag = local(item.tag)
        if tag == name:
            found.append(item)
        elif tag in ("sdt", "sdtContent", "customXml", "ins", "moveTo"):
            found.extend(_descendants(item, name))
        elif tag == "AlternateContent":
            chosen = _alternative(item)
            if chosen is not None:
                found.extend(_descendants(chosen, name))
    return found
