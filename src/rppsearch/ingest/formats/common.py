"""Shared by the format parsers: size limits, reading with a limit, quieting parser libraries,
short error reasons, and the line heuristics (heading-like, Title Case, de-hyphenating joins)
that the plain-text and PDF parsers both use."""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from ...errors import InputError

MB = 1024 * 1024
#: Size limits checked before reading: text formats are read whole into memory.
MAX_TEXT_BYTES = 100 * MB
MAX_BINARY_BYTES = 200 * MB

_QUIET_LOGGERS = ("pypdf", "trafilatura", "htmldate", "courlan", "charset_normalizer", "docx", "pptx")


def mb_text(n: int) -> str:
    return f"{n / MB:.1f} MB" if n < 10 * MB else f"{n / MB:.0f} MB"


def short_reason(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence parser libraries' warnings and log chatter for the duration of one parse."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR + 10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def read_limited(path: Path, limit: int) -> bytes:
    """The file's bytes, read in chunks; InputError as soon as it exceeds `limit`."""
    chunks: list[bytes] = []
    total = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(MB)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise InputError(path, f"file too large (over {mb_text(limit)})")
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise InputError(path, "empty file")
    return data



# --------------------------------------------------------------------------- line heuristics

SMALL_WORDS = {
    "a", "an", "the", "and", "or", "nor", "but", "of", "for", "to", "in", "on", "at", "by", "with",
    "from", "as", "is", "vs", "via", "into", "per", "its", "their", "our", "de", "la", "le", "des",
    "du", "et", "und", "der", "die", "das", "y", "en",
}
BULLET = re.compile(r"^\s*(?:[-*+•◦▪▫■□●○‣⁃–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
HAS_LETTER = re.compile(r"[^\W\d_]")
SENTENCE_END = re.compile(r"""[.!?:;]["')\]]*$""")


def title_case(line: str) -> bool:
    """Most significant words start with a capital (or a digit); the first one does."""
    words = [w.strip("\"'()[]{}“”‘’,:;") for w in line.split()]
    words = [w for w in words if w and HAS_LETTER.search(w)]
    if not words:
        return False
    first = words[0]
    if not (first[0].isupper() or first[0].isdigit()):
        return False
    significant = [w for w in words[1:] if w.lower() not in SMALL_WORDS]
    if not significant:
        return True
    capitalised = sum(1 for w in significant if w[0].isupper() or w[0].isdigit())
    return capitalised / len(significant) >= 0.75


def heading_like(line: str, *, max_words: int = 12, max_chars: int = 100) -> bool:
    """A short Title Case line with no sentence punctuation at the end."""
    s = line.strip()
    if not s or len(s) > max_chars or len(s.split()) > max_words:
        return False
    if not HAS_LETTER.search(s) or BULLET.match(s) or "://" in s or "@" in s:
        return False
    if s[-1] in ".,;:!" or s.endswith("..."):
        return False
    if s.isupper() and sum(c.isalpha() for c in s) >= 3:
        return True
    return title_case(s)


def dehyphenate_join(left: str, right: str, vocabulary: set[str], compounds: set[str]) -> str:
    """Join two lines of one paragraph, undoing hyphenation at the break when it looks like it.

    "transfor-" + "mation" -> "transformation"; "learning-" + "focused" stays hyphenated when the
    document uses "learning-focused" elsewhere; "non-" + "English" keeps its hyphen.
    """
    if not left:
        return right
    if not right:
        return left
    if left.endswith(("—", "/")):
        return left + right
    if len(left) >= 2 and left[-1] == "-" and left[-2].isalpha():
        first_right = right.split(None, 1)[0]
        if right[0].islower():
            word_left = re.findall(r"[^\W\d_]+$", left[:-1])
            word_right = re.match(r"[^\W\d_]+", first_right)
            if word_left and word_right:
                joined = (word_left[0] + word_right.group(0)).lower()
                hyphenated = f"{word_left[0]}-{word_right.group(0)}".lower()
                if hyphenated in compounds and joined not in vocabulary:
                    return left + right
            return left[:-1] + right
        if right[0].isupper() or right[0].isdigit():
            return left + right
    return left + " " + right


def word_sets(text: str) -> tuple[set[str], set[str]]:
    """Lower-cased words, and hyphenated compounds written inside a line, of a text."""
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    # The look-behind starts matches only at a word's first letter: without it a long run of
    # letters with no hyphen (CJK, base64, a PDF without spaces) is scanned quadratically.
    compounds = set(re.findall(r"(?<![^\W\d_])[^\W\d_]+-[^\W\d_]+", text.lower()))
    return words, compounds


