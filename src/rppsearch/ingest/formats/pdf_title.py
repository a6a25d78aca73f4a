"""A PDF's title: its metadata title when that is a title, else the largest text on page 1.

Metadata titles are often the producer's leftovers: a file name ("10811.exe", "Microsoft Word -
report.docx", "C:\\jobs\\x.indd"), "untitled", or the first heading the producer saw
("CHAPTER 1 – INTRODUCTION", "1 Introduction", "Abstract").
"""

from __future__ import annotations

import re
from collections import Counter

_FILE_NAME = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - )|[\\/]|\.[a-z0-9]{2,5}$|^untitled\b|^document\d*$|^\W*$",
    re.IGNORECASE,
)
_SECTION = re.compile(
    r"^(?:(?:chapter|section|part|unit|module|appendix|annex)\s+[\divxlcA-Z]+\b.*"
    r"|\d{1,2}(?:\.\d{1,2})*\.?\s+\S.*"
    r"|(?:introduction|abstract|summary|executive summary|contents|table of contents|preface|foreword"
    r"|acknowl?edge?ments?|references|bibliography|overview|background)\s*[:.]?)$",
    re.IGNORECASE,
)
MAX_TITLE_WORDS = 25


def plausible_title(title: str) -> bool:
    """A title a reader would accept: not a file name, not a section heading, some letters."""
    text = " ".join(title.split())
    if sum(ch.isalpha() for ch in text) < 3 or len(text.split()) > MAX_TITLE_WORDS:
        return False
    return not _FILE_NAME.search(text) and not _SECTION.match(text)


def first_page_title(chunks: list[tuple[float, bool, str, float]]) -> str:
    """The largest text on the first page (consecutive lines set in that size), if larger than
    the body text and a plausible title; else the next larger size; "" when none is."""
    weight: Counter[float] = Counter()
    for size, _, text, _ in chunks:
        weight[size] += len(text.strip())
    if not weight:
        return ""
    body = weight.most_common(1)[0][0]
    for size in sorted((s for s in weight if s >= 1.15 * body), reverse=True)[:3]:
        group: list[str] = []
        for chunk_size, _, text, _ in chunks:
            if abs(chunk_size - size) <= 0.05 * size and text.strip():
                group.append(text.strip())
            elif group:
                break
        title = " ".join(" ".join(group).split())
        if title and plausible_title(title):
            return title
    return ""
