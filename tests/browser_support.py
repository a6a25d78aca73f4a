"""What the browser tests share: Debian's Chromium driven by Playwright, and `rpp serve` on a free port."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datasette_sample import fetch_when_up, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots, git-ignored
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
WIDTHS = (1400, 900, 390)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); CI installs it")


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """A headless Debian Chromium (skips the test when it is not installed)."""
    require_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def rpp_command() -> str:
    return str(Path(sys.executable).parent / "rpp")


@contextlib.contextmanager
def rpp_served(index_dir: Path, log_path: Path, *extra: str) -> Iterator[str]:
    """`rpp serve --index-dir INDEX_DIR --port FREE EXTRA…`, up and answering; yields its base URL."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [rpp_command(), "serve", "--index-dir", str(index_dir), "--port", str(port), *extra],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            fetch_when_up(base + "/-/versions.json", proc)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
