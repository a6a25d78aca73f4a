"""The vectors index: incremental encoding and refresh equal a fresh rebuild; stale indexes are named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rppsearch.config import Settings
from rppsearch.embed import get_encoder
from rppsearch.errors import IndexStateError
from rppsearch.index import vectors as vindex
from rppsearch.search import search, similar
from rppsearch.store import Store
from rppsearch.store import vectors as vstore
from test_search_support import Doc, add_docs, remove_docs


def _docs(prefix: str, n: int) -> list[Doc]:
    return [
        Doc(
            id=f"{prefix}{i}",
            title=f"{prefix} title {i}",
            passages=[f"{prefix} passage {i} about principals and coaching {j}" for j in range(1 + i % 3)],
        )
        for i in range(n)
    ]


def _files(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.load(folder / "pks.npy"),
        np.load(folder / "docs.npy"),
        np.load(folder / "vectors.npy"),
    )


@pytest.fixture
def settings(store) -> Settings:  # noqa: ANN001
    return Settings(index_dir=store.path.parent, embedding_model="fake")


def test_incremental_add_and_delete_equal_a_fresh_rebuild(store, settings, tmp_path) -> None:  # noqa: ANN001
    add_docs(store, _docs("a", 6))
    first = vindex.embed_missing(store, settings)
    assert first["encoded"] == store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    assert vindex.refresh_index(store, settings)["status"] == "rebuilt"

    add_docs(store, _docs("b", 4))
    new_passages = sum(1 + i % 3 for i in range(4))
    assert vindex.embed_missing(store, settings)["encoded"] == new_passages  # only the new file's passages
    remove_docs(store, ["a1", "a4"])
    report = vindex.refresh_index(store, settings)
    assert report["status"] == "updated"
    assert report["added"] == new_passages  # old rows were reused, not re-read
    assert report["reused"] == store.conn.execute("SELECT count(*) FROM passages WHERE document_id LIKE 'a%'").fetchone()[0]

    incremental = _files(settings.vectors_dir)
    fresh_settings = Settings(index_dir=tmp_path / "fresh", embedding_model="fake")
    shutil.rmtree(fresh_settings.index_dir, ignore_errors=True)
    report = vindex.refresh_index(store, fresh_settings, force=True)
    assert report["status"] == "rebuilt"
    fresh = _files(fresh_settings.vectors_dir)
    assert np.array_equal(incremental[0], fresh[0])
    assert np.array_equal(incremental[1], fresh[1])
    assert np.array_equal(incremental[2], fresh[2])
    # and the rows are the encoder's vectors of the right passages, in pk order
    pks = store.conn.execute("SELECT pk FROM passages ORDER BY pk").fetchall()
    assert incremental[0].tolist() == [r[0] for r in pks]
    texts = [vindex.embedding_text(t, h, x) for _, _, t, h, x in vstore.passages_for_embedding(store, incremental[0].tolist())]
    assert np.array_equal(incremental[2], get_encoder("fake").encode(texts).astype(vindex.MATRIX_DTYPE))
    assert not list(settings.vectors_dir.glob("*.tmp"))
    manifest = json.loads((settings.vectors_dir / "manifest.json").read_text())
    assert manifest["passages_generation"] == store.passages_generation()
    assert manifest["count"] == len(pks) and manifest["missing"] == 0
    assert manifest["model"] == "fake@384" and manifest["dim"] == 384


def test_changed_document_reencodes_only_changed_passages(store, settings) -> None:  # noqa: ANN001
    add_docs(store, [Doc(id="x", passages=["one unchanged passage", "two old text", "three unchanged"])])
    vindex.embed_missing(store, settings)
    add_docs(store, [Doc(id="x", passages=["one unchanged passage", "two NEW text", "three unchanged"])])
    assert vindex.embed_missing(store, settings)["encoded"] == 1
    assert vindex.refresh_index(store, settings)["count"] == 3


def test_refresh_is_skipped_when_fresh(store, settings) -> None:  # noqa: ANN001
    add_docs(store, _docs("a", 3))
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)
    assert vindex.refresh_index(store, settings)["status"] == "fresh"


def _built(store, settings) -> None:  # noqa: ANN001
    add_docs(store, _docs("a", 4))
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)


def test_stale_generation_is_detected_and_named(store, settings) -> None:  # noqa: ANN001
    _built(store, settings)
    before = store.passages_generation()
    add_docs(store, _docs("late", 1))
    with pytest.raises(IndexStateError) as info:
        search(store, settings, query="principals", mode="semantic")
    message = str(info.value)
    assert message == (
        f"vectors index is stale: built at generation {before}, store at {store.passages_generation()}"
    )
    assert "rpp build" in (info.value.hint or "")
    # a caller that may write gets it rebuilt from the stored vectors instead
    vindex.embed_missing(store, settings)
    hits = search(store, settings, query="late passage", mode="semantic", auto_refresh=True)
    assert any(h.document_id == "late0" for h in hits)
    assert vindex.index_state(store, settings) is None


def test_other_model_is_detected_and_named(store, settings) -> None:  # noqa: ANN001
    _built(store, settings)
    other = Settings(index_dir=settings.index_dir, embedding_model="fake:64")
    with pytest.raises(IndexStateError, match=r"built with model fake@384, settings use fake@64"):
        search(store, other, query="principals", mode="hybrid")
    # no vectors exist for that model, so auto-refresh cannot help: still named
    with pytest.raises(IndexStateError, match="fake@384"):
        search(store, other, query="principals", mode="semantic", auto_refresh=True)
    # bm25 needs no vectors
    assert search(store, other, query="principals", mode="bm25")
    # once that model's vectors are stored, the index is rebuilt from them, never patched
    vindex.embed_missing(store, other)
    report = vindex.refresh_index(store, other)
    assert (report["status"], report["reused"]) == ("rebuilt", 0)
    assert vindex.index_state(store, other) is None
    assert search(store, other, query="principals", mode="semantic")


def test_other_schema_version_is_detected_and_named(store, settings) -> None:  # noqa: ANN001
    _built(store, settings)
    path = settings.vectors_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["schema_version"] = 0
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStateError, match=rf"built for store schema 0, store is at {store.schema_version()}"):
        similar(store, settings, target_id="a0-p0000")


def test_torn_index_files_are_detected(store, settings) -> None:  # noqa: ANN001
    _built(store, settings)
    np.save(settings.vectors_dir / "pks.npy", np.load(settings.vectors_dir / "pks.npy")[:-1])
    vindex._LOADED.clear()  # noqa: SLF001 - a new process
    with pytest.raises(IndexStateError, match="do not match their manifest"):
        search(store, settings, query="principals", mode="semantic")


def test_missing_index_is_named(store, settings) -> None:  # noqa: ANN001
    add_docs(store, _docs("a", 2))
    with pytest.raises(IndexStateError, match=r"no vectors index at .*vectors"):
        search(store, settings, query="principals", mode="hybrid")


def test_readonly_store_can_search(store, settings) -> None:  # noqa: ANN001
    _built(store, settings)
    with Store.open(settings.db_path, readonly=True) as ro:
        assert search(ro, settings, query="principals coaching", mode="hybrid", limit=3)


def test_similar_excludes_the_target_and_finds_its_neighbours(store, settings) -> None:  # noqa: ANN001
    add_docs(
        store,
        [
            Doc(id="coach", passages=["supervisors coach principals weekly on instruction"]),
            Doc(id="coach2", passages=["supervisors coach principals monthly on instruction"]),
            Doc(id="bus", passages=["bus drivers shortage delays routes"]),
        ],
    )
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)
    hits = similar(store, settings, target_id="coach-p0000", limit=5)
    assert [h.id for h in hits][0] == "coach2-p0000"
    assert "coach-p0000" not in [h.id for h in hits]
    docs = similar(store, settings, target_id="coach", by="document", limit=5)
    assert [h.id for h in docs] == ["coach2", "bus"]


def test_index_of_another_store_is_detected(store, settings, tmp_path) -> None:  # noqa: ANN001
    """Same documents, same generation, another store file: not taken as current."""
    _built(store, settings)
    other = Settings(index_dir=tmp_path / "other", embedding_model="fake")
    with Store.open(other.db_path) as second:
        add_docs(second, _docs("a", 4))
        vindex.embed_missing(second, other)
        assert second.passages_generation() == store.passages_generation()
        shutil.copytree(settings.vectors_dir, other.vectors_dir)
        with pytest.raises(IndexStateError, match="built for another store"):
            search(second, other, query="principals", mode="semantic")
        assert vindex.refresh_index(second, other)["status"] == "rebuilt"  # not reused
        assert search(second, other, query="principals", mode="semantic")


def test_vectors_stored_after_the_index_make_it_stale(store, settings) -> None:  # noqa: ANN001
    """Same passages generation, but the index was built while encoding was half done."""
    add_docs(store, _docs("a", 6))
    missing = vstore.missing_vector_pks(store, model="fake@384")
    rows = vstore.passages_for_embedding(store, missing[: len(missing) // 2])
    vectors = get_encoder("fake").encode([vindex.embedding_text(t, h, x) for _, _, t, h, x in rows])
    with store.transaction():
        vstore.put_vectors(store, ((pk, d, v) for (pk, d, *_), v in zip(rows, vectors)), model="fake@384")
    assert vindex.refresh_index(store, settings)["missing"] == len(missing) - len(rows)
    vindex.embed_missing(store, settings)
    assert "vectors were stored after it was built" in (vindex.index_state(store, settings) or "")
    report = vindex.refresh_index(store, settings)
    assert (report["status"], report["missing"], report["reused"]) == ("updated", 0, len(rows))
    assert vindex.index_state(store, settings) is None


@pytest.mark.parametrize("which", ["vectors", "lexical"])
def test_a_refresh_waits_for_another_writer_of_the_same_index(store, settings, which: str, monkeypatch) -> None:  # noqa: ANN001
    """Two processes refreshing one index at once could pair one run's matrix with the other's
    pks: the second waits for the first (here: a lock held by another open of the lock file)."""
    import threading

    from rppsearch.index import bm25
    from rppsearch.index.manifest import index_lock

    module = vindex if which == "vectors" else bm25
    refresh, folder = (
        (vindex.refresh_index, settings.vectors_dir) if which == "vectors" else (bm25.refresh_lexical, settings.lexical_dir)
    )
    add_docs(store, _docs("a", 3))
    vindex.embed_missing(store, settings)
    holding, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with index_lock(folder):
            holding.set()
            release.wait(10)

    other = threading.Thread(target=other_writer)
    other.start()
    holding.wait(10)
    written_while_held: list[bool] = []
    real_write = module.write_manifest
    monkeypatch.setattr(module, "write_manifest", lambda *a, **k: written_while_held.append(not release.is_set()) or real_write(*a, **k))
    threading.Timer(0.5, release.set).start()
    report = refresh(store, settings)
    other.join()
    assert written_while_held == [False], "the refresh wrote while another writer held the index"
    assert report["status"] == "rebuilt"
    assert refresh(store, settings)["status"] == "fresh"

    with index_lock(folder), pytest.raises(IndexStateError, match="another process is writing"):
        with index_lock(folder, wait=0.2):
            pass


def test_semantic_search_neither_opens_nor_refreshes_the_lexical_index(store, settings, monkeypatch) -> None:  # noqa: ANN001
    """Semantic mode ranks by vectors only: a stale BM25 index must not be rebuilt (or waited
    for) on its behalf, yet the query's words are still highlighted."""
    from rppsearch.index import bm25

    add_docs(store, _docs("a", 4))
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)
    monkeypatch.setattr(bm25, "open_lexical", lambda *a, **k: pytest.fail("semantic search opened the BM25 index"))
    hits = search(store, settings, query="coaching principals", mode="semantic", limit=3, auto_refresh=True)
    assert hits and all(h.highlights for h in hits)
    assert hits[0].content[slice(*hits[0].highlights[0])].lower() in {"coaching", "principals"}


class _Killed(Exception):
    pass


@pytest.mark.parametrize("killed_at", ["pks.npy", "vectors.npy", "docs.npy", "codes.npy", "manifest.json"])
def test_a_refresh_killed_between_its_files_is_never_taken_for_whole(store, settings, killed_at, monkeypatch) -> None:  # noqa: ANN001
    add_docs(store, _docs("a", 6))
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)
    before = _files(settings.vectors_dir)
    # as many passages as before, other ones: a torn index would have the old shape
    remove_docs(store, ["a3"])
    add_docs(store, [Doc(id="c0", title="c title", passages=["budget offices and school leaders"])])
    vindex.embed_missing(store, settings)
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if Path(dst).name == killed_at:
            raise _Killed  # the files renamed before this one are new, the others old
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(_Killed):
        vindex.refresh_index(store, settings)
    monkeypatch.setattr(os, "replace", real_replace)
    vindex._LOADED.clear()  # noqa: SLF001 - a new process

    assert vindex.index_state(store, settings) is not None  # not taken for a fresh index
    try:  # a reader that checked the state before the store changed: refused, or whole
        loaded = vindex.load_index(settings)
    except IndexStateError as exc:
        assert "do not match their manifest" in str(exc)
    else:
        assert killed_at == "pks.npy"  # nothing was replaced yet
        assert np.array_equal(loaded.pks, before[0]) and np.array_equal(loaded.matrix, before[2])
    vindex.refresh_index(store, settings)
    assert vindex.index_state(store, settings) is None
    pks, _, matrix = _files(settings.vectors_dir)
    texts = [vindex.embedding_text(t, h, x) for _, _, t, h, x in vstore.passages_for_embedding(store, pks.tolist())]
    assert np.array_equal(matrix, get_encoder("fake").encode(texts).astype(vindex.MATRIX_DTYPE))
