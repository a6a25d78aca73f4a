"""`rpp documents`, `rpp show`, `rpp edit`, `rpp remove`: documents as things you manage."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from .common import CsvFlag, IndexDir, JsonFlag, Quiet, check_output, emit, existing_store, info, settings_for
from .app import app

_TABLE_COLUMNS = ["id", "title", "year", "organization", "districts", "mentioned_districts", "doc_type", "dimensions"]
_CSV_COLUMNS = [*_TABLE_COLUMNS, "authors", "url", "published", "format", "path", "passage_count", "sources"]


@app.command()
def documents(
    index_dir: IndexDir = None,
    organization: Annotated[str | None, typer.Option(help="Only this organization (any case).", show_default=False)] = None,
    district: Annotated[str | None, typer.Option(help="Only documents about this district, in any spelling (its catalog, library or edited districts, else those its text names).", show_default=False)] = None,
    year_from: Annotated[int | None, typer.Option(help="Only documents of this year or later.", show_default=False)] = None,
    year_to: Annotated[int | None, typer.Option(help="Only documents of this year or earlier.", show_default=False)] = None,
    doc_type: Annotated[str | None, typer.Option(help="Only this document type.", show_default=False)] = None,
    dimension: Annotated[str | None, typer.Option(help="Only documents tagged with this dimension id.", show_default=False)] = None,
    missing: Annotated[str | None, typer.Option(help="Only documents lacking this field (year, organization, districts …).", show_default=False)] = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """List documents with their metadata, where each field came from, and their dimensions."""
    from ..manage import list_documents  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    with existing_store(index_dir, readonly=True) as store:
        rows = list_documents(
            store, organization=organization, district=district, year_from=year_from, year_to=year_to,
            doc_type=doc_type, dimension=dimension, missing=missing,
        )
        columns = None if as_json else (_CSV_COLUMNS if as_csv else _TABLE_COLUMNS)
        count = emit(rows, as_json=as_json, as_csv=as_csv, columns=columns)
    if not as_json and not as_csv:
        info(f"{count} documents")


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(metavar="ID", help="The document's id (see `rpp documents`).")],
    index_dir: IndexDir = None,
    passages: Annotated[bool, typer.Option("--passages/--no-passages", help="List its passages.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """A document's metadata with the source of each field, its overrides, tags and passages."""
    from ..manage import show_document  # noqa: PLC0415

    with existing_store(index_dir, readonly=True) as store:
        doc = show_document(store, doc_id=doc_id, passages=passages)
    if as_json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        return
    _print_document(doc)


def _shown(value: object) -> str:
    """A metadata value as a person reads it: lists joined by '; ', mappings as 'key: value' pairs."""
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_shown(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list):
        return "; ".join(_shown(v) for v in value)
    return "" if value is None else str(value)


def _print_document(doc: dict) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console()
    table = Table(title=doc["id"], show_header=True)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_column("source")
    for name in ("title", "authors", "organization", "districts", "mentioned_districts", "year", "published",
                 "doc_type", "url", "format", "path", "word_count", "passage_count", "dimensions"):
        value = doc.get(name)
        shown = _shown(value)
        source = "document" if name == "mentioned_districts" and value else doc["sources"].get(name, "")
        table.add_row(name, shown, source)
    for key, value in (doc.get("extra") or {}).items():
        table.add_row(key, _shown(value), "")
    console.print(table)
    if doc.get("overrides"):
        console.print(f"Your edits: {json.dumps(doc['overrides'], ensure_ascii=False)}")
    if doc.get("tags"):
        emit(doc["tags"], columns=["dimension_id", "score", "assigned", "n_passages", "source"], title="Dimensions")
    if doc.get("passages"):
        rows = [{**p, "text": p["text"][:160] + ("…" if len(p["text"]) > 160 else "")} for p in doc["passages"]]
        emit(rows, columns=["id", "heading", "word_count", "dimensions", "text"], title="Passages")


@app.command()
def edit(
    doc_id: Annotated[str, typer.Argument(metavar="ID", help="The document's id (see `rpp documents`).")],
    index_dir: IndexDir = None,
    title: Annotated[str | None, typer.Option(help="Its title.", show_default=False)] = None,
    year: Annotated[str | None, typer.Option(help="Its year ('' clears your edit).", show_default=False)] = None,
    organization: Annotated[str | None, typer.Option(help="Its organization.", show_default=False)] = None,
    district: Annotated[list[str] | None, typer.Option("--district", help="A district it is about (repeatable; replaces the list; '' clears it).", show_default=False)] = None,
    doc_type: Annotated[str | None, typer.Option(help="Its document type.", show_default=False)] = None,
    author: Annotated[list[str] | None, typer.Option("--author", help="An author (repeatable; replaces the list).", show_default=False)] = None,
    url: Annotated[str | None, typer.Option(help="Its web address.", show_default=False)] = None,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
) -> None:
    """Correct a document's metadata. Kept as your overrides: they win over the catalog, the
    library export and the document, and survive re-ingest."""
    from ..manage import edit_document, parse_edits  # noqa: PLC0415

    edits = parse_edits({"title": title, "year": year, "organization": organization, "districts": district,
                         "doc_type": doc_type, "authors": author, "url": url})
    with existing_store(index_dir) as store:
        doc = edit_document(store, doc_id=doc_id, edits=edits, settings=settings_for(index_dir))
    if as_json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
        return
    changed = ", ".join(f"{k}={doc.get(k)!r}" for k in ("title", "year", "organization", "districts", "doc_type", "authors", "url") if k in edits)
    info(f"{doc_id}: {changed}", quiet=quiet)


@app.command()
def remove(
    doc_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Ids of documents to remove (see `rpp documents`).")],
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
) -> None:
    """Remove documents from the store and the search indexes; people's decisions stay in the labels log.

    Their files stay on disk: a build of their folder adds them back."""
    from ..manage import NoSuchDocument, remove_document  # noqa: PLC0415

    settings = settings_for(index_dir)
    failed = 0
    with existing_store(index_dir) as store:
        for doc_id in doc_ids:
            try:
                result = remove_document(store, settings, doc_id=doc_id)
            except NoSuchDocument as exc:
                sys.stderr.write(f"Error: {exc.message}\n")
                failed += 1
                continue
            if as_json:
                sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
            else:
                info(f"removed {doc_id} ({result['passages']} passages; file kept at {result['path']})", quiet=quiet)
    if failed:
        raise typer.Exit(1)
