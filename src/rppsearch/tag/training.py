"""Training the dimension classifier: label matrices, nested cross-validation of the feature
variants, choosing one, and fitting the model on every example (`train_model`).

`train_model` picks the variant with the best nested cross-validated macro-F1 (`features="auto"`)
or uses the one asked for. Variants within `TIE_MARGIN` of the best count as tied (the
differences are within fold-to-fold noise) and the tie goes to the combined features, which
held up best when trained on one writer's examples and tested on another's. Per-dimension thresholds maximise F1 on out-of-fold probabilities;
the reported CV metrics choose those thresholds inside each training fold (nested), so they
are not tuned on the fold they score.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError, TaxonomyError
from ..taxonomy import Taxonomy
from .classifier import DEFAULT_C, FEATURE_VARIANTS, TaggerModel, fit_variant, zeroshot_model
from .features import blas_limits, count_matrix
from .metrics import best_thresholds, confusion_summary, multilabel_folds, per_dimension_metrics

__all__ = [
    "MIN_POSITIVES",
    "Selection",
    "cross_validate",
    "make_folds",
    "select_features",
    "train_model",
    "labels_matrix",
    "training_matrix",
    "codebook_training_examples",
]

# Among variants within TIE_MARGIN macro-F1 of the best, prefer those that use both views of the text.
TIE_MARGIN = 0.01
PREFERENCE = ("average", "concat", "embedding", "tfidf")
MIN_POSITIVES = 5
N_FOLDS = 5
INNER_FOLDS = 3


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
    embed_as: Mapping[str, str] | None = None,
    C: dict[str, float] | None = None,
    seed: int = 0,
    codebook_examples: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> Selection:
    """Cross-validate the feature variants `features` names ("auto": all of them, only `tfidf`
    without an encoder) on labelled `examples` and pick the best macro-F1 (ties within
    `TIE_MARGIN` go to the simpler variant). `embed_as` maps an example's text to what is
    encoded for it (default: the text). TaxonomyError when the examples are too few."""
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
        own = embed_as or {}  # the examples' rows only: codebook wording is encoded as written
        encoded = [own.get(t, t) if not fixed[i] else t for i, t in enumerate(texts)]
        vectors = np.asarray((embed or encoder.encode)(encoded), dtype=np.float32)
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
    embed_as: Mapping[str, str] | None = None,
    C: dict[str, float] | None = None,
    seed: int = 0,
    codebook_examples: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> TaggerModel:
    """Train a tagger on `examples` ((text, labels) pairs); the zero-shot model when there are none.

    `features` is one of `FEATURE_VARIANTS` or "auto" (cross-validate them all and keep the
    best macro-F1; without an encoder only `tfidf`). `embed` turns example texts into vectors
    (default: `encoder.encode`; pass a cached one); `embed_as` maps an example's text to what is
    encoded for it instead (a stored passage: its title, heading and text, as tagging encodes
    it; word features always read the text itself). With `codebook_examples`, each
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
        taxonomy=taxonomy, examples=examples, encoder=encoder, features=features, embed=embed, embed_as=embed_as,
        C=C, seed=seed, codebook_examples=codebook_examples, on_step=say,
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
