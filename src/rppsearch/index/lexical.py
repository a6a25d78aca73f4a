"""What the lexical engines share: FTS5's tokenizer and weights, stop words, highlight marks.

The fallback engine is the store's `passages_fts` table (porter + unicode61, columns text,
heading, title), kept in sync by triggers. User text never reaches FTS5 as syntax:
`rppsearch.query` tokenises it like unicode61 does, drops English stop words from queries
(never from the index), and quotes each term (`ParsedQuery.fts_match`).
"""

from __future__ import annotations

import re
import unicodedata

# Column weights for bm25(passages_fts, text, heading, title); tuned on SciFact train queries.
DEFAULT_WEIGHTS: tuple[float, float, float] = (1.0, 1.0, 1.0)
TOKENIZER = "porter unicode61 remove_diacritics 2"

# unicode61 keeps letters, numbers and private-use characters; everything else separates.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

# English function words dropped from queries (a common IR stop list, lower case).
STOP_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all am an and any are aren as at be because been before
    being below between both but by can cannot could couldn did didn do does doesn doing don down
    during each few for from further had hadn has hasn have haven having he her here hers herself
    him himself his how i if in into is isn it its itself just let me more most mustn my myself no
    nor not of off on once only or other ought our ours ourselves out over own same shan she should
    shouldn so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was wasn we were weren what when where which while who
    whom why will with won would wouldn you your yours yourself yourselves s t d ll m o re ve y
    """.split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased, diacritic-free tokens as FTS5's unicode61 tokenizer splits them."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [t.lower() for t in _TOKEN.findall(folded)]


def fts_quote(text: str) -> str:
    """`text` as one FTS5 string (a term or a phrase): user text never reaches FTS5 as syntax."""
    return '"' + text.replace('"', '""') + '"'


START_MARK = "\x02"
END_MARK = "\x03"


def marks_to_offsets(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Strip FTS5 `highlight()` marks; return the plain text and the (start, end) offsets."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    start = -1
    for chunk in re.split(f"([{START_MARK}{END_MARK}])", marked):
        if chunk == START_MARK:
            start = pos
        elif chunk == END_MARK:
            if start >= 0:
                spans.append((start, pos))
            start = -1
        else:
            out.append(chunk)
            pos += len(chunk)
    return "".join(out), spans
