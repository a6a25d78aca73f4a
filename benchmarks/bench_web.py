"""A bounded load test of the search page: `rpp serve` on loopback, 20 concurrent clients.

    python benchmarks/bench_web.py --index-dir indexes [--clients 20] [--requests 400]

Starts `rpp serve` (read-only, encoder warmed at start) on a free port, waits for the
warm-up, then for each mode (bm25, hybrid) sends a fixed number of requests to
`/-/rpp-search.json` from `--clients` threads at once, cycling through QUERIES with a page
offset so most requests miss Datasette's caches and encode a new query. Reports requests per
second and latency p50/p95/max per mode, prints a table and writes
benchmarks/results/bench_web.json with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from datasette_search import QUERIES, _free_port  # the same questions as the single-client benchmark
from rppsearch.bench import machine_info

RESULTS = Path(__file__).resolve().parent / "results" / "bench_web.json"


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rpp serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"rpp serve did not answer {url}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load(base: str, *, mode: str, clients: int, requests: int, salt: str = "") -> dict[str, object]:
    """`requests` GETs from `clients` threads; each request a query variant (no cache hit)."""
    urls = [
        f"{base}/-/rpp-search.json?" + urllib.parse.urlencode(
            {"q": (f"{QUERIES[i % len(QUERIES)]} {i // len(QUERIES)}" if i >= len(QUERIES) else QUERIES[i]) + salt,
             "mode": mode, "limit": 10})
        for i in range(requests)
    ]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(requests))

    def worker() -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(urls[i], timeout=120) as response:
                    response.read()
                    ok = response.status == 200
            except OSError as exc:
                ok = False
                with lock:
                    errors.append(str(exc)[:100])
            elapsed = (time.perf_counter() - start) * 1000
            if ok:
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "mode": mode, "clients": clients, "requests": requests, "ok": len(latencies), "errors": len(errors),
        "error_samples": errors[:3], "wall_s": round(wall, 2), "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=Path("indexes"))
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--modes", default="bm25,hybrid")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after the server answers before the first hybrid query "
                        "(the encoder warms in the background meanwhile)")
    args = parser.parse_args()
    load_before = list(os.getloadavg())
    port = _free_port()
    rpp = Path(sys.executable).parent / "rpp"
    proc = subprocess.Popen([str(rpp), "serve", "--index-dir", str(args.index_dir), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        up = time.perf_counter()
        _wait(base + "/-/versions.json", proc)
        up_s = time.perf_counter() - up
        time.sleep(args.settle)
        first = time.perf_counter()
        with urllib.request.urlopen(base + "/-/rpp-search.json?" + urllib.parse.urlencode(
                {"q": "warm-up question about principals", "mode": "hybrid"}), timeout=120) as response:
            response.read()
        first_ms = (time.perf_counter() - first) * 1000
        single = load(base, mode="hybrid", clients=1, requests=20, salt=" (one client)")
        rows = [load(base, mode=m, clients=args.clients, requests=args.requests) for m in args.modes.split(",")]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result = {
        "command": " ".join(["python", "benchmarks/bench_web.py", *sys.argv[1:]]),
        "machine": {**machine_info(), "load_before_and_after": [load_before, list(os.getloadavg())]},
        "server_up_s": round(up_s, 1),
        "settle_s": args.settle,
        "first_hybrid_ms": round(first_ms, 1),
        "single_client_hybrid": single,
        "runs": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"server answered after {up_s:.1f} s; first hybrid request {args.settle:g} s later: {first_ms:.0f} ms")
    print(f"one client, 20 hybrid queries: p50 {single['p50_ms']} ms, p95 {single['p95_ms']} ms")
    print(f"{'mode':8} {'clients':>7} {'requests':>8} {'ok':>5} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in rows:
        print(f"{r['mode']:8} {r['clients']:>7} {r['requests']:>8} {r['ok']:>5} {r['rps']:>7} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['max_ms']:>8}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
