"""Is this a title a reader would accept? Shared by every format's title rules.

A document's title comes from its own structure (an HTML page's og:title or h1, a DOCX's
Title-style paragraph or core properties, a deck's first slide title, the largest text on a
PDF's first page). Candidates that are not titles are refused here, with a reason:

- a file name (`looks_like_file_name`): "10811.exe", "Microsoft Word - plan.doc", "Document1",
  "final_report_v2";
- a section heading (`looks_like_section_heading`): "CHAPTER 1 – INTRODUCTION", "1 Introduction",
  "Table of Contents", "Executive Summary";
- navigation or page furniture (`looks_like_navigation`): "Skip to main content", "Back to
  Overview", a share bar.

`pick_title(*candidates)` returns the first acceptable candidate, cleaned, or None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..clean import furniture_reason

_EXTENSIONS = (
    r"docx?|dotx?|pdf|exe|indd|qxd|pptx?|xlsx?|csv|tex|dvi|ps|eps|rtf|odt|odp|ods|txt|md|html?|aspx?|php"
    r"|jpe?g|png|gif|tiff?|zip|pages|key|wpd"
)
_FILE_NAME = re.compile(rf"^\S.*\.(?:{_EXTENSIONS})$", re.IGNORECASE)
_APP_PREFIX = re.compile(r"^(?:microsoft (?:word|powerpoint|excel)|adobe \w+|untitled)\b\s*-?\s*", re.IGNORECASE)
_DEFAULT_NAMES = re.compile(
    r"^(?:untitled(?: document| presentation)?|document\s*\d*|doc\s*\d+|presentation\s*\d*|powerpoint presentation"
    r"|slide\s*\d*|title|title of (?:the )?(?:document|presentation|paper)|click to (?:add|edit) title"
    r"|word document|new document|draft|template|unknown|none|n/?a|\d+)$",
    re.IGNORECASE,
)
# One token without spaces that joins words with _ or - and/or carries digits: a slug ("cot_report_v2").
_SLUG = re.compile(r"^(?=\S*[_\d])[\w.-]+$")

_SECTION_WORDS = r"chapter|section|part|appendix|annex|unit|module|lesson|article|exhibit|figure|table|chapitre|kapitel"
_SECTION_NUMBERED = re.compile(
    rf"^(?:{_SECTION_WORDS})\s+(?:\d+|[ivxlc]+|[a-z])\b(?:\s*[:.–—-]\s*.*|\s+.*)?$", re.IGNORECASE
)
# "2.1 Methods", "3. Findings", "IV. Results", "B. Scope": dotted section numbers.
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){1,3}\.?|\d{1,2}\.|[IVXivx]{1,4}\.|[A-H]\.)\s+\S")
# "1 Introduction": a bare small number and a few words ("15 Tips to Overcome Binge Eating" is a title).
_BARE_NUMBERED_HEADING = re.compile(r"^(?:[1-9]|1[0-2])\s+\S+(?:\s+\S+){0,3}$")
_GENERIC_HEADINGS = re.compile(
    r"^(?:introduction|abstract|summary|executive summary|overview|background|contents|table of contents"
    r"|acknowledge?ments?|preface|foreword|references|bibliography|conclusions?|methods?|methodology|results"
    r"|discussion|appendix|appendices|glossary|index|notes|footnotes|endnotes|about(?: us)?|home|agenda"
    r"|minutes|purpose|scope|definitions|news|events|resources|research|tools|blog|publications|contact(?: us)?)$",
    re.IGNORECASE,
)
_NAVIGATION = re.compile(
    r"^(?:home|menu|search|main navigation|navigation|breadcrumbs?|you are here:?.*|skip\b.*|jump to\b.*"
    r"|back to\b.{0,40}|points of interest|related (?:content|links|resources)|share|print|print this page"
    r"|sign in|log in|cookie.*|page not found|404.*|access denied|just a moment\.*"
    r"|click here\b.*|(?:download|view|read) (?:the )?(?:full )?(?:report|pdf|publication|article)\b.{0,40})$",
    re.IGNORECASE,
)


_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}


def _plain(text: str) -> str:
    """One line; quotes around the whole text removed (quotes inside it kept)."""
    s = " ".join(str(text).split())
    if len(s) >= 2 and _QUOTES.get(s[0]) == s[-1]:
        s = s[1:-1].strip()
    return s


def looks_like_file_name(text: str) -> bool:
    """A file name, a slug or an application's default name rather than a title."""
    s = _plain(text)
    if not s:
        return False
    if _FILE_NAME.match(s) and len(s.split()) <= 8:
        return True
    if _DEFAULT_NAMES.match(s):
        return True
    return bool(_SLUG.match(s)) and not s.replace(".", "").isalpha()


def looks_like_section_heading(text: str) -> bool:
    """A section heading of a document ("CHAPTER 1 – INTRODUCTION", "1 Introduction",
    "2.3 Methods", "Executive Summary"), not the document's own title."""
    s = _plain(text)
    if not s:
        return False
    if _SECTION_NUMBERED.match(s) or _GENERIC_HEADINGS.match(s.rstrip(":.")):
        return True
    return (bool(_NUMBERED_HEADING.match(s)) and len(s.split()) <= 8) or bool(_BARE_NUMBERED_HEADING.match(s))


def looks_like_navigation(text: str) -> bool:
    """Navigation text or page furniture: skip links, menus, share bars, cookie prompts."""
    s = _plain(text)
    return bool(s) and (bool(_NAVIGATION.match(s)) or furniture_reason(s) is not None)


def title_problem(text: str | None) -> str | None:
    """Why `text` is no title ("empty", "file name", "section heading", "navigation text",
    "too long"), or None when a reader would accept it."""
    s = _plain(text or "")
    if not s or not any(ch.isalpha() for ch in s):
        return "empty"
    if looks_like_navigation(s):
        return "navigation text"
    if looks_like_file_name(s):
        return "file name"
    if looks_like_section_heading(s):
        return "section heading"
    if len(s) > 300:
        return "too long"
    return None


def clean_title(text: str | None) -> str | None:
    """`text` on one line without an application prefix ("Microsoft Word - "), or None if no title."""
    if not text:
        return None
    s = _APP_PREFIX.sub("", _plain(text)).strip(" -–—|:")
    return s if title_problem(s) is None else None


def pick_title(*candidates: str | None) -> str | None:
    """The first candidate a reader would accept as the document's title, or None."""
    for candidate in candidates:
        title = clean_title(candidate)
        if title:
            return title
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
#: A lead sentence stands in for a missing title when it has at least this many words; it is
#: cut to LEAD_WORDS words (with "…") so it reads as a title, not a paragraph.
LEAD_MIN_WORDS, LEAD_WORDS = 5, 12
#: Words a cut title must not end on ("… the role of").
DANGLING_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with"}
)


def lead_title(texts: Iterable[str], *, window: int = 4, scan: int = 24) -> str | None:
    """A title made from the opening sentence of the first of `texts` (body paragraphs, in
    order) that starts like a sentence: for a page or excerpt with no title of its own, what a
    reader skimming it would call it — better than a file name. At most `window` paragraphs
    that start like one are looked at; fragments of hard-wrapped lines (starting lower-case,
    or a page number, or a bullet on its own) are passed over without counting, among the
    first `scan` texts. None when no paragraph qualifies."""
    looked = 0
    for text in list(texts)[:scan]:
        s = _plain(text)
        if not s or not (s[0].isupper() or s[0].isdigit()) or len(s.split()) < 3 or looks_like_navigation(s):
            continue
        looked += 1
        if looked > window:
            break
        first = _without_label_run(_SENTENCE_END.split(s, maxsplit=1)[0])
        words = first.split()
        # a whole sentence, or one long enough to be cut (not a hard-wrapped line's fragment)
        if len(words) < LEAD_MIN_WORDS or (len(words) <= LEAD_WORDS + 2 and not first.rstrip()[-1:] in ".!?:"):
            continue
        first = first.rstrip(" .:")
        if len(words) <= LEAD_WORDS + 2:
            title = first
        else:
            title = cut_words(first, LEAD_WORDS)
        if title_problem(title) is None:
            return title
    return None


_OPENERS = {"in", "on", "at", "the", "a", "an", "this", "these", "for", "by", "during", "after", "since", "when",
            "over", "as", "with", "from", "today", "last", "each", "every", "our", "we"}


def _without_label_run(sentence: str) -> str:
    """A sentence without tab or menu labels run into it ("Common Challenge SEZP's Approach
    SEZP's Results In 2014, the Springfield …" -> "In 2014, the Springfield …"): four or more
    capitalised words, then an opening phrase closed by a comma ("In 2014,", "Last year,")
    before the first lower-case word."""
    words = sentence.split()
    lower = next((i for i, w in enumerate(words) if w[:1].islower()), len(words))
    for i in range(lower - 1, 3, -1):
        phrase_ends = any(w.endswith(",") for w in words[i : min(lower, i + 4)])
        if (words[i].lower() in _OPENERS and phrase_ends
                and all(w[:1].isupper() or w[:1].isdigit() for w in words[:i])):
            return " ".join(words[i:])
    return sentence


def cut_words(text: str, count: int) -> str:
    """`text` cut to `count` words with "…", not on a dangling "of" / "the"; whole when short."""
    words = _plain(text).split()
    if len(words) <= count:
        return " ".join(words)
    cut = words[:count]
    while len(cut) > LEAD_MIN_WORDS and cut[-1].lower().strip(",;:") in DANGLING_WORDS:
        cut.pop()
    return " ".join(cut).rstrip(",;:–—-") + "…"
