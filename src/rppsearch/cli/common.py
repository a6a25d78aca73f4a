"""Options and output shared by every command: `--index-dir`, `--json`, `--csv`, progress."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import Settings
from ..progress import ProgressFactory, console_progress, stage_line

IndexDir = Annotated[
    Path | None,
    typer.Option(
        "--index-dir",
        envvar="RPP_HOME",
        help="Folder holding rpp.db and the indexes (default: indexes/, or $RPP_HOME).",
        show_default=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object a line.")]
CsvFlag = Annotated[bool, typer.Option("--csv", help="CSV with a header row.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]


def settings_for(index_dir: Path | None) -> Settings:
    return Settings.for_dir(index_dir)


def check_paths(paths: Sequence[Path | None], *, what: str = "file or folder") -> None:
    """Every path given on the command line exists (checked before anything loads)."""
    from ..errors import InputError  # noqa: PLC0415

    for path in paths:
        if path is not None and not path.exists():
            raise InputError(path, f"no such {what}")


def store_settings(index_dir: Path | None, *, command: str, may_create: bool = False) -> Settings:
    """Settings for a command that writes to a store, refusing to start a new store nobody asked for.

    A store is asked for by `--index-dir` or `RPP_HOME` (typer fills `index_dir` from either),
    or exists already as `indexes/` here. Otherwise a command that may create one (`rpp build`,
    the quickstart) goes ahead; any other asks on a terminal and refuses elsewhere, with a hint.
    """
    from ..errors import StoreError  # noqa: PLC0415

    settings = settings_for(index_dir)
    if index_dir is not None or may_create or settings.db_path.exists():
        return settings
    where = settings.index_dir.resolve()
    if sys.stdin.isatty() and sys.stderr.isatty():
        if typer.confirm(f"No store at {where}. Start a new, empty one there?", default=False, err=True):
            return settings
    raise StoreError(
        f"no store at {where}: `rpp {command}` would start a new, empty corpus here",
        hint="run it where your indexes/ folder is, pass --index-dir DIR (or set RPP_HOME), "
        "or create a store here with `rpp build CORPUS` or `--index-dir indexes`",
    )


def print_store(settings: Settings, *, quiet: bool) -> None:
    """Which store a command wrote to."""
    info(f"store: {settings.db_path.resolve()}", quiet=quiet)


def emit(
    rows: Iterable[dict[str, Any]],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> int:
    """Print rows as JSON lines, CSV, or a rich table; return how many were printed."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    count = 0
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            count += 1
        sys.stdout.flush()
        return count
    rows = list(rows)
    cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _flat(row.get(k)) for k in cols})
        return len(rows)
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, show_lines=False)
    for col in cols:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(_flat(row.get(c)) for c in cols))
    Console().print(table)
    return len(rows)


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on a TTY and without --quiet."""
    return not quiet and sys.stderr.isatty()


def progress_factory(quiet: bool) -> ProgressFactory:
    """What the library's `progress=` parameters take: a bar (or spinner) per stage on a TTY,
    nothing with `--quiet` or when stderr is not a terminal."""
    return console_progress(show_progress(quiet))


def print_stages(stages: dict[str, Any], *, quiet: bool) -> None:
    """One readable line per build stage."""
    for name, value in stages.items():
        info(stage_line(name, value), quiet=quiet)


def error_line(message: str) -> None:
    """`Error: …` on stderr, one line (line breaks in file names are shown escaped)."""
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    sys.stderr.write(f"Error: {message}\n")


def info(message: str, *, quiet: bool = False) -> None:
    if not quiet:
        sys.stderr.write(message + "\n")


def print_ingest(report: Any, *, quiet: bool, pruning: bool = True) -> None:
    """An ingest report: one `Error:` line per failed file, then the counts (`pruned` only
    where the command prunes, `moved` only when something moved)."""
    for path, reason in report.failed:
        error_line(f"{path}: {reason}")
    s = report.summary()
    info(
        f"{s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
        + (f"{s['moved']} moved, " if s["moved"] else "")
        + (f"{s['pruned']} pruned, " if pruning else "")
        + f"{s['failed']} failed",
        quiet=quiet,
    )
