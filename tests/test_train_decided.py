"""People's decisions are learnt in the form they are tagged in: `rpp train` encodes a decided
passage as tagging does (document title, heading path, passage text), not as its bare text.

The fake encoder, wrapped to record what it is asked to encode; a real store, real training.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from test_tagger import CODEBOOK, SENTENCE, make_document, synthetic_examples

from rppsearch.config import Settings
from rppsearch.review import decide
from rppsearch.store import Store
from rppsearch.store import labels as labelstore
from rppsearch.store.documents import replace_document

TRUTH = {"fruit": ["fruit"], "vehicles": ["vehicles"], "weather": ["weather"]}


class Recorder:
    """The fake encoder, noting every text it encodes."""

    def __init__(self) -> None:
        from rppsearch.embed import get_encoder

        self.inner = get_encoder("fake")
        self.fingerprint, self.dim = self.inner.fingerprint, self.inner.dim
        self.seen: list[str] = []

    def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture
def decided_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A tagged store whose passages (in titled documents, under headings) people decided, and
    the encoder every training and tagging call goes through."""
    from rppsearch.tag import registry
    from rppsearch.tag.pipeline import tag_store

    codebook, labels = tmp_path / "toy.yaml", tmp_path / "toy.jsonl"
    codebook.write_text(CODEBOOK, encoding="utf-8")
    labels.write_text("".join(json.dumps({"text": t, "labels": ls}) + "\n" for t, ls in synthetic_examples()), encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "idx", embedding_model="fake")
    recorder = Recorder()
    monkeypatch.setattr("rppsearch.tag.registry.encoder_for", lambda settings: recorder)
    monkeypatch.setattr("rppsearch.tag.pipeline.encoder_for", lambda settings: recorder)
    registry._TRAINED.clear()
    with Store.open(settings.db_path) as store:
        registry.train_and_register(store, settings, taxonomy_path=codebook, label_files=[labels], features="average")
        with store.transaction():
            for dim in TRUTH:
                chapters = [(f"{dim.title()} notes", [SENTENCE[dim] + f" Item {i} was noted by the county office that week." for i in range(2)])]
                replace_document(store, make_document(f"county-{dim}-bulletin", chapters))
        tag_store(store, settings)
        for pid, doc in store.conn.execute("SELECT p.id, p.document_id FROM passages p ORDER BY p.pk").fetchall():
            dim = doc.split("-")[1]
            decide(store, target=labelstore.resolve_target(store, pid), reviewer="ana",
                   decisions=[(d, "accept" if d in TRUTH[dim] else "reject") for d in TRUTH])
    recorder.seen.clear()
    yield settings, codebook, labels, recorder
    registry._TRAINED.clear()


def _cli(settings: Settings, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from rppsearch.cli.main import main

    monkeypatch.setenv("RPP_HOME", str(settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["rpp", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _train_cli(settings: Settings, codebook: Path, labels: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    args = ["train", "--taxonomy", str(codebook), "--labels", str(labels), "--features", "average", "--no-tag", "-q"]
    return _cli(settings, args, monkeypatch)


def _drop_vectors(settings: Settings) -> None:
    """As in a store whose passages were never encoded (or were encoded by another model)."""
    with Store.open(settings.db_path) as store, store.transaction():
        store.conn.execute("DELETE FROM passage_vectors")


def test_rpp_train_encodes_decided_passages_as_tagging_does(decided_store, monkeypatch: pytest.MonkeyPatch) -> None:
    from rppsearch.tag.pipeline import passage_scores
    from rppsearch.tag.registry import load_active_model

    settings, codebook, labels, recorder = decided_store
    _drop_vectors(settings)
    assert _train_cli(settings, codebook, labels, monkeypatch) == 0
    trained = set(recorder.seen)
    recorder.seen.clear()
    with Store.open(settings.db_path) as store:
        model = load_active_model(store, settings)
        assert model.card["training"]["n_extra"] == 6 and model.card["training"]["n_encoded_in_context"] == 6
        rows = store.conn.execute("SELECT pk, text, title, heading FROM passages ORDER BY pk").fetchall()
        passage_scores(store, settings, model, pks=[r[0] for r in rows], texts=[r[1] for r in rows], save=False)
    tagged = list(recorder.seen)
    assert len(tagged) == len(rows) == 6
    for (_, text, title, heading), served in zip(rows, tagged):
        assert title and heading and title in served and heading in served and served != text
        assert served in trained, f"tagging encodes {served!r}, which training never encoded"
        assert text not in trained  # not the bare text: the old train/serve skew


def test_rpp_train_reuses_the_stored_vectors_tagging_scores(decided_store, monkeypatch: pytest.MonkeyPatch) -> None:
    from rppsearch.index.vectors import embedding_text
    from rppsearch.store import vectors as vstore
    from rppsearch.tag import registry
    from rppsearch.tag.pipeline import tagging_vectors

    settings, codebook, labels, recorder = decided_store
    used: dict[str, np.ndarray] = {}
    real = registry.cached_embed

    def recording(settings: Settings, encoder: object):  # noqa: ANN202
        embed = real(settings, encoder)

        def run(texts: list[str]) -> np.ndarray:
            out = embed(texts)
            used.update(zip(texts, out))
            return out

        return run

    monkeypatch.setattr(registry, "cached_embed", recording)
    assert _train_cli(settings, codebook, labels, monkeypatch) == 0
    with Store.open(settings.db_path) as store:
        model = registry.load_active_model(store, settings)
        rows = store.conn.execute("SELECT pk, text, title, heading FROM passages ORDER BY pk").fetchall()
        pks = [r[0] for r in rows]
        stored = vstore.get_vectors(store, pks, model=model.encoder_fingerprint)
        scored, encoded = tagging_vectors(store, settings, model, pks, save=False)
    assert encoded == 0
    for (_, text, title, heading), vector, served in zip(rows, stored, scored):
        assert text not in recorder.seen and embedding_text(title, heading, text) not in recorder.seen  # not encoded again
        np.testing.assert_array_equal(used[embedding_text(title, heading, text)], vector)
        np.testing.assert_array_equal(served, vector)
        assert text not in used


def test_rpp_evaluate_cross_validates_decided_passages_as_training_encodes_them(
    decided_store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rppsearch.index.vectors import embedding_text

    settings, codebook, labels, recorder = decided_store
    _drop_vectors(settings)
    capsys.readouterr()
    args = ["evaluate", "--taxonomy", str(codebook), "--labels", str(labels), "--features", "average", "--json"]
    assert _cli(settings, args, monkeypatch) == 0
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[0])  # it printed its result
    with Store.open(settings.db_path) as store:
        rows = store.conn.execute("SELECT text, title, heading FROM passages ORDER BY pk").fetchall()
    encoded = set(recorder.seen)
    assert all(embedding_text(title, heading, text) in encoded and text not in encoded for text, title, heading in rows)


def test_what_is_encoded_is_part_of_the_training_data_identity(decided_store) -> None:
    from rppsearch.tag.registry import train_and_register, training_data
    from rppsearch.taxonomy import examples_hash

    settings, codebook, labels, recorder = decided_store
    text = SENTENCE["fruit"] + " A passage people decided."
    bare = training_data(taxonomy_path=codebook, label_files=[labels], extra_examples=[(text, ["fruit"])])
    first = training_data(taxonomy_path=codebook, label_files=[labels], extra_examples=[(text, ["fruit"], "Farm news\n" + text)])
    retitled = training_data(taxonomy_path=codebook, label_files=[labels], extra_examples=[(text, ["fruit"], "Orchard diary\n" + text)])
    assert bare.hash == examples_hash(bare.examples)  # label-file data keeps its hash: no needless retraining
    assert len({bare.hash, first.hash, retitled.hash}) == 3
    # a model trained in this process is reused only for the same identity: a new title is encoded anew
    with Store.open(settings.db_path) as store:
        for data_title in ("Farm news", "Orchard diary"):
            recorder.seen.clear()
            train_and_register(store, settings, taxonomy_path=codebook, label_files=[labels],
                               extra_examples=[(text, ["fruit"], f"{data_title}\n{text}")], features="average")
            assert f"{data_title}\n{text}" in recorder.seen
