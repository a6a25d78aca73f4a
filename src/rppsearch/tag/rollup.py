"""Document tags rolled up from passage scores.

Rule, per dimension, over a document's n passages with calibrated scores (0.5 = assigned):
- k = min(TOP_K, n); `top` = the mean of the k highest passage scores;
- `share` = the fraction of passages assigned the dimension;
- score = (1 − SHARE_WEIGHT)·top + SHARE_WEIGHT·share;
- assigned when score >= 0.5 and at least one passage is assigned;
- `n_passages` = how many passages are assigned (the support).

Why: a long report that spends one chapter on a dimension has a handful of passages scoring
high on it, so `top` is high and the dimension is assigned even if 95% of the report is about
something else (a mean over all passages would drown it). Needing the mean of the top *k*
(not the single best) means one stray sentence-heavy passage cannot tag a long document on
its own, and the small `share` term ranks a document that keeps returning to a dimension
above one that visits it once. Human decisions on passages are used as stored (accepted
= assigned with their score), so they flow into the roll-up.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOP_K", "SHARE_WEIGHT", "rollup"]

TOP_K = 3
SHARE_WEIGHT = 0.2


def rollup(scores: np.ndarray, assigned: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Document (score, assigned, n_passages) per dimension from passage `scores` (n, d).

    `assigned` (n, d) defaults to `scores >= 0.5`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError("scores must be a (passages, dimensions) array")
    n, d = scores.shape
    if n == 0:
        return np.zeros(d), np.zeros(d, dtype=bool), np.zeros(d, dtype=int)
    hits = scores >= 0.5 if assigned is None else np.asarray(assigned, dtype=bool)
    k = min(TOP_K, n)
    top = -np.sort(-scores, axis=0)[:k].mean(axis=0)
    support = hits.sum(axis=0)
    share = support / n
    score = (1 - SHARE_WEIGHT) * top + SHARE_WEIGHT * share
    doc_assigned = (score >= 0.5) & (support > 0)
    return score.astype(np.float32), doc_assigned, support.astype(int)
