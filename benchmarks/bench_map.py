"""Evidence-and-gap map speed: 100k passages warm, and the sample corpus from a cold CLI.

    python benchmarks/bench_map.py [--passages 100000] [--sample-index-dir DIR]
        [--out benchmarks/results/map.json]

1. A synthetic store of `--passages` passages (20 a document; 48 districts, one or two a
   document; 30 organizations; years 2000-2024; 10 types; 5 dimensions, each passage tagged on
   every dimension, about a quarter assigned; 1% of tags replaced by people's decisions, some
   document-level rejects) is written through the real schema. Timed, warm (after one
   untimed run), median of 5: `evidence_map` for every column kind, one cell's passages
   (`cell_passages`, the largest cell, 50 rows), and the profile of the largest district.
2. With `--sample-index-dir` (a store built by `rpp build corpus`): `rpp map` and
   `rpp map --json` as new processes, median of 5 wall times (a cold interpreter each time;
   the OS file cache is warm).
Each figure is given as wall time and CPU time (the machine is shared: under load the wall
time includes waiting for a core, the CPU time is what the work itself took).
Targets (issue 15): < 1 s warm at 100k passages; < 1.5 s for the cold CLI on the sample.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIMENSIONS = ["learning-partnerships", "partnership-assistance", "unit-reorganization", "stewardship", "evidence-use"]
TYPES = ["report", "case study", "brief", "guide", "news", "blog", "newsletter", "essay", "presentation", "board document"]


def build_store(path: Path, n_passages: int, seed: int = 15) -> None:
    from rppsearch.store import Store

    rng = random.Random(seed)
    districts = [f"District {i:02d}" for i in range(48)]
    orgs = [f"Organization {i:02d}" for i in range(30)]
    per_doc = 20
    n_docs = n_passages // per_doc
    now = "2026-01-01T00:00:00Z"
    with Store.open(path) as store, store.transaction():
        conn = store.conn
        conn.executemany(
            "INSERT INTO dimensions (id, position, name, definition, taxonomy) VALUES (?, ?, ?, ?, 'bench')",
            [(d, i, d.replace("-", " ").capitalize(), "synthetic") for i, d in enumerate(DIMENSIONS)],
        )
        docs, passages = [], []
        for i in range(n_docs):
            named = rng.sample(districts, rng.choice((0, 1, 1, 1, 2)))
            docs.append((f"doc{i}", f"/bench/doc{i}.txt", "txt", f"Document {i}", rng.choice(orgs),
                         json.dumps(named), rng.choice([None, *range(2000, 2025)]), rng.choice(TYPES),
                         "x", f"h{i}", 100, per_doc, now, now))
            for seq in range(per_doc):
                passages.append((f"doc{i}-p{seq:04d}", f"doc{i}", seq, f"Passage {seq} of document {i} about schools.",
                                 0, 40, 8, f"t{i}-{seq}"))
        conn.executemany(
            "INSERT INTO documents (id, path, format, title, organization, districts, year, doc_type, text, "
            "content_hash, word_count, passage_count, ingested_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            docs,
        )
        conn.executemany(
            'INSERT INTO passages (id, document_id, seq, text, start, "end", word_count, text_hash) VALUES (?,?,?,?,?,?,?,?)',
            passages,
        )
        evidence = json.dumps([{"text": "A sentence that carries the tag.", "start": 0, "end": 30, "score": 0.8}])
        tags = []
        for pk in range(1, len(passages) + 1):
            for dim in DIMENSIONS:
                score = rng.random()
                human = rng.random() < 0.01
                assigned = score >= 0.75
                tags.append((pk, dim, 1.0 if human and assigned else score, int(assigned), "human" if human else "model",
                             None if human else "v1", evidence if assigned and not human else "[]"))
        conn.executemany(
            "INSERT INTO passage_tags (passage_pk, dimension_id, score, assigned, source, model_version, evidence) "
            "VALUES (?,?,?,?,?,?,?)",
            tags,
        )
        conn.executemany(
            "INSERT INTO document_tags (document_id, dimension_id, score, assigned, n_passages, source, model_version) "
            "VALUES (?, ?, 0.0, 0, 0, 'human', NULL)",
            [(f"doc{i}", rng.choice(DIMENSIONS)) for i in rng.sample(range(n_docs), max(1, n_docs // 100))],
        )
    with Store.open(path) as store:
        store.conn.execute("ANALYZE")


def _median_ms(fn, runs: int = 5) -> dict[str, float]:  # noqa: ANN001
    """Median wall and CPU milliseconds (CPU time is what an idle core would need; on a
    shared, loaded machine the wall time is inflated by waiting for a core)."""
    fn()  # warm
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"wall_ms": round(statistics.median(wall) * 1000, 1), "cpu_ms": round(statistics.median(cpu) * 1000, 1)}


def bench_library(path: Path) -> dict[str, dict[str, float]]:
    from rppsearch.report.evidence import cell_passages
    from rppsearch.report.html import write_map_html
    from rppsearch.report.matrix import COLUMNS, evidence_map
    from rppsearch.report.profile import build_profile
    from rppsearch.store import Store

    out: dict[str, dict[str, float]] = {}
    with Store.open(path, create=False, readonly=True) as store:
        for by in COLUMNS:
            out[f"map_{by}"] = _median_ms(lambda by=by: evidence_map(store, by=by))
        emap = evidence_map(store, by="district")
        biggest = max((c for c in emap.cells.values() if c.key), key=lambda c: c.passages)
        out["cell_passages"] = _median_ms(
            lambda: cell_passages(store, dimension=biggest.dimension_id, by="district", value=biggest.key, limit=50)
        )
        district = max((c for c in emap.columns if c.key), key=lambda c: c.documents).key
        out["profile"] = _median_ms(lambda: build_profile(store, district=district), runs=3)
        with tempfile.TemporaryDirectory() as tmp:  # the one-page export: every non-empty cell's passages
            page = evidence_map(store, by="district", max_columns=30)
            out["map_html_30_columns"] = _median_ms(lambda: write_map_html(store, page, Path(tmp) / "map.html"), runs=3)
    return out


def bench_cli(index_dir: Path) -> dict[str, dict[str, float]]:
    import resource

    rpp = str(Path(sys.executable).parent / "rpp")
    out = {}
    for name, extra in (("cli_map_table", []), ("cli_map_json", ["--json"])):
        wall, cpu = [], []
        for _ in range(5):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([rpp, "map", "--index-dir", str(index_dir), *extra], check=True, capture_output=True)
            wall.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        out[name] = {"wall_ms": round(statistics.median(wall) * 1000), "cpu_ms": round(statistics.median(cpu) * 1000)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--sample-index-dir", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "map.json")
    args = parser.parse_args()
    result: dict[str, object] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "passages": args.passages,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rpp.db"
        start = time.perf_counter()
        build_store(path, args.passages)
        result["build_store_s"] = round(time.perf_counter() - start, 1)
        result["library"] = bench_library(path)
    if args.sample_index_dir:
        result["sample_cli"] = bench_cli(args.sample_index_dir)
    result["machine"]["load_after"] = os.getloadavg()  # type: ignore[index]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{'measure':<22} {'wall ms':>9} {'CPU ms':>9}")
    for key, value in {**result["library"], **result.get("sample_cli", {})}.items():  # type: ignore[arg-type]
        print(f"{key:<22} {value['wall_ms']:>9} {value['cpu_ms']:>9}")
    print(f"load average before/after: {result['machine']['load_before']} / {result['machine']['load_after']}")  # type: ignore[index]


if __name__ == "__main__":
    main()
