"""`rpp evaluate`'s agreement of the model with people is measured on what the model sees when
it tags a passage: its text, and its vector of document title, heading and text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from review_support import build_store

from rppsearch.config import Settings
from rppsearch.embed import get_encoder
from rppsearch.index.vectors import current_fingerprint, embed_missing
from rppsearch.review import decide
from rppsearch.store import Store
from rppsearch.store import labels as labelstore
from rppsearch.store.label_rows import human_decisions
from rppsearch.tag.evaluation import model_agreement
from rppsearch.tag.pipeline import passage_scores

TITLE_WORD = "inquiry"  # in the title "Inquiry cycles in Kestrel Bay", not in its passage's text


class TitleWordModel:
    """A stand-in tagger that assigns `evidence-use` when a passage's vector carries the
    direction of `TITLE_WORD`: it says yes to a passage seen with its document's title, no to
    the same text without it (the cut is halfway between the two, computed by the test)."""

    dimension_ids = ["evidence-use", "stewardship"]
    needs_vectors = True
    version = "title-word"
    kind = "test"

    def __init__(self, settings: Settings, cut: float) -> None:
        self.encoder_fingerprint = current_fingerprint(settings)
        self.direction = get_encoder(settings.embedding_model).encode([TITLE_WORD])[0]
        self.cut = cut

    def scores(self, texts: list[str], vectors: np.ndarray | None) -> np.ndarray:
        assert vectors is not None and len(vectors) == len(texts)
        yes = (vectors @ self.direction > self.cut).astype(np.float32)
        return np.stack([yes, np.zeros_like(yes)], axis=1)


@pytest.fixture
def store(index_dir: Path):
    s = build_store(index_dir / "rpp.db")
    yield s
    s.close()


def _passage(store: Store, passage_id: str) -> dict[str, Any]:
    row = store.conn.execute(
        "SELECT p.pk, p.text, d.title FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.id = ?",
        (passage_id,),
    ).fetchone()
    return dict(row)


def test_agreement_is_measured_on_what_the_tagger_scores(store: Store, index_dir: Path) -> None:
    settings = Settings(index_dir=index_dir, embedding_model="fake")
    encoder = get_encoder(settings.embedding_model)
    cycles, hr = _passage(store, "data-cycles-p0000"), _passage(store, "hr-redesign-p0000")
    assert TITLE_WORD in cycles["title"].lower() and TITLE_WORD not in cycles["text"].lower()
    direction = encoder.encode([TITLE_WORD])[0]
    with_title, text_only = encoder.encode([f"{cycles['title']}\n{cycles['text']}", cycles["text"]]) @ direction
    assert with_title > text_only  # the precondition: the title moves this model
    model = TitleWordModel(settings, cut=(with_title + text_only) / 2)

    # People accept evidence-use on the Kestrel Bay passage (whose title is about inquiry) and
    # reject it on the HR passage; tagging gives the first and not the second.
    decide(store, target=labelstore.resolve_target(store, "data-cycles-p0000"), reviewer="ana",
           decisions=[("evidence-use", "accept")])
    decide(store, target=labelstore.resolve_target(store, "hr-redesign-p0000"), reviewer="ana",
           decisions=[("evidence-use", "reject"), ("unit-reorganization", "accept")])
    tagged, _ = passage_scores(store, settings, model, pks=[cycles["pk"], hr["pk"]], texts=[cycles["text"], hr["text"]], save=False)
    assert tagged[:, 0].tolist() == [1.0, 0.0]

    decisions = [(d.passage_pk, d.dimension_id, d.accepted) for d in human_decisions(store)]
    assert {(pk, dim) for pk, dim, _ in decisions} == {
        (cycles["pk"], "evidence-use"), (hr["pk"], "evidence-use"), (hr["pk"], "unit-reorganization")}
    result = model_agreement(model, settings, store=store, decisions=decisions)
    assert result["n"] == 2  # a dimension the model does not know is left out
    assert result["agreement"] == 1.0
    assert result["dimensions"]["evidence-use"] == {"n": 2, "agree": 2, "model_only": 0, "human_only": 0, "agreement": 1.0}
    # measuring writes nothing; with the vectors stored (`rpp build`), it reads them: same answer
    assert store.conn.execute("SELECT count(*) FROM passage_vectors").fetchone()[0] == 0
    embed_missing(store, settings)
    assert model_agreement(model, settings, store=store, decisions=decisions) == result

    # a passage gone from the store (re-ingested away) no longer counts
    assert model_agreement(model, settings, store=store, decisions=[(10**9, "evidence-use", True)])["n"] == 0
