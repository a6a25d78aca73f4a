"""Pseudo-relevance feedback for hybrid search (`rppsearch.expansion`), measured on the domain
questions and, with --scifact, on SciFact's train queries.

    python benchmarks/tune_expansion.py [--index-dir /tmp/rpp-domain] [--scifact ../shared/eval/scifact]
        [--scifact-cache DIR] [--out benchmarks/results/domain_expansion.json]

Uses the cache store of bench_domain.py (and the one `rpp bench retrieval` builds for SciFact)
and the product's own `search()`, ranking documents. For each setting (feedback passages,
expansion weight, coverage gate) hybrid nDCG@10 on all domain questions, the tune half (odd
numbers), the test half and the paraphrases, and SciFact train nDCG@10; the first row is
hybrid without expansion. Defaults are chosen on the domain tune half and SciFact train.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

GRID: list[dict[str, Any]] = [
    {"expand": False},
    *({"expand": True, "passages": 3, "weight": w, "max_coverage": 0.6} for w in (0.1, 0.2, 0.3)),
    {"expand": True, "passages": 3, "weight": 0.3, "max_coverage": 1.01},  # no gate
    *({"expand": True, "passages": k, "weight": 0.3, "max_coverage": 0.6} for k in (2, 5)),
]


def scifact_train(folder: Path, cache: Path | None) -> Any:
    """A function scoring hybrid nDCG@10 on SciFact's train queries for `expand`."""
    from rppsearch.bench import evaluate_runs, prepare_store, read_beir  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.search import search  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    queries, qrels = read_beir(folder, "train")
    settings, _ = prepare_store(folder, Settings(embedding_model=PACKAGED_MODEL), cache)
    store = Store.open(settings.db_path, readonly=True)
    source = {r[0]: r[1] for r in store.conn.execute("SELECT id, json_extract(metadata, '$.source_id') FROM documents")}

    def score(expand: bool) -> float:
        run = {}
        for qid, text in queries.items():
            hits = search(store, settings, query=text, mode="hybrid", limit=100, by="document", expand=expand)
            run[qid] = {str(source.get(h.document_id) or h.document_id): float(100 - i) for i, h in enumerate(hits)}
        return round(evaluate_runs(qrels, {"x": run})["x"]["ndcg@10"], 4)

    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/rpp-domain"))
    parser.add_argument("--scifact", type=Path, help="a BEIR SciFact folder: also score its train queries")
    parser.add_argument("--scifact-cache", type=Path, help="its store [default: as `rpp bench retrieval`]")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "domain_expansion.json")
    args = parser.parse_args()

    from bench_domain import evaluate, prepare, read_queries  # noqa: PLC0415
    from rppsearch import expansion, search  # noqa: PLC0415
    from rppsearch.bench import machine_info  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL  # noqa: PLC0415

    queries = read_queries(HERE / "domain" / "queries.jsonl")
    settings, _ = prepare(args.index_dir, os.environ.get("RPP_MODEL", PACKAGED_MODEL))
    scifact = scifact_train(args.scifact, args.scifact_cache) if args.scifact else None
    saved = (search.FEEDBACK_PASSAGES, expansion.MAX_COVERAGE, dict(expansion.expansion_terms.__kwdefaults__))
    rows = []
    try:
        for setting in GRID:
            if setting["expand"]:
                search.FEEDBACK_PASSAGES = setting["passages"]
                expansion.MAX_COVERAGE = setting["max_coverage"]
                expansion.expansion_terms.__kwdefaults__.update(weight=setting["weight"])
            metrics = evaluate(settings, queries, ["hybrid"], {"expand": setting["expand"]})["hybrid"]["metrics"]
            row = {**setting, **{f"domain_{g}": round(metrics[g]["ndcg@10"], 4) for g in ("all", "tune", "test", "paraphrase")}}
            if scifact:
                row["scifact_train"] = scifact(setting["expand"])
            rows.append(row)
            print(row, flush=True)
    finally:
        search.FEEDBACK_PASSAGES, expansion.MAX_COVERAGE = saved[0], saved[1]
        expansion.expansion_terms.__kwdefaults__.update(saved[2])
    record = {"queries": len(queries), "machine": machine_info(), "load_average": round(os.getloadavg()[0], 2), "rows": rows}
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
