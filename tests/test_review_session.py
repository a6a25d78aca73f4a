"""The review queue and a reviewer's session, without the screen: order, filters, resume, notes, undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import build_store, labels, passage_dims

from rppsearch.errors import LabelError
from rppsearch.review import ReviewSession, uncertainty
from rppsearch.store import Store

# Most uncertain first: the max over dimensions of 1 - 2|score - 0.5| per passage.
#   coaching-p0000 (0.55 -> 0.9), data-cycles-p0000 (0.35 -> 0.7), coaching-p0001 (0.3 -> 0.6),
#   hr-redesign-p0000 (0.97 -> 0.06)
UNCERTAIN_ORDER = ["coaching-p0000", "data-cycles-p0000", "coaching-p0001", "hr-redesign-p0000"]


@pytest.fixture
def store(index_dir: Path):
    s = build_store(index_dir / "rpp.db")
    yield s
    s.close()


def walk(session: ReviewSession) -> list[str]:
    """Skip through the whole queue, returning the passage ids in the order shown."""
    shown = []
    while (item := session.current()) is not None:
        shown.append(item.id)
        session.skip(item)
    return shown


def test_uncertainty_rule() -> None:
    assert uncertainty(0.5) == 1.0
    assert uncertainty(0.0) == uncertainty(1.0) == 0.0
    assert uncertainty(0.6) == pytest.approx(0.8) == uncertainty(0.4)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, UNCERTAIN_ORDER),
        ({"order": "document"}, ["coaching-p0000", "coaching-p0001", "data-cycles-p0000", "hr-redesign-p0000"]),
        ({"document_ids": ["coaching"]}, ["coaching-p0000", "coaching-p0001"]),
        # suggested (0.9, 0.3 is a near miss at 0.2 from the threshold) ranked by that dimension's uncertainty
        ({"dimension": "learning-partnerships"}, ["coaching-p0001", "coaching-p0000"]),
        ({"dimension": "unit-reorganization"}, ["hr-redesign-p0000"]),
    ],
)
def test_queue_order_and_filters(store: Store, kwargs: dict, expected: list[str]) -> None:
    assert walk(ReviewSession(store, reviewer="ana", **kwargs)) == expected


def test_random_order_is_reproducible_with_a_seed(store: Store) -> None:
    first = walk(ReviewSession(store, reviewer="ana", order="random", seed=7))
    for row in labels(store):
        store.conn.execute("DELETE FROM labels WHERE id = ?", (row["id"],))
    assert walk(ReviewSession(store, reviewer="ana", order="random", seed=7)) == first
    assert sorted(first) == sorted(UNCERTAIN_ORDER)


def test_accept_keeps_the_suggestions_and_rejects_the_rest(store: Store) -> None:
    session = ReviewSession(store, reviewer="ana")
    item = session.current()
    assert item.id == "coaching-p0000"
    assert [d.id for d in item.pending] == ["learning-partnerships", "partnership-assistance"]
    session.reject(item, "partnership-assistance")
    session.add(session.current(), "stewardship")
    still = session.current()
    assert still.id == "coaching-p0000"  # reject and add keep the passage on screen
    assert [d.id for d in still.on] == ["learning-partnerships", "stewardship"]
    accepted, rejected = session.accept(still)
    assert (accepted, rejected) == (["learning-partnerships"], ["unit-reorganization", "evidence-use"])
    decided = {(r["dimension_id"], r["decision"]) for r in labels(store)}
    assert decided == {("partnership-assistance", "reject"), ("stewardship", "accept"),
                       ("learning-partnerships", "accept"), ("unit-reorganization", "reject"), ("evidence-use", "reject")}
    assert passage_dims(store, "coaching-p0000") == ["learning-partnerships", "stewardship"]
    assert session.current().id == "data-cycles-p0000"


def test_a_new_session_resumes_and_shows_partial_decisions(store: Store) -> None:
    first = ReviewSession(store, reviewer="ana")
    first.accept(first.current())  # coaching-p0000 finished
    first.reject(first.current(), "evidence-use")  # data-cycles-p0000 half done
    again = ReviewSession(store, reviewer="ana")
    item = again.current()
    assert item.id == "data-cycles-p0000"
    assert {d.id: d.mine for d in item.dimensions if d.mine} == {"evidence-use": "reject"}
    assert again.remaining() == 3 and again.total == 4
    other = ReviewSession(store, reviewer="ben")  # another reviewer starts from the top
    assert other.current().id == "coaching-p0000"
    # ben sees the model's suggestion, not ana's decision
    assert [d.id for d in other.current().pending] == ["learning-partnerships", "partnership-assistance"]


def test_a_note_is_saved_with_the_next_decision_on_that_passage(store: Store) -> None:
    session = ReviewSession(store, reviewer="ana")
    item = session.current()
    session.set_note(item, "  coaching, but also caseloads  ")
    assert session.current().note == "coaching, but also caseloads"
    session.accept(session.current())
    notes = {r["note"] for r in labels(store)}
    assert notes == {"coaching, but also caseloads"}
    session.skip(session.current())
    assert labels(store)[-1]["note"] is None


def test_undo_brings_the_passage_back(store: Store) -> None:
    session = ReviewSession(store, reviewer="ana")
    session.accept(session.current())
    assert session.current().id == "data-cycles-p0000"
    undone = session.undo()
    assert {u.target_id for u in undone} == {"coaching-p0000"}
    item = session.current()
    assert item.id == "coaching-p0000" and all(d.mine is None for d in item.dimensions)
    assert labels(store) == []
    assert session.undo() == []


def test_bad_session_parameters(store: Store) -> None:
    with pytest.raises(LabelError, match="order 'sideways'"):
        ReviewSession(store, reviewer="ana", order="sideways")
    with pytest.raises(LabelError, match="unknown dimension 'coaching'"):
        ReviewSession(store, reviewer="ana", dimension="coaching")
    with pytest.raises(LabelError, match="unknown target 'no-such-doc'"):
        ReviewSession(store, reviewer="ana", document_ids=["no-such-doc"])
