"""Scale benchmark: synthetic corpora of 10k / 100k / 1M passages.

Passages are Zipf-distributed real English words (word frequencies from spaCy's
`en_lexeme_prob` table in spacy-lookups-data); vectors are random unit vectors stored under
the packaged MiniLM's fingerprint, so queries are encoded by the real model. For each size:
store + FTS5 build time and peak memory, vectors index build, warm query latency p50/p95
per mode (in-process, including the query's encoding), cold-start wall time of `rpp search`
per mode and of `rpp --help`; once: encode throughput of the pipeline vs the bare encoder.

    python benchmarks/bench_scale.py --sizes 10k 100k [--workdir /tmp/rpp-scale]

Writes benchmarks/results/scale.json (merged per size) and prints a markdown table.
Each phase runs in its own subprocess so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale.json"
PASSAGES_PER_DOC = 10
DIM = 384
VOCAB_SIZE = 50_000
ORGS = ["Wallace Foundation", "Education Resource Strategies", "DL2", "CGCS", "21CSLA", "CEL"]
DISTRICTS = ["Denver Public Schools", "Long Beach Unified", "Atlanta Public Schools", "Oakland Unified", "Tulsa Public Schools"]
DOC_TYPES = ["report", "brief", "case study", "news", "toolkit"]


def parse_size(text: str) -> int:
    text = text.lower().strip()
    factor = 1
    if text.endswith("k"):
        factor, text = 1_000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def vocabulary() -> tuple[list[str], Any]:
    """The `VOCAB_SIZE` most frequent lower-case English words and their probabilities."""
    import numpy as np  # noqa: PLC0415
    import spacy_lookups_data  # noqa: PLC0415

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        probs = json.load(handle)
    words = sorted(
        ((w, p) for w, p in probs.items() if re.fullmatch(r"[a-z]{2,}|a|i", w)), key=lambda item: -item[1]
    )[:VOCAB_SIZE]
    weights = np.exp(np.array([p for _, p in words], dtype=np.float64))
    return [w for w, _ in words], weights / weights.sum()


def queries(n: int, seed: int = 1) -> list[str]:
    """Researcher-like short queries: 2-5 content words drawn by frequency."""
    import numpy as np  # noqa: PLC0415

    from rppsearch.index.lexical import STOP_WORDS  # noqa: PLC0415

    words, probs = vocabulary()
    keep = np.array([w not in STOP_WORDS for w in words])
    content = [w for w, k in zip(words, keep) if k]
    p = probs[keep] / probs[keep].sum()
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(content, size=int(rng.integers(2, 6)), p=p)) for _ in range(n)]


# -- phases (each run as `bench_scale.py _phase ...` in a subprocess) -------------------------
def phase_build(n: int, folder: Path) -> dict[str, Any]:
    """Write the store (documents, passages, FTS via triggers), the vectors, the matrix."""
    import numpy as np  # noqa: PLC0415

    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.index.bm25 import refresh_lexical  # noqa: PLC0415
    from rppsearch.index.vectors import current_fingerprint, refresh_index  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415
    from rppsearch.store.vectors import put_vectors  # noqa: PLC0415

    import shutil  # noqa: PLC0415

    settings = Settings(index_dir=folder, embedding_model=PACKAGED_MODEL)
    shutil.rmtree(folder, ignore_errors=True)  # store and indexes: build everything from scratch
    folder.mkdir(parents=True)
    words, probs = vocabulary()
    vocab = np.array(words, dtype=object)
    rng = np.random.default_rng(42)
    store = Store.open(settings.db_path)
    store.conn.execute("PRAGMA cache_size = -262144")
    model = current_fingerprint(settings)
    t0 = time.perf_counter()
    n_docs = (n + PASSAGES_PER_DOC - 1) // PASSAGES_PER_DOC
    batch_docs = 5_000
    stamp = "2026-01-01T00:00:00+00:00"
    written = 0
    for first in range(0, n_docs, batch_docs):
        doc_rows, passage_rows = [], []
        for d in range(first, min(first + batch_docs, n_docs)):
            doc_id = f"doc{d:07d}"
            texts = []
            count = min(PASSAGES_PER_DOC, n - d * PASSAGES_PER_DOC)
            lengths = rng.integers(60, 160, size=count)
            idx = rng.choice(len(vocab), size=int(lengths.sum()), p=probs)
            pos = 0
            for length in lengths:
                texts.append(" ".join(vocab[idx[pos : pos + length]]).capitalize() + ".")
                pos += length
            title = " ".join(vocab[rng.choice(len(vocab), size=4, p=probs)]).title()
            start = 0
            for seq, text in enumerate(texts):
                passage_rows.append(
                    (f"{doc_id}-p{seq:04d}", doc_id, seq, title, "", text, start, start + len(text),
                     len(text.split()), f"h{d}-{seq}")
                )
                start += len(text) + 2
            body = "\n\n".join(texts)
            doc_rows.append(
                (doc_id, f"/synthetic/{doc_id}.txt", "txt", title, ORGS[d % len(ORGS)],
                 json.dumps([DISTRICTS[d % len(DISTRICTS)]]), 2000 + d % 25, DOC_TYPES[d % len(DOC_TYPES)],
                 body, f"c{d}", len(body.split()), count, stamp, stamp)
            )
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO documents (id, path, format, title, organization, districts, year, doc_type, "
                "text, content_hash, word_count, passage_count, ingested_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                doc_rows,
            )
            store.conn.executemany(
                'INSERT INTO passages (id, document_id, seq, title, heading, text, start, "end", word_count, text_hash) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                passage_rows,
            )
        written += len(passage_rows)
    store_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = store.conn.execute("SELECT pk, text_hash FROM passages ORDER BY pk").fetchall()
    pks, hashes = [r[0] for r in rows], [r[1] for r in rows]
    del rows
    for i in range(0, len(pks), 50_000):
        vecs = rng.standard_normal((min(50_000, len(pks) - i), DIM), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with store.transaction():
            put_vectors(store, zip(pks[i : i + 50_000], hashes[i : i + 50_000], vecs), model=model)
    vectors_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = refresh_index(store, settings, fingerprint=model)
    index_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    lexical_report = refresh_lexical(store, settings)
    lexical_seconds = time.perf_counter() - t0
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {
        "passages": written,
        "documents": n_docs,
        "store_fts_seconds": round(store_seconds, 1),
        "vectors_write_seconds": round(vectors_seconds, 1),
        "vectors_index_seconds": round(index_seconds, 2),
        "index_report": report,
        "lexical_index_seconds": round(lexical_seconds, 1),
        "lexical_report": lexical_report,
        "db_mb": round(settings.db_path.stat().st_size / 2**20),
        "matrix_mb": round((settings.vectors_dir / "vectors.npy").stat().st_size / 2**20),
    }


def phase_index(folder: Path) -> dict[str, Any]:
    """Bring the vectors index up to date (a store built by an earlier version gets its sign codes)."""
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.index.vectors import refresh_index  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    settings = Settings(index_dir=folder, embedding_model=PACKAGED_MODEL)
    with Store.open(settings.db_path) as store:
        return refresh_index(store, settings)


def phase_query(folder: Path, modes: list[str], n_queries: int, *, exact: bool = False) -> dict[str, Any]:
    """Warm latencies per mode, in one process, after a warm-up; the query encoding included.
    `exact`: every row scored (the scan before the coarse one), for comparison."""
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.index import quantized  # noqa: PLC0415

    if exact:
        quantized.MIN_ROWS = 2**62
    from rppsearch import search as search_mod  # noqa: PLC0415
    from rppsearch.search import Filters, search  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    settings = Settings(index_dir=folder, embedding_model=PACKAGED_MODEL)
    qs = queries(n_queries + 10)
    out: dict[str, Any] = {}
    with Store.open(settings.db_path, readonly=True) as store:
        variants = [(m, {}) for m in modes] + [
            ("hybrid+filter", {"mode": "hybrid", "filters": Filters(organization="DL2", year_from=2010)}),
            ("hybrid by document", {"mode": "hybrid", "by": "document"}),
        ]
        for name, extra in variants:
            kwargs = {"mode": name, **extra} if not extra else extra
            for q in qs[:10]:
                search(store, settings, query=q, limit=10, **kwargs)
            times = []
            for q in qs[10:]:
                search_mod._QUERY_VECTORS.clear()  # every timed query pays for its encoding
                t0 = time.perf_counter()
                search(store, settings, query=q, limit=10, **kwargs)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out[name] = {
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
                "mean_ms": round(statistics.fmean(times), 2),
            }
    from rppsearch.index.vectors import load_index  # noqa: PLC0415

    index = load_index(settings)  # which scan served: the coarse one needs codes and enough rows
    out["vector_scan"] = "coarse+rescore" if index.codes is not None and index.count >= quantized.MIN_ROWS else "exact"
    return out


def phase_encode(n: int) -> dict[str, Any]:
    """Pipeline (`embed_missing`, store reads and writes included) vs the bare encoder."""
    import tempfile  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.embed import get_encoder  # noqa: PLC0415
    from rppsearch.index.vectors import embed_missing, embedding_text  # noqa: PLC0415
    from rppsearch.models import Document, Metadata, Passage  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415
    from rppsearch.store.documents import replace_document  # noqa: PLC0415

    words, probs = vocabulary()
    vocab = np.array(words, dtype=object)
    rng = np.random.default_rng(7)
    docs = []
    for d in range(n // PASSAGES_PER_DOC):
        texts = [" ".join(vocab[rng.choice(len(vocab), size=int(rng.integers(60, 200)), p=probs)]) + "." for _ in range(PASSAGES_PER_DOC)]
        body = "\n\n".join(texts)
        passages, pos = [], 0
        for seq, text in enumerate(texts):
            passages.append(Passage(seq=seq, text=text, start=pos, end=pos + len(text)))
            pos += len(text) + 2
        docs.append(Document(id=f"e{d}", path=f"/e/{d}", format="txt", text=body, content_hash=str(d),
                             metadata=Metadata(title=f"Title {d}"), passages=passages))
    encoder = get_encoder(PACKAGED_MODEL)
    all_texts = [embedding_text(doc.metadata.title, p.heading, p.text) for doc in docs for p in doc.passages]
    encoder.encode(all_texts[:64])  # warm-up
    results: dict[str, list[float]] = {"bare": [], "pipeline": []}
    for _ in range(2):  # alternate to even out load on a shared machine
        t0 = time.perf_counter()
        encoder.encode(all_texts, batch_size=64)
        results["bare"].append(len(all_texts) / (time.perf_counter() - t0))
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(index_dir=Path(tmp), embedding_model=PACKAGED_MODEL)
            with Store.open(settings.db_path) as store:
                with store.transaction():
                    for doc in docs:
                        replace_document(store, doc)
                t0 = time.perf_counter()
                report = embed_missing(store, settings)
                results["pipeline"].append(report["encoded"] / (time.perf_counter() - t0))
    bare, pipe = max(results["bare"]), max(results["pipeline"])
    return {
        "passages": len(all_texts),
        "bare_passages_per_s": round(bare, 1),
        "pipeline_passages_per_s": round(pipe, 1),
        "ratio": round(pipe / bare, 3),
        "runs": {k: [round(v, 1) for v in vs] for k, vs in results.items()},
    }


# -- orchestration -----------------------------------------------------------------------
def run_phase(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run a phase in a subprocess; return its JSON, wall seconds and peak RSS in MB."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed with exit code {proc.returncode}")
    return json.loads(output.strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


def cold_start(folder: Path, runs: int = 5) -> dict[str, float]:
    """Median wall seconds of `rpp search` per mode (new process each time) and of `rpp --help`."""
    rpp = str(Path(sys.executable).parent / "rpp")
    env = {**os.environ, "RPP_MODEL": "all-MiniLM-L6-v2"}
    qs = queries(runs, seed=99)
    out: dict[str, float] = {}
    commands = {
        "help": lambda q: [rpp, "--help"],
        "bm25": lambda q: [rpp, "search", q, "--mode", "bm25", "--json", "--index-dir", str(folder)],
        "semantic": lambda q: [rpp, "search", q, "--mode", "semantic", "--json", "--index-dir", str(folder)],
        "hybrid": lambda q: [rpp, "search", q, "--mode", "hybrid", "--json", "--index-dir", str(folder)],
    }
    for name, command in commands.items():
        walls = []
        for q in qs:
            t0 = time.perf_counter()
            subprocess.run(command(q), check=True, capture_output=True, env=env)
            walls.append(time.perf_counter() - t0)
        out[name] = round(statistics.median(walls), 3)
    return out


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| passages | store+FTS5 build | tantivy build | vectors index build | build peak RSS | bm25 p50 / p95 | semantic p50 / p95 | hybrid p50 / p95 | hybrid+filter p50 | hybrid by doc p50 | query RSS | cold `rpp search` bm25 / hybrid | `rpp --help` |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in sorted(results.get("sizes", {}).items(), key=lambda kv: kv[1]["passages"]):
        b, q, c = r["build"], r["query"], r["cold_start_s"]
        lines.append(
            f"| {size} | {b['store_fts_seconds']} s | {b.get('lexical_index_seconds', '?')} s | {b['vectors_index_seconds']} s | {r['build_peak_rss_mb']:.0f} MB | "
            f"{q['bm25']['p50_ms']} / {q['bm25']['p95_ms']} ms | {q['semantic']['p50_ms']} / {q['semantic']['p95_ms']} ms | "
            f"{q['hybrid']['p50_ms']} / {q['hybrid']['p95_ms']} ms | {q['hybrid+filter']['p50_ms']} ms | "
            f"{q['hybrid by document']['p50_ms']} ms | {r['query_peak_rss_mb']:.0f} MB | "
            f"{c['bm25']} / {c['hybrid']} s | {c['help']} s |"
        )
    enc = results.get("encode")
    if enc:
        lines.append("")
        lines.append(
            f"Encoding {enc['passages']} passages: pipeline {enc['pipeline_passages_per_s']} passages/s, bare encoder "
            f"{enc['bare_passages_per_s']} passages/s: **{enc['ratio'] * 100:.0f}%**."
        )
    m = results.get("machine", {})
    loads = ", ".join(
        f"{size}: {r.get('load_average_before')}-{r.get('load_average_after')}" for size, r in results.get("sizes", {}).items()
    )
    lines.append("")
    lines.append(f"Load average (1 min) around the query measurements: {loads}.")
    lines.append(f"Machine: {m.get('cpus')} cores ({m.get('cpu', '?')}), {m.get('memory_gb')} GB, Python {m.get('python')}, SQLite {m.get('sqlite')}.")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        phase = sys.argv[1]
        if phase == "_build":
            result = phase_build(int(sys.argv[2]), Path(sys.argv[3]))
        elif phase == "_index":
            result = phase_index(Path(sys.argv[2]))
        elif phase == "_query":
            result = phase_query(Path(sys.argv[2]), ["bm25", "semantic", "hybrid"], int(sys.argv[3]), exact="exact" in sys.argv[4:])
        elif phase == "_encode":
            result = phase_encode(int(sys.argv[2]))
        else:
            raise SystemExit(f"unknown phase {phase}")
        sys.stdout.write(json.dumps(result) + "\n")
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["10k", "100k"], help="corpus sizes, e.g. 10k 100k 1M")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rpp-scale"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--encode-passages", type=int, default=1000)
    parser.add_argument("--skip-encode", action="store_true")
    parser.add_argument("--exact-scan", action="store_true", help="score every row (no coarse scan), for comparison")
    parser.add_argument("--rebuild", action="store_true", help="rebuild stores that already exist")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from rppsearch.bench import machine_info  # noqa: PLC0415

    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = machine_info()
    results.setdefault("sizes", {})
    for size in args.sizes:
        n = parse_size(size)
        folder = args.workdir / label(n)
        entry = results["sizes"].get(label(n), {})
        if args.rebuild or not (folder / "vectors" / "manifest.json").exists() or "build" not in entry:
            print(f"[{label(n)}] building store, FTS5 and vectors index…", file=sys.stderr)
            build, wall, rss = run_phase(["_build", str(n), str(folder)])
            entry.update({"passages": n, "build": build, "build_wall_s": round(wall, 1), "build_peak_rss_mb": round(rss)})
        entry["index_refresh"], _, _ = run_phase(["_index", str(folder)])
        print(f"[{label(n)}] warm queries…", file=sys.stderr)
        entry["load_average_before"] = load_average()
        query, _, rss = run_phase(["_query", str(folder), str(args.queries), *(["exact"] if args.exact_scan else [])])
        entry.update({"query": query, "query_peak_rss_mb": round(rss), "queries": args.queries})
        print(f"[{label(n)}] cold starts…", file=sys.stderr)
        entry["cold_start_s"] = cold_start(folder)
        entry["load_average_after"] = load_average()
        entry["measured"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        results["sizes"][label(n)] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if not args.skip_encode:
        print("encode throughput…", file=sys.stderr)
        enc, _, _ = run_phase(["_encode", str(args.encode_passages)])
        enc["load_average"] = load_average()
        results["encode"] = enc
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
