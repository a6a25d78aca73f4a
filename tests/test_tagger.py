"""The dimension tagger on a tiny synthetic codebook with the fake encoder (fast tier).

Real components throughout: scikit-learn training, spaCy sentences, a real SQLite store,
safetensors files; only the sentence encoder is the deterministic fake.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rppsearch.config import Settings
from rppsearch.errors import ModelError
from rppsearch.models import Block, Document, Metadata
from rppsearch.store import Store
from rppsearch.store import tags as tagstore
from rppsearch.store.documents import replace_document
from rppsearch.taxonomy import load_taxonomy

CODEBOOK = """\
name: toy
version: "1"
description: Fruit, vehicles and weather.
dimensions:
  - id: fruit
    name: Fruit
    definition: Passages about fruit, orchards and harvests of apples, pears and plums.
    include: [orchard work, ripe apples and pears]
    examples: [The orchard harvest of ripe apples began early., Plums and pears filled the baskets.]
  - id: vehicles
    name: Vehicles
    definition: Passages about cars, trucks, engines and driving on highways.
    include: [engines and brakes of trucks]
    examples: [The truck engine stalled on the highway., She checked the brakes before driving.]
  - id: weather
    name: Weather
    definition: Passages about rain, storms, snow, wind and forecasts.
    include: [storm and thunder forecasts]
    examples: [Heavy rain and thunder hit the valley., The forecast called for snow and wind.]
"""

WORDS = {
    "fruit": "apple apples orchard orchards harvest ripe pear pears plum plums juice peel basket".split(),
    "vehicles": "truck trucks engine engines brake brakes highway driver fuel garage tyre wheel".split(),
    "weather": "rain storm storms thunder forecast snow wind humid cloud clouds drizzle flood".split(),
}
FILLER = "the team said that this week many people in town talked about it and then went home again".split()

SENTENCE = {
    "fruit": "The orchard workers picked ripe apples and pears for the harvest basket.",
    "vehicles": "The driver heard the truck engine fail and pulled the brakes on the highway.",
    "weather": "A storm brought thunder, heavy rain and wind to the valley.",
}
OFF_TOPIC = "The committee met on Monday. Minutes were approved. Everyone went home after the meeting."


def _sentence(rng: random.Random, dims: list[str]) -> str:
    words = [rng.choice(FILLER) for _ in range(6)]
    for dim in dims:
        words += rng.sample(WORDS[dim], 4)
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def synthetic_examples(n_per: int = 14, seed: int = 7) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    out: list[tuple[str, list[str]]] = []
    dims = list(WORDS)
    for dim in dims:
        for _ in range(n_per):
            out.append((" ".join(_sentence(rng, [dim]) for _ in range(2)), [dim]))
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        for _ in range(4):
            out.append((_sentence(rng, [dims[a]]) + " " + _sentence(rng, [dims[b]]), sorted([dims[a], dims[b]])))
    for _ in range(12):
        out.append((_sentence(rng, []) + " " + _sentence(rng, []), []))
    return out


@pytest.fixture(scope="module")
def toy_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("toy")
    codebook = folder / "toy.yaml"
    codebook.write_text(CODEBOOK, encoding="utf-8")
    labels = folder / "toy.jsonl"
    labels.write_text("".join(json.dumps({"text": t, "labels": ls}) + "\n" for t, ls in synthetic_examples()), encoding="utf-8")
    return codebook, labels


@pytest.fixture(scope="module")
def toy_taxonomy(toy_files: tuple[Path, Path]):
    return load_taxonomy(toy_files[0])


@pytest.fixture(scope="module")
def fake_encoder():
    from rppsearch.embed import get_encoder

    return get_encoder("fake")


@pytest.fixture(scope="module")
def toy_model(toy_taxonomy, fake_encoder):
    """A model trained once on the synthetic examples (all feature variants cross-validated)."""
    from rppsearch.tag.training import train_model

    return train_model(taxonomy=toy_taxonomy, examples=synthetic_examples(), encoder=fake_encoder)


@pytest.fixture(scope="module")
def toy_average_model(toy_taxonomy, fake_encoder):
    """A model that uses both embeddings and TF-IDF (the `average` variant)."""
    from rppsearch.tag.training import train_model

    return train_model(taxonomy=toy_taxonomy, examples=synthetic_examples(), encoder=fake_encoder, features="average")


def fake_settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, embedding_model="fake")


def make_document(doc_id: str, paragraphs: list[str] | list[tuple[str, list[str]]]) -> Document:
    """A document from paragraphs, or from (heading, paragraphs) chapters."""
    from rppsearch.ingest.segment import split_passages

    blocks: list[Block] = []
    for item in paragraphs:
        if isinstance(item, tuple):
            blocks.append(Block(item[0], heading_level=1))
            blocks.extend(Block(p) for p in item[1])
        else:
            blocks.append(Block(item))
    text, passages = split_passages(blocks, min_words=5, max_words=60)
    return Document(
        id=doc_id, path=f"/corpus/{doc_id}.txt", format="txt", text=text, content_hash=str(hash(text)),
        metadata=Metadata(title=doc_id), passages=passages,
    )


@pytest.fixture
def toy_store(index_dir: Path, toy_files: tuple[Path, Path]):
    """A store with an active model trained on the toy codebook (TF-IDF + embedding average)."""
    from rppsearch.tag.registry import train_and_register

    settings = fake_settings(index_dir)
    store = Store.open(settings.db_path)
    train_and_register(store, settings, taxonomy_path=toy_files[0], label_files=[toy_files[1]], features="average")
    yield store, settings
    store.close()


# -- metrics ------------------------------------------------------------------------------------
def test_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    from rppsearch.tag.metrics import per_dimension_metrics

    rng = np.random.default_rng(0)
    Y = rng.random((60, 3)) < 0.4
    P = rng.random((60, 3)) < 0.4
    ours = per_dimension_metrics(Y, P, ["a", "b", "c"])
    p, r, f, s = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    assert [d["precision"] for d in ours["dimensions"]] == pytest.approx(p)
    assert [d["recall"] for d in ours["dimensions"]] == pytest.approx(r)
    assert [d["f1"] for d in ours["dimensions"]] == pytest.approx(f)
    assert [d["support"] for d in ours["dimensions"]] == list(s)
    assert ours["macro_f1"] == pytest.approx(f1_score(Y, P, average="macro", zero_division=0))
    assert ours["micro_f1"] == pytest.approx(f1_score(Y, P, average="micro", zero_division=0))


def test_confusion_and_agreement_by_hand() -> None:
    from rppsearch.tag.metrics import agreement_with_decisions, confusion_summary

    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=bool)
    P = np.array([[1, 1], [0, 1], [0, 1], [1, 0]], dtype=bool)
    confusion = confusion_summary(Y, P, ["a", "b"])
    assert confusion == {"a": {"b": 2}, "b": {"a": 0}, "(none)": {"a": 1, "b": 0}}
    agreement = agreement_with_decisions([("a", True, True), ("a", True, False), ("b", False, True), ("b", False, False)], ["a", "b"])
    assert agreement["n"] == 4 and agreement["agreement"] == 0.5
    assert agreement["dimensions"]["a"] == {"n": 2, "agree": 1, "model_only": 1, "human_only": 0, "agreement": 0.5}
    assert agreement["dimensions"]["b"]["human_only"] == 1


def test_folds_are_stratified_and_deterministic() -> None:
    from rppsearch.tag.metrics import multilabel_folds

    rng = np.random.default_rng(1)
    Y = rng.random((200, 4)) < np.array([0.05, 0.2, 0.4, 0.1])
    folds = multilabel_folds(Y, 5, seed=3)
    assert np.array_equal(folds, multilabel_folds(Y, 5, seed=3))
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 2
    for j in range(4):
        per_fold = np.bincount(folds[Y[:, j]], minlength=5)
        assert per_fold.max() - per_fold.min() <= 2, (j, per_fold)


def test_thresholds_maximise_f1() -> None:
    from rppsearch.tag.metrics import best_thresholds

    proba = np.array([[0.1], [0.3], [0.35], [0.8], [0.9]])
    Y = np.array([[0], [0], [1], [1], [1]])
    t = best_thresholds(proba, Y)[0]
    assert 0.3 < t <= 0.35


# -- training and scoring -----------------------------------------------------------------------
def test_training_reports_cross_validation_for_every_variant(toy_model) -> None:
    metrics = toy_model.card["metrics"]
    assert set(metrics["variants"]) == {"embedding", "tfidf", "concat", "average"}
    assert metrics["selected"] == toy_model.features
    cv = metrics["cv"]
    assert [d["dimension"] for d in cv["dimensions"]] == ["fruit", "vehicles", "weather"]
    assert cv["macro_f1"] >= 0.8  # the synthetic topics are clearly separable
    assert all(d["support"] >= 14 for d in cv["dimensions"])


def test_scores_pick_the_right_dimension(toy_model, fake_encoder) -> None:
    texts = [SENTENCE["fruit"], SENTENCE["vehicles"], SENTENCE["weather"], OFF_TOPIC]
    scores = toy_model.scores(texts, fake_encoder.encode(texts))
    assert scores.shape == (4, 3)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert list(scores[:3].argmax(axis=1)) == [0, 1, 2]
    assert (scores[[0, 1, 2], [0, 1, 2]] >= 0.5).all()
    assert (scores[3] < 0.5).all()


def test_calibration_puts_each_threshold_at_one_half() -> None:
    from rppsearch.tag.classifier import calibrate

    t = np.array([0.2, 0.7])
    out = calibrate(np.array([[0.2, 0.7], [0.1, 0.35], [1.0, 1.0], [0.0, 0.0]]), t)
    assert out[0] == pytest.approx([0.5, 0.5])
    assert out[1] == pytest.approx([0.25, 0.25])
    assert out[2] == pytest.approx([1.0, 1.0]) and out[3] == pytest.approx([0.0, 0.0])


def test_too_few_examples_for_a_dimension_is_a_clear_error(toy_taxonomy, fake_encoder) -> None:
    from rppsearch.errors import TaxonomyError
    from rppsearch.tag.training import train_model

    examples = [e for e in synthetic_examples() if "weather" not in e[1]][:40] + [("rain storm", ["weather"])]
    with pytest.raises(TaxonomyError, match=r"too few labelled examples for weather \(1\)"):
        train_model(taxonomy=toy_taxonomy, examples=examples, encoder=fake_encoder, features="tfidf")


def test_tfidf_model_needs_no_encoder(toy_taxonomy) -> None:
    from rppsearch.tag.training import train_model

    model = train_model(taxonomy=toy_taxonomy, examples=synthetic_examples(), encoder=None)
    assert model.features == "tfidf" and not model.needs_vectors
    scores = model.scores([SENTENCE["weather"]])
    assert scores[0].argmax() == 2


# -- zero-shot ----------------------------------------------------------------------------------
def test_zero_shot_fallback_without_examples(toy_taxonomy, fake_encoder) -> None:
    from rppsearch.tag.training import train_model

    model = train_model(taxonomy=toy_taxonomy, examples=[], encoder=fake_encoder)
    assert model.kind == "zero-shot" and model.needs_vectors
    texts = [
        "Ripe apples and pears from the orchard harvest.",
        "The truck engine and brakes failed on the highway.",
        "A forecast of storm, thunder and heavy rain with wind.",
        "Minutes of the committee were approved on Monday.",
    ]
    scores = model.scores(texts, fake_encoder.encode(texts))
    assert list(scores[:3].argmax(axis=1)) == [0, 1, 2]
    assert (np.diag(scores[:3]) >= 0.5).all()
    assert (scores[3] < 0.5).all()
    # more of a dimension's vocabulary raises its score; a text far from every dimension is gated off
    mixed = ["Minutes were approved. The storm brought rain.", "Minutes were approved. The storm brought rain, thunder, snow and wind."]
    pair = model.scores(mixed, fake_encoder.encode(mixed))
    assert pair[1, 2] > pair[0, 2]
    far = ["Zyx qwv plok."]
    assert (model.scores(far, fake_encoder.encode(far)) < 0.5).all()


# -- evidence -----------------------------------------------------------------------------------
def test_evidence_points_at_the_sentences_that_carry_the_tag(toy_model, fake_encoder) -> None:
    from rppsearch.tag.evidence import evidence_for_passages

    text = f"{OFF_TOPIC} {SENTENCE['weather']} The chairs were stacked. {SENTENCE['fruit']}"
    scores = toy_model.scores([text], fake_encoder.encode([text]))
    assigned = {d for d, s in zip(toy_model.dimension_ids, scores[0]) if s >= 0.5}
    assert {"weather", "fruit"} <= assigned
    for mode in ("tfidf", "embedding"):
        found = evidence_for_passages(toy_model, [text], scores, encoder=fake_encoder, mode=mode)[0]
        assert set(found) == assigned
        for dim in ("weather", "fruit"):
            sentences = found[dim]
            assert 1 <= len(sentences) <= 3
            for ev in sentences:
                assert text[ev.start : ev.end] == ev.text
            assert max(sentences, key=lambda e: e.score).text == SENTENCE[dim]


# -- roll-up ------------------------------------------------------------------------------------
def test_rollup_lets_one_chapter_carry_a_long_document() -> None:
    from rppsearch.tag.rollup import rollup

    n = 40
    scores = np.full((n, 3), 0.1)
    scores[:, 0] = 0.8  # the report is mostly about dimension 0
    scores[30:35, 2] = [0.9, 0.85, 0.8, 0.7, 0.6]  # one chapter on dimension 2
    scores[12, 1] = 0.95  # one stray passage on dimension 1
    score, assigned, support = rollup(scores)
    assert assigned.tolist() == [True, False, True]
    assert support.tolist() == [40, 1, 5]
    # a mean over every passage (0.12 here) would have drowned the chapter
    assert score[2] > 0.5 > score[1]


def test_rollup_of_short_documents() -> None:
    from rppsearch.tag.rollup import rollup

    score, assigned, support = rollup(np.array([[0.7, 0.2]]))
    assert assigned.tolist() == [True, False] and support.tolist() == [1, 0]
    score, assigned, _ = rollup(np.zeros((0, 2)))
    assert not assigned.any()


# -- persistence --------------------------------------------------------------------------------
def _save(model, taxonomy, folder: Path, version: str = "v1") -> Path:
    from rppsearch.tag.persist import save_model

    return save_model(model, models_dir=folder, version=version, taxonomy=taxonomy, training={"hash": "h", "n_examples": 1})


def test_round_trip_gives_the_same_scores_and_evidence(tmp_path: Path, toy_average_model, toy_taxonomy, fake_encoder) -> None:
    from rppsearch.tag.evidence import evidence_for_passages
    from rppsearch.tag.persist import load_model

    toy_model = toy_average_model
    folder = _save(toy_model, toy_taxonomy, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["codebook.json", "model.json", "tfidf.json", "weights.safetensors"]
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())
    card = json.loads((folder / "model.json").read_text())
    for key in ("version", "created_at", "kind", "codebook", "training", "encoder", "settings", "thresholds", "metrics", "files"):
        assert key in card
    assert card["codebook"]["hash"] == toy_taxonomy.hash and card["encoder"] == "fake@384"
    loaded = load_model(folder, taxonomy=toy_taxonomy, encoder_fingerprint="fake@384")
    texts = [SENTENCE["fruit"], SENTENCE["vehicles"] + " " + SENTENCE["weather"], OFF_TOPIC]
    vectors = fake_encoder.encode(texts)
    np.testing.assert_allclose(loaded.scores(texts, vectors), toy_model.scores(texts, vectors), atol=1e-6)
    a = evidence_for_passages(toy_model, texts, toy_model.scores(texts, vectors))
    b = evidence_for_passages(loaded, texts, loaded.scores(texts, vectors))
    assert a == b


def test_zero_shot_round_trip(tmp_path: Path, toy_taxonomy, fake_encoder) -> None:
    from rppsearch.tag.classifier import zeroshot_model
    from rppsearch.tag.persist import load_model

    model = zeroshot_model(taxonomy=toy_taxonomy, encoder=fake_encoder)
    loaded = load_model(_save(model, toy_taxonomy, tmp_path))
    vectors = fake_encoder.encode([SENTENCE["weather"], OFF_TOPIC])
    np.testing.assert_allclose(loaded.scores(["a", "b"], vectors), model.scores(["a", "b"], vectors), atol=1e-6)


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda f: (f / "weights.safetensors").write_bytes((f / "weights.safetensors").read_bytes()[:100]), "weights.safetensors: model file is corrupt"),
        (lambda f: (f / "tfidf.json").unlink(), "tfidf.json: model file is missing"),
        (lambda f: (f / "model.json").write_text("{not json"), "model.json: model card is corrupt"),
        (lambda f: (f / "model.json").unlink(), "model.json: model card is missing"),
        (lambda f: (f / "codebook.json").write_text("[]"), "codebook.json: model file is corrupt"),
        (lambda f: _edit_card(f, format=99), "model format 99 is not supported"),
        (lambda f: _edit_card(f, features="magic"), "unknown model kind"),
    ],
)
def test_damaged_model_files_give_a_model_error(tmp_path: Path, toy_model, toy_taxonomy, damage, needle: str) -> None:
    from rppsearch.tag.persist import load_model

    folder = _save(toy_model, toy_taxonomy, tmp_path)
    damage(folder)
    with pytest.raises(ModelError) as info:
        load_model(folder)
    assert needle in str(info.value)
    assert info.value.hint


def _edit_card(folder: Path, **changes: object) -> None:
    card = json.loads((folder / "model.json").read_text())
    card.update(changes)
    (folder / "model.json").write_text(json.dumps(card))


def test_weights_that_do_not_fit_are_rejected_even_with_a_consistent_card(tmp_path: Path, toy_model, toy_taxonomy) -> None:
    from safetensors.numpy import load_file, save_file

    from rppsearch.hashing import file_sha256
    from rppsearch.tag.persist import load_model

    folder = _save(toy_model, toy_taxonomy, tmp_path)
    tensors = load_file(str(folder / "weights.safetensors"))
    tensors["thresholds"] = np.zeros(7, dtype=np.float32)
    save_file(tensors, str(folder / "weights.safetensors"))
    _edit_card(folder, files={**json.loads((folder / "model.json").read_text())["files"], "weights.safetensors": file_sha256(folder / "weights.safetensors")})
    with pytest.raises(ModelError, match="tensor 'thresholds' has shape"):
        load_model(folder)


def test_model_for_another_codebook_or_encoder_is_refused(tmp_path: Path, toy_average_model, toy_taxonomy) -> None:
    from rppsearch.taxonomy import load_default_taxonomy
    from rppsearch.tag.persist import load_model

    folder = _save(toy_average_model, toy_taxonomy, tmp_path)
    with pytest.raises(ModelError, match="was trained on codebook 'toy'") as info:
        load_model(folder, taxonomy=load_default_taxonomy())
    assert "rpp train --taxonomy" in (info.value.hint or "")
    with pytest.raises(ModelError, match="uses embeddings from 'fake@384'"):
        load_model(folder, encoder_fingerprint="all-MiniLM-L6-v2@abc")


def test_missing_model_folder(tmp_path: Path) -> None:
    from rppsearch.tag.persist import load_model

    with pytest.raises(ModelError, match="no tagger model here"):
        load_model(tmp_path / "v9")


def test_example_embeddings_are_cached_by_text_and_encoder(tmp_path: Path, fake_encoder) -> None:
    from rppsearch.tag.features import EmbeddingCache

    class Counting:
        def __init__(self) -> None:
            self.fingerprint, self.dim, self.seen = fake_encoder.fingerprint, fake_encoder.dim, []

        def encode(self, texts):
            self.seen.extend(texts)
            return fake_encoder.encode(texts)

    enc = Counting()
    cache = EmbeddingCache(tmp_path / "cache")
    first = cache.embed(["a b", "c d"], enc)
    again = EmbeddingCache(tmp_path / "cache").embed(["c d", "e f", "a b"], enc)
    assert enc.seen == ["a b", "c d", "e f"]
    np.testing.assert_array_equal(again[[2, 0]], first)
    assert not list((tmp_path / "cache").glob("*.pkl"))


# -- the store ----------------------------------------------------------------------------------
def _tags(store: Store, doc_id: str) -> dict[str, tuple[float, int, int]]:
    return {
        r[0]: (r[1], r[2], r[3])
        for r in store.conn.execute(
            "SELECT dimension_id, score, assigned, n_passages FROM document_tags WHERE document_id = ?", (doc_id,)
        )
    }


def test_tag_store_tags_passages_and_rolls_up_documents(toy_store) -> None:
    from rppsearch.tag.pipeline import tag_store

    store, settings = toy_store
    long_report = [("Chapter 1", [SENTENCE["vehicles"] + " " + _filler(i) for i in range(8)]), ("Chapter 2", [SENTENCE["weather"] + " " + _filler(i) for i in range(3)])]
    with store.transaction():
        replace_document(store, make_document("report", long_report))
        replace_document(store, make_document("minutes", [OFF_TOPIC]))
    result = tag_store(store, settings)
    n_passages = store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    assert result["passages"] == n_passages and result["documents"] == 2 and result["encoded"] == n_passages
    assert store.conn.execute("SELECT count(*) FROM passage_tags").fetchone()[0] == n_passages * 3
    report = _tags(store, "report")
    assert report["vehicles"][1] == 1 and report["weather"][1] == 1  # the one-chapter dimension is not drowned
    assert report["fruit"][1] == 0
    assert report["weather"][2] == 3 and report["vehicles"][2] == 8
    assert json.loads(store.conn.execute("SELECT dimensions FROM documents WHERE id = 'report'").fetchone()[0]) == ["vehicles", "weather"]
    assert json.loads(store.conn.execute("SELECT dimensions FROM documents WHERE id = 'minutes'").fetchone()[0]) == []
    # evidence offsets point into the passage text
    for text, evidence in store.conn.execute(
        "SELECT p.text, t.evidence FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk WHERE t.assigned = 1"
    ):
        items = json.loads(evidence)
        assert items
        for ev in items:
            assert text[ev["start"] : ev["end"]] == ev["text"]
    # the vectors it encoded went to passage_vectors for the search index to reuse
    assert store.conn.execute("SELECT count(*) FROM passage_vectors WHERE model = 'fake@384'").fetchone()[0] == n_passages


def _filler(i: int) -> str:
    return f"Item {i} of the list was discussed at length by the group that afternoon."


def test_retagging_touches_only_what_changed_and_never_human_rows(toy_store, toy_files) -> None:
    from rppsearch.tag.pipeline import tag_store
    from rppsearch.tag.registry import train_and_register

    store, settings = toy_store
    with store.transaction():
        replace_document(store, make_document("a", [SENTENCE["fruit"]]))
        replace_document(store, make_document("b", [SENTENCE["weather"]]))
    assert tag_store(store, settings)["passages"] == 2
    assert tag_store(store, settings)["passages"] == 0  # nothing new
    # a person rejects the model's weather tag on b
    pk_b = store.conn.execute("SELECT pk FROM passages WHERE document_id = 'b'").fetchone()[0]
    with store.transaction():
        store.conn.execute(
            "UPDATE passage_tags SET source = 'human', assigned = 0, score = 0.0 WHERE passage_pk = ? AND dimension_id = 'weather'",
            (pk_b,),
        )
    # a changed document is re-tagged, the unchanged one is not
    with store.transaction():
        replace_document(store, make_document("a", [SENTENCE["vehicles"]]))
    result = tag_store(store, settings)
    assert result["passages"] == 1
    a_tags = _tags(store, "a")
    assert a_tags["vehicles"][1] == 1 and a_tags["fruit"][1] == 0
    # a new model version re-tags everything, but the human row stays
    model = train_and_register(store, settings, taxonomy_path=toy_files[0], label_files=[toy_files[1]], features="tfidf")
    assert model.version == "v2"
    assert tagstore.active_model(store)["version"] == "v2"
    result = tag_store(store, settings)
    assert result["passages"] == 2 and result["encoded"] == 0
    versions = {r[0] for r in store.conn.execute("SELECT DISTINCT model_version FROM passage_tags WHERE source = 'model'")}
    assert versions == {"v2"}
    human = store.conn.execute(
        "SELECT source, assigned FROM passage_tags WHERE passage_pk = ? AND dimension_id = 'weather'", (pk_b,)
    ).fetchone()
    assert tuple(human) == ("human", 0)
    assert json.loads(store.conn.execute("SELECT dimensions FROM passages WHERE pk = ?", (pk_b,)).fetchone()[0]) == []
    # --force re-tags every passage and still keeps the human row
    assert tag_store(store, settings, force=True)["passages"] == 2
    assert store.conn.execute(
        "SELECT source FROM passage_tags WHERE passage_pk = ? AND dimension_id = 'weather'", (pk_b,)
    ).fetchone()[0] == "human"


def test_sync_dimensions_follows_the_codebook(store: Store, toy_taxonomy) -> None:
    from rppsearch.taxonomy import Taxonomy

    with store.transaction():
        tagstore.sync_dimensions(store, toy_taxonomy)
    assert tagstore.dimension_ids(store) == ["fruit", "vehicles", "weather"]
    smaller = Taxonomy.from_dict({**toy_taxonomy.to_dict(), "dimensions": [d.to_dict() for d in toy_taxonomy.dimensions[1:]]})
    with store.transaction():
        result = tagstore.sync_dimensions(store, smaller)
    assert tagstore.dimension_ids(store) == ["vehicles", "weather"] and result["removed"] == 1
    assert store.get_meta("taxonomy_hash") == smaller.hash


def test_classify_texts_maps_evidence_to_the_given_text(toy_store) -> None:
    from rppsearch.tag.classify import classify_texts
    from rppsearch.tag.registry import load_active_model

    store, settings = toy_store
    model = load_active_model(store, settings)
    text = f"  {OFF_TOPIC}\n\n\n   {SENTENCE['weather']} More words about the afternoon.\n"
    [result] = classify_texts(model, settings, [text])
    assert result["labels"] == ["weather"]
    assert set(result["scores"]) == {"fruit", "vehicles", "weather"}
    [ev] = [e for e in result["evidence"]["weather"] if e["text"] == SENTENCE["weather"]]
    assert text[ev["start"] : ev["end"]] == SENTENCE["weather"]
    assert store.conn.execute("SELECT count(*) FROM passage_tags").fetchone()[0] == 0  # nothing stored


# -- the CLI ------------------------------------------------------------------------------------
def _rpp_subprocess(args: list[str], *, index_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RPP_MODEL": "fake", "RPP_HOME": str(index_dir)}
    return subprocess.run(
        [sys.executable, "-c", "from rppsearch.cli.main import main; main()", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.fixture
def rpp(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the real console entry point in-process: (exit code, stdout, stderr)."""
    import io

    from rppsearch.cli.main import main

    def run(args: list[str], *, index_dir: Path, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setenv("RPP_HOME", str(index_dir))
        monkeypatch.setattr(sys, "argv", ["rpp", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_train_classify_and_input_errors(tmp_path: Path, toy_files: tuple[Path, Path], rpp) -> None:
    index_dir = tmp_path / "idx"
    code, out, err = rpp(["train", "--taxonomy", str(toy_files[0]), "--labels", str(toy_files[1]), "--features", "tfidf", "--json", "-q"], index_dir=index_dir)
    assert code == 0, err
    card = json.loads(out)
    assert card["version"] == "v1" and card["features"] == "tfidf"
    lines = json.dumps({"id": "w", "text": SENTENCE["weather"]}) + "\n" + json.dumps({"text": OFF_TOPIC}) + "\n"
    code, out, err = rpp(["classify", "-", "--json"], index_dir=index_dir, stdin=lines)
    assert code == 0, err
    items = [json.loads(line) for line in out.splitlines()]
    assert [i["id"] for i in items] == ["w", 2]
    assert items[0]["labels"] == ["weather"] and items[1]["labels"] == []
    assert set(items[0]["scores"]) == {"fruit", "vehicles", "weather"}
    assert items[0]["evidence"]["weather"][0]["text"] == SENTENCE["weather"]
    code, out, err = rpp(["classify", "-"], index_dir=index_dir, stdin=lines)
    assert code == 0 and "weather" in out and SENTENCE["weather"] in out
    # bad input: one line naming the line and the problem
    code, out, err = rpp(["classify", "-"], index_dir=index_dir, stdin='{"text": "ok"}\n{"nope": 1}\n')
    assert code == 1 and err.startswith("Error: <stdin>:2: needs a non-empty \"text\" string")
    code, out, err = rpp(["classify", str(tmp_path / "missing.txt")], index_dir=index_dir)
    assert code == 1 and err.startswith(f"Error: {tmp_path / 'missing.txt'}: no such file")
    # a model for another codebook
    code, out, err = rpp(["classify", "-", "--taxonomy", str(tmp_path / "nope.yaml")], index_dir=index_dir, stdin=lines)
    assert code == 1 and "no such codebook file" in err
    other = tmp_path / "other.yaml"
    other.write_text(CODEBOOK.replace("name: toy", "name: other"), encoding="utf-8")
    code, out, err = rpp(["classify", "-", "--taxonomy", str(other)], index_dir=index_dir, stdin=lines)
    assert code == 1 and "was trained on codebook 'toy'" in err and "Hint:" in err
    # listing commands: models and evaluate, as JSON lines and CSV
    code, out, err = rpp(["models", "--json"], index_dir=index_dir)
    assert code == 0 and json.loads(out.splitlines()[0])["version"] == "v1"
    code, out, err = rpp(["evaluate", "--taxonomy", str(toy_files[0]), "--labels", str(toy_files[1]), "--features", "tfidf", "--csv"], index_dir=index_dir)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.startswith("kind,name,precision,recall,f1,support")
    assert [r.split(",")[1] for r in rows[:5]] == ["fruit", "vehicles", "weather", "macro", "micro"]
    # no store at all
    code, out, err = rpp(["classify", "-"], index_dir=tmp_path / "empty", stdin=lines)
    assert code == 1 and "no tagger model here" in err


def test_cli_corrupt_model_is_an_error_line_not_a_traceback(tmp_path: Path, toy_files: tuple[Path, Path], toy_taxonomy) -> None:
    """The installed entry point, in a real process: a damaged model file gives `Error:` + hint."""
    from rppsearch.tag.training import train_model
    from rppsearch.tag.registry import _relative
    from rppsearch.tag.persist import save_model

    index_dir = tmp_path / "idx"
    settings = fake_settings(index_dir)
    model = train_model(taxonomy=toy_taxonomy, examples=synthetic_examples(), encoder=None)
    folder = save_model(model, models_dir=settings.models_dir, version="v1", taxonomy=toy_taxonomy, training={"hash": "h", "n_examples": 1})
    with Store.open(settings.db_path) as store, store.transaction():
        tagstore.register_model(store, model.card, path=_relative(folder, settings))
    (folder / "weights.safetensors").write_bytes(b"garbage")
    done = _rpp_subprocess(["classify", "-", "--json"], index_dir=index_dir, stdin=json.dumps({"text": "rain"}) + "\n")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"Error: {folder / 'weights.safetensors'}: model file is corrupt (checksum differs from the model card)"
    assert "Hint: retrain with `rpp train`" in done.stderr and "Traceback" not in done.stderr


def test_tag_store_trains_from_the_shipped_examples_and_retrains_when_they_change(index_dir: Path) -> None:
    from rppsearch.config import default_examples_paths
    from rppsearch.tag.pipeline import tag_store
    from rppsearch.tag.registry import AUTO_FEATURES

    assert default_examples_paths(), "the labelled examples are missing from the package"
    settings = fake_settings(index_dir)
    with Store.open(settings.db_path) as store:
        with store.transaction():
            replace_document(store, make_document("d", ["The chief of schools halved each principal supervisor's caseload so supervisors could coach principals."]))
        first = tag_store(store, settings)
        assert first["trained"] and first["model"] == "v1" and first["passages"] == 1
        row = tagstore.active_model(store)
        assert row["kind"] == "classifier" and row["metrics"]["selected"] == AUTO_FEATURES
        assert tagstore.dimension_ids(store)[0] == "learning-partnerships"
        assert not tag_store(store, settings)["trained"]
        # the shipped examples change (a new release): the automatic model is retrained, all re-tagged
        card_path = index_dir / row["path"] / "model.json"
        card = json.loads(card_path.read_text())
        card["training"]["hash"] = "0" * 64
        card_path.write_text(json.dumps(card))
        again = tag_store(store, settings)
        assert again["trained"] and again["model"] == "v2" and again["passages"] == 1


def test_classifying_a_file_tags_it_as_ingest_and_tag_would_store_it(toy_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.tag.classify import classify_file
    from rppsearch.tag.pipeline import tag_store
    from rppsearch.tag.registry import load_active_model

    store, settings = toy_store
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "\n\n".join([SENTENCE["weather"] + " " + _filler(i) for i in range(3)] + [OFF_TOPIC])
    (corpus / "field_notes-march.md").write_text(body, encoding="utf-8")  # no heading: the title is the file name
    (corpus / "visit.txt").write_text(SENTENCE["vehicles"] + " " + _filler(1), encoding="utf-8")
    (corpus / "visit.txt.meta.yaml").write_text("title: Site visit to the depot\n", encoding="utf-8")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "draft.md").write_text(f"# Draft\n\n{SENTENCE['fruit']} {_filler(2)}\n", encoding="utf-8")
    (corpus / "catalog.csv").write_text("path,title\nsub/draft.md,Orchard survey results\n", encoding="utf-8")
    assert not ingest_paths(store, [corpus]).failed
    tag_store(store, settings)
    model = load_active_model(store, settings)
    for name in ("field_notes-march.md", "visit.txt", "sub/draft.md"):
        [(doc_id, title, text)] = store.conn.execute(
            "SELECT id, title, text FROM documents WHERE path LIKE ?", (f"%{name}",)
        ).fetchall()
        result = classify_file(model, settings, corpus / name)
        assert result["title"] == title != "Draft"  # the title is part of what the encoder reads
        stored = _tags(store, doc_id)
        assert result["scores"] == pytest.approx({d: s for d, (s, _, _) in stored.items()}, abs=1e-4)  # 4 vs 5 decimals
        assert sorted(result["labels"]) == sorted(d for d, (_, assigned, _) in stored.items() if assigned)
        for evidence in result["evidence"].values():
            for ev in evidence:
                assert text[ev["start"] : ev["end"]] == ev["text"]
    monkeypatch.chdir(corpus / "sub")  # where it is run from does not matter: the catalog is above
    assert classify_file(model, settings, Path("draft.md"))["title"] == "Orchard survey results"


def test_evaluate_cross_validates_as_training_does_and_refuses_what_training_refuses(tmp_path: Path, toy_files, toy_taxonomy, fake_encoder) -> None:
    from rppsearch.errors import TaxonomyError
    from rppsearch.tag.training import train_model
    from rppsearch.tag.evaluation import evaluate

    settings = fake_settings(tmp_path / "idx")
    report = evaluate(settings, taxonomy_path=toy_files[0], label_files=[toy_files[1]], features="auto")
    examples = [(json.loads(line)["text"], json.loads(line)["labels"]) for line in toy_files[1].read_text().splitlines()]
    model = train_model(taxonomy=toy_taxonomy, examples=examples, encoder=fake_encoder, features="auto")
    assert report["selected"] == model.card["metrics"]["selected"]
    assert report["cv"]["macro_f1"] == pytest.approx(model.card["metrics"]["cv"]["macro_f1"])
    assert set(report["variants"]) == set(model.card["metrics"]["variants"])

    thin = tmp_path / "thin.jsonl"
    kept = [e for e in examples if "weather" not in e[1]] + [("rain storm all day", ["weather"])]
    thin.write_text("".join(json.dumps({"text": t, "labels": list(ls)}) + "\n" for t, ls in kept), encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"too few labelled examples for weather \(1\)"):
        evaluate(settings, taxonomy_path=toy_files[0], label_files=[thin], features="tfidf")
