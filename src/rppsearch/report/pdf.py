"""A profile as a one-page PDF brief, with reportlab (pure Python, no browser needed).

The page holds the strength table, the gaps, and for each dimension its best evidence
sentences and practice-shift reading. If it does not fit on one page, sentences are cut to
fewer and shorter ones until it does. The text font is DejaVu Sans (shipped inside
matplotlib) so that quotes, dashes, arrows and check marks print; Helvetica is the fallback.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

from ..index.manifest import atomic_write
from .profile import Profile
from .render import SIDE_WORDS

__all__ = ["write_profile_pdf"]

_STRENGTH_COLOURS = {"none": "#fde8e8", "weak": "#fff4d6", "some": "#deebf7", "strong": "#9ecae1"}


def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415

    if "RppSans" in pdfmetrics.getRegisteredFontNames():
        return "RppSans", "RppSans-Bold"
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:
        ttf = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
        regular, bold = ttf / "DejaVuSans.ttf", ttf / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("RppSans", str(regular)))
            pdfmetrics.registerFont(TTFont("RppSans-Bold", str(bold)))
            return "RppSans", "RppSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _story(profile: Profile, *, sentences: int, chars: int, shifts: bool) -> list[Any]:
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415
    from reportlab.lib.units import cm  # noqa: PLC0415
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle  # noqa: PLC0415
    from xml.sax.saxutils import escape  # noqa: PLC0415

    regular, bold = _fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=8.2, leading=10)
    small = ParagraphStyle("small", parent=base, fontSize=7.2, leading=8.8, textColor=colors.HexColor("#444444"))
    title = ParagraphStyle("title", parent=base, fontName=bold, fontSize=15, leading=18)
    head = ParagraphStyle("head", parent=base, fontName=bold, fontSize=9.5, leading=12, spaceBefore=5)
    quote = ParagraphStyle("quote", parent=base, leftIndent=10, fontSize=7.8, leading=9.6)
    first, last = profile.years
    span = "" if first is None else (f", {first}" if first == last else f", {first}–{last}")
    n = len(profile.documents)
    story: list[Any] = [
        Paragraph(escape(profile.name), title),
        Paragraph(
            f"{profile.kind.capitalize()} profile against the {escape(profile.codebook)} codebook: "
            f"{n} document{'s' * (n != 1)}{span}. Evidence = passages tagged by the classifier or by a person "
            "(a person's decision overrides the model's).",
            small,
        ),
        Spacer(1, 4),
    ]
    rows = [["Dimension", "Evidence", "Docs", "Passages", "Confirmed", "Years"]]
    for d in profile.dimensions:
        years = "" if d.first_year is None else (str(d.first_year) if d.first_year == d.last_year else f"{d.first_year}–{d.last_year}")
        rows.append([Paragraph(escape(d.name), base), d.strength, d.documents, d.passages, d.confirmed, years])
    table = Table(rows, colWidths=[7.4 * cm, 1.7 * cm, 1.2 * cm, 1.6 * cm, 1.8 * cm, 2.2 * cm])
    style = [
        ("FONTNAME", (0, 0), (-1, 0), bold),
        ("FONTNAME", (0, 1), (-1, -1), regular),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("ALIGN", (2, 0), (4, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    for i, d in enumerate(profile.dimensions, start=1):
        style.append(("BACKGROUND", (1, i), (1, i), colors.HexColor(_STRENGTH_COLOURS[d.strength])))
    table.setStyle(TableStyle(style))
    table.hAlign = "LEFT"
    story += [table, Paragraph("Gaps", head)]
    for gap in profile.gaps or ["None found: every dimension has evidence, and none stops before the newest documents."]:
        story.append(Paragraph("• " + escape(gap), base))
    for d in profile.dimensions:
        story.append(Paragraph(f"{escape(d.name)} — {d.strength}", head))
        if not d.sentences:
            story.append(Paragraph("No evidence in these documents.", small))
        for s in d.sentences[:sentences]:
            who = "✓ confirmed by a person" if s["confirmed"] else f"model tag {s['score']:.2f}"
            story.append(
                Paragraph(
                    f"“{escape(_cut(s['text'], chars))}” <font color='#555555'>— {escape(s['title'])} "
                    f"({s['year'] or 'n.d.'}), {who}</font>",
                    quote,
                )
            )
        if shifts:
            for sh in d.shifts:
                c = sh["counts"]
                story.append(
                    Paragraph(
                        f"Shift: <i>{escape(_cut(sh['before'], 90))}</i> → <i>{escape(_cut(sh['after'], 90))}</i> "
                        f"<b>{sh['verdict']}</b>: {SIDE_WORDS[sh['verdict']]} ({c['after']} after, {c['before']} before, "
                        f"{c['mixed']} mixed, {c['unplaced']} not placed).",
                        small,
                    )
                )
    story.append(Spacer(1, 4))
    story.append(
        Paragraph(
            "Shift sides are placed by cue phrases listed in the codebook (keyword matching, not reading): "
            "a pointer to read the sentences, not a measurement. Made with rppsearch.",
            small,
        )
    )
    return story


def _render(profile: Profile, **kwargs: Any) -> tuple[bytes, int]:
    from reportlab.lib.pagesizes import letter  # noqa: PLC0415
    from reportlab.lib.units import cm  # noqa: PLC0415
    from reportlab.platypus import SimpleDocTemplate  # noqa: PLC0415

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=letter, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.3 * cm, bottomMargin=1.2 * cm,
        title=f"{profile.name}: profile", author="rppsearch",
    )
    pages = []
    doc.build(_story(profile, **kwargs), onLaterPages=lambda c, d: pages.append(d.page), onFirstPage=lambda c, d: pages.append(d.page))
    return buffer.getvalue(), len(pages)


def write_profile_pdf(profile: Profile, path: Path | str) -> Path:
    """Write the brief to `path` (write-then-rename); one page whenever cutting text allows."""
    path = Path(path)
    attempts = [
        {"sentences": 3, "chars": 260, "shifts": True},
        {"sentences": 2, "chars": 220, "shifts": True},
        {"sentences": 2, "chars": 160, "shifts": True},
        {"sentences": 1, "chars": 160, "shifts": True},
        {"sentences": 1, "chars": 120, "shifts": False},
    ]
    data = b""
    for options in attempts:
        data, pages = _render(profile, **options)
        if pages <= 1:
            break
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return path
