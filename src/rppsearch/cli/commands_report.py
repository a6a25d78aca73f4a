"""`rpp map`, `rpp evidence`, `rpp profile`: evidence-and-gap maps and district profiles.

Thin over `rppsearch.report`; arguments are checked before the store opens, and matplotlib /
reportlab load only when a picture or a PDF is asked for.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .common import CsvFlag, IndexDir, JsonFlag, check_output, emit, existing_store, info
from .app import app


class Cols(str, Enum):
    district = "district"
    organization = "organization"
    year = "year"
    doc_type = "doc_type"
    document = "document"


class Rows(str, Enum):
    dimension = "dimension"


#: Columns shown in the table, picture and page when --max-cols is not given (CSV/JSON: all).
DEFAULT_VISIBLE_COLUMNS = 20

Organization = Annotated[str | None, typer.Option("--organization", help="Only documents of this organization (exact, any case).")]
District = Annotated[str | None, typer.Option("--district", help="Only documents naming this district.")]
YearFrom = Annotated[int | None, typer.Option("--year-from", help="Only documents from this year on.")]
YearTo = Annotated[int | None, typer.Option("--year-to", help="Only documents up to this year.")]
DocType = Annotated[str | None, typer.Option("--doc-type", help="Only documents of this type (exact, any case).")]
MinDocuments = Annotated[int, typer.Option("--min-documents", min=1, help="Cells with fewer documents count as weak evidence.")]


def _filters(dimension, organization, district, year_from, year_to, doc_type):  # noqa: ANN001, ANN202
    from ..report.matrix import MapFilters  # noqa: PLC0415

    if year_from is not None and year_to is not None and year_from > year_to:
        raise typer.BadParameter(f"--year-from {year_from} is after --year-to {year_to}")
    return MapFilters(
        dimensions=tuple(dict.fromkeys(dimension or ())),
        organization=organization,
        district=district,
        year_from=year_from,
        year_to=year_to,
        doc_type=doc_type,
    )


def _out_path(path: Path | None, suffixes: tuple[str, ...], option: str) -> Path | None:
    if path is None:
        return None
    if path.suffix.lower() not in suffixes:
        raise typer.BadParameter(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        raise InputError(str(path), f"cannot write {option}: no folder {path.parent}")
    return path


@app.command("map")
def map_command(
    cols: Annotated[Cols, typer.Option("--cols", help="Columns: district, organization, year, doc_type or document.")] = Cols.district,
    rows: Annotated[Rows, typer.Option("--rows", help="Rows (dimension).")] = Rows.dimension,
    dimension: Annotated[list[str] | None, typer.Option("--dimension", "-d", help="Only this dimension id (repeatable).")] = None,
    organization: Organization = None,
    district: District = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    doc_type: DocType = None,
    min_documents: MinDocuments = 2,
    max_cols: Annotated[int | None, typer.Option("--max-cols", min=1, help=f"Keep the columns with most documents [default: {DEFAULT_VISIBLE_COLUMNS}; all with --json/--csv].")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write a heat map picture here (.png).")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Write a heat map picture here (.svg).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write one self-contained page here, cells linked to their passages.")] = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    index_dir: IndexDir = None,
) -> None:
    """Evidence-and-gap map: dimensions × districts (organizations, years, types, documents).

    Each cell: documents, passages, mean confidence, share confirmed by people, and the
    command listing its passages. Gaps (no evidence) and weak cells are marked. Read from
    the store as it is: people's review decisions count at once.
    """
    from ..report.matrix import evidence_map  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    filters = _filters(dimension, organization, district, year_from, year_to, doc_type)
    png = _out_path(png, (".png",), "--png")
    svg = _out_path(svg, (".svg",), "--svg")
    html = _out_path(html, (".html", ".htm"), "--html")
    machine = as_json or as_csv
    limit = max_cols if max_cols is not None else (None if machine else DEFAULT_VISIBLE_COLUMNS)
    with existing_store(index_dir, readonly=True) as store:
        emap = evidence_map(store, by=cols.value, filters=filters, min_documents=min_documents, max_columns=limit)
        if not emap.columns:
            raise InputError(str(store.path), "no documents match these filters")
        for path in (png, svg):
            if path is not None:
                from ..report.heatmap import write_heatmap  # noqa: PLC0415

                write_heatmap(emap, path)
                info(f"wrote {path}", quiet=machine)
        if html is not None:
            from ..report.html import write_map_html  # noqa: PLC0415

            write_map_html(store, emap, html)
            info(f"wrote {html}", quiet=machine)
    if machine:
        records = emap.records()
        emit(records, as_json=as_json, as_csv=as_csv, columns=list(records[0]) if records else None)
    elif not (png or svg or html):
        from ..report.render import print_map  # noqa: PLC0415

        print_map(emap)


@app.command("evidence")
def evidence_command(
    dimension: Annotated[str, typer.Argument(help="The dimension id.")],
    by: Annotated[Cols, typer.Option("--by", help="The map's column kind.")] = Cols.district,
    value: Annotated[str, typer.Option("--value", help="The column: a district, organization, year, type or document id; '(none)' for documents without one.")] = "(none)",
    organization: Organization = None,
    district: District = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    doc_type: DocType = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000, help="How many passages.")] = 50,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    index_dir: IndexDir = None,
) -> None:
    """The passages behind one map cell: people's accepts first, then by score."""
    from ..report.evidence import cell_passages  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    filters = _filters([dimension], organization, district, year_from, year_to, doc_type)
    with existing_store(index_dir, readonly=True) as store:
        from ..report.matrix import check_dimensions  # noqa: PLC0415

        check_dimensions(store, [dimension])
        passages = cell_passages(store, dimension=dimension, by=by.value, value=value, filters=filters, limit=limit)
    rows = []
    for p in passages:
        row = p.to_dict()
        row["evidence"] = [s["text"] for s in row.pop("sentences")]
        rows.append(row)
    columns = ["passage_id", "title", "year", "confirmed", "score", "evidence", "document_id", "organization", "districts", "url"]
    if as_json or as_csv:
        emit(rows, as_json=as_json, as_csv=as_csv, columns=columns + (["text"] if as_csv else []))
        return
    if not rows:
        info(f"No evidence for {dimension} in {by.value} {value!r}.")
        return
    emit(rows, columns=["passage_id", "title", "year", "confirmed", "score", "evidence"], title=f"{dimension} × {value}")


@app.command("profile")
def profile_command(
    district: Annotated[str | None, typer.Argument(help="The district, as the documents name it (any case).")] = None,
    organization: Annotated[str | None, typer.Option("--organization", help="Profile this organization instead of a district.")] = None,
    sentences: Annotated[int, typer.Option("--sentences", min=1, max=10, help="Evidence sentences per dimension.")] = 3,
    min_documents: MinDocuments = 2,
    html: Annotated[Path | None, typer.Option("--html", help="Write the profile as one HTML page here.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write a one-page PDF brief here.")] = None,
    as_json: JsonFlag = False,
    index_dir: IndexDir = None,
) -> None:
    """A district's (or organization's) profile: strength on each dimension, the best evidence
    sentences, which side of the codebook's practice shifts the evidence is on, and the gaps."""
    from ..report.profile import build_profile  # noqa: PLC0415
    from ..taxonomy import load_default_taxonomy  # noqa: PLC0415

    if (district is None) == (organization is None):
        raise typer.BadParameter("give a DISTRICT or --organization ORG (one of them)")
    html = _out_path(html, (".html", ".htm"), "--html")
    pdf = _out_path(pdf, (".pdf",), "--pdf")
    with existing_store(index_dir, readonly=True) as store:
        profile = build_profile(
            store, district=district, organization=organization, taxonomy=load_default_taxonomy(),
            sentences=sentences, min_documents=min_documents,
        )
    if html is not None:
        from ..report.html import write_profile_html  # noqa: PLC0415

        write_profile_html(profile, html)
        info(f"wrote {html}", quiet=as_json)
    if pdf is not None:
        from ..report.pdf import write_profile_pdf  # noqa: PLC0415

        write_profile_pdf(profile, pdf)
        info(f"wrote {pdf}", quiet=as_json)
    if as_json:
        emit([profile.to_dict()], as_json=True)
    elif not (html or pdf):
        from ..report.render import print_profile  # noqa: PLC0415

        print_profile(profile)
