"""Tune search settings on SciFact's TRAIN queries (never the test ones), then report test.

    python benchmarks/tune_scifact.py /path/to/scifact [--index-dir /tmp/rpp-bench]

Uses the cache store `rpp bench retrieval` builds (same ingest, same vectors). Query
embeddings are computed once per query and reused across settings. Grid: RRF k and
candidate depth; convex weight. With --compare-recipes, also what to embed for a passage
(title + heading + text, as shipped, vs the text alone). Writes
benchmarks/results/scifact_tuning.json and prints the best settings with train and test nDCG@10.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/rpp-bench"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scifact_tuning.json")
    parser.add_argument("--compare-recipes", action="store_true", help="also encode passage text alone (slow)")
    parser.add_argument("--only-recipes", action="store_true", help="just the recipe comparison (merged into --out)")
    parser.add_argument("--fusion-grid", action="store_true", help="a small grid with weighted RRF (writes scifact_fusion.json)")
    args = parser.parse_args()

    from rppsearch import search as search_mod  # noqa: PLC0415
    from rppsearch.bench import evaluate_runs, prepare_store, read_beir  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.embed import get_encoder  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    settings = Settings(index_dir=args.index_dir, embedding_model=PACKAGED_MODEL)
    bench_settings, _ = prepare_store(args.folder, settings)
    splits = {name: read_beir(args.folder, name) for name in ("train", "test")}
    encoder = get_encoder(PACKAGED_MODEL)
    vectors: dict[str, Any] = {}
    for queries, _ in splits.values():
        texts = list(queries.values())
        for text, vec in zip(texts, encoder.encode(texts)):
            vectors[text] = vec
    # the engine encodes the query's words without operators; SciFact claims are plain text,
    # but whitespace may differ: fall back to encoding the text as given
    search_mod.encode_query = lambda _settings, query: (  # type: ignore[assignment]
        vectors[query] if query in vectors else encoder.encode([query])[0]
    )

    store = Store.open(bench_settings.db_path, readonly=True)
    source = {r[0]: r[1] for r in store.conn.execute("SELECT id, json_extract(metadata, '$.source_id') FROM documents")}

    def ndcg(split: str, **options: Any) -> dict[str, float]:
        queries, qrels = splits[split]
        run = {}
        for qid, text in queries.items():
            hits = search_mod.search(store, bench_settings, query=text, limit=100, by="document", **options)
            run[qid] = {str(source[h.document_id]): float(100 - i) for i, h in enumerate(hits)}
        return evaluate_runs(qrels, {"x": run})["x"]

    if args.fusion_grid:
        fusion_grid(ndcg, HERE / "results" / "scifact_fusion.json")
        return
    if args.only_recipes:
        results = json.loads(args.out.read_text()) if args.out.exists() else {}
        results["recipes"] = compare_recipes(store, encoder, splits, source)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results["recipes"], indent=2))
        return
    results: dict[str, Any] = {"rrf": {}, "convex": {}}
    results["bm25_train"] = ndcg("train", mode="bm25")
    results["semantic_train"] = ndcg("train", mode="semantic")
    print("bm25", results["bm25_train"], "semantic", results["semantic_train"], file=sys.stderr)
    for k in (10, 30, 60, 100):
        for depth in (100, 200, 500):
            key = f"k={k},depth={depth}"
            results["rrf"][key] = ndcg("train", mode="hybrid", rrf_k=k, depth=depth)
            print("rrf", key, results["rrf"][key], file=sys.stderr)
    for weight in (0.3, 0.4, 0.5, 0.6, 0.7):
        results["convex"][str(weight)] = ndcg("train", mode="hybrid", fusion="convex", weight=weight, depth=200)
        print("convex", weight, results["convex"][str(weight)], file=sys.stderr)
    best_rrf = max(results["rrf"], key=lambda k: results["rrf"][k]["ndcg@10"])
    best_convex = max(results["convex"], key=lambda k: results["convex"][k]["ndcg@10"])
    k, depth = (int(part.split("=")[1]) for part in best_rrf.split(","))
    results["best"] = {
        "rrf": best_rrf,
        "convex_weight": float(best_convex),
        "test": {
            "bm25": ndcg("test", mode="bm25"),
            "semantic": ndcg("test", mode="semantic"),
            "hybrid_rrf_best": ndcg("test", mode="hybrid", rrf_k=k, depth=depth),
            "hybrid_rrf_default": ndcg("test", mode="hybrid"),
            "hybrid_convex_best": ndcg("test", mode="hybrid", fusion="convex", weight=float(best_convex), depth=200),
        },
    }
    if args.compare_recipes:
        results["recipes"] = compare_recipes(store, encoder, splits, source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["best"], indent=2))


def fusion_grid(ndcg: Any, out: Path) -> None:
    """Fusion settings on the TRAIN queries, then the best and the shipped default on test."""
    grid = {
        "rrf k=60 w=1.0/1.0": {"fusion": "rrf", "rrf_k": 60, "rrf_weights": (1.0, 1.0)},
        "rrf k=10 w=0.8/1.0": {"fusion": "rrf", "rrf_k": 10, "rrf_weights": (0.8, 1.0)},
        "rrf k=20 w=0.8/1.0": {"fusion": "rrf", "rrf_k": 20, "rrf_weights": (0.8, 1.0)},
        "rrf k=10 w=0.6/1.0": {"fusion": "rrf", "rrf_k": 10, "rrf_weights": (0.6, 1.0)},
        "convex w=0.5": {"fusion": "convex", "weight": 0.5},
    }
    results: dict[str, Any] = {"train": {}, "test": {}}
    for name, options in grid.items():
        results["train"][name] = ndcg("train", mode="hybrid", **options)
        print("train", name, results["train"][name], file=sys.stderr, flush=True)
    best = max(grid, key=lambda n: results["train"][n]["ndcg@10"])
    results["best_on_train"] = best
    for name in dict.fromkeys([best, "rrf k=60 w=1.0/1.0", *grid]):
        results["test"][name] = ndcg("test", mode="hybrid", **grid[name])
        print("test", name, results["test"][name], file=sys.stderr, flush=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    for mode in ("bm25", "semantic"):
        results["test"][mode] = ndcg("test", mode=mode)
    out.write_text(json.dumps(results, indent=2) + "\n")


def compare_recipes(store: Any, encoder: Any, splits: dict[str, Any], source: dict[str, str]) -> dict[str, Any]:
    """Semantic document ranking with each passage embedded as title+heading+text vs text alone."""
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from rppsearch.bench import evaluate_runs  # noqa: PLC0415
    from rppsearch.index.vectors import embedding_text  # noqa: PLC0415

    rows = store.conn.execute(
        "SELECT p.pk, p.document_id, coalesce(p.title, ''), p.heading, p.text FROM passages p ORDER BY p.pk"
    ).fetchall()
    doc_ids = sorted({r[1] for r in rows})
    doc_index = {d: i for i, d in enumerate(doc_ids)}
    owner = torch.tensor([doc_index[r[1]] for r in rows])
    recipes = {
        "title+heading+text": [embedding_text(r[2], r[3], r[4]) for r in rows],
        "text": [r[4] for r in rows],
    }
    out: dict[str, Any] = {}
    for name, texts in recipes.items():
        matrix = torch.from_numpy(encoder.encode(texts))
        for split, (queries, qrels) in splits.items():
            qvec = torch.from_numpy(np.stack(encoder.encode(list(queries.values()))))
            scores = qvec @ matrix.T
            run = {}
            for qi, qid in enumerate(queries):
                best = torch.full((len(doc_ids),), float("-inf")).scatter_reduce(0, owner, scores[qi], reduce="amax")
                top = torch.topk(best, 100)
                run[qid] = {str(source[doc_ids[d]]): float(v) for v, d in zip(top.values.tolist(), top.indices.tolist())}
            out[f"{name}/{split}"] = evaluate_runs(qrels, {"x": run})["x"]
            print("recipe", name, split, out[f"{name}/{split}"], file=sys.stderr)
    return out


if __name__ == "__main__":
    main()
