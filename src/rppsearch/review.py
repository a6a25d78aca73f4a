"""The human-in-the-loop review: a queue of passages, one reviewer's decisions, undo and resume.

The queue. Each passage's *uncertainty* is the largest, over dimensions, of
`1 − 2·|score − 0.5|`: the tagger calibrates its scores so that 0.5 is every dimension's
decision threshold, so a score of exactly 0.5 is a coin toss (uncertainty 1) and scores of 0
or 1 are sure (uncertainty 0). `order="uncertain"` (the default) shows the most uncertain
passages first; `"document"` goes through documents in id order, passage by passage;
`"random"` shuffles (with `seed`, reproducibly); `"active"` starts like `"uncertain"` and
retrains a light model on the stored passage vectors every `retrain_every` decisions,
re-ranking the rest of the queue by its uncertainty (`query="likely"`: by its largest
probability, which finds the relevant passages of a `dimension` sooner) and estimating, per
dimension, how many relevant passages are left (see `tag.active`). Passages the model never scored come last.
`dimension` narrows the queue to passages where the model suggests that dimension or scores
it within 0.25 of the threshold, ranked by that dimension's uncertainty; `document_ids`
narrows it to those documents.

Resume. Progress is the `labels` table itself, written after every decision. A passage is
finished for a reviewer once they skipped it or decided every dimension of the codebook on
its current text (accepting writes `accept` for the suggestions kept and `reject` for the
others); finished passages never come back for that reviewer, unfinished ones come back
with the decisions already made shown.

The suggestions a reviewer sees are always the model's (kept with the labels once a person
overrides the tag), never another reviewer's decisions, so that agreement between
reviewers means something.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import LabelError
from .store import Store
from .store import labels as labelstore
from .store import label_queries, label_rows

__all__ = [
    "ORDERS",
    "NEAR_MISS",
    "DimensionLine",
    "ReviewItem",
    "ReviewSession",
    "uncertainty",
    "decide",
    "undo_last",
    "reapply_decisions",
    "rollup",
]

ORDERS = ("uncertain", "document", "random", "active")
RETRAIN_EVERY = 10
QUERIES = ("uncertain", "likely")  # --order active: most uncertain first, or most likely to apply first
THRESHOLD = 0.5  # calibrated scores: 0.5 is each dimension's decision threshold
NEAR_MISS = 0.25  # `dimension=` also keeps passages scored within this of the threshold


def uncertainty(score: float) -> float:
    """1 at the decision threshold (score 0.5), 0 at a sure 0 or 1."""
    return max(0.0, 1.0 - 2.0 * abs(float(score) - THRESHOLD))


def rollup(store: Store, document_ids: Sequence[str]) -> int:
    """Re-roll the model's document tags of these documents from their passage tags (people's
    decisions included), so a decision on a passage shows in its document's tags at once.
    Nothing to do before a model exists. Returns the documents rolled up."""
    from .store.tags import active_model  # noqa: PLC0415

    docs = sorted(set(document_ids))
    model = active_model(store)
    if not docs or model is None:
        return 0
    from .tag.pipeline import rollup_documents  # noqa: PLC0415

    return rollup_documents(store, docs, model_version=model["version"])


def decide(
    store: Store,
    *,
    target: labelstore.Target,
    decisions: Sequence[tuple[str | None, str]],
    reviewer: str,
    note: str | None = None,
) -> list[int]:
    """Record one action's decisions on `target` (see `store.labels.record_decisions`) and roll
    up its document. Returns the new label ids."""
    with store.transaction():  # the decision and its document's roll-up land together or not at all
        ids = labelstore.record_decisions(store, target=target, decisions=decisions, reviewer=reviewer, note=note)
        if target.type == "passage":
            rollup(store, [target.document_id])
    return ids


def undo_last(store: Store, *, reviewer: str) -> list[labelstore.Label]:
    """Take back `reviewer`'s last action and roll up the document it touched."""
    with store.transaction():
        undone = labelstore.undo_last(store, reviewer=reviewer)
        if undone and undone[0].target_type == "passage":
            try:
                target = labelstore.resolve_target(store, undone[0].target_id, target_type="passage")
            except LabelError:
                return undone
            rollup(store, [target.document_id])
    return undone


def reapply_decisions(store: Store) -> dict[str, int]:
    """After a re-ingest: put people's decisions back on re-created passages with unchanged
    text, and roll up their documents. For `build`'s derived steps."""
    n, documents = labelstore.reapply_labels(store)
    if documents:
        rollup(store, documents)
    return {"reapplied": n, "documents": len(documents)}


@dataclass
class DimensionLine:
    """One codebook dimension as the reviewer sees it on a passage."""

    number: int  # 1-based position in the codebook: the key to press
    id: str
    name: str
    score: float | None  # the model's score (None: never scored)
    suggested: bool  # the model assigned it
    evidence: list[dict[str, Any]] = field(default_factory=list)
    mine: str | None = None  # this reviewer's decision in force: 'accept' | 'reject' | None

    @property
    def on(self) -> bool:
        """Shown as applying: accepted by me, or suggested and not rejected by me."""
        return self.mine == "accept" or (self.suggested and self.mine is None)

    @property
    def pending(self) -> bool:
        """A suggestion this reviewer has not decided yet."""
        return self.suggested and self.mine is None


@dataclass
class ReviewItem:
    """A passage on the review screen."""

    pk: int
    id: str
    document_id: str
    title: str
    heading: str
    text: str
    text_hash: str
    seq: int
    passage_count: int
    uncertainty: float | None
    dimensions: list[DimensionLine]
    skipped: bool = False
    note: str | None = None  # typed with `n`, saved with the next decision on this passage

    @property
    def target(self) -> labelstore.Target:
        return labelstore.Target("passage", self.id, self.document_id, self.text_hash, self.pk)

    @property
    def on(self) -> list[DimensionLine]:
        return [d for d in self.dimensions if d.on]

    @property
    def pending(self) -> list[DimensionLine]:
        return [d for d in self.dimensions if d.pending]

    def dimension(self, number: int) -> DimensionLine:
        for line in self.dimensions:
            if line.number == number:
                return line
        raise LabelError(f"no dimension number {number} (1–{len(self.dimensions)})")

    def evidence_spans(self) -> list[tuple[int, int]]:
        """Offsets of the evidence sentences of the dimensions shown as applying."""
        spans = set()
        for line in self.dimensions:
            if line.suggested or line.mine == "accept":
                for ev in line.evidence:
                    try:
                        start, end = int(ev["start"]), int(ev["end"])
                    except (KeyError, TypeError, ValueError):
                        continue
                    if 0 <= start < end <= len(self.text):
                        spans.add((start, end))
        return sorted(spans)


class ReviewSession:
    """One reviewer working through the queue. Every decision is saved at once."""

    def __init__(
        self,
        store: Store,
        *,
        reviewer: str,
        order: str = "uncertain",
        document_ids: Sequence[str] | None = None,
        dimension: str | None = None,
        seed: int | None = None,
        retrain_every: int = RETRAIN_EVERY,
        takeover: int | None = None,
        query: str = "uncertain",
    ) -> None:
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise LabelError("reviewer: a name is needed", hint="pass --reviewer NAME or set RPP_REVIEWER")
        if order not in ORDERS:
            raise LabelError(f"order {order!r}: use one of {', '.join(ORDERS)}")
        if retrain_every < 1:
            raise LabelError(f"--retrain-every {retrain_every}: give 1 or more decisions")
        if query not in QUERIES:
            raise LabelError(f"query {query!r}: use one of {', '.join(QUERIES)}")
        self.retrain_every = retrain_every
        self.query = query
        self.takeover = takeover
        self.learner = None  # tag.active.ActiveLearner with order="active"
        self.since_retrain = 0
        self.store = store
        self.reviewer = reviewer
        self.order = order
        self.codebook = labelstore.codebook(store)
        if not self.codebook:
            raise LabelError("the store has no codebook yet: nothing to review against", hint="run `rpp build` first")
        if dimension is not None:
            labelstore.check_dimension(store, dimension)
        self.dimension = dimension
        if document_ids:
            for doc in document_ids:
                labelstore.resolve_target(store, doc, target_type="document")
        self.document_ids = list(document_ids or [])
        self.queue, self.uncertainties = self._build_queue(seed)
        self.total = len(self.queue)
        if order == "active":
            self._start_active()
        progress = label_queries.reviewer_progress(store, reviewer=reviewer)
        ids = self._pk_to_id
        all_dims = {d["id"] for d in self.codebook}
        self.done: set[int] = {
            pk for pk in self.queue if ids[pk] in progress and (progress[ids[pk]][0] or all_dims <= progress[ids[pk]][1])
        }
        self.started_done = set(self.done)
        self.forced: int | None = None
        self.notes: dict[int, str] = {}

    # -- the queue -------------------------------------------------------------------
    def _build_queue(self, seed: int | None) -> tuple[list[int], dict[int, float | None]]:
        rows = label_queries.passage_candidates(
            self.store, document_ids=self.document_ids or None, dimension=self.dimension, threshold=THRESHOLD
        )
        self._pk_to_id = {r["pk"]: r["id"] for r in rows}
        if self.dimension is not None:
            rows = [r for r in rows if r["uncertainty"] is not None and (r["assigned"] or r["margin"] <= NEAR_MISS)]
        values = {r["pk"]: r["uncertainty"] for r in rows}
        if self.order == "uncertain":
            scored = [r for r in rows if r["uncertainty"] is not None]
            unscored = [r["pk"] for r in rows if r["uncertainty"] is None]
            # a stable sort keeps document order among equals
            ordered = [r["pk"] for r in sorted(scored, key=lambda r: -r["uncertainty"])] + unscored
        else:
            ordered = [r["pk"] for r in rows]
            if self.order == "random":
                random.Random(seed).shuffle(ordered)
        return ordered, values

    def _start_active(self) -> None:
        from .tag.active import TAKEOVER, ActiveLearner, prior_scores, stored_vectors  # noqa: PLC0415

        pks, vectors = stored_vectors(self.store, self.queue)
        dims = [d["id"] for d in self.codebook]
        self._active_pks = pks
        self._active_row = {pk: i for i, pk in enumerate(pks)}
        self.learner = ActiveLearner(
            dimensions=dims, vectors=vectors, priors=prior_scores(self.store, pks, dims),
            takeover=TAKEOVER if self.takeover is None else self.takeover,
        )
        self.retrain()

    def retrain(self) -> None:
        """Refit the light model on every decision in force and re-rank the rest of the queue."""
        if self.learner is None:
            return
        rows = {self._pk_to_id[pk]: i for pk, i in self._active_row.items()}
        decisions: dict[int, dict[str, bool]] = {}
        order = []
        for d in label_rows.human_decisions(self.store):
            i = rows.get(d.target_id)
            if i is not None and d.target_type == "passage":
                decisions.setdefault(i, {})[d.dimension_id] = d.accepted
                order.append((i, d.dimension_id, d.accepted))
        self.learner.fit(decisions, order=order)
        columns = None
        if self.dimension is not None:
            columns = [self.learner.dimensions.index(self.dimension)]
        values = self.learner.uncertainty(columns)
        key = values if self.query == "uncertain" else self.learner.likelihood(columns)
        ranked = sorted(range(len(self._active_pks)), key=lambda i: -key[i])
        with_vectors = [self._active_pks[i] for i in ranked]
        rest = [pk for pk in self.queue if pk not in self._active_row]
        self.queue = with_vectors + rest
        self.uncertainties.update({self._active_pks[i]: float(values[i]) for i in range(len(values))})
        self.since_retrain = 0

    def estimates(self) -> dict[str, Any]:
        """Per dimension id, the active model's stopping estimate (empty without --order active)."""
        return dict(self.learner.estimates) if self.learner is not None else {}

    def finished_here(self) -> int:
        """Passages finished in this session (undo takes them back)."""
        return len(self.done - self.started_done)

    def remaining(self) -> int:
        """Passages of the queue this reviewer has not finished."""
        return sum(1 for pk in self.queue if pk not in self.done)

    def current(self) -> ReviewItem | None:
        """The passage to show now: one brought back by undo, else the first unfinished in order."""
        if self.forced is not None:
            item = self.item(self.forced)
            if item is not None and not self._finished(item):
                return item
            self.forced = None
        for pk in self.queue:
            if pk not in self.done:
                item = self.item(pk)
                if item is not None:
                    return item
                self.done.add(pk)  # deleted meanwhile
        return None

    def item(self, pk: int) -> ReviewItem | None:
        """A passage with the model's suggestions and this reviewer's decisions on it."""
        view = label_queries.passage_view(self.store, pk)
        if view is None:
            return None
        target = labelstore.Target("passage", view["id"], view["document_id"], view["text_hash"], pk)
        mine = label_queries.reviewer_decisions(self.store, reviewer=self.reviewer, target=target)
        lines = []
        for number, dim in enumerate(self.codebook, start=1):
            suggestion = labelstore.model_suggestion(self.store, target, dim["id"])
            tag = view["tags"].get(dim["id"])
            label = mine.get(dim["id"])
            lines.append(
                DimensionLine(
                    number=number,
                    id=dim["id"],
                    name=dim["name"],
                    score=suggestion.score,
                    suggested=bool(suggestion.assigned),
                    evidence=list(tag["evidence"]) if tag else [],
                    mine=label.decision if label else None,
                )
            )
        item = ReviewItem(
            pk=pk,
            id=view["id"],
            document_id=view["document_id"],
            title=view["title"] or view["document_id"],
            heading=view["heading"] or "",
            text=view["text"],
            text_hash=view["text_hash"],
            seq=view["seq"],
            passage_count=view["passage_count"],
            uncertainty=self.uncertainties.get(pk),
            dimensions=lines,
            skipped=None in mine,
            note=self.notes.get(pk),
        )
        return item

    def _finished(self, item: ReviewItem) -> bool:
        return item.skipped or all(d.mine is not None for d in item.dimensions)

    def _after(self, item: ReviewItem) -> None:
        fresh = self.item(item.pk)
        if fresh is None or self._finished(fresh):
            self.done.add(item.pk)
            self.notes.pop(item.pk, None)
            if self.forced == item.pk:
                self.forced = None
        else:
            self.done.discard(item.pk)

    def _record(self, item: ReviewItem, decisions: list[tuple[str | None, str]]) -> list[int]:
        ids = decide(
            self.store, target=item.target, decisions=decisions, reviewer=self.reviewer, note=self.notes.get(item.pk)
        )
        self.notes.pop(item.pk, None)
        self._after(item)
        self.since_retrain += 1
        if self.learner is not None and self.since_retrain >= self.retrain_every:
            self.retrain()
            if item.pk not in self.done:
                self.forced = item.pk  # a passage half-decided stays on screen
        return ids

    # -- decisions -------------------------------------------------------------------
    def accept(self, item: ReviewItem) -> tuple[list[str], list[str]]:
        """Finish the passage: accept what is shown as applying, reject every other undecided dimension.

        Returns (accepted ids, rejected ids) written by this action.
        """
        accepted = [d.id for d in item.dimensions if d.pending]
        rejected = [d.id for d in item.dimensions if d.mine is None and not d.suggested]
        decisions = [(d, "accept") for d in accepted] + [(d, "reject") for d in rejected]
        if decisions:
            self._record(item, decisions)
        else:
            self._after(item)
        return accepted, rejected

    def reject(self, item: ReviewItem, dimension_id: str) -> None:
        """Reject one dimension on this passage (the passage stays on screen)."""
        self._record(item, [(dimension_id, "reject")])

    def add(self, item: ReviewItem, dimension_id: str) -> None:
        """Accept a dimension the model did not suggest (the passage stays on screen)."""
        self._record(item, [(dimension_id, "accept")])

    def skip(self, item: ReviewItem) -> None:
        """Leave the passage undecided; it will not come back for this reviewer."""
        self._record(item, [(None, "skip")])

    def set_note(self, item: ReviewItem, note: str) -> None:
        """Keep a note to save with the next decision on this passage."""
        note = note.strip()
        if note:
            self.notes[item.pk] = note
        else:
            self.notes.pop(item.pk, None)

    def undo(self) -> list[labelstore.Label]:
        """Take back this reviewer's last action; its passage is shown again next."""
        undone = undo_last(self.store, reviewer=self.reviewer)
        if undone and undone[0].target_type == "passage":
            pk = next((pk for pk, pid in self._pk_to_id.items() if pid == undone[0].target_id), None)
            if pk is None:
                try:
                    pk = labelstore.resolve_target(self.store, undone[0].target_id, target_type="passage").pk
                except LabelError:
                    pk = None
                if pk is not None:
                    self._pk_to_id[pk] = undone[0].target_id
            if pk is not None:
                self.done.discard(pk)
                self.forced = pk
                if undone[0].note and pk not in self.notes:
                    self.notes[pk] = undone[0].note  # the note goes back with the decision it came with
        return undone
