"""`rpp train`, `rpp evaluate`, `rpp classify`, `rpp tag`, `rpp models`.

Thin wrappers over `rppsearch.tag` (pipeline, registry, classify, evaluation); scikit-learn, spaCy and torch load inside the
commands, never at import time.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..progress import stage_line
from .common import (
    CsvFlag,
    IndexDir,
    JsonFlag,
    Quiet,
    check_output,
    check_paths,
    emit,
    info,
    print_store,
    progress_factory,
    settings_for,
    store_settings,
)
from .app import app


class Features(str, Enum):
    auto = "auto"
    embedding = "embedding"
    tfidf = "tfidf"
    concat = "concat"
    average = "average"


LabelFiles = Annotated[
    list[Path] | None,
    typer.Option("--labels", help="Labelled examples (JSON lines with text and labels); repeatable [default: the shipped examples]."),
]
TaxonomyFile = Annotated[
    Path | None,
    typer.Option("--taxonomy", help="A codebook YAML file [default: the shipped Honig codebook]."),
]
FeaturesOpt = Annotated[
    Features,
    typer.Option("--features", help="Feature set; auto cross-validates all and keeps the best."),
]


def _human_examples(store: Any, settings: Any) -> list[tuple[str, list[str], str]]:
    """People's decisions as training examples, encoded as tagging encodes their passages (their
    stored vectors when current)."""
    from ..tag.registry import decided_examples  # noqa: PLC0415

    return decided_examples(store, settings=settings)


def _human_decisions(store: Any) -> list[tuple[int, str, bool]]:
    """(passage pk, dimension id, accepted) for every human decision in force."""
    from ..store.label_rows import human_decisions  # noqa: PLC0415

    return [(d.passage_pk, d.dimension_id, d.accepted) for d in human_decisions(store)]


@app.command()
def train(
    labels: LabelFiles = None,
    taxonomy: TaxonomyFile = None,
    features: FeaturesOpt = Features.auto,
    human: Annotated[bool, typer.Option("--human/--no-human", help="Add people's decisions from the store's labels.")] = True,
    index_dir: IndexDir = None,
    tag: Annotated[
        bool, typer.Option("--tag/--no-tag", help="Re-tag the store's new and stale passages with the new model.")
    ] = True,
    as_json: JsonFlag = False,
    quiet: Quiet = False,
) -> None:
    """Train the dimension tagger (cross-validated), make it the active model and re-tag the store with it."""
    from ..store import Store  # noqa: PLC0415
    from ..store import tags as tagstore  # noqa: PLC0415
    from ..tag.pipeline import tag_store  # noqa: PLC0415
    from ..tag.registry import train_and_register  # noqa: PLC0415

    check_paths(labels or [])
    check_paths([taxonomy], what="codebook file")
    settings = store_settings(index_dir, command="train")
    with Store.open(settings.db_path) as store:
        extra = _human_examples(store, settings) if human else []
        with progress_factory(quiet)("Training the tagger", None) as step:
            model = train_and_register(
                store,
                settings,
                taxonomy_path=taxonomy,
                label_files=labels,
                extra_examples=extra,
                features=features.value,
                on_step=lambda message: step(0, description=message[:1].upper() + message[1:]),
            )
        if tag:
            tagged = tag_store(store, settings, progress=progress_factory(quiet))
            stale = 0
        else:
            tagged = None
            stale = len(tagstore.passages_needing_tags(
                store, model_version=model.version, n_dimensions=len(model.dimension_ids), force=False
            ))
    card = model.card
    if as_json:
        sys.stdout.write(json.dumps({**card, "tagged": tagged}, ensure_ascii=False) + "\n")
        return
    training = card["training"]
    line = (
        f"model {card['version']}: {card['kind']}, features {card['features']}, "
        f"{training['n_examples']} examples ({training['n_extra']} from people), codebook {card['codebook']['name']}"
    )
    typer.echo(line)
    cv = card.get("metrics", {}).get("cv")
    if cv:
        typer.echo(f"cross-validated macro-F1 {cv['macro_f1']:.3f}, micro-F1 {cv['micro_f1']:.3f}")
        if not quiet:
            emit(_dimension_rows(cv, card.get("thresholds")), columns=["dimension", "precision", "recall", "f1", "support", "threshold"])
    else:
        typer.echo("zero-shot model (no labelled examples): scores are similarities to the codebook's definitions")
    if tagged is not None:
        info(stage_line("tag", tagged), quiet=quiet)
    elif stale:
        info(
            f"{stale} passages still carry tags from an older model: run `rpp tag` to re-tag them with {card['version']}",
            quiet=quiet,
        )
    print_store(settings, quiet=quiet)


def _dimension_rows(cv: dict[str, Any], thresholds: dict[str, float] | None = None) -> list[dict[str, Any]]:
    rows = []
    for r in cv["dimensions"]:
        rows.append(
            {
                "dimension": r["dimension"],
                "precision": round(r["precision"], 4),
                "recall": round(r["recall"], 4),
                "f1": round(r["f1"], 4),
                "support": r["support"],
                **({"threshold": thresholds.get(r["dimension"])} if thresholds else {}),
            }
        )
    return rows


EVAL_COLUMNS = ["kind", "name", "precision", "recall", "f1", "support", "confused_with", "agreement", "n"]


@app.command()
def evaluate(
    labels: LabelFiles = None,
    taxonomy: TaxonomyFile = None,
    features: FeaturesOpt = Features.auto,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Cross-validate the tagger (5-fold): precision, recall, F1, confusions, agreement with people.

    Per dimension precision, recall, F1 and support; macro and micro F1; which dimensions
    get predicted on examples of another; every feature variant's macro-F1; and, when the
    store holds human decisions, how often the active model agreed with them.
    """
    from ..store import Store  # noqa: PLC0415
    from ..tag.evaluation import evaluate as run_evaluate  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    settings = settings_for(index_dir)
    store = Store.open(settings.db_path, create=False) if settings.db_path.exists() else None
    try:
        extra = _human_examples(store, settings) if store is not None else []
        decisions = _human_decisions(store) if store is not None else []
        result = run_evaluate(
            settings,
            taxonomy_path=taxonomy,
            label_files=labels,
            extra_examples=extra,
            features=features.value,
            decisions=decisions,
            store=store,
        )
    finally:
        if store is not None:
            store.close()
    cv = result["cv"]
    rows: list[dict[str, Any]] = []
    for r in cv["dimensions"]:
        rows.append(
            {
                "kind": "dimension",
                "name": r["dimension"],
                "precision": round(r["precision"], 4),
                "recall": round(r["recall"], 4),
                "f1": round(r["f1"], 4),
                "support": r["support"],
                "confused_with": {k: v for k, v in cv["confusion"].get(r["dimension"], {}).items() if v},
            }
        )
    rows.append({"kind": "average", "name": "macro", "precision": round(cv["macro_precision"], 4), "recall": round(cv["macro_recall"], 4), "f1": round(cv["macro_f1"], 4), "support": cv["n"]})
    rows.append({"kind": "average", "name": "micro", "precision": round(cv["micro_precision"], 4), "recall": round(cv["micro_recall"], 4), "f1": round(cv["micro_f1"], 4), "support": cv["n"]})
    rows.append({"kind": "none", "name": "(none)", "support": cv["none"]["support"], "confused_with": {k: v for k, v in cv["confusion"].get("(none)", {}).items() if v}, "n": cv["none"]["correct"]})
    for name, v in result["variants"].items():
        rows.append({"kind": "variant", "name": name + (" (selected)" if name == result["selected"] else ""), "f1": round(v["macro_f1"], 4), "n": cv["n"]})
    agreement = result.get("agreement")
    if agreement and agreement["n"]:
        for dim, a in agreement["dimensions"].items():
            if a["n"]:
                rows.append({"kind": "agreement", "name": dim, "agreement": round(a["agreement"], 4), "n": a["n"]})
        rows.append({"kind": "agreement", "name": f"all (model {agreement['model']})", "agreement": round(agreement["agreement"], 4), "n": agreement["n"]})
    if as_json or as_csv:
        emit(rows, as_json=as_json, as_csv=as_csv, columns=EVAL_COLUMNS)
        return
    t = result["training"]
    typer.echo(
        f"{result['codebook']}: {t['n_examples']} examples ({t['n_none']} with no dimension, {t['n_multi']} with several); "
        f"5-fold nested cross-validation, features {result['selected']}"
    )
    table = []
    for r in rows:
        if r["kind"] in ("dimension", "average", "none"):
            confused = ", ".join(f"{k} {v}" for k, v in sorted((r.get("confused_with") or {}).items(), key=lambda kv: -kv[1]))
            table.append({**r, "also predicted (count)": confused})
    emit(table, columns=["name", "precision", "recall", "f1", "support", "also predicted (count)"])
    none = cv["none"]
    typer.echo(f"examples with no dimension left untagged: {none['correct']} of {none['support']}")
    typer.echo("feature variants (macro-F1): " + ", ".join(f"{k} {v['macro_f1']:.3f}" for k, v in result["variants"].items()))
    if agreement and agreement["n"]:
        typer.echo(f"model {agreement['model']} agreed with people on {agreement['agreement']:.1%} of {agreement['n']} decisions")
    elif store is not None:
        typer.echo("no human decisions yet: nothing to compare the model with")


def _read_items(source: str) -> tuple[list[dict[str, Any]], str]:
    """JSON lines with "text" from stdin ('-') or a .jsonl file; errors name the line."""
    from ..errors import InputError  # noqa: PLC0415

    name = "<stdin>" if source == "-" else source
    if source == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(source, f"cannot read ({exc})") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{number}", f"bad JSON ({exc.msg})", hint='each line must be an object like {"text": "..."}') from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record["text"].strip():
            raise InputError(f"{name}:{number}", 'needs a non-empty "text" string')
        items.append(record)
    if not items:
        raise InputError(name, "no JSON lines with text")
    return items, name


@app.command()
def classify(
    source: Annotated[str, typer.Argument(help="A document file (txt md html pdf docx), a .jsonl file, or - for JSON lines with \"text\" on stdin.", show_default=False)] = "-",
    taxonomy: TaxonomyFile = None,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Tag text with the active model without storing it: labels, scores and evidence."""
    from ..errors import InputError, ModelError  # noqa: PLC0415
    from ..store import Store  # noqa: PLC0415
    from ..tag.classify import classify_file, classify_texts  # noqa: PLC0415
    from ..tag.registry import load_active_model  # noqa: PLC0415
    from ..taxonomy import load_taxonomy  # noqa: PLC0415

    if source != "-" and not Path(source).exists():  # arguments first, then the model
        raise InputError(source, "no such file")
    check_paths([taxonomy], what="codebook file")
    settings = settings_for(index_dir)
    if not settings.db_path.exists():
        raise ModelError(f"{settings.index_dir}: no tagger model here", hint="run `rpp train` or `rpp build` first")
    records = _read_items(source)[0] if source == "-" or source.endswith(".jsonl") else None
    expected = load_taxonomy(taxonomy) if taxonomy else None
    with Store.open(settings.db_path, create=False) as store:
        model = load_active_model(store, settings, taxonomy=expected)
    if model is None:
        raise ModelError(f"{settings.index_dir}: no tagger model here", hint="run `rpp train` or `rpp build` first")
    if records is not None:
        results = classify_texts(model, settings, [r["text"] for r in records], titles=[r.get("title") for r in records])
        out = []
        for n, (record, result) in enumerate(zip(records, results), start=1):
            out.append({"id": record.get("id", n), **result})
    else:
        out = [classify_file(model, settings, Path(source))]
    for item in out:
        item["model"] = model.version
    if as_json:
        emit(out, as_json=True)
        return
    _print_classified(out)


def _print_classified(items: list[dict[str, Any]]) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.markup import escape  # noqa: PLC0415

    console = Console()
    for item in items:
        title = f" — {item['title']}" if item.get("title") else ""
        console.print(f"[bold]{escape(str(item['id']))}[/bold]{escape(title)}  ({item['passages']} passage(s), model {item['model']})")
        scores = "  ".join(f"{d} {s:.2f}" for d, s in sorted(item["scores"].items(), key=lambda kv: -kv[1]))
        console.print(f"  scores: {scores}")
        if not item["labels"]:
            console.print("  labels: (none)")
        for dim in item["labels"]:
            support = f", {item['n_passages'][dim]} passage(s)" if item.get("n_passages") else ""
            console.print(f"  [green]{dim}[/green] {item['scores'][dim]:.2f}{support}")
            for ev in item["evidence"].get(dim, []):
                console.print(f"    “{escape(ev['text'])}” [{ev['start']}:{ev['end']}]")
        console.print()


@app.command()
def tag(
    force: Annotated[bool, typer.Option("--force", help="Re-tag every passage (human decisions are kept).")] = False,
    index_dir: IndexDir = None,
    quiet: Quiet = False,
) -> None:
    """Tag the store's passages and documents with the active model (only what is new or stale)."""
    from ..store import Store  # noqa: PLC0415
    from ..tag.pipeline import tag_store  # noqa: PLC0415

    settings = settings_for(index_dir)
    with Store.open(settings.db_path, create=False) as store:
        result = tag_store(store, settings, progress=progress_factory(quiet), force=force)
    trained = " (trained a model first)" if result["trained"] else ""
    info(
        f"model {result['model']}{trained}: {result['passages']} passages tagged, "
        f"{result['documents']} documents rolled up, {result['encoded']} passages encoded",
        quiet=quiet,
    )


@app.command()
def models(
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Trained tagger versions, newest first (the active one marked)."""
    from ..store import Store  # noqa: PLC0415
    from ..store.tags import list_models  # noqa: PLC0415

    settings = settings_for(index_dir)
    with Store.open(settings.db_path, create=False) as store:
        rows = list_models(store)
    out = []
    for r in rows:
        cv = r["metrics"].get("cv") or {}
        out.append(
            {
                "version": r["version"],
                "active": r["active"],
                "kind": r["kind"],
                "features": r["metrics"].get("selected"),
                "created_at": r["created_at"],
                "taxonomy": r["taxonomy"],
                "n_examples": r["n_examples"],
                "macro_f1": round(cv["macro_f1"], 4) if cv else None,
                "path": r["path"],
            }
        )
    emit(out, as_json=as_json, as_csv=as_csv, columns=["version", "active", "kind", "features", "created_at", "taxonomy", "n_examples", "macro_f1", "path"])
