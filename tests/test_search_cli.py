"""`rpp search` / `rpp similar` through the real console entry point."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from rppsearch.cli.main import app
from rppsearch.config import Settings
from rppsearch.index.vectors import embed_missing, refresh_index
from test_search_support import Doc, add_docs

JSON_KEYS = {"id", "document_id", "title", "score", "content", "dimensions", "metadata"}
NEW_KEYS = {"relevance", "matched_by", "more_from_document"}


def _lines(stdout: str) -> tuple[dict, list[dict]]:
    """The --json header's summary and the hits."""
    objs = [json.loads(line) for line in stdout.splitlines()]
    assert set(objs[0]) == {"summary"}, objs[0]
    return objs[0]["summary"], objs[1:]


@pytest.fixture
def built(store, index_dir):  # noqa: ANN001, ANN201
    add_docs(
        store,
        [
            Doc(
                id=f"doc{i}",
                title=f"Report {i}",
                organization="Wallace Foundation" if i % 2 else "ERS",
                districts=["Denver Public Schools"],
                year=2010 + i,
                doc_type="report",
                passages=[
                    f"Principal supervisors coach principals on instruction, report {i}.",
                    f"The budget office of district {i} tracks spending.",
                ],
            )
            for i in range(6)
        ],
    )
    settings = Settings(index_dir=index_dir, embedding_model="fake")
    embed_missing(store, settings)
    refresh_index(store, settings)
    return index_dir


def _run(*args: str):  # noqa: ANN202
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("mode", ["bm25", "semantic", "hybrid"])
def test_json_lines_have_exactly_the_documented_keys(built, mode: str) -> None:  # noqa: ANN001
    result = _run("search", "supervisors coach principals", "--mode", mode, "--json", "--limit", "4", "--index-dir", str(built))
    assert result.exit_code == 0, result.output
    summary, lines = _lines(result.stdout)
    assert len(lines) == 4 and summary["returned"] == 4 and summary["total"] >= 4
    for obj in lines:
        assert set(obj) == JSON_KEYS | NEW_KEYS
        assert obj["matched_by"] and 0 < obj["relevance"] <= 100
        meta = obj["metadata"]
        for key in ("organization", "districts", "year", "doc_type", "url", "heading", "start", "end", "highlights"):
            assert key in meta
        for start, end in meta["highlights"]:
            assert obj["content"][start:end].lower().startswith(("supervisor", "coach", "principal"))


def test_document_mode_and_filters_from_the_command_line(built) -> None:  # noqa: ANN001
    result = _run(
        "search", "supervisors", "--by", "document", "--organization", "ers", "--year-from", "2012",
        "--json", "--index-dir", str(built),
    )
    assert result.exit_code == 0, result.output
    summary, hits = _lines(result.stdout)
    assert sorted(h["id"] for h in hits) == ["doc2", "doc4"] and summary["total"] == 2


def test_csv_output(built) -> None:  # noqa: ANN001
    result = _run("search", "budget spending", "--mode", "bm25", "--csv", "--limit", "3", "--index-dir", str(built))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3
    assert {"id", "document_id", "title", "score", "content", "organization", "year"} <= set(rows[0])
    assert all("budget" in r["content"] for r in rows)


def test_readable_output_shows_titles_and_snippets(built) -> None:  # noqa: ANN001
    result = _run("search", "budget spending", "--mode", "bm25", "--limit", "2", "--index-dir", str(built))
    assert result.exit_code == 0, result.output
    assert "Report" in result.stdout and "budget office" in result.stdout


def test_similar_json(built) -> None:  # noqa: ANN001
    result = _run("similar", "doc1-p0000", "--json", "--limit", "3", "--index-dir", str(built))
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 3 and all(set(h) == JSON_KEYS | NEW_KEYS for h in hits)
    assert "doc1-p0000" not in [h["id"] for h in hits]


def _rpp(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = "import sys; from rppsearch.cli.main import main; sys.argv = ['rpp', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RPP_MODEL": "fake", **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dimension", "leadership"], "Error: dimension: unknown dimension 'leadership'"),
        (["--year-from", "2020", "--year-to", "2001"], "Error: year_from: 2020 is after year_to 2001"),
        (["--weight", "3", "--fusion", "convex"], "Error: weight: must be between 0 and 1, got 3.0"),
        (["--document", "nope"], "Error: document_id: no document with id 'nope'"),
    ],
)
def test_bad_input_gets_one_error_line(built, args: list[str], message: str) -> None:  # noqa: ANN001
    proc = _rpp("search", "principals", "--mode", "bm25", *args, "--index-dir", str(built))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0].startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_store_is_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    proc = _rpp("search", "principals", "--index-dir", str(tmp_path / "nowhere"))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: {tmp_path / 'nowhere' / 'rpp.db'}: no rpp store here")


def test_bm25_search_and_help_never_import_torch(built) -> None:  # noqa: ANN001
    probe = (
        "import sys\n"
        "from rppsearch.cli.main import main\n"
        "sys.argv = ['rpp', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'sklearn', 'spacy', 'transformers') if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
    )
    for args in (
        ["search", "supervisors coach", "--mode", "bm25", "--json", "--index-dir", str(built)],
        ["search", "supervisors", "--mode", "bm25", "--by", "document", "--organization", "ERS", "--index-dir", str(built)],
        ["--help"],
        ["search", "--help"],
        # refused before any model loads: a malformed query, one with nothing to search for
        ["search", '"unclosed phrase', "--mode", "hybrid", "--index-dir", str(built)],
        ["search", "the of and", "--mode", "semantic", "--index-dir", str(built)],
        ["search", "coaching", "--mode", "hybrid", "--document", "nope", "--index-dir", str(built)],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120,
            env={**os.environ, "RPP_MODEL": "all-MiniLM-L6-v2"},
        )
        assert "HEAVY=\n" in proc.stderr, (args, proc.stderr[-2000:])
    # the probe itself can see torch: semantic search does import it
    proc = subprocess.run(
        [sys.executable, "-c", probe, "search", "x", "--mode", "semantic", "--index-dir", str(built)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RPP_MODEL": "fake"},
    )
    assert "torch" in proc.stderr.split("HEAVY=")[-1]


def test_snippet_window_holds_the_first_highlight_and_cuts_at_spaces() -> None:
    """The terminal and the Datasette page cut snippets with this one function."""
    from rppsearch.models import snippet_window

    words = [f"w{i:03d}" for i in range(400)]
    text = " ".join(words)
    at = text.index("w250")
    start, end = snippet_window(text, [(at, at + 4)], 120)
    assert start <= at < at + 4 <= end and end - start <= 120
    assert text[start - 1] == " " and text[end] == " "  # whole words only
    assert snippet_window("short text", [], 120) == (0, 10)
    assert snippet_window(text, [], 120)[0] == 0  # no highlight: the beginning


def test_paging_and_the_total_in_the_terminal_and_json(built) -> None:  # noqa: ANN001
    args = ["search", "supervisors principals", "--mode", "bm25", "--limit", "2", "--index-dir", str(built)]
    first = _run(*args)
    assert "Results 1-2 of 6 (bm25)" in first.stdout and "More: --offset 2" in first.stdout
    last = _run(*args, "--offset", "4", "--json")
    summary, hits = _lines(last.stdout)
    assert summary["total"] == 6 and summary["offset"] == 4 and len(hits) == 2
    earlier = _lines(_run(*args, "--json", "--limit", "4").stdout)[1]
    assert not {h["id"] for h in hits} & {h["id"] for h in earlier}
    assert dict(map(tuple, summary["facets"]["organization"])) == {"ERS": 3, "Wallace Foundation": 3}


def test_browsing_a_filter_without_a_query(built) -> None:  # noqa: ANN001
    result = _run("search", "--organization", "ERS", "--by", "document", "--json", "--index-dir", str(built))
    assert result.exit_code == 0, result.output
    summary, hits = _lines(result.stdout)
    assert [h["id"] for h in hits] == ["doc4", "doc2", "doc0"]  # newest first
    assert summary["total"] == 3 and summary["query"] == ""
    readable = _run("search", "--organization", "ERS", "--index-dir", str(built))
    assert "browsing, newest first" in readable.stdout


def test_per_document_cap_shows_what_it_folded(built) -> None:  # noqa: ANN001
    args = ["search", "--document", "doc1", "--per-document", "1", "--index-dir", str(built)]
    result = _run(*args)
    assert "+ 1 more from this document" in result.stdout
    summary, hits = _lines(_run(*args, "--json").stdout)
    assert len(hits) == 1 and hits[0]["more_from_document"] == 1 and summary["folded"] == 1
    summary, hits = _lines(_run("search", "--document", "doc1", "--per-document", "0", "--json", "--index-dir", str(built)).stdout)
    assert len(hits) == 2 and summary["folded"] == 0


def test_filters_report_documents_without_the_field(built, store) -> None:  # noqa: ANN001
    add_docs(store, [Doc(id="undated", passages=["Supervisors coach principals, undated."], organization="ERS")])
    args = ["search", "supervisors", "--mode", "bm25", "--year-from", "2011", "--index-dir", str(built)]
    result = _run(*args)
    assert "1 document lacks a year and was left out (use --include-unknown)" in result.stdout
    summary, hits = _lines(_run(*args, "--json").stdout)
    assert summary["unknown"] == {"year": 1} and "undated" not in {h["document_id"] for h in hits}
    summary, hits = _lines(_run(*args, "--json", "--include-unknown", "--limit", "20").stdout)
    assert summary["unknown"] == {"year": 1} and "undated" in {h["document_id"] for h in hits}


def test_a_query_with_nothing_to_search_for_is_an_error(built) -> None:  # noqa: ANN001
    proc = _rpp("search", "the of and", "--mode", "hybrid", "--index-dir", str(built))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("Error: the query 'the of and' has nothing to search for")
    proc = _rpp("search", '"theory of', "--index-dir", str(built))
    assert proc.returncode == 1 and proc.stderr.startswith("Error: query: unbalanced double quote")
