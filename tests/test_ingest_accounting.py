"""Every file found is accounted for: unsupported files in folders are counted by type and
named, `--json` lists them with a reason, and a run that ingests nothing says so and exits 1."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.store import Store

PARA = (
    "Principal supervisors in the district spend most of their week in schools. They observe "
    "classrooms with principals, talk through what they see, and plan next steps together."
)


def _mixed_folder(root: Path, *, with_document: bool) -> Path:
    corpus = root / "corpus"
    (corpus / "data").mkdir(parents=True)
    if with_document:
        (corpus / "report.txt").write_text(PARA, encoding="utf-8")
    (corpus / "data" / "schools.csv").write_text("district,schools\nHighline,32\n", encoding="utf-8")
    (corpus / "data" / "budget.csv").write_text("year,amount\n2019,5\n", encoding="utf-8")
    (corpus / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (corpus / "staffing.xlsx").write_bytes(b"PK\x03\x04" + bytes(64))
    (corpus / ".DS_Store").write_bytes(bytes(16))  # hidden: not a document, not counted
    (corpus / "catalog.csv").write_text("id,path,title\n", encoding="utf-8")  # the catalog: not counted
    return corpus


def test_report_lists_skipped_files_by_type(tmp_path: Path) -> None:
    corpus = _mixed_folder(tmp_path, with_document=True)
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
    assert report.added == ["corpus-report"]
    assert report.skipped_by_type() == {".csv": 2, ".png": 1, ".xlsx": 1}
    assert sorted(Path(p).name for p, _ in report.skipped) == ["budget.csv", "logo.png", "schools.csv", "staffing.xlsx"]
    assert dict((Path(p).name, r) for p, r in report.skipped)["logo.png"] == "unsupported file type .png"
    assert report.summary()["skipped"] == 4 and not report.nothing_ingested


def _rpp(*args: str) -> Result:
    """The real CLI in-process (the fake encoder: tagging and indexing run, quickly)."""
    from rppsearch.cli.main import app

    return CliRunner().invoke(app, list(args), env={"RPP_MODEL": "fake"})


def test_cli_names_skipped_files_and_lists_them_in_json(tmp_path: Path) -> None:
    corpus = _mixed_folder(tmp_path, with_document=True)
    proc = _rpp("ingest", str(corpus), "--index-dir", str(tmp_path / "idx"))
    assert proc.exit_code == 0, proc.stderr
    assert "1 added, 0 updated, 0 unchanged, 0 pruned, 0 failed, 4 skipped" in proc.stderr
    assert "skipped 4 (not a supported type): 2 .csv, 1 .png, 1 .xlsx" in proc.stderr
    assert f"skipped {corpus / 'logo.png'}" in proc.stderr

    proc = _rpp("ingest", str(corpus), "--index-dir", str(tmp_path / "idx"), "--json")
    assert proc.exit_code == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {"status": "unchanged", "id": "corpus-report"} in rows
    skipped = {Path(r["path"]).name: r["reason"] for r in rows if r.get("status") == "skipped"}
    assert skipped == {
        "schools.csv": "unsupported file type .csv",
        "budget.csv": "unsupported file type .csv",
        "logo.png": "unsupported file type .png",
        "staffing.xlsx": "unsupported file type .xlsx",
    }
    assert rows[-1]["summary"]["skipped"] == 4 and rows[-1]["skipped_by_type"] == {".csv": 2, ".png": 1, ".xlsx": 1}


def test_cli_folder_with_nothing_readable_says_so_and_exits_1(tmp_path: Path) -> None:
    corpus = _mixed_folder(tmp_path, with_document=False)
    proc = _rpp("ingest", str(corpus), "--index-dir", str(tmp_path / "idx"))
    assert proc.exit_code == 1
    assert "0 added, 0 updated, 0 unchanged, 0 pruned, 0 failed, 4 skipped" in proc.stderr
    assert "Error: nothing ingested: no readable documents found, only unsupported files; supported: " in proc.stderr
    assert ".pptx" in proc.stderr and ".bib" in proc.stderr
    assert "tag:" not in proc.stderr and not (tmp_path / "idx" / "models").exists()  # nothing trained on nothing
