"""District profiles (issue 15): strengths, best evidence, practice shifts, gaps in words,
HTML and a one-page PDF; and a profile of a district of the shipped sample corpus."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from datasette_sample import build_sample_store
from test_report import DOCS

from rppsearch.errors import QueryError, TaxonomyError
from rppsearch.report.profile import build_profile
from rppsearch.report.shifts import place_sentence, summarise_shift
from rppsearch.store import Store
from rppsearch.taxonomy import PracticeShift, Taxonomy, load_default_taxonomy

REPO = Path(__file__).resolve().parents[1]
RPP = str(Path(sys.executable).parent / "rpp")


@pytest.fixture
def db_path(index_dir: Path) -> Path:
    return build_sample_store(index_dir, docs=DOCS)


def _dimension_docs(conn: sqlite3.Connection, district: str, dimension: str) -> list[tuple[str, int | None]]:
    """(document id, year) of the district's documents with an assigned passage tag on `dimension`."""
    return conn.execute(
        "SELECT DISTINCT d.id, d.year FROM documents d JOIN passages p ON p.document_id = d.id "
        "JOIN passage_tags t ON t.passage_pk = p.pk WHERE t.dimension_id = ? AND t.assigned = 1 "
        "AND EXISTS (SELECT 1 FROM json_each(d.districts) j WHERE j.value = ?)",
        (dimension, district),
    ).fetchall()


def assert_gaps_are_true(db_path: Path, profile) -> None:  # noqa: ANN001
    """Each gap sentence checked against the tables directly."""
    conn = sqlite3.connect(db_path)
    names = {d.name[0].lower() + d.name[1:]: d.id for d in profile.dimensions}
    years = [d["year"] for d in profile.documents]
    for gap in profile.gaps:
        name = next(n for n in names if f"evidence on {n}" in gap)
        found = _dimension_docs(conn, profile.name, names[name])
        if gap.startswith("No evidence on") and " since " not in gap:
            assert found == [], gap
        elif " since " in gap:
            since = int(re.search(r" since (\d{4})", gap).group(1))
            assert max(y for _, y in found if y is not None) == since, gap
            assert any(y is not None and y > since for y in years), gap
        else:
            assert gap.startswith("Only weak evidence") and found, gap
    conn.close()


def test_profile_strengths_sentences_and_gaps(db_path: Path) -> None:
    with Store.open(db_path, create=False, readonly=True) as store:
        profile = build_profile(store, district="denver public schools", taxonomy=load_default_taxonomy())
    assert profile.name == "Denver Public Schools" and len(profile.documents) == 3
    by_id = {d.id: d for d in profile.dimensions}
    assert by_id["unit-reorganization"].strength == "none" and by_id["unit-reorganization"].sentences == []
    assert (by_id["stewardship"].documents, by_id["stewardship"].passages) == (2, 2)
    quote = by_id["evidence-use"].sentences[0]
    assert quote["title"] and "year" in quote
    assert any(quote["text"] in t for doc in DOCS for t, dims in doc.passages if "evidence-use" in dims)
    assert "No evidence on reorganizing and reculturing central office units in the 3 documents about Denver Public Schools." in profile.gaps
    # Denver's last passage on learning partnerships is from 2018; a 2019 document says nothing on it.
    assert any(g.startswith("No evidence on learning-focused partnerships") and "since 2018" in g for g in profile.gaps)
    assert_gaps_are_true(db_path, profile)
    # Practice shifts come from the codebook, one summary per shift of a dimension with evidence.
    assert [s["id"] for s in by_id["learning-partnerships"].shifts] == [s.id for s in load_default_taxonomy().get("learning-partnerships").shifts]


def test_profile_errors_name_the_problem(db_path: Path) -> None:
    with Store.open(db_path, create=False, readonly=True) as store:
        with pytest.raises(QueryError, match="no document names the district 'Denver'") as info:
            build_profile(store, district="Denver")
        assert "Denver Public Schools" in (info.value.hint or "")
        with pytest.raises(QueryError, match="one of them"):
            build_profile(store, district="x", organization="y")
        org = build_profile(store, organization="wallace foundation")
        assert org.kind == "organization" and len(org.documents) == 2


def test_profile_html_and_one_page_pdf(db_path: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    index_dir = str(db_path.parent)
    out = subprocess.run(
        [RPP, "profile", "Denver Public Schools", "--index-dir", index_dir, "--html", str(tmp_path / "p.html"), "--pdf", str(tmp_path / "p.pdf")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "No evidence on reorganizing" in html and "<script" not in html
    reader = PdfReader(str(tmp_path / "p.pdf"))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Denver Public Schools" in text and "Gaps" in text and "No evidence on reorganizing" in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "50", str(tmp_path / "p.pdf"), str(tmp_path / "page")], check=True, timeout=60)
        from PIL import Image

        with Image.open(tmp_path / "page-1.png") as image:
            assert image.size == (425, 550)  # US letter at 50 dpi
            assert len(image.convert("L").getcolors(maxcolors=100_000) or []) > 20
    terminal = subprocess.run([RPP, "profile", "denver public schools", "--index-dir", index_dir], capture_output=True, text=True, timeout=60)
    assert "Gaps" in terminal.stdout and "No evidence on reorganizing" in " ".join(terminal.stdout.split())
    bad = subprocess.run([RPP, "profile", "Atlantis", "--index-dir", index_dir], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: no document names the district 'Atlantis'")


# -- practice shifts ------------------------------------------------------------------------
SHIFT = PracticeShift(
    id="workshops-to-job-embedded", before="one-off workshops", after="job-embedded support",
    before_cues=("sit and get", "workshop", "one-off"), after_cues=("job-embedded", "in their schools"),
)


@pytest.mark.parametrize(
    ("sentence", "side"),
    [
        ("Principals attended a one-off workshop at the district office.", "before"),
        ("Coaches worked with principals in their schools every week.", "after"),
        ("The district moved away from sit and get sessions toward job-embedded coaching.", "after"),
        ("Rather than workshops, principals now learn in their schools.", "after"),
        ("Workshops continued, and some job-embedded coaching was added.", "mixed"),
        ("The budget was approved in May.", None),
    ],
)
def test_sentences_are_placed_on_a_side_of_a_shift(sentence: str, side: str | None) -> None:
    assert place_sentence(sentence, SHIFT)[0] == side


def test_shift_verdicts() -> None:
    after = [{"text": "Coaching happened in their schools."}] * 3 + [{"text": "One workshop was held."}]
    assert summarise_shift(SHIFT, after)["verdict"] == "after"
    assert summarise_shift(SHIFT, [{"text": "A workshop."}, {"text": "job-embedded work"}])["verdict"] == "both"
    assert summarise_shift(SHIFT, [{"text": "Nothing here."}])["verdict"] == "unclear"


def test_codebook_shifts_are_validated_and_do_not_change_the_hash() -> None:
    shipped = load_default_taxonomy()
    assert all(d.shifts for d in shipped.dimensions)
    data = shipped.to_dict()
    without = {**data, "dimensions": [{k: v for k, v in d.items() if k != "shifts"} for d in data["dimensions"]]}
    assert Taxonomy.from_dict(without).hash == shipped.hash  # tagging does not depend on shifts
    data["dimensions"][0]["shifts"] = [{"id": "x", "before": "a"}]
    with pytest.raises(TaxonomyError, match="'after' must be a non-empty string"):
        Taxonomy.from_dict(data)
    data["dimensions"][0]["shifts"] = [{"id": "x", "before": "a", "after": "b", "colour": "red"}]
    with pytest.raises(TaxonomyError, match="unknown field"):
        Taxonomy.from_dict(data)


# -- the shipped sample corpus ------------------------------------------------------------------
SAMPLE_DISTRICTS = ("Highline Public Schools", "North Harbor Public Schools", "Riverbend Unified")


def sample_subset(folder: Path) -> Path:
    """The sample corpus's documents that name one of SAMPLE_DISTRICTS, with their catalog rows
    (a district's profile reads only its own documents, so it is the same as on the whole corpus)."""
    import csv

    corpus = REPO / "corpus"
    with open(corpus / "catalog.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, [r for r in reader if any(d in (r["districts"] or "") for d in SAMPLE_DISTRICTS)]
    assert rows, "the sample catalog names none of the sample districts"
    (folder / "docs").mkdir(parents=True)
    for row in rows:
        shutil.copy(corpus / row["path"], folder / row["path"])
    with open(folder / "catalog.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.mark.slow
def test_profile_of_a_sample_corpus_district_names_a_real_gap(tmp_path: Path) -> None:
    """`rpp build` on the sample corpus's documents about three districts, then their profiles:
    at least one names a gap, and every gap named is true of the tables."""
    index_dir = tmp_path / "idx"
    corpus = sample_subset(tmp_path / "corpus")
    built = subprocess.run([RPP, "build", str(corpus), "--index-dir", str(index_dir), "--quiet"],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr
    db_path = index_dir / "rpp.db"
    named = 0
    with Store.open(db_path, create=False, readonly=True) as store:
        for district in SAMPLE_DISTRICTS:
            profile = build_profile(store, district=district, taxonomy=load_default_taxonomy())
            assert profile.documents
            assert_gaps_are_true(db_path, profile)
            named += bool(profile.gaps)
    assert named >= 1
