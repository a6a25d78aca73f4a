"""Options and output shared by every command: `--index-dir`, `--json`, `--csv`, progress."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import Settings
from ..progress import ProgressFactory

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


@contextmanager
def progress_bar(label: str, total: int | None, *, quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr that knows its length; a no-op when quiet or not a TTY.

    Yields a callable `advance(n=1, description=None)`.
    """
    if not show_progress(quiet):
        yield lambda n=1, description=None: None
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            if description is not None:
                progress.update(task, description=description)
            progress.advance(task, n)

        yield advance


def progress_factory(quiet: bool) -> ProgressFactory:
    """What the library's `progress=` parameters take: a bar per stage, honouring `--quiet`."""
    return lambda label, total: progress_bar(label, total, quiet=quiet)


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
    for export, _key, reason in getattr(report, "entries_missing", []):
        info(f"Warning: {export}: entry {reason}", quiet=quiet)
    s = report.summary()
    info(
        f"{s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
        + (f"{s['moved']} moved, " if s["moved"] else "")
        + (f"{s['pruned']} pruned, " if pruning else "")
        + f"{s['failed']} failed",
        quiet=quiet,
    )
