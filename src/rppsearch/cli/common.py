"""Options and output shared by every command: `--index-dir`, `--json`, `--csv`, progress."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import Settings
from ..progress import ProgressFactory, console_progress, stage_line

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Store

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


def existing_store(index_dir: Path | None, *, readonly: bool = False) -> Store:
    """The store of `index_dir` (or the default), never created: StoreError when there is none."""
    from ..store import Store  # noqa: PLC0415

    return Store.open(settings_for(index_dir).db_path, create=False, readonly=readonly)


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


def check_output(*, as_json: bool, as_csv: bool) -> None:
    """Refuse --json with --csv: commands call it before opening the store or loading a model."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")


def emit(
    rows: Iterable[dict[str, Any]],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> int:
    """Print rows as JSON lines, CSV, or a rich table; return how many were printed."""
    check_output(as_json=as_json, as_csv=as_csv)
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


#: Skipped files named one a line on the terminal; `--json` lists every one.
SKIPPED_LISTED = 10


def print_ingest(report: Any, *, quiet: bool, pruning: bool = True, as_json: bool = False) -> None:
    """An ingest report: one `Error:` line per failed file, then the counts (`pruned` only
    where the command prunes, `moved` only when something moved, `skipped` when files of
    unsupported types were found: counted by extension and named), and an `Error:` line when
    nothing at all was ingested. With `as_json`, one object a line on stdout: each document's
    status, each failed and skipped file with its reason, then the counts."""
    if as_json:
        for row in ingest_rows(report):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        quiet = True
    for path, reason in report.failed:
        error_line(f"{path}: {reason}")
    for export, _key, reason in getattr(report, "entries_missing", []):
        info(f"Warning: {export}: entry {reason}", quiet=quiet)
    for path, warning in getattr(report, "warnings", []):
        sys.stderr.write(f"warning: {path}: {warning}\n")
    s = report.summary()
    info(
        f"{s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
        + (f"{s['moved']} moved, " if s["moved"] else "")
        + (f"{s['pruned']} pruned, " if pruning else "")
        + f"{s['failed']} failed"
        + (f", {s['skipped']} skipped" if s["skipped"] else ""),
        quiet=quiet,
    )
    if report.skipped:
        by_type = ", ".join(f"{n} {suffix}" for suffix, n in report.skipped_by_type().items())
        info(f"skipped {len(report.skipped)} (not a supported type): {by_type}", quiet=quiet)
        for path, _ in report.skipped[:SKIPPED_LISTED]:
            info(f"  skipped {path}", quiet=quiet)
        if len(report.skipped) > SKIPPED_LISTED:
            info(f"  … and {len(report.skipped) - SKIPPED_LISTED} more (--json lists them all)", quiet=quiet)
    if report.nothing_ingested:
        error_line(nothing_ingested_reason(report))


def nothing_ingested_reason(report: Any) -> str:
    """Why a run stored nothing: no files at all, only unsupported ones, or only failures."""
    from ..ingest.formats import SUPPORTED_SUFFIXES  # noqa: PLC0415

    supported = " ".join(sorted(SUPPORTED_SUFFIXES)) + " (and BEIR .jsonl; .bib and .ris library exports)"
    if getattr(report, "entries_missing", None) and not report.failed and not report.skipped:
        return "nothing ingested: no entry of the library export has a readable attachment (see the warnings above)"
    if report.failed and not report.skipped:
        return "nothing ingested: no file could be read (see the errors above)"
    if report.skipped:
        return f"nothing ingested: no readable documents found, only unsupported files; supported: {supported}"
    return f"nothing ingested: no files found; supported: {supported}"


def ingest_rows(report: Any) -> list[dict[str, Any]]:
    """An ingest report as JSON-ready rows: documents, failures, skipped files, then the counts."""
    rows: list[dict[str, Any]] = []
    for status in ("added", "updated", "unchanged", "moved", "pruned"):
        rows.extend({"status": status, "id": doc_id} for doc_id in getattr(report, status))
    rows.extend({"status": "failed", "path": path, "reason": reason} for path, reason in report.failed)
    rows.extend({"status": "skipped", "path": path, "reason": reason} for path, reason in report.skipped)
    rows.extend({"status": "warning", "path": path, "warning": w} for path, w in getattr(report, "warnings", []))
    rows.extend({"status": "missing", "export": export, "entry": key, "reason": reason}
                for export, key, reason in getattr(report, "entries_missing", []))
    rows.append({"summary": report.summary(), "skipped_by_type": report.skipped_by_type(),
                 "nothing_ingested": report.nothing_ingested})
    return rows