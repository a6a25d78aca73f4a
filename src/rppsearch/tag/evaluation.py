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
from ..store.chunked import select_in
from .classifier import TaggerModel
from .metrics import agreement_with_decisions
from .pipeline import passage_scores
from .registry import cached_embed, encoder_for, load_active_model, training_data
from .training import select_features

__all__ = ["evaluate", "model_agreement"]


def model_agreement(
    model: TaggerModel, settings: Settings, *, store: Store, decisions: Sequence[tuple[int, str, bool]]
) -> dict[str, Any]:
    """How often `model` agrees with human decisions on passages, given as (passage pk,
    dimension id, accepted).

    Each passage is scored on what tagging scores (`tag.pipeline.passage_scores`): its text
    and its vector of title, heading and text, the stored one when current, else encoded
    afresh (nothing is written). Decisions on dimensions the model does not know, or on
    passages no longer in the store, are ignored.
    """
    known = set(model.dimension_ids)
    wanted = sorted({int(pk) for pk, d, _ in decisions if d in known})
    texts = dict(select_in(store, "SELECT pk, text FROM passages WHERE pk IN", wanted)) if wanted else {}
    usable = [(int(pk), d, a) for pk, d, a in decisions if d in known and int(pk) in texts]
    if not usable:
        return agreement_with_decisions([], model.dimension_ids)
    pks = sorted(texts)
    position = {pk: i for i, pk in enumerate(pks)}
    scores, _ = passage_scores(store, settings, model, pks=pks, texts=[texts[pk] for pk in pks], save=False)
    index = {d: j for j, d in enumerate(model.dimension_ids)}
    triples = [(d, bool(scores[position[pk], index[d]] >= 0.5), bool(a)) for pk, d, a in usable]
    return agreement_with_decisions(triples, model.dimension_ids)


def evaluate(
    settings: Settings,
    *,
    taxonomy_path: Path | None = None,
    label_files: Sequence[Path] | None = None,
    extra_examples: Sequence[tuple[str, Sequence[str]] | tuple[str, Sequence[str], str]] = (),
    features: str = "auto",
    decisions: Sequence[tuple[int, str, bool]] = (),
    store: Store | None = None,
) -> dict[str, Any]:
    """5-fold nested cross-validation on the labelled examples (every feature variant with
    `features="auto"`), and the active model's agreement with `decisions` (passage pk,
    dimension id, accepted: `model_agreement`) when given."""
    data = training_data(taxonomy_path=taxonomy_path, label_files=label_files, extra_examples=extra_examples)
    if not data.examples:
        raise ModelError(
            f"codebook {data.taxonomy.name!r} has no labelled examples to cross-validate",
            hint="pass --labels FILE (JSON lines with text and labels)",
        )
    encoder = encoder_for(settings) if features != "tfidf" else None
    sel = select_features(
        taxonomy=data.taxonomy, examples=data.examples, encoder=encoder, features=features,
        embed=cached_embed(settings, encoder), embed_as=data.embed_as,
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
            out["agreement"] = {"model": model.version, **model_agreement(model, settings, store=store, decisions=decisions)}
    return out
