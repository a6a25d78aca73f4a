"""The decision log as rows for other tools: every label for export, and the decisions in force
as training examples (`rpp train`), as human decisions to evaluate a model against (`rpp evaluate`)
and as each reviewer's latest decisions for agreement.

Read-only; decisions are written by `store.labels`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import Store
from .label_queries import latest_by_reviewer
from .labels import LABEL_COLUMNS, Label, codebook

__all__ = [
    "HumanDecision",
    "iter_labels",
    "training_examples",
    "training_passages",
    "human_decisions",
    "disagreement_inputs",
]


@dataclass(frozen=True)
class HumanDecision:
    """The decision in force on a target and dimension, with what the model had said."""

    target_type: str
    target_id: str
    passage_pk: int  # the passage as stored now: what tagging scores (title, heading, text)
    document_id: str
    text: str
    dimension_id: str
    accepted: bool
    reviewer: str
    created_at: str
    model_version: str | None
    suggested_score: float | None
    suggested_assigned: bool | None


# -- export ------------------------------------------------------------------------------
def iter_labels(store: Store) -> Iterator[dict[str, Any]]:
    """Every label, oldest first, with the target's document id and text (passage text or title)."""
    cols = ", ".join("l." + c.strip() for c in LABEL_COLUMNS.split(","))
    sql = (
        f"SELECT {cols}, coalesce(p.document_id, d.id) AS document_id, "
        "coalesce(p.text, d.title) AS text FROM labels l "
        "LEFT JOIN passages p ON l.target_type = 'passage' AND p.id = l.target_id "
        "LEFT JOIN documents d ON l.target_type = 'document' AND d.id = l.target_id "
        "ORDER BY l.created_at, l.id"
    )
    for row in store.conn.execute(sql):
        item = dict(row)
        if item["suggested_assigned"] is not None:
            item["suggested_assigned"] = bool(item["suggested_assigned"])
        yield item



# -- hooks for training, evaluation and agreement -----------------------------------------
def _effective_passage_decisions(store: Store) -> dict[str, dict[str, Any]]:
    """Per passage id (current text): its pk, text and the decision in force per dimension."""
    out: dict[str, dict[str, Any]] = {}
    for row in store.conn.execute(
        "SELECT l.target_id, p.pk, p.document_id, p.text, l.dimension_id, l.decision, l.reviewer, l.created_at, "
        "l.model_version, l.suggested_score, l.suggested_assigned FROM labels l "
        "JOIN passages p ON p.id = l.target_id AND p.text_hash = l.target_hash "
        "WHERE l.target_type = 'passage' AND l.decision IN ('accept', 'reject') "
        "ORDER BY l.created_at, l.id"
    ):
        item = out.setdefault(row["target_id"], {"pk": row["pk"], "document_id": row["document_id"], "text": row["text"], "dims": {}})
        item["dims"][row["dimension_id"]] = dict(row)  # later rows win
    return out


def training_examples(store: Store) -> list[tuple[str, list[str]]]:
    """Passages people have decided, as (text, dimension ids accepted): `training_passages`
    without the passage pk."""
    return [(text, labels) for _, text, labels in training_passages(store)]


def training_passages(store: Store) -> list[tuple[int, str, list[str]]]:
    """Passages people have decided, as (passage pk, text, dimension ids accepted) for `rpp train`.

    A passage counts when every dimension the model suggested for it has a decision in force
    (the latest accept/reject by anyone, on the passage's current text) — what `rpp review`
    writes for each passage it finishes. Its labels are the dimensions accepted; every other
    dimension is a negative (people saw the suggestions and did not add it). Passages with a
    decision on only some of the model's suggestions are left out. Ids in codebook order; the
    pk is the passage as stored now (training encodes it as tagging does: title, heading, text).
    """
    order = {d["id"]: i for i, d in enumerate(codebook(store))}
    suggested: dict[str, set[str]] = {}
    for pid, dimension_id in store.conn.execute(
        "SELECT p.id, t.dimension_id FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk "
        "WHERE t.source = 'model' AND t.assigned = 1"
    ):
        suggested.setdefault(pid, set()).add(dimension_id)
    out: list[tuple[int, str, list[str]]] = []
    for pid, item in sorted(_effective_passage_decisions(store).items()):
        dims = item["dims"]
        model_yes = set(suggested.get(pid, set()))
        model_yes |= {d for d, r in dims.items() if r["suggested_assigned"]}
        if not model_yes <= set(dims):
            continue
        accepted = sorted(
            (d for d, r in dims.items() if r["decision"] == "accept" and d in order), key=order.__getitem__
        )
        out.append((int(item["pk"]), item["text"], accepted))
    return out


def human_decisions(store: Store) -> list[HumanDecision]:
    """The decision in force on every passage and dimension people decided (current text), oldest first.

    Each carries what the model had said (`suggested_assigned`, `suggested_score`,
    `model_version`), for `rpp evaluate`'s agreement of a model with people.
    """
    out: list[HumanDecision] = []
    for pid, item in _effective_passage_decisions(store).items():
        for dimension_id, r in item["dims"].items():
            out.append(
                HumanDecision(
                    target_type="passage",
                    target_id=pid,
                    passage_pk=item["pk"],
                    document_id=item["document_id"],
                    text=item["text"],
                    dimension_id=dimension_id,
                    accepted=r["decision"] == "accept",
                    reviewer=r["reviewer"],
                    created_at=r["created_at"],
                    model_version=r["model_version"],
                    suggested_score=r["suggested_score"],
                    suggested_assigned=None if r["suggested_assigned"] is None else bool(r["suggested_assigned"]),
                )
            )
    out.sort(key=lambda d: (d.created_at, d.target_id, d.dimension_id))
    return out


def disagreement_inputs(store: Store) -> tuple[list[Label], dict[tuple[str, str], str]]:
    """For agreement: each reviewer's latest decisions, and a short text per (target type, id)."""
    labels = latest_by_reviewer(store)
    texts: dict[tuple[str, str], str] = {}
    for row in store.conn.execute(
        "SELECT DISTINCT l.target_type, l.target_id, coalesce(p.text, d.title, '') FROM labels l "
        "LEFT JOIN passages p ON l.target_type = 'passage' AND p.id = l.target_id "
        "LEFT JOIN documents d ON l.target_type = 'document' AND d.id = l.target_id"
    ):
        texts[(row[0], row[1])] = row[2]
    return labels, texts
