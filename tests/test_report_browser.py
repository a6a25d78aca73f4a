"""Evidence maps in real Chromium: the exported HTML page and the Datasette pages.

Clicks a map cell and checks it lands on that cell's passages; saves screenshots at 1400, 900
and 390 px to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import ARTIFACTS, WIDTHS, launched_chromium, rpp_served
from datasette_sample import build_sample_store
from test_report import DOCS

from rppsearch.report.evidence import cell_passages
from rppsearch.report.matrix import evidence_map
from rppsearch.store import Store
from rppsearch.store.labels import record_decisions, resolve_target

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CELL = ("learning-partnerships", "Tulsa Public Schools")


@pytest.fixture
def store_path(index_dir: Path) -> Path:
    path = build_sample_store(index_dir, docs=DOCS)
    with Store.open(path) as store:  # one person-confirmed passage, one rejected
        record_decisions(store, target=resolve_target(store, "tulsa-followup-p0001"),
                         decisions=[("learning-partnerships", "accept")], reviewer="ana")
        record_decisions(store, target=resolve_target(store, "tulsa-supervisors-p0000"),
                         decisions=[("learning-partnerships", "reject")], reviewer="ana")
    return path


def _expected(store_path: Path) -> list[str]:
    with Store.open(store_path, create=False, readonly=True) as store:
        return [p.passage_id for p in cell_passages(store, dimension=CELL[0], by="district", value=CELL[1])]


@pytest.fixture
def browser():  # noqa: ANN201
    with launched_chromium() as chromium:
        yield chromium


def test_exported_html_cell_links_to_its_passages(store_path: Path, tmp_path: Path, browser) -> None:  # noqa: ANN001
    from rppsearch.report.html import write_map_html

    with Store.open(store_path, create=False, readonly=True) as store:
        page_path = write_map_html(store, evidence_map(store, by="district"), tmp_path / "map.html")
    expected = _expected(store_path)
    assert expected == ["tulsa-followup-p0001", "tulsa-followup-p0000"]  # confirmed first; the rejected one gone
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(page_path.as_uri())
    page.screenshot(path=str(ARTIFACTS / "report-map-export.png"), full_page=False)
    page.click(f"a.rpp-cell[data-dimension='{CELL[0]}'][data-key='{CELL[1]}']")
    anchor = page.evaluate("location.hash")[1:]
    section = page.locator(f"section#{anchor}")
    assert section.is_visible()
    text = section.inner_text()
    assert "Learning-focused partnerships with school principals × Tulsa Public Schools" in text
    assert [pid for pid in expected if pid in text] == expected and "tulsa-supervisors-p0000" not in text
    assert "confirmed by a person" in text
    page.screenshot(path=str(ARTIFACTS / "report-map-export-cell.png"))


@pytest.fixture
def served(store_path: Path, tmp_path: Path):  # noqa: ANN201
    with rpp_served(store_path.parent, tmp_path / "serve.log") as base:
        yield base


def test_datasette_map_cell_opens_its_passages(served: str, store_path: Path, browser) -> None:  # noqa: ANN001
    expected = _expected(store_path)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(served + "/-/rpp-map")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"report-map-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    gaps = page.locator("td.gap")
    assert gaps.count() > 0 and gaps.first.inner_text().strip() == "gap"
    page.click(f"a.rpp-cell[data-dimension='{CELL[0]}'][data-key='{CELL[1]}']")
    page.wait_for_url("**/-/rpp-map/cell?**")
    items = page.locator("li.rpp-passage")
    assert [items.nth(i).get_attribute("id") for i in range(items.count())] == expected
    assert "confirmed" in (items.first.get_attribute("class") or "")  # the person's accept is marked
    assert "model suggestion" in items.nth(1).inner_text()
    page.screenshot(path=str(ARTIFACTS / "report-cell-1400.png"), full_page=True)
    # The search page, filtered to the same pair.
    page.click("text=open the search page filtered to this cell")
    page.wait_for_url("**/-/rpp-search?**")
    assert "dimension=learning-partnerships" in page.url and "district=Tulsa+Public+Schools" in page.url
    page.wait_for_selector(".rpp-result")
    found = page.locator(".rpp-result").all_inner_texts()
    assert found and all("Tulsa" in t or "tulsa" in t for t in found)
    # The row page of a passage.
    page.go_back()
    page.locator("a.rpp-passage-link").first.click()
    page.wait_for_url("**/rpp/passages/*")
    assert expected[0] in page.inner_text("body")
    # The profile page.
    page.goto(served + "/-/rpp-profile?district=Denver+Public+Schools")
    assert "No evidence on reorganizing" in page.inner_text("body")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"report-profile-{width}.png"), full_page=True)
