"""Readers while `rpp add` / `rpp ingest` write: no "database is locked", never a half-added document.

Two reader processes run for the whole write session:
- a searcher (`rppsearch.search.search` in bm25 and hybrid modes, the way `rpp search` calls it),
- a Datasette-style read-only connection (`file:…?mode=ro`), as Datasette opens a database.
Each read checks, in one statement (one snapshot), that every document has exactly the passages
its `passage_count` says, and that every hit points at a stored document.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from _reliability import connect, document_text, store_violations, write_corpus
from rppsearch.config import Settings
from rppsearch.store import Store

HALF_ADDED = (
    "SELECT count(*) FROM (SELECT d.id FROM documents d LEFT JOIN passages p ON p.document_id = d.id "
    "GROUP BY d.id HAVING d.passage_count != count(p.pk))"
)

SEARCHER = textwrap.dedent(
    f"""
    import json, sqlite3, sys, time
    from pathlib import Path
    from rppsearch.config import Settings
    from rppsearch.errors import RppError
    from rppsearch.search import search
    from rppsearch.store import Store
    ix, stop, auto = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
    settings = Settings(index_dir=ix, embedding_model="fake")
    out = {{"reads": 0, "searches": 0, "locked": [], "half_added": 0, "dangling_hits": 0, "stale_index": 0, "other_errors": []}}
    queries = ["principal supervisors coach", "budget staff", "evidence data reports", "zq0003x"]
    i = 0
    while not stop.exists():
        try:
            with Store.open(settings.db_path, create=False, readonly=not auto) as store:
                out["half_added"] += store.conn.execute({HALF_ADDED!r}).fetchone()[0]
                out["reads"] += 1
                mode = ("bm25", "hybrid")[i % 2]
                hits = search(store, settings, query=queries[i % len(queries)], mode=mode, limit=10, auto_refresh=auto)
                ids = {{h.document_id for h in hits}}
                if ids:
                    marks = ",".join("?" * len(ids))
                    found = store.conn.execute(f"SELECT count(*) FROM documents WHERE id IN ({{marks}})", list(ids)).fetchone()[0]
                    out["dangling_hits"] += len(ids) - found
                out["searches"] += 1
        except sqlite3.OperationalError as exc:
            (out["locked"] if "locked" in str(exc) else out["other_errors"]).append(str(exc))
        except RppError as exc:
            if type(exc).__name__ == "IndexStateError" and "stale" in str(exc):
                out["stale_index"] += 1  # hybrid refused while the build has not refreshed the index yet
            else:
                out["other_errors"].append(f"{{type(exc).__name__}}: {{exc}}")
        i += 1
        time.sleep(0.02)
    print(json.dumps(out))
    """
)

DATASETTE_STYLE = textwrap.dedent(
    f"""
    import json, sqlite3, sys, time
    from pathlib import Path
    db, stop = Path(sys.argv[1]), Path(sys.argv[2])
    out = {{"reads": 0, "locked": [], "half_added": 0, "other_errors": []}}
    conn = sqlite3.connect(f"file:{{db}}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    while not stop.exists():
        try:
            out["half_added"] += conn.execute({HALF_ADDED!r}).fetchone()[0]
            conn.execute("SELECT id, title, passage_count FROM documents ORDER BY pk DESC LIMIT 20").fetchall()
            conn.execute(
                "SELECT p.id, snippet(passages_fts, 0, '<b>', '</b>', '…', 12) FROM passages_fts "
                "JOIN passages p ON p.pk = passages_fts.rowid WHERE passages_fts MATCH 'principals' LIMIT 20"
            ).fetchall()
            conn.execute("SELECT * FROM coverage_by_organization").fetchall()
            out["reads"] += 1
        except sqlite3.OperationalError as exc:
            (out["locked"] if "locked" in str(exc) else out["other_errors"]).append(str(exc))
        time.sleep(0.02)
    print(json.dumps(out))
    """
)


def rpp(*args: str, index_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from rppsearch.cli.main import main; main()", *args, "--index-dir", str(index_dir), "--quiet"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "RPP_MODEL": "fake"},
    )


def start_reader(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "RPP_MODEL": "fake"},
    )


def finish(reader: subprocess.Popen[str]) -> dict:
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `rpp build` of 8 documents per module; each test works on a copy."""
    root = tmp_path_factory.mktemp("concurrency-template")
    write_corpus(root / "corpus", 8)
    result = rpp("build", str(root / "corpus"), index_dir=root / "ix")
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def built(template: Path, tmp_path: Path) -> tuple[Path, Settings]:
    """A copy of the built store, with the corpus copied to the same relative place.

    Stored document paths are rewritten to point at this copy of the corpus, so a build of it
    finds every document unchanged.
    """
    shutil.copytree(template / "ix", tmp_path / "ix")
    corpus = tmp_path / "corpus"
    shutil.copytree(template / "corpus", corpus)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    with Store.open(settings.db_path) as store, store.transaction():
        store.conn.execute(
            "UPDATE documents SET path = replace(path, ?, ?)", (str((template / "corpus").resolve()), str(corpus.resolve()))
        )
    return corpus, settings


def test_the_store_uses_wal_and_waits_for_locks(tmp_path: Path) -> None:
    Store.open(tmp_path / "rpp.db").close()
    for readonly in (False, True):
        with Store.open(tmp_path / "rpp.db", readonly=readonly) as store:
            assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


@pytest.mark.slow
def test_two_writers_at_once_both_succeed(built: tuple[Path, Settings], tmp_path: Path) -> None:
    corpus, settings = built
    files = []
    for i in range(2):
        path = tmp_path / f"incoming-{i}" / f"parallel-{i}.txt"
        path.parent.mkdir()
        path.write_text(document_text(900 + i, paragraphs=10), encoding="utf-8")
        files.append(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from rppsearch.cli.main import main; main()", "add", str(f),
             "--index-dir", str(settings.index_dir), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "RPP_MODEL": "fake"},
        )
        for f in files
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "locked" not in err
    conn = connect(settings.db_path, readonly=True)
    try:
        paths = {r[0] for r in conn.execute("SELECT path FROM documents")}
    finally:
        conn.close()
    assert {str(f.resolve()) for f in files} <= paths
    assert store_violations(settings.db_path) == []


@pytest.mark.slow
def test_readers_never_see_locks_or_half_added_documents_while_rpp_add_writes(
    built: tuple[Path, Settings], tmp_path: Path
) -> None:
    corpus, settings = built
    stop = tmp_path / "stop"
    searcher = start_reader(SEARCHER, str(settings.index_dir), str(stop), "0")
    datasette = start_reader(DATASETTE_STYLE, str(settings.db_path), str(stop))
    time.sleep(3)  # let both readers warm up
    writes = 0
    try:
        for round_ in range(3):
            new = corpus / "incoming" / f"new-{round_}.txt"
            new.parent.mkdir(exist_ok=True)
            new.write_text(document_text(500 + round_, paragraphs=12), encoding="utf-8")
            result = rpp("add", str(new), index_dir=settings.index_dir)
            assert result.returncode == 0, result.stderr
            changed = corpus / f"doc-{round_:04d}.txt"
            changed.write_text(document_text(700 + round_, paragraphs=10), encoding="utf-8")
            result = rpp("ingest", str(corpus), index_dir=settings.index_dir)
            assert result.returncode == 0, result.stderr
            writes += 2
    finally:
        stop.touch()
    s, d = finish(searcher), finish(datasette)
    print(
        f"\nconcurrency: {writes} write commands; searcher {s['reads']} reads / {s['searches']} searches, "
        f"Datasette-style {d['reads']} reads; locked: {len(s['locked']) + len(d['locked'])}, "
        f"half-added seen: {s['half_added'] + d['half_added']}, hybrid searches refused while the index "
        f"was stale: {s['stale_index']}"
    )
    assert s["locked"] == [] and d["locked"] == []
    assert s["half_added"] == 0 and d["half_added"] == 0
    assert s["dangling_hits"] == 0
    assert s["other_errors"] == [] and d["other_errors"] == []
    assert s["searches"] >= 10 and d["reads"] >= 10, (s, d)
    assert store_violations(settings.db_path) == []


def test_a_search_that_refreshes_the_index_mid_build_does_not_leave_it_stale(
    built: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rpp search` rebuilds a stale index when it may write (auto_refresh). If it runs while a
    build is still encoding, the build's own refresh at the end must not take that index, made
    from part of the vectors, for a fresh one."""
    from rppsearch.build import build
    from rppsearch.embed import get_encoder
    from rppsearch.index import vectors as vindex
    from rppsearch.search import search
    from rppsearch.store import Store
    from rppsearch.store import vectors as vstore

    from _reliability import no_progress

    corpus, settings = built
    write_corpus(corpus, 4, start=50, paragraphs=8)
    real_embed_missing = vindex.embed_missing

    def encode_half_then_a_reader_searches(store, settings_, **kwargs):  # noqa: ANN001, ANN003, ANN202
        missing = vstore.missing_vector_pks(store, model="fake@384")
        rows = vstore.passages_for_embedding(store, missing[: len(missing) // 2])
        vectors = get_encoder("fake").encode([vindex.embedding_text(t, h, x) for _, _, t, h, x in rows])
        with store.transaction():  # one committed chunk, as embed_missing commits chunk by chunk
            vstore.put_vectors(store, ((pk, digest, v) for (pk, digest, *_), v in zip(rows, vectors)), model="fake@384")
        with Store.open(settings_.db_path) as reader:  # `rpp search` in another terminal
            search(reader, settings_, query="principal supervisors", mode="hybrid", auto_refresh=True)
        return real_embed_missing(store, settings_, **kwargs)

    monkeypatch.setattr(vindex, "embed_missing", encode_half_then_a_reader_searches)
    build(settings, paths=[corpus], progress=no_progress)
    with Store.open(settings.db_path) as store:
        state = vindex.index_state(store, settings, fingerprint="fake@384")
        stored = vstore.vector_pks(store, model="fake@384")
    assert state is None, state  # the build ends with a fresh index, holding every stored vector
    index = vindex.load_index(settings)
    assert index.count == len(stored), (
        f"the index holds {index.count} passages, the store has {len(stored)} vectors, and the "
        "manifest says fresh: semantic search misses the rest until some passage changes"
    )
