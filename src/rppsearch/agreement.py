"""Agreement between reviewers who decided the same passages or documents.

What is compared. For each reviewer, the decisions in force are their latest accept/reject
per target and dimension (passages: on the passage's current text). A reviewer *reviewed*
a target when they have at least one such decision on it; for a reviewed target, their
value on a dimension is 1 when their decision in force is accept, and 0 when it is reject
or when they made no decision on that dimension (they saw the target and did not choose it).

The figures, per dimension, over the targets reviewed by two or more people:
- Cohen's kappa when exactly two reviewers are involved, Krippendorff's alpha (nominal,
  missing values allowed) when more are; None when undefined (everyone gave the same value);
- the number of targets and reviewers, and the share of targets on which all agreed;
- every disagreement: target, dimension, who accepted, who did not, and the decision in force.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .store import Store
from .store import labels as labelstore
from .store import label_rows

__all__ = [
    "DimensionAgreement",
    "Disagreement",
    "AgreementReport",
    "cohen_kappa",
    "krippendorff_alpha",
    "compute_agreement",
    "agreement",
]


@dataclass
class DimensionAgreement:
    """Agreement on one dimension."""

    dimension_id: str
    metric: str | None  # 'cohen_kappa' | 'krippendorff_alpha' | None (fewer than two reviewers)
    value: float | None
    n_items: int
    n_reviewers: int
    percent_agreement: float | None
    reviewers: list[str] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Disagreement:
    """A target and dimension on which reviewers differ."""

    target_type: str
    target_id: str
    dimension_id: str
    accepted_by: list[str]
    rejected_by: list[str]
    in_force: str | None  # the latest explicit decision (what the tag shows), or None: the model's
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AgreementReport:
    """Per-dimension agreement and the disagreements to reconcile."""

    dimensions: list[DimensionAgreement]
    disagreements: list[Disagreement]
    reviewers: list[str]
    n_shared_targets: int


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two raters' nominal values; None when undefined (chance agreement is 1)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa: the two raters need the same number of items")
    n = len(a)
    if n == 0:
        return None
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    categories = set(a) | set(b)
    expected = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in categories)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(matrix: Sequence[Sequence[float | None]]) -> float | None:
    """Krippendorff's alpha, nominal: rows are reviewers, columns targets, None where missing.

    None when undefined (fewer than two values in the data, or no target with two values).
    """
    import numpy as np  # noqa: PLC0415
    import krippendorff  # noqa: PLC0415

    data = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix], dtype=float)
    if data.size == 0:
        return None
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    values = data[:, pairable]
    if not pairable.any() or len(set(values[~np.isnan(values)].tolist())) < 2:
        return None
    try:
        alpha = float(krippendorff.alpha(reliability_data=values, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(alpha) else alpha


def compute_agreement(
    labels: Sequence[labelstore.Label],
    dimensions: Sequence[str],
    *,
    texts: dict[tuple[str, str], str] | None = None,
) -> AgreementReport:
    """Agreement from each reviewer's decisions in force (`labels`: latest per reviewer/target/dimension)."""
    texts = texts or {}
    # target -> reviewer -> dimension -> (value, created_at, id)
    by_target: dict[tuple[str, str], dict[str, dict[str, tuple[int, str, int]]]] = {}
    dims = list(dimensions)
    for label in labels:
        if label.decision not in ("accept", "reject") or label.dimension_id is None:
            continue
        key = (label.target_type, label.target_id)
        value = 1 if label.decision == "accept" else 0
        by_target.setdefault(key, {}).setdefault(label.reviewer, {})[label.dimension_id] = (
            value,
            label.created_at,
            label.id,
        )
        if label.dimension_id not in dims:
            dims.append(label.dimension_id)
    shared = {k: v for k, v in by_target.items() if len(v) >= 2}
    all_reviewers = sorted({r for v in shared.values() for r in v})
    results: list[DimensionAgreement] = []
    disagreements: list[Disagreement] = []
    for dim in dims:
        items = sorted(shared)
        reviewers = sorted({r for k in items for r in shared[k]})
        if not items:
            results.append(DimensionAgreement(dim, None, None, 0, 0, None, [], "no target decided by two reviewers"))
            continue
        values = {k: {r: shared[k][r].get(dim, (0, "", 0))[0] for r in shared[k]} for k in items}
        agreed = sum(1 for k in items if len(set(values[k].values())) == 1)
        percent = agreed / len(items)
        note = None
        if len(reviewers) == 2:
            a, b = reviewers
            value = cohen_kappa([values[k][a] for k in items], [values[k][b] for k in items])
            metric = "cohen_kappa"
        else:
            matrix = [[values[k].get(r) for k in items] for r in reviewers]
            value = krippendorff_alpha(matrix)
            metric = "krippendorff_alpha"
        if value is None:
            note = "undefined: every decision has the same value"
        results.append(DimensionAgreement(dim, metric, value, len(items), len(reviewers), percent, reviewers, note))
        for k in items:
            if len(set(values[k].values())) == 1:
                continue
            explicit = [shared[k][r][dim] for r in shared[k] if dim in shared[k][r]]
            latest = max(explicit, key=lambda x: (x[1], x[2])) if explicit else None
            disagreements.append(
                Disagreement(
                    target_type=k[0],
                    target_id=k[1],
                    dimension_id=dim,
                    accepted_by=sorted(r for r, v in values[k].items() if v == 1),
                    rejected_by=sorted(r for r, v in values[k].items() if v == 0),
                    in_force=None if latest is None else ("accept" if latest[0] == 1 else "reject"),
                    text=texts.get(k, ""),
                )
            )
    disagreements.sort(key=lambda d: (d.target_type, d.target_id, dims.index(d.dimension_id)))
    return AgreementReport(results, disagreements, all_reviewers, len(shared))


def agreement(store: Store) -> AgreementReport:
    """Agreement between the reviewers of this store (see the module docstring)."""
    labels, texts = label_rows.disagreement_inputs(store)
    dimensions = [d["id"] for d in labelstore.codebook(store)]
    return compute_agreement(labels, dimensions, texts=texts)
