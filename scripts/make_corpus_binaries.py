#!/usr/bin/env python
"""Build the DOCX and PDF files of the sample corpus from markdown sources.

Each source in scripts/corpus_sources/*.md starts with a small front-matter
block::

    ---
    title: Document title
    author: Name One; Name Two
    format: docx        (or: pdf)
    ---

followed by a restricted markdown body: ``#``/``##``/``###`` headings,
paragraphs, ``- `` bullets, ``1. `` numbered items, pipe tables and inline
``**bold**`` / ``*italic*``.

DOCX files are written with python-docx (real Heading styles, List Bullet /
List Number styles, Table Grid tables, core properties title/author).
PDF files are written with reportlab platypus (title, headings, paragraphs,
a running header with the document title and a page-number footer on every
page).

Usage::

    .venv/bin/python scripts/make_corpus_binaries.py [--only b-13 ...]

python-docx is in the test extra (``pip install -e ".[test]"``, what scripts/setup-venv.sh
installs), not a runtime dependency: the product reads DOCX without it.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "corpus_sources"
OUT_DIR = ROOT / "corpus" / "docs"
# Fixed timestamp so that rebuilding gives stable metadata.
FIXED_DATE = _dt.datetime(2025, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

@dataclass
class Block:
    kind: str  # heading | para | bullets | numbers | table
    level: int = 0
    text: str = ""
    items: list = field(default_factory=list)  # list items or table rows


@dataclass
class Source:
    path: Path
    meta: dict
    blocks: list


def parse_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    meta: dict = {}
    m = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
    if not m:
        raise ValueError(f"{path.name}: missing front matter")
    for line in m.group(1).splitlines():
        if ":" in line:
            key, val = line.split(":", 1)
            meta[key.strip().lower()] = val.strip()
    for key in ("title", "author", "format"):
        if key not in meta:
            raise ValueError(f"{path.name}: front matter lacks {key!r}")
    if meta["format"] not in ("docx", "pdf"):
        raise ValueError(f"{path.name}: format must be docx or pdf")
    body = text[m.end():]
    return Source(path, meta, parse_blocks(body))


def parse_blocks(body: str) -> list:
    blocks: list = []
    para: list = []

    def flush_para():
        if para:
            blocks.append(Block("para", text=" ".join(s.strip() for s in para)))
            para.clear()

    for raw in body.splitlines():
        line = raw.rstrip()
        if not line.strip():
            flush_para()
            continue
        hm = re.match(r"^(#{1,3})\s+(.*)$", line)
        if hm:
            flush_para()
            blocks.append(Block("heading", level=len(hm.group(1)), text=hm.group(2).strip()))
            continue
        bm = re.match(r"^[-*]\s+(.*)$", line)
        if bm:
            flush_para()
            if not blocks or blocks[-1].kind != "bullets":
                blocks.append(Block("bullets"))
            blocks[-1].items.append(bm.group(1).strip())
            continue
        nm = re.match(r"^\d+\.\s+(.*)$", line)
        if nm:
            flush_para()
            if not blocks or blocks[-1].kind != "numbers":
                blocks.append(Block("numbers"))
            blocks[-1].items.append(nm.group(1).strip())
            continue
        if line.lstrip().startswith("|"):
            flush_para()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                continue  # separator row
            if not blocks or blocks[-1].kind != "table":
                blocks.append(Block("table"))
            blocks[-1].items.append(cells)
            continue
        para.append(line)
    flush_para()
    return blocks


INLINE = re.compile(r"(\*\*[^*]+\*\*|\*[^*]+\*)")


def inline_segments(text: str):
    """Yield (segment, bold, italic) for a line with **bold** / *italic*."""
    for part in INLINE.split(text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**"):
            yield part[2:-2], True, False
        elif part.startswith("*") and part.endswith("*") and len(part) > 1:
            yield part[1:-1], False, True
        else:
            yield part, False, False


# --------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------

def build_docx(src: Source, out: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)

    def add_runs(par, text):
        for seg, bold, italic in inline_segments(text):
            run = par.add_run(seg)
            run.bold = bold or None
            run.italic = italic or None

    for block in src.blocks:
        if block.kind == "heading":
            # Keep real Heading 1/2/3 styles; strip inline markup.
            plain = "".join(seg for seg, _, _ in inline_segments(block.text))
            doc.add_heading(plain, level=block.level)
        elif block.kind == "para":
            add_runs(doc.add_paragraph(), block.text)
        elif block.kind == "bullets":
            for item in block.items:
                add_runs(doc.add_paragraph(style="List Bullet"), item)
        elif block.kind == "numbers":
            for item in block.items:
                add_runs(doc.add_paragraph(style="List Number"), item)
        elif block.kind == "table":
            rows = block.items
            ncols = max(len(r) for r in rows)
            table = doc.add_table(rows=len(rows), cols=ncols)
            table.style = "Table Grid"
            for i, row in enumerate(rows):
                for j in range(ncols):
                    cell = table.cell(i, j)
                    cell.text = ""
                    par = cell.paragraphs[0]
                    text = row[j] if j < len(row) else ""
                    if i == 0:
                        par.add_run(text).bold = True
                    else:
                        add_runs(par, text)
            doc.add_paragraph()

    props = doc.core_properties
    props.title = src.meta["title"]
    props.author = src.meta["author"]
    props.last_modified_by = src.meta["author"]
    props.comments = "Written for the rppsearch sample corpus."
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    doc.save(str(out))


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

def _rl_inline(text: str) -> str:
    parts = []
    for seg, bold, italic in inline_segments(text):
        seg = escape(seg)
        if bold:
            seg = f"<b>{seg}</b>"
        if italic:
            seg = f"<i>{seg}</i>"
        parts.append(seg)
    return "".join(parts)


def build_pdf(src: Source, out: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import (ListFlowable, ListItem, Paragraph,
                                    SimpleDocTemplate, Spacer, Table,
                                    TableStyle)

    title = src.meta["title"]
    styles = getSampleStyleSheet()
    body = ParagraphStyle("Body", parent=styles["BodyText"], fontName="Times-Roman",
                          fontSize=11, leading=15, spaceAfter=7, alignment=TA_LEFT)
    title_style = ParagraphStyle("DocTitle", parent=styles["Title"], fontName="Helvetica-Bold",
                                 fontSize=18, leading=23, spaceAfter=14)
    h1 = ParagraphStyle("H1", parent=styles["Heading1"], fontName="Helvetica-Bold",
                        fontSize=15, leading=19, spaceBefore=12, spaceAfter=6)
    h2 = ParagraphStyle("H2", parent=styles["Heading2"], fontName="Helvetica-Bold",
                        fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=4)
    h3 = ParagraphStyle("H3", parent=styles["Heading3"], fontName="Helvetica-BoldOblique",
                        fontSize=11, leading=14, spaceBefore=8, spaceAfter=3)
    cell_style = ParagraphStyle("Cell", parent=body, fontSize=9.5, leading=12, spaceAfter=0)

    story = []
    title_done = False
    for block in src.blocks:
        if block.kind == "heading":
            if block.level == 1 and not title_done:
                story.append(Paragraph(_rl_inline(block.text), title_style))
                title_done = True
            else:
                style = {1: h1, 2: h2, 3: h3}[block.level]
                story.append(Paragraph(_rl_inline(block.text), style))
        elif block.kind == "para":
            story.append(Paragraph(_rl_inline(block.text), body))
        elif block.kind in ("bullets", "numbers"):
            items = [ListItem(Paragraph(_rl_inline(t), body), leftIndent=18)
                     for t in block.items]
            if block.kind == "bullets":
                story.append(ListFlowable(items, bulletType="bullet", start="\u2022",
                                          leftIndent=18, bulletFontSize=9))
            else:
                story.append(ListFlowable(items, bulletType="1", leftIndent=18))
            story.append(Spacer(1, 4))
        elif block.kind == "table":
            data = [[Paragraph(_rl_inline(c), cell_style) for c in row] for row in block.items]
            table = Table(data, repeatRows=1, hAlign="LEFT")
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))
            story.append(table)
            story.append(Spacer(1, 8))

    def furniture(canvas, doc_):
        canvas.saveState()
        width, height = letter
        # Running header: document title on every page.
        avail = width - doc_.leftMargin - doc_.rightMargin
        size = 8.5
        while size > 6 and stringWidth(title, "Helvetica", size) > avail:
            size -= 0.25
        canvas.setFont("Helvetica", size)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(doc_.leftMargin, height - 0.55 * inch, title)
        canvas.setStrokeColor(colors.HexColor("#999999"))
        canvas.setLineWidth(0.5)
        canvas.line(doc_.leftMargin, height - 0.6 * inch,
                    width - doc_.rightMargin, height - 0.6 * inch)
        # Footer: page number.
        canvas.drawCentredString(width / 2.0, 0.5 * inch, f"Page {doc_.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(out), pagesize=letter,
        leftMargin=1 * inch, rightMargin=1 * inch,
        topMargin=0.9 * inch, bottomMargin=0.85 * inch,
        title=title, author=src.meta["author"],
        subject="Written for the rppsearch sample corpus",
        creator="rppsearch make_corpus_binaries.py",
        invariant=1,
    )
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)


# --------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="build only sources whose name starts with these prefixes")
    ap.add_argument("--sources", type=Path, default=SOURCES)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    paths = sorted(args.sources.glob("*.md"))
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in args.only)]
    if not paths:
        print("no sources found", file=sys.stderr)
        return 1
    for path in paths:
        src = parse_source(path)
        fmt = src.meta["format"]
        out = args.out / f"{path.stem}.{fmt}"
        if fmt == "docx":
            build_docx(src, out)
        else:
            build_pdf(src, out)
        print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
