"""Agreement figures against scikit-learn and a hand-computed Krippendorff's alpha."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from review_support import build_store

from rppsearch.agreement import agreement, cohen_kappa, compute_agreement, krippendorff_alpha
from rppsearch.review import decide
from rppsearch.store import Store
from rppsearch.store import labels as labelstore

RPP = str(Path(sys.executable).with_name("rpp"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=30))
def test_cohen_kappa_matches_scikit_learn(pairs: list[tuple[int, int]]) -> None:
    import warnings

    from sklearn.metrics import cohen_kappa_score

    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(cohen_kappa_score(a, b))
    got = cohen_kappa(a, b)
    if got is None:
        assert expected != expected  # sklearn: nan when chance agreement is 1
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_krippendorff_alpha_by_hand() -> None:
    # 3 reviewers x 4 targets, nominal, one missing value. Coincidences: o00=4, o01=o10=2, o11=3,
    # n=11, n0=6, n1=5 -> D_o = 4/11, D_e = 2*6*5/(11*10) = 6/11, alpha = 1 - 4/6 = 1/3.
    matrix = [
        [1, 0, 0, 1],
        [1, 0, 0, 0],
        [1, 1, 0, None],
    ]
    assert krippendorff_alpha(matrix) == pytest.approx(1 / 3)
    assert krippendorff_alpha([[1, 1], [1, 1]]) is None  # one value only: undefined


def label(reviewer: str, target: str, dim: str, decision: str, n: int) -> labelstore.Label:
    return labelstore.Label(n, "passage", target, "h", dim, decision, reviewer, None, None, None, None, f"2024-01-01T00:00:{n:02d}")


def test_three_reviewers_use_alpha_and_not_chosen_counts_as_no() -> None:
    # Same data as the hand computation, for dimension "d"; r3 has reviewed t1..t3 only.
    # A reviewer who reviewed a target but made no decision on "d" counts as 0 (r2 on t4 via "e").
    labels = [
        label("r1", "t1", "d", "accept", 1), label("r1", "t2", "d", "reject", 2), label("r1", "t3", "d", "reject", 3),
        label("r1", "t4", "d", "accept", 4),
        label("r2", "t1", "d", "accept", 5), label("r2", "t2", "d", "reject", 6), label("r2", "t3", "d", "reject", 7),
        label("r2", "t4", "e", "accept", 8),
        label("r3", "t1", "d", "accept", 9), label("r3", "t2", "d", "accept", 10), label("r3", "t3", "d", "reject", 11),
    ]
    report = compute_agreement(labels, ["d", "e"])
    d = report.dimensions[0]
    assert (d.metric, d.n_items, d.n_reviewers) == ("krippendorff_alpha", 4, 3)
    assert d.value == pytest.approx(1 / 3)
    assert d.percent_agreement == pytest.approx(2 / 4)
    diffs = [(x.target_id, x.dimension_id, x.accepted_by, x.rejected_by, x.in_force) for x in report.disagreements]
    assert diffs == [
        ("t2", "d", ["r3"], ["r1", "r2"], "accept"),  # r3 decided last
        ("t4", "d", ["r1"], ["r2"], "accept"),
        ("t4", "e", ["r2"], ["r1"], "accept"),
    ]


def test_two_reviewers_in_a_store_get_cohens_kappa(index_dir: Path) -> None:
    from sklearn.metrics import cohen_kappa_score

    store: Store = build_store(index_dir / "rpp.db")
    calls = {  # passage -> (ana's accepted dims, ben's accepted dims); each reviewer decides every dimension
        "coaching-p0000": ({"learning-partnerships"}, {"learning-partnerships", "partnership-assistance"}),
        "coaching-p0001": ({"partnership-assistance"}, {"partnership-assistance"}),
        "hr-redesign-p0000": ({"unit-reorganization"}, {"unit-reorganization", "stewardship"}),
        "data-cycles-p0000": ({"evidence-use", "stewardship"}, {"evidence-use"}),
    }
    dims = [d["id"] for d in labelstore.codebook(store)]
    for pid, (ana, ben) in calls.items():
        t = labelstore.resolve_target(store, pid)
        for who, chosen in (("ana", ana), ("ben", ben)):
            decide(store, target=t, reviewer=who, decisions=[(d, "accept" if d in chosen else "reject") for d in dims])
    # ana later changes her mind on one passage: only her latest decision counts
    decide(store, target=labelstore.resolve_target(store, "coaching-p0000"), reviewer="ana",
           decisions=[("partnership-assistance", "accept")])
    calls["coaching-p0000"] = ({"learning-partnerships", "partnership-assistance"}, calls["coaching-p0000"][1])
    report = agreement(store)
    assert report.reviewers == ["ana", "ben"] and report.n_shared_targets == 4
    for result in report.dimensions:
        a = [int(result.dimension_id in calls[p][0]) for p in sorted(calls)]
        b = [int(result.dimension_id in calls[p][1]) for p in sorted(calls)]
        assert result.metric == "cohen_kappa" and result.n_items == 4
        if len(set(a) | set(b)) == 1:
            assert result.value is None
        else:
            assert result.value == pytest.approx(float(cohen_kappa_score(a, b)))
    assert {(d.target_id, d.dimension_id) for d in report.disagreements} == {
        ("hr-redesign-p0000", "stewardship"), ("data-cycles-p0000", "stewardship")}

    env = {**os.environ, "RPP_MODEL": "fake"}
    proc = subprocess.run([RPP, "agreement", "--disagreements", "--json", "--index-dir", str(index_dir)],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["target_id"], r["accepted_by"], r["rejected_by"]) for r in rows] == [
        ("data-cycles-p0000", ["ana"], ["ben"]), ("hr-redesign-p0000", ["ben"], ["ana"])]
    store.close()


def test_no_shared_targets_means_no_figures(index_dir: Path) -> None:
    store = build_store(index_dir / "rpp.db")
    decide(store, target=labelstore.resolve_target(store, "coaching-p0000"), reviewer="ana",
           decisions=[("stewardship", "accept")])
    report = agreement(store)
    assert report.reviewers == [] and report.disagreements == []
    assert all(d.value is None and d.n_items == 0 for d in report.dimensions)
    store.close()
