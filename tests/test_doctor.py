"""`rpp doctor`: each kind of damage done on purpose is found, and `--repair` fixes what is derived.

One fully built store (ingested, encoded with the fake encoder, tagged, indexed) is made once
per module; every test damages its own copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _reliability import connect, no_progress, store_violations, write_corpus
from rppsearch.config import Settings
from rppsearch.doctor import run_doctor
from rppsearch.doctor.findings import DoctorReport
from rppsearch.store import SCHEMA_VERSION, Store
from rppsearch.store.schema import MIGRATIONS

FAKE = "fake"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A healthy, fully derived store: 6 documents, vectors, tags, the vectors index."""
    from rppsearch.build import build
    from rppsearch.tag.pipeline import tag_store

    root = tmp_path_factory.mktemp("doctor-template")
    corpus = root / "corpus"
    write_corpus(corpus, 6)
    settings = Settings(index_dir=root / "ix", embedding_model=FAKE)
    build(settings, paths=[corpus], progress=no_progress)
    with Store.open(settings.db_path) as store:
        tag_store(store, settings)
        from rppsearch.index.bm25 import refresh_lexical
        from rppsearch.index.vectors import refresh_index

        refresh_index(store, settings)
        refresh_lexical(store, settings)  # until build does it
    return root


@pytest.fixture
def ix(template: Path, tmp_path: Path) -> Settings:
    """This test's own copy of the template store (its documents point at the template's corpus)."""
    shutil.copytree(template / "ix", tmp_path / "ix")
    return Settings(index_dir=tmp_path / "ix", embedding_model=FAKE)


def by_check(report: DoctorReport) -> dict[str, str]:
    return {f.check: f.status for f in report.findings}


def problems(report: DoctorReport) -> set[str]:
    return {f.check for f in report.problems}


def sql(settings: Settings, statement: str, params: tuple = (), *, fk: bool = True) -> None:
    conn = connect(settings.db_path)
    conn.execute(f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'}")
    conn.execute(statement, params)
    conn.close()


def one(settings: Settings, query: str, params: tuple = ()) -> object:
    conn = connect(settings.db_path)
    try:
        return conn.execute(query, params).fetchone()[0]
    finally:
        conn.close()


def test_a_healthy_store_passes_every_check(ix: Settings) -> None:
    report = run_doctor(settings=ix, sample=50)
    statuses = by_check(report)
    assert report.ok, report.rows()
    for check in ("schema", "integrity", "fts:passages_fts", "fts:documents_fts", "vectors:index",
                  "vectors:missing", "vectors:model", "tags", "passage-counts", "orphans:passages"):
        assert statuses[check] == "ok", (check, report.rows())


def test_dropped_fts_rows_are_found_and_rebuilt(ix: Settings) -> None:
    pk, text, heading, title = None, None, None, None
    conn = connect(ix.db_path)
    pk, text, heading, title = conn.execute(
        "SELECT pk, text, heading, title FROM passages WHERE text LIKE '%zq0003x%'"
    ).fetchone()
    conn.execute(
        "INSERT INTO passages_fts(passages_fts, rowid, text, heading, title) VALUES ('delete', ?, ?, ?, ?)",
        (pk, text, heading, title),
    )
    assert conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'zq0003x'").fetchone()[0] == 0
    conn.close()

    found = run_doctor(settings=ix, quick=True)
    assert problems(found) == {"fts:passages_fts"}
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok and by_check(repaired)["fts:passages_fts"] == "repaired"
    assert any("rebuilt passages_fts" in a for a in repaired.actions)
    assert one(ix, "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH 'zq0003x'") == 1


def test_documents_fts_damage_is_found_and_rebuilt(ix: Settings) -> None:
    conn = connect(ix.db_path)
    pk, title, text = conn.execute("SELECT pk, title, text FROM documents ORDER BY pk LIMIT 1").fetchone()
    conn.execute(
        "INSERT INTO documents_fts(documents_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)", (pk, title, text)
    )
    conn.close()
    assert problems(run_doctor(settings=ix, quick=True)) == {"fts:documents_fts"}
    assert run_doctor(settings=ix, quick=True, repair=True).ok
    assert store_violations(ix.db_path) == []


def test_deleted_manifest_is_found_and_the_index_rebuilt(ix: Settings) -> None:
    from rppsearch.index.vectors import load_index

    (ix.vectors_dir / "manifest.json").unlink()
    found = run_doctor(settings=ix, quick=True)
    assert problems(found) == {"vectors:index"}
    assert "no vectors index" in next(f.message for f in found.problems)
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok and by_check(repaired)["vectors:index"] == "repaired"
    index = load_index(ix)
    assert index.count == one(ix, "SELECT count(*) FROM passages")


def test_index_files_that_disagree_with_their_manifest_are_found(ix: Settings) -> None:
    pks = np.load(ix.vectors_dir / "pks.npy")
    np.save(ix.vectors_dir / "pks.npy", pks[::-1].copy())  # same length, other order
    found = run_doctor(settings=ix, quick=True)
    assert problems(found) == {"vectors:index"}
    assert "do not match their manifest" in found.problems[0].message
    assert run_doctor(settings=ix, quick=True, repair=True).ok


def test_a_vector_scaled_out_of_unit_length_is_found_and_reencoded(ix: Settings) -> None:
    from rppsearch.embed import get_encoder
    from rppsearch.store.vectors import from_blob, to_blob

    pk, blob = one_row(ix, "SELECT passage_pk, vector FROM passage_vectors ORDER BY passage_pk LIMIT 1")
    sql(ix, "UPDATE passage_vectors SET vector = ? WHERE passage_pk = ?", (to_blob(from_blob(blob) * 3), pk))
    found = run_doctor(settings=ix, quick=True)
    assert {"vectors:rows", "vectors:index"} <= problems(found)
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok, repaired.rows()
    _, fixed = one_row(ix, "SELECT passage_pk, vector FROM passage_vectors WHERE passage_pk = ?", (pk,))
    assert np.array_equal(from_blob(fixed), from_blob(blob))  # re-encoded: the fake encoder is deterministic
    assert get_encoder(FAKE).fingerprint == one(ix, "SELECT model FROM passage_vectors WHERE passage_pk = ?", (pk,))


def test_a_plausible_but_wrong_vector_is_caught_by_reencoding(ix: Settings) -> None:
    """A swapped unit vector passes the shape checks; the index comparison and re-encoding catch it."""
    (a, blob_a), (b, blob_b) = rows(ix, "SELECT passage_pk, vector FROM passage_vectors ORDER BY passage_pk LIMIT 2")
    sql(ix, "UPDATE passage_vectors SET vector = ? WHERE passage_pk = ?", (blob_b, a))
    found = run_doctor(settings=ix, sample=1000)
    assert problems(found) == {"vectors:model", "vectors:index"}
    assert str(a) in next(f.message for f in found.problems if f.check == "vectors:model")
    repaired = run_doctor(settings=ix, sample=1000, repair=True)
    assert repaired.ok, repaired.rows()
    assert one_row(ix, "SELECT vector FROM passage_vectors WHERE passage_pk = ?", (a,))[0] == blob_a


def test_vectors_of_another_model_are_found_and_replaced(ix: Settings) -> None:
    sql(ix, "UPDATE passage_vectors SET model = 'other-model@123' WHERE passage_pk IN "
            "(SELECT passage_pk FROM passage_vectors ORDER BY passage_pk LIMIT 2)")
    found = run_doctor(settings=ix, quick=True)
    missing = next(f for f in found.problems if f.check == "vectors:missing")
    assert missing.count == 2 and "another model" in missing.message
    assert run_doctor(settings=ix, quick=True, repair=True).ok
    assert one(ix, "SELECT count(*) FROM passage_vectors WHERE model != 'fake@384'") == 0


def test_orphans_are_found_and_deleted_but_labels_are_kept(ix: Settings) -> None:
    labels_before = one(ix, "SELECT count(*) FROM labels")
    docs_before = one(ix, "SELECT count(*) FROM documents")
    dim = one(ix, "SELECT id FROM dimensions LIMIT 1")
    sql(ix, "INSERT INTO passage_vectors (passage_pk, model, text_hash, vector) VALUES (999999, 'fake@384', 'x', ?)",
        (np.ones(384, dtype="<f4").tobytes(),), fk=False)
    sql(ix, "INSERT INTO passage_tags (passage_pk, dimension_id, score, assigned, source) "
            "VALUES (999998, ?, 0.9, 1, 'model')", (dim,), fk=False)
    sql(ix, "INSERT INTO document_tags (document_id, dimension_id, score, assigned, n_passages, source) "
            "VALUES ('gone-doc', ?, 0.9, 1, 1, 'model')", (dim,), fk=False)
    sql(ix, "INSERT INTO labels (target_type, target_id, dimension_id, decision, reviewer, created_at) "
            "VALUES ('passage', 'gone-doc-p0000', ?, 'accept', 'ana', '2024-01-01')", (dim,))
    found = run_doctor(settings=ix, quick=True)
    assert problems(found) == {"orphans:passage_vectors", "orphans:passage_tags", "orphans:document_tags"}
    assert by_check(found)["labels"] == "warning"
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok, repaired.rows()
    assert by_check(repaired)["labels"] == "warning"  # reported, never deleted
    assert one(ix, "SELECT count(*) FROM labels") == labels_before + 1
    assert one(ix, "SELECT count(*) FROM documents") == docs_before
    assert store_violations(ix.db_path) == []


def test_orphan_passages_are_deleted_and_the_index_follows(ix: Settings) -> None:
    conn = connect(ix.db_path)
    conn.execute("PRAGMA foreign_keys = OFF")
    doc = conn.execute("SELECT id FROM documents ORDER BY id LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM documents WHERE id = ?", (doc,))  # passages stay behind
    conn.close()
    found = run_doctor(settings=ix, quick=True)
    assert "orphans:passages" in problems(found)
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok, repaired.rows()  # the index went stale when passages left, and was rebuilt
    assert one(ix, "SELECT count(*) FROM passages WHERE document_id = ?", (doc,)) == 0
    assert store_violations(ix.db_path) == []


def test_a_half_written_document_is_marked_and_the_next_ingest_completes_it(ix: Settings) -> None:
    from rppsearch.ingest.pipeline import ingest_paths

    doc, pk = one_row(ix, "SELECT document_id, max(pk) FROM passages GROUP BY document_id ORDER BY document_id LIMIT 1")
    sql(ix, "DELETE FROM passages WHERE pk = ?", (pk,))
    found = run_doctor(settings=ix, quick=True)
    assert "passage-counts" in problems(found)
    assert doc in next(f.message for f in found.problems if f.check == "passage-counts")
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert "passage-counts" in problems(repaired)  # not derived: it needs the file, so it stays a problem
    assert "marked for re-ingest" in next(f.message for f in repaired.problems)
    folder = Path(str(one(ix, "SELECT path FROM documents WHERE id = ?", (doc,)))).parent
    with Store.open(ix.db_path) as store:
        report = ingest_paths(store, [folder])
    assert report.updated == [doc] and not report.failed
    assert run_doctor(settings=ix, quick=True, repair=True).ok
    assert store_violations(ix.db_path) == []


def test_a_missing_or_stale_lexical_index_is_a_warning_and_is_refreshed(ix: Settings) -> None:
    shutil.rmtree(ix.lexical_dir)
    found = run_doctor(settings=ix, quick=True)
    assert found.ok and by_check(found)["lexical:index"] == "warning"  # BM25 still works, through FTS5
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert by_check(repaired)["lexical:index"] == "repaired"
    sql(ix, "DELETE FROM passages WHERE pk = (SELECT max(pk) FROM passages)")
    assert by_check(run_doctor(settings=ix, quick=True))["lexical:index"] == "warning"


def test_missing_generation_counter_is_restored_and_indexes_count_as_stale(ix: Settings) -> None:
    sql(ix, "DELETE FROM meta WHERE key = 'passages_generation'")
    assert "generation" in problems(run_doctor(settings=ix, quick=True))
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok
    manifest = json.loads((ix.vectors_dir / "manifest.json").read_text())
    assert int(one(ix, "SELECT value FROM meta WHERE key = 'passages_generation'")) == manifest["passages_generation"]


def test_index_built_before_vectors_were_added_is_stale(ix: Settings) -> None:
    """An index written while vectors were still missing must not count as fresh afterwards."""
    from rppsearch.index.vectors import embed_missing, refresh_index

    sql(ix, "DELETE FROM passage_vectors WHERE passage_pk = (SELECT min(pk) FROM passages)")
    with Store.open(ix.db_path) as store:
        refresh_index(store, ix, force=True)  # e.g. a search's auto-refresh in the middle of a build
        embed_missing(store, ix)
    found = run_doctor(settings=ix, quick=True)
    assert problems(found) == {"vectors:index"}
    assert run_doctor(settings=ix, quick=True, repair=True).ok


def test_missing_vectors_and_tags_are_made(ix: Settings) -> None:
    sql(ix, "DELETE FROM passage_vectors")
    sql(ix, "DELETE FROM passage_tags WHERE passage_pk = (SELECT min(pk) FROM passages)")
    found = run_doctor(settings=ix, quick=True)
    assert {"vectors:missing", "tags", "vectors:index"} <= problems(found)
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert repaired.ok, repaired.rows()
    assert one(ix, "SELECT count(*) FROM passage_vectors") == one(ix, "SELECT count(*) FROM passages")


def test_old_schema_is_reported_and_migrated_by_repair(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", embedding_model=FAKE)
    settings.index_dir.mkdir()
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    for number, statements in enumerate(MIGRATIONS[:-1], start=1):
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.close()
    found = run_doctor(settings=settings, quick=True)
    assert [f.check for f in found.problems] == ["schema"]
    assert f"expects {SCHEMA_VERSION}" in found.problems[0].message
    assert one(settings, "PRAGMA user_version") == SCHEMA_VERSION - 1  # checking never writes
    repaired = run_doctor(settings=settings, quick=True, repair=True)
    assert repaired.ok, repaired.rows()
    assert by_check(repaired)["schema"] == "repaired"
    assert one(settings, "PRAGMA user_version") == SCHEMA_VERSION


def test_stale_temp_files_are_reported_and_old_ones_removed(ix: Settings) -> None:
    old = ix.vectors_dir / ".vectors.npy.abc123.tmp"
    tantivys = ix.lexical_dir / ".tmpAb3dE9"  # tantivy's own atomic-write temp
    for path in (old, tantivys):
        path.write_bytes(b"\0" * 1000)
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    young = ix.vectors_dir / ".pks.npy.def456.tmp"
    young.write_bytes(b"\0" * 10)
    found = run_doctor(settings=ix, quick=True)
    assert by_check(found)["temp-files"] == "warning" and found.ok  # a warning, not a failure
    assert [f.count for f in found.findings if f.check == "temp-files"] == [3]
    repaired = run_doctor(settings=ix, quick=True, repair=True)
    assert not old.exists() and not tantivys.exists() and young.exists()  # a young one may belong to a running build
    assert any("removed 2 stale temp files" in a for a in repaired.actions)


def test_a_corrupt_tagger_model_is_reported_with_the_command_that_mends_it(ix: Settings) -> None:
    assert by_check(run_doctor(settings=ix, quick=True))["models"] == "ok"
    from rppsearch.store import Store
    from rppsearch.store.tags import active_model
    from rppsearch.tag.persist import model_path

    with Store.open(ix.db_path, readonly=True) as store:
        weights = model_path(active_model(store), ix.index_dir) / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8:] = b"\xff" * 8  # same size, other numbers: only the checksum tells
    weights.write_bytes(bytes(data))
    found = run_doctor(settings=ix, quick=True)
    (finding,) = [f for f in found.findings if f.check == "models"]
    assert finding.status == "problem" and "weights.safetensors" in finding.message
    assert "`rpp train`" in finding.action  # a command that exists


def test_checking_without_repair_changes_nothing(ix: Settings) -> None:
    (ix.vectors_dir / "manifest.json").unlink()
    sql(ix, "DELETE FROM passage_vectors WHERE passage_pk = (SELECT min(pk) FROM passages)")
    before = (ix.db_path.read_bytes(), sorted(p.name for p in ix.vectors_dir.iterdir()))
    run_doctor(settings=ix, quick=True)
    assert (ix.db_path.read_bytes(), sorted(p.name for p in ix.vectors_dir.iterdir())) == before


# -- the CLI edge --------------------------------------------------------------------------------
def rpp(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RPP_MODEL": FAKE, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-c", "from rppsearch.cli.main import main; main()", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_cli_exit_codes_json_and_csv(ix: Settings) -> None:
    healthy = rpp("doctor", "--index-dir", str(ix.index_dir), "--json", "--quick")
    assert healthy.returncode == 0, healthy.stderr
    lines = [json.loads(line) for line in healthy.stdout.splitlines()]
    assert {row["status"] for row in lines} <= {"ok", "skipped", "warning"}
    assert {"check", "status", "count", "message", "action"} <= set(lines[0])

    (ix.vectors_dir / "manifest.json").unlink()
    sick = rpp("doctor", "--index-dir", str(ix.index_dir), "--csv", "--quick")
    assert sick.returncode == 1
    assert sick.stdout.splitlines()[0] == "check,status,count,message,action"
    assert any(line.startswith("vectors:index,problem") for line in sick.stdout.splitlines())

    fixed = rpp("doctor", "--index-dir", str(ix.index_dir), "--repair", "--quick")
    assert fixed.returncode == 0, fixed.stderr
    assert "repaired: rebuilt the vectors index" in fixed.stderr


def test_cli_without_a_store_prints_one_error_line(tmp_path: Path) -> None:
    result = rpp("doctor", "--index-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'nowhere' / 'rpp.db'}: no rpp store here")
    assert "Traceback" not in result.stderr


def test_cli_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "rpp.db").write_bytes(b"this is not sqlite" * 100)
    result = rpp("doctor", "--index-dir", str(tmp_path / "ix"))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "not a readable rpp store" in result.stderr
    assert "Traceback" not in result.stderr


# -- helpers -------------------------------------------------------------------------------------
def one_row(settings: Settings, query: str, params: tuple = ()) -> tuple:
    conn = connect(settings.db_path)
    try:
        return tuple(conn.execute(query, params).fetchone())
    finally:
        conn.close()


def rows(settings: Settings, query: str, params: tuple = ()) -> list[tuple]:
    conn = connect(settings.db_path)
    try:
        return [tuple(r) for r in conn.execute(query, params)]
    finally:
        conn.close()


# -- the real encoder -----------------------------------------------------------------------------
@pytest.mark.model
def test_real_minilm_vectors_re_encode_to_themselves_and_a_swap_is_caught(tmp_path: Path) -> None:
    """With MiniLM (bf16 autocast, batches of other sizes) re-encoding must still match closely,
    and a stored vector from another passage must not."""
    from rppsearch.index.vectors import embed_missing, refresh_index
    from rppsearch.ingest.pipeline import ingest_paths

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 2, paragraphs=3)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="all-MiniLM-L6-v2")
    with Store.open(settings.db_path) as store:
        ingest_paths(store, [corpus])
        embed_missing(store, settings)
        refresh_index(store, settings)
    report = run_doctor(settings=settings, sample=4)
    model_check = next(f for f in report.findings if f.check == "vectors:model")
    assert model_check.status == "ok", model_check
    assert float(model_check.message.rsplit("min cosine ", 1)[1].rstrip(")")) > 0.99
    (a, _), (_, blob_b) = rows(settings, "SELECT passage_pk, vector FROM passage_vectors ORDER BY passage_pk LIMIT 2")
    sql(settings, "UPDATE passage_vectors SET vector = ? WHERE passage_pk = ?", (blob_b, a))
    found = run_doctor(settings=settings, sample=100)
    assert {"vectors:model", "vectors:index"} <= problems(found)
