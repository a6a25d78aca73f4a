"""End to end: `rpp serve --writable` on a small store, driven by Debian's headless Chromium.

- search -> a hit -> its document -> the document's passages -> back to the results;
- log in as a reviewer (an account made by `rpp serve --add-user`) and accept a dimension;
- a form auto-submitted from a page on another port, and a cookieless POST, are refused;
- screenshots at 1400, 900 and 390 px in tests/artifacts/ (git-ignored), and no control
  overlapping another or running off the page at any of those widths.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, WIDTHS, launched_chromium, require_chromium, rpp_command, rpp_served
from datasette_sample import SAMPLE_DOCS, build_sample_store, labels

PASSWORD = "correct horse battery"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def served(index_dir: Path, tmp_path: Path):  # noqa: ANN201
    """`rpp serve --writable` with reviewer `ana` on a free port; yields (base URL, db path)."""
    require_chromium()
    db_path = build_sample_store(index_dir)
    added = subprocess.run(
        [rpp_command(), "serve", "--index-dir", str(index_dir), "--add-user", "ana"],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False,
    )
    assert added.returncode == 0, added.stderr
    with rpp_served(index_dir, tmp_path / "serve.log", "--writable") as base:
        yield base, db_path


@pytest.fixture
def browser():  # noqa: ANN201
    with launched_chromium() as chromium:
        yield chromium


def _login(page: Any, base: str) -> None:
    page.goto(base + "/-/login")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


OVERLAP_JS = """() => {
  const boxes = [...document.querySelectorAll('.rpp-search input, .rpp-search select, .rpp-search button, .rpp-search label, .rpp-facets a')]
    .filter(e => e.offsetParent !== null).map(e => [e, e.getBoundingClientRect()]);
  const width = document.documentElement.clientWidth;
  const problems = [];
  for (const [e, r] of boxes) {
    if (r.right > width + 1) problems.push('off the page: ' + (e.name || e.textContent.trim().slice(0, 30)));
  }
  const controls = boxes.filter(([e]) => e.tagName !== 'LABEL');
  for (let i = 0; i < controls.length; i++) for (let j = i + 1; j < controls.length; j++) {
    const [a, ra] = controls[i], [b, rb] = controls[j];
    if (a.contains(b) || b.contains(a)) continue;
    const ox = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const oy = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (ox > 2 && oy > 2) problems.push('overlap: ' + (a.name || a.textContent.trim().slice(0, 20)) + ' / ' + (b.name || b.textContent.trim().slice(0, 20)));
  }
  return problems;
}"""


def test_walk_from_a_search_hit_to_its_document_and_its_passages_and_back(served: tuple[str, Path], browser: Any) -> None:
    base, _ = served
    doc = SAMPLE_DOCS[0]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + "/")
    page.fill("#rpp-home-q", "human resources case managers for hiring")  # the home page's box
    page.press("#rpp-home-q", "Enter")
    page.wait_for_selector(".rpp-result")
    results_url = page.url
    assert "q=human+resources" in results_url
    first = page.locator(".rpp-result").first
    assert first.locator("mark").count() >= 1
    first.locator("a.rpp-hit").click()
    page.wait_for_url("**/rpp/passages/*")
    assert doc.passages[1][0] in page.inner_text("body")
    page.locator(f'td.col-document_id a:has-text("{doc.title}")').first.click()  # passage -> its document
    page.wait_for_url("**/rpp/documents/*")
    assert page.locator("h1").inner_text().startswith("documents:")
    assert doc.title in page.inner_text("body")
    page.locator("a", has_text=f"{len(doc.passages)} rows").first.click()  # document -> its passages
    page.wait_for_url("**/rpp/passages?*")
    body = page.inner_text("body")
    assert all(text[:60] in body for text, _ in doc.passages)
    for _ in range(3):
        page.go_back()
    page.wait_for_selector(".rpp-result")
    assert page.url == results_url


def test_a_reviewer_logs_in_and_accepts_a_dimension(served: tuple[str, Path], browser: Any) -> None:
    base, db_path = served
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + "/-/rpp-search?" + urllib.parse.urlencode({"q": "principal supervisors", "mode": "bm25"}))
    assert page.locator("form.rpp-review").count() == 0  # anonymous: no review controls
    _login(page, base)
    page.goto(base + "/-/rpp-search?" + urllib.parse.urlencode({"q": "budget evidence survey", "mode": "bm25"}))
    hit = page.locator(".rpp-result", has_text="denver-evidence-p0000").first
    hit.locator("select[name=dimension]").select_option("stewardship")
    hit.locator("button[value=accept]").click()
    page.wait_for_selector(".message-info, .messages")
    assert "Recorded: accept stewardship on denver-evidence-p0000 (by ana)" in page.inner_text("body")
    assert "stewardship ✓ ana" in page.inner_text("body")
    assert labels(db_path) == [("denver-evidence-p0000", "stewardship", "accept", "ana")]


def test_cross_site_form_and_cookieless_posts_are_refused(served: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    base, db_path = served
    attack = tmp_path / "attack"
    attack.mkdir()
    (attack / "index.html").write_text(
        f"""<form id="f" method="post" action="{base}/-/rpp-review">
<input name="passage" value="tulsa-supervisors-p0000"><input name="dimension" value="stewardship">
<input name="decision" value="accept"><input name="csrftoken" value="guess"></form>
<script>document.getElementById('f').submit()</script>"""
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(attack))
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        context = browser.new_context()
        page = context.new_page()
        _login(page, base)  # the victim is logged in: the browser holds their cookies
        with page.expect_navigation(url=f"{base}/-/rpp-review"):
            page.goto(f"http://127.0.0.1:{evil.server_address[1]}/index.html")
        assert "cross-site request refused" in page.inner_text("body")
        context.close()
    finally:
        evil.shutdown()
    request = urllib.request.Request(
        base + "/-/rpp-review", method="POST",
        data=b"passage=tulsa-supervisors-p0000&dimension=stewardship&decision=accept",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert labels(db_path) == []


def test_screenshots_at_three_widths_without_overlaps(served: tuple[str, Path], browser: Any) -> None:
    base, _ = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, base)
    search = base + "/-/rpp-search?" + urllib.parse.urlencode({"q": "principals supervisors district", "per_document": 1})
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(search)
        page.wait_for_selector(".rpp-result")
        problems = page.evaluate(OVERLAP_JS)
        assert problems == [], (width, problems)
        page.screenshot(path=str(ARTIFACTS / f"search-{width}.png"), full_page=True)
        page.goto(base + "/rpp/documents")
        page.screenshot(path=str(ARTIFACTS / f"documents-{width}.png"), full_page=True)
        if width >= 900:  # (at 390 px Datasette stacks each row as a card of its columns)
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height < 3000, (width, height)  # the full text is not in the table
        page.goto(base + "/")
        page.screenshot(path=str(ARTIFACTS / f"home-{width}.png"), full_page=True)
    assert all((ARTIFACTS / f"search-{w}.png").stat().st_size > 0 for w in WIDTHS)
