"""One parser a format: files in, clean paragraph `Block`s and file metadata out.

`parse_file(path)` dispatches on the suffix (`SUPPORTED_SUFFIXES`) and returns a
`ParsedDocument`; a file named as text that starts like a PDF or a Word package is parsed as
one (a mislabelled download). Anything unreadable raises `InputError(path, reason)` with a short reason
("empty file", "encrypted PDF (password required)", "not a valid DOCX: …"): never a traceback.

- txt: decoded (BOM, UTF-8, then charset detection), split into paragraphs on blank lines;
  hard-wrapped lines are rejoined; a short first line becomes the title.
- md: a small converter: headings, paragraphs, list items, code blocks, tables; inline syntax
  stripped; YAML front matter read into `Metadata`.
- html: main text through trafilatura (no comments, with tables, precision first), its XML
  output turned into blocks; page metadata from trafilatura. Nothing is fetched or executed.
- pdf: pypdf text per page (plain mode); running headers, footers and page numbers dropped;
  hyphenation undone; lines rejoined into paragraphs (vertical gaps from the text positions
  help); headings from font size and weight, else from the shape of the line; image-only
  and glyph-soup (no Unicode map) text layers refused.
- docx: python-docx paragraphs and tables in document order (heading styles become headings);
  packages python-docx can't open (strict OOXML, odd parts) are read with zipfile + ElementTree.

Heavy libraries (trafilatura, pypdf, python-docx, charset-normalizer, yaml) are imported lazily.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as _dt
import logging
import re
import statistics
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import Block, Metadata, ParsedDocument
from .clean import normalize_text
from .metadata import entry_to_metadata, split_list

_FORMATS = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMATS)

MB = 1024 * 1024
#: Size limits checked before reading: text formats are read whole into memory.
MAX_TEXT_BYTES = 100 * MB
MAX_BINARY_BYTES = 200 * MB
#: A PDF with more pages is refused rather than parsed for minutes.
MAX_PDF_PAGES = 2000
#: An HTML page with more elements is refused (trafilatura takes ~30 µs an element).
MAX_HTML_ELEMENTS = 250_000
#: Fewer words of main text than this and an HTML page has "no main text".
MIN_HTML_WORDS = 5
#: Zip-bomb guards for DOCX packages (checked from the zip directory before inflating anything).
MAX_DOCX_UNCOMPRESSED = 200 * MB
MAX_DOCX_RATIO = 100
MAX_DOCX_MEMBERS = 10_000

_QUIET_LOGGERS = ("pypdf", "trafilatura", "htmldate", "courlan", "charset_normalizer", "docx")


# =========================================================================== entry point


def check_file(path: Path, *, max_bytes: int | None = None) -> tuple[str, int]:
    """The format to parse `path` as and its size limit, or `InputError` for a file not worth
    reading (unsupported, missing, not a regular file, empty, too large).

    Cheap (a stat and an 8-byte read): ingest calls it before hashing a file, so a refused
    1 GB file costs nothing on the next run either.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            path,
            "unsupported file type",
            hint="supported: " + " ".join(sorted(SUPPORTED_SUFFIXES)),
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise InputError(path, "not a regular file")
    if fmt in ("txt", "md", "html") and size > 0:
        fmt = _sniff_binary(path) or fmt
    limit = max_bytes if max_bytes is not None else (
        MAX_BINARY_BYTES if fmt in ("pdf", "docx") else MAX_TEXT_BYTES
    )
    if size == 0:
        raise InputError(path, "empty file")
    if size > limit:
        raise InputError(path, f"file too large ({_mb(size)}, limit {_mb(limit)})")
    return fmt, limit


def parse_file(path: Path, *, max_bytes: int | None = None) -> ParsedDocument:
    """Parse one file into clean blocks and file metadata.

    `max_bytes` overrides the default size limit (100 MB for txt/md/html, 200 MB for pdf/docx).
    Raises `InputError` with a short reason for anything that can't be read.
    """
    path = Path(path)
    fmt, limit = check_file(path, max_bytes=max_bytes)

    parser = _PARSERS[fmt]
    try:
        with _quiet():
            blocks, metadata = parser(path, limit)
    except InputError:
        raise
    except RecursionError:
        raise InputError(path, f"{_LABELS[fmt]} is nested too deeply to parse") from None
    except MemoryError:
        raise InputError(path, "too large to parse in memory") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    except Exception as exc:  # a last net: a parser library failed in a way we did not foresee
        raise InputError(path, f"cannot parse {_LABELS[fmt]} ({type(exc).__name__}: {_short(exc)})") from exc

    blocks = _finish_blocks(blocks)
    if blocks and not any(b.heading_level == 0 for b in blocks):
        # Only short title-like lines (a form, a label sheet): they are the text.
        blocks = [Block(b.text) for b in blocks]
    if not blocks:
        raise InputError(path, "no text found")
    return ParsedDocument(blocks=blocks, metadata=metadata, format=fmt)


def _sniff_binary(path: Path) -> str | None:
    """"pdf" or "docx" for a file named as text whose bytes say otherwise (a mislabelled
    download); a zip that is no Word document is refused. None: read it as its suffix says."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None  # parse_file's own read reports it
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise InputError(path, "binary data, not text (a damaged ZIP archive)") from None
        if "word/document.xml" in names:
            return "docx"
        raise InputError(path, "binary data, not text (a ZIP archive)")
    return None


_LABELS = {"txt": "text file", "md": "Markdown", "html": "HTML", "pdf": "PDF", "docx": "DOCX"}


def _mb(n: int) -> str:
    return f"{n / MB:.1f} MB" if n < 10 * MB else f"{n / MB:.0f} MB"


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finish_blocks(blocks: list[Block]) -> list[Block]:
    """Normalised, non-empty blocks; headings on one line."""
    out: list[Block] = []
    for block in blocks:
        text = normalize_text(block.text)
        if block.heading_level > 0:
            text = " ".join(text.split())
        if text:
            out.append(Block(text, block.heading_level))
    return out


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
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


def _read_limited(path: Path, limit: int) -> bytes:
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
                raise InputError(path, f"file too large (over {_mb(limit)})")
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise InputError(path, "empty file")
    return data


# =========================================================================== decoding

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_BAD_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f\ufffd]")


def _bom_encoding(data: bytes) -> tuple[str, int] | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when NUL bytes sit in every other position, as in UTF-16 text."""
    sample = data[:8192]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return bool(sample) and len(_BAD_CHARS.findall(sample)) > 0.02 * len(sample)


def decode_text(data: bytes, path: Path) -> str:
    """Bytes of a text file as str: BOM, UTF-8, UTF-16 without BOM, then charset detection."""
    bom = _bom_encoding(data)
    if bom:
        encoding, skip = bom
        try:
            text = data[skip:].decode(encoding)
        except UnicodeDecodeError:
            raise InputError(path, f"undecodable text (invalid {encoding} after a byte-order mark)") from None
        if _looks_binary(text):
            raise InputError(path, "binary data, not text")
        return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _looks_binary(text):
            raise InputError(path, "binary data, not text")
        return text
    if b"\x00" in data:
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise InputError(path, "binary data, not text")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise InputError(path, "binary data, not text") from None
        if _looks_binary(text):
            raise InputError(path, "binary data, not text")
        return text

    western = _western_cp1252(data)
    if western is not None:
        return western

    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        if len(_BINARY_BYTES.findall(data[:65536])) > 0.01 * min(len(data), 65536):
            raise InputError(path, "binary data, not text")
        raise InputError(path, "undecodable text (not UTF-8 and no other encoding fits)")
    text = str(best)
    if _looks_binary(text):
        raise InputError(path, "binary data, not text")
    return text


# Non-ASCII characters of Western European text in cp1252 (a superset of Latin-1): accented
# letters, typographic punctuation, currency and a few symbols.
_WESTERN = set("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿŒœŠšŽžŸƒ"
               "\u00a0¡¢£¤¥§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷‘’‚“”„†‡•…‰‹›€™–—˜ˆ")


def _western_cp1252(data: bytes) -> str | None:
    """`data` as cp1252 when it reads as Western European text, else None.

    charset detection often names a wrong single-byte code page for short Latin-1/cp1252
    text ("naïve" read as cp1250 "naďve"), and cp1252 is by far the commonest legacy
    encoding. Accented letters must stay a minority of the letters, so Cyrillic or Greek
    text in its own code page (which decodes to runs of accented Latin letters) is left
    to detection.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii or any(c not in _WESTERN for c in non_ascii):
        return None
    letters = sum(c.isalpha() for c in text)
    accented = sum(c.isalpha() for c in non_ascii)
    if letters == 0 or accented > 0.2 * letters or _looks_binary(text):
        return None
    return text


# =========================================================================== shared heuristics

_SMALL_WORDS = {
    "a", "an", "the", "and", "or", "nor", "but", "of", "for", "to", "in", "on", "at", "by", "with",
    "from", "as", "is", "vs", "via", "into", "per", "its", "their", "our", "de", "la", "le", "des",
    "du", "et", "und", "der", "die", "das", "y", "en",
}
_BULLET = re.compile(r"^\s*(?:[-*+•◦▪▫■□●○‣⁃–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_SENTENCE_END = re.compile(r"""[.!?:;]["')\]]*$""")


def _title_case(line: str) -> bool:
    """Most significant words start with a capital (or a digit); the first one does."""
    words = [w.strip("\"'()[]{}“”‘’,:;") for w in line.split()]
    words = [w for w in words if w and _HAS_LETTER.search(w)]
    if not words:
        return False
    first = words[0]
    if not (first[0].isupper() or first[0].isdigit()):
        return False
    significant = [w for w in words[1:] if w.lower() not in _SMALL_WORDS]
    if not significant:
        return True
    capitalised = sum(1 for w in significant if w[0].isupper() or w[0].isdigit())
    return capitalised / len(significant) >= 0.75


def _heading_like(line: str, *, max_words: int = 12, max_chars: int = 100) -> bool:
    """A short Title Case line with no sentence punctuation at the end."""
    s = line.strip()
    if not s or len(s) > max_chars or len(s.split()) > max_words:
        return False
    if not _HAS_LETTER.search(s) or _BULLET.match(s) or "://" in s or "@" in s:
        return False
    if s[-1] in ".,;:!" or s.endswith("..."):
        return False
    if s.isupper() and sum(c.isalpha() for c in s) >= 3:
        return True
    return _title_case(s)


def _dehyphenate_join(left: str, right: str, vocabulary: set[str], compounds: set[str]) -> str:
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


def _word_sets(text: str) -> tuple[set[str], set[str]]:
    """Lower-cased words, and hyphenated compounds written inside a line, of a text."""
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    # The look-behind starts matches only at a word's first letter: without it a long run of
    # letters with no hyphen (CJK, base64, a PDF without spaces) is scanned quadratically.
    compounds = set(re.findall(r"(?<![^\W\d_])[^\W\d_]+-[^\W\d_]+", text.lower()))
    return words, compounds


# =========================================================================== txt


def _parse_txt(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    text = normalize_text(decode_text(_read_limited(path, limit), path))
    if not text:
        raise InputError(path, "no text (only whitespace)")
    vocabulary, compounds = _word_sets(text)
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
            elif index > 0 and _heading_like(line) and index < len(chunks) - 1:
                blocks.append(Block(line, 2))
            else:
                blocks.append(Block(line))
        elif _hard_wrapped(lines):
            joined = lines[0]
            for line in lines[1:]:
                joined = _dehyphenate_join(joined, line, vocabulary, compounds)
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
        and bool(_HAS_LETTER.search(s))
        and s[-1] not in ".,;:"
        and not _BULLET.match(s)
        and "://" not in s
    )


def _hard_wrapped(lines: list[str]) -> bool:
    """Lines of one paragraph broken at a fixed width (rather than one sentence/item a line)."""
    body = lines[:-1]
    if any(_BULLET.match(ln) for ln in lines):
        return False
    if any(len(ln) > 110 for ln in body):
        return False
    if statistics.mean(len(ln) for ln in body) < 35:
        return False
    continued = sum(1 for ln in lines[1:] if ln[0].islower())
    ended = sum(1 for ln in body if _SENTENCE_END.search(ln))
    return continued > 0 or ended <= len(body) / 2


def _line_blocks(lines: list[str]) -> list[Block]:
    """One block a line; a Title Case line between full sentences becomes a heading."""
    out: list[Block] = []
    for i, line in enumerate(lines):
        prev_ok = i == 0 or _is_sentence(lines[i - 1])
        next_ok = i + 1 < len(lines) and _is_sentence(lines[i + 1])
        level = 2 if prev_ok and next_ok and _heading_like(line) else 0
        out.append(Block(line, level))
    return out


def _is_sentence(line: str) -> bool:
    return len(line.split()) >= 8 and bool(_SENTENCE_END.search(line))


# =========================================================================== markdown

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*$")
_SETEXT_1 = re.compile(r"^\s{0,3}=+\s*$")
_SETEXT_2 = re.compile(r"^\s{0,3}-+\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])\s+(.*)$")
_TASK = re.compile(r"^\[[ xX]\]\s+")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_RULES: list[tuple[re.Pattern[str], str]] = [
    # Bracket texts exclude '[' (and inner parentheses exclude '('), so a run of unclosed
    # brackets is scanned once instead of once per bracket (200k '[' hung the parser).
    (re.compile(r"!\[[^\[\]]*\]\([^)]*\)"), ""),  # image: dropped
    (re.compile(r"!\[[^\[\]]*\]\[[^\[\]]*\]"), ""),  # reference image: dropped
    (re.compile(r"\[([^\[\]]+)\]\((?:[^()]|\([^()]*\))*\)"), r"\1"),  # link: its text
    (re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),  # reference link: its text
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),  # autolink: the address
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # emphasis *x*
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),  # emphasis _x_
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),  # line break tag
    (_HTML_TAG, ""),  # other inline HTML tags
]
# Backslash escapes are set aside (as private-use characters) before the rules run.
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_ESCAPED = re.compile("[\U000f0000-\U000f007f]")


def md_inline(text: str) -> str:
    """Markdown inline syntax stripped: emphasis, links (text kept), images (dropped), code spans."""
    parts: list[str] = []
    pos = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(_md_inline_plain(text[pos : match.start()]))
        parts.append(match.group(2).strip())
        pos = match.end()
    parts.append(_md_inline_plain(text[pos:]))
    return " ".join("".join(parts).split())


def _md_inline_plain(text: str) -> str:
    text = _ESCAPE.sub(lambda m: chr(0xF0000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return _ESCAPED.sub(lambda m: chr(ord(m.group(0)) - 0xF0000), text)


def _front_matter(text: str) -> tuple[dict[str, Any] | None, str, str | None]:
    """(mapping, body, error) for text starting with a `---` YAML block; (None, text, None) otherwise."""
    if not re.match(r"---[ \t]*\n", text):
        return None, text, None
    end = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
    if end is None:
        return None, text, None
    raw = text[4 : 4 + end.start()]
    body = text[4 + end.end() :]
    import yaml

    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        return None, body, f"invalid YAML front matter: {_short(exc, 120)}"
    if data is None:
        return None, body, None
    if not isinstance(data, dict):
        return None, body, "front matter is not a mapping"
    return data, body, None


def _plain_value(value: Any) -> Any:
    """YAML values as strings (dates ISO-formatted), lists of strings, or None."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(_plain_value(v)) for v in value if v is not None and not isinstance(v, (dict, list))]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return None
    return str(value).strip()


def front_matter_metadata(data: dict[str, Any]) -> Metadata:
    """Front matter keys mapped onto Metadata (title, authors/author, date/year, organization, …)."""
    entry: dict[str, Any] = {}
    aliases = {"type": "doc_type", "source": "url", "link": "url", "publisher": "organization",
               "site": "site_name", "district": "districts"}
    for key, value in data.items():
        name = aliases.get(str(key).lower(), str(key).lower())
        plain = _plain_value(value)
        if plain in (None, "", []):
            continue
        if isinstance(plain, list) and name not in ("authors", "author", "districts", "tags", "keywords"):
            plain = "; ".join(plain)
        entry.setdefault(name, plain)
    return entry_to_metadata(entry)


def _parse_md(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    text = normalize_text(decode_text(_read_limited(path, limit), path))
    data, body, error = _front_matter(text)
    metadata = front_matter_metadata(data) if data else Metadata()
    if error:
        metadata.extra["front_matter_error"] = error
    blocks = markdown_blocks(body)
    if not metadata.title and blocks and blocks[0].heading_level == 1:
        metadata.title = blocks[0].text
    return blocks, metadata


def markdown_blocks(text: str) -> list[Block]:
    """Blocks of a Markdown body (no front matter)."""
    text = _HTML_SCRIPT.sub("", _HTML_COMMENT.sub("", text))
    lines = text.split("\n")
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            joined = md_inline(" ".join(para))
            if joined:
                blocks.append(Block(joined))
            para.clear()

    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        while _QUOTE.match(raw):  # block quotes read as ordinary text
            raw = _QUOTE.sub("", raw, count=1)
        line = raw.rstrip()
        fence = _FENCE.match(line)
        if fence:
            flush()
            marker = fence.group(1)
            code: list[str] = []
            while i < len(lines) and not lines[i].strip().startswith(marker):
                code.append(lines[i].rstrip())
                i += 1
            i += 1  # the closing fence
            if any(c.strip() for c in code):
                blocks.append(Block("\n".join(code).strip("\n")))
            continue
        if not line.strip():
            flush()
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            heading = md_inline(re.sub(r"\s+#+\s*$", "", atx.group(2) or ""))
            if heading:
                blocks.append(Block(heading, len(atx.group(1))))
            continue
        if para and _SETEXT_1.match(line):
            blocks.append(Block(md_inline(" ".join(para)), 1))
            para.clear()
            continue
        if para and _SETEXT_2.match(line) and not _LIST_ITEM.match(para[0]):
            blocks.append(Block(md_inline(" ".join(para)), 2))
            para.clear()
            continue
        if _RULE.match(line) or _REF_DEF.match(line):
            flush()
            continue
        if "|" in line and _TABLE_SEP.match(line):
            continue
        stripped = line.strip()
        if stripped.startswith("|") and stripped.count("|") >= 2:
            flush()
            cells = [md_inline(c) for c in stripped.strip("|").split("|")]
            row = " | ".join(c for c in cells if c)
            if row:
                blocks.append(Block(row))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            flush()
            marker, rest = item.group(1), _TASK.sub("", item.group(2))
            para.append(f"{marker} {rest}" if marker[0].isdigit() else rest)
            continue
        para.append(stripped)
    flush()
    return blocks


# =========================================================================== html


def _parse_html(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    import trafilatura
    from lxml import etree
    from trafilatura.utils import load_html

    data = _read_limited(path, limit)
    content: bytes | str = data
    bom = _bom_encoding(data)
    if bom and bom[0] != "utf-8":
        content = decode_text(data, path)
    elif b"\x00" in data[:65536] or _looks_binary(data[:65536].decode("latin-1")):
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise InputError(path, "binary data, not text")
        content = decode_text(data, path)
    try:
        tree = load_html(content)
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise InputError(path, f"cannot parse HTML ({_short(exc)})") from None
    if tree is None:
        raise InputError(path, "cannot parse HTML (not an HTML document)")
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_HTML_ELEMENTS:
        raise InputError(path, f"HTML too complex ({elements:,} elements, limit {MAX_HTML_ELEMENTS:,})")
    try:
        document = trafilatura.bare_extraction(
            tree,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            favor_precision=True,
        )
    except RecursionError:
        raise InputError(path, "HTML is nested too deeply to parse") from None
    except (etree.LxmlError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(path, f"cannot extract text from HTML ({_short(exc)})") from None
    body = getattr(document, "body", None)
    blocks = html_xml_blocks(body) if body is not None else []
    words = sum(len(b.text.split()) for b in blocks if b.heading_level == 0)
    if words < MIN_HTML_WORDS:  # a lone menu label is not an article
        raise InputError(path, "no main text found in HTML")
    return blocks, _html_metadata(document)


_DATE_WORDS = re.compile(
    r"^(?:(?:by|on|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may"
    r"|june|july|august|september|october|november|december)\b[\s,]*)+|(?:[\s,]+\b(?:monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october"
    r"|november|december))+$",
    re.IGNORECASE,
)


def _clean_author(name: str) -> str | None:
    """An author name without the weekday/month words page templates glue onto it."""
    name = _DATE_WORDS.sub("", " ".join(name.split())).strip(" ,")
    if not name or any(ch.isdigit() for ch in name) or len(name) > 100:
        return None
    return name


def _html_metadata(document: Any) -> Metadata:
    def get(name: str) -> str | None:
        value = getattr(document, name, None)
        value = " ".join(str(value).split()) if value else ""
        return value or None

    date = get("date")
    authors = [a for a in (_clean_author(x) for x in re.split(r";|\|", get("author") or "")) if a]
    year = None
    if date and re.match(r"(1[89]|20)\d\d", date):
        year = int(date[:4])
    extra = {k: v for k in ("description", "language", "hostname") if (v := get(k))}
    return Metadata(
        title=get("title"),
        authors=authors,
        year=year,
        url=get("url"),
        site_name=get("sitename"),
        published=date,
        extra=extra,
    )


_LINE_BREAKS = re.compile(r"[ \t]*\n\s*")
_HTML_BLOCK_TAGS = {"p", "head", "list", "item", "table", "row", "quote", "code", "div", "section", "main", "body"}


def html_xml_blocks(root: Any) -> list[Block]:
    """Blocks from trafilatura's XML tree (head/p/list/item/table/quote/code elements)."""
    blocks: list[Block] = []
    _walk_xml(root, blocks)
    return blocks


def _inline(element: Any) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag != "graphic":
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _walk_xml(element: Any, blocks: list[Block]) -> None:
    tag = element.tag
    if tag == "head":
        match = re.search(r"\d", element.get("rend") or "")
        level = min(int(match.group(0)), 6) if match else 2
        blocks.append(Block(" ".join(_inline(element).split()), max(level, 1)))
        return
    if tag == "table":
        for row in element.iter("row"):
            cells = [" ".join(_inline(c).split()) for c in row if c.tag == "cell"]
            text = " | ".join(c for c in cells if c)
            if text:
                blocks.append(Block(text))
        return
    if tag == "code":
        blocks.append(Block(_inline(element).strip("\n")))
        return
    if tag == "graphic":
        return
    block_children = [c for c in element if c.tag in _HTML_BLOCK_TAGS]
    if not block_children:
        text = _LINE_BREAKS.sub("\n", _inline(element)).strip()
        if text:
            blocks.append(Block(text))
        return
    # Mixed content: loose text around block children becomes blocks of its own.
    if (element.text or "").strip():
        blocks.append(Block(element.text.strip()))
    for child in element:
        if child.tag in _HTML_BLOCK_TAGS:
            _walk_xml(child, blocks)
        elif child.tag != "graphic":
            text = _inline(child).strip()
            if text:
                blocks.append(Block(text))
        if (child.tail or "").strip():
            blocks.append(Block(child.tail.strip()))


# =========================================================================== pdf

_PAGE_NUMBER = re.compile(
    r"(?:page|p\.|seite|pág\.?|s\.)?\s*[-–—]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*"
    r"(?:(?:of|/|von|de|sur)\s*\d{1,4})?\s*[-–—]?",
    re.IGNORECASE,
)
_LONE_MARKER = re.compile(r"\(?(?:\d{1,3}|[a-zA-Z])[.)]?|[-*•◦▪▫■□●○‣⁃–—]")
_SECTION_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+\S")
_FURNITURE_LINES = 3  # lines at the top and bottom of a page that may be running headers/footers


def _parse_pdf(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    with open(path, "rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        raise InputError(path, "corrupt PDF: no %PDF header (not a PDF file)")
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError:
                raise InputError(
                    path, "encrypted PDF (needs the 'cryptography' package to decrypt)",
                    hint="pip install cryptography",
                ) from None
            if not opened:
                raise InputError(path, "encrypted PDF (password required)")
        count = len(reader.pages)
    except InputError:
        raise
    except RecursionError:
        raise InputError(path, "corrupt PDF: recursive structure") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds of errors on broken files
        raise InputError(path, f"corrupt PDF: {_short(exc)}") from None
    if count == 0:
        raise InputError(path, "corrupt PDF: no pages")
    if count > MAX_PDF_PAGES:
        raise InputError(path, f"PDF has too many pages ({count:,}, limit {MAX_PDF_PAGES:,})")

    pages: list[str] = []
    styles: list[list[_Chunk]] = []
    failed: list[int] = []
    first_error = ""
    for number in range(count):
        chunks: list[_Chunk] = []
        try:
            text = _extract_page(reader.pages[number], chunks)
        except DependencyError:
            raise InputError(
                path, "encrypted PDF (needs the 'cryptography' package to decrypt)", hint="pip install cryptography"
            ) from None
        except RecursionError:
            failed.append(number + 1)
            first_error = first_error or "recursive page content"
            text = ""
        except Exception as exc:  # noqa: BLE001 - one broken page should not lose the rest
            failed.append(number + 1)
            first_error = first_error or _short(exc)
            text = ""
        pages.append(text)
        styles.append(chunks)
    if len(failed) == count:
        raise InputError(path, f"corrupt PDF: no page could be read ({first_error})")

    page_lines = remove_page_furniture([_pdf_page_lines(t) for t in pages])
    letters = sum(1 for lines in page_lines for line in lines for ch in line if ch.isalpha())
    if letters == 0 or (count >= 2 and letters < 10 * count):
        raise InputError(path, "no text layer (scanned or image-only PDF)")
    if garbled("".join(line for lines in page_lines for line in lines)):
        raise InputError(path, "unreadable text layer (garbled characters: fonts without a Unicode map)")
    levels = _font_heading_levels(page_lines, styles)
    lines = [line for page in page_lines for line in page]
    blocks = pdf_lines_to_blocks(lines, levels, _paragraph_starts(styles))
    metadata = _pdf_metadata(reader)
    metadata.extra["pages"] = count
    if failed:
        metadata.extra["unreadable_pages"] = failed
    return blocks, metadata


# (effective font size, bold, text, baseline y) of one text-showing operation
_Chunk = tuple[float, bool, str, float]


def _extract_page(page: Any, chunks: list[_Chunk]) -> str:
    """A page's text (plain mode), recording each text chunk's effective font size and weight."""

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text or not text.strip():
            return
        try:
            a, b, c, d = (
                tm[0] * cm[0] + tm[1] * cm[2],
                tm[0] * cm[1] + tm[1] * cm[3],
                tm[2] * cm[0] + tm[3] * cm[2],
                tm[2] * cm[1] + tm[3] * cm[3],
            )
            effective = float(size) * abs(a * d - b * c) ** 0.5
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            base = str(font.get("/BaseFont", "")).lower() if font else ""
        except (TypeError, ValueError, AttributeError, IndexError):
            return
        bold = any(w in base for w in ("bold", "black", "heavy", "semibold", "demi"))
        chunks.append((round(effective, 1), bold, text, float(y)))

    return page.extract_text(extraction_mode="plain", visitor_text=visit) or ""


def _squash(text: str) -> str:
    return "".join(normalize_text(text).split())


def _font_heading_levels(page_lines: list[list[str]], styles: list[list[_Chunk]]) -> list[int] | None:
    """A heading level for each line (0: body) from font sizes and weights, or None without a signal.

    The body size is the size most characters are set in; a short line set entirely in larger
    or bold type is a heading; larger sizes rank higher (level 1 = largest).
    """
    weight: Counter[float] = Counter()
    for chunks in styles:
        for size, _, text, _ in chunks:
            weight[size] += len(text.strip())
    if not weight:
        return None
    body = weight.most_common(1)[0][0]
    if body <= 0:
        return None
    heading_sizes = sorted({size for size in weight if size >= 1.08 * body}, reverse=True)
    rank = {size: min(i + 1, 3) for i, size in enumerate(heading_sizes)}
    bold_level = min(len(heading_sizes) + 1, 4)

    levels: list[int] = []
    found = False
    for lines, chunks in zip(page_lines, styles, strict=True):
        # The page's emphasised text without whitespace, and where each chunk sits in it.
        joined, spans, pos = [], [], 0
        for size, bold, text, _ in chunks:
            if size in rank or bold:
                key = _squash(text)
                joined.append(key)
                spans.append((pos, pos + len(key), size))
                pos += len(key)
        emphasised = "".join(joined)
        for line in lines:
            key = "".join(line.split())
            start = emphasised.find(key) if len(key) >= 3 and _heading_shape(line) else -1
            level = 0
            if start >= 0:
                end = start + len(key)
                big = max((size for a, b, size in spans if a < end and b > start and size in rank), default=None)
                level = rank[big] if big is not None else bold_level
                found = True
            levels.append(level)
    return levels if found else None


def _paragraph_starts(styles: list[list[_Chunk]]) -> set[str]:
    """Keys (first 40 non-space characters) of lines that follow a vertical gap: new paragraphs.

    Chunks on one baseline form a visual line; a step down clearly larger than the page's
    usual line spacing starts a paragraph (plain extraction drops that spacing).
    """
    starts: set[str] = set()
    for chunks in styles:
        lines: list[list[Any]] = []  # [baseline, text, font size]
        for size, _, text, y in chunks:
            if lines and abs(lines[-1][0] - y) < 0.5 * max(size, 1.0):
                lines[-1][1] += text
            else:
                lines.append([y, text, size])
        steps = [lines[i - 1][0] - lines[i][0] for i in range(1, len(lines))]
        downward = sorted(step for step in steps if step > 0)
        if len(downward) < 3:
            continue
        spacing = downward[len(downward) // 3]  # usual line spacing (paragraph gaps are rarer)
        for i, step in enumerate(steps, start=1):
            if step > 1.4 * spacing and step > 1.6 * lines[i][2]:
                key = _squash(lines[i][1])[:40]
                if len(key) >= 8:
                    starts.add(key)
    return starts


def _heading_shape(line: str) -> bool:
    """Short, with letters, not ending like a sentence, not a page number."""
    s = line.strip()
    return (
        len(s.split()) <= 15
        and len(s) <= 150
        and sum(ch.isalpha() for ch in s) >= 2
        and s[-1] not in ".,;"
        and not _PAGE_NUMBER.fullmatch(s)
    )


def _script(ch: str) -> str:
    """A letter's script family from its Unicode name (CJK ideographs and kana count as one)."""
    try:
        word = unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return "UNKNOWN"
    return "CJK" if word in ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH") else word


def garbled(text: str) -> bool:
    """Letters scattered over many unrelated scripts: glyph codes read as text, not language.

    Real text has one script, perhaps two (Latin with Greek symbols, Arabic with Latin);
    a PDF font without a Unicode map yields a soup of Greek, Cyrillic, Arabic, Indic letters.
    """
    scripts = Counter(_script(ch) for ch in text if ch.isalpha())
    total = sum(scripts.values())
    if total < 50:
        return False
    top_two = sum(count for _, count in scripts.most_common(2))
    spread = sum(1 for count in scripts.values() if count >= 0.02 * total)
    return top_two < 0.85 * total and spread >= 4


def _pdf_page_lines(text: str) -> list[str]:
    text = text.replace("\u00ad\n", "-\n")  # a soft hyphen at a line end is a hyphenation point
    return [line.strip() for line in normalize_text(text).split("\n")]


def _furniture_key(line: str) -> str:
    """Running headers compare case-, digit- and space-insensitively ("-2- Title" = "-3-Title")."""
    return re.sub(r"\d+", "#", "".join(line.split()).casefold())


def remove_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers/footers (a line near the top or bottom of at least half the pages,
    digits ignored, dropped wherever it occurs) and page numbers ("3", "Page 3 of 9", "- iv -")
    near the top or bottom of a page."""
    def edges(lines: list[str]) -> list[int]:
        filled = [i for i, line in enumerate(lines) if line]
        return sorted(set(filled[:_FURNITURE_LINES] + filled[-_FURNITURE_LINES:]))

    counts: Counter[str] = Counter()
    per_page_max: Counter[str] = Counter()
    for lines in pages:
        counts.update({_furniture_key(lines[i]) for i in edges(lines)})
        for key, c in Counter(_furniture_key(line) for line in lines if line).items():
            per_page_max[key] = max(per_page_max[key], c)
    n = len(pages)
    # Furniture appears once a page; a line repeated within a page is body text (or a table).
    repeated = {
        key for key, c in counts.items() if n >= 2 and c >= 2 and 2 * c >= n and per_page_max[key] == 1
    }
    out: list[list[str]] = []
    for lines in pages:
        drop = {i for i in edges(lines) if _PAGE_NUMBER.fullmatch(lines[i])}
        # A running header found at the edges of most pages is dropped wherever it sits
        # (extraction order sometimes puts it mid-page).
        drop |= {i for i, line in enumerate(lines) if line and _furniture_key(line) in repeated}
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def pdf_lines_to_blocks(
    lines: list[str], levels: list[int] | None = None, starts: set[str] | None = None
) -> list[Block]:
    """Rejoin extracted lines into paragraphs and headings.

    A blank line, or a line clearly shorter than a full line that ends a sentence, ends a
    paragraph; bullets, and lines whose key is in `starts` (after a vertical gap), start one. Headings come from `levels` (one a line, from fonts) when
    given, else from the text: a short Title Case / numbered / upper-case line standing
    between paragraphs. Consecutive heading lines of one level merge. Hyphenation is undone.
    """
    filled = [line for line in lines if line]
    if not filled:
        return []
    long_lines = sorted(len(line) for line in filled if len(line.split()) >= 3) or [len(line) for line in filled]
    full = long_lines[min(len(long_lines) - 1, int(0.8 * len(long_lines)))]
    vocabulary, compounds = _word_sets("\n".join(filled))

    def heading_level(i: int) -> int:
        if levels is not None:
            return levels[i]
        following = next((x for x in lines[i + 1 :] if x), "")
        return _pdf_heading_level(lines[i]) if _pdf_heading(lines[i], full, following) else 0

    blocks: list[Block] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            text = current[0]
            for line in current[1:]:
                text = _dehyphenate_join(text, line, vocabulary, compounds)
            blocks.append(Block(text))
            current.clear()

    for i, line in enumerate(lines):
        if not line:
            flush()
            continue
        level = heading_level(i)
        if level:
            flush()
            last = blocks[-1] if blocks else None
            if last and last.heading_level == level and len(last.text.split()) + len(line.split()) <= 20 \
                    and i > 0 and heading_level(i - 1) == level:
                last.text = f"{last.text} {line}"
            else:
                blocks.append(Block(line, level))
            continue
        if _LONE_MARKER.fullmatch(line):  # "2" or "•" on a line of its own starts a list item
            flush()
            current.append(line)
            continue
        if current and not _LONE_MARKER.fullmatch(current[-1]):
            prev = current[-1]
            short_end = len(prev) < 0.8 * full and bool(_SENTENCE_END.search(prev))
            gap = bool(starts) and "".join(line.split())[:40] in starts
            if short_end or gap or _BULLET.match(line):
                flush()
        current.append(line)
    flush()
    return blocks


def _pdf_heading(line: str, full: int, following: str) -> bool:
    """A standalone heading: short, numbered or Title Case / upper case, followed by a capital."""
    if not following or not (following[0].isupper() or following[0].isdigit() or _BULLET.match(following)):
        return False
    if len(following.split()) < 4 and not _BULLET.match(following):
        return False  # figure labels and table cells: a heading is followed by prose
    if len(line) > max(0.7 * full, 20) or _PAGE_NUMBER.fullmatch(line):
        return False
    if sum(ch.isalpha() for ch in line) < 3:
        return False
    if _SECTION_NUMBER.match(line) and not _SENTENCE_END.search(line):
        rest = _SECTION_NUMBER.sub("", line).strip()
        return bool(rest) and len(line.split()) <= 12
    return _heading_like(line, max_words=10)


def _pdf_heading_level(line: str) -> int:
    match = _SECTION_NUMBER.match(line)
    if match:
        return min(1 + match.group(1).count("."), 6)
    return 1 if line.isupper() else 2


def _pdf_metadata(reader: Any) -> Metadata:
    metadata = Metadata()
    try:
        info = reader.metadata
    except Exception:  # noqa: BLE001 - broken /Info dictionaries are common and harmless
        return metadata
    if not info:
        return metadata

    def get(key: str) -> str:
        try:
            value = info.get(key)
            value = value.get_object() if hasattr(value, "get_object") else value
            return " ".join(str(value).split()) if value else ""
        except Exception:  # noqa: BLE001
            return ""

    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", get("/Title"))
    if title and not re.search(r"\.(?:docx?|pdf|indd|pptx?|tex|dvi|rtf|odt|txt|md|html?)$|^untitled", title, re.IGNORECASE):
        metadata.title = title
    author = get("/Author")
    if author:
        metadata.authors = split_list(author)
    created = get("/CreationDate")
    match = re.search(r"(?:D:)?((?:1[89]|20)\d\d)", created)
    if match:
        metadata.year = int(match.group(1))
    return metadata


# =========================================================================== docx

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre|título|titolo|kop)\s*(\d)$", re.IGNORECASE)


def _check_zip(path: Path) -> None:
    """Refuse a package that isn't a zip, or would inflate too far (a zip bomb), before reading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise InputError(path, "not a valid DOCX: not a zip archive") from None
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(path, f"not a valid DOCX: {_short(exc)}") from None
    if len(infos) > MAX_DOCX_MEMBERS:
        raise InputError(path, f"not a valid DOCX: too many parts ({len(infos):,})")
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if total > MAX_DOCX_UNCOMPRESSED:
        raise InputError(
            path, f"not a valid DOCX: would inflate to {_mb(total)} (limit {_mb(MAX_DOCX_UNCOMPRESSED)}; zip bomb?)"
        )
    for info in infos:
        if info.file_size > MB and info.file_size > MAX_DOCX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise InputError(path, f"not a valid DOCX: {info.filename} compresses {ratio:,}:1 (zip bomb?)")
    if total > MB and total > MAX_DOCX_RATIO * max(packed, 1):
        raise InputError(path, f"not a valid DOCX: compresses {total // max(packed, 1):,}:1 (zip bomb?)")


def _parse_docx(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    _check_zip(path)
    import docx

    try:
        document = docx.Document(str(path))
        blocks = _docx_blocks(document)
        metadata = _docx_metadata(document)
    except (KeyError, ValueError, AttributeError, TypeError, LookupError, SyntaxError, zipfile.BadZipFile) as exc:
        # python-docx can't read this package (strict OOXML, renamed or missing parts, odd XML):
        # fall back to reading the main part's paragraphs directly.
        blocks, metadata = _docx_fallback(path, reason=_short(exc, 80))
    except Exception as exc:
        if type(exc).__name__ not in ("PackageNotFoundError", "XMLSyntaxError", "InvalidXmlError"):
            raise
        blocks, metadata = _docx_fallback(path, reason=_short(exc, 80))
    if not any(b.text.strip() for b in blocks) and "parsed_with" not in metadata.extra:
        # python-docx skips content controls and text boxes: read the XML before giving up.
        blocks = _docx_fallback(path, reason="no text in body paragraphs")[0]
    if not metadata.title:
        metadata.title = next((b.text for b in blocks if b.heading_level == 1 and b.text.strip()), None)
    if not any(b.text.strip() for b in blocks):
        raise InputError(path, "no text found in DOCX (empty document)")
    return blocks, metadata


def _style_level(name: str) -> int:
    name = (name or "").strip()
    match = _HEADING_STYLE.match(name)
    if match:
        return max(1, min(int(match.group(1)), 6))
    if name.lower() == "title":
        return 1
    if name.lower() == "subtitle":
        return 2
    return 0


def _docx_blocks(document: Any) -> list[Block]:
    blocks: list[Block] = []
    _docx_container(document, blocks, depth=0)
    return blocks


def _docx_container(container: Any, blocks: list[Block], depth: int) -> None:
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            if depth < 8:
                _docx_table(item, blocks, depth)
            continue
        text = item.text or ""
        if not text.strip():
            continue
        try:
            style = item.style.name if item.style is not None else ""
        except (KeyError, ValueError, AttributeError):
            style = ""
        blocks.append(Block(text, _style_level(style)))


def _docx_table(table: Any, blocks: list[Block], depth: int) -> None:
    """Short cells of a row join with " | "; a row holding real prose becomes paragraphs."""
    for row in table.rows:
        try:
            cells = row.cells
        except (ValueError, IndexError, KeyError):
            cells = []
        unique: list[Any] = []
        seen: set[int] = set()
        for cell in cells:  # merged cells repeat: keep each once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                unique.append(cell)
        texts = ["\n".join(p.text for p in cell.paragraphs if p.text.strip()) for cell in unique]
        nested = any(cell.tables for cell in unique)
        prose = nested or any("\n" in t or len(t) > 200 for t in texts)
        if prose:
            for cell in unique:
                _docx_container(cell, blocks, depth + 1)
        else:
            row_text = " | ".join(t for t in texts if t.strip())
            if row_text:
                blocks.append(Block(row_text))


def _docx_metadata(document: Any) -> Metadata:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    metadata = Metadata()
    package = document.part.package
    if not any(rel.reltype == RT.CORE_PROPERTIES for rel in package.rels.values()):
        return metadata  # python-docx would invent defaults ("Word Document")
    props = document.core_properties
    if props.title and props.title.strip():
        metadata.title = " ".join(props.title.split())
    if props.author and props.author.strip():
        metadata.authors = split_list(props.author)
    if props.created:
        metadata.year = props.created.year
    return metadata


# --- fallback: stdlib zipfile + ElementTree, namespace-agnostic


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(element: Any, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _xml(archive: zipfile.ZipFile, name: str, path: Path) -> Any:
    import xml.etree.ElementTree as ET

    data = archive.read(name)
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise InputError(path, f"not a valid DOCX: {name} declares a DTD")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(path, f"not a valid DOCX: {name} is not well-formed XML ({exc})") from None


def _main_part(archive: zipfile.ZipFile, path: Path) -> str:
    names = set(archive.namelist())
    if "_rels/.rels" in names:
        for rel in _xml(archive, "_rels/.rels", path).iter():
            if _local(rel.tag) == "Relationship" and (_attr(rel, "Type") or "").endswith("/officeDocument"):
                target = (_attr(rel, "Target") or "").lstrip("/")
                if target in names:
                    return target
    if "word/document.xml" in names:
        return "word/document.xml"
    if "[Content_Types].xml" in names:
        for override in _xml(archive, "[Content_Types].xml", path).iter():
            if "document.main" in (_attr(override, "ContentType") or ""):
                part = (_attr(override, "PartName") or "").lstrip("/")
                if part in names:
                    return part
    raise InputError(path, "not a valid DOCX: no main document part")


def _docx_fallback(path: Path, *, reason: str) -> tuple[list[Block], Metadata]:
    try:
        with zipfile.ZipFile(path) as archive:
            main = _main_part(archive, path)
            root = _xml(archive, main, path)
            styles = _fallback_styles(archive, main, path)
            metadata = _fallback_core(archive, path)
    except InputError as exc:
        raise InputError(path, f"{exc.reason} (python-docx: {reason})") from None
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError) as exc:
        raise InputError(path, f"not a valid DOCX: {_short(exc)}") from None
    blocks: list[Block] = []
    body = next((el for el in root.iter() if _local(el.tag) == "body"), root)
    _fallback_walk(body, blocks, styles, depth=0)
    metadata.extra["parsed_with"] = "xml fallback"
    return blocks, metadata


def _fallback_styles(archive: zipfile.ZipFile, main: str, path: Path) -> dict[str, str]:
    folder = main.rsplit("/", 1)[0] + "/" if "/" in main else ""
    name = folder + "styles.xml"
    if name not in archive.namelist():
        return {}
    styles: dict[str, str] = {}
    try:
        root = _xml(archive, name, path)
    except InputError:
        return {}
    for style in root.iter():
        if _local(style.tag) == "style":
            style_id = _attr(style, "styleId") or ""
            label = next((_attr(c, "val") for c in style if _local(c.tag) == "name"), None)
            styles[style_id] = label or style_id
    return styles


def _fallback_core(archive: zipfile.ZipFile, path: Path) -> Metadata:
    metadata = Metadata()
    if "docProps/core.xml" not in archive.namelist():
        return metadata
    try:
        root = _xml(archive, "docProps/core.xml", path)
    except InputError:
        return metadata
    for element in root.iter():
        name, text = _local(element.tag), " ".join((element.text or "").split())
        if not text:
            continue
        if name == "title":
            metadata.title = text
        elif name == "creator":
            metadata.authors = split_list(text)
        elif name == "created" and re.match(r"(1[89]|20)\d\d", text):
            metadata.year = int(text[:4])
    return metadata


def _fallback_walk(element: Any, blocks: list[Block], styles: dict[str, str], depth: int) -> None:
    for child in element:
        name = _local(child.tag)
        if name == "p":
            _fallback_paragraph(child, blocks, styles, depth)
        elif name == "tbl":
            if depth < 8:
                _fallback_table(child, blocks, styles, depth)
        elif name not in ("sectPr", "del", "moveFrom"):
            _fallback_walk(child, blocks, styles, depth)


def _fallback_paragraph(p: Any, blocks: list[Block], styles: dict[str, str], depth: int) -> None:
    parts: list[str] = []
    nested: list[Any] = []
    level = 0

    def collect(element: Any) -> None:
        nonlocal level
        for child in element:
            name = _local(child.tag)
            if name == "t":
                parts.append(child.text or "")
            elif name in ("tab", "ptab"):
                parts.append(" ")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name in ("txbxContent",):
                nested.append(child)
            elif name == "pStyle":
                level = level or _style_level(styles.get(_attr(child, "val") or "", _attr(child, "val") or ""))
            elif name == "outlineLvl" and not level:
                value = _attr(child, "val") or ""
                level = int(value) + 1 if value.isdigit() and int(value) < 6 else 0
            elif name in ("del", "moveFrom", "delText", "instrText", "footnoteReference", "commentReference"):
                continue
            else:
                collect(child)

    collect(p)
    text = "".join(parts)
    if text.strip():
        blocks.append(Block(text, level))
    for box in nested:
        _fallback_walk(box, blocks, styles, depth + 1)


def _fallback_table(table: Any, blocks: list[Block], styles: dict[str, str], depth: int) -> None:
    for row in (c for c in table if _local(c.tag) == "tr"):
        cells: list[list[Block]] = []
        for cell in (c for c in row if _local(c.tag) == "tc"):
            cell_blocks: list[Block] = []
            _fallback_walk(cell, cell_blocks, styles, depth + 1)
            cells.append(cell_blocks)
        texts = ["\n".join(b.text for b in cb) for cb in cells]
        if any(len(cb) > 1 or len(t) > 200 for cb, t in zip(cells, texts, strict=True)):
            for cb in cells:
                blocks.extend(cb)
        else:
            row_text = " | ".join(t for t in texts if t.strip())
            if row_text:
                blocks.append(Block(row_text))


# =========================================================================== dispatch

_PARSERS: dict[str, Callable[[Path, int], tuple[list[Block], Metadata]]] = {
    "txt": _parse_txt,
    "md": _parse_md,
    "html": _parse_html,
    "pdf": _parse_pdf,
    "docx": _parse_docx,
}

__all__ = [
    "MAX_BINARY_BYTES",
    "MAX_TEXT_BYTES",
    "SUPPORTED_SUFFIXES",
    "decode_text",
    "markdown_blocks",
    "md_inline",
    "parse_file",
]
