"""Evaluating the tagger: nested cross-validation on the labelled examples, and how often a
model agrees with people's decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ModelError
from ..store import Store
from .classifier import TaggerModel
from .metrics import agreement_with_decisions
from .registry import cached_embed, encoder_for, load_active_model, training_data
from .training import select_features

__all__ = ["evaluate", "model_agreement"]


def model_agreement(model: TaggerModel, settings: Settings, decisions: Sequence[tuple[str, str, bool]]) -> dict[str, Any]:
    """How often `model` agrees with human decisions, given as (target text, dimension id, accepted).

    The texts are scored afresh (embedding them when the model needs it); decisions on
    dimensions the model does not know are ignored.
    """
    known = set(model.dimension_ids)
    usable = [(t, d, a) for t, d, a in decisions if d in known]
    if not usable:
        return agreement_with_decisions([], model.dimension_ids)
    texts = sorted({t for t, _, _ in usable})
    position = {t: i for i, t in enumerate(texts)}
    vectors = encoder_for(settings).encode(texts) if model.needs_vectors else None
    scores = model.scores(texts, vectors)
    index = {d: j for j, d in enumerate(model.dimension_ids)}
    triples = [(d, bool(scores[position[t], index[d]] >= 0.5), bool(a)) for t, d, a in usable]
    return agreement_with_decisions(triples, model.dimension_ids)


def evaluate(
    settings: Settings,
    *,
    taxonomy_path: Path | None = None,
    label_files: Sequence[Path] | None = None,
    extra_examples: Sequence[tuple[str, Sequence[str]]] = (),
    features: str = "auto",
    decisions: Sequence[tuple[str, str, bool]] = (),
    store: Store | None = None,
) -> dict[str, Any]:
    """5-fold nested cross-validation on the labelled examples (every feature variant with
    `features="auto"`), and the active model's agreement with `decisions` when given."""
    data = training_data(taxonomy_path=taxonomy_path, label_files=label_files, extra_examples=extra_examples)
    if not data.examples:
        raise ModelError(
            f"codebook {data.taxonomy.name!r} has no labelled examples to cross-validate",
            hint="pass --labels FILE (JSON lines with text and labels)",
        )
    encoder = encoder_for(settings) if features != "tfidf" else None
    sel = select_features(
        taxonomy=data.taxonomy, examples=data.examples, encoder=encoder, features=features,
        embed=cached_embed(settings, encoder),
    )
    out: dict[str, Any] = {
        "codebook": data.taxonomy.name,
        "training": data.describe(),
        **sel.report(),
        "agreement": None,
    }
    if decisions and store is not None:
        model = load_active_model(store, settings)
        if model is not None:
            out["agreement"] = {"model": model.version, **model_agreement(model, settings, decisions)}
    return out
