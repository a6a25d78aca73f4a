"""HTML: the map's and the profile's view models (shared with the Datasette pages) and the
self-contained export pages (`rpp map --html`, `rpp profile --html`).

The export is one file with its CSS inline and no scripts: each map cell links to an anchor
further down the same page listing that cell's evidence passages. Everything the store holds
is escaped by jinja2's autoescape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..index.manifest import atomic_write
from ..store import Store
from .evidence import cell_passages
from .matrix import EvidenceMap, cell_command, documents_by_column
from .profile import Profile
from .render import SIDE_WORDS

__all__ = ["map_view", "profile_view", "write_map_html", "write_profile_html", "render_template", "LEVELS"]

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
LEVELS = 5
#: Passages listed per cell in the export page (the rest are counted, with the command).
EXPORT_PASSAGES = 25


def _level(documents: int, most: int) -> int:
    if documents <= 0:
        return 0
    return max(1, min(LEVELS, -(-documents * LEVELS // max(most, 1))))


def map_view(emap: EvidenceMap, href: Callable[[str, str | None], str]) -> dict[str, Any]:
    """Rows of cells ready for a template: counts, status, shade level 1–5, link, tooltip."""
    most = max([c.documents for c in emap.cells.values()] + [1])
    rows = []
    for row in emap.rows:
        cells = []
        for col in emap.columns:
            c = emap.cell(row.id, col.key)
            share = c.confirmed_share
            tip = (
                f"{row.name} × {col.label}: no evidence"
                if c.status == "gap"
                else f"{row.name} × {col.label}: {c.documents} documents, {c.passages} passages, "
                f"mean confidence {c.mean_confidence or 0:.2f}, {c.confirmed} confirmed by people"
                + (" (weak evidence)" if c.status == "weak" else "")
            )
            cells.append(
                {
                    "status": c.status,
                    "documents": c.documents,
                    "passages": c.passages,
                    "confirmed": c.confirmed,
                    "share": None if share is None else round(100 * share),
                    "mean": None if c.mean_confidence is None else round(c.mean_confidence, 2),
                    "level": _level(c.documents, most),
                    "href": href(row.id, col.key) if c.status != "gap" else None,
                    "title": tip,
                    "key": col.key,
                    "dimension_id": row.id,
                }
            )
        rows.append({"id": row.id, "name": row.name, "cells": cells})
    by = {"doc_type": "document type"}.get(emap.by, emap.by)
    return {
        "by": emap.by,
        "by_words": by,
        "columns": [{"key": c.key, "label": c.label, "documents": c.documents} for c in emap.columns],
        "rows": rows,
        "gaps": sum(1 for c in emap.cells.values() if c.status == "gap"),
        "weak": sum(1 for c in emap.cells.values() if c.status == "weak"),
        "hidden_columns": emap.hidden_columns,
        "min_documents": emap.min_documents,
        "filters": emap.filters.to_dict(),
    }


def profile_view(profile: Profile) -> dict[str, Any]:
    data = profile.to_dict()
    for dim in data["dimensions"]:
        for shift in dim["shifts"]:
            shift["words"] = SIDE_WORDS[shift["verdict"]]
    first, last = profile.years
    data["span"] = "" if first is None else (str(first) if first == last else f"{first}–{last}")
    return data


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape  # noqa: PLC0415

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))


def render_template(name: str, context: dict[str, Any]) -> str:
    return _environment().get_template(name).render(**context)


def _write(path: Path | str, text: str) -> Path:
    path = Path(path)
    with atomic_write(path) as handle:
        handle.write(text)
    return path


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def write_map_html(store: Store, emap: EvidenceMap, path: Path | str, *, per_cell: int = EXPORT_PASSAGES) -> Path:
    """One self-contained page: the map, then each non-empty cell's passages under an anchor."""
    anchors: dict[tuple[str, str | None], str] = {}
    for i, row in enumerate(emap.rows):
        for j, col in enumerate(emap.columns):
            anchors[(row.id, col.key)] = f"cell-{i}-{j}"
    view = map_view(emap, lambda dim, key: "#" + anchors[(dim, key)])
    names = {r.id: r.name for r in emap.rows}
    column_docs = documents_by_column(store, by=emap.by, filters=emap.filters)
    sections = []
    for row in emap.rows:
        for col in emap.columns:
            cell = emap.cell(row.id, col.key)
            if cell.status == "gap":
                continue
            passages = cell_passages(store, dimension=row.id, by=emap.by, value=col.key, filters=emap.filters,
                                     limit=per_cell, documents=column_docs.get(col.key, []))
            sections.append(
                {
                    "anchor": anchors[(row.id, col.key)],
                    "dimension": names[row.id],
                    "label": col.label,
                    "cell": cell,
                    "passages": [p.to_dict() for p in passages],
                    "more": max(0, cell.passages - len(passages)),
                    "command": cell_command(row.id, emap.by, col.key, emap.filters),
                }
            )
    context = {"map": view, "sections": sections, "generated": _stamp(), "database": str(store.path)}
    return _write(path, render_template("rpp_map_export.html", context))


def write_profile_html(profile: Profile, path: Path | str) -> Path:
    context = {"profile": profile_view(profile), "generated": _stamp(), "standalone": True}
    return _write(path, render_template("rpp_profile_export.html", context))
