"""Active learning for the review queue: a light model retrained in seconds, and a stopping estimate.

The light model, per dimension, is a logistic regression (L2, C=1 as scikit-learn's default,
no class weights so its probabilities stay calibrated; fitted here by Newton's method in
numpy, which takes milliseconds, where importing scikit-learn alone takes seconds) on the stored passage vectors (MiniLM,
unit length) plus one more feature: the logit of the *prior* score, i.e. what the tagger
(a trained classifier, or the zero-shot prototypes of a new codebook) said before anyone
decided. Until a dimension has `takeover` decisions (30 by default) with both answers among
them, the prior ranks it alone; after that the light model does, and it can still lean on
the prior through that feature. Nothing is written to disk: the model lives for the session
(and is never pickled).

The queue is re-ranked after every `retrain_every` decisions by uncertainty, `1 − 2·|p − 0.5|`
(the largest over the dimensions in play), or by the largest probability (certainty
sampling, ASReview's default, which finds relevant passages sooner; `benchmarks/bench_active.py`).

Stopping estimate, per dimension: the expected number of relevant passages not yet reviewed,
the sum of the light model's probabilities over them — the estimator of Yu & Menzies' FAST2
("FAST2: an intelligent assistant for finding relevant papers", Expert Systems with
Applications, 2019), which fits a logistic regression on the screened items and sums its
probabilities over the rest — with the probabilities moved from the reviewed sample's rate
of relevant passages to the collection's by the EM prior adjustment of Saerens et al. (2002)
(`remaining_relevant`). Given once the light model has seen `takeover` answers of each
kind (30 yes and 30 no by default): with fewer, the bench showed it off by a factor of five. Shown as "about k left"; with it, the run of consecutive
decisions saying the dimension does not apply (the data-driven heuristic of ASReview's
SAFE procedure, Boetje & van de Schoot 2024: stop after a long run of irrelevant items).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..errors import LabelError
from ..store import Store
from ..store.chunked import select_in
from ..store.vectors import get_vectors, vector_pks

__all__ = ["TAKEOVER", "fit_logistic", "remaining_relevant", "ActiveLearner", "DimensionEstimate", "uncertainty_of", "stored_vectors", "prior_scores"]

TAKEOVER = 30
PRIOR_LOGIT_CLIP = 4.0
_EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def fit_logistic(
    X: np.ndarray, y: np.ndarray, *, C: float = 1.0, iterations: int = 50, init: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression (weights, intercept): minimises
    `C·Σ log-loss + ½‖w‖²` (the intercept is not penalised), as scikit-learn's
    `LogisticRegression(C=C)` does, by Newton's method (from `init`, weights then intercept,
    when given: a refit after a few more decisions converges in two or three steps)."""
    with _one_thread():
        return _newton(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64), C=C, iterations=iterations,
                       init=init)


@contextmanager
def _one_thread() -> Iterator[None]:
    """BLAS on one thread: these matrices are small, and on a busy machine a pool of BLAS
    threads spinning for cores makes a 20-row fit take seconds instead of a tenth of one."""
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415  (installed with scikit-learn)
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _newton(
    X: np.ndarray, y: np.ndarray, *, C: float, iterations: int, init: np.ndarray | None
) -> tuple[np.ndarray, float]:
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    theta = np.zeros(d + 1) if init is None or len(init) != d + 1 else np.array(init, dtype=np.float64)
    reg = np.ones(d + 1)
    reg[-1] = 0.0
    def objective(t: np.ndarray) -> float:
        z = Xb @ t
        return C * float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * float(np.sum(reg * t * t))

    current = objective(theta)
    for _ in range(iterations):
        p = _sigmoid(Xb @ theta)
        grad = C * (Xb.T @ (p - y)) + reg * theta
        h = C * (Xb.T @ (Xb * (p * (1 - p))[:, None])) + np.diag(reg + 1e-9)
        step = np.linalg.solve(h, grad)
        size = 1.0
        while True:  # backtracking: a full Newton step can overshoot from a far start
            candidate = theta - size * step
            value = objective(candidate)
            if value <= current or size < 1e-4:
                break
            size /= 2
        theta, moved, current = candidate, size * np.abs(step).max(), value
        if moved < 1e-7:
            break
    return theta[:-1], float(theta[-1])


def remaining_relevant(probabilities: np.ndarray, *, found: int, decided: int, rounds: int = 100) -> float:
    """Expected relevant items among the unreviewed, from the light model's probabilities on them.

    The model was fitted on the reviewed passages, whose share of relevant ones (`found /
    decided`) is far above the collection's when the queue put likely ones first, so its
    probabilities run high. They are moved to the collection's rate, itself estimated, by the
    EM prior adjustment of Saerens, Latinne & Decaestecker (2002): shift every logit by the
    log-odds between the sample's rate and the current estimate of the collection's, re-estimate
    that rate as (found + Σ adjusted p) / all, and repeat until it settles. Returns Σ adjusted p.
    """
    z = _logit(np.asarray(probabilities, dtype=np.float64))
    n = decided + len(z)
    if len(z) == 0 or decided == 0:
        return float(np.sum(_sigmoid(z)))
    sample = min(max(found / decided, 1e-3), 1 - 1e-3)
    rate = sample
    adjusted = _sigmoid(z)
    for _ in range(rounds):
        shift = np.log(sample / (1 - sample)) - np.log(rate / (1 - rate))
        adjusted = _sigmoid(z - shift)
        new = min(max((found + float(adjusted.sum())) / n, 1e-3), 1 - 1e-3)
        if abs(new - rate) < 1e-7:
            break
        rate = new
    return float(adjusted.sum())


def uncertainty_of(scores: np.ndarray) -> np.ndarray:
    """Per row, the largest `1 − 2·|p − 0.5|` over the columns (1 = a coin toss)."""
    return np.clip(1.0 - 2.0 * np.abs(scores - 0.5), 0.0, 1.0).max(axis=1)


@dataclass
class DimensionEstimate:
    """What the screen shows for one dimension."""

    id: str
    decided: int = 0
    relevant: int = 0
    model: str = "prior"  # 'prior' or 'active' (the light model has taken over)
    left: float | None = None  # expected relevant passages not yet reviewed (None: too few decisions yet)
    streak: int = 0  # latest decisions in a row saying it does not apply


@dataclass
class ActiveLearner:
    """Per-dimension light models over `vectors` (n, d), starting from `priors` (n, k) in [0, 1]."""

    dimensions: list[str]
    vectors: np.ndarray
    priors: np.ndarray
    takeover: int = TAKEOVER
    C: float = 1.0
    scores: np.ndarray = field(init=False)
    estimates: dict[str, DimensionEstimate] = field(init=False)
    fits: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        priors = np.asarray(self.priors, dtype=np.float32)
        self.priors = np.where(np.isnan(priors), 0.5, priors).astype(np.float32)
        self.scores = self.priors.copy()
        self.estimates = {d: DimensionEstimate(d) for d in self.dimensions}
        self._theta: dict[str, np.ndarray] = {}

    def _design(self, j: int, rows: np.ndarray | slice) -> np.ndarray:
        # the prior's logit, clipped: a zero-shot score of 0.0001 must not outweigh what people said
        return np.hstack([self.vectors[rows], np.clip(_logit(self.priors[rows, j]), -PRIOR_LOGIT_CLIP, PRIOR_LOGIT_CLIP)[:, None]])

    def fit(self, decisions: Mapping[int, Mapping[str, bool]], *, order: Sequence[tuple[int, str, bool]] = ()) -> None:
        """Retrain from `decisions` {row: {dimension: applies}}; `order` (row, dimension, applies),
        oldest first, gives the streaks. Updates `scores` and `estimates`."""
        reviewed = np.zeros(len(self.vectors), dtype=bool)
        if decisions:
            reviewed[np.fromiter(decisions.keys(), dtype=np.int64)] = True
        for j, dim in enumerate(self.dimensions):
            rows = np.array([r for r, d in decisions.items() if dim in d], dtype=np.int64)
            y = np.array([decisions[r][dim] for r in rows], dtype=np.int8)
            est = self.estimates[dim]
            est.decided, est.relevant = len(rows), int(y.sum()) if len(y) else 0
            if len(rows) >= self.takeover and 0 < y.sum() < len(y):
                w, b = fit_logistic(self._design(j, rows), y, C=self.C, init=self._theta.get(dim))
                self._theta[dim] = np.append(w, b)
                self.scores[:, j] = _sigmoid(self._design(j, slice(None)) @ w + b)
                est.model = "active"
            else:
                self.scores[:, j] = self.priors[:, j]
                est.model = "prior"
            negatives = est.decided - est.relevant
            ready = est.model == "active" and min(est.relevant, negatives) >= self.takeover
            est.left = remaining_relevant(self.scores[~reviewed, j], found=est.relevant, decided=est.decided) if ready else None
            streak = 0
            for _, d, applies in reversed(order):
                if d != dim:
                    continue
                if applies:
                    break
                streak += 1
            est.streak = streak
        self.fits += 1

    def likelihood(self, columns: Sequence[int] | None = None) -> np.ndarray:
        """Per row, the largest probability over `columns` (default: every dimension)."""
        scores = self.scores if columns is None else self.scores[:, list(columns)]
        return scores.max(axis=1)

    def uncertainty(self, columns: Sequence[int] | None = None) -> np.ndarray:
        """Per row, the uncertainty over `columns` (default: every dimension)."""
        scores = self.scores if columns is None else self.scores[:, list(columns)]
        return uncertainty_of(scores)


def stored_vectors(store: Store, pks: Sequence[int]) -> tuple[list[int], np.ndarray]:
    """(the pks that have a current vector, their vectors) for the encoder most vectors were made with."""
    row = store.conn.execute(
        "SELECT model, count(*) FROM passage_vectors GROUP BY model ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise LabelError(
            "--order active needs the passages' vectors, and the store has none",
            hint="run `rpp build` (it embeds every passage), or use --order uncertain",
        )
    have = set(vector_pks(store, model=row[0]).tolist())
    keep = [int(pk) for pk in pks if int(pk) in have]
    return keep, get_vectors(store, keep, model=row[0])


def prior_scores(store: Store, pks: Sequence[int], dimensions: Sequence[str]) -> np.ndarray:
    """(n, k) the tagger's scores for `pks` (NaN where it never scored): the model's row, or the
    model's reading kept with the latest label once a person's decision replaced it."""
    out = np.full((len(pks), len(dimensions)), np.nan, dtype=np.float32)
    row_of = {int(pk): i for i, pk in enumerate(pks)}
    col_of = {d: j for j, d in enumerate(dimensions)}
    sql = (
        "SELECT t.passage_pk, t.dimension_id, CASE WHEN t.source = 'model' THEN t.score ELSE "
        "(SELECT l.suggested_score FROM labels l JOIN passages p ON p.id = l.target_id "
        " WHERE p.pk = t.passage_pk AND l.target_type = 'passage' AND l.dimension_id = t.dimension_id "
        " AND l.suggested_score IS NOT NULL ORDER BY l.id DESC LIMIT 1) END FROM passage_tags t WHERE t.passage_pk IN"
    )
    for pk, dim, score in select_in(store, sql, list(row_of)):
        if score is not None and dim in col_of:
            out[row_of[pk], col_of[dim]] = float(score)
    return out
