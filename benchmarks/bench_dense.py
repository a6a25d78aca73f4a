"""Dense-path micro-benchmark: lone-query encoding and the matrix scan's dtype.

    python benchmarks/bench_dense.py [--out benchmarks/results/dense.json]

1. Encoding one query with the packaged MiniLM, p50 over 100 queries (after a warm-up):
   - `shipped`: `get_encoder(...).encode([q])`, the path `rpp search` uses (one intra-op thread,
     Linear weights cast to bf16 once, modules run directly);
   - `plain_autocast`: `SentenceTransformer.encode([q])` under bf16 autocast on torch's default
     thread count, the path before those changes.
2. Scanning a matrix of random unit vectors (100k and 1M x 384) with one query, torch matmul +
   top-10, in float32 and float16: p50 per query, and how often the float16 top 10 equals the
   float32 top 10 (as a set).

Results go to the JSON file; the README's "Dense" paragraph quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [
    "How do principal supervisors coach principals on instructional leadership?",
    "What does a theory of action for central office transformation include?",
    "How can human resources offices support school hiring for equity?",
    "Which data do district leaders use to improve their support to schools?",
    "What is the role of a research-practice partnership in district reform?",
]


def _p50(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


def bench_encoding(n: int = 100) -> dict[str, float]:
    from rppsearch.config import PACKAGED_MODEL
    from rppsearch.embed import get_encoder, packaged_model_path

    encoder = get_encoder(PACKAGED_MODEL)
    import torch
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(packaged_model_path()), device="cpu")

    def shipped(q: str) -> None:
        encoder.encode([q])

    def plain_autocast(q: str) -> None:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            plain.encode([q], convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)

    out: dict[str, float] = {"torch_threads": torch.get_num_threads()}
    for name, run in (("shipped", shipped), ("plain_autocast", plain_autocast)):
        for q in QUERIES:  # warm-up
            run(q)
        times = []
        for i in range(n):
            q = f"{QUERIES[i % len(QUERIES)]} ({i})"
            t0 = time.perf_counter()
            run(q)
            times.append(time.perf_counter() - t0)
        out[f"{name}_p50_ms"] = _p50(times)
    return out


def bench_scan(rows: int, dim: int = 384, queries: int = 50) -> dict[str, float]:
    import torch

    gen = torch.Generator().manual_seed(rows)
    matrix = torch.nn.functional.normalize(torch.randn(rows, dim, generator=gen), dim=1)
    half = matrix.to(torch.float16)
    picks = torch.randint(0, rows, (queries,), generator=gen)
    probes = torch.nn.functional.normalize(matrix[picks] + 0.5 * torch.randn(queries, dim, generator=gen), dim=1)
    result: dict[str, float] = {"rows": rows}
    tops: dict[str, list[set[int]]] = {}
    for name, m in (("float32", matrix), ("float16", half)):
        times, found = [], []
        for q in probes:
            qv = q.to(m.dtype)
            t0 = time.perf_counter()
            scores = m @ qv
            top = torch.topk(scores.float(), 10).indices
            times.append(time.perf_counter() - t0)
            found.append(set(top.tolist()))
        result[f"{name}_p50_ms"] = _p50(times)
        tops[name] = found
    same = sum(a == b for a, b in zip(tops["float32"], tops["float16"]))
    result["same_top10_share"] = round(same / queries, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dense.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()[0]},
        "query_encoding": bench_encoding(),
        "scan": [bench_scan(100_000), bench_scan(1_000_000)],
    }
    report["machine"]["load_average_at_end"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
