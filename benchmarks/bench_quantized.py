"""Recall of the sign-code coarse scan + exact rescoring against the exact scan, on real embeddings.

    python benchmarks/bench_quantized.py ../shared/eval/scifact [--cache /tmp/rpp-quantized]

The rows are real MiniLM embeddings: SciFact's abstracts cut into sentences (titles kept as
their own rows), 50,548 vectors, encoded once by the packaged encoder and cached as npy
under --cache; the queries are SciFact's train and test claims (1,109), encoded the same way.
For subsets of 10k, 30k and all rows, and for several candidate counts, it reports recall@10,
@100 and @200 of the approximate top results against the exact float32 scan (the share of the
exact top k found in the approximate top k), how many queries got exactly the same top 10,
and the scan's p50 per query against the exact scan's. Writes benchmarks/results/quantized.json.

With --ndcg INDEX_DIR it also runs `rpp bench retrieval`'s evaluation of SciFact's test queries
(semantic and hybrid, the cache store under INDEX_DIR) with the exact scan and with the coarse
scan forced on (SciFact's 7,657 passages are below `MIN_ROWS`, so shipped settings scan them
exactly) at 1,024 and 512 candidates: nDCG@10 must not move.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from rppsearch.index import quantized  # noqa: E402


def _texts(folder: Path) -> tuple[list[str], list[str]]:
    rows: list[str] = []
    with open(folder / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            if doc.get("title"):
                rows.append(doc["title"])
            rows.extend(s for s in re.split(r"(?<=[.!?])\s+", doc.get("text", "")) if len(s.split()) >= 4)
    queries: list[str] = []
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        queries = [json.loads(line)["text"] for line in handle]
    return rows, queries


def _encoded(folder: Path, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    cache.mkdir(parents=True, exist_ok=True)
    rows_path, queries_path = cache / "rows.npy", cache / "queries.npy"
    if rows_path.exists() and queries_path.exists():
        return np.load(rows_path), np.load(queries_path)
    from rppsearch.config import PACKAGED_MODEL  # noqa: PLC0415
    from rppsearch.embed import get_encoder  # noqa: PLC0415

    rows, queries = _texts(folder)
    encoder = get_encoder(PACKAGED_MODEL)
    print(f"encoding {len(rows)} rows and {len(queries)} queries…", file=sys.stderr)
    matrix = np.asarray(encoder.encode(rows, batch_size=64), dtype=np.float16)  # as the index stores them
    qvecs = np.asarray(encoder.encode(queries, batch_size=64), dtype=np.float32)
    np.save(rows_path, matrix)
    np.save(queries_path, qvecs)
    return matrix, qvecs


def _exact_top(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ q
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _approx_top(matrix: np.ndarray, codes: np.ndarray, ones: np.ndarray, q: np.ndarray, k: int, want: int) -> np.ndarray:
    rows = quantized.candidates(codes, ones, q, want)
    scores = matrix[rows] @ q
    kk = min(k, len(rows))
    part = np.argpartition(-scores, kk - 1)[:kk]
    return rows[part[np.argsort(-scores[part], kind="stable")]]


def measure(matrix16: np.ndarray, queries: np.ndarray, wants: list[int]) -> dict[str, Any]:
    matrix = matrix16.astype(np.float32)
    codes = quantized.build_codes(matrix16)
    ones = quantized.row_ones(codes)
    exact: list[np.ndarray] = []
    times: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        exact.append(_exact_top(matrix, q, 200))
        times.append(time.perf_counter() - t0)
    out: dict[str, Any] = {"rows": int(len(matrix)), "exact_scan_p50_ms": round(statistics.median(times) * 1000, 3)}
    for want in wants:
        found = {10: [], 100: [], 200: []}
        same10 = 0
        times = []
        for q, ex in zip(queries, exact):
            t0 = time.perf_counter()
            ap = _approx_top(matrix, codes, ones, q, 200, want)
            times.append(time.perf_counter() - t0)
            for k in found:
                found[k].append(len(set(ap[:k].tolist()) & set(ex[:k].tolist())) / k)
            same10 += bool(np.array_equal(ap[:10], ex[:10]))
        out[f"candidates_{want}"] = {
            **{f"recall@{k}": round(float(np.mean(v)), 4) for k, v in found.items()},
            **{f"min_recall@{k}": round(float(np.min(v)), 3) for k, v in found.items()},
            "same_top10_share": round(same10 / len(queries), 4),
            "p50_ms": round(statistics.median(times) * 1000, 3),
        }
    return out


def scifact_ndcg(folder: Path, index_dir: Path) -> dict[str, Any]:
    """SciFact test nDCG@10 / Recall@100 of semantic and hybrid: exact scan vs the coarse scan forced."""
    from rppsearch.bench import run_retrieval  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.index import vectors as vindex  # noqa: PLC0415

    from rppsearch.bench import prepare_store  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    settings = Settings(index_dir=index_dir, embedding_model=PACKAGED_MODEL)
    cache, _ = prepare_store(folder, settings)
    with Store.open(cache.db_path) as store:  # a cache built by an earlier version lacks the codes
        vindex.refresh_index(store, cache)
    if vindex.load_index(cache).codes is None:
        raise SystemExit("the SciFact cache's vectors index has no sign codes")
    shipped = (quantized.MIN_ROWS, quantized.MIN_CANDIDATES, quantized.PER_RESULT)
    out: dict[str, Any] = {}
    configs = {"exact": (2**62, 2048, 16), "coarse_1024": (0, 1024, 4), "coarse_512": (0, 512, 2)}
    try:
        for name, (min_rows, min_candidates, per_result) in configs.items():
            quantized.MIN_ROWS, quantized.MIN_CANDIDATES, quantized.PER_RESULT = min_rows, min_candidates, per_result
            vindex._LOADED.clear()  # noqa: SLF001
            result = run_retrieval(folder=folder, settings=settings, modes=["semantic", "hybrid"])
            out[name] = {m: {k: v for k, v in r.items() if k != "latency_ms"} for m, r in result["modes"].items()}
            print(json.dumps({name: out[name]}), file=sys.stderr)
    finally:
        quantized.MIN_ROWS, quantized.MIN_CANDIDATES, quantized.PER_RESULT = shipped
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a BEIR folder (SciFact)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rpp-quantized"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "quantized.json")
    parser.add_argument("--candidates", type=int, nargs="+", default=[1024, 2048, 3200, 4096, 8192])
    parser.add_argument("--ndcg", type=Path, metavar="INDEX_DIR", help="also SciFact nDCG@10, coarse scan forced on")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from rppsearch.bench import machine_info  # noqa: PLC0415

    matrix, queries = _encoded(args.folder, args.cache)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(matrix))
    results: dict[str, Any] = {
        "machine": machine_info(), "queries": int(len(queries)), "load_average_before": round(os.getloadavg()[0], 2), "sizes": {},
    }
    with threadpool_limits(limits=1, user_api="blas"):  # as search runs it
        for size in (10_000, 30_000, len(matrix)):
            subset = matrix[np.sort(order[:size])]
            results["sizes"][str(size)] = measure(subset, queries, args.candidates)
            print(json.dumps({size: results["sizes"][str(size)]}), file=sys.stderr)
    results["min_candidates"], results["per_result"] = quantized.MIN_CANDIDATES, quantized.PER_RESULT
    if args.ndcg:
        results["scifact_ndcg"] = scifact_ndcg(args.folder, args.ndcg)
    results["load_average_after"] = round(os.getloadavg()[0], 2)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
