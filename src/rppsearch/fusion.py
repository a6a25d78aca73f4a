"""Fusing the engines' rankings, and the one relevance score a person reads.

`relevance` is on a 0-100 scale: the hit's fused score as a share of the best score
possible in the mode used. With the convex combination (the default) it is the weighted sum
of each engine's min-max normalised score x 100: a passage ranked first by both engines
scores 100, first by one and missed by the other 50 (at weight 0.5). With reciprocal rank
fusion, first by both = 100, first by one only = 50, tenth by both = 87 (k=60). In bm25 or
semantic mode alone the rank formula runs over one engine (first = 100, tenth = 87). It says
how strongly the engines agree a hit belongs at the top, not a probability; the engines' own
numbers stay in `Hit.score` and `Hit.matched_by`.
"""

from __future__ import annotations

from typing import Any


def rrf_fuse(rankings: list[list[Any]], *, k: int = 60, weights: list[float] | None = None) -> list[tuple[Any, float]]:
    """Reciprocal rank fusion: score(x) = sum over lists of w / (k + rank), rank from 1.

    Ties keep the order of first appearance (earlier lists, better ranks first).
    """
    weights = weights or [1.0] * len(rankings)
    scores: dict[Any, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    order = {key: i for i, key in enumerate(_first_seen(rankings))}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def convex_fuse(
    scored: list[list[tuple[Any, float]]], weights: list[float]
) -> list[tuple[Any, float]]:
    """Weighted sum of min-max normalised scores (a missing candidate counts 0 in that list)."""
    fused: dict[Any, float] = {}
    for items, w in zip(scored, weights):
        if not items:
            continue
        values = [s for _, s in items]
        lo, hi = min(values), max(values)
        span = hi - lo
        for key, s in items:
            norm = (s - lo) / span if span > 0 else 1.0
            fused[key] = fused.get(key, 0.0) + w * norm
    order = {key: i for i, key in enumerate(_first_seen([[k for k, _ in items] for items in scored]))}
    return sorted(fused.items(), key=lambda item: (-item[1], order[item[0]]))


def _first_seen(rankings: list[list[Any]]) -> list[Any]:
    seen: dict[Any, None] = {}
    for depth in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if depth < len(ranking):
                seen.setdefault(ranking[depth], None)
    return list(seen)


def relevance(ranks: list[int | None], *, k: int = 60, weights: list[float] | None = None) -> float:
    """0-100: the reciprocal-rank score of a hit with these ranks (None: not found by that
    engine) over the score of a hit ranked first by every engine."""
    weights = weights or [1.0] * len(ranks)
    best = sum(w / (k + 1) for w in weights)
    got = sum(w / (k + r) for r, w in zip(ranks, weights) if r is not None)
    return round(100.0 * got / best, 1) if best > 0 else 0.0
