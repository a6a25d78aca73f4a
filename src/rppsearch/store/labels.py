"""Human decisions: the append-only `labels` log, and the human rows it puts in the tag tables.

Rules the rest of the code relies on:
- every decision (accept | reject | skip) is one `labels` row; one user action (a key press,
  one `rpp label` call) writes its rows with the same `created_at`, so undo takes it back whole;
- the tag a target carries for a dimension follows the *latest* accept/reject decision on it
  (by `created_at`, then id), whoever made it: accept -> `assigned=1, score=1.0`, reject ->
  `assigned=0, score=0.0`, `source='human'`, in `passage_tags` / `document_tags`;
- every label keeps the model's reading it overrode (`suggested_score`, `suggested_assigned`,
  `model_version`): when the last decision on a target/dimension is undone, the model's tag
  comes back exactly (the evidence column is never touched by a decision);
- passage decisions count only while the passage text is unchanged (`target_hash` = the
  passage's `text_hash`); after a re-ingest `reapply_labels` puts them back on passages whose
  text is the same. Document decisions survive edits of the document.
Only this module (and `labels_bulk` for whole imports) writes to `labels`. Writers open their
own transaction (nested ones become savepoints), so a failure leaves nothing half-done.
Reading the log for people and the review queue: `label_queries`; rows for export, training,
evaluation and agreement: `label_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import LabelError
from . import Store
from .documents import text_hash
from .tags import refresh_dimensions

__all__ = [
    "DECISIONS",
    "LABEL_COLUMNS",
    "TARGET_TYPES",
    "Target",
    "Suggestion",
    "Label",
    "now_stamp",
    "normalize_stamp",
    "resolve_target",
    "codebook",
    "check_dimension",
    "model_suggestion",
    "record_decisions",
    "undo_last",
    "reapply_labels",
]

DECISIONS = ("accept", "reject", "skip")
TARGET_TYPES = ("passage", "document")
LABEL_COLUMNS = (
    "id, target_type, target_id, target_hash, dimension_id, decision, reviewer, note, "
    "model_version, suggested_score, suggested_assigned, created_at"
)
_last_stamp: datetime | None = None


# -- records -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A passage or document that decisions are about."""

    type: str
    id: str
    document_id: str
    text_hash: str
    pk: int | None = None  # passages.pk for passages


@dataclass(frozen=True)
class Suggestion:
    """The model's reading of one target and dimension (all None: the model never tagged it)."""

    score: float | None = None
    assigned: bool | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class Label:
    """One row of `labels`."""

    id: int
    target_type: str
    target_id: str
    target_hash: str | None
    dimension_id: str | None
    decision: str
    reviewer: str
    note: str | None
    model_version: str | None
    suggested_score: float | None
    suggested_assigned: bool | None
    created_at: str

    @classmethod
    def from_row(cls, row: Any) -> "Label":
        values = list(row)
        if values[10] is not None:
            values[10] = bool(values[10])
        return cls(*values)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}




# -- time stamps -------------------------------------------------------------------------
def now_stamp() -> str:
    """UTC time with microseconds, strictly increasing within this process (one action, one stamp)."""
    global _last_stamp
    now = datetime.now(timezone.utc)
    if _last_stamp is not None and now <= _last_stamp:
        now = _last_stamp + timedelta(microseconds=1)
    _last_stamp = now
    return now.isoformat(timespec="microseconds")


def normalize_stamp(value: str) -> str:
    """An ISO 8601 time as UTC with microseconds (naive times are taken as UTC); ValueError if bad."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="microseconds")


# -- targets and the codebook ------------------------------------------------------------
def resolve_target(store: Store, target_id: str, *, target_type: str | None = None) -> Target:
    """The passage (`DOCID-p0003`) or document with this id; LabelError naming it when unknown."""
    if target_type not in (None, *TARGET_TYPES):
        raise LabelError(f"target type {target_type!r}: use passage or document")
    conn = store.conn
    if target_type in (None, "passage"):
        row = conn.execute(
            "SELECT pk, id, document_id, text_hash FROM passages WHERE id = ?", (target_id,)
        ).fetchone()
        if row is not None:
            return Target("passage", row["id"], row["document_id"], row["text_hash"], row["pk"])
    if target_type in (None, "document"):
        row = conn.execute("SELECT id, text FROM documents WHERE id = ?", (target_id,)).fetchone()
        if row is not None:
            return Target("document", row["id"], row["id"], text_hash(row["text"]))
    kind = target_type or "passage or document"
    raise LabelError(
        f"unknown target {target_id!r}: no {kind} with that id",
        hint="passage ids look like DOCID-p0003; `rpp search … --json` shows them",
    )


def codebook(store: Store) -> list[dict[str, Any]]:
    """The store's dimensions in codebook order: id, name, definition, taxonomy."""
    return [
        dict(r)
        for r in store.conn.execute(
            "SELECT id, name, definition, taxonomy FROM dimensions ORDER BY position, id"
        )
    ]


def check_dimension(store: Store, dimension_id: str) -> str:
    """`dimension_id` if the store's codebook has it, else LabelError naming it and the known ids."""
    known = [d["id"] for d in codebook(store)]
    if dimension_id not in known:
        if not known:
            raise LabelError(
                f"unknown dimension {dimension_id!r}: the store has no codebook yet",
                hint="run `rpp build` (or `rpp tag`) first",
            )
        raise LabelError(f"unknown dimension {dimension_id!r}", hint=f"known ids: {', '.join(known)}")
    return dimension_id


# -- the model's reading -----------------------------------------------------------------
def _tag_row(store: Store, target: Target, dimension_id: str) -> Any:
    if target.type == "passage":
        return store.conn.execute(
            "SELECT score, assigned, source, model_version FROM passage_tags "
            "WHERE passage_pk = ? AND dimension_id = ?",
            (target.pk, dimension_id),
        ).fetchone()
    return store.conn.execute(
        "SELECT score, assigned, source, model_version FROM document_tags "
        "WHERE document_id = ? AND dimension_id = ?",
        (target.id, dimension_id),
    ).fetchone()


def model_suggestion(store: Store, target: Target, dimension_id: str) -> Suggestion:
    """What the model says about `target` for `dimension_id`.

    The model's row when it is still in the tag table; when a person's decision replaced it,
    the model's reading kept with the latest label on that target and dimension.
    """
    row = _tag_row(store, target, dimension_id)
    if row is not None and row["source"] == "model":
        return Suggestion(float(row["score"]), bool(row["assigned"]), row["model_version"])
    label = store.conn.execute(
        "SELECT suggested_score, suggested_assigned, model_version FROM labels "
        "WHERE target_type = ? AND target_id = ? AND dimension_id = ? "
        "AND (suggested_score IS NOT NULL OR suggested_assigned IS NOT NULL) "
        "ORDER BY id DESC LIMIT 1",
        (target.type, target.id, dimension_id),
    ).fetchone()
    if label is None:
        return Suggestion()
    score, assigned, version = label
    return Suggestion(
        None if score is None else float(score), None if assigned is None else bool(assigned), version
    )


# -- applying decisions ------------------------------------------------------------------
def _effective(store: Store, target: Target, dimension_id: str) -> str | None:
    """The latest accept/reject on this target and dimension (passages: on the current text)."""
    sql = (
        "SELECT decision FROM labels WHERE target_type = ? AND target_id = ? AND dimension_id = ? "
        "AND decision IN ('accept', 'reject')"
    )
    params: list[Any] = [target.type, target.id, dimension_id]
    if target.type == "passage":
        sql += " AND target_hash = ?"
        params.append(target.text_hash)
    row = store.conn.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT 1", params).fetchone()
    return row[0] if row else None


def _write_human(store: Store, target: Target, dimension_id: str, accepted: bool) -> None:
    score, assigned = (1.0, 1) if accepted else (0.0, 0)
    if target.type == "passage":
        store.conn.execute(
            "INSERT INTO passage_tags (passage_pk, dimension_id, score, assigned, source, model_version, evidence) "
            "VALUES (?, ?, ?, ?, 'human', NULL, '[]') ON CONFLICT(passage_pk, dimension_id) DO UPDATE SET "
            "score = excluded.score, assigned = excluded.assigned, source = 'human', model_version = NULL",
            (target.pk, dimension_id, score, assigned),
        )
    else:
        store.conn.execute(
            "INSERT INTO document_tags (document_id, dimension_id, score, assigned, n_passages, source, model_version) "
            "VALUES (?, ?, ?, ?, 0, 'human', NULL) ON CONFLICT(document_id, dimension_id) DO UPDATE SET "
            "score = excluded.score, assigned = excluded.assigned, source = 'human', model_version = NULL",
            (target.id, dimension_id, score, assigned),
        )


def _restore_model(store: Store, target: Target, dimension_id: str, suggestion: Suggestion) -> None:
    """Put the model's reading back (or drop the row when the model never tagged it)."""
    table, key_col, key = (
        ("passage_tags", "passage_pk", target.pk) if target.type == "passage" else ("document_tags", "document_id", target.id)
    )
    if suggestion.score is None:
        store.conn.execute(
            f"DELETE FROM {table} WHERE {key_col} = ? AND dimension_id = ? AND source = 'human'",
            (key, dimension_id),
        )
        return
    assigned = suggestion.assigned if suggestion.assigned is not None else suggestion.score >= 0.5
    store.conn.execute(
        f"UPDATE {table} SET score = ?, assigned = ?, source = 'model', model_version = ? "
        f"WHERE {key_col} = ? AND dimension_id = ? AND source = 'human'",
        (suggestion.score, int(assigned), suggestion.model_version, key, dimension_id),
    )


def _apply(store: Store, target: Target, dimension_id: str, fallback: Suggestion) -> None:
    decision = _effective(store, target, dimension_id)
    if decision is None:
        _restore_model(store, target, dimension_id, fallback)
    else:
        _write_human(store, target, dimension_id, decision == "accept")


def _refresh(store: Store, targets: Sequence[Target]) -> None:
    pks = sorted({t.pk for t in targets if t.type == "passage" and t.pk is not None})
    docs = sorted({t.id for t in targets if t.type == "document"})
    if pks or docs:
        refresh_dimensions(store, passage_pks=pks, document_ids=docs)


def record_decisions(
    store: Store,
    *,
    target: Target,
    decisions: Sequence[tuple[str | None, str]],
    reviewer: str,
    note: str | None = None,
    created_at: str | None = None,
    target_hash: str | None = None,
) -> list[int]:
    """Record one action: (dimension id or None, decision) pairs on `target`; return the label ids.

    Dimensions are checked against the codebook; `skip` takes no dimension (or one). The
    tags follow the latest decision on each target/dimension and the `dimensions` columns
    are refreshed, all in one transaction. `target_hash` (imports) records a decision made on
    an earlier text of the passage: it is kept in the log but does not apply to the new text.
    """
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise LabelError("reviewer: a name is needed", hint="pass --reviewer NAME or set RPP_REVIEWER")
    if not decisions:
        raise LabelError("nothing to record: give at least one decision")
    seen: dict[str | None, str] = {}
    for dimension_id, decision in decisions:
        if decision not in DECISIONS:
            raise LabelError(f"decision {decision!r}: use accept, reject or skip")
        if dimension_id is None:
            if decision != "skip":
                raise LabelError(f"{decision}: a dimension is needed")
        else:
            check_dimension(store, dimension_id)
        if dimension_id in seen and seen[dimension_id] != decision:
            raise LabelError(f"{dimension_id}: both {seen[dimension_id]} and {decision} in one action")
        seen[dimension_id] = decision
    stamp = normalize_stamp(created_at) if created_at else now_stamp()
    note = (note or "").strip() or None
    ids: list[int] = []
    with store.transaction():
        for dimension_id, decision in seen.items():
            suggestion = model_suggestion(store, target, dimension_id) if dimension_id else Suggestion()
            cur = store.conn.execute(
                "INSERT INTO labels (target_type, target_id, target_hash, dimension_id, decision, reviewer, note, "
                "model_version, suggested_score, suggested_assigned, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    target.type,
                    target.id,
                    target_hash or target.text_hash,
                    dimension_id,
                    decision,
                    reviewer,
                    note,
                    suggestion.model_version,
                    suggestion.score,
                    None if suggestion.assigned is None else int(suggestion.assigned),
                    stamp,
                ),
            )
            ids.append(int(cur.lastrowid or 0))
            if dimension_id is not None and decision != "skip":
                _apply(store, target, dimension_id, suggestion)
        _refresh(store, [target])
    return ids


def undo_last(store: Store, *, reviewer: str) -> list[Label]:
    """Take back `reviewer`'s last action (every label it wrote); return them (empty: nothing to undo).

    Each target/dimension it touched goes back to the decision in force before it (an earlier
    decision by anyone), or to the model's tag when no decision is left.
    """
    conn = store.conn
    with store.transaction():
        last = conn.execute(
            f"SELECT {LABEL_COLUMNS} FROM labels WHERE reviewer = ? ORDER BY id DESC LIMIT 1", (reviewer,)
        ).fetchone()
        if last is None:
            return []
        rows = [
            Label.from_row(r)
            for r in conn.execute(
                f"SELECT {LABEL_COLUMNS} FROM labels WHERE reviewer = ? AND created_at = ? "
                "AND target_type = ? AND target_id = ? ORDER BY id",
                (reviewer, last["created_at"], last["target_type"], last["target_id"]),
            )
        ]
        try:
            target: Target | None = resolve_target(store, rows[0].target_id, target_type=rows[0].target_type)
        except LabelError:
            target = None  # the passage or document is gone: only the log rows remain to drop
        fallbacks = {}
        if target is not None:
            for label in rows:
                if label.dimension_id is not None:
                    fallbacks[label.dimension_id] = model_suggestion(store, target, label.dimension_id)
        conn.executemany("DELETE FROM labels WHERE id = ?", [(label.id,) for label in rows])
        if target is not None:
            for dimension_id, fallback in fallbacks.items():
                _apply(store, target, dimension_id, fallback)
            _refresh(store, [target])
    return rows


def reapply_labels(store: Store) -> tuple[int, list[str]]:
    """Put people's decisions back on passages re-created by a re-ingest with unchanged text.

    Ingest replaces a changed document's passages (and their tags); a decision made on a
    passage whose id and text are the same again applies again. Returns the number of tags
    rewritten and the documents they belong to. Cheap when nothing is missing: run it after tagging.
    """
    conn = store.conn
    rows = conn.execute(
        "SELECT p.pk, p.id, p.document_id, p.text_hash, l.dimension_id, l.decision FROM labels l "
        "JOIN passages p ON p.id = l.target_id AND p.text_hash = l.target_hash "
        "WHERE l.target_type = 'passage' AND l.decision IN ('accept', 'reject') "
        "AND l.id = (SELECT l2.id FROM labels l2 WHERE l2.target_type = 'passage' AND l2.target_id = l.target_id "
        "  AND l2.dimension_id = l.dimension_id AND l2.target_hash = l.target_hash "
        "  AND l2.decision IN ('accept', 'reject') ORDER BY l2.created_at DESC, l2.id DESC LIMIT 1) "
        "AND NOT EXISTS (SELECT 1 FROM passage_tags t WHERE t.passage_pk = p.pk "
        "  AND t.dimension_id = l.dimension_id AND t.source = 'human' "
        "  AND t.assigned = (l.decision = 'accept'))"
    ).fetchall()
    if not rows:
        return 0, []
    known = {d["id"] for d in codebook(store)}
    targets = []
    with store.transaction():
        for pk, pid, doc, digest, dimension_id, decision in rows:
            if dimension_id not in known:
                continue
            target = Target("passage", pid, doc, digest, pk)
            _write_human(store, target, dimension_id, decision == "accept")
            targets.append(target)
        _refresh(store, targets)
    return len(targets), sorted({t.document_id for t in targets})
