"""Retrieval benchmark on any BEIR-layout folder: nDCG@10, Recall@100, MRR@10 (ranx), latency.

The corpus (`DIR/corpus.jsonl`) is ingested into a cache store (documents get ids
`<folder>-<_id>` and keep the BEIR `_id` in `metadata.source_id`), encoded and indexed once,
and reused while the corpus file is unchanged. Documents are ranked by their best passage.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import InputError
from .ingest.metadata import slugify

METRICS = ("ndcg@10", "recall@100", "mrr@10")
RUN_DEPTH = 100  # documents retrieved per query (Recall@100 needs 100)


def read_beir(folder: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """(queries {id: text}, qrels {query id: {doc id: relevance > 0}}) for `split`."""
    for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / name).is_file():
            raise InputError(folder / name, "missing: a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or (number == 1 and not row[-1].strip().lstrip("-").isdigit()):
                continue  # blank line or header
            if len(row) < 3:
                raise InputError(folder / "qrels" / f"{split}.tsv", f"line {number}: expected query-id, corpus-id, score")
            try:
                score = int(row[-1])
            except ValueError as exc:
                raise InputError(folder / "qrels" / f"{split}.tsv", f"line {number}: score {row[-1]!r} is not a whole number") from exc
            if score > 0:
                qrels.setdefault(row[0], {})[row[1]] = score
    queries: dict[str, str] = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InputError(folder / "queries.jsonl", f"line {number}: invalid JSON ({exc})") from exc
            qid = str(record.get("_id"))
            if qid in qrels:
                queries[qid] = str(record.get("text") or "")
    qrels = {q: rel for q, rel in qrels.items() if q in queries}
    if not qrels:
        raise InputError(folder / "qrels" / f"{split}.tsv", "no query in it has a positive judgement and a text")
    return queries, qrels


def prepare_store(folder: Path, settings: Settings, cache_dir: Path | None = None) -> tuple[Settings, dict[str, Any]]:
    """Ingest, encode and index `folder/corpus.jsonl` into a cache; return its settings and a summary."""
    from .index import refresh_indexes  # noqa: PLC0415
    from .index.vectors import embed_missing  # noqa: PLC0415
    from .ingest.pipeline import ingest_paths  # noqa: PLC0415
    from .store import Store  # noqa: PLC0415

    folder = folder.resolve()
    cache = cache_dir or settings.index_dir / "bench" / slugify(folder.name)
    bench_settings = Settings(index_dir=Path(cache), embedding_model=settings.embedding_model)
    corpus = folder / "corpus.jsonl"
    stat = corpus.stat()
    stamp = {"corpus": str(corpus), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    stamp_path = Path(cache) / "bench-source.json"
    summary: dict[str, Any] = {}
    with Store.open(bench_settings.db_path) as store:
        try:
            previous = json.loads(stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if previous != stamp:
            t0 = time.perf_counter()
            report = ingest_paths(store, [corpus], prune=True)
            summary["ingest"] = {**report.summary(), "seconds": round(time.perf_counter() - t0, 2)}
            if report.failed:
                summary["ingest"]["first_failures"] = report.failed[:3]
            stamp_path.write_text(json.dumps(stamp), encoding="utf-8")
        summary["embed"] = embed_missing(store, bench_settings)
        summary["index"] = refresh_indexes(store, bench_settings)
        summary["documents"] = int(store.conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        summary["passages"] = int(store.conn.execute("SELECT count(*) FROM passages").fetchone()[0])
    return bench_settings, summary


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def evaluate_runs(qrels: dict[str, dict[str, int]], runs: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """ranx metrics for each named run."""
    from ranx import Qrels, Run, evaluate  # noqa: PLC0415

    rq = Qrels.from_dict(qrels)
    out = {}
    for name, run in runs.items():
        filled = {q: (run.get(q) or {"__none__": 0.0}) for q in qrels}
        scores = evaluate(rq, Run.from_dict(filled), list(METRICS), make_comparable=True)
        out[name] = {m: float(scores[m]) for m in METRICS}
    return out


def run_retrieval(
    *,
    folder: Path,
    settings: Settings,
    modes: Sequence[str] = ("bm25", "semantic", "hybrid"),
    split: str = "test",
    cache_dir: Path | None = None,
    search_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate each mode on `folder`'s `split`; return metrics, latencies and the setup."""
    from .search import search  # noqa: PLC0415
    from .store import Store  # noqa: PLC0415

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    queries, qrels = read_beir(folder, split)
    bench_settings, summary = prepare_store(folder, settings, cache_dir)
    options = dict(search_options or {})
    result: dict[str, Any] = {
        "dataset": folder.name,
        "split": split,
        "queries": len(queries),
        "documents": summary["documents"],
        "passages": summary["passages"],
        "model": bench_settings.embedding_model,
        "prepare": summary,
        "search_options": options,
        "machine": machine_info(),
        "modes": {},
    }
    with Store.open(bench_settings.db_path, readonly=True) as store:
        source = {
            r[0]: r[1]
            for r in store.conn.execute("SELECT id, json_extract(metadata, '$.source_id') FROM documents")
        }
        runs: dict[str, dict[str, dict[str, float]]] = {}
        latencies: dict[str, list[float]] = {}
        for mode in modes:
            first = next(iter(queries.values()))
            search(store, bench_settings, query=first, mode=mode, limit=RUN_DEPTH, by="document", **options)
            run: dict[str, dict[str, float]] = {}
            times: list[float] = []
            for qid, text in queries.items():
                t0 = time.perf_counter()
                hits = search(store, bench_settings, query=text, mode=mode, limit=RUN_DEPTH, by="document", **options)
                times.append((time.perf_counter() - t0) * 1000)
                run[qid] = {
                    str(source.get(h.document_id) or h.document_id): float(RUN_DEPTH - rank)
                    for rank, h in enumerate(hits)
                }
            runs[mode] = run
            latencies[mode] = times
    metrics = evaluate_runs(qrels, runs)
    for mode in modes:
        times = latencies[mode]
        result["modes"][mode] = {
            **{m: round(v, 4) for m, v in metrics[mode].items()},
            "latency_ms": {
                "p50": round(_percentile(times, 0.5), 2),
                "p95": round(_percentile(times, 0.95), 2),
                "mean": round(statistics.fmean(times), 2),
            },
        }
    return result


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as handle:
            info["memory_gb"] = round(int(handle.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        import sqlite3  # noqa: PLC0415

        info["sqlite"] = sqlite3.sqlite_version
    except ImportError:  # pragma: no cover
        pass
    return info
