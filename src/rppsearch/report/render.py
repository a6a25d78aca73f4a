"""Terminal output: the map as a rich table, a profile as text. rich loads when called."""

from __future__ import annotations

from typing import Any

from .matrix import EvidenceMap
from .profile import Profile

__all__ = ["print_map", "print_profile", "cell_text", "SIDE_WORDS"]

SIDE_WORDS = {
    "after": "the evidence is on the after side",
    "before": "the evidence is on the before side",
    "both": "the evidence is split between the two sides",
    "unclear": "no evidence sentence names either side",
}


def cell_text(documents: int, passages: int, confirmed: int) -> str:
    text = f"{documents}d {passages}p"
    return text + (f" ✓{confirmed}" if confirmed else "")


TRANSPOSE_AFTER = 6


def _markup(c: Any) -> str:
    text = cell_text(c.documents, c.passages, c.confirmed)
    if c.status == "gap":
        return "[bold red]GAP[/]"
    if c.status == "weak":
        return f"[yellow]{text} *[/]"
    return f"[green]{text}[/]"


def print_map(emap: EvidenceMap, *, console: Any = None) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = console or Console()
    by = {"doc_type": "document type"}.get(emap.by, emap.by)
    # Many columns do not fit a terminal: then one line per column and one column per dimension.
    transposed = len(emap.columns) > TRANSPOSE_AFTER
    title = f"Evidence and gap map: dimensions by {by}" + (f" (one line per {by})" if transposed else "")
    table = Table(title=title, show_lines=not transposed, title_justify="left")
    if transposed:
        table.add_column(f"{by} (documents)", overflow="fold", min_width=16, max_width=40)
        for i, _row in enumerate(emap.rows, start=1):
            table.add_column(f"D{i}", justify="center", no_wrap=True)
        for col in emap.columns:
            table.add_row(f"{col.label} ({col.documents})", *(_markup(emap.cell(row.id, col.key)) for row in emap.rows))
    else:
        table.add_column("dimension", overflow="fold", min_width=18, max_width=30)
        for col in emap.columns:
            table.add_column(f"{col.label} ({col.documents})", overflow="fold", justify="center", max_width=16)
        for row in emap.rows:
            table.add_row(row.name, *(_markup(emap.cell(row.id, col.key)) for col in emap.columns))
    console.print(table)
    if transposed:
        for i, row in enumerate(emap.rows, start=1):
            console.print(f"D{i} = {row.id}: {row.name}")
    gaps = sum(1 for c in emap.cells.values() if c.status == "gap")
    weak = sum(1 for c in emap.cells.values() if c.status == "weak")
    console.print(
        f"{len(emap.rows)} dimensions × {len(emap.columns)} columns: {gaps} gaps (GAP), {weak} weak (*). "
        "d = documents, p = passages, ✓ = passages people confirmed; column headers give the documents in each."
    )
    if emap.hidden_columns:
        console.print(f"{emap.hidden_columns} more columns with fewer documents are not shown (raise --max-cols).")
    console.print("A cell's passages: rpp evidence DIMENSION --by " + emap.by + " --value COLUMN  (or --json for each cell's command)")


def print_profile(profile: Profile, *, console: Any = None) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.markup import escape  # noqa: PLC0415

    console = console or Console()
    first, last = profile.years
    span = f", {first}–{last}" if first is not None and first != last else (f", {first}" if first is not None else "")
    n = len(profile.documents)
    console.print(f"[bold]{escape(profile.name)}[/] ({profile.kind}): {n} document{'s' * (n != 1)}{span}")
    for d in profile.dimensions:
        mark = {"none": "[bold red]none[/]", "weak": "[yellow]weak[/]", "some": "[green]some[/]", "strong": "[bold green]strong[/]"}[d.strength]
        years = "" if d.first_year is None else (f", {d.first_year}" if d.first_year == d.last_year else f", {d.first_year}–{d.last_year}")
        console.print(
            f"\n[bold]{escape(d.name)}[/]: {mark} — {d.documents} document{'s' * (d.documents != 1)}, "
            f"{d.passages} passage{'s' * (d.passages != 1)}"
            f"{years}; {d.confirmed} confirmed by people"
        )
        for s in d.sentences:
            who = " ✓" if s["confirmed"] else ""
            console.print(f"  • “{escape(s['text'])}” — {escape(s['title'])} ({s['year'] or 'n.d.'}){who}")
        for shift in d.shifts:
            c = shift["counts"]
            console.print(
                f"  shift: {escape(shift['before'])} → {escape(shift['after'])}\n"
                f"    {SIDE_WORDS[shift['verdict']]} ({c['after']} after, {c['before']} before, "
                f"{c['mixed']} mixed, {c['unplaced']} unplaced sentences)"
            )
    console.print("\n[bold]Gaps[/]")
    for gap in profile.gaps or ["None found: every dimension has evidence, and none stops before the newest documents."]:
        console.print(f"  • {escape(gap)}")
