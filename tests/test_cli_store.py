"""Which store a command writes to: named after every write, never started silently, and
`rpp train` leaving it consistent (doctor clean). Real processes, the fake encoder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

RPP = str(Path(sys.executable).with_name("rpp"))
ARTICLE = (
    "# Supervisors in schools\n\nPrincipal supervisors spend three days a week in schools coaching "
    "principals on instruction and feedback.\n\n## Data\n\nTeams review student data every six weeks "
    "to decide where the central office sends support.\n"
)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "RPP_HOME"}
    full_env.update({"RPP_MODEL": "fake", "COLUMNS": "120", **(env or {})})
    return subprocess.run([RPP, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300, stdin=subprocess.DEVNULL)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder with no store, and an article in it."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "news.md").write_text(ARTICLE, encoding="utf-8")
    return folder


@pytest.mark.parametrize("command", [["add", "news.md"], ["ingest", "news.md"], ["train"]])
def test_a_command_refuses_to_start_a_store_nobody_asked_for(elsewhere: Path, command: list[str]) -> None:
    proc = run(*command, cwd=elsewhere)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"Error: no store at {elsewhere / 'indexes'}: `rpp {command[0]}` would start a new, empty corpus here")
    assert "Hint:" in proc.stderr and "--index-dir" in proc.stderr
    assert not (elsewhere / "indexes").exists()  # nothing half-made


def test_a_missing_file_is_named_before_anything_loads(elsewhere: Path) -> None:
    proc = run("add", "missing.pdf", "--index-dir", str(elsewhere / "idx"), cwd=elsewhere)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: missing.pdf: no such file or folder"
    assert not (elsewhere / "idx").exists()


def test_build_creates_the_default_store_and_later_writes_name_it(elsewhere: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.md").write_text(ARTICLE.replace("three", "four"), encoding="utf-8")
    built = run("build", str(corpus), cwd=elsewhere)
    assert built.returncode == 0, built.stderr
    db = elsewhere / "indexes" / "rpp.db"
    assert db.exists()
    assert f"store: {db}" in built.stderr.splitlines()
    assert not any(line.startswith(("encode: {", "tag: {", "index: {")) for line in built.stderr.splitlines())
    assert any(re.match(r"encode: \d+ passages? in [\d.]+ s", line) for line in built.stderr.splitlines()), built.stderr
    assert any(re.match(r"index: lexical \w+ \(\d+", line) for line in built.stderr.splitlines()), built.stderr

    added = run("add", "news.md", cwd=elsewhere)  # indexes/ is here now: no question asked
    assert added.returncode == 0, added.stderr
    assert f"store: {db}" in added.stderr.splitlines()
    assert "1 added" in added.stderr


def test_an_explicit_index_dir_may_be_new(elsewhere: Path) -> None:
    proc = run("ingest", "news.md", "--index-dir", "fresh", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert f"store: {elsewhere / 'fresh' / 'rpp.db'}" in proc.stderr.splitlines()
    env_proc = run("add", "news.md", cwd=elsewhere, env={"RPP_HOME": str(elsewhere / "home")})
    assert env_proc.returncode == 0, env_proc.stderr
    assert (elsewhere / "home" / "rpp.db").exists()


def test_train_leaves_the_store_consistent(tmp_path: Path) -> None:
    from rppsearch.config import Settings
    from rppsearch.doctor import run_doctor

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"a{n}.md").write_text(ARTICLE.replace("three", str(n + 3)), encoding="utf-8")
    idx = tmp_path / "idx"
    assert run("build", str(corpus), "--index-dir", str(idx), "--quiet", cwd=tmp_path).returncode == 0

    trained = run("train", "--index-dir", str(idx), "--features", "embedding", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "tag: " in trained.stderr and "passages and" in trained.stderr
    report = run_doctor(settings=Settings.for_dir(idx), quick=True)
    assert report.ok, [(f.check, f.message) for f in report.problems]

    untagged = run("train", "--no-tag", "--index-dir", str(idx), "--features", "embedding", cwd=tmp_path)
    assert untagged.returncode == 0, untagged.stderr
    assert "run `rpp tag` to re-tag them" in untagged.stderr
    assert not run_doctor(settings=Settings.for_dir(idx), quick=True).ok  # what the hint is for
    assert run("tag", "--index-dir", str(idx), "--quiet", cwd=tmp_path).returncode == 0
    assert run_doctor(settings=Settings.for_dir(idx), quick=True).ok
