"""Reference-manager exports as input: BibTeX (`.bib`) and RIS (`.ris`) libraries.

As Zotero ("Export Collection… with Export Files"), Mendeley, JabRef and EndNote write them:
each entry's attachment sits beside the export (`files/12/Report.pdf`), named by the BibTeX
`file` field (`Description:path:mime;…` in Zotero's form, `:path:PDF` in JabRef's) or by RIS
`L1`/`L4`/`L2` links. Each entry becomes a metadata mapping in the catalog's vocabulary (title,
authors, year, organization, doc_type, url, doi, keywords), stored with source "library".

Parsing is done by maintained parsers: bibtexparser 2 (BibTeX, with pylatexenc for LaTeX
accents) and rispy (RIS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import InputError, RppError

LIBRARY_SUFFIXES = {".bib", ".ris"}
#: Which attachment an entry is read from when it has several: the document before a snapshot.
_PREFERENCE = [".pdf", ".docx", ".pptx", ".html", ".htm", ".md", ".txt"]

#: Entry types as rppsearch's doc_type vocabulary.
_BIB_TYPES = {
    "article": "article", "book": "book", "inbook": "chapter", "incollection": "chapter",
    "techreport": "report", "report": "report", "phdthesis": "thesis", "mastersthesis": "thesis",
    "thesis": "thesis", "inproceedings": "conference paper", "conference": "conference paper",
    "online": "web page", "electronic": "web page", "webpage": "web page", "misc": "document",
    "unpublished": "manuscript", "manual": "guide", "booklet": "guide",
}
_RIS_TYPES = {
    "JOUR": "article", "JFULL": "article", "MGZN": "article", "BOOK": "book", "EBOOK": "book",
    "CHAP": "chapter", "ECHAP": "chapter", "RPRT": "report", "THES": "thesis", "CONF": "conference paper",
    "CPAPER": "conference paper", "ELEC": "web page", "WEB": "web page", "BLOG": "blog", "NEWS": "news",
    "GEN": "document", "UNPB": "manuscript", "MANSCPT": "manuscript", "GOVDOC": "report", "STAND": "standard",
}


@dataclass
class LibraryExport:
    """An export's entries: (attachment, entry) for those with a readable one, and
    (entry key, reason) for the rest."""

    path: Path
    attachments: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)


def read_library(path: Path, *, supported: set[str] | None = None) -> LibraryExport:
    """Entries of a `.bib` or `.ris` export and the attachment each is read from."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read library export ({exc})") from exc
    suffix = path.suffix.lower()
    records = _bibtex_records(path, text) if suffix == ".bib" else _ris_records(path, text)
    if supported is None:
        from .pipeline import _supported  # noqa: PLC0415

        supported = _supported()
    export = LibraryExport(path=path)
    base = path.resolve().parent
    for key, entry, links in records:
        label = f"{key} “{entry.get('title') or '(untitled)'}”"
        candidates = [_resolve_link(link, base) for link in links]
        present = [c for c in candidates if c is not None and c.is_file()]
        readable = sorted(
            (c for c in present if c.suffix.lower() in supported),
            key=lambda c: _PREFERENCE.index(c.suffix.lower()) if c.suffix.lower() in _PREFERENCE else 99,
        )
        if readable:
            export.attachments.append((readable[0], entry))
        elif not links:
            export.missing.append((key, f"{label}: no attachment"))
        elif present:
            kinds = ", ".join(sorted({c.suffix.lower() or "(none)" for c in present}))
            export.missing.append((key, f"{label}: no readable attachment (only {kinds})"))
        else:
            export.missing.append((key, f"{label}: attachment not found ({links[0]})"))
    return export


# -- BibTeX ---------------------------------------------------------------------------------

def _bibtex_records(path: Path, text: str) -> list[tuple[str, dict[str, Any], list[str]]]:
    import bibtexparser  # noqa: PLC0415

    library = bibtexparser.parse_string(text)
    if not library.entries and library.failed_blocks:
        raise InputError(path, f"not a readable BibTeX file ({len(library.failed_blocks)} broken entries)")
    records = []
    for block in library.failed_blocks:
        line = getattr(block, "start_line", None)
        records.append((f"line {line + 1 if isinstance(line, int) else '?'}", {"title": "unreadable BibTeX entry"}, []))
    for entry in library.entries:
        fields = {k.lower(): str(f.value) for k, f in entry.fields_dict.items()}
        get = lambda name: _latex(fields.get(name))  # noqa: E731
        organization = get("institution") or get("organization") or get("publisher") or get("school")
        record: dict[str, Any] = {
            "id": entry.key,
            "title": get("title"),
            "authors": [_person(a) for a in re.split(r"\s+and\s+", fields.get("author") or fields.get("editor") or "") if a.strip()],
            "year": get("year") or get("date"),
            "published": get("date") or get("year"),
            "organization": organization,
            "doc_type": _BIB_TYPES.get(entry.entry_type.lower(), entry.entry_type.lower()),
            "url": get("url"),
            "doi": get("doi"),
            "keywords": [k.strip() for k in re.split(r"[;,]", get("keywords") or "") if k.strip()],
            "library_key": entry.key,
        }
        records.append((entry.key, _clean(record), _bibtex_files(fields.get("file") or "")))
    return records


def _latex(value: str | None) -> str | None:
    """A BibTeX field as plain text: LaTeX accents decoded, protective braces gone."""
    if not value:
        return None
    if "\\" in value or "{" in value:
        from pylatexenc.latex2text import LatexNodes2Text  # noqa: PLC0415

        try:
            value = LatexNodes2Text().latex_to_text(value)
        except Exception:  # noqa: BLE001 - malformed LaTeX: keep the text without braces
            value = value.replace("{", "").replace("}", "")
    return " ".join(value.split()) or None


def _person(name: str) -> str:
    """'Honig, Meredith I.' -> 'Meredith I. Honig'; '{Wallace Foundation}' stays whole."""
    name = _latex(name) or ""
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        return f"{first} {last}".strip()
    return name


def _split_unescaped(value: str, sep: str) -> list[str]:
    return [p.replace("\\" + sep, sep) for p in re.split(rf"(?<!\\){re.escape(sep)}", value)]


def _bibtex_files(value: str) -> list[str]:
    """Paths in a `file` field: Zotero `Desc:path:mime;…`, JabRef `:path:PDF`, Mendeley
    `:C$\\backslash$:/x.pdf:pdf`, or a bare path."""
    value = value.replace("$\\backslash$", "\\").replace("{", "").replace("}", "")
    links = []
    for item in _split_unescaped(value, ";"):
        parts = _split_unescaped(item, ":")
        if len(parts) >= 3:
            path = ":".join(parts[1:-1])  # a Windows drive letter's colon stays in the path
        elif len(parts) == 2:
            path = parts[1] if parts[0] == "" or "/" not in parts[0] else ":".join(parts)
        else:
            path = parts[0]
        path = path.replace("\\\\", "\\").strip()
        if path:
            links.append(path)
    return links


# -- RIS ------------------------------------------------------------------------------------

def _ris_records(path: Path, text: str) -> list[tuple[str, dict[str, Any], list[str]]]:
    import rispy  # noqa: PLC0415
    from rispy.config import LIST_TYPE_TAGS  # noqa: PLC0415

    try:
        entries = rispy.loads(text, list_tags=[*LIST_TYPE_TAGS, "L1", "L2", "L4"], skip_unknown_tags=True)
    except (IOError, ValueError) as exc:
        raise InputError(path, f"not a readable RIS file ({exc})") from exc
    records = []
    for number, entry in enumerate(entries, start=1):
        key = str(entry.get("id") or f"entry-{number}")
        authors = entry.get("authors") or entry.get("first_authors") or []
        date = entry.get("date") or entry.get("year") or ""
        urls = entry.get("urls") or []
        record: dict[str, Any] = {
            "id": entry.get("id"),
            "title": entry.get("title") or entry.get("primary_title"),
            "authors": [_person(a) for a in authors],
            "year": entry.get("year") or date,
            "published": str(date).strip("/") or None,
            "organization": entry.get("publisher"),
            "doc_type": _RIS_TYPES.get(str(entry.get("type_of_reference") or "").upper(), "document"),
            "url": urls[0] if urls else None,
            "doi": entry.get("doi"),
            "keywords": list(entry.get("keywords") or []),
            "library_key": key,
        }
        links = [*(entry.get("file_attachments1") or []), *(entry.get("figure") or []),
                 *(entry.get("file_attachments2") or [])]
        records.append((key, _clean(record), [str(link) for link in links]))
    return records


def _resolve_link(link: str, base: Path) -> Path | None:
    """An attachment link as a path: relative to the export's folder, or a `file://` URI."""
    link = link.strip()
    if not link:
        return None
    if link.startswith("file:"):
        link = unquote(urlparse(link).path)
    elif re.match(r"^[a-z][a-z0-9+.-]*://", link, re.IGNORECASE):
        return None  # a web link, or Zotero's internal-pdf:// (not in the export)
    path = Path(link.replace("\\", "/")) if not re.match(r"^[A-Za-z]:\\", link) else Path(link)
    return path if path.is_absolute() else base / path


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v not in (None, "", [])}


def library_exports(paths: list[Path], report: Any) -> tuple[list[Path], dict[Path, dict[str, Any]]]:
    """Reference-manager exports among `paths` (or at the top of a folder among them) replaced
    by their attachments, with each attachment's entry; entries without a readable attachment
    go to `report.entries_missing` (an ingest's IngestReport), unreadable exports to `report.failed`."""
    out: list[Path] = []
    entries: dict[Path, dict[str, Any]] = {}
    for path in paths:
        if path.is_dir():
            # an export's own folder (`My Library/My Library.bib` + `files/`): its files are found
            # by discovery and get their entries' metadata
            out.append(path)
            exports = sorted(p for p in path.iterdir() if p.suffix.lower() in LIBRARY_SUFFIXES and p.is_file())
        elif path.suffix.lower() in LIBRARY_SUFFIXES and path.is_file():
            exports = [path]
        else:
            out.append(path)
            continue
        for export_path in exports:
            try:
                export = read_library(export_path)
            except RppError as exc:
                report.failed.append((str(export_path), getattr(exc, "reason", None) or exc.message))
                continue
            for file, entry in export.attachments:
                if file.resolve() not in entries:
                    entries[file.resolve()] = entry
                    if export_path is path or not file.resolve().is_relative_to(path.resolve()):
                        out.append(file)  # (attachments inside a folder given are found by discovery)
            report.entries_missing.extend((str(export_path), key, reason) for key, reason in export.missing)
    return out, entries
