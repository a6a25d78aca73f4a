"""`rpp doctor`: check the store and its indexes agree; `--repair` rebuilds what is derived."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import CsvFlag, IndexDir, JsonFlag, Quiet, check_output, emit, info, progress_factory, settings_for
from .app import app

COLUMNS = ["check", "status", "count", "message", "action"]


@app.command()
def doctor(
    index_dir: IndexDir = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Rebuild what is derived (FTS, vectors, index, tags); never deletes documents or labels."),
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="Skip re-encoding a sample of passages (does not load the embedding model).")
    ] = False,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    quiet: Quiet = False,
) -> None:
    """Check schema, integrity, FTS sync, vectors and their index, tags and orphan rows. Exit 1 on problems."""
    from ..doctor import run_doctor  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    settings = settings_for(index_dir)
    report = run_doctor(
        settings=settings,
        repair=repair,
        quick=quick,
        progress=progress_factory(quiet),
    )
    emit(report.rows(), as_json=as_json, as_csv=as_csv, columns=COLUMNS, title="rpp doctor")
    if not (as_json or as_csv):
        for action in report.actions:
            info(f"repaired: {action}", quiet=quiet)
        n = len(report.problems)
        if n:
            hint = "" if repair else " (run `rpp doctor --repair`)"
            info(f"{n} problem{'s' if n != 1 else ''} found{hint}", quiet=quiet)
        else:
            info(f"{settings.db_path}: healthy", quiet=quiet)
    if report.problems:
        raise typer.Exit(1)
