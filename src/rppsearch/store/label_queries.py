"""Reading the decision log for people: a reviewer's decisions and progress, the review queue's
candidates, a passage or document as review shows it, and whether a decision is already logged.

Read-only; decisions are written by `store.labels`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from . import Store
from .chunked import in_json
from .labels import LABEL_COLUMNS, Label, Target, codebook

__all__ = [
    "latest_by_reviewer",
    "reviewer_decisions",
    "reviewer_progress",
    "passage_candidates",
    "passage_view",
    "label_exists",
    "document_suggestions",
]


# -- reading decisions -------------------------------------------------------------------
def latest_by_reviewer(store: Store, *, current_only: bool = True) -> list[Label]:
    """Each reviewer's latest accept/reject per target and dimension (passages: on the current text)."""
    sql = (
        f"SELECT {', '.join('l.' + c.strip() for c in LABEL_COLUMNS.split(','))} FROM labels l "
        "WHERE l.decision IN ('accept', 'reject') AND l.id = (SELECT l2.id FROM labels l2 "
        " WHERE l2.reviewer = l.reviewer AND l2.target_type = l.target_type AND l2.target_id = l.target_id "
        " AND l2.dimension_id = l.dimension_id AND l2.decision IN ('accept', 'reject') "
        " ORDER BY l2.created_at DESC, l2.id DESC LIMIT 1)"
    )
    if current_only:
        sql += (
            " AND (l.target_type = 'document' OR EXISTS (SELECT 1 FROM passages p "
            " WHERE p.id = l.target_id AND p.text_hash = l.target_hash))"
        )
    return [Label.from_row(r) for r in store.conn.execute(sql + " ORDER BY l.target_type, l.target_id, l.id")]


def reviewer_decisions(store: Store, *, reviewer: str, target: Target) -> dict[str | None, Label]:
    """`reviewer`'s latest label per dimension on `target` (key None: a skip of the whole target)."""
    sql = f"SELECT {LABEL_COLUMNS} FROM labels WHERE reviewer = ? AND target_type = ? AND target_id = ?"
    params: list[Any] = [reviewer, target.type, target.id]
    if target.type == "passage":
        sql += " AND target_hash = ?"
        params.append(target.text_hash)
    out: dict[str | None, Label] = {}
    for row in store.conn.execute(sql + " ORDER BY created_at, id", params):
        label = Label.from_row(row)
        out[label.dimension_id if label.decision != "skip" else None] = label
    return out


def reviewer_progress(store: Store, *, reviewer: str) -> dict[str, tuple[bool, set[str]]]:
    """Per passage id this reviewer touched (current text): (skipped, dimensions decided)."""
    out: dict[str, tuple[bool, set[str]]] = {}
    for pid, dimension_id, decision in store.conn.execute(
        "SELECT l.target_id, l.dimension_id, l.decision FROM labels l "
        "JOIN passages p ON p.id = l.target_id AND p.text_hash = l.target_hash "
        "WHERE l.target_type = 'passage' AND l.reviewer = ?",
        (reviewer,),
    ):
        skipped, dims = out.get(pid, (False, set()))
        if decision == "skip":
            skipped = True
        elif dimension_id is not None:
            dims.add(dimension_id)
        out[pid] = (skipped, dims)
    return out


def passage_candidates(
    store: Store,
    *,
    document_ids: Sequence[str] | None = None,
    dimension: str | None = None,
    threshold: float = 0.5,
) -> list[dict[str, Any]]:
    """Passages to consider for review, in document order, with the model's reading summarised.

    Each: pk, id, document_id, seq; `uncertainty` = the largest `1 − 2·|score − threshold|`
    (floored at 0) over the passage's dimensions, or over `dimension` alone when given (None:
    never scored); `assigned` = the model assigned that dimension (any dimension without one);
    `margin` = the smallest |score − threshold|. The model's reading of a human-decided tag is
    the one kept with its latest label.
    """
    snapshot = (
        "(SELECT l.{col} FROM labels l WHERE l.target_type = 'passage' AND l.target_id = p.id "
        "AND l.dimension_id = t.dimension_id AND (l.suggested_score IS NOT NULL OR l.suggested_assigned IS NOT NULL) "
        "ORDER BY l.id DESC LIMIT 1)"
    )
    tag_filter = " AND t.dimension_id = ?" if dimension is not None else ""
    # the documents as one JSON parameter: any number of them in the one statement
    in_documents, documents_param = in_json(document_ids or [])
    where = f" WHERE p.document_id {in_documents}" if document_ids else ""
    sql = (
        "WITH eff AS (SELECT t.passage_pk AS pk, "
        f"CASE WHEN t.source = 'model' THEN t.score ELSE {snapshot.format(col='suggested_score')} END AS score, "
        f"CASE WHEN t.source = 'model' THEN t.assigned ELSE {snapshot.format(col='suggested_assigned')} END AS assigned "
        f"FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk WHERE 1 = 1{tag_filter}) "
        "SELECT p.pk, p.id, p.document_id, p.seq, "
        "max(max(0.0, 1.0 - 2.0 * abs(e.score - ?))) AS uncertainty, max(e.assigned) AS assigned, "
        "min(abs(e.score - ?)) AS margin "
        f"FROM passages p LEFT JOIN eff e ON e.pk = p.pk AND e.score IS NOT NULL{where} "
        "GROUP BY p.pk ORDER BY p.document_id, p.seq"
    )
    # parameters in the order they appear: the CTE's dimension, the two thresholds, the documents
    params = ([dimension] if dimension is not None else []) + [threshold, threshold] + ([documents_param] if document_ids else [])
    return [dict(r) for r in store.conn.execute(sql, params)]


def passage_view(store: Store, passage_pk: int) -> dict[str, Any] | None:
    """A passage with its document's title and its tag rows (evidence decoded) for display."""
    row = store.conn.execute(
        "SELECT p.pk, p.id, p.document_id, p.seq, p.heading, p.text, p.text_hash, "
        "coalesce(d.title, p.title, d.id) AS title, d.passage_count "
        "FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.pk = ?",
        (passage_pk,),
    ).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["tags"] = {}
    for tag in store.conn.execute(
        "SELECT dimension_id, score, assigned, source, model_version, evidence FROM passage_tags "
        "WHERE passage_pk = ?",
        (passage_pk,),
    ):
        item = dict(tag)
        try:
            item["evidence"] = json.loads(item["evidence"] or "[]")
        except json.JSONDecodeError:
            item["evidence"] = []
        out["tags"][item["dimension_id"]] = item
    return out



def label_exists(
    store: Store, *, target: Target, dimension_id: str | None, decision: str, reviewer: str, created_at: str
) -> bool:
    """Whether this exact decision is already in the log (so importing a file twice adds nothing)."""
    return (
        store.conn.execute(
            "SELECT 1 FROM labels WHERE target_type = ? AND target_id = ? AND dimension_id IS ? "
            "AND decision = ? AND reviewer = ? AND created_at = ? LIMIT 1",
            (target.type, target.id, dimension_id, decision, reviewer, created_at),
        ).fetchone()
        is not None
    )


def document_suggestions(store: Store, document_id: str) -> list[dict[str, Any]]:
    """Per codebook dimension, a document's tag and its best passage's evidence, strongest first.

    Each: dimension_id, name, score, assigned, n_passages, source, and `evidence` (the
    highest-scoring passage for it: passage_id, score, sentences). From `document_tags` when
    the document has been rolled up, else from its passage tags (max score, passages assigned).
    """
    conn = store.conn
    out: list[dict[str, Any]] = []
    for position, dim in enumerate(codebook(store)):
        tag = conn.execute(
            "SELECT score, assigned, n_passages, source FROM document_tags WHERE document_id = ? AND dimension_id = ?",
            (document_id, dim["id"]),
        ).fetchone()
        best = conn.execute(
            "SELECT p.id, t.score, t.evidence FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk "
            "WHERE p.document_id = ? AND t.dimension_id = ? ORDER BY t.assigned DESC, t.score DESC, p.seq LIMIT 1",
            (document_id, dim["id"]),
        ).fetchone()
        if tag is None and best is None:
            continue
        if tag is not None:
            score, assigned, n_passages, source = float(tag[0]), bool(tag[1]), int(tag[2]), tag[3]
        else:
            n_passages = conn.execute(
                "SELECT count(*) FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk "
                "WHERE p.document_id = ? AND t.dimension_id = ? AND t.assigned = 1",
                (document_id, dim["id"]),
            ).fetchone()[0]
            score, assigned, source = float(best[1]), n_passages > 0, "passages"
        evidence: dict[str, Any] | None = None
        if best is not None:
            try:
                sentences = json.loads(best[2] or "[]")
            except json.JSONDecodeError:
                sentences = []
            evidence = {"passage_id": best[0], "score": float(best[1]), "sentences": sentences}
        out.append(
            {
                "dimension_id": dim["id"],
                "name": dim["name"],
                "position": position,
                "score": score,
                "assigned": assigned,
                "n_passages": n_passages,
                "source": source,
                "evidence": evidence,
            }
        )
    out.sort(key=lambda r: (not r["assigned"], -r["score"], r["position"]))
    return out
