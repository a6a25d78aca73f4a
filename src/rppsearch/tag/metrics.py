"""Multi-label metrics, threshold choice, folds and agreement: small, dependency-free numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "multilabel_folds",
    "best_thresholds",
    "per_dimension_metrics",
    "confusion_summary",
    "agreement_with_decisions",
]


def multilabel_folds(Y: np.ndarray, n_splits: int = 5, *, seed: int = 0) -> np.ndarray:
    """Fold number (0..n_splits-1) of each row: iterative stratification (Sechidis et al. 2011).

    Examples with no label count as one more label, so every fold gets its share of them.
    Deterministic for a given `seed`.
    """
    Y = np.asarray(Y, dtype=bool)
    n = Y.shape[0]
    if n < n_splits:
        raise ValueError(f"{n} examples cannot be split into {n_splits} folds")
    L = np.concatenate([Y, ~Y.any(axis=1, keepdims=True)], axis=1)
    rng = np.random.default_rng(seed)
    desired_label = np.tile(L.sum(axis=0) / n_splits, (n_splits, 1)).astype(float)
    desired_total = np.full(n_splits, n / n_splits)
    fold = np.full(n, -1)
    remaining = np.ones(n, dtype=bool)
    while remaining.any():
        counts = L[remaining].sum(axis=0)
        candidates = np.where(counts > 0)[0]
        label = candidates[np.argmin(counts[candidates])]
        rows = np.where(remaining & L[:, label])[0]
        rng.shuffle(rows)
        for row in rows:
            want = desired_label[:, label]
            best = np.flatnonzero(want == want.max())
            if len(best) > 1:
                tot = desired_total[best]
                best = best[tot == tot.max()]
            k = int(best[rng.integers(len(best))])
            fold[row] = k
            remaining[row] = False
            desired_label[k] -= L[row]
            desired_total[k] -= 1
    return fold


def best_thresholds(proba: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per column, the threshold in 0.05..0.95 that maximises F1 (ties: nearest 0.5)."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    Y = np.asarray(Y, dtype=bool)
    out = np.full(proba.shape[1], 0.5)
    for j in range(proba.shape[1]):
        y = Y[:, j]
        if not y.any():
            continue
        pred = proba[:, j][:, None] >= grid[None, :]
        tp = (pred & y[:, None]).sum(axis=0)
        fp = (pred & ~y[:, None]).sum(axis=0)
        fn = (~pred & y[:, None]).sum(axis=0)
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        best = np.flatnonzero(np.isclose(f1, f1.max()))
        out[j] = grid[best[np.argmin(np.abs(grid[best] - 0.5))]]
    return out


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def per_dimension_metrics(Y: np.ndarray, P: np.ndarray, ids: Sequence[str]) -> dict[str, Any]:
    """Precision, recall, F1 and support per dimension; macro and micro F1; exact-match share."""
    Y = np.asarray(Y, dtype=bool)
    P = np.asarray(P, dtype=bool)
    rows = []
    TP = FP = FN = 0
    for j, dim in enumerate(ids):
        tp = int((Y[:, j] & P[:, j]).sum())
        fp = int((~Y[:, j] & P[:, j]).sum())
        fn = int((Y[:, j] & ~P[:, j]).sum())
        TP, FP, FN = TP + tp, FP + fp, FN + fn
        p, r, f = _prf(tp, fp, fn)
        rows.append(
            {"dimension": dim, "precision": p, "recall": r, "f1": f, "support": int(Y[:, j].sum()), "predicted": int(P[:, j].sum())}
        )
    micro = _prf(TP, FP, FN)
    none_gold = ~Y.any(axis=1)
    none_pred = ~P.any(axis=1)
    return {
        "dimensions": rows,
        "macro_f1": float(np.mean([r["f1"] for r in rows])) if rows else 0.0,
        "macro_precision": float(np.mean([r["precision"] for r in rows])) if rows else 0.0,
        "macro_recall": float(np.mean([r["recall"] for r in rows])) if rows else 0.0,
        "micro_precision": micro[0],
        "micro_recall": micro[1],
        "micro_f1": micro[2],
        "exact_match": float((Y == P).all(axis=1).mean()) if len(Y) else 0.0,
        "none": {
            "support": int(none_gold.sum()),
            "correct": int((none_gold & none_pred).sum()),
        },
        "n": int(len(Y)),
    }


def confusion_summary(Y: np.ndarray, P: np.ndarray, ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each gold dimension g (and '(none)'): on examples labelled g, how often each other
    dimension d was predicted although d is not among their labels."""
    Y = np.asarray(Y, dtype=bool)
    P = np.asarray(P, dtype=bool)
    out: dict[str, dict[str, int]] = {}
    groups = [(g, Y[:, i]) for i, g in enumerate(ids)] + [("(none)", ~Y.any(axis=1))]
    for gold, mask in groups:
        row: dict[str, int] = {}
        for j, dim in enumerate(ids):
            if dim == gold:
                continue
            row[dim] = int((mask & ~Y[:, j] & P[:, j]).sum())
        out[gold] = row
    return out


def agreement_with_decisions(decisions: Sequence[tuple[str, bool, bool]], ids: Sequence[str]) -> dict[str, Any]:
    """How often a model agreed with human decisions.

    `decisions` are (dimension id, model assigned it, the human accepted it) triples, one per
    human decision on a target and dimension. Returns overall and per-dimension agreement
    (share of decisions where model and human agree) and counts of each kind of disagreement.
    """
    per: dict[str, dict[str, int]] = {d: {"n": 0, "agree": 0, "model_only": 0, "human_only": 0} for d in ids}
    for dim, model_yes, human_yes in decisions:
        row = per.setdefault(dim, {"n": 0, "agree": 0, "model_only": 0, "human_only": 0})
        row["n"] += 1
        if bool(model_yes) == bool(human_yes):
            row["agree"] += 1
        elif model_yes:
            row["model_only"] += 1
        else:
            row["human_only"] += 1
    n = sum(r["n"] for r in per.values())
    agree = sum(r["agree"] for r in per.values())
    return {
        "n": n,
        "agreement": agree / n if n else None,
        "dimensions": {
            d: {**r, "agreement": (r["agree"] / r["n"]) if r["n"] else None} for d, r in per.items()
        },
    }
