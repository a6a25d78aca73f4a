"""Titles a reader accepts: for a document with none of its own, and for documents that share one.

`fallback_title(blocks)`: a document whose structure gives no title (a text capture without a
title line, a page whose og:title is missing) is named by
  1. a heading just above a dateline, byline or publisher line (a landing page's title sits
     there: "Central Office Transformation …" above "Published: April 2010");
  2. else a heading near the top, before HEAD_WORDS words of body text (past that, a heading
     names a section: "Advancing Equitable Access" nine paragraphs into a profile page);
  3. else its opening sentence (`lead_title`), marked inferred; never its file name.

`distinctions(blocks, title)`: what tells a document apart from another with the same title,
best first — its first headings after the title, near the top, then its opening words. Kept in
the document's own metadata layer, so the corpus step below needs no re-parse.

`tell_apart(rows)`: the corpus step. Different documents that share a title (the seven chapter
pages of one report all carry the report's title; two captures of a "Partnerships" page) keep
it and get a part of their own after " — ": the first distinction no other document of the
group has. The result is recorded as inferred, with the shared title kept in
`extra["shared_title"]` and a warning line; it is recomputed after every ingest, edit and
removal (a document left alone gets its shared title back), and never touches a title a
catalog, a library export or `rpp edit` gave.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from ..models import Block
from .docmeta import is_metadata_line
from .formats.titles import (
    DANGLING_WORDS,
    LEAD_MIN_WORDS,
    cut_words,
    lead_title,
    looks_like_file_name,
    looks_like_navigation,
    pick_title,
)

#: Headings among this many first blocks may stand in for a missing title or tell it apart.
TITLE_HEADING_WINDOW = 12
#: A heading after more body words than this names a section, not the document.
HEAD_WORDS = 120
#: Opening words that tell a document apart are cut to this many.
DISTINCTION_WORDS = 8
SEPARATOR = " — "
#: Title sources the corpus step may add a part to (a catalog's, a library's or the user's wins).
TELLABLE = ("document", "inferred")
_FIELD_LABEL = re.compile(r"^[^:]{1,30}:\s*\S")
_DASHES = str.maketrans({"‐": "-", "‑": "-", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})


def title_key(title: str | None) -> str:
    """Two titles are the same title when this matches: case, spacing, dashes and quotes aside."""
    s = unicodedata.normalize("NFKC", title or "").translate(_DASHES).casefold()
    return " ".join(re.sub(r"[^\w'\"-]+", " ", s).split())


def fallback_title(blocks: list[Block]) -> str | None:
    """A title for a document that has none of its own (see the module docstring), or None."""
    window = blocks[:TITLE_HEADING_WINDOW]
    for i, block in enumerate(window):
        if block.heading_level > 0 and i + 1 < len(blocks) and is_metadata_line(blocks[i + 1].text):
            title = pick_title(block.text)
            if title and not is_metadata_line(block.text):
                return title
    words = 0
    for block in window:
        if block.heading_level > 0:
            title = pick_title(block.text)
            if title and not is_metadata_line(block.text):
                return title
        else:
            words += len(block.text.split())
            if words > HEAD_WORDS:
                break
    return lead_title(b.text for b in blocks if b.heading_level == 0)


_DANGLING_END = re.compile(rf"\s(?:{'|'.join(sorted(DANGLING_WORDS))}|&)$", re.IGNORECASE)


def complete_title(title: str | None, blocks: list[Block]) -> str | None:
    """A title a site cut inside a word ("… for District" of "… for District-wide Teaching and
    Learning Improvement") completed from the document's own cover lines: short lines near the
    top that spell the title and run on past the cut with a hyphen. Otherwise `title` as is."""
    if not title:
        return title
    key = title_key(title)
    short = [b.text for b in blocks[:TITLE_HEADING_WINDOW * 2]]
    for i in range(len(short)):
        joined = ""
        for line in short[i:i + 8]:  # the shortest run past the cut that does not end on "and"
            line = " ".join(line.split())
            if not line or len(line.split()) > 6 or line[-1] in ".!?;" or is_metadata_line(line):
                break
            joined = f"{joined} {line}".strip()
            jkey = title_key(joined)
            if not (jkey.startswith(key) or key.startswith(jkey)):
                break
            if jkey.startswith(key + "-") and not _DANGLING_END.search(joined):
                if pick_title(joined) == joined and len(joined.split()) <= 20:
                    return joined
                break
    return title


#: A subtitle joins a title of at most this many words; it has 3 to SUBTITLE_WORDS words.
SHORT_TITLE_WORDS, SUBTITLE_WORDS = 8, 20


def with_subtitle(title: str | None, blocks: list[Block]) -> str | None:
    """`title` with the subtitle on the line right after it, joined by ": " ("Operations" and
    "Becoming a strategic support"; "Human Resources" and "Staffing for teaching quality and
    teacher diversity"). A subtitle is one line of 3–20 words in sentence case (not a Title
    Case section heading such as "21CSLA Equity Statement"), with no sentence end (not the
    first sentence, an image's caption or a question), and no dateline or byline."""
    if not title or len(title.split()) > SHORT_TITLE_WORDS:
        return title
    key = title_key(title)
    at = next((i for i, b in enumerate(blocks[:3]) if b.heading_level > 0 and title_key(b.text) == key), None)
    if at is None or at + 1 >= len(blocks) or "\n" in blocks[at + 1].text.strip():
        return title
    line = " ".join(blocks[at + 1].text.split())
    words = line.split()
    capitalised = sum(1 for w in words[1:] if w[:1].isupper())
    if (not 3 <= len(words) <= SUBTITLE_WORDS or not line[:1].isupper() or line[-1] in ".!?:;…"
            or capitalised > 1 or is_metadata_line(line) or looks_like_navigation(line)):
        return title
    joined = f"{title.rstrip(' :')}: {line}"
    return joined if pick_title(joined) == joined else title


def _part(text: str) -> str | None:
    """A heading as a distinguishing part, or None (navigation, a file name, a field label
    such as "Area of focus: …", a dateline, or too long). Section headings are welcome here."""
    s = " ".join(text.split()).strip(" -–—|:")
    if not s or not any(ch.isalpha() for ch in s) or len(s.split()) > 15:
        return None
    if looks_like_navigation(s) or looks_like_file_name(s) or _FIELD_LABEL.match(s) or is_metadata_line(s):
        return None
    return s


def opening_words(texts: Iterable[str], *, title: str | None = None) -> str | None:
    """The first words of the first paragraph that starts like a sentence, cut to
    DISTINCTION_WORDS, quoted: “In a southern school district, the superintendent…”."""
    key = title_key(title)
    for text in texts:
        s = " ".join(text.split())
        words = len(s.split())
        # a paragraph's start: a whole sentence, or a line long enough not to be a cover line
        if (not s or not (s[0].isupper() or s[0].isdigit() or s[0] in "\"“'‘") or words < LEAD_MIN_WORDS
                or (words < 15 and s[-1] not in ".!?:\"”") or title_key(s) == key or looks_like_navigation(s) or _FIELD_LABEL.match(s) or is_metadata_line(s)):
            continue
        return f"“{cut_words(s, DISTINCTION_WORDS)}”"
    return None


def _is_title(text: str, key: str) -> bool:
    """`text` is the title, or a copy of it cut short ("… for District")."""
    k = title_key(text)
    return k == key or (len(k) >= 12 and key.startswith(k))


def distinctions(blocks: list[Block], title: str | None) -> list[str]:
    """What tells this document apart from another titled `title`, best first: up to three
    headings after the title near the top, then its opening words."""
    key = title_key(title)
    window = blocks[: TITLE_HEADING_WINDOW * 2]
    # where the text carries no heading with the title (it came from og:title or a catalog),
    # headings count from the top
    after_title = not any(b.heading_level > 0 and _is_title(b.text, key) for b in window)
    out: list[str] = []
    words = 0
    for block in window:
        if block.heading_level > 0:
            if _is_title(block.text, key):
                after_title = True
            elif after_title and (part := _part(block.text)) and part not in out:
                out.append(part)
        elif title_key(block.text) != key:  # (a "download the full report: TITLE" line is no body)
            words += len(block.text.split())
            if words > HEAD_WORDS:
                break
    # opening words after the title where the text has it (before it: a site's tagline)
    start = next((i for i, b in enumerate(blocks) if b.heading_level > 0 and _is_title(b.text, key)), -1)
    body = [b.text for b in blocks[start + 1:] if b.heading_level == 0]
    lead = opening_words(body, title=title) or opening_words((b.text for b in blocks if b.heading_level == 0), title=title)
    return out[:3] + ([lead] if lead else [])


def _chosen_parts(group: list[dict[str, Any]]) -> dict[str, str | None]:
    """Each document's first distinction that no other document of the group has (None when
    every one of its distinctions is another's too: their texts open alike)."""
    keys = {r["id"]: {title_key(d) for d in r["distinctions"]} for r in group}
    # how many documents of the group have each distinction: 1 is this one alone (counted, not
    # a union of the others' per document, which grew with the square of the group's size)
    held = Counter(k for found in keys.values() for k in found)
    return {row["id"]: next((d for d in row["distinctions"] if held[title_key(d)] == 1), None) for row in group}


def _to_tell_apart(group: list[dict[str, Any]]) -> bool:
    """Documents sharing one title are told apart when there are several and one of them
    holds its title from its own text (not a catalog's, a library's or the user's)."""
    return len(group) > 1 and any(r["source"] in TELLABLE for r in group)


def tell_apart(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The corpus step on plain rows. Each row: `id`, `title` and `source` (the shared title
    and its source when the row was told apart before: the base), `distinctions`. Returns, for
    every row, {"title", "source", "shared"}: the title to store, its source, and None or
    {"title": base, "source": base source, "documents": n, "told_apart_by": …, "warning": …}."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["title"]:
            groups[title_key(row["title"])].append(row)
    out: dict[str, dict[str, Any]] = {
        r["id"]: {"title": r["title"], "source": r["source"], "shared": None} for r in rows
    }
    for group in groups.values():
        if not _to_tell_apart(group):
            continue
        parts = _chosen_parts(group)
        for row in (r for r in group if r["source"] in TELLABLE):
            part = parts[row["id"]]
            if part is None:
                how, title = "nothing (their texts open alike)", row["title"]
            else:
                how = "its opening words" if part.startswith("“") else "its first heading after the title"
                title = f"{row['title']}{SEPARATOR}{part}"
            warning = f"{len(group)} documents share the title “{row['title']}”; told apart by {how}"
            out[row["id"]] = {
                "title": title, "source": "inferred" if part else row["source"],
                "shared": {"title": row["title"], "source": row["source"], "documents": len(group),
                           "told_apart_by": how, "warning": warning},
            }
    return out


def _load(text: str | None, default: Any) -> Any:
    try:
        value = json.loads(text or "null")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def _base(row: dict[str, Any]) -> dict[str, Any]:
    """A `title_rows` row as tell_apart's input, without distinctions yet: its base title (the
    shared one when told apart before) and that title's source. A JSONL record's title is the
    data set's, as given (a benchmark's text is not ours to change): never told apart."""
    shared = _load(row["shared"], {}) or None
    title = shared["title"] if shared and shared.get("title") else row["title"]
    source = shared.get("source", "inferred") if shared else (row["title_source"] or "inferred")
    return {"id": row["id"], "title": title, "source": "record" if row["format"] == "jsonl" else source,
            "stored_source": source, "was_shared": shared is not None, "stored_title": row["title"],
            "distinctions": []}


def tell_apart_shared_titles(store: Any) -> list[tuple[str, str]]:
    """Run the corpus step on the store and write what changed, reading and writing in one
    transaction (another process's edit or ingest cannot slip in between and be overwritten
    by a decision made without it). Returns (path, line) for each document whose title
    changed: told apart from others that share its title, or given its title back when it no
    longer shares it. Only documents in a shared title or told apart before are read beyond
    their title."""
    with store.transaction():
        return _tell_apart_in_transaction(store)


def _tell_apart_in_transaction(store: Any) -> list[tuple[str, str]]:
    from ..store import documents as docstore  # noqa: PLC0415

    rows = [_base(r) for r in docstore.title_rows(store)]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[title_key(row["title"])].append(row)
    involved = [r for g in groups.values() for r in g if _to_tell_apart(g) or r["was_shared"]]
    if not involved:
        return []
    details = docstore.title_details(store, [r["id"] for r in involved])
    for row in involved:
        detail = details[row["id"]]
        own = _load(detail["document_metadata"], {}).get("document") or {}
        found = [d for d in own.get("distinctions") or [] if isinstance(d, str)]
        if not found and detail.get("first_passage"):  # stored before distinctions were kept
            lead = opening_words([detail["first_passage"]], title=row["title"])
            found = [lead] if lead else []
        row["distinctions"] = found
    decided = tell_apart(involved)
    warnings: list[tuple[str, str]] = []
    for row in involved:
        new, detail = decided[row["id"]], details[row["id"]]
        old_extra, old_sources = _load(detail["metadata"], {}), _load(detail["metadata_sources"], {})
        extra = {k: v for k, v in old_extra.items() if k != "shared_title"}
        if new["shared"]:
            extra["shared_title"] = new["shared"]
        source = row["stored_source"] if new["source"] == "record" else new["source"]
        sources = {**old_sources, "title": source}
        if new["title"] == row["stored_title"] and extra == old_extra and sources == old_sources:
            continue
        docstore.retitle_document(store, row["id"], title=new["title"], sources=sources, extra=extra)
        if new["title"] != row["stored_title"]:
            line = (f"{new['shared']['warning']}: “{new['title']}”" if new["shared"]
                    else f"no longer shares its title; titled “{new['title']}” again")
            warnings.append((detail["path"], line))
    return warnings


def keep_told_apart(metadata: Any, stored: dict[str, Any] | None) -> None:
    """Before a stored document's metadata is rewritten with its shared (base) title: keep the
    part it was told apart by, so its passages keep their title and vectors; the corpus step
    that follows changes it only if who shares the title, or the part, changed."""
    if not stored or metadata.sources.get("title") not in TELLABLE:
        return
    shared = _load(stored.get("metadata"), {}).get("shared_title")
    if isinstance(shared, dict) and shared.get("title") and title_key(shared["title"]) == title_key(metadata.title):
        metadata.title = stored["title"]
        metadata.sources["title"] = "inferred"
        metadata.extra = {**metadata.extra, "shared_title": shared}


def base_title(extra: dict[str, Any], title: str | None) -> str | None:
    """A stored title without the part the corpus step added (the shared title itself)."""
    shared = extra.get("shared_title") if isinstance(extra, dict) else None
    return shared["title"] if isinstance(shared, dict) and shared.get("title") else title
