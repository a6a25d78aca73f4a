"""`rpp search`, `rpp similar`, `rpp bench retrieval`.

Only the standard library, typer and rppsearch's light modules load at import time: BM25
search never imports torch (the vectors index and the encoder load inside `search()` when a
mode needs them).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import QueryError
from ..models import snippet_window
from ..search_options import BY, DEFAULT_FUSION, DEFAULT_PER_DOCUMENT, FUSIONS, MODES
from .common import CsvFlag, IndexDir, JsonFlag, check_output, emit, settings_for
from .app import app

#: Characters of passage text shown for a hit in the terminal.
SNIPPET_CHARS = 320

bench_app = typer.Typer(help="Benchmarks: retrieval quality and speed on BEIR-layout folders.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


#: The choices typer offers, from the one list the library and the web page validate against.
Mode = Enum("Mode", {name: name for name in MODES}, type=str)  # type: ignore[misc]
By = Enum("By", {name: name for name in BY}, type=str)  # type: ignore[misc]
Fusion = Enum("Fusion", {name: name for name in FUSIONS}, type=str)  # type: ignore[misc]


CSV_COLUMNS = [
    "id", "document_id", "title", "score", "relevance", "matched_by", "more_from_document", "dimensions",
    "organization", "districts", "year", "doc_type", "url", "heading", "start", "end", "content",
]
#: How the terminal names the engines in "matched by".
ENGINE_WORDS = {"bm25": "words", "semantic": "meaning"}



def _open_store(index_dir: Path | None):  # noqa: ANN202
    """The store for reading; writable when possible so a stale vectors index can be refreshed."""
    import os  # noqa: PLC0415

    from ..store import Store  # noqa: PLC0415

    settings = settings_for(index_dir)
    path = settings.db_path
    writable = path.exists() and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return settings, Store.open(path, create=False, readonly=not writable), writable


def _output(hits: list, *, as_json: bool, as_csv: bool, query: str | None, page: Any = None) -> None:  # noqa: ANN001
    from ..results import hit_to_json, page_to_json  # noqa: PLC0415

    if as_json:
        head = [{"summary": page_to_json(page)}] if page is not None else []
        emit((*head, *(hit_to_json(h) for h in hits)), as_json=True)
        return
    if as_csv:
        rows = []
        for h in hits:
            row: dict[str, Any] = {**hit_to_json(h)}
            meta = row.pop("metadata")
            row.update({k: meta.get(k) for k in CSV_COLUMNS if k in meta})
            rows.append(row)
        emit(rows, as_csv=True, columns=CSV_COLUMNS)
        return
    _print_readable(hits, query=query, page=page)


def _matched_words(hit: Any) -> str:  # noqa: ANN401
    parts = [f"{ENGINE_WORDS.get(name, name)} #{m['rank']}" for name, m in hit.matched_by.items()]
    return "matched by " + ", ".join(parts) if parts else ""


def _print_readable(hits: list, *, query: str | None, page: Any = None) -> None:  # noqa: ANN001
    from rich.console import Console  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    from ..results import unknown_notices  # noqa: PLC0415

    console = Console()
    if page is not None:
        for line in unknown_notices(page):
            console.print(Text(line, style="yellow"))
    if not hits:
        if page is not None and page.total and page.offset >= page.total:
            console.print(f"No results past {page.total} (--offset {page.offset}).")
            return
        console.print("No results." if not query else f"No results for {query!r}.")
        return
    if page is not None:
        total = f"{page.total}" + ("" if page.total_exact else "+")
        what = "browsing, newest first" if not query else f"{page.mode}"
        console.print(
            Text(f"Results {page.offset + 1}-{page.offset + len(hits)} of {total} ({what})", style="bold")
        )
        console.print()
    first = page.offset + 1 if page is not None else 1
    for rank, hit in enumerate(hits, start=first):
        meta = hit.metadata
        head = Text()
        head.append(f"{rank:>2}. ", style="bold")
        head.append(hit.title or hit.document_id, style="bold cyan")
        head.append(f"  [{hit.id}]", style="dim")
        if hit.matched_by:
            head.append(f"  relevance {hit.relevance:.0f}  {_matched_words(hit)}", style="dim")
        elif query:
            head.append(f"  score {hit.score:.4g}", style="dim")
        console.print(head)
        facts = [
            str(v)
            for v in (meta.get("organization"), "; ".join(meta.get("districts") or []), meta.get("year"), meta.get("doc_type"))
            if v not in (None, "")
        ]
        if hit.dimensions:
            facts.append("dimensions: " + ", ".join(hit.dimensions))
        if meta.get("heading"):
            facts.append(f"§ {meta['heading']}")
        if facts:
            console.print(Text("    " + " · ".join(facts), style="green"))
        spans = [tuple(s) for s in hit.highlights]
        start, end = snippet_window(hit.content, spans, SNIPPET_CHARS)
        body = Text("    " + ("…" if start > 0 else ""))
        offset = len(body.plain)
        body.append(hit.content[start:end].replace("\n", " "))
        for s, e in spans:
            if s >= start and e <= end:
                body.stylize("bold yellow", offset + s - start, offset + e - start)
        if end < len(hit.content):
            body.append("…")
        console.print(body)
        if meta.get("url"):
            console.print(Text(f"    {meta['url']}", style="blue underline"))
        if hit.more_from_document:
            more = hit.more_from_document
            console.print(
                Text(
                    f"    + {more} more from this document (--document {hit.document_id} --per-document 0)",
                    style="magenta",
                )
            )
        console.print()
    if page is not None and page.offset + len(hits) < page.total:
        console.print(Text(f"More: --offset {page.offset + len(hits)}", style="dim"))


@app.command("search")
def search_cli(
    query: Annotated[str | None, typer.Argument(metavar="QUERY", help='What to look for: words, "exact phrases", -excluded, a OR b, title:word, heading:word. Leave it out to browse the filters, newest first.')] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="hybrid (fusion of both), bm25 (terms) or semantic (meaning).")] = Mode.hybrid,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many results.")] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0, max=100_000, help="Skip this many results (paging).")] = 0,
    per_document: Annotated[int, typer.Option("--per-document", min=0, max=10_000, help="At most this many passages of one document (0: no cap); the rest show as 'N more from this document'.")] = DEFAULT_PER_DOCUMENT,
    by: Annotated[By, typer.Option("--by", help="Rank passages, or documents by their best passage.")] = By.passage,
    dimension: Annotated[list[str] | None, typer.Option("--dimension", "-d", help="Only passages tagged with this dimension id (repeatable: any of them).")] = None,
    min_score: Annotated[float | None, typer.Option("--min-score", help="With --dimension: the tag's score must be at least this (0-1).")] = None,
    organization: Annotated[str | None, typer.Option("--organization", help="Only documents of this organization (exact, any case).")] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only documents naming this district.")] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only documents from this year on.")] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only documents up to this year.")] = None,
    doc_type: Annotated[str | None, typer.Option("--doc-type", help="Only documents of this type (exact, any case).")] = None,
    document: Annotated[str | None, typer.Option("--document", help="Only passages of this document id.")] = None,
    include_unknown: Annotated[bool, typer.Option("--include-unknown", help="Keep documents that lack a filtered field (no year, organization, district or type).")] = False,
    fusion: Annotated[Fusion, typer.Option("--fusion", help="Hybrid fusion: normalised scores (convex, weighted by --weight) or reciprocal rank (rrf).")] = Fusion(DEFAULT_FUSION),
    weight: Annotated[float, typer.Option("--weight", help="Convex fusion: the semantic share, 0-1.")] = 0.5,
    expand: Annotated[bool, typer.Option("--expand", help="Hybrid: when the best passages by meaning share few of the query's words, add their words to the terms side (helps questions phrased in other words).")] = False,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Search passages (or documents) by terms and by meaning, with filters applied first.

    With --json the first line is a summary (total, offset, limit, unknown, facets), then one hit a line.
    """
    from ..search import Filters, search_page  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    if expand and mode is not Mode.hybrid:
        raise typer.BadParameter("--expand works in hybrid mode only (it feeds the meaning side's passages to the terms side)")
    filters = Filters(
        dimensions=list(dimension or []),
        min_score=min_score,
        organization=organization,
        district=district,
        year_from=year_from,
        year_to=year_to,
        doc_type=doc_type,
        include_unknown=include_unknown,
        document_id=document,
    )
    settings, store, writable = _open_store(index_dir)
    with store:
        page = search_page(
            store,
            settings,
            query,
            mode=mode.value,
            limit=limit,
            offset=offset,
            per_document=per_document,
            by=by.value,
            filters=filters,
            fusion=fusion.value,
            weight=weight,
            auto_refresh=writable,
            facets=as_json,
            expand=expand,
        )
        if page.message:
            raise QueryError(page.message)
        _output(page.hits, as_json=as_json, as_csv=as_csv, query=query, page=page)


@app.command("similar")
def similar_cli(
    target_id: Annotated[str, typer.Argument(metavar="ID", help="A passage id (DOCID-p0003) or a document id.")],
    by: Annotated[By, typer.Option("--by", help="Find passages, or documents.")] = By.passage,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many results.")] = 10,
    dimension: Annotated[list[str] | None, typer.Option("--dimension", "-d", help="Only passages tagged with this dimension id (repeatable).")] = None,
    organization: Annotated[str | None, typer.Option("--organization", help="Only documents of this organization.")] = None,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Passages or documents closest in meaning to a stored passage or document."""
    from ..search import Filters, similar  # noqa: PLC0415

    check_output(as_json=as_json, as_csv=as_csv)
    filters = Filters(dimensions=list(dimension or []), organization=organization)
    settings, store, writable = _open_store(index_dir)
    with store:
        hits = similar(
            store, settings, target_id=target_id, by=by.value, limit=limit, filters=filters, auto_refresh=writable
        )
        _output(hits, as_json=as_json, as_csv=as_csv, query=None)


@bench_app.command("retrieval")
def bench_retrieval_cli(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")],
    mode: Annotated[list[Mode] | None, typer.Option("--mode", help="Modes to evaluate (repeatable) [default: all three].")] = None,
    split: Annotated[str, typer.Option("--split", help="Which qrels/<split>.tsv to score.")] = "test",
    cache: Annotated[Path | None, typer.Option("--cache", help="Store for the ingested corpus [default: INDEX_DIR/bench/<folder>].")] = None,
    index_dir: IndexDir = None,
    as_json: JsonFlag = False,
) -> None:
    """nDCG@10, Recall@100 and MRR@10 (ranx) and query latency per mode, ranking documents."""
    from ..bench import run_retrieval  # noqa: PLC0415

    settings = settings_for(index_dir)
    modes = [m.value for m in (mode or [Mode.bm25, Mode.semantic, Mode.hybrid])]
    result = run_retrieval(folder=folder, settings=settings, modes=modes, split=split, cache_dir=cache)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    rows = [
        {
            "mode": name,
            "nDCG@10": f"{r['ndcg@10']:.4f}",
            "Recall@100": f"{r['recall@100']:.4f}",
            "MRR@10": f"{r['mrr@10']:.4f}",
            "p50 ms": f"{r['latency_ms']['p50']:.1f}",
            "p95 ms": f"{r['latency_ms']['p95']:.1f}",
        }
        for name, r in result["modes"].items()
    ]
    emit(rows, title=f"{result['dataset']} ({result['split']}: {result['queries']} queries, {result['documents']} documents)")
