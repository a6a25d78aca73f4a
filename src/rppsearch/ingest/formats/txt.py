"""Plain text: decoded (BOM, UTF-8, then charset detection), split into paragraphs on blank
lines; hard-wrapped lines are rejoined; a short first line becomes the title."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from ...errors import InputError
from ...models import Block, Metadata
from ..clean import normalize_text
from .common import BULLET, HAS_LETTER, SENTENCE_END, dehyphenate_join, heading_like, read_limited, word_sets
from .text import decode_text
from .titles import looks_like_navigation, pick_title


def parse_txt(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    text = normalize_text(decode_text(read_limited(path, limit), path))
    if not text:
        raise InputError(path, "no text (only whitespace)")
    vocabulary, compounds = word_sets(text)
    chunks = [c for c in re.split(r"\n\s*\n", text) if c.strip()]
    chunks, title_index = _split_title(chunks)
    blocks: list[Block] = []
    metadata = Metadata()
    for index, chunk in enumerate(chunks):
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        if index == title_index:
            metadata.title = lines[0]
            blocks.append(Block(lines[0], 1))
        elif len(lines) == 1:
            line = lines[0]
            if index > 0 and heading_like(line) and index < len(chunks) - 1:
                blocks.append(Block(line, 2))
            else:
                blocks.append(Block(line))
        elif _hard_wrapped(lines):
            joined = lines[0]
            for line in lines[1:]:
                joined = dehyphenate_join(joined, line, vocabulary, compounds)
            blocks.append(Block(joined))
        else:
            blocks.extend(_line_blocks(lines))
    return blocks, metadata


def _split_title(chunks: list[str]) -> tuple[list[str], int | None]:
    """Chunks with the title line (the first line that is not navigation, such as a captured
    page's "Skip to main content") as a chunk of its own, and its index; None without a title.

    A lone first line is a title when it looks like one; a first line that runs on into more
    lines without a blank line (one paragraph a line, as text captures of web pages are) must
    also be in Title Case.
    """
    for i, chunk in enumerate(chunks):
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        k = 0
        while k < len(lines) and looks_like_navigation(lines[k]):
            k += 1
        if k == len(lines):
            continue  # only navigation: look at the next chunk
        line, rest = lines[k], lines[k + 1 :]
        alone = not rest
        if not _looks_like_title(line) or pick_title(line) != line:
            return chunks, None
        if alone and i == len(chunks) - 1:
            return chunks, None  # nothing follows: no title, just text
        if not alone and not heading_like(line, max_words=15, max_chars=120):
            return chunks, None
        head = ["\n".join(lines[:k])] if k else []
        tail = ["\n".join(rest)] if rest else []
        return chunks[:i] + head + [line] + tail + chunks[i + 1 :], i + len(head)
    return chunks, None


def _looks_like_title(line: str) -> bool:
    s = line.strip()
    words = s.split()
    return (
        1 <= len(words) <= 15
        and len(s) <= 120
        and bool(HAS_LETTER.search(s))
        and s[-1] not in ".,;:"
        and not BULLET.match(s)
        and "://" not in s
    )


def _hard_wrapped(lines: list[str]) -> bool:
    """Lines of one paragraph broken at a fixed width (rather than one sentence/item a line)."""
    body = lines[:-1]
    if any(BULLET.match(ln) for ln in lines):
        return False
    if any(len(ln) > 110 for ln in body):
        return False
    if statistics.mean(len(ln) for ln in body) < 35:
        return False
    continued = sum(1 for ln in lines[1:] if ln[0].islower())
    ended = sum(1 for ln in body if SENTENCE_END.search(ln))
    return continued > 0 or ended <= len(body) / 2


def _line_blocks(lines: list[str]) -> list[Block]:
    """One block a line; a Title Case line between full sentences becomes a heading."""
    out: list[Block] = []
    for i, line in enumerate(lines):
        prev_ok = i == 0 or _is_sentence(lines[i - 1])
        next_ok = i + 1 < len(lines) and _is_sentence(lines[i + 1])
        level = 2 if prev_ok and next_ok and heading_like(line) else 0
        out.append(Block(line, level))
    return out


def _is_sentence(line: str) -> bool:
    return len(line.split()) >= 8 and bool(SENTENCE_END.search(line))
