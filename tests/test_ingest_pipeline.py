"""Ingest end to end on real files and a real store: incremental, safe, catalog-aware."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rppsearch.errors import InputError
from rppsearch.ingest import metadata as meta
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.store import Store

PARA = (
    "Principal supervisors in the district spend most of their week in schools. They observe "
    "classrooms with principals, talk through what they see, and plan next steps together. "
    "The central office protects that time by moving compliance work to other staff members."
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def counts(store: Store) -> tuple[int, int]:
    docs = store.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    passages = store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    return docs, passages


def test_reingest_unchanged_does_no_work_and_changed_replaces(tmp_path: Path, store: Store) -> None:
    corpus = tmp_path / "corpus"
    a = write(corpus / "a.md", f"# Supervisors\n\n{PARA}\n")
    write(corpus / "b.txt", PARA.replace("Principal", "Teacher"))
    first = ingest_paths(store, [corpus])
    assert len(first.added) == 2 and not first.failed
    second = ingest_paths(store, [corpus])
    assert second.added == [] and second.updated == [] and len(second.unchanged) == 2
    write(a, f"# Supervisors\n\n{PARA}\n\nA new paragraph about human resources redesign and hiring.\n")
    third = ingest_paths(store, [corpus])
    assert third.updated == ["corpus-a"] and len(third.unchanged) == 1
    text = store.conn.execute("SELECT text FROM documents WHERE id='corpus-a'").fetchone()[0]
    assert "human resources" in text
    hits = store.conn.execute(
        "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'hiring'"
    ).fetchone()[0]
    assert hits == 1


def test_a_new_pipeline_version_reingests_what_an_older_one_stored(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from rppsearch.ingest import pipeline

    corpus = tmp_path / "corpus"
    write(corpus / "a.md", f"# Supervisors\n\n{PARA}\n")
    monkeypatch.setattr(pipeline, "PIPELINE_VERSION", "0")  # a store written before the last change
    ingest_paths(store, [corpus])
    monkeypatch.undo()
    again = ingest_paths(store, [corpus])
    assert again.updated == ["corpus-a"] and again.unchanged == []
    assert ingest_paths(store, [corpus]).unchanged == ["corpus-a"]


def test_bad_files_fail_one_line_each_and_leave_no_rows(tmp_path: Path, store: Store) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", PARA)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "garbage.pdf").write_bytes(bytes(range(256)) * 40)
    (corpus / "garbage.docx").write_bytes(b"PK\x03\x04 not really a zip" * 10)
    report = ingest_paths(store, [corpus, tmp_path / "missing-folder"])
    assert report.added == ["corpus-good"]
    failed = dict(report.failed)
    assert set(failed) == {
        str(corpus / "empty.txt"), str(corpus / "garbage.pdf"), str(corpus / "garbage.docx"),
        str(tmp_path / "missing-folder"),
    }
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert counts(store)[0] == 1


def test_prune_removes_documents_whose_files_are_gone(tmp_path: Path, store: Store) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "keep.txt", PARA)
    gone = write(corpus / "sub" / "gone.txt", PARA + " Extra words here.")
    ingest_paths(store, [corpus])
    gone.unlink()
    assert ingest_paths(store, [corpus]).pruned == []  # only with prune
    report = ingest_paths(store, [corpus], prune=True)
    assert report.pruned == ["corpus-sub-gone"]
    assert counts(store)[0] == 1


def test_catalog_metadata_wins_and_ids_come_from_it(tmp_path: Path, store: Store) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "docs" / "x.md", "---\ntitle: From front matter\nyear: 2001\n---\n\n" + PARA)
    write(
        corpus / "catalog.csv",
        "id,path,title,authors,organization,districts,year,doc_type,url,written_for_sample\n"
        'cat-x,docs/x.md,Catalog title,Ann Lee;Bo Diaz,Example Org,"North Harbor;Riverbend",2019,brief,,yes\n',
    )
    report = ingest_paths(store, [corpus])
    assert report.added == ["cat-x"], report.failed
    row = store.conn.execute("SELECT * FROM documents WHERE id='cat-x'").fetchone()
    assert row["title"] == "Catalog title" and row["year"] == 2019 and row["doc_type"] == "brief"
    assert json.loads(row["authors"]) == ["Ann Lee", "Bo Diaz"]
    assert json.loads(row["districts"]) == ["North Harbor", "Riverbend"]
    assert json.loads(row["metadata"])["written_for_sample"] == "yes"
    # changing only the catalog re-ingests the document
    catalog = (corpus / "catalog.csv").read_text().replace("2019", "2020")
    write(corpus / "catalog.csv", catalog)
    assert ingest_paths(store, [corpus]).updated == ["cat-x"]


def test_catalog_paths_cannot_escape_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "catalog.csv", "id,path,title\nx,../../etc/passwd,Sneaky\n")
    with pytest.raises(InputError, match="escapes"):
        meta.Catalog(corpus / "catalog.csv")


def test_sidecar_metadata(tmp_path: Path, store: Store) -> None:
    doc = write(tmp_path / "c" / "note.txt", PARA)
    write(tmp_path / "c" / "note.txt.meta.yaml", "title: Sidecar title\norganization: Sample Org\nyear: 2018\n")
    ingest_paths(store, [doc])
    row = store.conn.execute("SELECT id, title, organization, year FROM documents").fetchone()
    assert tuple(row) == ("note", "Sidecar title", "Sample Org", 2018)


def test_beir_jsonl_corpus_is_ingested_record_by_record(tmp_path: Path, store: Store) -> None:
    corpus = tmp_path / "tiny" / "corpus.jsonl"
    corpus.parent.mkdir()
    records = [{"_id": "d1", "title": "Zebras", "text": "Zebras graze on the savanna."},
               {"_id": "d2", "title": "", "text": "Lions hunt at night."}]
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\nnot json\n")
    report = ingest_paths(store, [corpus])
    assert report.added == ["tiny-d1", "tiny-d2"]
    assert len(report.failed) == 1 and "line 3" in report.failed[0][1]
    source = json.loads(store.conn.execute("SELECT metadata FROM documents WHERE id='tiny-d1'").fetchone()[0])
    assert source["source_id"] == "d1"


def test_symlink_loop_is_not_followed(tmp_path: Path, store: Store) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "a.txt", PARA)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "self.txt").symlink_to(corpus / "self.txt")
    report = ingest_paths(store, [corpus])
    assert report.added == ["corpus-a"]
    assert [reason for _, reason in report.failed] == ["broken or looping symlink"]


def test_cli_ingest_reports_summary_and_exit_code(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", PARA)
    (corpus / "empty.txt").write_bytes(b"")
    rpp = Path(sys.executable).with_name("rpp")
    proc = subprocess.run(
        [str(rpp), "ingest", str(corpus), "--index-dir", str(tmp_path / "idx")],
        capture_output=True, text=True, env={"RPP_MODEL": "fake", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert f"Error: {corpus / 'empty.txt'}: " in proc.stderr
    assert "1 added, 0 updated, 0 unchanged, 0 pruned, 1 failed" in proc.stderr


def test_a_moved_and_renamed_corpus_keeps_its_documents(tmp_path: Path) -> None:
    """Moving the project (or renaming the corpus folder) must not re-add every document
    under new ids, re-encode it, or strand the old rows; a copy still becomes its own document."""
    import shutil

    from _reliability import no_progress
    from rppsearch.build import build
    from rppsearch.config import Settings

    first = tmp_path / "here" / "corpus"
    write(first / "a.md", f"# Supervisors\n\n{PARA}\n")
    write(first / "sub" / "b.txt", PARA.replace("Principal", "Teacher"))
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[first], progress=no_progress)
    with Store.open(settings.db_path) as store:
        before = store.conn.execute("SELECT d.id, p.pk FROM documents d JOIN passages p ON p.document_id = d.id ORDER BY p.pk").fetchall()

    moved = tmp_path / "elsewhere" / "articles"
    moved.parent.mkdir()
    shutil.move(first, moved)
    report = build(settings, paths=[moved], prune=True, progress=no_progress)
    assert sorted(report.ingest.moved) == ["corpus-a", "corpus-sub-b"]
    assert report.ingest.added == [] and report.ingest.pruned == []
    assert report.stages["encode"]["encoded"] == 0
    with Store.open(settings.db_path) as store:
        after = store.conn.execute("SELECT d.id, p.pk FROM documents d JOIN passages p ON p.document_id = d.id ORDER BY p.pk").fetchall()
        paths = [r[0] for r in store.conn.execute("SELECT path FROM documents ORDER BY id")]
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert paths == [str((moved / "a.md").resolve()), str((moved / "sub" / "b.txt").resolve())]

    shutil.copy(moved / "a.md", moved / "a-copy.md")
    again = build(settings, paths=[moved], prune=True, progress=no_progress)
    assert again.ingest.added == ["articles-a-copy"] and again.ingest.moved == []


def test_a_file_deleted_while_the_corpus_moved_is_pruned_with_it(tmp_path: Path, store: Store) -> None:
    import shutil

    first = tmp_path / "here" / "corpus"
    write(first / "a.md", f"# Supervisors\n\n{PARA}\n")
    write(first / "gone.txt", PARA.replace("Principal", "Teacher"))
    write(tmp_path / "other" / "keep.txt", PARA.replace("Principal", "Assistant principal"))
    ingest_paths(store, [first, tmp_path / "other"])
    moved = tmp_path / "there" / "corpus"
    moved.parent.mkdir()
    shutil.move(first, moved)
    (moved / "gone.txt").unlink()
    report = ingest_paths(store, [moved], prune=True)
    assert report.moved == ["corpus-a"] and report.pruned == ["corpus-gone"]
    remaining = [r[0] for r in store.conn.execute("SELECT id FROM documents ORDER BY id")]
    assert remaining == ["corpus-a", "other-keep"]  # documents from other folders are never pruned


def test_moving_one_file_out_of_a_folder_prunes_nothing_left_in_that_folder(tmp_path: Path, store: Store) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    write(corpus / "a.md", f"# Supervisors\n\n{PARA}\n")
    write(corpus / "b.txt", PARA.replace("Principal", "Teacher"))
    ingest_paths(store, [corpus])
    (tmp_path / "new").mkdir()
    shutil.move(corpus / "a.md", tmp_path / "new" / "a.md")  # corpus/ stays, with b.txt in it
    report = ingest_paths(store, [tmp_path / "new"], prune=True)
    assert report.moved == ["corpus-a"] and report.pruned == [] and not report.failed
    assert [r[0] for r in store.conn.execute("SELECT id FROM documents ORDER BY id")] == ["corpus-a", "corpus-b"]


def test_a_moved_file_reached_through_a_symlink_is_moved_and_not_also_failed(tmp_path: Path, store: Store) -> None:
    outside = write(tmp_path / "outside" / "a.md", f"# Supervisors\n\n{PARA}\n")
    ingest_paths(store, [tmp_path / "outside"])
    moved = tmp_path / "elsewhere" / "a.md"
    moved.parent.mkdir()
    outside.rename(moved)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "link.md").symlink_to(moved)  # inside the corpus, resolving outside it
    report = ingest_paths(store, [tmp_path / "corpus"], prune=True)
    assert report.moved == ["outside-a"] and report.failed == []
