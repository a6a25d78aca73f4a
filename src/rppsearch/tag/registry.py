"""The tagger's models in a store: what a model is trained on, training and registering a new
version (made active), and loading the active model, retraining the automatic one when the
shipped codebook, examples or embedding model changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings, default_examples_paths, default_taxonomy_path
from ..errors import ModelError
from ..index.vectors import current_fingerprint
from ..store import Store
from ..store import tags as tagstore
from ..taxonomy import Example, Taxonomy, examples_hash, load_examples, load_taxonomy
from .classifier import TaggerModel
from .features import EmbeddingCache
from .persist import load_model, model_path, new_version_dir, save_model
from .training import labels_matrix, train_model

__all__ = [
    "AUTO_FEATURES",
    "TrainingData",
    "training_data",
    "decided_examples",
    "train_and_register",
    "load_active_model",
    "ensure_model",
    "encoder_for",
    "cached_embed",
]

# The feature set of models trained automatically by `rpp build` / `rpp tag`: the variant the
# full comparison (`rpp train`, `rpp evaluate`) selects on the shipped examples. Skipping that
# comparison makes the first build 3-4x faster; its card still holds nested-CV metrics.
AUTO_FEATURES = "average"


def encoder_for(settings: Settings) -> Any:
    """The embedding model the settings name (loaded once per process by `embed.get_encoder`)."""
    from ..embed import get_encoder  # noqa: PLC0415

    return get_encoder(settings.embedding_model, index_dir=settings.index_dir)


def cached_embed(settings: Settings, encoder: Any | None) -> Callable[[list[str]], np.ndarray] | None:
    """`encoder.encode` through the on-disk cache of example embeddings (None without an encoder)."""
    if encoder is None:
        return None
    cache = EmbeddingCache(settings.models_dir / "cache")
    return lambda texts: cache.embed(texts, encoder)


# -- training data ---------------------------------------------------------------------------
@dataclass
class TrainingData:
    """What a model is trained on, and where it came from."""

    taxonomy: Taxonomy
    examples: list[tuple[str, tuple[str, ...]]]
    files: list[str]
    n_extra: int
    shipped: bool  # the shipped codebook and examples, nothing else
    # example text -> what is encoded for it, where that differs (a stored passage: title, heading, text)
    embed_as: dict[str, str] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        """The examples' identity: texts and labels, and what is encoded for them when not the text."""
        base = examples_hash(self.examples)
        if not self.embed_as:
            return base
        digest = hashlib.sha256(base.encode("ascii"))
        digest.update(json.dumps(sorted(self.embed_as.items()), ensure_ascii=False).encode("utf-8"))
        return digest.hexdigest()

    def describe(self) -> dict[str, Any]:
        ids = self.taxonomy.ids
        Y = labels_matrix(self.examples, ids) if self.examples else np.zeros((0, len(ids)))
        return {
            "hash": self.hash,
            "n_examples": len(self.examples),
            "files": self.files,
            "n_extra": self.n_extra,
            "n_encoded_in_context": len(self.embed_as),
            "shipped": self.shipped,
            "label_counts": {d: int(c) for d, c in zip(ids, Y.sum(axis=0))},
            "n_none": int((Y.sum(axis=1) == 0).sum()) if len(Y) else 0,
            "n_multi": int((Y.sum(axis=1) > 1).sum()) if len(Y) else 0,
        }


def training_data(
    *,
    taxonomy_path: Path | None = None,
    label_files: Sequence[Path] | None = None,
    extra_examples: Sequence[tuple[str, Sequence[str]] | tuple[str, Sequence[str], str]] = (),
) -> TrainingData:
    """The codebook and labelled examples to train on.

    Defaults: the shipped codebook; its shipped examples when it is the shipped codebook and
    no `label_files` are given (another codebook without label files gets no examples: the
    zero-shot model). `extra_examples` (e.g. human decisions: `decided_examples`) are added,
    each (text, labels) or (text, labels, what to encode for it); an extra example whose text
    is also a file example replaces it (people's latest decision wins).
    """
    default_path = default_taxonomy_path()
    path = Path(taxonomy_path) if taxonomy_path else default_path
    taxonomy = load_taxonomy(path)
    is_default = taxonomy.hash == load_taxonomy(default_path).hash
    if label_files:
        files = [Path(f) for f in label_files]
    elif is_default:
        files = default_examples_paths()
    else:
        files = []
    loaded: list[Example] = load_examples(files, taxonomy=taxonomy) if files else []
    order = {d: i for i, d in enumerate(taxonomy.ids)}
    merged: dict[str, tuple[str, ...]] = {}
    for ex in loaded:
        merged[ex.text] = ex.labels
    n_extra = 0
    embed_as: dict[str, str] = {}
    for item in extra_examples:
        text, labels = item[0].strip(), item[1]
        if not text:
            continue
        unknown = [label for label in labels if label not in order]
        if unknown:
            from ..errors import TaxonomyError  # noqa: PLC0415

            raise TaxonomyError(
                f"a labelled passage has dimension {unknown[0]!r}, which codebook {taxonomy.name!r} does not have",
                hint="people's decisions were made with another codebook: train with --no-human",
            )
        merged[text] = tuple(sorted(set(labels), key=order.__getitem__))
        encoded = item[2] if len(item) > 2 else text  # type: ignore[misc]
        if encoded != text:
            embed_as[text] = encoded
        else:
            embed_as.pop(text, None)
        n_extra += 1
    return TrainingData(
        taxonomy=taxonomy,
        examples=list(merged.items()),
        files=[str(f) for f in label_files] if label_files else [f.name for f in files],
        n_extra=n_extra,
        shipped=is_default and not label_files and n_extra == 0,
        embed_as=embed_as,
    )


def decided_examples(store: Store, *, settings: Settings | None = None) -> list[tuple[str, list[str], str]]:
    """The passages people finished deciding (`store.label_rows.training_passages`) as training
    examples (text, labels, what to encode): encoded as tagging encodes the passage, its document
    title, heading path and text (`index.vectors.embedding_text`), so a model learns them in the
    form it later scores them in. Word features read the text alone, as in tagging.

    With `settings`, the passages' current stored vectors (those tagging scores) go into the
    example cache under that text, so training uses them instead of encoding the passages again.
    """
    from ..index.vectors import embedding_text  # noqa: PLC0415
    from ..store import vectors as vstore  # noqa: PLC0415
    from ..store.label_rows import training_passages  # noqa: PLC0415

    decided = training_passages(store)
    rows = vstore.passages_for_embedding(store, [pk for pk, _, _ in decided])
    encoded = {pk: embedding_text(title, heading, text) for pk, _, title, heading, text in rows}
    if settings is not None and encoded:
        fingerprint = current_fingerprint(settings)
        stored = [pk for pk in vstore.vector_pks(store, model=fingerprint).tolist() if pk in encoded]
        if stored:
            vectors = vstore.get_vectors(store, stored, model=fingerprint)
            cache = EmbeddingCache(settings.models_dir / "cache")
            cache.add([encoded[pk] for pk in stored], vectors, fingerprint=fingerprint)
    return [(text, labels, encoded.get(pk, text)) for pk, text, labels in decided]


# Trained models kept for the life of the process, keyed by codebook, data, encoder and features:
# several index dirs built in one process (tests, notebooks) train once. Never written to disk.
_TRAINED: dict[tuple[str, str, str, str], TaggerModel] = {}
_TRAINED_MAX = 4


def _train(data: TrainingData, settings: Settings, *, features: str, on_step: Callable[[str], None] | None) -> TaggerModel:
    import copy  # noqa: PLC0415

    needs_encoder = not (features == "tfidf" and data.examples)
    key = (data.taxonomy.hash, data.hash, current_fingerprint(settings) if needs_encoder else "-", features)
    if key in _TRAINED:
        return copy.deepcopy(_TRAINED[key])
    encoder = encoder_for(settings) if needs_encoder else None
    model = train_model(
        taxonomy=data.taxonomy, examples=data.examples, encoder=encoder, features=features,
        embed=cached_embed(settings, encoder), embed_as=data.embed_as, on_step=on_step,
    )
    if len(_TRAINED) >= _TRAINED_MAX:
        _TRAINED.pop(next(iter(_TRAINED)))
    _TRAINED[key] = copy.deepcopy(model)
    return model


def train_and_register(
    store: Store,
    settings: Settings,
    *,
    taxonomy_path: Path | None = None,
    label_files: Sequence[Path] | None = None,
    extra_examples: Sequence[tuple[str, Sequence[str]] | tuple[str, Sequence[str], str]] = (),
    features: str = "auto",
    activate: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> TaggerModel:
    """Train a model (see `training_data`), save it as a new version, register it (active).

    When activated, the store's `dimensions` table is synced to the model's codebook.
    """
    data = training_data(taxonomy_path=taxonomy_path, label_files=label_files, extra_examples=extra_examples)
    model = _train(data, settings, features=features, on_step=on_step)
    version, _ = new_version_dir(settings.models_dir, tagstore.next_model_number(store))
    folder = save_model(model, models_dir=settings.models_dir, version=version, taxonomy=data.taxonomy, training=data.describe())
    with store.transaction():
        tagstore.register_model(store, model.card, path=_relative(folder, settings), activate=activate)
        if activate:
            tagstore.sync_dimensions(store, data.taxonomy)
    return model


def _relative(folder: Path, settings: Settings) -> str:
    try:
        return str(folder.resolve().relative_to(settings.index_dir.resolve()))
    except ValueError:
        return str(folder.resolve())


def load_active_model(store: Store, settings: Settings, *, taxonomy: Taxonomy | None = None, check_encoder: bool = True) -> TaggerModel | None:
    """The active model, checked against `taxonomy` (when given) and the settings' encoder; None when no model."""
    row = tagstore.active_model(store)
    if row is None:
        return None
    return load_model(
        model_path(row, settings.index_dir),
        taxonomy=taxonomy,
        encoder_fingerprint=current_fingerprint(settings) if check_encoder else None,
    )


def _stale_reason(store: Store, settings: Settings) -> tuple[str | None, TaggerModel | None]:
    """(why the active model must be retrained automatically, the loaded active model).

    Retrained automatically: no model yet, or one trained on the shipped codebook and
    examples when those (or the embedding model) changed. Models trained on other data are
    never replaced silently: a mismatch with the encoder is a `ModelError`.
    """
    row = tagstore.active_model(store)
    if row is None:
        return "no model yet", None
    model = load_model(model_path(row, settings.index_dir))
    training = model.card.get("training", {})
    if training.get("shipped"):
        data = training_data()
        if model.card["codebook"]["hash"] != data.taxonomy.hash or training.get("hash") != data.hash:
            return "the shipped codebook or examples changed", model
        if model.needs_vectors and model.encoder_fingerprint != current_fingerprint(settings):
            return "the embedding model changed", model
        return None, model
    current = current_fingerprint(settings)
    if model.needs_vectors and model.encoder_fingerprint != current:
        raise ModelError(
            f"model {model.version} uses embeddings from {model.encoder_fingerprint!r}, not from the "
            f"current encoder {current!r}",
            hint="retrain with `rpp train` (or set RPP_MODEL to the encoder the model was trained with)",
        )
    return None, model


def ensure_model(store: Store, settings: Settings, *, on_step: Callable[[str], None] | None = None) -> tuple[TaggerModel, bool]:
    """The active model, training one from the shipped examples first when none exists (or when
    an automatically trained one is out of date). Returns (model, trained_now)."""
    reason, model = _stale_reason(store, settings)
    if reason is not None:
        if on_step:
            on_step(f"training a tagger ({reason})")
        return train_and_register(store, settings, features=AUTO_FEATURES, on_step=on_step), True
    assert model is not None
    return model, False
