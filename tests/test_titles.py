"""Titles a reader would accept, for every format: no file names, section headings or navigation."""

from __future__ import annotations

from pathlib import Path

import pytest

from rppsearch.ingest.formats import parse_file
from rppsearch.ingest.formats.titles import pick_title, title_problem
from rppsearch.ingest.pipeline import read_document

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        ("10811.exe", "file name"),
        ("Microsoft Word - Final Report.docx", "file name"),
        ("cot_report_v2", "file name"),
        ("Document1", "file name"),
        ("PowerPoint Presentation", "file name"),
        ("CHAPTER 1 – INTRODUCTION", "section heading"),
        ("Chapter 3: Assistance to ILDs", "section heading"),
        ("1 Introduction", "section heading"),
        ("2.1 Methods and Data", "section heading"),
        ("Executive Summary", "section heading"),
        ("Table of Contents", "section heading"),
        ("Skip to main content", "navigation text"),
        ("Skip to content", "navigation text"),
        ("Back to Overview", "navigation text"),
        ("Points of Interest", "navigation text"),
        ("Share this:", "navigation text"),
        ("", "empty"),
        ("2019", "empty"),
        ("Central Office Transformation for District-Wide Teaching and Learning Improvement", None),
        ("15 Tips to Overcome Binge Eating", None),
        ("Rethinking Leadership: The Changing Role of Principal Supervisors", None),
        ("Districts at Work", None),
    ],
)
def test_title_rules(candidate: str, problem: str | None) -> None:
    assert title_problem(candidate) == problem


def test_pick_title_takes_the_first_acceptable_and_strips_application_prefixes() -> None:
    assert pick_title(None, "Skip to content", "1 Introduction", "Leading for Equity") == "Leading for Equity"
    assert pick_title("Microsoft Word - District Partnerships") == "District Partnerships"
    assert pick_title("report.pdf", "CHAPTER 1 – INTRODUCTION") is None


def test_html_title_from_og_title_or_h1_never_a_skip_link(tmp_path: Path) -> None:
    body = "<p>" + "Principal supervisors coach principals on instruction every week. " * 5 + "</p>"
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Skip to main content</title>"
        '<meta property="og:title" content="Skip to content"></head><body>'
        '<a href="#main">Skip to main content</a><nav><a href="/">Home</a></nav>'
        f"<main id='main'><article><h1>Principal Supervision Works</h1>{body}</article></main></body></html>",
        encoding="utf-8",
    )
    doc = read_document(page)
    assert doc.metadata.title == "Principal Supervision Works"
    assert "skip to" not in doc.text.lower()
    page.write_text(
        '<html><head><title>x</title><meta property="og:title" content="The Wallace Report on Leaders"></head>'
        f"<body><article><h1>1 Introduction</h1>{body}</article></body></html>",
        encoding="utf-8",
    )
    assert parse_file(page).metadata.title == "The Wallace Report on Leaders"


def test_text_capture_title_skips_navigation_and_the_skip_link_leaves_the_passages(tmp_path: Path) -> None:
    capture = tmp_path / "capture.txt"
    capture.write_text(
        "Skip to main content\nBack to Overview\nCentral Office Transformation for District-Wide Improvement\n"
        "This report includes recommendations for central office leaders who want to transform their work.\n"
        "Engage in central office transformation as a focal point of a districtwide reform effort.\n",
        encoding="utf-8",
    )
    doc = read_document(capture)
    assert doc.metadata.title == "Central Office Transformation for District-Wide Improvement"
    assert "skip to" not in doc.text.lower() and "back to overview" not in doc.text.lower()
    assert "recommendations for central office leaders" in doc.text


def test_text_title_is_not_a_section_heading(tmp_path: Path) -> None:
    path = tmp_path / "chapter.txt"
    path.write_text(
        "CHAPTER 1 – INTRODUCTION\n\nDistricts across the country are rethinking what central offices do for "
        "schools, and this chapter sets out why.\n",
        encoding="utf-8",
    )
    assert read_document(path).metadata.title != "CHAPTER 1 – INTRODUCTION"


DOMAIN = SHARED / "domain"


@pytest.mark.skipif(not (SHARED / "seeds").is_dir() or not DOMAIN.is_dir(), reason="../shared seeds/domain absent")
def test_shared_captures_have_no_navigation_titles_or_skip_links() -> None:
    files = sorted((SHARED / "seeds").glob("*.txt")) + sorted(DOMAIN.glob("*.txt"))
    assert files
    for path in files:
        doc = read_document(path)
        assert title_problem(doc.metadata.title) is None, (path.name, doc.metadata.title)
        assert "skip to main content" not in doc.text.lower(), path.name
        assert "skip to content" not in doc.text.lower(), path.name


def test_markdown_title_from_its_first_heading_unless_a_section_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Leading for Equity\n\nPrincipals meet weekly with their supervisors.\n", encoding="utf-8")
    assert parse_file(path).metadata.title == "Leading for Equity"
    path.write_text("# 1 Introduction\n\nPrincipals meet weekly with their supervisors.\n", encoding="utf-8")
    assert parse_file(path).metadata.title is None


def test_quotes_inside_a_title_are_kept() -> None:
    title = '"My Job Is to Make Principals Better": A Conversation'
    assert pick_title(title) == title
    assert pick_title('"Leading for Equity"') == "Leading for Equity"
