"""Many decisions at once (imports of whole coded projects), with the rules of `store.labels`.

`record_decisions` costs some twenty statements per passage (it checks, snapshots the model's
reading and applies each decision one by one), which is right for a key press and slow for
10,000 passages. `record_bulk` writes the same rows with the same effect in a handful of
statements per chunk: the codebook checked once, the model's readings read in one pass,
the labels inserted with `executemany`, the decision in force per target and dimension
(the latest by `created_at`, then id, on the passage's current text) computed once after
the insert, the human tags written, and `dimensions` refreshed once. Passages only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LabelError
from . import Store
from .chunked import select_in
from .labels import DECISIONS, Suggestion, Target, codebook, model_suggestion, normalize_stamp, now_stamp
from .tags import refresh_dimensions

__all__ = ["Action", "record_bulk", "existing_keys"]


@dataclass(frozen=True)
class Action:
    """One person's decisions on one passage, stamped together."""

    target: Target
    decisions: Sequence[tuple[str | None, str]]
    reviewer: str
    note: str | None = None
    created_at: str | None = None


def existing_keys(store: Store, reviewers: Sequence[str]) -> set[tuple[str, str, str | None, str, str]]:
    """(reviewer, passage id, dimension, decision, created_at) of these reviewers' passage labels."""
    sql = (
        "SELECT reviewer, target_id, dimension_id, decision, created_at FROM labels "
        "WHERE target_type = 'passage' AND reviewer IN"
    )
    return {tuple(r) for r in select_in(store, sql, list(reviewers))}  # type: ignore[misc]


def record_bulk(store: Store, actions: Sequence[Action]) -> int:
    """Record every action's decisions in one transaction; return the labels written."""
    known = {d["id"] for d in codebook(store)}
    for act in actions:
        if act.target.type != "passage" or act.target.pk is None:
            raise LabelError(f"{act.target.id}: bulk decisions are for passages")
        if not (act.reviewer or "").strip():
            raise LabelError("reviewer: a name is needed")
        for dim, decision in act.decisions:
            if decision not in DECISIONS:
                raise LabelError(f"decision {decision!r}: use accept, reject or skip")
            if dim is None and decision != "skip":
                raise LabelError(f"{decision}: a dimension is needed")
            if dim is not None and dim not in known:
                raise LabelError(f"unknown dimension {dim!r}", hint=f"known ids: {', '.join(sorted(known))}")
    pks = sorted({a.target.pk for a in actions if a.target.pk is not None})
    model: dict[tuple[int, str], Suggestion] = {}
    human: set[tuple[int, str]] = set()
    sql = "SELECT passage_pk, dimension_id, score, assigned, source, model_version FROM passage_tags WHERE passage_pk IN"
    for pk, dim, score, assigned, source, version in select_in(store, sql, pks):
        if source == "model":
            model[(pk, dim)] = Suggestion(float(score), bool(assigned), version)
        else:
            human.add((pk, dim))
    rows = []
    touched: dict[tuple[int, str], Target] = {}
    with store.transaction():
        for act in actions:
            stamp = normalize_stamp(act.created_at) if act.created_at else now_stamp()
            note = (act.note or "").strip() or None
            t = act.target
            for dim, decision in act.decisions:
                s = Suggestion()
                if dim is not None:
                    key = (t.pk, dim)
                    s = model.get(key) or (model_suggestion(store, t, dim) if key in human else Suggestion())  # type: ignore[arg-type]
                    if decision != "skip":
                        touched[key] = t  # type: ignore[index]
                rows.append((t.type, t.id, t.text_hash, dim, decision, act.reviewer.strip(), note, s.model_version,
                             s.score, None if s.assigned is None else int(s.assigned), stamp))
        store.conn.executemany(
            "INSERT INTO labels (target_type, target_id, target_hash, dimension_id, decision, reviewer, note, "
            "model_version, suggested_score, suggested_assigned, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        ids = sorted({t.id for t in touched.values()})
        in_force: dict[tuple[str, str], str] = {}
        latest: dict[tuple[str, str], tuple[str, int]] = {}
        for r in select_in(store, "SELECT l.id, l.target_id, l.dimension_id, l.decision, l.created_at FROM labels l "
                                  "JOIN passages p ON p.id = l.target_id AND p.text_hash = l.target_hash "
                                  "WHERE l.target_type = 'passage' AND l.decision IN ('accept', 'reject') AND l.target_id IN",
                           ids):
            key = (r[1], r[2])
            rank = (r[4], r[0])
            if key not in latest or rank > latest[key]:  # type: ignore[operator]
                latest[key] = rank  # type: ignore[assignment]
                in_force[key] = r[3]
        upserts = []
        for (pk, dim), t in touched.items():
            decision = in_force.get((t.id, dim))
            if decision is None:
                continue
            accepted = decision == "accept"
            upserts.append((pk, dim, 1.0 if accepted else 0.0, int(accepted)))
        store.conn.executemany(
            "INSERT INTO passage_tags (passage_pk, dimension_id, score, assigned, source, model_version, evidence) "
            "VALUES (?, ?, ?, ?, 'human', NULL, '[]') ON CONFLICT(passage_pk, dimension_id) DO UPDATE SET "
            "score = excluded.score, assigned = excluded.assigned, source = 'human', model_version = NULL",
            upserts,
        )
        if touched:
            refresh_dimensions(store, passage_pks=sorted({pk for pk, _ in touched}))
    return len(rows)
