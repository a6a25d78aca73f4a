"""DOCX text that hides outside plain body paragraphs, written the way Word writes it.

Each document is made with python-docx and the WordprocessingML Word itself emits is added
with lxml (python-docx has no API for text boxes, content controls or notes): a text box
Word stores twice (DrawingML choice + VML fallback), a VML-only text box, block and inline
content controls, a content control around a table cell, nested tables, merged and missing
cells, footnotes and endnotes, headers and footers, tracked deletions and field codes.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from rppsearch.errors import InputError
from rppsearch.ingest.formats import parse_file

docx = pytest.importorskip("docx")
from docx.oxml import parse_xml  # noqa: E402

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (
    f'xmlns:w="{W}" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t xml:space='preserve'>{text}</w:t></w:r></w:p>"


def _text_box_run(text: str) -> str:
    """A floating text box as Word 2010+ saves it: DrawingML in mc:Choice, VML in mc:Fallback."""
    content = f"<w:txbxContent>{_p(text)}</w:txbxContent>"
    return (
        "<w:r><mc:AlternateContent>"
        '<mc:Choice Requires="wps"><w:drawing><wp:anchor><wp:docPr id="1" name="Text Box 1"/>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f"<wps:wsp><wps:txbx>{content}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>"
        "</mc:Choice>"
        f'<mc:Fallback><w:pict><v:shape id="Text Box 1"><v:textbox>{content}</v:textbox></v:shape></w:pict>'
        "</mc:Fallback></mc:AlternateContent></w:r>"
    )


def _body_xml(xml: str):
    return parse_xml(f"<w:body {NS}>{xml}</w:body>")


def _append(document, xml: str) -> None:
    """Insert raw WordprocessingML at the end of the body (before the section properties)."""
    body = document.element.body
    for element in list(_body_xml(xml)):
        body.insert(len(body) - 1, element)


def _texts(path: Path) -> list[str]:
    return [b.text for b in parse_file(path).blocks]


def _saved_texts(document, path: Path) -> list[str]:  # noqa: ANN001
    """The blocks' texts of `document` saved to `path` and parsed back."""
    document.save(path)
    return _texts(path)


def test_text_boxes_are_read_once_after_their_anchor_paragraph(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Kindergarten arrival procedure.")
    _append(
        document,
        f"<w:p><w:r><w:t>Steps for staff:</w:t></w:r>{_text_box_run('Greet each child at the door.')}"
        f"{_text_box_run('Walk the class to the room.')}</w:p>"
        # a VML-only text box (older Word, or a shape saved without DrawingML)
        f"<w:p><w:r><w:pict><v:shape><v:textbox><w:txbxContent>{_p('Record attendance by nine.')}"
        "</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>",
    )
    document.add_paragraph("Dismissal follows the same steps in reverse.")
    assert _saved_texts(document, tmp_path / "procedure.docx") == [
        "Kindergarten arrival procedure.",
        "Steps for staff:",
        "Greet each child at the door.",
        "Walk the class to the room.",
        "Record attendance by nine.",
        "Dismissal follows the same steps in reverse.",
    ]


def test_content_controls_block_inline_and_around_table_cells(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Specification of the data system.")
    sdt_pr = "<w:sdtPr><w:alias w:val='Requirement'/><w:tag w:val='req'/></w:sdtPr>"
    _append(
        document,
        # a table inside a block content control, one of its cells inside another control
        f"<w:sdt>{sdt_pr}<w:sdtContent><w:tbl><w:tr>"
        "<w:tc><w:p><w:r><w:t>Requirement</w:t></w:r></w:p></w:tc>"
        "<w:tc><w:p><w:r><w:t>Priority</w:t></w:r></w:p></w:tc></w:tr>"
        f"<w:tr><w:tc>{_p('Single sign-on for principals')}</w:tc>"
        f"<w:sdt>{sdt_pr}<w:sdtContent><w:tc>{_p('High')}</w:tc></w:sdtContent></w:sdt></w:tr>"
        "</w:tbl></w:sdtContent></w:sdt>"
        # an inline control inside a sentence
        f"<w:p><w:r><w:t xml:space='preserve'>Owner: </w:t></w:r><w:sdt>{sdt_pr}<w:sdtContent>"
        "<w:r><w:t>Office of Data Systems</w:t></w:r></w:sdtContent></w:sdt>"
        "<w:r><w:t>.</w:t></w:r></w:p>",
    )
    assert _saved_texts(document, tmp_path / "spec.docx") == [
        "Specification of the data system.",
        "Requirement | Priority",
        "Single sign-on for principals | High",
        "Owner: Office of Data Systems.",
    ]


def test_nested_tables_and_rows_with_merged_or_missing_cells(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Staffing by school.")
    inner = f"<w:tbl><w:tr><w:tc>{_p('Coach')}</w:tc><w:tc>{_p('2')}</w:tc></w:tr></w:tbl>"
    _append(
        document,
        "<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>"
        f"<w:tr><w:tc><w:tcPr><w:gridSpan w:val='2'/></w:tcPr>{_p('School')}</w:tc><w:tc>{_p('Staff')}</w:tc></w:tr>"
        f"<w:tr><w:tc><w:tcPr><w:vMerge w:val='restart'/></w:tcPr>{_p('Lincoln')}</w:tc>"
        f"<w:tc>{_p('North')}</w:tc><w:tc>{_p('12')}</w:tc></w:tr>"
        f"<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc>{_p('South')}</w:tc></w:tr>"  # a cell missing
        f"<w:tr><w:tc>{_p('Roles')}</w:tc><w:tc>{inner}<w:p/></w:tc></w:tr>"
        "</w:tbl>",
    )
    assert _saved_texts(document, tmp_path / "staffing.docx") == [
        "Staffing by school.",
        "School | Staff",
        "Lincoln | North | 12",
        "South",
        "Roles",
        "Coach | 2",
    ]


def _add_notes(path: Path, footnotes: list[str], endnotes: list[str]) -> None:
    """Add footnotes and endnotes parts, related and typed as Word does, to a saved package."""
    def part(kind: str, notes: list[str]) -> str:
        tag = kind[:-1]
        separators = (f"<w:{tag} w:type='separator' w:id='-1'><w:p><w:r><w:separator/></w:r></w:p></w:{tag}>"
                      f"<w:{tag} w:type='continuationSeparator' w:id='0'><w:p><w:r><w:continuationSeparator/>"
                      f"</w:r></w:p></w:{tag}>")
        body = "".join(
            f"<w:{tag} w:id='{i}'><w:p><w:r><w:{tag}Ref/></w:r><w:r><w:t xml:space='preserve'> {text}</w:t></w:r>"
            f"</w:p></w:{tag}>"
            for i, text in enumerate(notes, 1)
        )
        return f"<?xml version='1.0' encoding='UTF-8' standalone='yes'?><w:{kind} {NS}>{separators}{body}</w:{kind}>"

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    rels = members["word/_rels/document.xml.rels"].decode()
    types = members["[Content_Types].xml"].decode()
    for kind, notes in (("footnotes", footnotes), ("endnotes", endnotes)):
        members[f"word/{kind}.xml"] = part(kind, notes).encode()
        rels = rels.replace("</Relationships>", (
            f'<Relationship Id="rIdNotes{kind}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/{kind}" Target="{kind}.xml"/></Relationships>'))
        types = types.replace("</Types>", (
            f'<Override PartName="/word/{kind}.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'wordprocessingml.{kind}+xml"/></Types>'))
    members["word/_rels/document.xml.rels"] = rels.encode()
    members["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_footnotes_and_endnotes_are_kept_at_the_end_in_reference_order(tmp_path: Path) -> None:
    document = docx.Document()
    _append(
        document,
        "<w:p><w:r><w:t>Supervisors meet principals weekly.</w:t></w:r>"
        "<w:r><w:footnoteReference w:id='2'/></w:r><w:r><w:t xml:space='preserve'> Coaching follows.</w:t></w:r>"
        "<w:r><w:footnoteReference w:id='1'/></w:r></w:p>"
        "<w:p><w:r><w:t>Results improved.</w:t></w:r><w:r><w:endnoteReference w:id='1'/></w:r></w:p>",
    )
    path = tmp_path / "notes.docx"
    document.save(path)
    _add_notes(path, ["Coaching cycles last six weeks.", "Honig 2013, p. 4."], ["Data from the 2019 survey."])
    assert _texts(path) == [
        "Supervisors meet principals weekly. Coaching follows.",
        "Results improved.",
        "[1] Honig 2013, p. 4.",
        "[2] Coaching cycles last six weeks.",
        "[1] Data from the 2019 survey.",
    ]


def test_headers_footers_deletions_and_field_codes_are_not_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "DRAFT - do not cite"
    document.sections[0].footer.paragraphs[0].text = "Page footer"
    _append(
        document,
        "<w:p><w:r><w:t xml:space='preserve'>The board approved </w:t></w:r>"
        "<w:del w:id='1' w:author='x'><w:r><w:delText>rejected </w:delText></w:r></w:del>"
        "<w:ins w:id='2' w:author='x'><w:r><w:t xml:space='preserve'>the new </w:t></w:r></w:ins>"
        "<w:r><w:t xml:space='preserve'>plan on </w:t></w:r>"
        "<w:r><w:fldChar w:fldCharType='begin'/></w:r><w:r><w:instrText>DATE \\@ \"MMMM d\"</w:instrText></w:r>"
        "<w:r><w:fldChar w:fldCharType='separate'/></w:r><w:r><w:t>March 3</w:t></w:r>"
        "<w:r><w:fldChar w:fldCharType='end'/></w:r><w:r><w:t>.</w:t></w:r></w:p>",
    )
    assert _saved_texts(document, tmp_path / "minutes.docx") == ["The board approved the new plan on March 3."]


@pytest.mark.parametrize(
    ("core_title", "title_paragraph", "expected"),
    [
        ("Principal Supervision Handbook", None, "Principal Supervision Handbook"),
        ("Microsoft Word - handbook_v3.docx", "District Handbook 2024", "District Handbook 2024"),
        ("Document1", None, None),
        ("CHAPTER 1 – INTRODUCTION", None, None),
    ],
)
def test_docx_title_from_title_style_or_core_properties(tmp_path, core_title, title_paragraph, expected) -> None:
    document = docx.Document()
    document.core_properties.title = core_title
    if title_paragraph:
        document.add_paragraph(title_paragraph, style="Title")
    document.add_heading("1 Introduction", 1)
    document.add_paragraph("Principal supervisors support instructional leadership in every school.")
    path = tmp_path / "handbook.docx"
    document.save(path)
    assert parse_file(path).metadata.title == expected


def test_docx_recall_against_its_own_text_runs(tmp_path: Path) -> None:
    """Every word of every w:t run of the main part is in the parsed text."""
    document = docx.Document()
    document.add_paragraph("Opening paragraph of the procedure.")
    _append(document, f"<w:p>{_text_box_run('Boxed reminder for teachers.')}</w:p>"
                      f"<w:sdt><w:sdtContent>{_p('Controlled paragraph text.')}</w:sdtContent></w:sdt>")
    path = tmp_path / "recall.docx"
    document.save(path)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("word/document.xml").decode()
    expected = set(re.findall(r"\w+", " ".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml))))
    parsed = set(re.findall(r"\w+", " ".join(_texts(path))))
    assert expected and expected <= parsed


def test_docx_with_nothing_but_an_empty_body_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    docx.Document().save(path)
    with pytest.raises(InputError, match="no text found in DOCX"):
        parse_file(path)


def test_outline_levels_make_headings_from_a_paragraph_or_its_style(tmp_path: Path) -> None:
    """Headings set by outline level (Word's Navigation pane), directly on a paragraph or in a
    custom style, not by a "Heading N" style name."""
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    custom = document.styles.add_style("Chapter Head", WD_STYLE_TYPE.PARAGRAPH)
    custom.element.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl xmlns:w="{W}" w:val="0"/>'))
    document.add_paragraph("Staffing the central office", style="Chapter Head")
    document.add_paragraph("Principal supervisors each work with about a dozen principals.")
    _append(document, "<w:p><w:pPr><w:outlineLvl w:val='1'/></w:pPr><w:r><w:t>Hiring</w:t></w:r></w:p>")
    document.add_paragraph("Districts hire supervisors from among their strongest principals.")
    _append(document, "<w:p><w:pPr><w:outlineLvl w:val='9'/></w:pPr><w:r><w:t>Body text level</w:t></w:r></w:p>")
    path = tmp_path / "outline.docx"
    document.save(path)
    levels = {b.text: b.heading_level for b in parse_file(path).blocks}
    assert levels["Staffing the central office"] == 1
    assert levels["Hiring"] == 2
    assert levels["Body text level"] == 0  # outline level 9 is Word's "body text"
    assert levels["Principal supervisors each work with about a dozen principals."] == 0
