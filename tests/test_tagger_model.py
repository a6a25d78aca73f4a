"""The tagger with the real MiniLM encoder (`@pytest.mark.model`; CI runs this tier).

One encoder per session (embed.get_encoder caches it) and one model trained on the shipped
examples per module, so the tier encodes a few hundred short texts once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rppsearch.config import PACKAGED_MODEL, Settings, default_examples_paths
from rppsearch.progress import no_progress

pytestmark = pytest.mark.model

SHARED = Path(__file__).resolve().parents[2] / "shared"
WALLACE = {  # chapters 2–6 of the report treat dimensions 1–5 in order
    "03": "learning-partnerships",
    "04": "partnership-assistance",
    "05": "unit-reorganization",
    "06": "stewardship",
    "07": "evidence-use",
}

CODEBOOK = """\
name: meals
version: "1"
description: What a school newsletter talks about.
dimensions:
  - id: lunch
    name: School lunch
    definition: The school cafeteria, lunch menus, meals and nutrition for students.
    include: [menus and cafeteria food, free and reduced-price meals]
    examples: [The cafeteria will serve tacos and fresh fruit on Friday., Families can apply for free school meals online.]
  - id: sports
    name: Sports
    definition: School athletics, teams, games, coaches and tournaments.
    include: [team results and practice schedules]
    examples: [The girls' soccer team won the regional final., Basketball tryouts start Monday in the gym.]
"""




@pytest.fixture(scope="module")
def encoder():
    from rppsearch.embed import get_encoder

    return get_encoder(PACKAGED_MODEL)


def test_zero_shot_with_minilm(tmp_path: Path, encoder) -> None:
    from rppsearch.tag.training import train_model
    from rppsearch.taxonomy import load_taxonomy

    path = tmp_path / "meals.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    taxonomy = load_taxonomy(path)
    model = train_model(taxonomy=taxonomy, examples=[], encoder=encoder)
    texts = [
        "Next week's menu has chicken noodle soup on Tuesday and pizza with salad on Thursday.",
        "Our varsity volleyball squad beat Central 3-1 and advances to the state semifinal.",
        "The quarterly earnings of the semiconductor firm beat analysts' expectations.",
    ]
    scores = model.scores(texts, encoder.encode(texts))
    assert scores[0, 0] >= 0.5 > scores[0, 1]
    assert scores[1, 1] >= 0.5 > scores[1, 0]
    assert (scores[2] < 0.5).all()


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory):
    """A store whose active model is trained on the shipped codebook and examples with MiniLM."""
    assert default_examples_paths(), "the labelled examples are missing from the package"
    from rppsearch.store import Store
    from rppsearch.tag.registry import train_and_register

    index_dir = tmp_path_factory.mktemp("shipped") / "indexes"
    settings = Settings(index_dir=index_dir, embedding_model=PACKAGED_MODEL)
    store = Store.open(settings.db_path)
    model = train_and_register(store, settings)
    yield store, settings, model
    store.close()


def test_shipped_model_cross_validates_well(shipped) -> None:
    _, _, model = shipped
    cv = model.card["metrics"]["cv"]
    assert cv["macro_f1"] >= 0.80, cv
    assert model.card["training"]["shipped"] is True
    assert set(model.card["metrics"]["variants"]) == {"embedding", "tfidf", "concat", "average"}


def test_classify_with_the_shipped_model(shipped) -> None:
    from rppsearch.tag.classify import classify_texts

    _, settings, model = shipped
    texts = [
        "The chief of schools cut each principal supervisor's caseload in half and met with the supervisors "
        "every week to practise the coaching conversations they would have with principals.",
        "Reminder: the gym will be closed on Saturday for floor refinishing. Weekend games move to the high school.",
    ]
    first, second = classify_texts(model, settings, texts)
    assert first["labels"] and first["labels"][0] == "partnership-assistance"
    assert second["labels"] == []
    for ev in first["evidence"]["partnership-assistance"]:
        assert texts[0][ev["start"] : ev["end"]] == ev["text"]


@pytest.fixture(scope="module")
def wallace_top_tags(shipped) -> dict[str, str]:
    """Each Wallace report excerpt (test input only, never training data) ingested, encoded and
    tagged like any corpus file: {file number: top document tag}."""
    folder = SHARED / "domain"
    if not folder.is_dir():
        pytest.skip("../shared/domain is not present beside the repo")
    from rppsearch.build import derived_steps
    from rppsearch.ingest.pipeline import ingest_paths

    store, settings, model = shipped
    files = sorted(p for p in folder.glob("0[3-7]_*.txt"))
    assert len(files) == 5
    report = ingest_paths(store, files)
    assert not report.failed
    stages = derived_steps(store, settings, progress=no_progress)
    assert stages["tag"]["model"] == model.version and not stages["tag"]["trained"]
    top = {}
    for path in files:
        doc_id = store.conn.execute("SELECT id FROM documents WHERE path = ?", (str(path.resolve()),)).fetchone()[0]
        rows = store.conn.execute(
            "SELECT dimension_id, score FROM document_tags WHERE document_id = ? ORDER BY score DESC", (doc_id,)
        ).fetchall()
        top[path.name[:2]] = rows[0][0]
    return top


def test_wallace_chapters_get_their_dimension_as_top_document_tag(wallace_top_tags: dict[str, str]) -> None:
    misses = {k: (wallace_top_tags[k], WALLACE[k]) for k in WALLACE if wallace_top_tags[k] != WALLACE[k]}
    assert not misses, f"top tag differs from the chapter's dimension (got, expected): {misses}"
