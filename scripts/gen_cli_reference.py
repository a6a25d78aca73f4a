"""Regenerate the README's command reference from `rpp --help` output.

Usage: python scripts/gen_cli_reference.py [--check]
The reference sits between the markers below; `--check` exits 1 when it is stale.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def _help(args: list[str]) -> str:
    rpp = Path(sys.executable).with_name("rpp")
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    out = subprocess.run([str(rpp), *args, "--help"], capture_output=True, text=True, env=env, check=True).stdout
    return "\n".join(line.rstrip() for line in out.strip().splitlines())


def _commands() -> list[list[str]]:
    text = _help([])
    names = re.findall(r"^[│|] ([a-z][a-z-]*)\s{2,}", text, flags=re.M)
    out: list[list[str]] = []
    for name in names:
        sub = _help([name])
        nested = re.findall(r"^[│|] ([a-z][a-z-]*)\s{2,}", sub.split("Commands", 1)[1], flags=re.M) if "Commands" in sub else []
        out.append([name])
        out.extend([name, n] for n in nested)
    return out


def render() -> str:
    parts = [START, "", "```text", "$ rpp --help", _help([]), "```"]
    for cmd in _commands():
        parts += ["", f"### `rpp {' '.join(cmd)}`", "", "```text", _help(cmd), "```"]
    parts += ["", END]
    return "\n".join(parts)


def main() -> int:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print("README has no cli-reference markers", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = head + render() + tail
    if "--check" in sys.argv:
        if new != text:
            print("README command reference is stale: run python scripts/gen_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
