"""`rpp review --order active`: a light model retrained on the stored vectors as decisions come
in, the queue re-ranked by its uncertainty, and a stopping estimate per dimension.

The store is real (SQLite, spaCy segmentation) with vectors from the fake encoder (hashed
bag of words: passages sharing words are near); the screen is driven through a real
pseudo-terminal with pexpect."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from review_support import DIMS, build_store, make_document, write_model_tags

from rppsearch.embed import get_encoder
from rppsearch.errors import LabelError
from rppsearch.review import ReviewSession
from rppsearch.store import Store
from rppsearch.store import documents as docstore
from rppsearch.store.vectors import put_vectors
from rppsearch.tag.active import ActiveLearner

RPP = str(Path(sys.executable).with_name("rpp"))

DATA = "Teams reviewed the monthly data and evidence from school visits to revise their support plans {i}."
OTHER = "The district office renamed its facilities department and moved it to building {i} downtown."


def active_store(path: Path, n: int = 24) -> Store:
    """`n` one-passage documents, half about evidence use; the tagger is unsure of all of them."""
    store = build_store(path, scores={})
    with store.transaction():
        for i in range(n):
            text = (DATA if i % 2 == 0 else OTHER).format(i=i)
            docstore.replace_document(store, make_document(f"d{i:02d}", f"Doc {i}", [text]))
        rows = store.conn.execute("SELECT pk, text_hash, text FROM passages").fetchall()
        vecs = get_encoder("fake").encode([r[2] for r in rows])
        put_vectors(store, [(r[0], r[1], v) for r, v in zip(rows, vecs)], model="fake@384")
    write_model_tags(store, {f"d{i:02d}-p0000": {"evidence-use": 0.45 + 0.01 * (i % 7)} for i in range(n)})
    return store


def test_the_light_model_takes_over_after_enough_decisions_and_estimates_what_is_left() -> None:
    rng = np.random.default_rng(0)
    n, d = 400, 16
    y = rng.random(n) < 0.25
    vectors = rng.standard_normal((n, d)).astype(np.float32) + 2.5 * y[:, None] * np.eye(d, dtype=np.float32)[0]
    learner = ActiveLearner(dimensions=["a"], vectors=vectors, priors=np.full((n, 1), 0.5), takeover=30)
    few = {i: {"a": bool(y[i])} for i in range(20)}
    learner.fit(few)
    assert learner.estimates["a"].model == "prior" and np.allclose(learner.scores[:, 0], 0.5)
    many = {i: {"a": bool(y[i])} for i in range(200)}
    learner.fit(many, order=[(i, "a", bool(y[i])) for i in range(200)])
    est = learner.estimates["a"]
    assert est.model == "active" and est.decided == 200
    truly_left = int(y[200:].sum())
    assert abs(est.left - truly_left) <= 0.35 * truly_left  # the summed probabilities are near the truth
    streak = next(k for k, i in enumerate(range(199, -1, -1)) if y[i])
    assert est.streak == streak
    # the light model ranks the relevant passages above the others
    auc_pairs = learner.scores[200:, 0][y[200:]][:, None] > learner.scores[200:, 0][~y[200:]][None, :]
    assert auc_pairs.mean() > 0.85


def test_the_session_retrains_every_n_decisions_and_reranks(index_dir: Path) -> None:
    store = active_store(index_dir / "rpp.db")
    session = ReviewSession(store, reviewer="ana", order="active", retrain_every=3, takeover=3)
    assert session.learner is not None and session.learner.fits == 1
    for _ in range(16):
        item = session.current()
        assert item is not None
        if "data" in item.text:
            session.add(item, "evidence-use")
        session.accept(item)
    assert session.learner.fits >= 5  # at the start, then after every 3 actions (an add and an accept each count)
    est = session.estimates()["evidence-use"]
    assert est.model == "active" and est.decided >= 6 and est.left is not None
    unreviewed = sum(1 for pk in session.queue if pk not in session.done)
    assert 0 <= est.left <= unreviewed  # (its accuracy: the unit tests above and below, and bench_active.py)
    store.close()


def test_the_remaining_estimate_corrects_for_a_sample_rich_in_relevant_items() -> None:
    from rppsearch.tag.active import remaining_relevant

    rng = np.random.default_rng(3)
    # a collection where one item in ten is relevant, scored by the exact posterior (log-odds z);
    # a model fitted on a reviewed sample that was half relevant sees odds nine times higher
    n_left, rate = 2000, 0.1
    y = rng.random(n_left) < rate
    x = np.where(y, rng.normal(1.0, 1.0, n_left), rng.normal(-1.5, 1.0, n_left))
    z = np.log(rate / (1 - rate)) + (-(x - 1.0) ** 2 + (x + 1.5) ** 2) / 2
    p_sample_calibrated = 1 / (1 + np.exp(-(z - np.log(rate / (1 - rate)))))
    raw = p_sample_calibrated.sum()
    corrected = remaining_relevant(p_sample_calibrated, found=100, decided=200)
    truth = y.sum()
    assert abs(corrected - truth) < abs(raw - truth) / 2


def test_active_order_without_vectors_is_a_clear_error(index_dir: Path) -> None:
    store = build_store(index_dir / "rpp.db")
    with pytest.raises(LabelError, match="--order active needs the passages' vectors"):
        ReviewSession(store, reviewer="ana", order="active")
    store.close()


@pytest.mark.slow
def test_review_active_on_screen_shows_retraining_and_the_stopping_estimate(index_dir: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    active_store(index_dir / "rpp.db").close()
    env = {k: v for k, v in os.environ.items() if k not in ("RPP_HOME", "RPP_REVIEWER")}
    env.update({"RPP_MODEL": "fake", "NO_COLOR": "1", "TERM": "xterm"})
    child = pexpect.spawn(RPP, ["review", "--reviewer", "ana", "--index-dir", str(index_dir), "--order", "active",
                                "--retrain-every", "2", "--takeover", "4"],
                          env=env, dimensions=(24, 100), encoding="utf-8", timeout=30)
    child.expect_exact("active learning · retrained 1×")
    shown = None
    for _ in range(20):  # add evidence-use to the data passages, accept (nothing) on the others
        child.expect(r"([\w-]+)-p\d{4} · passage \d+ of \d+")
        doc = child.match.group(1)
        child.expect(r"evidence-use .*?(about (\d+) left|no estimate yet)")  # the last dimension's line
        if child.match.group(2) is not None:
            shown = int(child.match.group(2))
            break
        child.expect_exact("? help")
        if doc.startswith("d") and doc[1:].isdigit() and int(doc[1:]) % 2 == 0:
            child.send("d")
            child.expect_exact("Add which dimension?")
            child.send(str(DIMS.index("evidence-use") + 1))
            child.expect_exact("Added evidence-use.")
        child.send("a")
    # once the light model has 4 yes and 4 no on evidence-use (--takeover 4), it estimates what is left
    assert shown is not None and 0 <= shown <= 28
    child.send("q")
    child.expect_exact("Saved.")
    child.expect(pexpect.EOF)


def test_most_likely_first_finds_the_passages_of_a_dimension_sooner(index_dir: Path) -> None:
    store = active_store(index_dir / "rpp.db", n=40)
    found = {}
    for query in ("likely", "uncertain"):
        session = ReviewSession(store, reviewer=query, order="active", dimension="evidence-use", query=query,
                                retrain_every=2, takeover=4)
        hits = 0
        for _ in range(14):
            item = session.current()
            assert item is not None
            if "data" in item.text:
                hits += 1
                session.add(item, "evidence-use")
            else:
                session.reject(item, "evidence-use")
            session.skip(item)  # the passage is done for this reviewer
        found[query] = hits
    assert found["likely"] >= 10 and found["likely"] > found["uncertain"]
    store.close()


def test_the_newton_fit_matches_scikit_learns_logistic_regression() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    from rppsearch.tag.active import fit_logistic

    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 20))
    y = (X[:, 0] + 0.5 * rng.standard_normal(150) > 0.3).astype(int)
    w, b = fit_logistic(X, y, C=1.0)
    ref = sklearn.LogisticRegression(C=1.0, tol=1e-8, max_iter=1000).fit(X, y)
    assert np.allclose(w, ref.coef_[0], atol=1e-4) and abs(b - ref.intercept_[0]) < 1e-4


CODEBOOK = """\
name: district-data
version: "1"
description: A two-code codebook written for this test.
dimensions:
  - id: data-use
    name: Data use
    definition: Teams review data and evidence from school visits and revise their plans.
    examples:
      - The team reviewed the monthly data and evidence to revise its support plans.
      - Evidence from school visits led the office to change its plans.
  - id: facilities
    name: Facilities
    definition: Buildings, facilities departments and office moves.
    examples:
      - The facilities department moved to a new building downtown.
      - The district renamed its facilities office and moved it.
"""


def test_a_new_codebook_starts_from_zero_shot_and_the_light_model_takes_over_at_30(index_dir: Path, tmp_path: Path) -> None:
    from rppsearch.config import Settings
    from rppsearch.tag.pipeline import tag_store
    from rppsearch.tag.registry import train_and_register

    store = active_store(index_dir / "rpp.db", n=44)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(CODEBOOK, encoding="utf-8")
    settings = Settings(index_dir=index_dir)
    model = train_and_register(store, settings, taxonomy_path=codebook)  # no examples: the zero-shot tagger
    assert model.zeroshot is not None
    tag_store(store, settings, force=True)
    session = ReviewSession(store, reviewer="ana", order="active", retrain_every=5)
    assert [d["id"] for d in session.codebook] == ["data-use", "facilities"]
    first = session.current()
    assert first is not None and first.dimensions[0].score is not None  # zero-shot suggestions start the queue
    for n in range(40):
        item = session.current()
        if item is None:
            break
        is_data = "data" in item.text
        session.add(item, "data-use" if is_data else "facilities")
        session.accept(item)
        est = session.estimates()["data-use"]
        assert est.model == ("active" if est.decided >= 30 else "prior")
    est = session.estimates()["data-use"]
    assert est.model == "active"
    assert (est.left is None) == (min(est.relevant, est.decided - est.relevant) < 30)  # an estimate needs 30 of each
    store.close()
