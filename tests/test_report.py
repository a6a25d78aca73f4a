"""Evidence-and-gap maps and profiles (issue 15) on a small real store.

Every cell is checked against a count written independently (one plain SQL query per cell,
no grouping); people's decisions are recorded with the review code and must move passages in
and out of cells at once; the pictures, pages and PDF are opened and inspected.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from datasette_sample import SAMPLE_DOCS, SampleDoc, build_sample_store

from rppsearch.errors import QueryError
from rppsearch.report.evidence import cell_passages
from rppsearch.report.matrix import COLUMNS, NONE_LABEL, MapFilters, evidence_map
from rppsearch.store import Store
from rppsearch.store.labels import record_decisions, resolve_target

RPP = str(Path(sys.executable).parent / "rpp")

EXTRA_DOCS = [
    SampleDoc(
        "tulsa-followup",
        "Tulsa supervisors, three years on",
        "Wallace Foundation",
        ["Tulsa Public Schools", "Denver Public Schools"],
        2018,
        "report",
        [
            ("Supervisors kept coaching principals in their schools every week.", ["learning-partnerships"]),
            ("The district cut each supervisor's caseload so they could work closely with principals.", ["partnership-assistance", "learning-partnerships"]),
            ("Cabinet members explained the theory of action to the board.", ["stewardship"]),
        ],
    ),
    SampleDoc(
        "denver-data",
        "Denver's inquiry cycles",
        None,
        ["Denver Public Schools"],
        None,
        "brief",
        [("Staff surveyed principals and revised their support from what they learned.", ["evidence-use"])],
    ),
]
DOCS = SAMPLE_DOCS + EXTRA_DOCS


@pytest.fixture
def db_path(index_dir: Path) -> Path:
    return build_sample_store(index_dir, docs=DOCS)


# -- independent counts ---------------------------------------------------------------------
def _group_clause(by: str, key: str | None) -> tuple[str, list]:
    if by == "district":
        if key is None:
            return "json_array_length(d.districts) = 0", []
        return "EXISTS (SELECT 1 FROM json_each(d.districts) j WHERE j.value = ?)", [key]
    column = {"organization": "d.organization", "year": "d.year", "doc_type": "d.doc_type", "document": "d.id"}[by]
    if key is None:
        return f"{column} IS NULL", []
    return f"CAST({column} AS TEXT) = ?", [key]


def _filter_clause(f: MapFilters | None) -> tuple[str, list]:
    clauses, params = [], []
    if f and f.year_from is not None:
        clauses.append("d.year >= ?")
        params.append(f.year_from)
    if f and f.year_to is not None:
        clauses.append("d.year <= ?")
        params.append(f.year_to)
    if f and f.doc_type:
        clauses.append("d.doc_type = ? COLLATE NOCASE")
        params.append(f.doc_type)
    return "".join(f" AND {c}" for c in clauses), params


def expected_cell(conn: sqlite3.Connection, dim: str, by: str, key: str | None, filters: MapFilters | None = None) -> tuple[int, int, int]:
    """(documents, passages, confirmed) by one direct query per number."""
    where, params = _group_clause(by, key)
    extra, extra_params = _filter_clause(filters)
    where, params = where + extra, params + extra_params
    evidence = (
        "FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk JOIN documents d ON d.id = p.document_id "
        f"WHERE t.dimension_id = ? AND t.assigned = 1 AND {where} AND NOT (t.source = 'model' AND EXISTS "
        "(SELECT 1 FROM document_tags x WHERE x.document_id = d.id AND x.dimension_id = t.dimension_id "
        "AND x.source = 'human' AND x.assigned = 0))"
    )
    passages = conn.execute(f"SELECT count(*) {evidence}", [dim, *params]).fetchone()[0]
    confirmed = conn.execute(f"SELECT count(*) {evidence} AND t.source = 'human'", [dim, *params]).fetchone()[0]
    docs = {r[0] for r in conn.execute(f"SELECT DISTINCT d.id {evidence}", [dim, *params])}
    docs |= {
        r[0]
        for r in conn.execute(
            f"SELECT d.id FROM document_tags x JOIN documents d ON d.id = x.document_id WHERE x.dimension_id = ? "
            f"AND x.source = 'human' AND x.assigned = 1 AND {where}",
            [dim, *params],
        )
    }
    return len(docs), passages, confirmed


def assert_every_cell_matches(db_path: Path, **kwargs) -> None:
    conn = sqlite3.connect(db_path)
    with Store.open(db_path, create=False, readonly=True) as store:
        for by in COLUMNS:
            emap = evidence_map(store, by=by, **kwargs)
            assert emap.columns, by
            for row in emap.rows:
                for col in emap.columns:
                    cell = emap.cell(row.id, col.key)
                    assert (cell.documents, cell.passages, cell.confirmed) == expected_cell(conn, row.id, by, col.key, kwargs.get("filters")), (by, row.id, col.key)
                    assert (cell.status == "gap") == (cell.passages == 0 and cell.documents == 0)
    conn.close()


def test_every_cell_equals_an_independent_count(db_path: Path) -> None:
    assert_every_cell_matches(db_path)
    with Store.open(db_path, create=False, readonly=True) as store:
        emap = evidence_map(store, by="district")
        labels = [c.label for c in emap.columns]
        # Every district the documents name is a column (gaps included), documents with none in (none).
        assert set(labels) == {"Tulsa Public Schools", "Denver Public Schools", "Aurora Public Schools", NONE_LABEL}
        assert labels[-1] == NONE_LABEL
        denver = {c.label: c for c in emap.columns}["Denver Public Schools"]
        assert denver.documents == 3
        assert emap.cell("unit-reorganization", "Denver Public Schools").status == "gap"
        # A document naming two districts counts in both.
        assert emap.cell("stewardship", "Tulsa Public Schools").passages == 1
        assert emap.cell("stewardship", "Denver Public Schools").passages == 2


def test_filters_narrow_the_documents(db_path: Path) -> None:
    with Store.open(db_path, create=False, readonly=True) as store:
        emap = evidence_map(store, by="year", filters=MapFilters(year_from=2016, year_to=2020))
        assert [c.key for c in emap.columns] == ["2018", "2019", "2020"]  # undated and 2015/2021 left out
        emap = evidence_map(store, by="district", filters=MapFilters(district="denver public schools", dimensions=("evidence-use",)))
        assert [c.label for c in emap.columns] == ["Denver Public Schools"] and [r.id for r in emap.rows] == ["evidence-use"]
        assert emap.cell("evidence-use", "Denver Public Schools").documents == 2
        emap = evidence_map(store, by="organization", filters=MapFilters(doc_type="REPORT"))
        assert {c.label for c in emap.columns} == {"University of Washington DL2", "Evil <b>Org</b>", "Wallace Foundation"}
        with pytest.raises(QueryError, match="unknown dimension"):
            evidence_map(store, filters=MapFilters(dimensions=("nope",)))
        with pytest.raises(QueryError, match="after year_to"):
            evidence_map(store, filters=MapFilters(year_from=2020, year_to=2010))
        with pytest.raises(QueryError, match="unknown column"):
            evidence_map(store, by="colour")
    assert_every_cell_matches(db_path, filters=MapFilters(year_from=2016, doc_type="report"))


def test_human_decisions_move_passages_in_and_out_of_cells(db_path: Path) -> None:
    with Store.open(db_path) as store:
        before = evidence_map(store, by="district")
        tulsa = before.cell("learning-partnerships", "Tulsa Public Schools")
        assert (tulsa.documents, tulsa.passages, tulsa.confirmed) == (2, 3, 0)
        # A reviewer rejects the model's tag on one passage: it leaves the cell at once.
        record_decisions(store, target=resolve_target(store, "tulsa-supervisors-p0000"),
                         decisions=[("learning-partnerships", "reject")], reviewer="ana")
        # ... and accepts a tag the model did not give: that passage joins, marked as confirmed.
        record_decisions(store, target=resolve_target(store, "tulsa-supervisors-p0001"),
                         decisions=[("learning-partnerships", "accept")], reviewer="ana")
        after = evidence_map(store, by="district").cell("learning-partnerships", "Tulsa Public Schools")
        assert (after.passages, after.confirmed) == (3, 1)
        ids = [p.passage_id for p in cell_passages(store, dimension="learning-partnerships", by="district", value="Tulsa Public Schools")]
        assert "tulsa-supervisors-p0000" not in ids and ids[0] == "tulsa-supervisors-p0001"  # confirmed first
        # Rejecting the only passage of a cell turns it into a gap.
        record_decisions(store, target=resolve_target(store, "hostile-p0000"),
                         decisions=[("learning-partnerships", "reject")], reviewer="ana")
        assert evidence_map(store, by="document").cell("learning-partnerships", "hostile").status == "gap"
        # A document-level reject takes the model's passages of that document out of the cell.
        record_decisions(store, target=resolve_target(store, "tulsa-followup", target_type="document"),
                         decisions=[("learning-partnerships", "reject")], reviewer="ben")
        cell = evidence_map(store, by="district").cell("learning-partnerships", "Tulsa Public Schools")
        assert (cell.documents, cell.passages) == (1, 1)
    assert_every_cell_matches(db_path)


def test_weak_cells_and_column_limit(db_path: Path) -> None:
    with Store.open(db_path, create=False, readonly=True) as store:
        emap = evidence_map(store, by="district", min_documents=2)
        assert emap.cell("stewardship", "Denver Public Schools").status == "evidence"  # 2 documents
        assert emap.cell("unit-reorganization", "Tulsa Public Schools").status == "weak"  # 1 of Tulsa's 2
        one = evidence_map(store, by="district", max_columns=1)
        assert [c.label for c in one.columns] == ["Denver Public Schools"] and one.hidden_columns == 3
        records = emap.records()
        assert len(records) == len(emap.rows) * len(emap.columns)
        first = next(r for r in records if r["passages"])
        assert first["command"].startswith("rpp evidence ") and first["url"].startswith("/-/rpp-map/cell?")


# -- outputs ---------------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.scripts = 0

    def handle_starttag(self, tag, attrs) -> None:  # noqa: ANN001
        attrs = dict(attrs)
        if tag == "a" and "rpp-cell" in (attrs.get("class") or ""):
            self.hrefs.append(attrs["href"])
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "script":
            self.scripts += 1


def test_png_svg_and_html_render(db_path: Path, tmp_path: Path) -> None:
    from PIL import Image

    from rppsearch.report.heatmap import write_heatmap
    from rppsearch.report.html import write_map_html

    with Store.open(db_path, create=False, readonly=True) as store:
        emap = evidence_map(store, by="district")
        png = write_heatmap(emap, tmp_path / "map.png", dpi=100)
        svg = write_heatmap(emap, tmp_path / "map.svg")
        page = write_map_html(store, emap, tmp_path / "map.html")
        with Image.open(png) as image:
            image.load()
            assert image.format == "PNG"
            # 4 columns × 5 rows: the figure is ~7.4 × 6.2 inches at 100 dpi before the tight crop.
            assert 500 <= image.width <= 900 and 400 <= image.height <= 700, image.size
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is not None and len(colours) > 50  # a drawing, not a blank canvas
        texts = ["".join(t.itertext()) for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text")]
        assert texts.count("gap") == sum(1 for c in emap.cells.values() if c.status == "gap")
        assert any("Denver Public Schools" in t for t in texts) and any("Stewardship" in t for t in texts)
        html = page.read_text(encoding="utf-8")
        parser = _Links()
        parser.feed(html)
        non_gaps = [c for c in emap.cells.values() if c.status != "gap"]
        assert len(parser.hrefs) == len(non_gaps)
        assert parser.scripts == 0 and "<script>alert" not in html and "&lt;script&gt;alert" in html
        # Every cell link points at a section on the same page that lists exactly its passages.
        for href in parser.hrefs:
            assert href.startswith("#") and href[1:] in parser.ids
        cell = emap.cell("learning-partnerships", "Tulsa Public Schools")
        expected = [p.passage_id for p in cell_passages(store, dimension="learning-partnerships", by="district", value="Tulsa Public Schools")]
        assert len(expected) == cell.passages
        i = list(emap.columns).index(next(c for c in emap.columns if c.key == "Tulsa Public Schools"))
        section = html.split('id="cell-0-%d"' % i, 1)[1].split("</section>", 1)[0]
        assert sorted(x for x in expected) == sorted(pid for pid in expected if pid in section)
        assert section.count("<code>tulsa-") == len(expected)


def test_cli_map_outputs(db_path: Path, tmp_path: Path) -> None:
    index_dir = str(db_path.parent)
    out = subprocess.run([RPP, "map", "--index-dir", index_dir, "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["by"] for r in rows} == {"district"} and len(rows) == 5 * 4
    gap = next(r for r in rows if r["dimension_id"] == "unit-reorganization" and r["label"] == "Denver Public Schools")
    assert gap["status"] == "gap" and gap["passages"] == 0
    out = subprocess.run([RPP, "map", "--index-dir", index_dir, "--cols", "year", "--csv"], capture_output=True, text=True, timeout=60)
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["label"] for r in table} == {"2015", "2018", "2019", "2020", "2021", NONE_LABEL}
    # The evidence command of a cell lists that cell's passages.
    command = next(r for r in rows if r["dimension_id"] == "learning-partnerships" and r["label"] == "Tulsa Public Schools")["command"]
    listed = subprocess.run([RPP, *shlex.split(command)[1:], "--index-dir", index_dir, "--json"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 3
    table = subprocess.run([RPP, "map", "--index-dir", index_dir], capture_output=True, text=True, timeout=60)
    assert "GAP" in table.stdout and "Tulsa" in table.stdout
    bad = subprocess.run([RPP, "map", "--index-dir", index_dir, "--dimension", "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: dimension: unknown dimension 'nope'")
    bad = subprocess.run([RPP, "map", "--index-dir", index_dir, "--png", str(tmp_path / "x.jpg")], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "must end in .png" in bad.stderr
    missing = subprocess.run([RPP, "map", "--index-dir", str(tmp_path / "none")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and missing.stderr.startswith("Error:")


def test_map_command_imports_no_heavy_libraries(db_path: Path) -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom rppsearch.cli.main import app\n"
        f"r = CliRunner().invoke(app, ['map', '--index-dir', {str(db_path.parent)!r}, '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'spacy', 'matplotlib', 'reportlab', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_datasette_pages(db_path: Path) -> None:
    import asyncio

    from datasette.app import Datasette

    async def main() -> None:
        ds = Datasette([str(db_path)])
        page = await ds.client.get("/-/rpp-map")
        assert page.status_code == 200
        parser = _Links()
        parser.feed(page.text)
        assert parser.hrefs and all(h.startswith("/-/rpp-map/cell?") for h in parser.hrefs)
        conn = sqlite3.connect(db_path)
        names = ["Tulsa Public Schools", "Denver Public Schools", "Aurora Public Schools", None]
        dims = [r[0] for r in conn.execute("SELECT id FROM dimensions")]
        gaps = sum(1 for d in dims for k in names if expected_cell(conn, d, "district", k) == (0, 0, 0))
        conn.close()
        assert page.text.count('data-status="gap"') == gaps > 0
        href = next(h for h in parser.hrefs if "Tulsa" in h and "learning-partnerships" in h)
        cell = await ds.client.get(href)
        assert cell.status_code == 200
        for pid in ("tulsa-supervisors-p0000", "tulsa-followup-p0000", "tulsa-followup-p0001"):
            assert pid in cell.text
        assert "model suggestion" in cell.text and "confirmed by a person" not in cell.text
        assert "/-/rpp-search?q=" in cell.text and "district=Tulsa+Public+Schools" in cell.text
        bad = await ds.client.get("/-/rpp-map?cols=colour")
        assert bad.status_code == 400 and "cols: unknown value" in bad.text
        bad = await ds.client.get("/-/rpp-map/cell?dimension=nope&by=district&value=x")
        assert bad.status_code == 400 and "unknown dimension" in bad.text
        profile = await ds.client.get("/-/rpp-profile?district=Denver+Public+Schools")
        assert profile.status_code == 200 and "No evidence on reorganizing" in profile.text
        hostile = await ds.client.get("/-/rpp-map?cols=organization")
        assert "<b>Org</b>" not in hostile.text and "Evil &lt;b&gt;Org&lt;/b&gt;" in hostile.text
        # the forms keep what was chosen (escaped), also on an error page
        chosen = await ds.client.get("/-/rpp-map?cols=organization&organization=Evil+%3Cb%3EOrg%3C%2Fb%3E")
        assert '<option value="Evil &lt;b&gt;Org&lt;/b&gt;" selected>' in chosen.text
        assert '<option value="Denver Public Schools" selected>' in profile.text
        both = await ds.client.get("/-/rpp-profile?district=Denver+Public+Schools&organization=Local+News")
        assert both.status_code == 400
        assert '<option value="Denver Public Schools" selected>' in both.text
        assert '<option value="Local News" selected>' in both.text

    asyncio.run(main())


def test_a_reader_sees_each_build_without_refreshing(index_dir: Path) -> None:
    """A long-lived reader (as Datasette's) gets the new documents on its next map: nothing
    is cached or materialised."""
    path = build_sample_store(index_dir, docs=DOCS[:2])
    with Store.open(path, create=False, readonly=True) as reader:
        before = evidence_map(reader, by="district")
        assert NONE_LABEL not in [c.label for c in before.columns]
        assert {c.label: c.documents for c in before.columns}["Denver Public Schools"] == 1
        build_sample_store(index_dir, docs=DOCS)  # a later build adds documents
        after = evidence_map(reader, by="district")
        assert {c.label: c.documents for c in after.columns}["Denver Public Schools"] == 3
        assert after.cell("learning-partnerships", None).passages == 1  # the hostile document, no district
