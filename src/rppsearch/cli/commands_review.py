"""`rpp add`, `rpp review`, `rpp label`, `rpp labels export|import`, `rpp agreement`.

Thin wrappers: options in, a keyword-only library call, output out. Nothing heavy at import.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import RppError
from .common import CsvFlag, IndexDir, JsonFlag, Quiet, check_output, check_paths, emit, existing_store, info, print_ingest, print_store, progress_factory, store_settings
from .app import app

labels_app = typer.Typer(
    help="Export and import people's decisions (JSON lines, CSV, REFI-QDA .qdpx projects) and the codebook (.qdc).",
    no_args_is_help=True,
)
app.add_typer(labels_app, name="labels")

class Order(str, Enum):
    uncertain = "uncertain"
    document = "document"
    random = "random"
    active = "active"


class Query(str, Enum):
    auto = "auto"
    uncertain = "uncertain"
    likely = "likely"


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    qdc = "qdc"
    qdpx = "qdpx"


class ImportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    qdpx = "qdpx"


class Positions(str, Enum):
    auto = "auto"
    normalized = "normalized"
    raw = "raw"


Reviewer = Annotated[
    str | None,
    typer.Option(
        "--reviewer",
        help="Who is deciding (default: $RPP_REVIEWER, or your user name).",
        show_default=False,
    ),
]


def _reviewer(name: str | None) -> str:
    if name and name.strip():
        return name.strip()
    env = os.environ.get("RPP_REVIEWER", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise RppError("reviewer: cannot tell who you are", hint="pass --reviewer NAME or set RPP_REVIEWER") from None


def _run_review(store: Any, *, reviewer: str, order: str, documents: list[str], dimension: str | None, seed: int | None,
                retrain_every: int = 10, takeover: int | None = None, query: str = "uncertain") -> None:
    from rich.console import Console  # noqa: PLC0415

    from ..review import ReviewSession  # noqa: PLC0415
    from .review_screen import ReviewScreen, TerminalKeys  # noqa: PLC0415

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RppError(
            "rpp review needs an interactive terminal (stdin and stdout are not one)",
            hint="in scripts, record decisions with `rpp label TARGET --add ID --remove ID`",
        )
    session = ReviewSession(
        store, reviewer=reviewer, order=order, document_ids=documents or None, dimension=dimension, seed=seed,
        retrain_every=retrain_every, takeover=takeover, query=query,
    )
    keys = TerminalKeys()
    with keys.session():
        ReviewScreen(session, Console(highlight=False), keys.getchar, keys.read_line).run()


# -- rpp add -----------------------------------------------------------------------------
def _print_suggestions(store: Any, doc_ids: list[str], statuses: dict[str, str], *, as_json: bool) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    from ..store import documents as docstore  # noqa: PLC0415
    from ..store import label_queries  # noqa: PLC0415

    console = Console(highlight=False)
    for doc_id in doc_ids:
        doc = docstore.document_by_id(store, doc_id)
        if doc is None:
            continue
        rows = label_queries.document_suggestions(store, doc_id)
        if as_json:
            sys.stdout.write(
                json.dumps(
                    {
                        "id": doc_id,
                        "title": doc["title"],
                        "status": statuses.get(doc_id, "unchanged"),
                        "passages": doc["passage_count"],
                        "dimensions": rows,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            continue
        n = doc["passage_count"]
        console.print(
            Text(doc_id, style="bold")
            + Text(f" — {doc['title'] or ''} ({n} passage{'' if n == 1 else 's'}, {statuses.get(doc_id, 'unchanged')})")
        )
        assigned = [r for r in rows if r["assigned"]]
        if not rows:
            console.print("  no suggestions yet: the store has no tagger model (run `rpp build` or `rpp train`)")
            continue
        if not assigned:
            best = rows[0]
            console.print(f"  no dimension suggested (closest: {best['dimension_id']} {best['score']:.2f})")
        for r in assigned:
            by = " (decided by a person)" if r["source"] == "human" else ""
            console.print(
                Text("  ") + Text(f"{r['dimension_id']:<24}", style="bold")
                + Text(f" {r['score']:.2f}  in {r['n_passages']} passage{'' if r['n_passages'] == 1 else 's'}{by}")
            )
            ev = r.get("evidence") or {}
            sentences = ev.get("sentences") or []
            if sentences:
                sentence = " ".join(str(sentences[0].get("text", "")).split())
                if len(sentence) > 160:
                    sentence = sentence[:157].rstrip() + "…"
                console.print(Text(f"    “{sentence}” ", style="italic") + Text(f"({ev['passage_id']})", style="dim"))
    if not as_json and doc_ids:
        docs = " ".join(f"--document {d}" for d in doc_ids)
        console.print(Text(f"Review them: rpp review {docs}", style="dim"))


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="Article files (txt md html pdf docx) to add.", show_default=False)],
    index_dir: IndexDir = None,
    review: Annotated[bool, typer.Option("--review", help="Go straight into reviewing their passages.")] = False,
    reviewer: Reviewer = None,
    catalog: Annotated[Path | None, typer.Option(help="A catalog.csv with their metadata.")] = None,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
) -> None:
    """Add articles: ingest, tag and index them (nothing else is rebuilt) and show the suggested dimensions."""
    from ..build import build as run_build  # noqa: PLC0415

    check_paths([*files, catalog])
    settings = store_settings(index_dir, command="add")
    report = run_build(
        settings, paths=files, catalog=catalog, progress=progress_factory(quiet)
    )
    ing = report.ingest
    print_ingest(ing, quiet=quiet or as_json, pruning=False)
    print_store(settings, quiet=quiet or as_json)
    statuses = {
        **{d: "unchanged" for d in ing.unchanged},
        **{d: "moved" for d in ing.moved},
        **{d: "updated" for d in ing.updated},
        **{d: "added" for d in ing.added},
    }
    doc_ids = list(dict.fromkeys(ing.added + ing.updated + ing.moved + ing.unchanged))
    if doc_ids:
        with existing_store(index_dir) as store:
            _print_suggestions(store, doc_ids, statuses, as_json=as_json)
            if review:
                _run_review(store, reviewer=_reviewer(reviewer), order="document", documents=doc_ids, dimension=None, seed=None)
    if ing.failed:
        raise typer.Exit(1)


# -- rpp review --------------------------------------------------------------------------
@app.command()
def review(
    index_dir: IndexDir = None,
    reviewer: Reviewer = None,
    order: Annotated[Order, typer.Option(help="uncertain (scores nearest the 0.5 threshold first), document (in order), random, or active (retrain a light model on the passage vectors as you go, re-rank by its uncertainty, estimate what is left).")] = Order.uncertain,
    document: Annotated[list[str] | None, typer.Option("--document", help="Only this document's passages (repeatable).", show_default=False)] = None,
    dimension: Annotated[str | None, typer.Option(help="Only passages where the model suggests this dimension or nearly does.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for --order random.", show_default=False)] = None,
    retrain_every: Annotated[int, typer.Option("--retrain-every", min=1, help="--order active: retrain after this many decisions.")] = 10,
    takeover: Annotated[int, typer.Option("--takeover", min=1, help="--order active: decisions on a dimension before the light model replaces the tagger's scores for it.")] = 30,
    query: Annotated[Query, typer.Option("--query", help="--order active: uncertain (most uncertain first: teaches the model), likely (most likely to apply first: finds a dimension's passages with the least reading), or auto (likely with --dimension, else uncertain).")] = Query.auto,
) -> None:
    """Review suggested dimensions passage by passage (single keys; ? for help). Quitting keeps everything; re-run to resume."""
    with existing_store(index_dir) as store:
        _run_review(store, reviewer=_reviewer(reviewer), order=order.value, documents=list(document or []), dimension=dimension,
                    seed=seed, retrain_every=retrain_every, takeover=takeover, query=_query(query, dimension))


def _query(query: Query, dimension: str | None) -> str:
    if query == Query.auto:
        return "likely" if dimension else "uncertain"
    return query.value


# -- rpp label ---------------------------------------------------------------------------
@app.command()
def label(
    target: Annotated[str, typer.Argument(help="A passage id (DOCID-p0003) or a document id.", show_default=False)],
    add_: Annotated[list[str] | None, typer.Option("--add", help="Dimension id that applies (repeatable).", show_default=False)] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Dimension id that does not apply (repeatable).", show_default=False)] = None,
    reviewer: Reviewer = None,
    note: Annotated[str | None, typer.Option(help="A note saved with the decisions.", show_default=False)] = None,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Record decisions without the interactive screen: --add and --remove dimensions on a passage or document."""
    from ..errors import LabelError  # noqa: PLC0415
    from ..review import decide  # noqa: PLC0415
    from ..store import labels as labelstore  # noqa: PLC0415

    adds, removes = list(add_ or []), list(remove or [])
    if not adds and not removes:
        raise LabelError("nothing to record: give --add ID and/or --remove ID")
    both = sorted(set(adds) & set(removes))
    if both:
        raise LabelError(f"{both[0]}: given to both --add and --remove")
    who = _reviewer(reviewer)
    with existing_store(index_dir) as store:
        tgt = labelstore.resolve_target(store, target)
        decisions = [(d, "accept") for d in adds] + [(d, "reject") for d in removes]
        decide(store, target=tgt, decisions=decisions, reviewer=who, note=note)
        if tgt.type == "passage":
            row = store.conn.execute("SELECT dimensions FROM passages WHERE id = ?", (tgt.id,)).fetchone()
        else:
            row = store.conn.execute("SELECT dimensions FROM documents WHERE id = ?", (tgt.id,)).fetchone()
        now = json.loads(row[0]) if row else []
    if as_json:
        sys.stdout.write(
            json.dumps({"target": tgt.id, "target_type": tgt.type, "reviewer": who, "accepted": adds, "rejected": removes, "dimensions": now})
            + "\n"
        )
        return
    parts = [f"{d} accepted" for d in adds] + [f"{d} rejected" for d in removes]
    typer.echo(f"{who}: {', '.join(parts)} on {tgt.type} {tgt.id}")
    typer.echo(f"{tgt.id} now has: {', '.join(now) or 'no dimension'}")


# -- rpp labels export / import ----------------------------------------------------------
@labels_app.command("export")
def labels_export(
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="jsonl or csv (one decision a row, with the passage text), qdc (the codebook for QDA tools), or qdpx (a REFI-QDA project: documents, codes, each reviewer's codings and notes; needs --output).")] = ExportFormat.jsonl,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).", show_default=False)] = None,
    include_model: Annotated[bool, typer.Option("--include-model", help="qdpx: also the model's suggestions, as a user of their own.")] = False,
    index_dir: IndexDir = None,
    quiet: Quiet = False,
) -> None:
    """Export every decision (oldest first), the codebook as a REFI-QDA .qdc file, or a whole .qdpx project."""
    if fmt == ExportFormat.qdpx:
        from ..errors import LabelError  # noqa: PLC0415
        from ..qdpx import write_qdpx  # noqa: PLC0415

        if output is None:
            raise LabelError("--format qdpx writes a zip file: give --output FILE.qdpx")
        with existing_store(index_dir) as store:
            rep = write_qdpx(store, output, include_model=include_model)
        info(f"wrote {rep.sources} sources, {rep.selections} coded passages, {rep.codings} codings by "
             f"{rep.users} users and {rep.notes} notes to {output}", quiet=quiet)
        return
    from ..labels_io import write_export  # noqa: PLC0415

    with existing_store(index_dir) as store:
        count = write_export(store, fmt=fmt.value, output=output, stdout=sys.stdout)
    if output is not None:
        what = "codes" if fmt == ExportFormat.qdc else "decisions"
        info(f"wrote {count} {what} to {output}", quiet=quiet)


@labels_app.command("import")
def labels_import(
    file: Annotated[Path, typer.Argument(help="A .jsonl or .csv file as written by `rpp labels export`, or a REFI-QDA .qdpx project.", show_default=False)],
    fmt: Annotated[ImportFormat | None, typer.Option("--format", "-f", help="jsonl, csv or qdpx (default: from the file name).", show_default=False)] = None,
    min_overlap: Annotated[float, typer.Option("--min-overlap", help="qdpx: a selection codes a passage it overlaps by at least this share of the passage (or of the selection, if shorter).")] = 0.5,
    code_map: Annotated[Path | None, typer.Option("--code-map", help="qdpx: a JSON object or two-column CSV mapping code names (or GUIDs) to dimension ids (null/empty ignores a code).", show_default=False)] = None,
    positions: Annotated[Positions, typer.Option("--positions", help="qdpx: how selection positions count line endings: normalized (CRLF = 1), raw (CRLF = 2), or auto.")] = Positions.auto,
    implied_rejects: Annotated[bool, typer.Option("--implied-rejects/--no-implied-rejects", help="qdpx: a coder who coded a passage rejects the project's other codes on it.")] = True,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="qdpx: the coder for codings that name none.", show_default=False)] = None,
    index_dir: IndexDir = None,
    quiet: Quiet = False,
) -> None:
    """Import decisions; the file is checked whole first and nothing is imported if anything is bad."""
    if fmt == ImportFormat.qdpx or (fmt is None and file.suffix.lower() == ".qdpx"):
        from ..qdpx_import import import_qdpx  # noqa: PLC0415

        with existing_store(index_dir) as store:
            rep = import_qdpx(store, file, min_overlap=min_overlap, code_map=code_map, positions=positions.value,
                              implied_rejects=implied_rejects, default_reviewer=reviewer)
        extra = f"; {rep.model_codings} model codings skipped" if rep.model_codings else ""
        extra += f"; {rep.uncovered} selections covered no passage enough" if rep.uncovered else ""
        info(f"imported {rep.imported} decisions on {rep.passages} passages by {', '.join(rep.reviewers) or 'nobody'} "
             f"({rep.duplicates} already present{extra})", quiet=quiet)
        return
    from ..labels_io import import_labels  # noqa: PLC0415

    with existing_store(index_dir) as store:
        report = import_labels(store, file, fmt=fmt.value if fmt else None)
    stale = f"; {report.stale} made on an earlier text of their passage: kept, not applied" if report.stale else ""
    info(f"imported {report.imported} decisions ({report.duplicates} already present{stale})", quiet=quiet)


# -- rpp agreement -----------------------------------------------------------------------
DIMENSION_COLUMNS = ["dimension_id", "metric", "value", "n_items", "n_reviewers", "percent_agreement", "reviewers", "note"]
DISAGREEMENT_COLUMNS = ["target_type", "target_id", "dimension_id", "accepted_by", "rejected_by", "in_force", "text"]


@app.command()
def agreement(
    index_dir: IndexDir = None,
    disagreements: Annotated[bool, typer.Option("--disagreements", help="List the disagreements to reconcile instead of the per-dimension figures.")] = False,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Agreement between reviewers on shared targets: Cohen's kappa (two) or Krippendorff's alpha (more), per dimension."""
    from ..agreement import agreement as compute  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    with existing_store(index_dir) as store:
        report = compute(store)
    dims = [d.to_dict() for d in report.dimensions]
    diffs = [d.to_dict() for d in report.disagreements]
    if as_json or as_csv:
        emit(diffs if disagreements else dims, as_json=as_json, as_csv=as_csv,
             columns=DISAGREEMENT_COLUMNS if disagreements else DIMENSION_COLUMNS)
        return
    if not report.reviewers:
        typer.echo("No target has been decided by two or more reviewers yet.")
        return
    if not disagreements:
        typer.echo(f"{len(report.reviewers)} reviewers ({', '.join(report.reviewers)}), {report.n_shared_targets} shared targets")
        rows = [
            {
                "dimension": d["dimension_id"],
                "metric": {"cohen_kappa": "kappa", "krippendorff_alpha": "alpha"}.get(d["metric"] or "", "-"),
                "value": "undefined" if d["value"] is None else f"{d['value']:.3f}",
                "targets": d["n_items"],
                "reviewers": d["n_reviewers"],
                "agree": "-" if d["percent_agreement"] is None else f"{100 * d['percent_agreement']:.0f}%",
            }
            for d in dims
        ]
        emit(rows, columns=["dimension", "metric", "value", "targets", "reviewers", "agree"], title="Agreement per dimension")
    rows = [
        {
            "target": d["target_id"],
            "dimension": d["dimension_id"],
            "yes": ", ".join(d["accepted_by"]),
            "no": ", ".join(d["rejected_by"]),
            "in force": d["in_force"] or "model",
        }
        for d in diffs
    ]
    if rows or disagreements:
        emit(rows, columns=["target", "dimension", "yes", "no", "in force"], title=f"{len(rows)} disagreements to reconcile")
