"""PDF text as a reader sees it: column order, scans through real Tesseract, broken text layers
replaced, furniture only from the margins, titles from page 1. Files are made here with
reportlab, pypdfium2 and Pillow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rppsearch.errors import InputError
from rppsearch.ingest import ocr
from rppsearch.ingest.formats import parse_file, pdf_layout, pdf_pages
from rppsearch.ingest.formats.pdf_pages import defects
from rppsearch.ingest.pipeline import read_document

pytest.importorskip("reportlab")
from reportlab.lib.pagesizes import letter  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

needs_tesseract = pytest.mark.skipif(not ocr.available(), reason="tesseract-ocr is not installed")

LEFT = [
    "District leaders began the year by visiting every principal.",
    "They asked which supports principals found most useful.",
    "The central office then reorganized its school support teams.",
    "Each team now serves a small group of schools directly.",
    "Principals report faster answers to their daily questions.",
    "The superintendent reviews this work with the board monthly.",
]
RIGHT = [
    "Instructional coaches meet with teachers every second week.",
    "Their observations feed a shared record of classroom practice.",
    "Data teams summarize the record for each school principal.",
    "Budget staff align spending with the goals of each school.",
    "Human resources staff recruit teachers for the hardest posts.",
    "Every department publishes its service standards online.",
]
SCAN_LINES = [
    "Central Office Transformation",
    "District leaders support principals as instructional leaders.",
    "The central office works as a partner to every school.",
    "Staff use evidence to improve their daily performance.",
    "Teams are organized around the needs of schools.",
]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _two_columns(path: Path, *, title: str = "Partnering With Schools", meta_title: str | None = None) -> None:
    """A title across the page, then two columns drawn line by line across both columns
    (left line 1, right line 1, left line 2, ...): content order is not reading order."""
    pdf = canvas.Canvas(str(path), pagesize=letter)
    if meta_title is not None:
        pdf.setTitle(meta_title)
    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawString(72, 700, title)
    pdf.setFont("Helvetica", 9)
    y = 660
    for left, right in zip(LEFT, RIGHT, strict=True):
        pdf.drawString(60, y, left)
        pdf.drawString(320, y, right)
        y -= 14
    pdf.showPage()
    pdf.save()


def test_two_columns_read_in_column_order(tmp_path: Path) -> None:
    path = tmp_path / "columns.pdf"
    _two_columns(path)
    text = " ".join(read_document(path).text.split())
    positions = [text.index(sentence) for sentence in LEFT + RIGHT]
    assert positions == sorted(positions), text  # all of the left column, then all of the right
    assert text.index("Partnering With Schools") < positions[0]


def test_margin_line_numbers_and_running_headers_are_furniture(tmp_path: Path) -> None:
    path = tmp_path / "numbered.pdf"
    pdf = canvas.Canvas(str(path), pagesize=letter)
    for page in range(3):
        pdf.setFont("Helvetica", 8)
        pdf.drawString(72, 760, "Board Agenda Packet")  # a running header in the top margin
        pdf.setFont("Helvetica", 10)
        y = 650
        for i, sentence in enumerate(LEFT):
            pdf.drawString(40, y, str(page * 10 + i + 1))  # margin line numbers
            pdf.drawString(80, y, sentence)
            y -= 14
        pdf.drawString(80, y - 10, "Board Agenda Packet")  # the same words in the body: kept
        pdf.showPage()
    pdf.save()
    text = read_document(path).text
    assert text.count("District leaders began the year") == 3
    assert text.count("Board Agenda Packet") == 3  # the three in the body, none of the headers
    assert not re.search(r"(?m)^\d+\b|\b1[0-9]\b|\b2[0-9]\b", text)


def _render_to_image_pdf(source: Path, target: Path, *, dpi: int = 200) -> None:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(source))
    image = document[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    document.close()
    image.save(target, resolution=dpi)


def _text_page(path: Path, lines: list[str]) -> None:
    pdf = canvas.Canvas(str(path), pagesize=(5 * 72, 3 * 72))
    pdf.setFont("Helvetica", 11)
    y = 3 * 72 - 40
    for line in lines:
        pdf.drawString(20, y, line)
        y -= 18
    pdf.showPage()
    pdf.save()


@pytest.fixture
def scanned_pdf(tmp_path: Path) -> Path:
    source, scan = tmp_path / "source.pdf", tmp_path / "scan.pdf"
    _text_page(source, SCAN_LINES)
    _render_to_image_pdf(source, scan)
    return scan


@needs_tesseract
def test_scanned_page_is_read_by_tesseract(scanned_pdf: Path) -> None:
    doc = read_document(scanned_pdf)
    expected, got = _words(" ".join(SCAN_LINES)), set(_words(doc.text))
    assert sum(w in got for w in expected) >= 0.9 * len(expected), doc.text
    assert doc.metadata.extra["ocr"] is True
    assert doc.metadata.extra["ocr_confidence"] > 60
    assert doc.metadata.extra["warnings"][0].startswith("1 of 1 pages OCR'd (mean confidence ")


def test_scanned_pdf_without_tesseract_names_the_fix(
    scanned_pdf: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rppsearch.cli.common import print_ingest
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store

    monkeypatch.setenv("PATH", str(scanned_pdf.parent))  # no tesseract on PATH
    assert not ocr.available()
    with pytest.raises(InputError) as info:
        parse_file(scanned_pdf)
    assert info.value.reason == "scanned PDF (no text layer); install tesseract-ocr to read it"
    with Store.open(scanned_pdf.parent / "rpp.db") as store:
        report = ingest_paths(store, [scanned_pdf])
        assert store.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0  # never an empty document
    print_ingest(report, quiet=False)
    err = capsys.readouterr().err
    assert f"Error: {scanned_pdf}: scanned PDF (no text layer); install tesseract-ocr to read it" in err
    assert "0 added" in err


@needs_tesseract
def test_ingest_prints_a_warning_line_for_an_ocr_document(
    scanned_pdf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rppsearch.cli.common import print_ingest
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store

    with Store.open(scanned_pdf.parent / "rpp.db") as store:
        report = ingest_paths(store, [scanned_pdf])
        stored = store.conn.execute("SELECT metadata FROM documents").fetchone()[0]
    print_ingest(report, quiet=False)
    assert re.search(rf"warning: {re.escape(str(scanned_pdf))}: 1 of 1 pages OCR'd \(mean confidence \d+\)",
                     capsys.readouterr().err)
    assert '"ocr": true' in stored and '"warnings": ["1 of 1 pages OCR' in stored


def _garbage_layer_over_scan(tmp_path: Path) -> Path:
    """A scan whose invisible OCR layer is garbage (as a poor scanner's OCR writes it)."""
    source, image_pdf = tmp_path / "source.pdf", tmp_path / "image.pdf"
    _text_page(source, SCAN_LINES)
    _render_to_image_pdf(source, image_pdf)
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(image_pdf))
    image = document[0].render(scale=1).to_pil()
    document.close()
    png = tmp_path / "page.png"
    image.save(png)
    path = tmp_path / "garbage-layer.pdf"
    pdf = canvas.Canvas(str(path), pagesize=(5 * 72, 3 * 72))
    pdf.drawImage(str(png), 0, 0, width=5 * 72, height=3 * 72)
    text = pdf.beginText(20, 3 * 72 - 40)
    text.setTextRenderMode(3)  # invisible, like an OCR layer
    text.setFont("Helvetica", 11)
    for line in ["Cntrl 0ffc3 Trnsfrmtn qz", "Dstrct ldrs spprt prncpls zx 1nstrctnl ldrs.",
                 "Th cntrl 0ffc wrks s prtnr t vry schl kq.", "Stff s vdnc t mprv thr dly prfrmnc wq.",
                 "Tms r rgnzd rnd th nds f schls.", "Xq zzkt vbnm plk trwq mnbv cxzl."]:
        text.textLine(line)
    pdf.drawText(text)
    pdf.showPage()
    pdf.save()
    return path


def test_garbage_text_layer_is_never_stored(tmp_path: Path) -> None:
    path = _garbage_layer_over_scan(tmp_path)
    if not ocr.available():
        with pytest.raises(InputError) as info:
            parse_file(path)
        assert info.value.reason == "unreadable text layer (garbage text layer)"
        return
    doc = read_document(path)
    assert "Dstrct" not in doc.text and "prncpls" not in doc.text
    assert "principals" in doc.text.lower()
    assert doc.metadata.extra["ocr"] is True


def test_defects_name_broken_text_and_pass_real_text() -> None:
    english = " ".join(LEFT + RIGHT)
    german = (  # one long compound on a page of prose is a word, not words run together
        "Die Schulverwaltung unterstützt die Schulleitungen bei ihrer täglichen Arbeit. Sie plant den Haushalt, "
        "stellt Lehrkräfte ein und berät die Schulen. Die Kinderbetreuungseinrichtungsverordnung regelt, "
        "wie die Betreuung am Nachmittag organisiert wird, und die Behörde prüft jedes Jahr, ob die Schulen "
        "genug Personal haben und ob die Räume den Anforderungen entsprechen."
    )
    assert defects(english) == [] and defects(german) == []
    assert defects("Explaintheimportanceofaskingquestionsinclass today") == ["run-together words"]
    assert "duplicated characters" in defects("TThhee ddiissttrriicctt lleeaaddeerrss " * 4)
    assert "private-use glyphs" in defects("\ue001\ue002\ue003 text \ue004\ue005")


def test_run_together_page_falls_back_to_pypdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "columns.pdf"
    _two_columns(path)
    real = pdf_layout.read_page

    def run_together(page):  # pdfium losing the spaces on this page, as some fonts make it do
        text, chunks = real(page)
        return text.replace(" ", ""), [(s, b, t.replace(" ", ""), y) for s, b, t, y in chunks]

    monkeypatch.setattr(pdf_layout, "read_page", run_together)
    text = read_document(path).text
    assert "District leaders began the year by visiting every principal." in " ".join(text.split())
    assert not [w for w in re.findall(r"[^\W\d_]+", text) if len(w) > 25]


@pytest.mark.parametrize(
    ("meta_title", "expected"),
    [
        ("10811.exe", "Partnering With Schools"),
        ("Microsoft Word - plan_v2.docx", "Partnering With Schools"),
        ("CHAPTER 1 – INTRODUCTION", "Partnering With Schools"),
        (None, "Partnering With Schools"),
        ("Principal Supervision in Practice", "Principal Supervision in Practice"),
    ],
)
def test_pdf_title_rules(tmp_path: Path, meta_title: str | None, expected: str) -> None:
    path = tmp_path / "report.pdf"
    _two_columns(path, meta_title=meta_title)
    assert read_document(path).metadata.title == expected


def test_section_heading_as_largest_text_is_no_title(tmp_path: Path) -> None:
    path = tmp_path / "chapter.pdf"
    _two_columns(path, title="1 Introduction", meta_title="")
    assert read_document(path).metadata.title != "1 Introduction"


def test_run_together_page_without_tesseract_is_kept_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PageObject

    path = tmp_path / "columns.pdf"
    _two_columns(path)
    real_layout, real_pypdf = pdf_layout.read_page, PageObject.extract_text

    def glued_layout(page):
        text, chunks = real_layout(page)
        return text.replace(" ", ""), [(s, b, t.replace(" ", ""), y) for s, b, t, y in chunks]

    monkeypatch.setattr(pdf_layout, "read_page", glued_layout)
    monkeypatch.setattr(PageObject, "extract_text", lambda self, *a, **k: real_pypdf(self, *a, **k).replace(" ", ""))
    real_pdfminer = pdf_pages._pdfminer_page
    monkeypatch.setattr(pdf_pages, "_pdfminer_page", lambda p, i: real_pdfminer(p, i).replace(" ", ""))
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract
    doc = read_document(path)
    assert "Districtleadersbegantheyearbyvisitingeveryprincipal" in doc.text
    assert doc.metadata.extra["warnings"] == ["page 1: run-together words (install tesseract-ocr to OCR the page)"]


@needs_tesseract
def test_ingest_json_lists_the_warning(scanned_pdf: Path) -> None:
    from rppsearch.cli.common import ingest_rows
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store

    with Store.open(scanned_pdf.parent / "rpp.db") as store:
        report = ingest_paths(store, [scanned_pdf])
    warnings = [row for row in ingest_rows(report) if row.get("status") == "warning"]
    assert len(warnings) == 1 and warnings[0]["path"] == str(scanned_pdf)
    assert warnings[0]["warning"].startswith("1 of 1 pages OCR'd")


@needs_tesseract
def test_a_page_tesseract_cannot_read_is_dropped_not_the_whole_pdf(
    scanned_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page 1 has a text layer, page 2 is a scan; OCR asked in a language with no pack fails
    on page 2 only: page 1's text is stored and the failure is a warning."""
    from pypdf import PdfReader, PdfWriter

    text_page, mixed = tmp_path / "text.pdf", tmp_path / "mixed.pdf"
    _text_page(text_page, ["Principal supervisors meet their principals every week."])
    writer = PdfWriter()
    writer.add_page(PdfReader(text_page).pages[0])
    writer.add_page(PdfReader(scanned_pdf).pages[0])
    with open(mixed, "wb") as handle:
        writer.write(handle)
    monkeypatch.setenv("RPP_OCR_LANG", "xyz")  # no such traineddata
    doc = read_document(mixed)
    assert "Principal supervisors meet their principals every week" in doc.text
    assert any("OCR failed" in w for w in doc.metadata.extra["warnings"]), doc.metadata.extra["warnings"]
