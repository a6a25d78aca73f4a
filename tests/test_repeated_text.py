"""Body text that repeats is kept every time it occurs, whatever the format.

A handbook repeats its "Related Provisions" line and a numbered list of duties under every
section; a cleaning step that treats repetition as boilerplate deletes all of them. Each test
writes one such document with the format's real tool and reads it exactly as `rpp ingest`
stores it (`read_document`: parse, clean, split).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rppsearch.ingest.pipeline import read_document

SECTIONS = ["Principal Supervisors", "Instructional Leadership Directors", "Operations Staff", "Human Resources"]
DUTIES = [
    "Maintain records of attendance.",
    "Meet with each principal every week.",
    "Report to the superintendent each term.",
]
RELATED = "Related Provisions"
INTRO = "This handbook sets out the duties of each central office role and the rules that apply to them."


def _count(text: str, phrase: str) -> int:
    return " ".join(text.split()).count(phrase)


def _check(path: Path) -> None:
    doc = read_document(path)
    for duty in DUTIES:
        assert _count(doc.text, duty) == len(SECTIONS), (duty, doc.text)
    assert _count(doc.text, RELATED) == len(SECTIONS)
    for section in SECTIONS:
        assert section in doc.text


def test_txt_keeps_repeated_duties(tmp_path: Path) -> None:
    parts = ["Staff Handbook", INTRO]
    for section in SECTIONS:
        parts += [section, "\n".join(f"{i}. {d}" for i, d in enumerate(DUTIES, 1)), RELATED]
    path = tmp_path / "handbook.txt"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    _check(path)


def test_markdown_keeps_repeated_duties(tmp_path: Path) -> None:
    parts = ["# Staff Handbook", INTRO]
    for section in SECTIONS:
        parts += [f"## {section}", "\n".join(f"{i}. {d}" for i, d in enumerate(DUTIES, 1)), f"*{RELATED}*"]
    path = tmp_path / "handbook.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    _check(path)


def test_html_keeps_repeated_duties(tmp_path: Path) -> None:
    body = [f"<h1>Staff Handbook</h1><p>{INTRO}</p>"]
    for section in SECTIONS:
        items = "".join(f"<li>{d}</li>" for d in DUTIES)
        body.append(f"<h2>{section}</h2><p>Each member of staff in this role has these duties.</p>"
                    f"<ol>{items}</ol><p><b>{RELATED}</b></p>")
    html = ("<html><head><title>Staff Handbook</title></head><body><article>"
            + "".join(body) + "</article></body></html>")
    path = tmp_path / "handbook.html"
    path.write_text(html, encoding="utf-8")
    _check(path)


def test_docx_keeps_repeated_duties(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Staff Handbook", 0)
    document.add_paragraph(INTRO)
    for section in SECTIONS:
        document.add_heading(section, 1)
        for duty in DUTIES:
            document.add_paragraph(duty, style="List Number")
        document.add_paragraph(RELATED)
    path = tmp_path / "handbook.docx"
    document.save(path)
    _check(path)


def test_pdf_keeps_repeated_duties_in_the_page_body(tmp_path: Path) -> None:
    pytest.importorskip("reportlab")
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    path = tmp_path / "handbook.pdf"
    pdf = canvas.Canvas(str(path), pagesize=letter)
    for number, section in enumerate(SECTIONS, 1):
        y = 720
        pdf.setFont("Helvetica", 10)
        pdf.drawString(72, 760, "Staff Handbook")  # a running header: furniture
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, y, section)
        pdf.setFont("Helvetica", 11)
        y -= 30
        for line in (INTRO, "Each member of staff in this role has the following duties this year:"):
            pdf.drawString(72, y, line)
            y -= 24
        for i, duty in enumerate(DUTIES, 1):
            pdf.drawString(90, y, f"{i}. {duty}")
            y -= 18
        y -= 10
        pdf.drawString(72, y, RELATED)
        y -= 24
        pdf.drawString(72, y, "The rules above apply to every member of staff in the role named at the top.")
        pdf.setFont("Helvetica", 9)
        pdf.drawString(300, 40, str(number))  # a page number: furniture
        pdf.showPage()
    pdf.save()
    _check(path)
    doc = read_document(path)
    assert _count(doc.text, "Staff Handbook") == 0  # the running header went
