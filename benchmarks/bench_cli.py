"""Cold CLI wall times (whole `rpp` processes), warm query encoding and build encoding throughput.

    python benchmarks/bench_cli.py [--store DIR] [--runs 5]

Every timed command is a new process (`rpp …` as a user types it), run `--runs` times; the
median is reported. The store is the sample corpus (`rpp build corpus`, made in DIR when it is
not there yet); `rpp add` adds a new short article each run to a copy of it. Also measured in
this process: warm query encoding (p50 over 50 queries, ONNX, one thread) and batch encoding
throughput of the sample corpus's passages by each engine (ONNX fp32 and sentence-transformers
bf16, interleaved). Results go to benchmarks/results/cli.json with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "cli.json"
QUERY = "how do central offices support principals as instructional leaders"
ARTICLE = """# Central office news, issue {n}

Published September 2024.

The district's principal supervisors now spend three days a week in schools, coaching principals
on classroom observation and feedback. Each supervisor works with twelve principals (run {n}).

## Data use

Teams meet every six weeks to look at student work and decide where the central office sends help.
"""
TARGETS = {  # seconds, from issue 13
    "search hybrid": 1.0,
    "search semantic": 1.0,
    "classify FILE": 1.5,
    "add one article": 2.5,
    "usage error (add missing file)": 0.5,
    "usage error (bad --mode)": 0.5,
}


def _rpp() -> list[str]:
    return [sys.executable, "-c", "import sys; from rppsearch.cli.main import main; sys.argv[0] = 'rpp'; main()"]


def _timed(args: list[str], *, env: dict[str, str], cwd: Path, expect: int | None = 0) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole `rpp` process. CPU time (user + system) is what
    a shared machine's load disturbs least: on an idle machine the wall time is close to it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(_rpp() + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if expect is not None and done.returncode != expect:
        raise SystemExit(f"rpp {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _machine() -> dict[str, object]:
    """The shared description of the machine (`rppsearch.bench.machine_info`) and its load now."""
    from rppsearch.bench import machine_info  # noqa: PLC0415

    return {**machine_info(), "load_before": os.getloadavg()}


def cold_times(store: Path, runs: int, env: dict[str, str]) -> dict[str, dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        copy = work / "indexes"
        shutil.copytree(store, copy)
        sample = REPO / "examples" / "oakridge-support-teams.md"
        cases: dict[str, list[tuple[float, float]]] = {k: [] for k in (
            "search bm25", "search hybrid", "search semantic", "classify FILE", "add one article",
            "usage error (add missing file)", "usage error (bad --mode)",
        )}
        for run in range(runs):  # interleaved, so a burst of load hits every case alike
            for mode in ("bm25", "hybrid", "semantic"):
                cases[f"search {mode}"].append(_timed(["search", QUERY, "--mode", mode, "--index-dir", str(store)], env=env, cwd=work))
            cases["classify FILE"].append(_timed(["classify", str(sample), "--index-dir", str(store)], env=env, cwd=work))
            article = work / f"news-{run}.md"
            article.write_text(ARTICLE.format(n=run), encoding="utf-8")
            cases["add one article"].append(_timed(["add", str(article), "--index-dir", str(copy), "--quiet"], env=env, cwd=work))
            cases["usage error (add missing file)"].append(
                _timed(["add", str(work / "missing.pdf"), "--index-dir", str(copy)], env=env, cwd=work, expect=1)
            )
            cases["usage error (bad --mode)"].append(
                _timed(["search", QUERY, "--mode", "nonsense", "--index-dir", str(store)], env=env, cwd=work, expect=2)
            )
        return {
            k: {
                "median_s": round(statistics.median(w for w, _ in v), 3),
                "median_cpu_s": round(statistics.median(c for _, c in v), 3),
                "runs": [round(w, 3) for w, _ in v],
                "cpu_runs": [round(c, 3) for _, c in v],
            }
            for k, v in cases.items()
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def warm_query_encoding(store: Path) -> dict[str, float]:
    from rppsearch.embed import get_encoder

    encoder = get_encoder("all-MiniLM-L6-v2", index_dir=store, engine="onnx")
    queries = [f"{QUERY} {i}" for i in range(50)] + [
        "principal supervisors", "evidence use for continual improvement", "theory of action for central office",
    ]
    encoder.encode([queries[0]])
    times, cpu = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.thread_time()  # one intra-op thread: the calling one
        encoder.encode([q])
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    times.sort()
    return {
        "p50_ms": round(1000 * statistics.median(times), 2),
        "p90_ms": round(1000 * times[int(0.9 * len(times))], 2),
        "p50_cpu_ms": round(1000 * statistics.median(cpu), 2),
        "n": len(times),
    }


def build_encoding(store: Path, rounds: int = 2) -> dict[str, dict[str, float]]:
    """Passages a second for the sample corpus's passages (what `rpp build` encodes), per engine."""
    from rppsearch.embed import get_encoder
    from rppsearch.index.vectors import embedding_text
    from rppsearch.store import Store

    with Store.open(store / "rpp.db", create=False, readonly=True) as st:
        rows = st.conn.execute(
            "SELECT d.title, p.heading, p.text FROM passages p JOIN documents d ON d.id = p.document_id ORDER BY length(p.text) DESC"
        ).fetchall()
    texts = [embedding_text(t, h, x) for t, h, x in rows][::3]  # a third, of every length: minutes, not tens
    engines = {
        "onnx fp32": get_encoder("all-MiniLM-L6-v2", index_dir=store, engine="onnx"),
        "torch bf16 (sentence-transformers)": get_encoder("all-MiniLM-L6-v2", engine="torch"),
    }
    rates: dict[str, list[float]] = {k: [] for k in engines}
    for enc in engines.values():
        enc.encode(texts[:16])
    for _ in range(rounds):
        for name, enc in engines.items():
            t0 = time.perf_counter()
            for i in range(0, len(texts), 64):  # as embed_missing does: batches of 64, longest first
                enc.encode(texts[i : i + 64], batch_size=64)
            rates[name].append(len(texts) / (time.perf_counter() - t0))
    return {k: {"passages_per_s": round(max(v), 1), "runs": [round(x, 1) for x in v], "passages": len(texts)} for k, v in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "rpp-bench-cli-store")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "RPP_MODEL": "all-MiniLM-L6-v2", "PYTHONPATH": str(REPO / "src")}
    env.pop("RPP_HOME", None)
    store = args.store.resolve()
    if not (store / "rpp.db").exists():
        print(f"building the sample corpus into {store} …", file=sys.stderr)
        _timed(["build", str(REPO / "corpus"), "--index-dir", str(store), "--quiet"], env=env, cwd=REPO)
    _timed(["search", QUERY, "--index-dir", str(store)], env=env, cwd=REPO)  # page cache, any export
    machine = _machine()
    cold = cold_times(store, args.runs, env)
    bm25 = cold["search bm25"]["median_s"]
    warm = warm_query_encoding(store)
    throughput = build_encoding(store)
    machine["load_after"] = os.getloadavg()
    result = {
        "command": "python benchmarks/bench_cli.py --runs %d" % args.runs,
        "machine": machine,
        "cold": cold,
        "ratio_to_bm25": {k: round(v["median_s"] / bm25, 2) for k, v in cold.items() if k.startswith("search")},
        "cpu_ratio_to_bm25": {
            k: round(v["median_cpu_s"] / cold["search bm25"]["median_cpu_s"], 2) for k, v in cold.items() if k.startswith("search")
        },
        "warm_query_encoding": warm,
        "build_encoding": throughput,
        "targets_s": TARGETS,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"machine: {machine.get('cpu', 'unknown cpu')}, {machine['cpus']} cores, load {machine['load_before'][0]:.2f} before / {machine['load_after'][0]:.2f} after")
    print(f"| command (cold, median of {args.runs}) | wall s | CPU s | target |")
    print("|---|---|---|---|")
    for name, value in cold.items():
        target = TARGETS.get(name)
        extra = ""
        if name in result["ratio_to_bm25"] and name != "search bm25":
            extra = f" ({result['ratio_to_bm25'][name]}x bm25)"
        print(f"| `{name}` | {value['median_s']:.2f}{extra} | {value['median_cpu_s']:.2f} | {'≤ %.1f' % target if target else ''} |")
    print(f"| warm query encoding (ONNX, p50) | {warm['p50_ms']:.1f} ms | {warm['p50_cpu_ms']:.1f} ms | ≤ 10 ms |")
    for name, v in throughput.items():
        print(f"| build encoding, {name} | {v['passages_per_s']:.1f} passages/s | | |")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
