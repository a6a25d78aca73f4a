"""Latency of the review workflow on a large synthetic store: queue, decisions, undo, agreement, export/import.

Usage: python benchmarks/bench_review.py [--documents 2000] [--passages 10] [--decisions 200]
Builds a fresh store of documents x passages with model tags on every dimension (through the
store's own writers; no parsing, no model), then times what a reviewer waits for:
- opening `rpp review` (building the most-uncertain-first queue);
- one decision (label row, human tag, `dimensions` column, the document's roll-up), p50/p95;
- undo of the last decision;
- `rpp agreement` with two reviewers over the decided passages;
- `rpp labels export` (JSON lines) and importing that file into a copy of the store.
Writes benchmarks/results/review.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(path: Path, n_docs: int, n_passages: int) -> None:
    from rppsearch.models import Document, Metadata, Passage
    from rppsearch.store import Store
    from rppsearch.store import documents as docstore
    from rppsearch.store import tags as tagstore
    from rppsearch.taxonomy import load_default_taxonomy

    rng = random.Random(0)
    taxonomy = load_default_taxonomy()
    words = "principal supervisor coaching district office data evidence budget human resources schools".split()
    with Store.open(path) as store:
        with store.transaction():
            tagstore.sync_dimensions(store, taxonomy)
            tagstore.register_model(store, {
                "version": "v1", "kind": "bench", "created_at": "2024-01-01T00:00:00+00:00",
                "codebook": {"name": taxonomy.name, "hash": taxonomy.hash},
                "training": {"hash": "bench", "n_examples": 0}, "metrics": {},
            }, path="models/v1")
            for d in range(n_docs):
                texts = [" ".join(rng.choice(words) for _ in range(80)) + "." for _ in range(n_passages)]
                text, passages, pos = "", [], 0
                for i, t in enumerate(texts):
                    if i:
                        text += "\n\n"
                        pos += 2
                    passages.append(Passage(seq=i, text=t, start=pos, end=pos + len(t)))
                    text += t
                    pos += len(t)
                docstore.replace_document(store, Document(
                    id=f"doc-{d:05d}", path=f"/bench/{d}.txt", format="txt", text=text,
                    content_hash=str(d), metadata=Metadata(title=f"Document {d}"), passages=passages))
            rows = [
                tagstore.PassageTagRow(pk, dim, s, s >= 0.5, "v1", [{"text": "x", "start": 0, "end": 1, "score": s}])
                for (pk,) in store.conn.execute("SELECT pk FROM passages")
                for dim in taxonomy.ids
                for s in [round(rng.random(), 4)]
            ]
            tagstore.write_passage_tags(store, rows)
            tagstore.refresh_dimensions(store)
        from rppsearch.review import rollup

        rollup(store, [r[0] for r in store.conn.execute("SELECT id FROM documents")])


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--passages", type=int, default=10)
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    from rppsearch.agreement import agreement
    from rppsearch.labels_io import import_labels, write_export
    from rppsearch.review import ReviewSession
    from rppsearch.store import Store

    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "rpp.db"
        t0 = time.perf_counter()
        build(db, args.documents, args.passages)
        setup_s = time.perf_counter() - t0
        with Store.open(db) as store:
            n = store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
            t0 = time.perf_counter()
            ana = ReviewSession(store, reviewer="ana")
            results.append({"step": f"open the queue ({n} passages, most uncertain first)", "ms": ms(time.perf_counter() - t0)})
            times = []
            for _ in range(args.decisions):
                item = ana.current()
                t0 = time.perf_counter()
                ana.accept(item)
                times.append(time.perf_counter() - t0)
            results.append({"step": "accept a passage (5 labels, tags, roll-up), p50", "ms": ms(statistics.median(times))})
            results.append({"step": "accept a passage, p95", "ms": ms(sorted(times)[int(0.95 * len(times)) - 1])})
            t0 = time.perf_counter()
            item = ana.current()
            results.append({"step": "next passage on screen", "ms": ms(time.perf_counter() - t0)})
            t0 = time.perf_counter()
            ana.undo()
            results.append({"step": "undo", "ms": ms(time.perf_counter() - t0)})
            ben = ReviewSession(store, reviewer="ben")
            for _ in range(args.decisions):
                item = ben.current()
                ben.reject(item, item.dimensions[0].id)
                ben.accept(ben.current())
            t0 = time.perf_counter()
            report = agreement(store)
            results.append({"step": f"agreement, 2 reviewers x {report.n_shared_targets} passages", "ms": ms(time.perf_counter() - t0)})
            out = Path(tmp) / "labels.jsonl"
            t0 = time.perf_counter()
            rows = write_export(store, fmt="jsonl", output=out)
            results.append({"step": f"export {rows} decisions (jsonl)", "ms": ms(time.perf_counter() - t0)})
        copy = Path(tmp) / "copy.db"
        build(copy, args.documents, args.passages)
        with Store.open(copy) as fresh:
            t0 = time.perf_counter()
            report_io = import_labels(fresh, out)
            results.append({"step": f"import {report_io.imported} decisions (one transaction)", "ms": ms(time.perf_counter() - t0)})
    payload = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "store": {"documents": args.documents, "passages": n, "setup_s": round(setup_s, 1)},
        "results": results,
    }
    target = ROOT / "benchmarks" / "results" / "review.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"{n} passages, {payload['machine']}\n")
    print("| step | ms |\n|---|---|")
    for r in results:
        print(f"| {r['step']} | {r['ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
