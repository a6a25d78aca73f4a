"""Time a REFI-QDA export of 10,000 coded passages and its import into a fresh store.

Usage: python benchmarks/bench_qdpx.py [--documents 2000] [--passages 5] [--reviewers 1]

Builds a store of documents x passages with model tags (bench_review.build), codes every
passage the way `rpp review` does (per reviewer: one or two dimensions accepted, the rest
rejected) with a note on every tenth, then times `write_qdpx` (project.qde + sources in a
zip) and `import_qdpx` of that file into a second store built the same way, and checks the
decisions in force are the same. Target: each under 10 s. Writes benchmarks/results/qdpx.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_review import build  # noqa: E402


def code_everything(store, reviewers: list[str]) -> int:  # noqa: ANN001
    from rppsearch.store import labels as labelstore

    rng = random.Random(1)
    dims = [d["id"] for d in labelstore.codebook(store)]
    rows = store.conn.execute("SELECT pk, id, document_id, text_hash FROM passages ORDER BY pk").fetchall()
    n = 0
    with store.transaction():
        for who in reviewers:
            for i, (pk, pid, doc, digest) in enumerate(rows):
                yes = set(rng.sample(dims, rng.choice((1, 1, 2))))
                labelstore.record_decisions(
                    store, target=labelstore.Target("passage", pid, doc, digest, pk), reviewer=who,
                    decisions=[(d, "accept" if d in yes else "reject") for d in dims],
                    note=f"note {i}" if i % 10 == 0 else None,
                )
                n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--passages", type=int, default=5)
    parser.add_argument("--reviewers", type=int, default=1)
    args = parser.parse_args()
    from rppsearch.qdpx import write_qdpx
    from rppsearch.qdpx_import import import_qdpx
    from rppsearch.store import Store
    from rppsearch.store import label_queries

    def in_force(store: Store) -> dict:
        return {(l.reviewer, l.target_id, l.dimension_id): l.decision for l in label_queries.latest_by_reviewer(store)}

    with tempfile.TemporaryDirectory() as tmp:
        db, fresh_db, out = Path(tmp) / "rpp.db", Path(tmp) / "fresh.db", Path(tmp) / "coded.qdpx"
        build(db, args.documents, args.passages)
        build(fresh_db, args.documents, args.passages)
        with Store.open(db) as store:
            coded = code_everything(store, [f"reviewer{i}" for i in range(args.reviewers)])
            t0, c0 = time.perf_counter(), time.process_time()
            exported = write_qdpx(store, out)
            export_s, export_cpu = time.perf_counter() - t0, time.process_time() - c0
            expected = in_force(store)
        with Store.open(fresh_db) as fresh:
            t0, c0 = time.perf_counter(), time.process_time()
            imported = import_qdpx(fresh, out)
            import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
            same = in_force(fresh) == expected
    payload = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "coded_passages": coded,
        "selections": exported.selections,
        "codings": exported.codings,
        "file_mb": round(out.stat().st_size / 1e6, 2) if out.exists() else None,
        "export_s": round(export_s, 2),
        "import_s": round(import_s, 2),
        "export_cpu_s": round(export_cpu, 2),
        "import_cpu_s": round(import_cpu, 2),
        "decisions_imported": imported.imported,
        "same_decisions": same,
    }
    target = ROOT / "benchmarks" / "results" / "qdpx.json"
    target.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"| coded passages | codings | export (CPU) | import (CPU) | same decisions | load |\n|---|---|---|---|---|---|\n"
          f"| {coded:,} | {exported.codings:,} | {export_s:.2f} s ({export_cpu:.2f} s) | {import_s:.2f} s ({import_cpu:.2f} s) "
          f"| {same} | {os.getloadavg()[0]:.1f} |")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
