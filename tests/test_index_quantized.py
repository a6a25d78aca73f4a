"""The coarse scan on sign codes: the same top results as the exact scan on clustered vectors,
filters honoured, codes written with the index and added to an earlier version's, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rppsearch.config import Settings
from rppsearch.index import quantized
from rppsearch.index import vectors as vindex
from rppsearch.search import search
from test_search_support import Doc, add_docs

DIM = 384


def _clustered(n: int, *, seed: int = 0, clusters: int = 300) -> np.ndarray:
    """Unit vectors like a sentence encoder's: a direction every row shares (MiniLM's vectors have
    one), topic clusters of different spreads, and noise; rounded to float16 as the index stores them."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(DIM)
    common *= 0.6 / np.linalg.norm(common)
    centres = rng.standard_normal((clusters, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    which = rng.integers(0, clusters, size=n)
    spread = rng.uniform(0.6, 1.4, size=(n, 1))
    rows = common + 0.5 * centres[which] + spread * rng.standard_normal((n, DIM)) / np.sqrt(DIM)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float16).astype(np.float32)


def _index(matrix: np.ndarray, *, codes: bool = True) -> vindex.VectorIndex:
    n = len(matrix)
    return vindex.VectorIndex(
        folder=Path("."), manifest={}, pks=np.arange(1, n + 1, dtype=np.int64), docs=np.arange(n, dtype=np.int64) // 10,
        matrix=matrix, codes=quantized.build_codes(matrix) if codes else None,
    )


def _queries(matrix: np.ndarray, n: int, *, seed: int = 1) -> np.ndarray:
    """Questions near the rows but none of them: a row plus as much noise again."""
    rng = np.random.default_rng(seed)
    picked = matrix[rng.choice(len(matrix), size=n, replace=False)]
    q = picked + rng.standard_normal(picked.shape).astype(np.float32) / np.sqrt(DIM)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def _top(scores: np.ndarray, k: int) -> list[int]:
    return vindex._top_rows(scores, k).tolist()  # noqa: SLF001


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    return _clustered(quantized.MIN_ROWS + 10_000)


def test_coarse_scan_finds_the_exact_top_results(clustered: np.ndarray) -> None:
    index, exact = _index(clustered), _index(clustered, codes=False)
    same10, recall100 = 0, []
    queries = _queries(clustered, 60)
    for q in queries:
        approx_scores = index.scores(q, depth=200)
        assert np.isfinite(approx_scores).sum() < len(clustered) // 4  # the coarse scan did choose
        want, got = _top(exact.scores(q, depth=200), 100), _top(approx_scores, 100)
        same10 += want[:10] == got[:10]
        recall100.append(len(set(want) & set(got)) / 100)
        # a row that is scored has its exact score
        rows = np.flatnonzero(np.isfinite(approx_scores))
        assert np.allclose(approx_scores[rows], clustered[rows] @ q, atol=1e-5)
    assert same10 >= 0.95 * len(queries)
    assert np.mean(recall100) >= 0.98


def test_document_rankings_scan_every_row_when_the_candidates_span_too_few_documents(clustered: np.ndarray) -> None:
    index = _index(clustered)  # ten passages a document
    q = _queries(clustered, 1)[0]
    coarse = index.scores(q, depth=200, documents=True)
    assert not np.isfinite(coarse).all()  # 3,200 candidates span at least 200 documents here
    assert len(np.unique(index.docs[np.isfinite(coarse)])) >= 200
    long_docs = vindex.VectorIndex(  # 2,000 passages a document: no 30 documents among any candidates
        folder=Path("."), manifest={}, pks=index.pks, docs=np.arange(len(clustered)) // 2000,
        matrix=clustered, codes=index.codes,
    )
    assert np.isfinite(long_docs.scores(q, depth=30, documents=True)).all()
    assert not np.isfinite(long_docs.scores(q, depth=30)).all()  # passages: the coarse scan serves


def test_small_indexes_and_deep_rankings_scan_every_row(clustered: np.ndarray) -> None:
    small = _index(clustered[: quantized.MIN_ROWS - 1])
    q = _queries(clustered, 1)[0]
    assert np.isfinite(small.scores(q, depth=10)).all()
    big = _index(clustered)
    assert np.isfinite(big.scores(q)).all()  # no depth: every row
    assert np.isfinite(big.scores(q, depth=len(clustered) // 8)).all()  # most rows wanted anyway


def test_filters_are_honoured_by_the_coarse_scan(clustered: np.ndarray) -> None:
    index, exact = _index(clustered), _index(clustered, codes=False)
    rng = np.random.default_rng(5)
    for share in (0.3, 0.02):  # many allowed rows (coarse scan within them), few (all scored)
        mask = rng.random(len(clustered)) < share
        found = []
        for q in _queries(clustered, 20, seed=7):
            scores = index.scores(q, mask, depth=100)
            assert not np.isfinite(scores[~mask]).any()  # nothing outside the filter
            want, got = _top(exact.scores(q, mask), 10), _top(scores, 10)
            found.append(len(set(want) & set(got)) / 10)
            if mask.sum() <= quantized.candidate_count(100):
                assert np.isfinite(scores[mask]).all() and got == want  # every allowed row scored exactly
        assert np.mean(found) >= 0.97


def test_coarse_scores_are_the_quantised_query_over_each_rows_signs(clustered: np.ndarray) -> None:
    rows = clustered[:500]
    codes = quantized.build_codes(rows)
    signs = rows > rows.mean(axis=0)  # the bits, unpacked
    q = _queries(clustered, 1)[0]
    _, low, step = quantized.query_planes(q)
    q4 = low + step * np.rint((q - low) / step)  # the query at 4 bits a dimension
    got = quantized.coarse_scores(codes, quantized.row_ones(codes), q)
    assert np.allclose(got, signs.astype(np.float32) @ q4, atol=1e-4)
    assert np.abs(q4 - q).max() <= step / 2 + 1e-6


def test_candidates_are_the_best_coarse_scores_among_allowed_rows(clustered: np.ndarray) -> None:
    rows = clustered[:2000]
    codes = quantized.build_codes(rows)
    ones = quantized.row_ones(codes)
    q = _queries(clustered, 1, seed=3)[0]
    coarse = quantized.coarse_scores(codes, ones, q)
    got = quantized.candidates(codes, ones, q, 50)
    assert len(got) == 50 and got.tolist() == sorted(got.tolist())
    assert coarse[got].min() >= np.sort(coarse)[-50]
    mask = np.zeros(len(rows), dtype=bool)
    mask[::7] = True
    got = quantized.candidates(codes, ones, q, 50, mask)
    assert len(got) == 50 and mask[got].all()
    assert coarse[got].min() >= np.sort(coarse[mask])[-50]
    assert quantized.candidates(codes, ones, q, 10_000, mask).tolist() == np.flatnonzero(mask).tolist()


# -- the files ---------------------------------------------------------------------------
def _docs(n: int) -> list[Doc]:
    return [Doc(id=f"d{i}", title=f"title {i}", passages=[f"passage {i} on coaching {j} and budgets" for j in range(3)]) for i in range(n)]


@pytest.fixture
def settings(store) -> Settings:  # noqa: ANN001
    return Settings(index_dir=store.path.parent, embedding_model="fake")


def _indexed(store, settings: Settings) -> None:  # noqa: ANN001
    """Eight small documents, encoded with the fake model, in a vectors index with its codes."""
    add_docs(store, _docs(8))
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)


def test_codes_are_written_with_the_index_and_match_its_matrix(store, settings) -> None:  # noqa: ANN001
    _indexed(store, settings)
    folder = settings.vectors_dir
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["codes"] == quantized.CODES_KIND
    assert np.array_equal(np.load(folder / quantized.CODES_FILE), quantized.build_codes(np.load(folder / "vectors.npy")))
    loaded = vindex.load_index(settings)
    assert loaded.codes is not None and loaded.codes.shape == (DIM // 64, loaded.count)


def test_an_index_without_codes_serves_exactly_and_is_refreshed_to_add_them(store, settings) -> None:  # noqa: ANN001
    _indexed(store, settings)
    folder = settings.vectors_dir
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["codes"]  # as an earlier version wrote it
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / quantized.CODES_FILE).unlink()
    vindex._LOADED.clear()  # noqa: SLF001
    assert vindex.index_state(store, settings) is None  # still serves searches
    assert vindex.load_index(settings).codes is None
    assert search(store, settings, query="coaching budgets", mode="semantic", limit=3)
    report = vindex.refresh_index(store, settings)
    assert report["status"] == "updated" and report["added"] == 0  # rows reused, codes added
    assert (folder / quantized.CODES_FILE).exists()
    assert vindex.load_index(settings).codes is not None
    assert vindex.refresh_index(store, settings)["status"] == "fresh"


def test_codes_that_disagree_with_the_matrix_are_a_doctor_problem(store, settings) -> None:  # noqa: ANN001
    from rppsearch.doctor import run_doctor

    _indexed(store, settings)
    path = settings.vectors_dir / quantized.CODES_FILE
    np.save(path, ~np.load(path))  # every bit flipped: the coarse scan would pick the worst rows
    finding = next(f for f in run_doctor(settings=settings, quick=True).findings if f.check == "vectors:index")
    assert finding.status == "problem" and "do not match" in finding.message
    run_doctor(settings=settings, quick=True, repair=True)
    assert np.array_equal(np.load(path), quantized.build_codes(np.load(settings.vectors_dir / "vectors.npy")))


def test_codes_that_do_not_fit_the_manifest_are_not_used(store, settings) -> None:  # noqa: ANN001
    _indexed(store, settings)
    folder = settings.vectors_dir
    codes = np.load(folder / quantized.CODES_FILE)
    np.save(folder / quantized.CODES_FILE, codes[:, :-1])  # one row short
    vindex._LOADED.clear()  # noqa: SLF001
    assert vindex.load_index(settings).codes is None


def test_search_ranks_through_the_coarse_scan_on_a_large_index(store, settings, monkeypatch) -> None:  # noqa: ANN001
    add_docs(store, _docs(20))
    vindex.embed_missing(store, settings)
    vindex.refresh_index(store, settings)
    vindex._LOADED.clear()  # noqa: SLF001
    calls = []
    real = quantized.candidates
    monkeypatch.setattr(quantized, "candidates", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(quantized, "MIN_ROWS", 0)  # 60 rows count as large here
    monkeypatch.setattr(quantized, "MIN_CANDIDATES", 1)
    monkeypatch.setattr(quantized, "PER_RESULT", 1)
    hits = search(store, settings, query="passage 7 on coaching 2 and budgets", mode="semantic", limit=3, depth=3)
    assert calls  # the coarse scan chose the rows
    assert hits[0].id == "d7-p0002"  # the passage with these very words


def test_the_coarse_scan_imports_no_torch() -> None:
    probe = (
        "import sys, numpy as np\n"
        "from rppsearch.index import quantized, vectors\n"
        "m = np.random.default_rng(0).standard_normal((40000, 384)).astype(np.float32)\n"
        "codes = quantized.build_codes(m)\n"
        "rows = quantized.candidates(codes, quantized.row_ones(codes), m[0], 2048)\n"
        "assert 0 in rows.tolist()\n"
        "print(sorted(x for x in ('torch', 'transformers', 'sentence_transformers') if x in sys.modules))\n"
    )
    src = Path(__file__).resolve().parents[1] / "src"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_pickled_codes_file_is_never_run_and_doctor_rebuilds_the_codes(store, settings, tmp_path) -> None:  # noqa: ANN001
    from rppsearch.doctor import run_doctor
    from test_security import poisoned_npy

    _indexed(store, settings)
    marker = tmp_path / "pwned"
    poisoned_npy(settings.vectors_dir / quantized.CODES_FILE, marker)
    vindex._LOADED.clear()  # noqa: SLF001
    assert vindex.load_index(settings).codes is None  # refused, the exact scan serves
    finding = next(f for f in run_doctor(settings=settings, quick=True).findings if f.check == "vectors:index")
    assert finding.status == "warning" and "sign codes" in finding.message  # slower, not wrong
    run_doctor(settings=settings, quick=True, repair=True)
    assert not marker.exists()
    finding = next(f for f in run_doctor(settings=settings, quick=True).findings if f.check == "vectors:index")
    assert finding.status == "ok"
    vindex._LOADED.clear()  # noqa: SLF001
    assert vindex.load_index(settings).codes is not None


def _unpacked_scores(rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The coarse score by its definition: the 4-bit query over each row's sign bits."""
    signs = rows > rows.astype(np.float64).mean(axis=0).astype(np.float32)
    _, low, step = quantized.query_planes(q)
    return signs.astype(np.float64) @ (low + step * np.rint((q - low) / step))


def test_the_coarse_scan_runs_on_numpy_1_26_without_bitwise_count(clustered: np.ndarray, monkeypatch) -> None:  # noqa: ANN001
    """pyproject allows numpy 1.26, which has no np.bitwise_count: a search on a large index
    must not fail there with AttributeError."""
    rows, q = clustered[:3000], _queries(clustered, 1, seed=4)[0]
    codes = quantized.build_codes(rows)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    got = quantized.coarse_scores(codes, quantized.row_ones(codes), q)
    assert np.allclose(got, _unpacked_scores(rows, q), atol=1e-3)
