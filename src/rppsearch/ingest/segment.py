"""Passages: runs of whole sentences, ~60–200 words, that respect paragraphs and headings."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import WORD_UNIT, Block, Passage
from .nlp import sentence_spans

MIN_WORDS = 60
MAX_WORDS = 200
PARAGRAPH_SEP = "\n\n"


@dataclass
class _Sentence:
    start: int
    end: int
    words: int
    paragraph_end: bool


def assemble_text(blocks: list[Block]) -> tuple[str, list[tuple[int, int, Block]]]:
    """Join blocks with blank lines; return the text and each block's (start, end, block)."""
    parts: list[str] = []
    spans: list[tuple[int, int, Block]] = []
    pos = 0
    for block in blocks:
        if not block.text.strip():
            continue
        if parts:
            parts.append(PARAGRAPH_SEP)
            pos += len(PARAGRAPH_SEP)
        parts.append(block.text)
        spans.append((pos, pos + len(block.text), block))
        pos += len(block.text)
    return "".join(parts), spans


def _sentences(text: str, start: int, end: int, max_words: int) -> list[_Sentence]:
    """Sentences of one paragraph; an over-long 'sentence' is cut at word boundaries."""
    out: list[_Sentence] = []
    for s, e in sentence_spans(text[start:end]):
        s, e = s + start, e + start
        words = list(WORD_UNIT.finditer(text, s, e))
        if len(words) <= max_words:
            out.append(_Sentence(s, e, len(words), False))
            continue
        for i in range(0, len(words), max_words):
            chunk = words[i : i + max_words]
            out.append(_Sentence(chunk[0].start(), chunk[-1].end(), len(chunk), False))
    if out:
        out[-1].paragraph_end = True
    return out


def split_passages(
    blocks: list[Block], *, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> tuple[str, list[Passage]]:
    """Return the document text and its passages (offsets into that text).

    A passage never crosses a heading; it closes at a paragraph end once it has
    `min_words`, and before a sentence that would take it past `max_words`. A short tail
    is merged into the previous passage of the same section when that stays in bounds.
    """
    text, spans = assemble_text(blocks)
    passages: list[Passage] = []
    headings: list[tuple[int, str]] = []  # (level, text) stack

    section: list[_Sentence] = []

    def heading_path() -> str:
        return " > ".join(h for _, h in headings)

    def flush_section() -> None:
        if not section:
            return
        groups: list[list[_Sentence]] = []
        current: list[_Sentence] = []
        words = 0
        for sent in section:
            if current and words + sent.words > max_words:
                groups.append(current)
                current, words = [], 0
            current.append(sent)
            words += sent.words
            if sent.paragraph_end and words >= min_words:
                groups.append(current)
                current, words = [], 0
        if current:
            if groups and words < min_words and sum(s.words for s in groups[-1]) + words <= max_words:
                groups[-1].extend(current)
            else:
                groups.append(current)
        path = heading_path()
        for group in groups:
            start, end = group[0].start, group[-1].end
            passages.append(Passage(seq=len(passages), text=text[start:end], start=start, end=end, heading=path))
        section.clear()

    for start, end, block in spans:
        if block.heading_level > 0:
            flush_section()
            while headings and headings[-1][0] >= block.heading_level:
                headings.pop()
            headings.append((block.heading_level, " ".join(block.text.split())))
            continue
        section.extend(_sentences(text, start, end, max_words))
    flush_section()
    return text, passages
