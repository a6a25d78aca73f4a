"""`rpp bench retrieval` on a tiny BEIR folder: metrics from ranx, cache reuse, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rppsearch.bench import read_beir, run_retrieval
from rppsearch.cli.main import app
from rppsearch.config import Settings
from rppsearch.errors import InputError

TOPICS = [
    ("d1", "Principal supervisors", "Principal supervisors coach principals on instructional leadership every week."),
    ("d2", "Bus transportation", "The district changed bus routes after a shortage of drivers in the fall."),
    ("d3", "Budget", "The board approved a budget moving money from the central office to schools."),
    ("d4", "Evidence use", "Staff use evidence from classroom visits to decide where support goes."),
    ("d5", "Hiring", "Human resources helps principals hire teachers earlier in the spring."),
    ("d6", "Facilities", "Roof repairs and boiler replacements were scheduled over the summer."),
]


def _beir(folder: Path, queries: list[tuple[str, str, list[tuple[str, int]]]]) -> Path:
    folder.mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as handle:
        for _id, title, text in TOPICS:
            handle.write(json.dumps({"_id": _id, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as handle:
        for qid, text, _ in queries:
            handle.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (folder / "qrels").mkdir()
    with open(folder / "qrels" / "test.tsv", "w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for qid, _, rels in queries:
            for doc, score in rels:
                handle.write(f"{qid}\t{doc}\t{score}\n")
    return folder


def test_perfect_and_imperfect_rankings_score_as_ranx_defines(tmp_path: Path) -> None:
    folder = _beir(
        tmp_path / "mini",
        [
            ("q1", "coach principals supervisors", [("d1", 1)]),
            ("q2", "bus drivers shortage", [("d2", 1)]),
            ("q3", "roof boiler repairs", [("d6", 1)]),
            ("q4", "nothing matches zzz", [("d3", 1), ("d5", 0)]),  # graded 0 = not relevant
        ],
    )
    settings = Settings(index_dir=tmp_path / "idx", embedding_model="fake")
    result = run_retrieval(folder=folder, settings=settings, modes=["bm25", "hybrid"])
    assert result["queries"] == 4 and result["documents"] == 6
    bm25 = result["modes"]["bm25"]
    # three queries put their document first; the fourth finds nothing by terms
    assert bm25["mrr@10"] == pytest.approx(0.75)
    assert bm25["ndcg@10"] == pytest.approx(0.75)
    assert bm25["recall@100"] == pytest.approx(0.75)
    hybrid = result["modes"]["hybrid"]
    assert hybrid["recall@100"] == pytest.approx(1.0)  # the dense side ranks every document
    assert hybrid["ndcg@10"] > bm25["ndcg@10"]  # q4's document is found by the dense side only
    assert bm25["latency_ms"]["p50"] > 0
    assert "ingest" in result["prepare"]
    again = run_retrieval(folder=folder, settings=settings, modes=["bm25"])
    assert "ingest" not in again["prepare"]  # the cache is reused while corpus.jsonl is unchanged
    assert again["prepare"]["embed"]["encoded"] == 0
    assert again["modes"]["bm25"]["ndcg@10"] == bm25["ndcg@10"]


def test_cli_table_and_json(tmp_path: Path) -> None:
    folder = _beir(tmp_path / "mini", [("q1", "coach principals", [("d1", 1)]), ("q2", "bus routes", [("d2", 1)])])
    runner = CliRunner()
    result = runner.invoke(
        app, ["bench", "retrieval", str(folder), "--mode", "bm25", "--json", "--index-dir", str(tmp_path / "idx")],
        env={"RPP_MODEL": "fake"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["modes"]) == {"bm25"} and data["modes"]["bm25"]["ndcg@10"] == pytest.approx(1.0)
    result = runner.invoke(app, ["bench", "retrieval", str(folder), "--mode", "bm25", "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.stdout and "1.0000" in result.stdout


def test_missing_files_are_named(tmp_path: Path) -> None:
    folder = _beir(tmp_path / "mini", [("q1", "coach", [("d1", 1)])])
    with pytest.raises(InputError, match=r"qrels/dev\.tsv: missing"):
        read_beir(folder, "dev")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\tlots\n")
    with pytest.raises(InputError, match=r"test\.tsv: line 2: score 'lots' is not a whole number"):
        read_beir(folder, "test")
