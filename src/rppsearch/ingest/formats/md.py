"""Markdown: a small converter (headings, paragraphs, list items, code blocks, tables; inline
syntax stripped) and YAML front matter read into `Metadata`."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

from ...models import Block, Metadata
from ..clean import normalize_text
from ..metadata import entry_to_metadata
from .common import read_limited, short_reason
from .text import decode_text
from .titles import pick_title


_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*$")
_SETEXT_1 = re.compile(r"^\s{0,3}=+\s*$")
_SETEXT_2 = re.compile(r"^\s{0,3}-+\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])\s+(.*)$")
_TASK = re.compile(r"^\[[ xX]\]\s+")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_RULES: list[tuple[re.Pattern[str], str]] = [
    # Bracket texts exclude '[' (and inner parentheses exclude '('), so a run of unclosed
    # brackets is scanned once instead of once per bracket (200k '[' hung the parser).
    (re.compile(r"!\[[^\[\]]*\]\([^)]*\)"), ""),  # image: dropped
    (re.compile(r"!\[[^\[\]]*\]\[[^\[\]]*\]"), ""),  # reference image: dropped
    (re.compile(r"\[([^\[\]]+)\]\((?:[^()]|\([^()]*\))*\)"), r"\1"),  # link: its text
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),  # reference link: its text
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),  # autolink: the address
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # emphasis *x*
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),  # emphasis _x_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),  # line break tag
    (_HTML_TAG, ""),  # other inline HTML tags
]
# Backslash escapes are set aside (as private-use characters) before the rules run.
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_ESCAPED = re.compile("[\U000f0000-\U000f007f]")


def md_inline(text: str) -> str:
    """Markdown inline syntax stripped: emphasis, links (text kept), images (dropped), code spans."""
    parts: list[str] = []
    pos = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(_md_inline_plain(text[pos : match.start()]))
        parts.append(match.group(2).strip())
        pos = match.end()
    parts.append(_md_inline_plain(text[pos:]))
    return " ".join("".join(parts).split())


def _md_inline_plain(text: str) -> str:
    text = _ESCAPE.sub(lambda m: chr(0xF0000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return _ESCAPED.sub(lambda m: chr(ord(m.group(0)) - 0xF0000), text)


def _front_matter(text: str) -> tuple[dict[str, Any] | None, str, str | None]:
    """(mapping, body, error) for text starting with a `---` YAML block; (None, text, None) otherwise."""
    if not re.match(r"---[ \t]*\n", text):
        return None, text, None
    end = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
    if end is None:
        return None, text, None
    raw = text[4 : 4 + end.start()]
    body = text[4 + end.end() :]
    import yaml

    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        return None, body, f"invalid YAML front matter: {short_reason(exc, 120)}"
    if data is None:
        return None, body, None
    if not isinstance(data, dict):
        return None, body, "front matter is not a mapping"
    return data, body, None


def _plain_value(value: Any) -> Any:
    """YAML values as strings (dates ISO-formatted), lists of strings, or None."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(_plain_value(v)) for v in value if v is not None and not isinstance(v, (dict, list))]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return None
    return str(value).strip()


def front_matter_metadata(data: dict[str, Any]) -> Metadata:
    """Front matter keys mapped onto Metadata (title, authors/author, date/year, organization, …)."""
    entry: dict[str, Any] = {}
    aliases = {"type": "doc_type", "source": "url", "link": "url", "publisher": "organization",
               "site": "site_name", "district": "districts"}
    for key, value in data.items():
        name = aliases.get(str(key).lower(), str(key).lower())
        plain = _plain_value(value)
        if plain in (None, "", []):
            continue
        if isinstance(plain, list) and name not in ("authors", "author", "districts", "tags", "keywords"):
            plain = "; ".join(plain)
        entry.setdefault(name, plain)
    return entry_to_metadata(entry)


def parse_md(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    text = normalize_text(decode_text(read_limited(path, limit), path))
    data, body, error = _front_matter(text)
    metadata = front_matter_metadata(data) if data else Metadata()
    if error:
        metadata.extra["front_matter_error"] = error
    blocks = markdown_blocks(body)
    if not metadata.title and blocks and blocks[0].heading_level == 1:
        metadata.title = pick_title(blocks[0].text)
    return blocks, metadata


def markdown_blocks(text: str) -> list[Block]:
    """Blocks of a Markdown body (no front matter)."""
    text = _HTML_SCRIPT.sub("", _HTML_COMMENT.sub("", text))
    lines = text.split("\n")
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            joined = md_inline(" ".join(para))
            if joined:
                blocks.append(Block(joined))
            para.clear()

    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        while _QUOTE.match(raw):  # block quotes read as ordinary text
            raw = _QUOTE.sub("", raw, count=1)
        line = raw.rstrip()
        fence = _FENCE.match(line)
        if fence:
            flush()
            marker = fence.group(1)
            code: list[str] = []
            while i < len(lines) and not lines[i].strip().startswith(marker):
                code.append(lines[i].rstrip())
                i += 1
            i += 1  # the closing fence
            if any(c.strip() for c in code):
                blocks.append(Block("\n".join(code).strip("\n")))
            continue
        if not line.strip():
            flush()
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            heading = md_inline(re.sub(r"\s+#+\s*$", "", atx.group(2) or ""))
            if heading:
                blocks.append(Block(heading, len(atx.group(1))))
            continue
        if para and _SETEXT_1.match(line):
            blocks.append(Block(md_inline(" ".join(para)), 1))
            para.clear()
            continue
        if para and _SETEXT_2.match(line) and not _LIST_ITEM.match(para[0]):
            blocks.append(Block(md_inline(" ".join(para)), 2))
            para.clear()
            continue
        if _RULE.match(line) or _REF_DEF.match(line):
            flush()
            continue
        if "|" in line and _TABLE_SEP.match(line):
            continue
        stripped = line.strip()
        if stripped.startswith("|") and stripped.count("|") >= 2:
            flush()
            cells = [md_inline(c) for c in stripped.strip("|").split("|")]
            row = " | ".join(c for c in cells if c)
            if row:
                blocks.append(Block(row))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            marker, rest = item.group(1), _TASK.sub("", item.group(2))
            para.append(f"{marker} {rest}" if marker[0].isdigit() else rest)
            continue
        para.append(stripped)
    flush()
    return blocks
