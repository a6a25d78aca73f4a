"""A PDF's title: its metadata title when that is a title, else the largest text on page 1.

Metadata titles are often the producer's leftovers: a file name ("10811.exe", "Microsoft Word -
report.docx"), "untitled", or the first heading the producer saw ("CHAPTER 1 – INTRODUCTION",
"1 Introduction"); the shared rules in formats/titles.py say which.
"""

from __future__ import annotations

from collections import Counter

from .titles import title_problem

MAX_TITLE_WORDS = 25


def plausible_title(title: str) -> bool:
    """A title a reader would accept (titles.title_problem), and not a paragraph."""
    return title_problem(title) is None and len(title.split()) <= MAX_TITLE_WORDS


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
