"""Metadata a document gives about itself: publication date, organization and authors.

Used when no catalog or library speaks for a field. Works from what the parser found (HTML
meta tags read by trafilatura/htmldate, PDF /Info, DOCX core properties) and from the clean
blocks: datelines near the top ("September 2024", "Published: April 2010"), bylines
("by A, B & C - 2009"), publisher lines ("Publisher(s): X", "© 2019 X"). Each field it sets is
recorded in `Metadata.sources`: "document" when the document states it, "inferred" when it is
read from weaker evidence (a copyright year, an organization taken for an author).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from ..models import METADATA_FIELDS, Block, Metadata

#: How far into the document a dateline or byline may sit (blocks, then characters).
HEAD_BLOCKS = 40
HEAD_CHARS = 2500
#: The oldest year a file's own timestamp is believed (older ones are clock defaults).
FILE_DATE_MIN = 1990

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
           r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_YEAR = r"((?:19|20)\d\d)"
#: A date as pages write it: "April 2010", "April 5, 2010", "5 April 2010", "2010-04-05", "4/5/2010".
_DATE = re.compile(
    rf"\b(?:{_MONTHS}\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?{_YEAR}"
    rf"|\d{{1,2}}\s+{_MONTHS},?\s+{_YEAR}"
    rf"|{_YEAR}-[01]\d-[0-3]\d"
    rf"|[01]?\d/[0-3]?\d/{_YEAR})\b",
    re.IGNORECASE,
)
_DATE_LABEL = re.compile(
    r"^\W*(?:published|posted|updated|last updated|released|date|issued|first published)\b(?:\s+on)?\s*[:\-–—]?\s*",
    re.IGNORECASE,
)
#: "by A, B & C - 2009", "By Jane Doe | March 3, 2021", "By Jane Doe and John Roe".
_BYLINE = re.compile(r"^\W*by\s+(?P<names>[^|–—\d(]{3,200}?)\s*(?:\s[|–—\-(]\s*(?P<rest>.*))?$", re.IGNORECASE)
_CITE = re.compile(r"^\W*(?:cite (?:this|as)|suggested citation|recommended citation|citation)\b", re.IGNORECASE)
#: "© 2019 X", "Copyright © 2018-2020 X", "(c) 2019 X"; a bare "(c)" is a list item and a bare
#: "Copyright" a word ("U.S. Copyright Office"), not a notice.
_COPYRIGHT = re.compile(
    rf"(?:©|\bcopyright\s*(?:©|\(c\))|(?:\bcopyright|\(c\))(?=\s*(?:19|20)\d\d))\s*"
    rf"(?:{_YEAR}(?:\s*[-–]\s*{_YEAR})?)?,?\s*(?P<org>[^.|]{{0,100}})",
    re.IGNORECASE,
)
#: Authors that are a template's or an account's default, not a person.
_NOT_AUTHORS = {"user", "admin", "administrator", "editorial", "staff", "unknown", "author", "owner", "guest",
                "microsoft office user", "windows user", "word user", "default", "office"}
_LABEL = re.compile(r"^\W*(?P<label>publisher\(s\)|publisher|published by|author\(s\)|authors?|prepared by)(?!\w)"
                    r"\s*[:\-–—]?\s*(?P<value>.*)$", re.IGNORECASE)
_ORG_WORDS = re.compile(
    r"\b(?:university|college|institute|foundation|center|centre|council|department|district|schools|"
    r"association|agency|office|board|laboratory|lab|academy|partners|partnership|strategies|corporation|"
    r"inc|llc|ltd|trust|fund|network|alliance|coalition|commission|ministry|bureau|society|group|"
    r"organization|organisation|consortium|project|press|collaborative|policy)\b",
    re.IGNORECASE,
)
_RIGHTS = re.compile(r"\ball rights reserved\b.*$", re.IGNORECASE)


def _sane_year(year: int) -> bool:
    return FILE_DATE_MIN <= year <= date.today().year + 1


def _head_lines(blocks: list[Block]) -> list[str]:
    """The lines of the first blocks (a dateline is a line of its own, or nearly)."""
    lines: list[str] = []
    size = 0
    for block in blocks[:HEAD_BLOCKS]:
        for line in block.text.split("\n"):
            line = " ".join(line.split()).strip("•·*- ")
            if line:
                lines.append(line)
                size += len(line)
        if size > HEAD_CHARS:
            break
    return lines


def _tail_lines(blocks: list[Block], count: int = 8) -> list[str]:
    lines = [" ".join(line.split()) for b in blocks[-count:] for line in b.text.split("\n")]
    return [line for line in lines if line]


def _date_in(text: str) -> tuple[str, int] | None:
    match = _DATE.search(text)
    if not match:
        return None
    year = int(next(g for g in match.groups() if g))
    return match.group(0), year


def find_dateline(blocks: list[Block]) -> tuple[str, int] | None:
    """(the date as written, its year) from a dateline near the top: a short line that is a
    date, or a labelled one ("Published: April 2010"), or a byline's or citation's year."""
    for line in _head_lines(blocks):
        label = _DATE_LABEL.match(line)
        rest = line[label.end():] if label else line
        found = _date_in(rest)
        short = len(line) <= len(found[0]) + 25 if found else False
        if found and (short or (label and len(line) <= 80)) and found[1] <= date.today().year + 1:
            return found
        byline = _BYLINE.match(line)
        names = split_names(byline.group("names")) if byline else []
        if byline and byline.group("rest") and names and all(_looks_like_name(n) for n in names):
            found = _date_in(byline.group("rest")) or _bare_year(byline.group("rest"))
            if found:
                return found
        if _CITE.match(line):
            found = _date_in(line) or _bare_year(line)
            if found:
                return found
    return None


def _bare_year(text: str) -> tuple[str, int] | None:
    match = re.search(rf"\b{_YEAR}\b", text)
    return (match.group(1), int(match.group(1))) if match else None


def find_byline(blocks: list[Block]) -> list[str]:
    """Authors from a byline ("by A, B & C") or an "Author(s)" label near the top."""
    lines = _head_lines(blocks)
    for i, line in enumerate(lines):
        label = _LABEL.match(line)
        if label and label.group("label").lower().startswith("author"):
            value = label.group("value") or (lines[i + 1] if i + 1 < len(lines) else "")
            return split_names(value)
        byline = _BYLINE.match(line)
        if byline and len(line) < 160:
            names = split_names(byline.group("names"))
            if names and all(_looks_like_name(n) for n in names):
                return names
    return []


def split_names(value: str) -> list[str]:
    """'A, B, and C' / 'A & B' / 'A; B' as a list of names."""
    value = re.sub(r"\s+(?:and|&)\s+", ", ", value.strip().rstrip("."))
    parts = [p.strip(" ,;") for p in re.split(r"[;,]", value)]
    return [p for p in parts if p and not p.lower().startswith("et al")]


def _looks_like_name(name: str) -> bool:
    words = name.split()
    return 1 < len(words) <= 5 and all(w[0].isupper() for w in words if w[0].isalpha()) and not _ORG_WORDS.search(name)


def looks_like_organization(name: str) -> bool:
    return bool(_ORG_WORDS.search(name)) and len(name) <= 120


def find_organization(blocks: list[Block]) -> tuple[str, str] | None:
    """(organization, source) from a publisher line near the top ("document") or a copyright
    line at the top or bottom ("document")."""
    lines = _head_lines(blocks)
    for i, line in enumerate(lines):
        label = _LABEL.match(line)
        if label and not label.group("label").lower().startswith("author"):
            value = label.group("value") or (lines[i + 1] if i + 1 < len(lines) else "")
            # "Published by the Wallace Foundation in 2013" -> "The Wallace Foundation"
            value = re.split(r"\s+(?:in|on)\s+|\s*[,;(|]\s*", value, maxsplit=1)[0].strip(" .:")
            value = "The" + value[3:] if value.startswith("the ") else value
            if value and len(value) <= 120 and looks_like_organization(value):
                return value, "document"
    for line in lines + _tail_lines(blocks):
        match = _COPYRIGHT.search(line)
        if match:
            org = _RIGHTS.sub("", match.group("org")).strip(" .,;")
            org = re.sub(r"^by\s+", "", org, flags=re.IGNORECASE)
            org = "The" + org[3:] if org.startswith("the ") else org
            if org and len(org.split()) <= 12 and org[0].isupper():
                return org, "document"
    return None


def _copyright_year(blocks: list[Block]) -> int | None:
    for line in _head_lines(blocks) + _tail_lines(blocks):
        match = _COPYRIGHT.search(line)
        if match and match.group(1):
            year = int(match.group(2) or match.group(1))
            if _sane_year(year):
                return year
    return None


def clean_authors(names: list[str]) -> list[str]:
    """Author names without account defaults ("User"), codes ("W:CAR:MP:FP") or link text
    ("View all posts by X"); "Last, First" turned round."""
    out = []
    for name in names:
        name = re.sub(r"^(?:view all posts by|posted by|written by|by)\s+", "", " ".join(name.split()), flags=re.IGNORECASE)
        if not name or name.lower() in _NOT_AUTHORS or ":" in name or not re.search(r"[^\W\d_]{2}", name):
            continue
        if name.count(",") == 1 and not looks_like_organization(name):
            last, first = (p.strip() for p in name.split(","))
            name = f"{first} {last}".strip()
        if name not in out:
            out.append(name)
    return out


def document_metadata(file_meta: Metadata, blocks: list[Block], *, fmt: str) -> Metadata:
    """`file_meta` (the parser's) completed from the text; every field set gets its source."""
    out = replace(file_meta, authors=clean_authors(file_meta.authors), districts=list(file_meta.districts),
                  extra=dict(file_meta.extra), sources=dict(file_meta.sources))
    for name in METADATA_FIELDS:
        if getattr(out, name) not in (None, "", []):
            out.sources.setdefault(name, "document")
    # Dates. A file's own timestamp (PDF CreationDate, DOCX created) is when the file was
    # made, often a conversion: a dateline in the text wins, and an implausible year is dropped.
    file_date = fmt in ("pdf", "docx", "pptx") and out.year is not None and not out.published
    dateline = find_dateline(blocks) if out.year is None or file_date else None
    if dateline:
        out.published, out.year = dateline
        out.sources["year"] = out.sources["published"] = "document"
    elif file_date and out.year is not None and not _sane_year(out.year):
        out.year = None
        out.sources.pop("year", None)
    elif file_date:
        out.sources["year"] = "inferred"  # when the file was made, not necessarily published
    if out.year is None and out.published:
        found = _date_in(out.published) or _bare_year(out.published)
        if found:
            out.year = found[1]
            out.sources["year"] = out.sources.get("published", "document")
    if out.year is None:
        year = _copyright_year(blocks)
        if year:
            out.year = year
            out.sources["year"] = "inferred"
    # Organization: the site's name, a publisher line, or an author that is an organization.
    if not out.organization and out.site_name:
        out.organization = out.site_name
        out.sources["organization"] = out.sources.get("site_name", "document")
    if not out.organization:
        found_org = find_organization(blocks)
        if found_org:
            out.organization, out.sources["organization"] = found_org
    if out.authors and all(looks_like_organization(a) for a in out.authors):
        if not out.organization:
            out.organization = out.authors[0]
            out.sources["organization"] = "inferred"
        out.authors = []
        out.sources.pop("authors", None)
    if not out.authors:
        names = find_byline(blocks)
        if names:
            out.authors = names
            out.sources["authors"] = "document"
    return out


def is_metadata_line(text: str) -> bool:
    """A dateline, byline or publisher/author line ("Published: April 2010", "by A & B - 2009",
    "Publisher(s): X"): on a landing page the heading just above one is the document's title."""
    line = " ".join(text.split())
    if not line or len(line) > 200:
        return False
    label = _DATE_LABEL.match(line)
    if label and _date_in(line[label.end():]):
        return True
    if _LABEL.match(line) and (":" in line[:30] or len(line.split()) <= 6):
        return True
    byline = _BYLINE.match(line)
    names = split_names(byline.group("names")) if byline else []
    return bool(names) and all(_looks_like_name(n) for n in names)
