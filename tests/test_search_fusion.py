"""Hybrid fusion: reciprocal rank fusion and the convex combination, by hand and end to end."""

from __future__ import annotations

import pytest

from rppsearch.search import _Allowed, _bm25, _Lexical, _open_vectors, _semantic, convex_fuse, encode_query, rrf_fuse, search
from test_search_support import Doc, add_docs, index_all


def test_rrf_against_a_hand_computed_example() -> None:
    bm25 = ["a", "b", "c"]
    dense = ["c", "a", "d"]
    fused = rrf_fuse([bm25, dense], k=60)
    # a: 1/61 + 1/62 = 0.0325225   c: 1/63 + 1/61 = 0.0322665   b: 1/62 = 0.0161290   d: 1/63 = 0.0158730
    assert [key for key, _ in fused] == ["a", "c", "b", "d"]
    assert [round(score, 7) for _, score in fused] == [0.0325225, 0.0322665, 0.016129, 0.015873]
    # k changes the scores, not this order; k=1 makes rank 1 count far more
    assert [key for key, _ in rrf_fuse([["x", "y"], ["y", "z"]], k=1)] == ["y", "x", "z"]


def test_convex_against_a_hand_computed_example() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]  # normalised: a 1.0, b 0.5, c 0.0
    bm25 = [("c", 12.0), ("a", 4.0)]  # normalised: c 1.0, a 0.0
    fused = dict(convex_fuse([dense, bm25], [0.7, 0.3]))
    assert fused == pytest.approx({"a": 0.7, "b": 0.35, "c": 0.3})
    fused = dict(convex_fuse([dense, bm25], [0.2, 0.8]))
    assert max(fused, key=fused.get) == "c"


@pytest.fixture
def small(store):  # noqa: ANN001, ANN201
    docs = [
        Doc(id=f"d{i}", title=f"T{i}", passages=[text])
        for i, text in enumerate(
            [
                "Principal supervisors coach principals on instructional leadership.",
                "Supervisors meet principals monthly to review school improvement plans.",
                "The central office reorganized units to serve schools.",
                "Coaching conversations focus on teaching quality and instruction.",
                "Budget offices track spending across the district.",
                "Executive directors partner with principals to improve instruction.",
                "Bus routes changed after the driver shortage.",
            ]
        )
    ]
    add_docs(store, docs)
    return store, index_all(store)


@pytest.mark.parametrize("by", ["passage", "document"])
def test_hybrid_is_rrf_of_the_two_modes(small, by: str) -> None:  # noqa: ANN001
    store, settings = small
    query = "how do supervisors coach principals on instruction"
    depth = 5
    allowed = _Allowed(store, None)
    lex = _bm25(_Lexical(store, settings, query, allowed=allowed, auto_refresh=False), depth=depth, by=by)
    index = _open_vectors(store, settings, auto_refresh=False)
    dense = _semantic(store, index, encode_query(settings, query), allowed=allowed, depth=depth, by=by)
    if by == "passage":
        lists = [[pk for pk, _ in dense.passages], [pk for pk, _ in lex.passages]]
    else:
        lists = [[d for d, _, _ in dense.documents], [d for d, _, _ in lex.documents]]
    expected = rrf_fuse(lists, k=60)[:4]
    table = "passages" if by == "passage" else "documents"
    ids = dict(store.conn.execute(f"SELECT pk, id FROM {table}").fetchall())
    # the fusion alone: expand=False keeps the lexical side the plain BM25 ranking above
    hits = search(store, settings, query=query, mode="hybrid", fusion="rrf", limit=4, by=by, depth=depth, expand=False)
    assert [h.id for h in hits] == [ids[key] for key, _ in expected]
    assert [h.score for h in hits] == pytest.approx([s for _, s in expected], abs=1e-6)
    # with lists 5 deep, anything both modes found (>= 2/65) outranks anything only one found (<= 1/61)
    both = set(lists[0]) & set(lists[1])
    assert both and len(both) < len(set(lists[0]) | set(lists[1]))
    every = search(
        store, settings, query=query, mode="hybrid", fusion="rrf", limit=len(set(lists[0]) | set(lists[1])), by=by,
        depth=depth, expand=False,
    )
    assert {h.id for h in every[: len(both)]} == {ids[key] for key in both}


def test_convex_weight_moves_the_ranking_between_modes(small) -> None:  # noqa: ANN001
    store, settings = small
    query = "school leadership coaching"  # the two modes order their top hits differently
    n = 2
    bm25_top = [h.id for h in search(store, settings, query=query, mode="bm25", limit=n)]
    sem_top = [h.id for h in search(store, settings, query=query, mode="semantic", limit=n)]
    assert bm25_top != sem_top  # otherwise the weight could be ignored and this would still pass

    def convex(weight: float) -> list[str]:
        return [
            h.id
            for h in search(store, settings, query=query, mode="hybrid", fusion="convex", weight=weight, limit=n, expand=False)
        ]

    assert convex(0.0) == bm25_top
    assert convex(1.0) == sem_top
