"""The dimension classifier: one-vs-rest logistic regression on embeddings and/or TF-IDF.

Feature variants (`FEATURE_VARIANTS`):
- `embedding`: the passage's sentence embedding (the vectors the search index stores);
- `tfidf`: word 1–2 gram TF-IDF;
- `concat`: both, concatenated (each part l2-normalised);
- `average`: the mean of the `embedding` and `tfidf` models' probabilities.

Choosing among them and training: `tag.training`.

Scores shown to users are *calibrated* so that 0.5 is each dimension's decision threshold
t: p ↦ 0.5·p/t below t and 0.5 + 0.5·(p − t)/(1 − t) above it. They keep the order of the
probabilities, compare across dimensions, and `score ≥ 0.5` means assigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError
from ..taxonomy import Taxonomy
from .features import TfidfFeatures, blas_limits, count_matrix
from .zeroshot import ZeroShot, build_zeroshot

__all__ = [
    "FEATURE_VARIANTS",
    "DEFAULT_C",
    "LinearHead",
    "TaggerModel",
    "calibrate",
    "fit_variant",
    "zeroshot_model",
]

FEATURE_VARIANTS = ("embedding", "tfidf", "concat", "average")
DEFAULT_C = {"embedding": 16.0, "tfidf": 64.0, "concat": 16.0}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def calibrate(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Map probabilities so that each column's threshold lands on 0.5 (monotone, piecewise linear)."""
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-6, 1 - 1e-6)[None, :]
    p = np.asarray(proba, dtype=np.float64)
    low = 0.5 * p / t
    high = 0.5 + 0.5 * (p - t) / (1 - t)
    return np.clip(np.where(p < t, low, high), 0.0, 1.0).astype(np.float32)


@dataclass
class LinearHead:
    """Logistic regression weights: proba = sigmoid(X · Wᵀ + b), one row of W per dimension."""

    weight: np.ndarray  # (d, f) float32
    bias: np.ndarray  # (d,) float32

    def decision(self, X: Any) -> np.ndarray:
        out = X @ self.weight.T
        out = np.asarray(out, dtype=np.float64)
        return out + self.bias[None, :]

    def proba(self, X: Any) -> np.ndarray:
        return _sigmoid(self.decision(X)).astype(np.float32)


def _fit_head(X: Any, Y: np.ndarray, C: float, *, seed: int = 0) -> LinearHead:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    n_features = X.shape[1]
    weight = np.zeros((Y.shape[1], n_features), dtype=np.float32)
    bias = np.zeros(Y.shape[1], dtype=np.float32)
    for j in range(Y.shape[1]):
        y = Y[:, j].astype(int)
        if y.min() == y.max():  # a fold without positives (or negatives): a constant
            bias[j] = 10.0 if y[0] else -10.0
            continue
        solver = "liblinear" if hasattr(X, "tocsr") else "lbfgs"
        clf = LogisticRegression(C=C, class_weight="balanced", solver=solver, max_iter=1000, random_state=seed)
        clf.fit(X, y)
        weight[j] = clf.coef_[0]
        bias[j] = clf.intercept_[0]
    return LinearHead(weight=weight, bias=bias)


def _hstack(vectors: np.ndarray, tfidf: Any) -> Any:
    if isinstance(tfidf, np.ndarray):  # dense rows from the numpy analyzer (a few texts)
        return np.hstack([np.asarray(vectors, dtype=np.float32), tfidf])
    from scipy import sparse  # noqa: PLC0415

    return sparse.hstack([sparse.csr_matrix(vectors), tfidf], format="csr")


@dataclass
class Fitted:
    """The parts of one feature variant fitted on one training set."""

    variant: str
    heads: dict[str, LinearHead]
    tfidf: TfidfFeatures | None

    def proba(self, texts: Sequence[str], vectors: np.ndarray | None, counts: Any = None) -> np.ndarray:
        """Probabilities (n, d); `counts` (rows of the count space used in fitting) skip tokenising."""
        v = self.variant
        if v == "embedding":
            return self.heads["embedding"].proba(_need(vectors))
        X_t = None
        if self.tfidf is not None:
            X_t = self.tfidf.transform_counts(counts) if counts is not None else self.tfidf.transform(texts)
        if v == "tfidf":
            return self.heads["tfidf"].proba(X_t)
        if v == "concat":
            return self.heads["concat"].proba(_hstack(_need(vectors), X_t))
        if v == "average":
            return (self.heads["embedding"].proba(_need(vectors)) + self.heads["tfidf"].proba(X_t)) / 2
        raise ModelError(f"unknown feature variant {v!r}")


def _need(vectors: np.ndarray | None) -> np.ndarray:
    if vectors is None:
        raise ModelError("this model needs sentence embeddings but none were given")
    return vectors


def fit_variant(
    variant: str,
    texts: Sequence[str],
    vectors: np.ndarray | None,
    Y: np.ndarray,
    *,
    C: dict[str, float] | None = None,
    counts: Any = None,
    terms: Sequence[str] | None = None,
) -> Fitted:
    """Fit one feature variant on (texts, vectors) → Y.

    `counts`/`terms` (from `count_matrix`, rows matching `texts`) save re-tokenising in CV.
    """
    if variant not in FEATURE_VARIANTS:
        raise ModelError(f"unknown feature variant {variant!r}", hint=f"choose one of {', '.join(FEATURE_VARIANTS)}")
    C = {**DEFAULT_C, **(C or {})}
    heads: dict[str, LinearHead] = {}
    tfidf = None
    # callers limit BLAS threads (`blas_limits`) around whole CV runs
    if variant in ("tfidf", "concat", "average"):
        if counts is None or terms is None:
            counts, terms = count_matrix(texts)
        tfidf = TfidfFeatures().fit_counts(counts, terms)
        X_t = tfidf.transform_counts(counts)
    if variant in ("embedding", "average"):
        heads["embedding"] = _fit_head(_need(vectors), Y, C["embedding"])
    if variant in ("tfidf", "average"):
        heads["tfidf"] = _fit_head(X_t, Y, C["tfidf"])
    if variant == "concat":
        heads["concat"] = _fit_head(_hstack(_need(vectors), X_t), Y, C["concat"])
    return Fitted(variant=variant, heads=heads, tfidf=tfidf)


@dataclass
class TaggerModel:
    """A trained (or zero-shot) tagger: raw probabilities, calibrated scores, sentence scores."""

    kind: str  # "classifier" | "zero-shot"
    dimension_ids: list[str]
    features: str  # a FEATURE_VARIANTS member, or "zero-shot"
    thresholds: np.ndarray
    heads: dict[str, LinearHead] = field(default_factory=dict)
    tfidf: TfidfFeatures | None = None
    zeroshot: ZeroShot | None = None
    evidence_head: str = "tfidf"
    card: dict[str, Any] = field(default_factory=dict)
    taxonomy: Taxonomy | None = None

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unsaved"))

    @property
    def needs_vectors(self) -> bool:
        """Whether scoring a passage needs its sentence embedding."""
        return self.kind == "zero-shot" or self.features in ("embedding", "concat", "average")

    @property
    def encoder_fingerprint(self) -> str | None:
        return self.card.get("encoder")

    def raw_proba(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Uncalibrated probabilities (n, d)."""
        if self.kind == "zero-shot":
            assert self.zeroshot is not None
            return self.zeroshot.scores(_need(vectors))
        return Fitted(self.features, self.heads, self.tfidf).proba(texts, vectors)

    def scores(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Calibrated scores (n, d): `score >= 0.5` means assigned."""
        if not len(texts):
            return np.zeros((0, len(self.dimension_ids)), dtype=np.float32)
        with blas_limits(1):
            return calibrate(self.raw_proba(texts, vectors), self.thresholds)

    @property
    def can_score_sentences_cheaply(self) -> bool:
        """True when sentences can be scored without encoding them (a TF-IDF head exists)."""
        return "tfidf" in self.heads and self.tfidf is not None

    def sentence_scores(self, sentences: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Scores (n, d) of single sentences for choosing evidence.

        With `vectors` (sentence embeddings) the model's own features score them; without, the
        TF-IDF head does (no encoding). Only the order within a passage matters.
        """
        if not len(sentences):
            return np.zeros((0, len(self.dimension_ids)), dtype=np.float32)
        with blas_limits(1):
            if vectors is not None:
                if self.kind == "zero-shot":
                    return self.zeroshot.scores(vectors)  # type: ignore[union-attr]
                if "embedding" in self.heads:
                    return calibrate(self.heads["embedding"].proba(vectors), self.thresholds)
                return calibrate(self.raw_proba(sentences, vectors), self.thresholds)
            if self.can_score_sentences_cheaply:
                return self.heads["tfidf"].proba(self.tfidf.transform(sentences))  # type: ignore[union-attr]
        raise ModelError("this model needs sentence embeddings to score evidence")


def zeroshot_model(*, taxonomy: Taxonomy, encoder: Any) -> TaggerModel:
    """The fallback for a codebook with no labelled examples (see `tag.zeroshot`)."""
    zs = build_zeroshot(taxonomy, encoder)
    return TaggerModel(
        kind="zero-shot",
        dimension_ids=taxonomy.ids,
        features="zero-shot",
        thresholds=np.full(len(taxonomy.ids), 0.5, dtype=np.float32),
        zeroshot=zs,
        evidence_head="embedding",
        card={"encoder": encoder.fingerprint, "settings": {"features": "zero-shot"}, "metrics": {}},
        taxonomy=taxonomy,
    )
