"""How fast the Datasette search page answers: `rpp serve` on a built store, real HTTP requests.

    python benchmarks/datasette_search.py --index-dir indexes [--mode hybrid] [--rounds 3]

Starts `rpp serve` on a free port, times the first request (cold: torch import and model
load) and then every query of QUERIES `--rounds` times (warm), for the HTML page and the JSON
variant. Prints a table and writes benchmarks/out/datasette_search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

QUERIES = [
    "principal supervisors as instructional leaders",
    "reorganizing central office units to serve schools",
    "using evidence and data to make decisions",
    "superintendent cabinet stewardship of the reform",
    "help for principal supervisors from the central office",
    "budget process for schools",
    "professional learning for principals",
    "human resources case managers",
    "theory of action for district transformation",
    "coaching principals in classrooms",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
        status = response.status
    return (time.perf_counter() - start) * 1000, status, body


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=Path(os.environ.get("RPP_HOME") or "indexes"))
    parser.add_argument("--mode", default="hybrid", choices=["hybrid", "bm25", "semantic"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "datasette_search.json")
    args = parser.parse_args()

    db = args.index_dir / "rpp.db"
    if not db.exists():
        sys.exit(f"Error: {db}: no rpp store here (run `rpp build` first)")
    port = _free_port()
    rpp = Path(sys.executable).parent / "rpp"
    proc = subprocess.Popen(
        [str(rpp), "serve", "--index-dir", str(args.index_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/-/versions.json")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("Error: rpp serve did not start")
                time.sleep(0.2)

        def url(query: str, fmt: str = "") -> str:
            return f"{base}/-/rpp-search{fmt}?" + urllib.parse.urlencode({"q": query, "mode": args.mode})

        cold_ms, status, _ = _get(url("central office transformation"))
        assert status == 200
        page_ms: list[float] = []
        json_ms: list[float] = []
        engine_ms: list[float] = []
        for _ in range(args.rounds):
            for query in QUERIES:
                ms, status, _ = _get(url(query))
                assert status == 200
                page_ms.append(ms)
                ms, status, body = _get(url(query, ".json"))
                assert status == 200
                json_ms.append(ms)
                data = json.loads(body)
                engine_ms.append(float(data["elapsed_ms"]))
                assert data["mode_used"] == args.mode, data.get("notice")
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        passages = conn.execute("select count(*) from passages").fetchone()[0]
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    result = {
        "benchmark": "datasette_search",
        "mode": args.mode,
        "passages": passages,
        "queries": len(QUERIES),
        "rounds": args.rounds,
        "first_request_ms": round(cold_ms, 1),
        "html_ms": {"p50": round(statistics.median(page_ms), 1), "p95": round(_pct(page_ms, 95), 1), "max": round(max(page_ms), 1)},
        "json_ms": {"p50": round(statistics.median(json_ms), 1), "p95": round(_pct(json_ms, 95), 1), "max": round(max(json_ms), 1)},
        "search_call_ms": {"p50": round(statistics.median(engine_ms), 1), "p95": round(_pct(engine_ms, 95), 1)},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "command": " ".join(["python", "benchmarks/datasette_search.py", "--index-dir", str(args.index_dir), "--mode", args.mode]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Datasette /-/rpp-search, mode={args.mode}, {passages} passages, {len(QUERIES)} queries x {args.rounds}")
    print(f"{'':18}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, key in (("HTML page", "html_ms"), ("JSON", "json_ms")):
        r = result[key]
        print(f"{name:18}{r['p50']:>10}{r['p95']:>10}{r['max']:>10}")
    r = result["search_call_ms"]
    print(f"{'search() inside':18}{r['p50']:>10}{r['p95']:>10}")
    print(f"first request (cold: imports + model load): {result['first_request_ms']} ms")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
