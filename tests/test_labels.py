"""People's decisions: they win over the model everywhere, undo restores exactly, hooks for training."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_support import (
    DOCS,
    build_store,
    document_dims,
    labels,
    make_document,
    passage_dims,
    tag_row,
    write_model_tags,
    SCORES,
)

from rppsearch.config import Settings
from rppsearch.errors import LabelError
from rppsearch.review import decide, reapply_decisions, undo_last
from rppsearch.search import Filters, search
from rppsearch.store import Store
from rppsearch.store import documents as docstore
from rppsearch.store import labels as labelstore
from rppsearch.store import label_rows


@pytest.fixture
def store(index_dir: Path):
    s = build_store(index_dir / "rpp.db")
    yield s
    s.close()


def target(store: Store, target_id: str) -> labelstore.Target:
    return labelstore.resolve_target(store, target_id)


def bm25_ids(store: Store, index_dir: Path, query: str, dims: list[str]) -> list[str]:
    hits = search(store, Settings(index_dir=index_dir), query=query, mode="bm25", filters=Filters(dimensions=dims))
    return [h.id for h in hits]


def test_accept_and_reject_win_over_the_model_in_tags_filters_and_documents(store: Store, index_dir: Path) -> None:
    # The model does not give the HR passage stewardship; a person adds it and rejects unit-reorganization.
    assert bm25_ids(store, index_dir, "human resources", ["stewardship"]) == []
    decide(store, target=target(store, "hr-redesign-p0000"), reviewer="ana",
           decisions=[("stewardship", "accept"), ("unit-reorganization", "reject")])
    assert tag_row(store, "hr-redesign-p0000", "stewardship") | {"evidence": None} == {
        "score": 1.0, "assigned": 1, "source": "human", "model_version": None, "evidence": None}
    assert tag_row(store, "hr-redesign-p0000", "unit-reorganization")["assigned"] == 0
    assert passage_dims(store, "hr-redesign-p0000") == ["stewardship"]
    assert bm25_ids(store, index_dir, "human resources", ["stewardship"]) == ["hr-redesign-p0000"]
    assert bm25_ids(store, index_dir, "human resources", ["unit-reorganization"]) == []
    # the document's tags are rolled up again from its (now human) passage tags
    assert document_dims(store, "hr-redesign") == ["stewardship"]


def test_a_document_decision_sets_a_human_document_tag(store: Store) -> None:
    decide(store, target=target(store, "data-cycles"), reviewer="ana", decisions=[("stewardship", "accept")])
    row = store.conn.execute(
        "SELECT assigned, source FROM document_tags WHERE document_id = 'data-cycles' AND dimension_id = 'stewardship'"
    ).fetchone()
    assert tuple(row) == (1, "human")
    assert "stewardship" in document_dims(store, "data-cycles")


def test_latest_decision_applies_and_undo_goes_back_step_by_step_to_the_model(store: Store) -> None:
    pid, dim = "coaching-p0000", "partnership-assistance"
    model_row = tag_row(store, pid, dim)
    assert model_row["source"] == "model" and model_row["assigned"] == 1
    decide(store, target=target(store, pid), reviewer="ana", decisions=[(dim, "accept")])
    decide(store, target=target(store, pid), reviewer="ben", decisions=[(dim, "reject")])
    assert tag_row(store, pid, dim)["assigned"] == 0  # ben decided last
    undone = undo_last(store, reviewer="ben")
    assert [(u.reviewer, u.decision) for u in undone] == [("ben", "reject")]
    assert tag_row(store, pid, dim)["assigned"] == 1 and tag_row(store, pid, dim)["source"] == "human"
    undo_last(store, reviewer="ana")
    assert tag_row(store, pid, dim) == model_row  # score, assigned, version and evidence all back
    assert labels(store) == []
    assert undo_last(store, reviewer="ana") == []


def test_undo_takes_back_a_whole_action_and_only_the_reviewers_own(store: Store) -> None:
    pid = "coaching-p0001"
    decide(store, target=target(store, pid), reviewer="ana", decisions=[("stewardship", "accept")])
    decide(store, target=target(store, "data-cycles-p0000"), reviewer="ben", decisions=[("evidence-use", "reject")])
    decide(store, target=target(store, pid), reviewer="ana",
           decisions=[("partnership-assistance", "accept"), ("learning-partnerships", "reject"), ("evidence-use", "reject")])
    undone = undo_last(store, reviewer="ana")
    assert sorted(u.dimension_id for u in undone) == ["evidence-use", "learning-partnerships", "partnership-assistance"]
    remaining = [(r["reviewer"], r["target_id"], r["dimension_id"]) for r in labels(store)]
    assert remaining == [("ana", pid, "stewardship"), ("ben", "data-cycles-p0000", "evidence-use")]
    assert passage_dims(store, pid) == ["partnership-assistance", "stewardship"]


def test_the_model_suggestion_stays_visible_after_a_person_overrides_it(store: Store) -> None:
    t = target(store, "coaching-p0000")
    before = labelstore.model_suggestion(store, t, "learning-partnerships")
    decide(store, target=t, reviewer="ana", decisions=[("learning-partnerships", "reject")])
    assert labelstore.model_suggestion(store, t, "learning-partnerships") == before
    assert before.assigned is True and before.score == pytest.approx(0.9) and before.model_version == "v1"
    row = labels(store)[0]
    assert (row["suggested_score"], row["suggested_assigned"], row["model_version"]) == (pytest.approx(0.9), 1, "v1")


def test_unknown_target_dimension_and_reviewer_are_clear_errors(store: Store) -> None:
    with pytest.raises(LabelError, match="unknown target 'nope-p0009'"):
        labelstore.resolve_target(store, "nope-p0009")
    t = target(store, "coaching-p0000")
    with pytest.raises(LabelError, match="unknown dimension 'leadership'"):
        decide(store, target=t, reviewer="ana", decisions=[("leadership", "accept")])
    with pytest.raises(LabelError, match="reviewer"):
        decide(store, target=t, reviewer="  ", decisions=[("stewardship", "accept")])
    with pytest.raises(LabelError, match="both accept and reject"):
        decide(store, target=t, reviewer="ana", decisions=[("stewardship", "accept"), ("stewardship", "reject")])
    assert labels(store) == []


def test_decisions_come_back_after_a_reingest_only_where_the_text_is_unchanged(store: Store) -> None:
    decide(store, target=target(store, "coaching-p0000"), reviewer="ana", decisions=[("stewardship", "accept")])
    decide(store, target=target(store, "coaching-p0001"), reviewer="ana", decisions=[("stewardship", "accept")])
    title, paragraphs = DOCS["coaching"]
    changed = [paragraphs[0], paragraphs[1] + " Supervisors also visit on Saturdays."]
    with store.transaction():
        docstore.replace_document(store, make_document("coaching", title, changed))
    write_model_tags(store, SCORES)  # the tagger tags the new passages
    assert "stewardship" not in passage_dims(store, "coaching-p0000")
    assert reapply_decisions(store) == {"reapplied": 1, "documents": 1}
    assert "stewardship" in passage_dims(store, "coaching-p0000")
    assert "stewardship" not in passage_dims(store, "coaching-p0001")  # its text changed
    assert reapply_decisions(store) == {"reapplied": 0, "documents": 0}


def test_training_examples_are_passages_whose_suggestions_were_all_decided(store: Store) -> None:
    # coaching-p0000: the model suggests learning-partnerships and partnership-assistance.
    decide(store, target=target(store, "coaching-p0000"), reviewer="ana", decisions=[("learning-partnerships", "accept")])
    assert label_rows.training_examples(store) == []  # partnership-assistance still undecided
    decide(store, target=target(store, "coaching-p0000"), reviewer="ben",
           decisions=[("partnership-assistance", "reject"), ("stewardship", "accept")])
    # hr-redesign-p0000: its one suggestion rejected, nothing else chosen -> an example with no labels
    decide(store, target=target(store, "hr-redesign-p0000"), reviewer="ana", decisions=[("unit-reorganization", "reject")])
    texts = {pid: store.conn.execute("SELECT text FROM passages WHERE id = ?", (pid,)).fetchone()[0]
             for pid in ("coaching-p0000", "hr-redesign-p0000")}
    assert label_rows.training_examples(store) == [  # in passage id order
        (texts["coaching-p0000"], ["learning-partnerships", "stewardship"]),
        (texts["hr-redesign-p0000"], []),
    ]


def test_human_decisions_carry_what_the_model_said(store: Store) -> None:
    decide(store, target=target(store, "data-cycles-p0000"), reviewer="ana",
           decisions=[("evidence-use", "accept"), ("stewardship", "accept")])
    decide(store, target=target(store, "data-cycles-p0000"), reviewer="ben", decisions=[("stewardship", "reject")])
    got = {(d.dimension_id, d.accepted, d.reviewer, d.suggested_assigned) for d in label_rows.human_decisions(store)}
    assert got == {("evidence-use", True, "ana", True), ("stewardship", False, "ben", False)}
