"""End to end: `rpp serve` on a small store, driven by Debian's headless Chromium.

Types a query into /-/rpp-search, submits, follows the first result to its row page, checks
the passage is there, and saves screenshots to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from datasette_sample import SAMPLE_DOCS, build_sample_store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rpp serve exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"rpp serve did not answer {url} within {timeout:.0f}s")


@pytest.fixture
def served(index_dir: Path, tmp_path: Path):  # noqa: ANN201
    """`rpp serve` on a free port; yields its base URL; stopped after the test."""
    build_sample_store(index_dir)
    port = _free_port()
    rpp = Path(sys.executable).parent / "rpp"
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(rpp), "serve", "--index-dir", str(index_dir), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/-/versions.json", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_search_in_a_real_browser_and_follow_a_result_to_its_row(served: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expected = SAMPLE_DOCS[0].passages[1][0]  # the HR reorganization passage
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(served + "/-/rpp-search")
            page.fill("input[name=q]", "human resources case managers for hiring")
            page.select_option("select[name=mode]", "hybrid")
            page.click("input[type=submit]")
            page.wait_for_selector(".rpp-result")
            assert "q=human+resources" in page.url
            results = page.locator(".rpp-result")
            assert results.count() >= 1
            first = results.first
            assert first.locator("mark").count() >= 1  # query words highlighted
            page.screenshot(path=str(ARTIFACTS / "datasette-search.png"), full_page=True)
            first.locator("a.rpp-hit").click()
            page.wait_for_url("**/rpp/passages/*")
            body = page.inner_text("body")
            assert expected in body
            assert "tulsa-supervisors-p0001" in body
            page.screenshot(path=str(ARTIFACTS / "datasette-row.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "datasette-search.png").stat().st_size > 0
