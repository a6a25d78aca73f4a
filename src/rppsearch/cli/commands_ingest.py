"""`rpp ingest`, `rpp build`, `rpp stats`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..config import Settings
from .common import (
    CsvFlag,
    IndexDir,
    JsonFlag,
    Quiet,
    check_paths,
    emit,
    print_ingest,
    print_stages,
    print_store,
    progress_factory,
    settings_for,
    store_settings,
)
from .app import app


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (recursive): txt md html pdf docx pptx, a BEIR corpus.jsonl, or a reference-manager export (.bib, .ris) whose entries' attachments are read with their metadata.")],
    index_dir: IndexDir = None,
    catalog: Annotated[Path | None, typer.Option(help="A catalog.csv of metadata (default: catalog.csv found beside the files).")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove stored documents whose files under PATHS are gone.")] = False,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
) -> None:
    """Parse documents into clean text and passages in the store (incremental).

    Files of other types inside folders are skipped and listed; exits 1 when a file failed
    or when nothing at all was ingested."""
    check_paths([*paths, catalog])
    settings = store_settings(index_dir, command="ingest")
    _run(settings, paths=paths, catalog=catalog, prune=prune, quiet=quiet, as_json=as_json)


def _run(settings: Settings, *, paths: list[Path], catalog: Path | None, prune: bool, quiet: bool, as_json: bool) -> None:
    from ..build import build as run_build  # noqa: PLC0415

    report = run_build(settings, paths=paths, catalog=catalog, prune=prune, progress=progress_factory(quiet or as_json))
    print_ingest(report.ingest, quiet=quiet, as_json=as_json)
    print_stages(report.stages, quiet=quiet or as_json)
    print_store(settings, quiet=quiet or as_json)
    if report.ingest.failed or report.ingest.nothing_ingested:
        raise typer.Exit(1)


@app.command()
def build(
    corpus: Annotated[Path, typer.Argument(help="The corpus folder.")] = Path("corpus"),
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
) -> None:
    """The main job: ingest the corpus (pruning removed files), tag it and index it."""
    from ..errors import InputError  # noqa: PLC0415

    if not corpus.is_dir():
        raise InputError(corpus, "not a folder")
    settings = store_settings(index_dir, command="build", may_create=True)
    _run(settings, paths=[corpus], catalog=None, prune=True, quiet=quiet, as_json=as_json)


@app.command()
def stats(
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Documents, passages and words, by organization, year and doc type."""
    from ..store import Store  # noqa: PLC0415
    from ..store.documents import corpus_stats  # noqa: PLC0415

    settings = settings_for(index_dir)
    with Store.open(settings.db_path, create=False) as store:
        result = corpus_stats(store)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    rows = []
    for group in ("organization", "year", "doc_type", "format"):
        for row in result[f"by_{group}"]:
            rows.append({"group": group, **row})
    if as_csv:
        emit(rows, as_csv=True, columns=["group", "value", "documents", "passages", "words"])
        return
    typer.echo(f"{result['documents']} documents, {result['passages']} passages, {result['words']} words")
    emit(rows, columns=["group", "value", "documents", "passages", "words"])
