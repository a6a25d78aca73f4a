"""Search page time with and without facet counts, on a built store. Not part of the test suite.

Usage: python benchmarks/bench_facets.py INDEX_DIR [--query Q ...] [--mode bm25 hybrid] [--runs 20]

For each query and mode, `search_page` (20 hits a page, as the web page asks) is timed with
facets and with `facets=False`, warm, best of `--runs`, in this process. The difference is
what counting facets over the whole result set costs. For a large store, build the synthetic
one with `python benchmarks/bench_scale.py _build 100000 DIR` and give it a word common
enough to match thousands of passages. With `--out FILE`, the figures are also written there
as JSON (with the machine and the load), so a README row can name the file it comes from.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def best_ms(fn, runs: int) -> float:  # noqa: ANN001
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--query", nargs="+", default=["principals"])
    parser.add_argument("--mode", nargs="+", default=["bm25", "hybrid"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    from rppsearch.bench import machine_info  # noqa: PLC0415
    from rppsearch.config import Settings  # noqa: PLC0415
    from rppsearch.search import search_page  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415
    from rppsearch.web.stores import store_model_name  # noqa: PLC0415

    db = args.index_dir / "rpp.db"
    settings = Settings(index_dir=args.index_dir, embedding_model=store_model_name(str(db)))
    load_before = os.getloadavg()[0]
    print(f"load average before: {load_before:.2f}")
    rows = []
    with Store.open(db, create=False, readonly=True) as store:
        for query in args.query:
            for mode in args.mode:
                page = search_page(store, settings, query, mode=mode, limit=20)
                with_facets = best_ms(lambda: search_page(store, settings, query, mode=mode, limit=20), args.runs)  # noqa: B023
                without = best_ms(lambda: search_page(store, settings, query, mode=mode, limit=20, facets=False), args.runs)  # noqa: B023
                print(f"{mode} {query!r}: {page.total} hits; page {with_facets:.2f} ms, without facets {without:.2f} ms")
                rows.append({"query": query, "mode": mode, "hits": page.total, "page_ms": round(with_facets, 2),
                             "page_without_facets_ms": round(without, 2)})
    load_after = os.getloadavg()[0]
    print(f"load average after: {load_after:.2f}")
    if args.out is not None:
        record = {"index_dir": str(args.index_dir), "runs": args.runs, "machine": machine_info(),
                  "load_average": [round(load_before, 2), round(load_after, 2)], "rows": rows}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
