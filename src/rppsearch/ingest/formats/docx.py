"""DOCX: python-docx paragraphs and tables in document order (heading styles become headings);
packages python-docx can't open (strict OOXML, odd parts) are read with zipfile + ElementTree."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Block, Metadata
from ..metadata import split_list
from .common import MB, mb_text, short_reason

#: Zip-bomb guards for DOCX packages (checked from the zip directory before inflating anything).
MAX_DOCX_UNCOMPRESSED = 200 * MB
MAX_DOCX_RATIO = 100
MAX_DOCX_MEMBERS = 10_000



_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre|título|titolo|kop)\s*(\d)$", re.IGNORECASE)


def _check_zip(path: Path) -> None:
    """Refuse a package that isn't a zip, or would inflate too far (a zip bomb), before reading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise InputError(path, "not a valid DOCX: not a zip archive") from None
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(path, f"not a valid DOCX: {short_reason(exc)}") from None
    if len(infos) > MAX_DOCX_MEMBERS:
        raise InputError(path, f"not a valid DOCX: too many parts ({len(infos):,})")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > MAX_DOCX_UNCOMPRESSED:
        raise InputError(
            path, f"not a valid DOCX: would inflate to {mb_text(total)} (limit {mb_text(MAX_DOCX_UNCOMPRESSED)}; zip bomb?)"
        )
    for info in infos:
        if info.file_size > MB and info.file_size > MAX_DOCX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise InputError(path, f"not a valid DOCX: {info.filename} compresses {ratio:,}:1 (zip bomb?)")
    if total > MB and total > MAX_DOCX_RATIO * max(packed, 1):
        raise InputError(path, f"not a valid DOCX: compresses {total // max(packed, 1):,}:1 (zip bomb?)")


def parse_docx(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    _check_zip(path)
    import docx

    try:
        document = docx.Document(str(path))
        blocks = _docx_blocks(document)
        metadata = _docx_metadata(document)
    except (KeyError, ValueError, AttributeError, TypeError, LookupError, SyntaxError, zipfile.BadZipFile) as exc:
        # python-docx can't read this package (strict OOXML, renamed or missing parts, odd XML):
        # fall back to reading the main part's paragraphs directly.
        blocks, metadata = _docx_fallback(path, reason=short_reason(exc, 80))
    except Exception as exc:
        if type(exc).__name__ not in ("PackageNotFoundError", "XMLSyntaxError", "InvalidXmlError"):
            raise
        blocks, metadata = _docx_fallback(path, reason=short_reason(exc, 80))
    if not any(b.text.strip() for b in blocks) and "parsed_with" not in metadata.extra:
        # python-docx skips content controls and text boxes: read the XML before giving up.
        blocks = _docx_fallback(path, reason="no text in body paragraphs")[0]
    if not metadata.title:
        metadata.title = next((b.text for b in blocks if b.heading_level == 1 and b.text.strip()), None)
    if not any(b.text.strip() for b in blocks):
        raise InputError(path, "no text found in DOCX (empty document)")
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


def _docx_blocks(document: Any) -> list[Block]:
    blocks: list[Block] = []
    _docx_container(document, blocks, depth=0)
    return blocks


def _docx_container(container: Any, blocks: list[Block], depth: int) -> None:
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            if depth < 8:
                _docx_table(item, blocks, depth)
            continue
        text = item.text or ""
        if not text.strip():
            continue
        try:
            style = item.style.name if item.style is not None else ""
        except (KeyError, ValueError, AttributeError):
            style = ""
        blocks.append(Block(text, _style_level(style)))


def _docx_table(table: Any, blocks: list[Block], depth: int) -> None:
    """Short cells of a row join with " | "; a row holding real prose becomes paragraphs."""
    for row in table.rows:
        try:
            cells = row.cells
        except (ValueError, IndexError, KeyError):
            cells = []
        unique: list[Any] = []
        seen: set[int] = set()
        for cell in cells:  # merged cells repeat: keep each once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                unique.append(cell)
        texts = ["\n".join(p.text for p in cell.paragraphs if p.text.strip()) for cell in unique]
        nested = any(cell.tables for cell in unique)
        prose = nested or any("\n" in t or len(t) > 200 for t in texts)
        if prose:
            for cell in unique:
                _docx_container(cell, blocks, depth + 1)
        else:
            row_text = " | ".join(t for t in texts if t.strip())
            if row_text:
                blocks.append(Block(row_text))


def _docx_metadata(document: Any) -> Metadata:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    metadata = Metadata()
    package = document.part.package
    if not any(rel.reltype == RT.CORE_PROPERTIES for rel in package.rels.values()):
        return metadata  # python-docx would invent defaults ("Word Document")
    props = document.core_properties
    if props.title and props.title.strip():
        metadata.title = " ".join(props.title.split())
    if props.author and props.author.strip():
        metadata.authors = split_list(props.author)
    if props.created:
        metadata.year = props.created.year
    return metadata


# --- fallback: stdlib zipfile + ElementTree, namespace-agnostic


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(element: Any, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _xml(archive: zipfile.ZipFile, name: str, path: Path) -> Any:
    import xml.etree.ElementTree as ET

    data = archive.read(name)
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise InputError(path, f"not a valid DOCX: {name} declares a DTD")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(path, f"not a valid DOCX: {name} is not well-formed XML ({exc})") from None


def _main_part(archive: zipfile.ZipFile, path: Path) -> str:
    names = set(archive.namelist())
    if "_rels/.rels" in names:
        for rel in _xml(archive, "_rels/.rels", path).iter():
            if _local(rel.tag) == "Relationship" and (_attr(rel, "Type") or "").endswith("/officeDocument"):
                target = (_attr(rel, "Target") or "").lstrip("/")
                if target in names:
                    return target
    if "word/document.xml" in names:
        return "word/document.xml"
    if "[Content_Types].xml" in names:
        for override in _xml(archive, "[Content_Types].xml", path).iter():
            if "document.main" in (_attr(override, "ContentType") or ""):
                part = (_attr(override, "PartName") or "").lstrip("/")
                if part in names:
                    return part
    raise InputError(path, "not a valid DOCX: no main document part")


def _docx_fallback(path: Path, *, reason: str) -> tuple[list[Block], Metadata]:
    try:
        with zipfile.ZipFile(path) as archive:
            main = _main_part(archive, path)
            root = _xml(archive, main, path)
            styles = _fallback_styles(archive, main, path)
            metadata = _fallback_core(archive, path)
    except InputError as exc:
        raise InputError(path, f"{exc.reason} (python-docx: {reason})") from None
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError) as exc:
        raise InputError(path, f"not a valid DOCX: {short_reason(exc)}") from None
    blocks: list[Block] = []
    body = next((el for el in root.iter() if _local(el.tag) == "body"), root)
    _fallback_walk(body, blocks, styles, depth=0)
    metadata.extra["parsed_with"] = "xml fallback"
    return blocks, metadata


def _fallback_styles(archive: zipfile.ZipFile, main: str, path: Path) -> dict[str, str]:
    folder = main.rsplit("/", 1)[0] + "/" if "/" in main else ""
    name = folder + "styles.xml"
    if name not in archive.namelist():
        return {}
    styles: dict[str, str] = {}
    try:
        root = _xml(archive, name, path)
    except InputError:
        return {}
    for style in root.iter():
        if _local(style.tag) == "style":
            style_id = _attr(style, "styleId") or ""
            label = next((_attr(c, "val") for c in style if _local(c.tag) == "name"), None)
            styles[style_id] = label or style_id
    return styles


def _fallback_core(archive: zipfile.ZipFile, path: Path) -> Metadata:
    metadata = Metadata()
    if "docProps/core.xml" not in archive.namelist():
        return metadata
    try:
        root = _xml(archive, "docProps/core.xml", path)
    except InputError:
        return metadata
    for element in root.iter():
        name, text = _local(element.tag), " ".join((element.text or "").split())
        if not text:
            continue
        if name == "title":
            metadata.title = text
        elif name == "creator":
            metadata.authors = split_list(text)
        elif name == "created" and re.match(r"(1[89]|20)\d\d", text):
            metadata.year = int(text[:4])
    return metadata


def _fallback_walk(element: Any, blocks: list[Block], styles: dict[str, str], depth: int) -> None:
    for child in element:
        name = _local(child.tag)
        if name == "p":
            _fallback_paragraph(child, blocks, styles, depth)
        elif name == "tbl":
            if depth < 8:
                _fallback_table(child, blocks, styles, depth)
        elif name not in ("sectPr", "del", "moveFrom"):
            _fallback_walk(child, blocks, styles, depth)


def _fallback_paragraph(p: Any, blocks: list[Block], styles: dict[str, str], depth: int) -> None:
    parts: list[str] = []
    nested: list[Any] = []
    level = 0

    def collect(element: Any) -> None:
        nonlocal level
        for child in element:
            name = _local(child.tag)
            if name == "t":
                parts.append(child.text or "")
            elif name in ("tab", "ptab"):
                parts.append(" ")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name in ("txbxContent",):
                nested.append(child)
            elif name == "pStyle":
                level = level or _style_level(styles.get(_attr(child, "val") or "", _attr(child, "val") or ""))
            elif name == "outlineLvl" and not level:
                value = _attr(child, "val") or ""
                level = int(value) + 1 if value.isdigit() and int(value) < 6 else 0
            elif name in ("del", "moveFrom", "delText", "instrText", "footnoteReference", "commentReference"):
                continue
            else:
                collect(child)

    collect(p)
    text = "".join(parts)
    if text.strip():
        blocks.append(Block(text, level))
    for box in nested:
        _fallback_walk(box, blocks, styles, depth + 1)


def _fallback_table(table: Any, blocks: list[Block], styles: dict[str, str], depth: int) -> None:
    for row in (c for c in table if _local(c.tag) == "tr"):
        cells: list[list[Block]] = []
        for cell in (c for c in row if _local(c.tag) == "tc"):
            cell_blocks: list[Block] = []
            _fallback_walk(cell, cell_blocks, styles, depth + 1)
            cells.append(cell_blocks)
        texts = ["\n".join(b.text for b in cb) for cb in cells]
        if any(len(cb) > 1 or len(t) > 200 for cb, t in zip(cells, texts, strict=True)):
            for cb in cells:
                blocks.extend(cb)
        else:
            row_text = " | ".join(t for t in texts if t.strip())
            if row_text:
                blocks.append(Block(row_text))
