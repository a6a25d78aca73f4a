"""HTML: main text through trafilatura (no comments, with tables, precision first), its XML
output turned into blocks; page metadata from trafilatura. Nothing is fetched or executed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Block, Metadata
from .common import read_limited, short_reason
from .titles import pick_title
from .text import bom_encoding, decode_text, looks_binary, utf16_without_bom

#: An HTML page with more elements is refused (trafilatura takes ~30 µs an element).
MAX_HTML_ELEMENTS = 250_000
#: Fewer words of main text than this and an HTML page has "no main text".
MIN_HTML_WORDS = 5



def parse_html(path: Path, limit: int) -> tuple[list[Block], Metadata]:
    import trafilatura
    from lxml import etree
    from trafilatura.utils import load_html

    data = read_limited(path, limit)
    content: bytes | str = data
    bom = bom_encoding(data)
    if bom and bom[0] != "utf-8":
        content = decode_text(data, path)
    elif b"\x00" in data[:65536] or looks_binary(data[:65536].decode("latin-1")):
        encoding = utf16_without_bom(data)
        if encoding is None:
            raise InputError(path, "binary data, not text")
        content = decode_text(data, path)
    try:
        tree = load_html(content)
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise InputError(path, f"cannot parse HTML ({short_reason(exc)})") from None
    if tree is None:
        raise InputError(path, "cannot parse HTML (not an HTML document)")
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_HTML_ELEMENTS:
        raise InputError(path, f"HTML too complex ({elements:,} elements, limit {MAX_HTML_ELEMENTS:,})")
    og_title, headings, title_tag = _title_candidates(tree)
    _keep_text_after_empty_elements(tree)
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
        raise InputError(path, f"cannot extract text from HTML ({short_reason(exc)})") from None
    body = getattr(document, "body", None)
    blocks = html_xml_blocks(body) if body is not None else []
    words = sum(len(b.text.split()) for b in blocks if b.heading_level == 0)
    if words < MIN_HTML_WORDS:  # a lone menu label is not an article
        raise InputError(path, "no main text found in HTML")
    metadata = _html_metadata(document)
    metadata.title = pick_title(og_title, metadata.title, *headings, title_tag)
    return blocks, metadata


#: Elements trafilatura prunes when empty (its settings.CUT_EMPTY_ELEMS; this copy if that moves).
_PRUNED_WHEN_EMPTY = frozenset(
    "article b blockquote dd div dt em h1 h2 h3 h4 h5 h6 i li main p pre q section span strong".split()
)


#: Of those, the ones that render inline: removing one joins the text around it as it was shown.
_INLINE_WHEN_EMPTY = frozenset("b em i q span strong".split())


def _keep_text_after_empty_elements(tree: Any) -> None:
    """Remove empty elements that have text after them, handing that text to what precedes them.

    trafilatura's precision mode deletes an empty element together with the text that follows
    it (its tail): a paragraph opening with an empty anchor, such as the `<span id="more-N">`
    WordPress puts at a post's "read more" break, lost its first sentence. An empty element
    shows nothing, so removing it first changes nothing a reader sees and keeps that text.
    """
    try:
        from trafilatura.settings import CUT_EMPTY_ELEMS as pruned  # noqa: PLC0415
    except ImportError:
        pruned = _PRUNED_WHEN_EMPTY
    empty = [e for e in tree.iter(*pruned) if e.text is None and len(e) == 0 and (e.tail or "").strip()]
    for element in empty:
        parent = element.getparent()
        if parent is None:
            continue
        # an empty block (a spacer <div>, <p>) still breaks the line: keep the words apart
        tail = element.tail if element.tag in _INLINE_WHEN_EMPTY else "\n" + element.tail
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + tail
        else:
            previous.tail = (previous.tail or "") + tail
        parent.remove(element)


def _title_candidates(tree: Any) -> tuple[str | None, list[str], str | None]:
    """The page's og:title, its first h1 headings and its <title>, read before extraction."""
    og = tree.xpath('//meta[@property="og:title" or @name="og:title" or @name="twitter:title"]/@content')
    headings = [" ".join(h.text_content().split()) for h in tree.xpath("//h1")[:3]]
    title = tree.xpath("//title")
    return (
        str(og[0]) if og else None,
        [h for h in headings if h],
        " ".join(title[0].text_content().split()) if title else None,
    )


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


def _structured(cell: Any) -> bool:
    """A cell laid out like a page (headings, lists, tables, several paragraphs), not a value."""
    children = [c.tag for c in cell if c.tag in _HTML_BLOCK_TAGS]
    return len(children) > 1 or any(tag in ("head", "list", "table", "quote") for tag in children)


def _walk_table(table: Any, blocks: list[Block]) -> None:
    """A data row becomes one "a | b | c" block. A row with a cell laid out like a page (a
    layout table holding the article) is read cell by cell as blocks: flattening it would run
    its heading and paragraphs together ("rocketby Jeff Foust ... launch.The SLS ...")."""
    rows = [r for r in table.iter("row") if next(r.iterancestors("table"), None) is table]
    for row in rows:
        cells = [c for c in row if c.tag == "cell"]
        if any(_structured(c) for c in cells):
            for cell in cells:
                _walk_xml(cell, blocks)
            continue
        text = " | ".join(t for t in (" ".join(_inline(c).split()) for c in cells) if t)
        if text:
            blocks.append(Block(text))


def _walk_xml(element: Any, blocks: list[Block]) -> None:
    tag = element.tag
    if tag == "head":
        match = re.search(r"\d", element.get("rend") or "")
        level = min(int(match.group(0)), 6) if match else 2
        blocks.append(Block(" ".join(_inline(element).split()), max(level, 1)))
        return
    if tag == "table":
        _walk_table(element, blocks)
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
