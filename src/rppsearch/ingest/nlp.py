"""The spaCy pipeline: `spacy.blank("en")` with rule-based components only (no downloads)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Organizations of the field and the shapes of district names, for the entity ruler.
ORG_PATTERNS: list[tuple[str, list[str]]] = [
    ("Education Resource Strategies", ["Education Resource Strategies", "ERS"]),
    ("University of Washington DL2", ["District Leadership Design Lab", "DL2"]),
    ("Wallace Foundation", ["Wallace Foundation"]),
    ("Council of the Great City Schools", ["Council of the Great City Schools", "CGCS"]),
    ("21CSLA", ["21CSLA", "21st Century California School Leadership Academy"]),
    ("Center for Educational Leadership", ["Center for Educational Leadership"]),
]
DISTRICT_SUFFIXES = [
    ["Public", "Schools"],
    ["Unified", "School", "District"],
    ["Unified"],
    ["ISD"],
    ["Independent", "School", "District"],
    ["School", "District"],
    ["County", "Schools"],
    ["City", "Schools"],
]


@lru_cache(maxsize=1)
def get_nlp() -> Any:
    """Blank English pipeline: sentencizer, lookup lemmatizer, entity ruler for orgs/districts."""
    import spacy  # noqa: PLC0415

    nlp = spacy.blank("en")
    nlp.max_length = 5_000_000
    nlp.add_pipe("sentencizer")
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize()
    except Exception:  # noqa: BLE001 - spacy-lookups-data missing: lemmas fall back to lower()
        if "lemmatizer" in nlp.pipe_names:
            nlp.remove_pipe("lemmatizer")
    ruler = nlp.add_pipe("entity_ruler")
    patterns: list[dict[str, Any]] = []
    for label, names in ORG_PATTERNS:
        for name in names:
            patterns.append({"label": "ORG", "pattern": name, "id": label})
    for suffix in DISTRICT_SUFFIXES:
        for n_words in (1, 2):
            head = [{"IS_TITLE": True, "IS_SENT_START": False, "LOWER": {"NOT_IN": ["the", "a"]}}] * n_words
            patterns.append(
                {"label": "DISTRICT", "pattern": head + [{"ORTH": w} for w in suffix]}
            )
    ruler.add_patterns(patterns)
    return nlp


@lru_cache(maxsize=1)
def get_sentencizer() -> Any:
    """The lightest pipeline: sentence boundaries only."""
    import spacy  # noqa: PLC0415

    nlp = spacy.blank("en")
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


def lemmas(text: str) -> list[str]:
    """Lower-cased lemmas of the alphabetic tokens (lookup tables from spacy-lookups-data)."""
    doc = get_nlp()(text)
    return [(t.lemma_ or t.text).lower() for t in doc if t.is_alpha]


def entities(text: str) -> dict[str, list[str]]:
    """Organizations (canonical names) and district names mentioned in `text`."""
    doc = get_nlp()(text)
    orgs: list[str] = []
    districts: list[str] = []
    for ent in doc.ents:
        if ent.label_ == "ORG":
            name = ent.ent_id_ or ent.text
            if name not in orgs:
                orgs.append(name)
        elif ent.label_ == "DISTRICT" and ent.text not in districts:
            districts.append(ent.text)
    return {"organizations": orgs, "districts": districts}
