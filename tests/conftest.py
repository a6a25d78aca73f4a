"""Shared fixtures: a temp index dir, the fake encoder by default, ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _encoder_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests use the fake deterministic encoder; `@pytest.mark.model` tests the real MiniLM."""
    if request.node.get_closest_marker("model"):
        monkeypatch.setenv("RPP_MODEL", "all-MiniLM-L6-v2")
    else:
        monkeypatch.setenv("RPP_MODEL", "fake")
    monkeypatch.delenv("RPP_HOME", raising=False)


@pytest.fixture
def shared_dir() -> Path:
    """`../shared` beside the repo (test inputs only); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the repo")
    return SHARED


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    """An empty index dir for one test."""
    path = tmp_path / "indexes"
    path.mkdir()
    return path


@pytest.fixture
def store(index_dir: Path):
    """A fresh, migrated store on a real SQLite file."""
    from rppsearch.store import Store

    s = Store.open(index_dir / "rpp.db")
    yield s
    s.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`RPP_SKIP_MODEL=1` skips the real-model tier (for a quick local loop only; CI runs it)."""
    if os.environ.get("RPP_SKIP_MODEL") == "1":
        skip = pytest.mark.skip(reason="RPP_SKIP_MODEL=1")
        for item in items:
            if item.get_closest_marker("model"):
                item.add_marker(skip)
