"""Time and peak memory of `rpp build` on the sample corpus and of ingesting SciFact.

Usage: python benchmarks/bench_ingest.py [--scifact DIR] [--fake]
Each run uses a fresh index dir and a child process; peak RSS is the child's ru_maxrss.
Writes benchmarks/results/ingest.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RPP = str(Path(sys.executable).with_name("rpp"))


def run(label: str, args: list[str], env: dict[str, str]) -> dict[str, object]:
    """Run `rpp ARGS` in a child; return wall seconds, peak RSS and the summary lines."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([RPP, *args], stdout=subprocess.DEVNULL, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{label} failed:\n{stderr}")
    return {
        "label": label,
        "command": "rpp " + " ".join(args),
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "summary": [line for line in stderr.splitlines() if line and not line.startswith("Error")][-4:],
        "exit_code": code,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "eval" / "scifact")
    parser.add_argument("--fake", action="store_true", help="fake encoder (measures ingest without MiniLM)")
    args = parser.parse_args()
    env = {**os.environ, "RPP_MODEL": "fake" if args.fake else "all-MiniLM-L6-v2"}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        build = ["build", str(ROOT / "corpus"), "--index-dir", f"{tmp}/a"]
        results.append(run("sample corpus: rpp build", build, env))
        results.append(run("sample corpus: rpp build again (unchanged)", build, env))
        corpus = args.scifact / "corpus.jsonl"
        if corpus.exists():
            results.append(run("SciFact corpus.jsonl: rpp ingest", ["ingest", str(corpus), "--index-dir", f"{tmp}/b"], env))
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "encoder": env["RPP_MODEL"],
        "results": results,
    }
    target = ROOT / "benchmarks" / "results" / ("ingest-fake.json" if args.fake else "ingest.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2) + "\n")
    print("| run | wall (s) | peak RSS (MB) |\n|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['wall_s']} | {r['peak_rss_mb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
