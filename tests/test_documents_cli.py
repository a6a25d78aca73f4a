"""`rpp documents`, `rpp show`, `rpp edit`, `rpp remove`, and the catalog winning whichever command ingests."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rppsearch.cli.main import app
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.store import Store


def _corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "corpus" / "docs"
    docs.mkdir(parents=True)
    (docs / "highline.md").write_text(
        "# Learning labs in Highline\n\nSeptember 2024\n\nLeaders from Highline Public Schools hosted a learning "
        "lab where principal supervisors observed classrooms with principals.\n",
        encoding="utf-8",
    )
    (docs / "dallas.txt").write_text(
        "Supporting struggling schools\n\nThe central office in Dallas ISD reenvisioned school support for "
        "principals and teachers across the city.\n",
        encoding="utf-8",
    )
    (tmp_path / "corpus" / "catalog.csv").write_text(
        "id,path,title,organization,districts,year\n"
        "dallas-case,docs/dallas.txt,Dallas ISD Case Study,Education Resource Strategies,Dallas,2018\n",
        encoding="utf-8",
    )
    return tmp_path / "corpus"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_catalog_wins_when_a_file_is_added_on_its_own(store, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    ingest_paths(store, [corpus / "docs" / "dallas.txt"])  # what `rpp add corpus/docs/dallas.txt` does
    row = store.conn.execute("SELECT id, title, year, districts, metadata_sources FROM documents").fetchone()
    assert (row["id"], row["title"], row["year"]) == ("dallas-case", "Dallas ISD Case Study", 2018)
    assert json.loads(row["districts"]) == ["Dallas ISD"]
    assert json.loads(row["metadata_sources"])["year"] == "catalog"


def test_list_show_edit_survives_reingest_and_remove(tmp_path: Path, index_dir: Path) -> None:
    corpus = _corpus(tmp_path)
    with Store.open(index_dir / "rpp.db") as store:
        ingest_paths(store, [corpus])
        store.conn.execute(
            "INSERT INTO labels (target_type, target_id, dimension_id, decision, reviewer, created_at) "
            "VALUES ('passage', 'corpus-docs-highline-p0000', 'learning-partnerships', 'accept', 'ana', '2026-01-01')"
        )
    listing = [json.loads(line) for line in _run("documents", "--index-dir", str(index_dir), "--json").splitlines()]
    by_id = {d["id"]: d for d in listing}
    assert set(by_id) == {"dallas-case", "corpus-docs-highline"}
    assert by_id["corpus-docs-highline"]["year"] == 2024
    assert by_id["corpus-docs-highline"]["sources"]["year"] == "document"
    assert by_id["corpus-docs-highline"]["mentioned_districts"] == ["Highline Public Schools"]
    missing = _run("documents", "--index-dir", str(index_dir), "--missing", "organization", "--csv")
    assert "corpus-docs-highline" in missing and "dallas-case" not in missing
    by_district = _run("documents", "--index-dir", str(index_dir), "--district", "Highline", "--json")
    assert [json.loads(x)["id"] for x in by_district.splitlines()] == ["corpus-docs-highline"]

    shown = json.loads(_run("show", "corpus-docs-highline", "--index-dir", str(index_dir), "--json"))
    assert shown["passages"] and shown["passages"][0]["id"] == "corpus-docs-highline-p0000"

    _run("edit", "corpus-docs-highline", "--index-dir", str(index_dir), "--year", "2023",
         "--organization", "University of Washington DL2", "--district", "Highline", "-q")
    # the file changes and is re-parsed: the user's edits stay
    md = corpus / "docs" / "highline.md"
    md.write_text(md.read_text(encoding="utf-8") + "\nA second visit followed in the spring.\n", encoding="utf-8")
    with Store.open(index_dir / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert report.updated == ["corpus-docs-highline"]
    shown = json.loads(_run("show", "corpus-docs-highline", "--index-dir", str(index_dir), "--json", "--no-passages"))
    assert (shown["year"], shown["organization"], shown["districts"]) == (2023, "University of Washington DL2", ["Highline Public Schools"])
    assert shown["sources"]["year"] == shown["sources"]["organization"] == "user"
    assert shown["overrides"]["year"] == 2023

    out = _run("remove", "corpus-docs-highline", "--index-dir", str(index_dir), "--json")
    assert json.loads(out)["id"] == "corpus-docs-highline"
    with Store.open(index_dir / "rpp.db") as store:
        assert store.conn.execute("SELECT count(*) FROM documents WHERE id = 'corpus-docs-highline'").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM passages WHERE document_id = 'corpus-docs-highline'").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 1  # the decision is kept
    result = CliRunner().invoke(app, ["show", "corpus-docs-highline", "--index-dir", str(index_dir)])
    assert result.exit_code != 0


def test_show_prints_how_a_shared_title_was_told_apart_readably(tmp_path: Path, index_dir: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    body = {"a": "In one district the principal supervisors met weekly with principals in their schools.",
            "b": "A second chapter explains how the human resources unit was reorganized to serve schools."}
    for name, text in body.items():
        (docs / f"{name}.txt").write_text(f"Central Office Report\n\n{text}\n", encoding="utf-8")
    with Store.open(index_dir / "rpp.db") as store:
        ingest_paths(store, [docs])
        doc_id = store.conn.execute("SELECT id FROM documents WHERE path LIKE '%a.txt'").fetchone()["id"]
    result = CliRunner().invoke(app, ["show", doc_id, "--index-dir", str(index_dir)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    flat = " ".join(out.split())
    assert "shared_title" in flat and "told apart by: its opening words" in flat
    assert "{'" not in out  # a mapping is shown as 'key: value' pairs, not as Python's repr
