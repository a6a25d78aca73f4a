"""Reading Office Open XML packages (DOCX, PPTX) safely: zip-bomb guards from the zip directory,
XML parts without DTDs, relationships, and the core properties (title, creator, created).

Namespace-agnostic (local names only), so ISO 29500 strict packages (purl.oclc.org namespaces)
read like transitional ones.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Metadata
from ..metadata import split_list
from .common import MB, mb_text, short_reason

#: Zip-bomb guards for Office packages (checked from the zip directory before inflating anything).
MAX_PACKAGE_UNCOMPRESSED = 200 * MB
MAX_PACKAGE_RATIO = 100
MAX_PACKAGE_MEMBERS = 10_000


def check_zip(path: Path, label: str) -> None:
    """Refuse a package that isn't a zip, or would inflate too far (a zip bomb), before reading it."""
    bad = f"not a valid {label}"
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise InputError(path, f"{bad}: not a zip archive") from None
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(path, f"{bad}: {short_reason(exc)}") from None
    if len(infos) > MAX_PACKAGE_MEMBERS:
        raise InputError(path, f"{bad}: too many parts ({len(infos):,})")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > MAX_PACKAGE_UNCOMPRESSED:
        raise InputError(
            path, f"{bad}: would inflate to {mb_text(total)} (limit {mb_text(MAX_PACKAGE_UNCOMPRESSED)}; zip bomb?)"
        )
    for info in infos:
        if info.file_size > MB and info.file_size > MAX_PACKAGE_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise InputError(path, f"{bad}: {info.filename} compresses {ratio:,}:1 (zip bomb?)")
    if total > MB and total > MAX_PACKAGE_RATIO * max(packed, 1):
        raise InputError(path, f"{bad}: compresses {total // max(packed, 1):,}:1 (zip bomb?)")


def local(tag: Any) -> str:
    """An element's name without its namespace ("" for comments and processing instructions)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def attr(element: Any, name: str) -> str | None:
    """An attribute by local name, whatever its namespace."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return None


def child(element: Any, name: str) -> Any:
    """The first child element with this local name, or None."""
    return next((c for c in element if local(c.tag) == name), None)


def read_xml(archive: zipfile.ZipFile, name: str, path: Path, label: str = "DOCX") -> Any:
    """A part parsed as XML; a part declaring a DTD (entity expansion) or not well-formed is refused."""
    data = archive.read(name)
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise InputError(path, f"not a valid {label}: {name} declares a DTD")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(path, f"not a valid {label}: {name} is not well-formed XML ({exc})") from None


def optional_xml(archive: zipfile.ZipFile, name: str | None, path: Path) -> Any:
    """An optional part (styles, notes, relationships, properties) parsed, or None when it is
    missing or unreadable: the document's text does not depend on it."""
    if name is None or name not in set(archive.namelist()):
        return None
    try:
        return read_xml(archive, name, path)
    except InputError:
        return None


def relationships(archive: zipfile.ZipFile, part: str, path: Path) -> dict[str, tuple[str, str]]:
    """rId -> (relationship type suffix, target part name) for `part` ("" for the package)."""
    folder, base = posixpath.split(part)
    root = optional_xml(archive, posixpath.join(folder, "_rels", base + ".rels"), path)
    if root is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for rel in root.iter():
        if local(rel.tag) != "Relationship" or (attr(rel, "TargetMode") or "") == "External":
            continue
        target = attr(rel, "Target") or ""
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[attr(rel, "Id") or ""] = ((attr(rel, "Type") or "").rsplit("/", 1)[-1], name)
    return out


def part_of_type(archive: zipfile.ZipFile, part: str, kind: str, path: Path) -> str | None:
    """The part `part` relates to with relationship type `kind` ("styles", "footnotes"), if present."""
    names = set(archive.namelist())
    return next((t for k, t in relationships(archive, part, path).values() if k == kind and t in names), None)


def core_metadata(archive: zipfile.ZipFile, path: Path) -> Metadata:
    """Title, authors and year from the package's core properties (docProps/core.xml); an empty
    Metadata when the package has none (never invented defaults such as "Word Document")."""
    metadata = Metadata()
    root = optional_xml(archive, part_of_type(archive, "", "core-properties", path) or "docProps/core.xml", path)
    if root is None:
        return metadata
    for element in root.iter():
        tag, text = local(element.tag), " ".join((element.text or "").split())
        if not text:
            continue
        if tag == "title":
            metadata.title = text
        elif tag == "creator":
            metadata.authors = split_list(text)
        elif tag == "created" and re.match(r"(1[89]|20)\d\d", text):
            metadata.year = int(text[:4])
    return metadata
