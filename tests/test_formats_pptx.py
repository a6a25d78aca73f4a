"""PPTX decks made with python-pptx: slide titles, text frames, groups, tables, notes, titles."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from rppsearch.errors import InputError
from rppsearch.ingest.formats import SUPPORTED_SUFFIXES, parse_file
from rppsearch.ingest.pipeline import read_document

pptx = pytest.importorskip("pptx")
from pptx.util import Inches  # noqa: E402

TITLE_ONLY, TITLE_AND_CONTENT, BLANK = 0, 1, 6


def _deck(path: Path) -> None:
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    first.shapes.title.text = "Honig's Rubrics for Central Office Transformation"
    first.placeholders[1].text = "A presentation for district leaders"

    second = deck.slides.add_slide(deck.slide_layouts[TITLE_AND_CONTENT])
    second.shapes.title.text = "Learning-focused partnerships"
    body = second.placeholders[1].text_frame
    body.text = "Executive leaders meet principals weekly."
    body.add_paragraph().text = "Coaching cycles last six weeks."
    second.notes_slide.notes_text_frame.text = "Say that the partnerships took three years to build."

    third = deck.slides.add_slide(deck.slide_layouts[BLANK])
    # a grouped shape placed below a table: reading order puts the table first
    group = third.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1))
    box.text_frame.text = "Source: district survey, 2019."
    inner = group.shapes.add_textbox(Inches(5), Inches(5), Inches(4), Inches(1))
    inner.text_frame.text = "Rubric scores rose in every district."
    table = third.shapes.add_table(2, 3, Inches(1), Inches(1), Inches(8), Inches(2)).table
    for r, row in enumerate([("District", "Dimension", "Score"), ("Highline", "Partnerships", "3")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(str(path))


def test_pptx_is_supported_and_read_slide_by_slide(tmp_path: Path) -> None:
    assert ".pptx" in SUPPORTED_SUFFIXES
    path = tmp_path / "rubrics.pptx"
    _deck(path)
    doc = parse_file(path)
    assert doc.format == "pptx"
    assert [(b.text, b.heading_level) for b in doc.blocks] == [
        ("Honig's Rubrics for Central Office Transformation", 1),
        ("A presentation for district leaders", 0),
        ("Learning-focused partnerships", 2),
        ("Executive leaders meet principals weekly.", 0),
        ("Coaching cycles last six weeks.", 0),
        ("Say that the partnerships took three years to build.", 0),
        ("District | Dimension | Score", 0),
        ("Highline | Partnerships | 3", 0),
        ("Source: district survey, 2019.", 0),
        ("Rubric scores rose in every district.", 0),
    ]
    assert doc.metadata.title == "Honig's Rubrics for Central Office Transformation"
    assert doc.metadata.extra["slides"] == 3


def test_pptx_is_ingested_with_its_title(tmp_path: Path) -> None:
    path = tmp_path / "rubrics.pptx"
    _deck(path)
    stored = read_document(path)
    assert stored.metadata.title == "Honig's Rubrics for Central Office Transformation"
    assert any(p.heading.endswith("> Learning-focused partnerships") for p in stored.passages)


def test_pptx_without_a_usable_first_title_falls_back_to_core_properties(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    deck.core_properties.title = "Principal Supervisor Academy"
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_AND_CONTENT])
    slide.shapes.title.text = "1 Introduction"  # a section heading is no title
    slide.placeholders[1].text_frame.text = "Supervisors coach principals on instruction."
    path = tmp_path / "academy.pptx"
    deck.save(str(path))
    assert parse_file(path).metadata.title == "Principal Supervisor Academy"


def test_pptx_errors_name_the_problem(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pptx"
    pptx.Presentation().save(str(empty))
    with pytest.raises(InputError, match="no text found in PPTX"):
        parse_file(empty)
    broken = tmp_path / "broken.pptx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
    with pytest.raises(InputError, match="not a valid PPTX"):
        parse_file(broken)
    not_zip = tmp_path / "text.pptx"
    not_zip.write_text("just text", encoding="utf-8")
    with pytest.raises(InputError, match="not a valid PPTX: not a zip archive"):
        parse_file(not_zip)


def test_a_deck_saved_under_a_text_name_is_read_as_pptx(tmp_path: Path) -> None:
    path = tmp_path / "rubrics.pptx"
    _deck(path)
    mislabelled = tmp_path / "download.txt"
    mislabelled.write_bytes(path.read_bytes())
    doc = parse_file(mislabelled)
    assert doc.format == "pptx" and doc.metadata.title == "Honig's Rubrics for Central Office Transformation"
