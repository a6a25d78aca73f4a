"""Fuzz the parsers (txt, md, html, pdf, docx) and the clean -> split path. Not part of the test suite.

Usage: python benchmarks/fuzz_parsers.py [--seconds 600] [--formats txt,md,html,pdf,docx]
                                         [--engine atheris|random] [--seed 1]

Each format gets an equal share of the time. Seeds are the sample corpus (corpus/docs), files
made here with real tools (reportlab, python-docx) and, when present, ../shared/realfiles (read
in place, never copied). The engine is atheris (coverage-guided libFuzzer, when installed: pip
install atheris) or a built-in mutational fuzzer (bit flips, byte runs, truncation, splicing).

What counts as a finding:
- crash: `parse_file` raised something other than `InputError`, or cleaning/splitting raised;
- invariant: a passage whose offsets do not point at its text, or body text lost between the
  cleaned blocks and the passages;
- slow: one input took longer than --slow seconds; hang: longer than --timeout (the worker is
  killed and restarted by the parent, which keeps the input and replays it in a fresh process:
  an input that then runs quickly is recorded as a machine stall, not a hang).
Then hand-made worst cases (STRESS: 200k-character runs, deep and wide markup) are timed, each
in a fresh process with --stress-timeout.
Findings' inputs go to benchmarks/out/fuzz-findings/ (not committed); the figures (inputs
tried, findings by kind and signature, time) to benchmarks/results/fuzz.json, and a table is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from collections.abc import Callable
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "realfiles"
RESULTS = ROOT / "benchmarks" / "results" / "fuzz.json"
FINDINGS = ROOT / "benchmarks" / "out" / "fuzz-findings"
FORMATS = {"txt": ".txt", "md": ".md", "html": ".html", "pdf": ".pdf", "docx": ".docx"}
MAX_LEN = 300_000


# =========================================================================== seeds


def _made_seeds(fmt: str) -> list[bytes]:
    """Small files made with real tools, so every format has structured seeds."""
    text = (
        "Principal supervisors spend most of their week in schools. They observe classrooms with "
        "principals and plan next steps. The central office moved paperwork to other staff."
    )
    if fmt == "txt":
        return [f"Title line\n\n{text}\n\n{text}\n".encode(), ("Café résumé " + text).encode("latin-1"), text.encode("utf-16")]
    if fmt == "md":
        return [f"---\ntitle: A\nyear: 2020\n---\n# Heading\n\n{text}\n\n- item *one*\n- [link](http://x)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n".encode()]
    if fmt == "html":
        return [f"<html><head><title>T</title><meta name='author' content='A'></head><body><nav>Home</nav><article><h1>H</h1><p>{text}</p><p>{text}</p></article><footer>© 2024</footer></body></html>".encode()]
    if fmt == "pdf":
        from reportlab.pdfgen import canvas

        buffer = io.BytesIO()
        c = canvas.Canvas(buffer)
        c.setTitle("Seed")
        for page in range(2):
            y = 760
            for line in range(20):
                c.drawString(72, y, f"{text[:80]} {page}-{line}")
                y -= 16
            c.showPage()
        c.save()
        return [buffer.getvalue()]
    if fmt == "docx":
        import docx

        document = docx.Document()
        document.add_heading("Seed heading", level=1)
        document.add_paragraph(text)
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text = "a"
        table.cell(1, 1).text = text[:40]
        buffer = io.BytesIO()
        document.save(buffer)
        return [buffer.getvalue()]
    raise ValueError(fmt)


def seeds_for(fmt: str) -> list[bytes]:
    suffixes = {"txt": (".txt",), "md": (".md",), "html": (".html", ".htm"), "pdf": (".pdf",), "docx": (".docx",)}[fmt]
    found: list[bytes] = []
    for folder in (ROOT / "corpus" / "docs", SHARED):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.suffix.lower() in suffixes and path.is_file() and path.stat().st_size <= MAX_LEN:
                    found.append(path.read_bytes())
    return _made_seeds(fmt) + found[:40]


# =========================================================================== the target


class Target:
    """Runs one input through parse -> clean -> split and classifies what happened."""

    def __init__(self, fmt: str, workdir: Path, slow: float) -> None:
        from rppsearch.errors import InputError
        from rppsearch.ingest.clean import clean_blocks
        from rppsearch.ingest.formats import parse_file
        from rppsearch.ingest.segment import split_passages

        self.fmt = fmt
        self.path = workdir / f"input{FORMATS[fmt]}"
        self.slow = slow
        self.InputError = InputError
        self.parse_file, self.clean_blocks, self.split_passages = parse_file, clean_blocks, split_passages
        self.stats: dict[str, Any] = {"inputs": 0, "parsed": 0, "refused": 0, "reasons": {}, "findings": {}}
        from rppsearch.models import Block

        self.split_passages([Block("Warm up spaCy. Before timing anything.")])

    def _finding(self, kind: str, signature: str, data: bytes, detail: str) -> None:
        key = f"{kind}: {signature}"
        entry = self.stats["findings"].setdefault(key, {"kind": kind, "count": 0, "example": None, "detail": detail[:500]})
        entry["count"] += 1
        if entry["example"] is None:
            FINDINGS.mkdir(parents=True, exist_ok=True)
            name = f"{self.fmt}-{kind}-{hashlib.sha1(data).hexdigest()[:12]}{FORMATS[self.fmt]}"
            (FINDINGS / name).write_bytes(data)
            entry["example"] = str((FINDINGS / name).relative_to(ROOT))

    def __call__(self, data: bytes) -> None:
        self.stats["inputs"] += 1
        self.path.write_bytes(data)
        start = time.perf_counter()
        try:
            parsed = self.parse_file(self.path)
        except self.InputError as exc:
            self.stats["refused"] += 1
            reason = exc.reason.split(" (")[0].split(":")[0][:60]
            self.stats["reasons"][reason] = self.stats["reasons"].get(reason, 0) + 1
            parsed = None
        except Exception as exc:  # noqa: BLE001 - that is the point
            self._finding("crash", _signature(exc), data, _short_tb(exc))
            parsed = None
        if parsed is not None:
            self.stats["parsed"] += 1
            try:
                blocks = self.clean_blocks(parsed.blocks)
                text, passages = self.split_passages(blocks)
                for p in passages:
                    if text[p.start : p.end] != p.text:
                        self._finding("invariant", "passage offsets do not point at its text", data, repr(p.text[:200]))
                        break
                # every non-space character of the body, in order (a passage may end inside a
                # space-free run such as `safety."The`, so whole words are not the unit)
                body = "".join("".join(b.text.split()) for b in blocks if b.heading_level == 0)
                if "".join("".join(p.text.split()) for p in passages) != body:
                    self._finding("invariant", "text lost between blocks and passages", data, "")
            except Exception as exc:  # noqa: BLE001
                self._finding("crash", "clean/split: " + _signature(exc), data, _short_tb(exc))
        seconds = time.perf_counter() - start
        if seconds > self.slow:
            self._finding("slow", f"over {self.slow:g} s", data, f"{seconds:.1f} s, {len(data)} bytes")


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "rppsearch" in f.filename] or frames
    last = frames[-1] if frames else None
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    deepest = f" in {Path(last.filename).name}:{last.lineno}" if last and last is not (ours[-1] if ours else None) else ""
    return f"{type(exc).__name__} at {where}{deepest}"


def _short_tb(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:300]


# =========================================================================== engines


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One random structural or byte-level mutation (the built-in engine)."""
    buf = bytearray(data)
    choice = rng.randrange(9)
    if not buf:
        return bytes(rng.randbytes(rng.randint(1, 64)))
    i = rng.randrange(len(buf))
    if choice == 0:  # flip bits
        for _ in range(rng.randint(1, 8)):
            j = rng.randrange(len(buf))
            buf[j] ^= 1 << rng.randrange(8)
    elif choice == 1:  # random bytes over a run
        n = rng.randint(1, 64)
        buf[i : i + n] = rng.randbytes(n)
    elif choice == 2:  # truncate
        del buf[rng.randint(0, len(buf)) :]
    elif choice == 3:  # delete a run
        del buf[i : i + rng.randint(1, 512)]
    elif choice == 4:  # duplicate a run many times (nesting, repetition)
        run = buf[i : i + rng.randint(1, 64)]
        buf[i:i] = run * rng.randint(2, 2000)
    elif choice == 5:  # splice with another seed
        other = rng.choice(pool)
        j = rng.randrange(len(other)) if other else 0
        buf = buf[:i] + bytearray(other[j : j + rng.randint(1, 4096)]) + buf[i:]
    elif choice == 6:  # interesting tokens
        token = rng.choice(
            [b"<", b">", b"<div>", b"</p>", b"<script>", b"&#0;", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"%PDF-1.7",
             b"obj", b"endobj", b"stream", b"xref", b"trailer", b"/Encrypt", b"PK\x03\x04", b"\n\n", b"# ", b"---\n",
             b"[", b"](", b"`", b"*", b"|", b"\r", b"\u2028".decode("unicode_escape").encode(), b"\xe3\x80\x82"]
        )
        buf[i:i] = token * rng.choice([1, 1, 1, 10, 1000])
    elif choice == 7:  # change a number
        digits = [k for k in range(len(buf)) if 48 <= buf[k] <= 57][:2000]
        if digits:
            buf[rng.choice(digits)] = rng.choice(b"0123456789")
    else:  # zip members of a docx: corrupt inside the deflated streams
        buf[i] = rng.randrange(256)
    return bytes(buf[:MAX_LEN])


def run_random(target: Target, seeds: list[bytes], seconds: float, seed: int, progress: Path) -> None:
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    for s in seeds:
        if time.monotonic() >= deadline:
            break
        _run_with_record(target, s, progress)
    while time.monotonic() < deadline:
        data = rng.choice(seeds)
        for _ in range(rng.choice([1, 1, 2, 4, 8])):
            data = mutate(rng, data, seeds)
        _run_with_record(target, data, progress)


def _run_with_record(target: Target, data: bytes, progress: Path) -> None:
    (progress.parent / (progress.name + ".current")).write_bytes(data)  # kept if this input hangs
    target(data)
    if target.stats["inputs"] % 25 == 0:
        progress.write_text(json.dumps(target.stats))


def run_atheris(target: Target, seeds: list[bytes], seconds: float, seed: int, progress: Path, timeout: int) -> None:
    import atheris

    corpus = progress.parent / f"atheris-corpus-{target.fmt}"
    corpus.mkdir(exist_ok=True)
    for s in seeds:
        (corpus / hashlib.sha1(s).hexdigest()).write_bytes(s)
    started = time.monotonic()

    def one_input(data: bytes) -> None:
        _run_with_record(target, data, progress)
        if time.monotonic() - started > seconds:
            progress.write_text(json.dumps(target.stats))
            os._exit(0)  # libFuzzer's own -max_total_time only checks between runs: this is sooner

    atheris.Setup(
        [sys.argv[0], str(corpus), f"-max_total_time={int(seconds) + 5}", f"-timeout={timeout}",
         f"-max_len={MAX_LEN}", f"-seed={seed}", "-rss_limit_mb=3072", f"-artifact_prefix={progress.parent}/",
         "-print_final_stats=0", "-close_fd_mask=3"],
        one_input,
    )
    atheris.Fuzz()


# =========================================================================== parent and workers


def worker(args: argparse.Namespace) -> int:
    progress = Path(args.progress)
    workdir = Path(tempfile.mkdtemp(prefix="rpp-fuzz-"))
    if args.engine == "atheris":
        import atheris

        with atheris.instrument_imports(include=["rppsearch", "pypdf", "docx", "trafilatura", "charset_normalizer"]):
            target = Target(args.worker, workdir, args.slow)
    else:
        target = Target(args.worker, workdir, args.slow)
    seeds = seeds_for(args.worker)
    if args.engine == "atheris":
        run_atheris(target, seeds, args.seconds, args.seed, progress, args.timeout)
    else:
        run_random(target, seeds, args.seconds, args.seed, progress)
    progress.write_text(json.dumps(target.stats))
    return 0


def merge(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key in ("inputs", "parsed", "refused"):
        total[key] = total.get(key, 0) + part.get(key, 0)
    for reason, n in part.get("reasons", {}).items():
        total.setdefault("reasons", {})[reason] = total.get("reasons", {}).get(reason, 0) + n
    for key, entry in part.get("findings", {}).items():
        mine = total.setdefault("findings", {}).setdefault(key, {**entry, "count": 0})
        mine["count"] += entry["count"]


def fuzz_format(fmt: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Run workers for `fmt` until its time is spent, restarting after a hang."""
    total: dict[str, Any] = {"inputs": 0, "parsed": 0, "refused": 0, "reasons": {}, "findings": {}, "restarts": 0}
    deadline = time.monotonic() + args.seconds_each
    run = 0
    while True:
        left = deadline - time.monotonic()
        if left < 3:
            break
        progress = scratch / f"{fmt}-{run}.json"
        cmd = [sys.executable, __file__, "--worker", fmt, "--engine", args.engine, "--seconds", str(left),
               "--seed", str(args.seed + run), "--progress", str(progress), "--slow", str(args.slow),
               "--timeout", str(args.timeout)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        current = scratch / (progress.name + ".current")
        last_size, last_change = -1, time.monotonic()
        hung = False
        while proc.poll() is None:
            time.sleep(1)
            size = progress.stat().st_mtime_ns if progress.exists() else -1
            mark = (size, current.stat().st_mtime_ns if current.exists() else -1)
            if mark != last_size:
                last_size, last_change = mark, time.monotonic()
            elif time.monotonic() - last_change > args.timeout + 30 and current.exists():
                proc.kill()  # stuck in C code (a regex, a parser) that libFuzzer's timer could not stop
                hung = True
        stderr = proc.stderr.read() if proc.stderr else ""
        if progress.exists():
            merge(total, json.loads(progress.read_text()))
        if proc.returncode != 0 or hung:
            data = current.read_bytes() if current.exists() else b""
            kind = "hang" if hung or "Timeout" in stderr or "timeout" in stderr else "worker died"
            # only a hang can be the machine's fault; a crash counts as found whatever a replay says
            seconds = replay(fmt, data, args.timeout * 2) if kind == "hang" and data else None
            if seconds is not None:  # it ran fine in a fresh process: the machine stalled, not the parser
                kind = "stall"
                stderr = f"did not reproduce: {seconds:.1f} s in a fresh process. " + stderr
            FINDINGS.mkdir(parents=True, exist_ok=True)
            name = f"{fmt}-{kind.replace(' ', '-')}-{hashlib.sha1(data).hexdigest()[:12]}{FORMATS[fmt]}"
            (FINDINGS / name).write_bytes(data)
            key = f"{kind}: over {args.timeout} s" if kind in ("hang", "stall") else f"{kind}: exit {proc.returncode}"
            entry = total["findings"].setdefault(key, {"kind": kind, "count": 0, "example": str((FINDINGS / name).relative_to(ROOT)), "detail": stderr.strip()[-300:]})
            entry["count"] += 1
            total["restarts"] += 1
        run += 1
        if proc.returncode == 0 and not hung:
            break
    return total


# Hand-made worst cases (long runs without spaces or closing brackets, deep and wide markup):
# coverage-guided fuzzing rarely grows inputs this large, so they are timed separately.
N = 200_000
# Built when timed, not at import: every fuzz worker and replay process imports this module.
STRESS: list[tuple[str, str, Callable[[], bytes]]] = [
    ("txt", "200k letters, no space", lambda: b"a" * N),
    ("txt", "200k CJK characters, no punctuation", lambda: "日本語の文章です".encode() * (N // 8)),
    ("txt", "200k '#'", lambda: b"#" * N),
    ("txt", "200k '.' ", lambda: b". " * (N // 2)),
    ("txt", "hyphenated run ab-ab-…", lambda: b"ab-" * (N // 3)),
    ("md", "200k '['", lambda: b"[" * N),
    ("md", "50k '[a]('", lambda: b"[a](" * (N // 4)),
    ("md", "200k '`'", lambda: b"`" * N),
    ("md", "200k '*'", lambda: b"*" * N),
    ("md", "200k '_a'", lambda: b"_a" * (N // 2)),
    ("md", "200k '#'", lambda: b"#" * N),
    ("html", "200k '<' in a paragraph", lambda: b"<html><body><p>" + b"<" * N + b"</p></body></html>"),
    ("html", "1M nested <div>", lambda: b"<div>" * 1_000_000 + b"text" + b"</div>" * 1_000_000),
    ("html", "300k sibling paragraphs", lambda: b"<html><body>" + b"<p>word word</p>" * 300_000 + b"</body></html>"),
]


def run_stress(timeout: float) -> list[dict[str, Any]]:
    out = []
    for fmt, label, build in STRESS:
        data = build()
        seconds = replay(fmt, data, timeout)
        out.append({"format": fmt, "input": label, "bytes": len(data),
                    "seconds": None if seconds is None else round(seconds, 2),
                    "outcome": f"hang (over {timeout:g} s) or crash" if seconds is None else "finished"})
        print(f"stress {fmt} {label}: {out[-1]['outcome']} {out[-1]['seconds']}", file=sys.stderr)
    return out


def replay(fmt: str, data: bytes, timeout: float) -> float | None:
    """Seconds one input takes through the target in a fresh process; None if it hangs or dies."""
    with tempfile.TemporaryDirectory(prefix="rpp-fuzz-replay-") as folder:
        path = Path(folder) / f"input{FORMATS[fmt]}"
        path.write_bytes(data)
        code = (
            "import sys, time; from pathlib import Path; sys.path.insert(0, sys.argv[3]); import fuzz_parsers as f; "
            "t = f.Target(sys.argv[1], Path(sys.argv[2]).parent / 'work', 1e9); (Path(sys.argv[2]).parent / 'work').mkdir(); "
            "s = time.perf_counter(); t(Path(sys.argv[2]).read_bytes()); print(time.perf_counter() - s); "
            "sys.exit(1 if any(e['kind'] == 'crash' for e in t.stats['findings'].values()) else 0)"
        )
        try:
            result = subprocess.run(
                [sys.executable, "-c", code, fmt, str(path), str(Path(__file__).parent)],
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None
        if result.returncode != 0:
            return None
        return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600, help="total fuzzing time, shared by the formats")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--engine", choices=("atheris", "random"), default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slow", type=float, default=5.0, help="an input slower than this is a finding")
    parser.add_argument("--timeout", type=int, default=30, help="an input slower than this is a hang")
    parser.add_argument("--stress-timeout", type=float, default=60, help="time limit of each hand-made worst case (0: skip them)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine is None:
        try:
            import atheris  # noqa: F401

            args.engine = "atheris"
        except ImportError:
            args.engine = "random"
    os.environ.setdefault("RPP_MODEL", "fake")
    if args.worker:
        return worker(args)

    formats = [f for f in args.formats.split(",") if f]
    args.seconds_each = args.seconds / len(formats)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rpp-fuzz-parent-") as scratch:
        for fmt in formats:
            t0 = time.perf_counter()
            stats = fuzz_format(fmt, args, Path(scratch))
            stats["seconds"] = round(time.perf_counter() - t0, 1)
            stats["inputs_per_s"] = round(stats["inputs"] / stats["seconds"], 1) if stats["seconds"] else None
            results[fmt] = stats
            print(f"{fmt}: {stats['inputs']} inputs, {len(stats['findings'])} distinct findings", file=sys.stderr)
    stress = run_stress(args.stress_timeout) if args.stress_timeout > 0 else []
    findings = {f"{fmt} {key}": entry for fmt, st in results.items() for key, entry in st["findings"].items()}
    summary = {
        "command": "python benchmarks/fuzz_parsers.py " + " ".join(sys.argv[1:]),
        "engine": args.engine,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - started, 1),
        "inputs": sum(r["inputs"] for r in results.values()),
        "crashes": sum(e["count"] for e in findings.values() if e["kind"] in ("crash", "worker died")),
        "hangs": sum(e["count"] for e in findings.values() if e["kind"] == "hang"),
        "stalls_not_reproduced": sum(e["count"] for e in findings.values() if e["kind"] == "stall"),
        "slow_inputs": sum(e["count"] for e in findings.values() if e["kind"] == "slow"),
        "invariant_violations": sum(e["count"] for e in findings.values() if e["kind"] == "invariant"),
        "distinct_findings": len(findings),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "formats": results,
        "stress": stress,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("| format | inputs | parsed | refused | inputs/s | findings |\n|---|---|---|---|---|---|")
    for fmt, st in results.items():
        kinds = ", ".join(f"{e['kind']}×{e['count']}" for e in st["findings"].values()) or "none"
        print(f"| {fmt} | {st['inputs']} | {st['parsed']} | {st['refused']} | {st['inputs_per_s']} | {kinds} |")
    print(f"\n{summary['inputs']} inputs in {summary['seconds']} s ({args.engine}): {summary['crashes']} crashes, "
          f"{summary['hangs']} hangs, {summary['slow_inputs']} slow, {summary['invariant_violations']} invariant violations")
    for key, entry in findings.items():
        print(f"- {key} ×{entry['count']}: {entry['example']}  {entry['detail'][:160]}")
    if stress:
        print("\n| stress input | format | seconds |\n|---|---|---|")
        for row in stress:
            print(f"| {row['input']} | {row['format']} | {row['seconds'] if row['seconds'] is not None else row['outcome']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
