"""Sentence boundaries: `spacy.blank("en")` with the rule-based sentencizer (no model downloads)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def get_sentencizer() -> Any:
    """The lightest pipeline: sentence boundaries only."""
    from ..lightimport import import_spacy  # noqa: PLC0415 - spaCy without thinc pulling in torch

    nlp = import_spacy().blank("en")
    nlp.max_length = 5_000_000
    nlp.add_pipe("sentencizer")
    return nlp


#: A run of non-space characters at least this long is a sentence of its own and never reaches
#: spaCy, whose tokenizer peels affixes off a token one at a time: 20k dots took 1.5 s, 200k
#: (a runaway table-of-contents leader, a long '#' rule) hung ingest for minutes.
LONG_RUN = 1000
_LONG_RUN = re.compile(r"\S{%d,}" % LONG_RUN)
#: Text given to spaCy at once, below its max_length (longer paragraphs are cut at a space).
_PIECE = 1_000_000


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text` (whitespace trimmed)."""
    if not text.strip():
        return []
    spans: list[tuple[int, int]] = []
    pos = 0
    for run in _LONG_RUN.finditer(text):
        spans.extend(_spacy_spans(text, pos, run.start()))
        spans.extend(_cjk_sentences(text, run.start(), run.end()))
        pos = run.end()
    spans.extend(_spacy_spans(text, pos, len(text)))
    return spans


def _spacy_spans(text: str, start: int, stop: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    while start < stop:
        end = stop
        if end - start > _PIECE:  # cut at the last space before the limit
            cut = text.rfind(" ", start, start + _PIECE)
            end = cut if cut > start else start + _PIECE
        piece = text[start:end]
        if piece.strip():
            for sent in get_sentencizer()(piece).sents:
                s, e = start + sent.start_char, start + sent.end_char
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if e > s:
                    spans.extend(_cjk_sentences(text, s, e))
        start = end
    return spans


#: Full-width sentence ends (and closing brackets after them): spaCy's English tokenizer
#: keeps a run of CJK text without spaces as one token, so its sentencizer never sees them.
_CJK_END = re.compile(r"[。！？]+[」』）》〉】〕]*")


def _cjk_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split the span [start, end) after each full-width sentence end."""
    out: list[tuple[int, int]] = []
    for match in _CJK_END.finditer(text, start, end):
        cut = match.end()
        if cut < end:
            out.append((start, cut))
            start = cut
            while start < end and text[start].isspace():
                start += 1
    if start < end:
        out.append((start, end))
    return out
