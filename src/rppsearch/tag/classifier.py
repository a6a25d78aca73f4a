"""The dimension classifier: one-vs-rest logistic regression on embeddings and/or TF-IDF.

Feature variants (`FEATURE_VARIANTS`):
- `embedding`: the passage's sentence embedding (the vectors the search index stores);
- `tfidf`: word 1–2 gram TF-IDF;
- `concat`: both, concatenated (each part l2-normalised);
- `average`: the mean of the `embedding` and `tfidf` models' probabilities.

`train_model` picks the variant with the best nested cross-validated macro-F1 (`features="auto"`)
or uses the one asked for. Variants within `TIE_MARGIN` of the best count as tied (the
differences are within fold-to-fold noise) and the tie goes to the combined features, which
held up best when trained on one writer's examples and tested on another's. Per-dimension thresholds maximise F1 on out-of-fold probabilities;
the reported CV metrics choose those thresholds inside each training fold (nested), so they
are not tuned on the fold they score.

Scores shown to users are *calibrated* so that 0.5 is each dimension's decision threshold
t: p ↦ 0.5·p/t below t and 0.5 + 0.5·(p − t)/(1 − t) above it. They keep the order of the
probabilities, compare across dimensions, and `score ≥ 0.5` means assigned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError, TaxonomyError
from ..taxonomy import Taxonomy
from .features import TfidfFeatures, blas_limits, count_matrix
from .metrics import best_thresholds, confusion_summary, multilabel_folds, per_dimension_metrics
from .zeroshot import ZeroShot, build_zeroshot

__all__ = [
    "FEATURE_VARIANTS",
    "DEFAULT_C",
    "MIN_POSITIVES",
    "LinearHead",
    "TaggerModel",
    "calibrate",
    "fit_variant",
    "cross_validate",
    "train_model",
    "zeroshot_model",
    "labels_matrix",
    "training_matrix",
    "codebook_training_examples",
]

FEATURE_VARIANTS = ("embedding", "tfidf", "concat", "average")
DEFAULT_C = {"embedding": 16.0, "tfidf": 64.0, "concat": 16.0}
# Among variants within TIE_MARGIN macro-F1 of the best, prefer those that use both views of the text.
TIE_MARGIN = 0.01
PREFERENCE = ("average", "concat", "embedding", "tfidf")
MIN_POSITIVES = 5
N_FOLDS = 5
INNER_FOLDS = 3


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


def _subset(vectors: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if vectors is None else vectors[idx]


def _oof_proba(
    variant: str,
    texts: list[str],
    vectors: np.ndarray | None,
    Y: np.ndarray,
    folds: np.ndarray,
    C: dict[str, float] | None,
    counts: Any = None,
    terms: Sequence[str] | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities; rows in fold -1 are always training rows (their output stays 0)."""
    if counts is None and variant != "embedding":
        counts, terms = count_matrix(texts)
    out = np.zeros(Y.shape, dtype=np.float32)
    for k in np.unique(folds[folds >= 0]):
        train = np.flatnonzero(folds != k)
        test = np.flatnonzero(folds == k)
        fitted = fit_variant(
            variant, [texts[i] for i in train], _subset(vectors, train), Y[train], C=C,
            counts=_rows(counts, train), terms=terms,
        )
        out[test] = fitted.proba([texts[i] for i in test], _subset(vectors, test), counts=_rows(counts, test))
    return out


def _rows(counts: Any, idx: np.ndarray) -> Any:
    return None if counts is None else counts[idx]


def cross_validate(
    variant: str,
    texts: Sequence[str],
    vectors: np.ndarray | None,
    Y: np.ndarray,
    ids: Sequence[str],
    *,
    n_folds: int = N_FOLDS,
    seed: int = 0,
    C: dict[str, float] | None = None,
    fixed: np.ndarray | None = None,
) -> dict[str, Any]:
    """Nested k-fold CV of one variant: thresholds chosen inside each training fold.

    Rows marked in `fixed` (e.g. the codebook's own sentences) are always in the training
    part and never scored. Returns metrics (per dimension, macro/micro) over the other rows,
    the confusion summary, out-of-fold probabilities and predictions, and the time taken.
    """
    with blas_limits(1):
        return _cross_validate(variant, list(texts), vectors, Y, ids, n_folds=n_folds, seed=seed, C=C, fixed=fixed)


def make_folds(Y: np.ndarray, n_folds: int, *, seed: int, fixed: np.ndarray | None = None) -> np.ndarray:
    """Stratified fold numbers for the rows not `fixed`; -1 for fixed rows."""
    fixed = np.zeros(len(Y), dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    folds = np.full(len(Y), -1)
    folds[~fixed] = multilabel_folds(Y[~fixed], n_folds, seed=seed)
    return folds


def _cross_validate(
    variant: str,
    texts: list[str],
    vectors: np.ndarray | None,
    Y: np.ndarray,
    ids: Sequence[str],
    *,
    n_folds: int,
    seed: int,
    C: dict[str, float] | None,
    fixed: np.ndarray | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    counts, terms = count_matrix(texts) if variant != "embedding" else (None, None)
    folds = make_folds(Y, n_folds, seed=seed, fixed=fixed)
    proba = np.zeros(Y.shape, dtype=np.float32)
    pred = np.zeros(Y.shape, dtype=bool)
    for k in range(n_folds):
        train = np.flatnonzero(folds != k)
        test = np.flatnonzero(folds == k)
        tr_texts = [texts[i] for i in train]
        inner = make_folds(Y[train], INNER_FOLDS, seed=seed + 1 + k, fixed=folds[train] < 0)
        inner_proba = _oof_proba(
            variant, tr_texts, _subset(vectors, train), Y[train], inner, C, counts=_rows(counts, train), terms=terms
        )
        scored = inner >= 0
        thresholds = best_thresholds(inner_proba[scored], Y[train][scored])
        fitted = fit_variant(
            variant, tr_texts, _subset(vectors, train), Y[train], C=C, counts=_rows(counts, train), terms=terms
        )
        proba[test] = fitted.proba([texts[i] for i in test], _subset(vectors, test), counts=_rows(counts, test))
        pred[test] = proba[test] >= thresholds[None, :]
    scored = folds >= 0
    metrics = per_dimension_metrics(Y[scored], pred[scored], ids)
    return {
        "variant": variant,
        "metrics": metrics,
        "confusion": confusion_summary(Y[scored], pred[scored], ids),
        "proba": proba,
        "seconds": round(time.perf_counter() - started, 3),
    }


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


def labels_matrix(examples: Sequence[tuple[str, Sequence[str]]], ids: Sequence[str]) -> np.ndarray:
    """(n, d) 0/1 matrix of example labels."""
    index = {d: j for j, d in enumerate(ids)}
    Y = np.zeros((len(examples), len(ids)), dtype=np.int8)
    for i, (_, labels) in enumerate(examples):
        for label in labels:
            if label not in index:
                raise TaxonomyError(f"example {i + 1}: unknown dimension id {label!r}")
            Y[i, index[label]] = 1
    return Y


def codebook_training_examples(taxonomy: Taxonomy) -> list[tuple[str, tuple[str, ...]]]:
    """Each dimension's definition, include notes and examples as (text, (dimension,)) pairs."""
    return [(text, (dim.id,)) for dim in taxonomy.dimensions for text in dim.prototype_texts()]


def training_matrix(
    taxonomy: Taxonomy, examples: Sequence[tuple[str, Sequence[str]]], *, codebook_examples: bool = True
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, label matrix and the `fixed` mask (codebook rows: always trained on, never scored)."""
    texts = [t for t, _ in examples]
    Y = labels_matrix(examples, taxonomy.ids)
    if codebook_examples:
        extra = codebook_training_examples(taxonomy)
        texts += [t for t, _ in extra]
        Y = np.concatenate([Y, labels_matrix(extra, taxonomy.ids)])
    return texts, Y, np.arange(len(texts)) >= len(examples)


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


@dataclass
class Selection:
    """The nested cross-validation of every feature variant tried, and the one it picked."""

    texts: list[str]
    vectors: np.ndarray | None
    Y: np.ndarray
    fixed: np.ndarray  # rows that are codebook wording: trained on, never scored
    results: dict[str, dict[str, Any]]
    best: str

    def report(self) -> dict[str, Any]:
        """The selected variant's CV metrics and every variant's summary (the model card's `metrics`)."""
        return {
            "selected": self.best,
            "cv": _public(self.results[self.best]),
            "variants": {v: _summary(r) for v, r in self.results.items()},
        }


def select_features(
    *,
    taxonomy: Taxonomy,
    examples: Sequence[tuple[str, Sequence[str]]],
    encoder: Any | None,
    features: str = "auto",
    embed: Callable[[list[str]], np.ndarray] | None = None,
    C: dict[str, float] | None = None,
    seed: int = 0,
    codebook_examples: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> Selection:
    """Cross-validate the feature variants `features` names ("auto": all of them, only `tfidf`
    without an encoder) on labelled `examples` and pick the best macro-F1 (ties within
    `TIE_MARGIN` go to the simpler variant). TaxonomyError when the examples are too few."""
    say = on_step or (lambda message: None)
    ids = taxonomy.ids
    Y = labels_matrix(examples, ids)
    thin = [f"{d} ({int(c)})" for d, c in zip(ids, Y.sum(axis=0)) if c < MIN_POSITIVES]
    if thin:
        raise TaxonomyError(
            f"too few labelled examples for {', '.join(thin)}: each dimension needs at least {MIN_POSITIVES}",
            hint="add examples, or train with no examples for the zero-shot model",
        )
    if len(examples) < 2 * N_FOLDS:
        raise TaxonomyError(f"{len(examples)} labelled examples are too few (need at least {2 * N_FOLDS})")
    texts, Y, fixed = training_matrix(taxonomy, examples, codebook_examples=codebook_examples)
    if features == "auto":
        variants = list(FEATURE_VARIANTS) if encoder is not None else ["tfidf"]
    elif features in FEATURE_VARIANTS:
        variants = [features]
    else:
        raise ModelError(f"unknown features {features!r}", hint=f"choose auto or one of {', '.join(FEATURE_VARIANTS)}")
    vectors = None
    if any(v != "tfidf" for v in variants):
        if encoder is None:
            raise ModelError(f"features {features!r} need an embedding model")
        say(f"embedding {len(texts)} examples")
        vectors = np.asarray((embed or encoder.encode)(texts), dtype=np.float32)
    results: dict[str, dict[str, Any]] = {}
    for variant in variants:
        say(f"cross-validating {variant} features")
        results[variant] = cross_validate(variant, texts, vectors, Y, ids, seed=seed, C=C, fixed=fixed)
    top = max(results[v]["metrics"]["macro_f1"] for v in variants)
    best = min((v for v in variants if results[v]["metrics"]["macro_f1"] >= top - TIE_MARGIN), key=PREFERENCE.index)
    return Selection(texts=texts, vectors=vectors, Y=Y, fixed=fixed, results=results, best=best)


def train_model(
    *,
    taxonomy: Taxonomy,
    examples: Sequence[tuple[str, Sequence[str]]],
    encoder: Any | None,
    features: str = "auto",
    embed: Callable[[list[str]], np.ndarray] | None = None,
    C: dict[str, float] | None = None,
    seed: int = 0,
    codebook_examples: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> TaggerModel:
    """Train a tagger on `examples` ((text, labels) pairs); the zero-shot model when there are none.

    `features` is one of `FEATURE_VARIANTS` or "auto" (cross-validate them all and keep the
    best macro-F1; without an encoder only `tfidf`). `embed` turns example texts into vectors
    (default: `encoder.encode`; pass a cached one). With `codebook_examples`, each
    dimension's definition, include notes and example sentences join the training data as
    examples of that dimension (always on the training side of every fold, never scored):
    they carry the codebook's own wording, which held up better on text written by someone
    other than the examples' authors. The returned model's card holds the CV metrics of
    every variant tried; `tag.persist.save_model` adds version and hashes.
    """
    say = on_step or (lambda message: None)
    ids = taxonomy.ids
    if not examples:
        if encoder is None:
            raise ModelError("no labelled examples and no encoder: nothing to train a zero-shot model with")
        say("no labelled examples: building the zero-shot model")
        return zeroshot_model(taxonomy=taxonomy, encoder=encoder)
    sel = select_features(
        taxonomy=taxonomy, examples=examples, encoder=encoder, features=features, embed=embed, C=C, seed=seed,
        codebook_examples=codebook_examples, on_step=say,
    )
    texts, vectors, Y, fixed, results, best = sel.texts, sel.vectors, sel.Y, sel.fixed, sel.results, sel.best
    n_labelled = len(examples)
    say(f"fitting the {best} model on all {n_labelled} examples")
    with blas_limits(1):
        # the outer cross-validation's out-of-fold probabilities: refitting its folds gives the same
        oof = results[best]["proba"]
        thresholds = best_thresholds(oof[~fixed], Y[~fixed])
        fitted = fit_variant(best, texts, vectors, Y, C=C)
        heads = dict(fitted.heads)
        tfidf = fitted.tfidf
        if "tfidf" not in heads:  # a small TF-IDF head scores evidence sentences without encoding them
            aux = fit_variant("tfidf", texts, vectors, Y, C=C)
            heads["tfidf"] = aux.heads["tfidf"]
            tfidf = tfidf or aux.tfidf  # same texts, same settings: the same vocabulary
    Cs = {**DEFAULT_C, **(C or {})}
    card = {
        "encoder": encoder.fingerprint if (encoder is not None and best != "tfidf") else None,
        "settings": {
            "features": best,
            "C": {k: Cs[k] for k in heads if k in Cs},
            "tfidf": {"ngram_max": tfidf.ngram_max, "min_df": tfidf.min_df, "max_features": tfidf.max_features} if tfidf else None,
            "class_weight": "balanced",
            "codebook_examples": int(fixed.sum()),
            "cv": {"folds": N_FOLDS, "inner_folds": INNER_FOLDS, "seed": seed, "stratification": "iterative"},
        },
        "metrics": sel.report(),
    }
    return TaggerModel(
        kind="classifier",
        dimension_ids=ids,
        features=best,
        thresholds=thresholds.astype(np.float32),
        heads=heads,
        tfidf=tfidf,
        evidence_head="tfidf",
        card=card,
        taxonomy=taxonomy,
    )


def _public(result: dict[str, Any]) -> dict[str, Any]:
    return {**result["metrics"], "confusion": result["confusion"], "seconds": result["seconds"]}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    m = result["metrics"]
    return {
        "macro_f1": round(m["macro_f1"], 4),
        "micro_f1": round(m["micro_f1"], 4),
        "f1": {r["dimension"]: round(r["f1"], 4) for r in m["dimensions"]},
        "seconds": result["seconds"],
    }
