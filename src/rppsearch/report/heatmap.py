"""The map as a heat map picture (PNG or SVG) with matplotlib.

Readable in grayscale: the colour scale is `viridis`'s reversed light-to-dark ramp (its
lightness changes monotonically, so grey prints keep the order), every cell is annotated with
its counts, gaps are white with a cross hatch and the word "gap", weak cells carry a diagonal
hatch. matplotlib is imported only here, with the Agg backend (no display needed).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..index.manifest import atomic_path
from .matrix import EvidenceMap

__all__ = ["write_heatmap"]

MAX_LABEL = 28


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def write_heatmap(emap: EvidenceMap, path: Path | str, *, title: str | None = None, dpi: int = 110) -> Path:
    """Draw `emap` to `path` (.png or .svg, by suffix) and return the path (write-then-rename)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.colors import Normalize  # noqa: PLC0415
    from matplotlib.patches import Patch, Rectangle  # noqa: PLC0415

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"{path}: the heat map is written as .png or .svg")
    n_rows, n_cols = len(emap.rows), len(emap.columns)
    most = max([c.documents for c in emap.cells.values()] + [1])
    cmap = plt.get_cmap("viridis_r")
    norm = Normalize(vmin=0, vmax=most)
    col_labels = [_short(c.label, MAX_LABEL) for c in emap.columns]
    longest = max((len(x) for x in col_labels), default=0)
    rotate = longest > 14 or longest * n_cols > 100
    width = min(2.8 + 1.15 * n_cols, 40)
    height = 1.9 + 0.75 * n_rows + (1.4 if rotate else 0.4)
    fig, ax = plt.subplots(figsize=(width, height), dpi=dpi)
    for i, row in enumerate(emap.rows):
        for j, col in enumerate(emap.columns):
            cell = emap.cell(row.id, col.key)
            if cell.status == "gap":
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor="white", edgecolor="0.55", hatch="xx", linewidth=0.6))
                ax.text(j + 0.5, i + 0.5, "gap", ha="center", va="center", fontsize=8, color="0.25",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
                continue
            rgba = cmap(norm(cell.documents))
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=rgba, edgecolor="white", linewidth=1.5))
            if cell.status == "weak":
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="0.5", hatch="//", linewidth=0, alpha=0.6))
            luminance = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
            ink = "black" if luminance > 0.5 else "white"
            label = f"{cell.documents} doc{'s' * (cell.documents != 1)}\n{cell.passages} pass."
            if cell.confirmed:
                label += f"\n✓ {cell.confirmed}"
            ax.text(j + 0.5, i + 0.5, label, ha="center", va="center", fontsize=7.5, color=ink,
                    bbox={"facecolor": rgba, "edgecolor": "none", "pad": 0.5} if cell.status == "weak" else None)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_xticks([j + 0.5 for j in range(n_cols)])
    ax.set_xticklabels(
        [f"{lab}\n({c.documents} docs)" for lab, c in zip(col_labels, emap.columns, strict=True)],
        rotation=40 if rotate else 0, ha="right" if rotate else "center", fontsize=8,
    )
    ax.set_yticks([i + 0.5 for i in range(n_rows)])
    ax.set_yticklabels([textwrap.fill(r.name, 30) for r in emap.rows], fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    bar = fig.colorbar(sm, ax=ax, fraction=0.035, pad=0.02)
    bar.set_label("documents with evidence", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    handles = [
        Patch(facecolor="white", edgecolor="0.55", hatch="xx", label="gap: no evidence"),
        Patch(facecolor="0.85", edgecolor="0.5", hatch="///", label=f"weak: < {emap.min_documents} documents or unconfirmed low scores"),
        Patch(facecolor="white", edgecolor="white", label="✓ n: passages confirmed by people"),
    ]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, frameon=False,
              ncol=3 if n_cols > 3 else 1, borderaxespad=0.2)
    by = {"doc_type": "document type"}.get(emap.by, emap.by)
    ax.set_title(title or f"Evidence and gap map: dimensions by {by}", fontsize=11, loc="left",
                 pad=24 if n_cols > 3 else 52)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp, plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
