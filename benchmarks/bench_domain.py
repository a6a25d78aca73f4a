"""Retrieval quality on documents of this field: our own graded questions (benchmarks/domain/).

    python benchmarks/bench_domain.py [--index-dir /tmp/rpp-domain] [--split all|tune|test]
        [--option rrf_k=10 --option depth=200 ...] [--out benchmarks/results/domain.json]

The sample corpus (corpus/docs with its catalog) and the real pages in ../shared/seeds and
../shared/domain are ingested, encoded with the packaged MiniLM and indexed in a cache store
(`--index-dir`, rebuilt only when the files change). Each question in
benchmarks/domain/queries.jsonl has graded judgments (2 = answers it, 1 = on topic / partly)
on documents named by their path (`corpus/NAME`, `seeds/NAME`, `domain/NAME`); unjudged
documents count 0. Documents are ranked by their best passage (`by="document"`), as SciFact
is; nDCG@10, Recall@100 and MRR@10 by ranx, per mode, for all questions, the lexical and the
paraphrase ones, and the tune/test halves (odd/even question numbers). Passage mode is
checked for diversity: the most passages one document has in a query's top 10.
Writes benchmarks/results/domain.json (or --out) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COLLECTIONS = {
    "corpus": REPO / "corpus" / "docs",
    "seeds": REPO.parent / "shared" / "seeds",
    "domain": REPO.parent / "shared" / "domain",
}


def read_queries(path: Path) -> list[dict[str, Any]]:
    queries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in queries:
        if not any(g > 0 for g in q["judgments"].values()):
            raise SystemExit(f"{path}: {q['id']} has no positive judgment")
    return queries


def doc_key(path: str) -> str | None:
    """`corpus/NAME`, `seeds/NAME` or `domain/NAME` for a stored document's path."""
    p = Path(path)
    for name, folder in COLLECTIONS.items():
        try:
            p.relative_to(folder.resolve())
        except ValueError:
            continue
        return f"{name}/{p.name}"
    return None


def prepare(index_dir: Path, model: str) -> tuple[Any, dict[str, Any]]:
    """Ingest, encode and index the three collections into `index_dir` (incremental)."""
    from rppsearch.config import Settings  # noqa: PLC0415
    from rppsearch.index import refresh_indexes  # noqa: PLC0415
    from rppsearch.index.vectors import embed_missing  # noqa: PLC0415
    from rppsearch.ingest.pipeline import ingest_paths  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    missing = [str(f) for f in COLLECTIONS.values() if not f.is_dir()]
    if missing:
        raise SystemExit(f"missing collections (needs ../shared beside the repo): {', '.join(missing)}")
    settings = Settings(index_dir=index_dir, embedding_model=model)
    summary: dict[str, Any] = {}
    with Store.open(settings.db_path) as store:
        t0 = time.perf_counter()
        failed = []
        for name, folder in COLLECTIONS.items():
            catalog = folder.parent / "catalog.csv" if name == "corpus" else None
            report = ingest_paths(store, [folder], catalog=catalog, prune=True)
            failed += report.failed
        summary["ingest_seconds"] = round(time.perf_counter() - t0, 2)
        summary["failed"] = [list(f) for f in failed]
        summary["embed"] = embed_missing(store, settings)
        summary["index"] = refresh_indexes(store, settings)
        summary["documents"] = int(store.conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        summary["passages"] = int(store.conn.execute("SELECT count(*) FROM passages").fetchone()[0])
    return settings, summary


def evaluate(
    settings: Any, queries: list[dict[str, Any]], modes: list[str], options: dict[str, Any]
) -> dict[str, Any]:
    from rppsearch.bench import evaluate_runs  # noqa: PLC0415
    from rppsearch.search import search, search_page  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    out: dict[str, Any] = {}
    with Store.open(settings.db_path, readonly=True) as store:
        keys = {r[0]: doc_key(r[1]) for r in store.conn.execute("SELECT id, path FROM documents")}
        judged = {k for q in queries for k in q["judgments"]}
        unknown = judged - set(keys.values())
        if unknown:
            raise SystemExit(f"judgments name documents not in the store: {sorted(unknown)}")
        for mode in modes:
            runs: dict[str, dict[str, float]] = {}
            times: list[float] = []
            crowd: list[int] = []
            for q in queries:
                t0 = time.perf_counter()
                hits = search(store, settings, query=q["query"], mode=mode, limit=100, by="document", **options)
                times.append((time.perf_counter() - t0) * 1000)
                runs[q["id"]] = {keys[h.document_id] or h.document_id: float(100 - i) for i, h in enumerate(hits)}
                page = search_page(store, settings, q["query"], mode=mode, limit=10, count=False, facets=False,
                                   **{k: v for k, v in options.items() if k != "per_document"})
                per_doc: dict[str, int] = {}
                for h in page.hits:
                    per_doc[h.document_id] = per_doc.get(h.document_id, 0) + 1
                crowd.append(max(per_doc.values(), default=0))
            groups = {
                "all": queries,
                "lexical": [q for q in queries if q["kind"] == "lexical"],
                "paraphrase": [q for q in queries if q["kind"] == "paraphrase"],
                "tune": [q for q in queries if int(q["id"][1:]) % 2 == 1],
                "test": [q for q in queries if int(q["id"][1:]) % 2 == 0],
            }
            scores = {}
            for name, group in groups.items():
                qrels = {q["id"]: {k: int(g) for k, g in q["judgments"].items() if g > 0} for q in group}
                scores[name] = evaluate_runs(qrels, {"x": {q["id"]: runs[q["id"]] for q in group}})["x"]
            per_query = evaluate_per_query(queries, runs)
            out[mode] = {
                "metrics": scores,
                "max_passages_of_one_document_in_top10": max(crowd),
                "latency_ms_p50": round(statistics.median(times), 2),
                "per_query_ndcg@10": per_query,
            }
    return out


def evaluate_per_query(queries: list[dict[str, Any]], runs: dict[str, dict[str, float]]) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate  # noqa: PLC0415

    qrels = Qrels.from_dict({q["id"]: {k: int(g) for k, g in q["judgments"].items() if g > 0} for q in queries})
    filled = {q["id"]: (runs.get(q["id"]) or {"__none__": 0.0}) for q in queries}
    scores = evaluate(qrels, Run.from_dict(filled), "ndcg@10", return_mean=False, make_comparable=True)
    return {q["id"]: round(float(s), 4) for q, s in zip(queries, scores)}


def parse_options(items: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/rpp-domain"))
    parser.add_argument("--queries", type=Path, default=HERE / "domain" / "queries.jsonl")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "domain.json")
    parser.add_argument("--mode", action="append", choices=["bm25", "semantic", "hybrid"])
    parser.add_argument("--option", action="append", default=[], help="a search() option, e.g. rrf_k=10")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from rppsearch.bench import machine_info  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL  # noqa: PLC0415

    queries = read_queries(args.queries)
    settings, prepared = prepare(args.index_dir, os.environ.get("RPP_MODEL", PACKAGED_MODEL))
    options = parse_options(args.option)
    modes = args.mode or ["bm25", "semantic", "hybrid"]
    results = evaluate(settings, queries, modes, options)
    record = {
        "queries": len(queries),
        "paraphrases": sum(q["kind"] == "paraphrase" for q in queries),
        "options": options,
        "prepare": prepared,
        "machine": machine_info(),
        "load_average": round(os.getloadavg()[0], 2),
        "modes": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"{len(queries)} questions ({record['paraphrases']} paraphrases), {prepared['documents']} documents, "
          f"{prepared['passages']} passages; options {options or 'default'}")
    print(f"{'mode':9} {'nDCG@10':>8} {'lexical':>8} {'paraphr':>8} {'tune':>7} {'test':>7} {'R@100':>7} {'MRR@10':>7} {'max/doc':>7} {'p50 ms':>7}")
    for mode, r in results.items():
        m = r["metrics"]
        print(
            f"{mode:9} {m['all']['ndcg@10']:8.4f} {m['lexical']['ndcg@10']:8.4f} {m['paraphrase']['ndcg@10']:8.4f} "
            f"{m['tune']['ndcg@10']:7.4f} {m['test']['ndcg@10']:7.4f} {m['all']['recall@100']:7.4f} "
            f"{m['all']['mrr@10']:7.4f} {r['max_passages_of_one_document_in_top10']:7d} {r['latency_ms_p50']:7.1f}"
        )


if __name__ == "__main__":
    main()
