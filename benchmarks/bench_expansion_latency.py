"""Warm hybrid latency with and without query expansion at 100k synthetic passages.

    python benchmarks/bench_expansion_latency.py [--workdir /tmp/rpp-scale] [--queries 200]

Uses (or builds) bench_scale.py's 100k store in WORKDIR/100k; the same queries are run with
`expand=True` and `expand=False`, interleaved, each paying for its query encoding. Writes
benchmarks/results/expansion_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpp-scale"))
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    import bench_scale  # noqa: PLC0415
    from rppsearch import search as search_mod  # noqa: PLC0415
    from rppsearch.bench import machine_info  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    folder = args.workdir / "100k"
    if not (folder / "rpp.db").exists():
        folder.mkdir(parents=True, exist_ok=True)
        bench_scale.phase_build(100_000, folder)
    settings = Settings(index_dir=folder, embedding_model=PACKAGED_MODEL)
    queries = bench_scale.queries(args.queries + 10)
    load_before = os.getloadavg()[0]
    times: dict[bool, list[float]] = {True: [], False: []}
    with Store.open(settings.db_path, readonly=True) as store:
        for q in queries[:10]:
            for expand in (True, False):
                search_mod.search(store, settings, query=q, limit=10, mode="hybrid", expand=expand)
        for q in queries[10:]:
            for expand in (True, False):
                search_mod._QUERY_VECTORS.clear()
                t0 = time.perf_counter()
                search_mod.search(store, settings, query=q, limit=10, mode="hybrid", expand=expand)
                times[expand].append((time.perf_counter() - t0) * 1000)
    record = {"passages": 100_000, "queries": args.queries, "machine": machine_info(),
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    for expand, values in times.items():
        values.sort()
        record["expand" if expand else "plain"] = {
            "p50_ms": round(statistics.median(values), 2), "p95_ms": round(values[int(0.95 * (len(values) - 1))], 2)}
    (HERE / "results" / "expansion_latency.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(record)


if __name__ == "__main__":
    main()
