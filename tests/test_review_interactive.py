"""`rpp review` and `rpp add --review` driven as a person would, through a real terminal (pexpect).

The store is real (SQLite file, spaCy segmentation); the program is the installed `rpp`; keys
are single characters sent to an 80x24 pseudo-terminal. Every check on the outcome reads
the labels table or runs a search filtered by the dimension decided.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from review_support import build_store, labels, passage_dims

from rppsearch.config import Settings, default_examples_paths
from rppsearch.search import Filters, search
from rppsearch.store import Store

pexpect = pytest.importorskip("pexpect")

RPP = str(Path(sys.executable).with_name("rpp"))
TIMEOUT = 20


def spawn(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    full_env = {k: v for k, v in os.environ.items() if k not in ("RPP_HOME", "RPP_REVIEWER")}
    full_env.update({"RPP_MODEL": "fake", "NO_COLOR": "1", "TERM": "xterm", **(env or {})})
    return pexpect.spawn(RPP, list(args), env=full_env, dimensions=(24, 80), encoding="utf-8", timeout=TIMEOUT)


def finish(child) -> int:  # noqa: ANN001
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def bm25(index_dir: Path, query: str, dimension: str) -> list[str]:
    with Store.open(index_dir / "rpp.db", create=False) as store:
        hits = search(store, Settings(index_dir=index_dir), query=query, mode="bm25", filters=Filters(dimensions=[dimension]))
    return [h.id for h in hits]


@pytest.fixture
def review_dir(index_dir: Path) -> Path:
    build_store(index_dir / "rpp.db").close()
    return index_dir


def test_review_accept_reject_add_note_undo_quit_and_resume(review_dir: Path) -> None:
    idx = ["--index-dir", str(review_dir)]
    assert "coaching-p0000" in bm25(review_dir, "principals", "partnership-assistance")  # the model's suggestion

    child = spawn("review", "--reviewer", "ana", *idx)
    child.expect_exact("4 of 4 left")
    child.expect_exact("coaching-p0000 · passage 1 of 2")  # the most uncertain passage first
    child.expect_exact("? help")
    child.send("?")
    child.expect_exact("decide which dimensions each passage speaks to")
    child.send("x")
    child.expect_exact("? help")
    child.send("r")  # two dimensions apply: asked which
    child.expect_exact("Reject which?")
    child.send("2")
    child.expect_exact("Rejected partnership-assistance.")
    child.send("d")
    child.expect_exact("Add which dimension?")
    child.send("4")
    child.expect_exact("Added stewardship.")
    child.send("n")
    child.expect_exact("Note: ")
    child.sendline("caseloads come up too")
    child.expect_exact("Note kept")
    child.send("a")  # (each screen: header, passage, dimensions, then the last action's message)
    child.expect_exact("data-cycles-p0000 · passage 1 of 1")
    child.expect_exact("coaching-p0000: saved — learning-partnerships, stewardship (2 others rejected)")
    child.send("u")  # takes back the accept, not the reject/add before it; the note comes back too
    child.expect_exact("coaching-p0000 · passage 1 of 2")
    child.expect_exact("Note (saved with your next decision): caseloads come up too")
    child.expect_exact("Undid")
    child.send("a")
    child.expect_exact("data-cycles-p0000 · passage 1 of 1")
    child.send("s")
    child.expect_exact("coaching-p0001")
    child.expect_exact("Skipped data-cycles-p0000.")
    child.send("q")  # quit mid-way
    child.expect_exact("Saved.")
    assert finish(child) == 0

    with Store.open(review_dir / "rpp.db", create=False) as store:
        rows = labels(store)
        decided = sorted((r["target_id"], r["dimension_id"] or "", r["decision"]) for r in rows)
        assert decided == [
            ("coaching-p0000", "evidence-use", "reject"),
            ("coaching-p0000", "learning-partnerships", "accept"),
            ("coaching-p0000", "partnership-assistance", "reject"),
            ("coaching-p0000", "stewardship", "accept"),
            ("coaching-p0000", "unit-reorganization", "reject"),
            ("data-cycles-p0000", "", "skip"),
        ]
        assert {r["reviewer"] for r in rows} == {"ana"}
        noted = {r["dimension_id"] for r in rows if r["note"] == "caseloads come up too"}
        assert noted == {"learning-partnerships", "unit-reorganization", "evidence-use"}  # saved with the accept
        assert passage_dims(store, "coaching-p0000") == ["learning-partnerships", "stewardship"]
    # the decisions show in searches filtered by those dimensions
    assert "coaching-p0000" in bm25(review_dir, "principals", "stewardship")
    assert "coaching-p0000" not in bm25(review_dir, "principals", "partnership-assistance")

    child = spawn("review", "--reviewer", "ana", *idx)  # resume where ana left off
    child.expect_exact("2 of 4 left")
    child.expect_exact("coaching-p0001 · passage 2 of 2")
    child.send("a")
    child.expect_exact("hr-redesign-p0000")
    child.send("a")
    child.expect_exact("Nothing left to review for ana")
    assert finish(child) == 0

    child = spawn("review", *idx, env={"RPP_REVIEWER": "ben"})  # another reviewer starts afresh
    child.expect_exact("ben · 4 of 4 left")
    child.expect_exact("coaching-p0000")
    child.send("q")
    assert finish(child) == 0


def test_review_refuses_without_a_terminal(review_dir: Path) -> None:
    proc = subprocess.run(
        [RPP, "review", "--index-dir", str(review_dir), "--reviewer", "ana"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "RPP_MODEL": "fake"},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: rpp review needs an interactive terminal")
    assert "rpp label" in proc.stderr


# -- rpp add -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index dir holding only a quickly trained TF-IDF tagger (a handful of shipped examples a dimension)."""
    from rppsearch.tag.registry import train_and_register

    folder = tmp_path_factory.mktemp("small-model")
    by_label: dict[str, list[str]] = {}
    for path in default_examples_paths():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                for key in record["labels"] or ["(none)"]:
                    by_label.setdefault(key, []).append(line)
    chosen = list(dict.fromkeys(line for lines in by_label.values() for line in lines[:12]))
    examples = folder / "examples.jsonl"
    examples.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    settings = Settings(index_dir=folder / "idx", embedding_model="fake")
    with Store.open(settings.db_path) as store:
        train_and_register(store, settings, label_files=[examples], features="tfidf")
    return folder / "idx"


ARTICLE = """\
# Redesigning how the district office serves principals

The district's human resources department reorganized into case managers. Each case manager now
serves a group of schools, so principals call one person for hiring and staffing questions instead
of navigating five separate offices, and the department measures itself by how quickly schools get help.

Principal supervisors spend most of their week inside schools. They observe classrooms alongside each
principal, model feedback conversations with teachers, and meet principals in small learning groups
to practise instructional leadership together.
"""


def test_add_review_search_and_edit(small_model_dir: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    shutil.copytree(small_model_dir, idx)
    article = tmp_path / "hr-case-managers.md"
    article.write_text(ARTICLE, encoding="utf-8")
    env = {**os.environ, "RPP_MODEL": "fake"}
    proc = subprocess.run([RPP, "add", str(article), "--index-dir", str(idx), "--json", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    (doc,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert doc["id"] == "hr-case-managers" and doc["status"] == "added" and doc["passages"] >= 1
    dims = {d["dimension_id"]: d for d in doc["dimensions"]}
    assert set(dims) == {"learning-partnerships", "partnership-assistance", "unit-reorganization", "stewardship", "evidence-use"}
    suggested = [d for d in doc["dimensions"] if d["assigned"]]
    assert all(d["evidence"] and d["evidence"]["passage_id"].startswith("hr-case-managers-p") for d in suggested)

    with Store.open(idx / "rpp.db", create=False) as store:
        n_passages = store.conn.execute("SELECT count(*) FROM passages WHERE document_id = 'hr-case-managers'").fetchone()[0]

    # add again with --review: nothing is re-ingested; review each passage, adding stewardship
    child = spawn("add", str(article), "--index-dir", str(idx), "--review", "--reviewer", "cleo")
    child.expect_exact("0 added, 0 updated, 1 unchanged")
    child.expect_exact("hr-case-managers-p0000")
    for _ in range(n_passages):
        child.expect_exact("? help")
        child.send("d")
        child.expect_exact("Add which dimension?")
        child.send("4")
        child.expect_exact("Added stewardship.")
        child.send("a")
    child.expect_exact("Nothing left to review for cleo")
    assert finish(child) == 0
    with Store.open(idx / "rpp.db", create=False) as store:
        accepted = {r["target_id"] for r in labels(store) if r["dimension_id"] == "stewardship" and r["decision"] == "accept"}
        assert len(accepted) == n_passages and {r["reviewer"] for r in labels(store)} == {"cleo"}
    proc = subprocess.run([RPP, "search", "case managers", "--mode", "bm25", "--dimension", "stewardship",
                           "--index-dir", str(idx), "--json"], capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    summary, *hits = [json.loads(line) for line in proc.stdout.splitlines()]  # a summary line, then the hits
    assert "summary" in summary and "hr-case-managers-p0000" in [hit["id"] for hit in hits]

    # the author adds a section: only this file is re-tagged, and cleo's decisions stay on the
    # passages whose text did not change
    article.write_text(ARTICLE + "\n## What principals said\n\n" + " ".join(
        ["Principals said the single contact saved them hours each week during hiring season."] * 6) + "\n", encoding="utf-8")
    proc = subprocess.run([RPP, "add", str(article), "--index-dir", str(idx), "--json", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "updated"
    with Store.open(idx / "rpp.db", create=False) as store:
        assert "stewardship" in passage_dims(store, "hr-case-managers-p0000")
        source = store.conn.execute(
            "SELECT t.source FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk "
            "WHERE p.id = 'hr-case-managers-p0000' AND t.dimension_id = 'stewardship'").fetchone()[0]
        assert source == "human"

