"""Which engine serves BM25: SQLite FTS5 vs tantivy vs bm25s on the same stores and queries.

    python benchmarks/bench_lexical.py /tmp/rpp-scale/10k /tmp/rpp-scale/100k [--queries 200]

Stores come from bench_scale.py. Reports build time and top-10 / top-200 latency p50/p95 per
engine (warm, in-process); writes benchmarks/results/lexical_engines.json and a table.
FTS5 needs no build (triggers keep it in the store); tantivy is rppsearch's `index.bm25`;
bm25s is built in memory from the same passages (its own tokenizer, English stop words).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _timed(fn: Any, queries: list[str]) -> dict[str, float]:
    for q in queries[:5]:
        fn(q)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3)}


def measure(folder: Path, queries: list[str]) -> dict[str, Any]:
    import bm25s  # noqa: PLC0415

    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.index import bm25  # noqa: PLC0415
    from rppsearch.query import parse  # noqa: PLC0415
    from rppsearch.store import Store, search_sql  # noqa: PLC0415

    settings = Settings(index_dir=folder, embedding_model=PACKAGED_MODEL)
    out: dict[str, Any] = {}
    with Store.open(settings.db_path) as store:
        n = store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        out["passages"] = n
        for limit in (10, 200):
            out[f"fts5_top{limit}"] = _timed(
                lambda q: search_sql.fts_search(store, parse(q).fts_match() or '""', weights=(1, 1, 1), limit=limit), queries
            )
        t0 = time.perf_counter()
        bm25.refresh_lexical(store, settings, force=True)
        out["tantivy_build_s"] = round(time.perf_counter() - t0, 2)
        index = bm25.load_lexical(settings)
        for limit in (10, 200):
            out[f"tantivy_top{limit}"] = _timed(lambda q: index.search(q, limit=limit), queries)
        t0 = time.perf_counter()
        rows = store.conn.execute("SELECT pk, coalesce(title, ''), heading, text FROM passages ORDER BY pk").fetchall()
        corpus = [bm25.body_text(t, h, x) for _, t, h, x in rows]
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
        out["bm25s_build_s"] = round(time.perf_counter() - t0, 2)
        del corpus, rows
        for limit in (10, 200):
            out[f"bm25s_top{limit}"] = _timed(
                lambda q: retriever.retrieve(bm25s.tokenize([q], stopwords="en", show_progress=False), k=limit, show_progress=False, n_threads=1),
                queries,
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stores", nargs="+", type=Path)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "lexical_engines.json")
    args = parser.parse_args()
    from bench_scale import label, queries  # noqa: PLC0415

    from rppsearch.bench import machine_info  # noqa: PLC0415

    qs = queries(args.queries)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = machine_info()
    results.setdefault("stores", {})
    for folder in args.stores:
        print(f"measuring {folder}…", file=sys.stderr)
        r = measure(folder, qs)
        r["load_average"] = round(__import__("os").getloadavg()[0], 2)
        results["stores"][label(r["passages"])] = r
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "| passages | FTS5 top-10 p50 / p95 | tantivy top-10 p50 / p95 | bm25s top-10 p50 / p95 | FTS5 top-200 p50 | tantivy top-200 p50 | bm25s top-200 p50 | tantivy build | bm25s build |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in sorted(results["stores"].items(), key=lambda kv: kv[1]["passages"]):
        lines.append(
            f"| {size} | {r['fts5_top10']['p50_ms']} / {r['fts5_top10']['p95_ms']} ms | {r['tantivy_top10']['p50_ms']} / {r['tantivy_top10']['p95_ms']} ms | "
            f"{r['bm25s_top10']['p50_ms']} / {r['bm25s_top10']['p95_ms']} ms | {r['fts5_top200']['p50_ms']} ms | {r['tantivy_top200']['p50_ms']} ms | "
            f"{r['bm25s_top200']['p50_ms']} ms | {r['tantivy_build_s']} s | {r['bm25s_build_s']} s |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
