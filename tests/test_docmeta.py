"""Metadata a document gives about itself: dates, organizations, authors, districts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rppsearch.ingest.docmeta import document_metadata
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.models import Block, Metadata


def _meta(text: str, fmt: str = "txt", **file_meta: object) -> Metadata:
    blocks = [Block(part) for part in text.split("\n\n")]
    return document_metadata(Metadata(**file_meta), blocks, fmt=fmt)


def test_dateline_on_the_first_line_gives_the_year() -> None:
    meta = _meta("September 2024\n\nThe district announced a new principal supervisor role.")
    assert (meta.year, meta.published, meta.sources["year"]) == (2024, "September 2024", "document")


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("Title\n\nPublished: April 2010\n\nBody of the report.", 2010),
        ("Title\n\nPosted on 2019-05-02 by admin\n\nBody.", 2019),
        ("Title\n\nby Meredith I. Honig, Juli Swinnerton Lorton & Michael A. Copland - 2009\n\nBody.", 2009),
        ("Title\n\nBody.\n\nCite This Article as: Teachers College Record Volume 111 Number 13, 2009, p. 21-40", 2009),
    ],
)
def test_labelled_dates_bylines_and_citations(text: str, year: int) -> None:
    assert _meta(text).year == year


def test_a_year_inside_a_sentence_is_not_a_dateline() -> None:
    meta = _meta("Title\n\nIn 2014, the partnership was created to turn around nine middle schools.")
    assert meta.year is None
    long_line = "Updated guidance for principal supervisors was released in March 2020 after a year of pilots in four districts."
    assert _meta(f"Title\n\n{long_line}").year is None
    assert _meta("Title\n\nBy the Numbers (2019)\n\nBody.").year is None


def test_copyright_year_is_inferred_and_its_holder_is_the_organization() -> None:
    meta = _meta("Hello\n\nBody text.\n\nCopyright © 2018 The Wallace Foundation. All rights reserved.")
    assert (meta.year, meta.sources["year"]) == (2018, "inferred")
    assert meta.organization == "The Wallace Foundation"


def test_pdf_creation_date_yields_to_the_dateline_and_implausible_ones_are_dropped() -> None:
    assert _meta("Report\n\nMarch 2013\n\nBody.", fmt="pdf", year=2021).year == 2013
    assert _meta("Report\n\nBody.", fmt="pdf", year=1980).year is None
    file_date = _meta("Report\n\nBody.", fmt="pdf", year=2016)
    assert (file_date.year, file_date.sources["year"]) == (2016, "inferred")  # when the file was made


def test_account_defaults_and_codes_are_not_authors() -> None:
    meta = _meta("Report\n\nBody.", fmt="docx", authors=["User", "W:CAR:MP:FP", "Yawney, John", "View all posts by Ann Lee"])
    assert meta.authors == ["John Yawney", "Ann Lee"]
    assert _meta("Summary of the U.S. Copyright Office report\n\nBody.").organization is None


def test_publisher_line_byline_and_organization_authors() -> None:
    meta = _meta("Report\n\nAuthor(s)\n\nJane Doe, John Roe\n\nPublisher(s)\n\nCenter for the Study of Teaching and Policy\n\nBody.")
    assert meta.authors == ["Jane Doe", "John Roe"]
    assert meta.organization == "Center for the Study of Teaching and Policy"
    assert meta.sources["organization"] == "document"
    org_author = _meta("Report\n\nBody.", fmt="pdf", authors=["Education Resource Strategies"])
    assert org_author.organization == "Education Resource Strategies" and org_author.authors == []
    assert _meta("Title\n\nBy Jane Doe | March 3, 2021\n\nBody.").authors == ["Jane Doe"]
    assert _meta("Title\n\nPublished by the Wallace Foundation in 2013\n\nBody.").organization == "The Wallace Foundation"


@pytest.mark.slow
def test_seeds_and_domain_pages_without_a_catalog(store, shared_dir: Path) -> None:
    report = ingest_paths(store, [shared_dir / "domain", shared_dir / "seeds"])
    assert not report.failed
    rows = {r["id"]: dict(r) for r in store.conn.execute("SELECT * FROM documents")}
    years = {k: r["year"] for k, r in rows.items() if r["year"]}
    # the pages whose text carries a publication date
    assert years == {
        "domain-09-foundationcenter-cot-report-summary": 2010,
        "domain-10-studylib-cot-report-front-matter": 2010,
        "domain-11-tcrecord-honig-lorton-copland-2009-abstract": 2009,
    }
    assert rows["domain-09-foundationcenter-cot-report-summary"]["organization"] == "Wallace Foundation"
    assert json.loads(rows["domain-11-tcrecord-honig-lorton-copland-2009-abstract"]["authors"])[0] == "Meredith I. Honig"
    ers = json.loads(rows["seeds-002-aca942b10dda1ca5"]["mentioned_districts"])
    assert sorted(ers) == [
        "Dallas ISD", "FirstLine Schools", "Fresno Unified School District", "Highline Public Schools",
        "KIPP Bay Area Public Schools", "San Diego Unified School District",
        "Springfield Empowerment Zone Partnership", "Tulsa Public Schools",
    ]
    sources = json.loads(rows["domain-09-foundationcenter-cot-report-summary"]["metadata_sources"])
    assert sources["year"] == "document"
