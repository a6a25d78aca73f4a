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


def parse_txt(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    text = normalize_text(decode_text(read_limited(path, limit), path))
    if not text:
        raise InputError(path, "no text (only whitespace)")
    vocabulary, compounds = word_sets(text)
    chunks = [c for c in re.split(r"\n\s*\n", text) if c.strip()]
    blocks: list[Block] = []
    metadata = Metadata()
    for index, chunk in enumerate(chunks):
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        if len(lines) == 1:
            line = lines[0]
            if index == 0 and len(chunks) > 1 and _looks_like_title(line):
                metadata.title = line
                blocks.append(Block(line, 1))
            elif index > 0 and heading_like(line) and index < len(chunks) - 1:
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
