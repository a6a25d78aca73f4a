"""Hybrid search with and without query expansion on a BEIR folder (SciFact, Cranfield).

    python benchmarks/bench_expansion_beir.py ../shared/eval/scifact [--split test] [--cache DIR]
        [--out benchmarks/results/scifact_expansion.json]

Runs `rppsearch.bench.run_retrieval` (the code behind `rpp bench retrieval`, same cache store)
for hybrid search as shipped (`expand=False`) and with `expand=True`, and writes both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--cache", type=Path, help="the store [default: as `rpp bench retrieval`]")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from rppsearch.bench import run_retrieval  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415

    settings = Settings(embedding_model=PACKAGED_MODEL)
    record = {}
    for expand in (False, True):
        result = run_retrieval(folder=args.folder, settings=settings, modes=["hybrid"], split=args.split,
                               cache_dir=args.cache, search_options={"expand": expand})
        record["expand" if expand else "plain"] = result
        m = result["modes"]["hybrid"]
        print(f"{args.folder.name} {args.split} hybrid expand={expand}: nDCG@10 {m['ndcg@10']:.4f} "
              f"Recall@100 {m['recall@100']:.4f} MRR@10 {m['mrr@10']:.4f} p50 {m['latency_ms']['p50']} ms", flush=True)
    record["load_average"] = round(os.getloadavg()[0], 2)
    out = args.out or HERE / "results" / f"{args.folder.name}_expansion.json"
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
