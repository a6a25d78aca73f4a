"""The CLI as its ecosystem expects: fast help without torch, --json/--csv, Error: lines, docs current."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RPP = str(Path(sys.executable).with_name("rpp"))
# Commands that list things: each must offer --json (JSON lines) and --csv.
LISTING = [["stats"], ["search"], ["similar"], ["evaluate"], ["agreement"], ["doctor"]]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "RPP_MODEL": "fake", "COLUMNS": "120", **(env or {})}
    return subprocess.run([RPP, *args], capture_output=True, text=True, env=full_env, timeout=120)


def test_help_never_imports_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rppsearch.cli.main import app\n"
        "for args in ([], ['search'], ['ingest'], ['build']):\n"
        "    r = CliRunner().invoke(app, [*args, '--help'])\n"
        "    assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'sklearn', 'spacy', 'transformers') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_serve_account_commands_do_not_start_datasette(tmp_path: Path) -> None:
    """`rpp serve --list-users` (and --add-user, --dump-metadata) only read files: no Datasette import."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from rppsearch.cli.main import app\n"
        f"r = CliRunner().invoke(app, ['serve', '--index-dir', {str(tmp_path)!r}, '--list-users'])\n"
        "print(r.exit_code, 'datasette' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == "False", out


@pytest.mark.parametrize("command", LISTING, ids=lambda c: " ".join(c))
def test_listing_commands_offer_json_and_csv(command: list[str]) -> None:
    proc = run(*command, "--help")
    if proc.returncode != 0 and "No such command" in proc.stderr:
        pytest.fail(f"rpp {' '.join(command)} does not exist")
    assert "--json" in proc.stdout and "--csv" in proc.stdout


def test_missing_store_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run("stats", "--index-dir", str(tmp_path / "none"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ")
    assert "Traceback" not in proc.stderr


def test_stats_json_after_ingest(tmp_path: Path) -> None:
    doc = tmp_path / "c" / "one.md"
    doc.parent.mkdir()
    doc.write_text("# Title\n\nCentral offices support principals in many ways. " * 5, encoding="utf-8")
    idx = str(tmp_path / "idx")
    assert run("ingest", str(doc), "--index-dir", idx, "--quiet").returncode == 0
    proc = run("stats", "--index-dir", idx, "--json")
    data = json.loads(proc.stdout)
    assert data["documents"] == 1 and data["passages"] >= 1
    proc = run("stats", "--index-dir", idx, "--csv")
    assert proc.stdout.splitlines()[0] == "group,value,documents,passages,words"


def test_index_dir_from_rpp_home(tmp_path: Path) -> None:
    doc = tmp_path / "two.txt"
    doc.write_text("District central office staff redesigned human resources services. " * 6)
    home = tmp_path / "home"
    assert run("ingest", str(doc), "--quiet", env={"RPP_HOME": str(home)}).returncode == 0
    assert (home / "rpp.db").exists()


def test_readme_command_reference_is_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_cli_reference.py"), "--check"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
