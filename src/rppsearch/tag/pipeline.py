"""The tagging stage: train and register models, tag the store, classify loose text.

- `train_and_register` trains on the shipped examples (or given files) plus any extra
  (text, labels) pairs — e.g. human decisions — saves the model and makes it active;
- `tag_store` tags passages whose model tags are missing or from another model version and
  rolls up their documents (training a model first when none exists);
- `classify_texts` / `classify_file` tag text without storing anything;
- `evaluate` cross-validates on the labelled examples and, given human decisions, reports how
  often the active model agreed with them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings, default_examples_paths, default_taxonomy_path
from ..errors import ModelError
from ..index.vectors import current_fingerprint
from ..models import Evidence
from ..progress import ProgressFactory, no_progress
from ..store import Store
from ..store import tags as tagstore
from ..taxonomy import Example, Taxonomy, examples_hash, load_examples, load_taxonomy
from .classifier import TaggerModel
from .evidence import evidence_for_passages
from .features import EmbeddingCache, blas_limits
from .metrics import agreement_with_decisions
from .persist import load_model, model_path, new_version_dir, save_model
from .rollup import rollup
from .training import labels_matrix, select_features, train_model

__all__ = [
    "TrainingData",
    "training_data",
    "train_and_register",
    "load_active_model",
    "ensure_model",
    "tag_store",
    "rollup_documents",
    "classify_texts",
    "classify_file",
    "evaluate",
    "model_agreement",
]

# The feature set of models trained automatically by `rpp build` / `rpp tag`: the variant the
# full comparison (`rpp train`, `rpp evaluate`) selects on the shipped examples. Skipping that
# comparison makes the first build 3-4x faster; its card still holds nested-CV metrics.
AUTO_FEATURES = "average"

BATCH = 256


def _encoder(settings: Settings) -> Any:
    from ..embed import get_encoder  # noqa: PLC0415

    return get_encoder(settings.embedding_model, index_dir=settings.index_dir)


def _cached_embed(settings: Settings, encoder: Any | None) -> Callable[[list[str]], np.ndarray] | None:
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

    @property
    def hash(self) -> str:
        return examples_hash(self.examples)

    def describe(self) -> dict[str, Any]:
        ids = self.taxonomy.ids
        Y = labels_matrix(self.examples, ids) if self.examples else np.zeros((0, len(ids)))
        return {
            "hash": self.hash,
            "n_examples": len(self.examples),
            "files": self.files,
            "n_extra": self.n_extra,
            "shipped": self.shipped,
            "label_counts": {d: int(c) for d, c in zip(ids, Y.sum(axis=0))},
            "n_none": int((Y.sum(axis=1) == 0).sum()) if len(Y) else 0,
            "n_multi": int((Y.sum(axis=1) > 1).sum()) if len(Y) else 0,
        }


def training_data(
    *,
    taxonomy_path: Path | None = None,
    label_files: Sequence[Path] | None = None,
    extra_examples: Sequence[tuple[str, Sequence[str]]] = (),
) -> TrainingData:
    """The codebook and labelled examples to train on.

    Defaults: the shipped codebook; its shipped examples when it is the shipped codebook and
    no `label_files` are given (another codebook without label files gets no examples: the
    zero-shot model). `extra_examples` (e.g. human decisions) are added; an extra example
    whose text is also a file example replaces it (people's latest decision wins).
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
    for text, labels in extra_examples:
        text = text.strip()
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
        n_extra += 1
    return TrainingData(
        taxonomy=taxonomy,
        examples=list(merged.items()),
        files=[str(f) for f in label_files] if label_files else [f.name for f in files],
        n_extra=n_extra,
        shipped=is_default and not label_files and n_extra == 0,
    )


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
    encoder = _encoder(settings) if needs_encoder else None
    model = train_model(
        taxonomy=data.taxonomy, examples=data.examples, encoder=encoder, features=features,
        embed=_cached_embed(settings, encoder), on_step=on_step,
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
    extra_examples: Sequence[tuple[str, Sequence[str]]] = (),
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


# -- tagging the store ----------------------------------------------------------------------
def _passage_vectors(store: Store, settings: Settings, model: TaggerModel, pks: list[int], texts: list[str]) -> tuple[np.ndarray, int]:
    """Vectors of `pks` from `passage_vectors`; encodes and stores the missing ones. (vectors, n encoded)"""
    from ..store import vectors as vstore  # noqa: PLC0415

    fingerprint = model.encoder_fingerprint or current_fingerprint(settings)
    try:
        return vstore.get_vectors(store, pks, model=fingerprint), 0
    except KeyError:
        pass
    from ..index.vectors import embedding_text  # noqa: PLC0415

    have = set(int(p) for p in vstore.vector_pks(store, model=fingerprint))
    missing = [pk for pk in pks if pk not in have]
    rows = vstore.passages_for_embedding(store, missing)
    encoder = _encoder(settings)
    if encoder.fingerprint != fingerprint:
        raise ModelError(
            f"model {model.version} uses embeddings from {fingerprint!r}, not from {encoder.fingerprint!r}",
            hint="retrain with `rpp train`",
        )
    vectors = encoder.encode([embedding_text(title, heading, text) for _, _, title, heading, text in rows])
    with store.transaction():
        vstore.put_vectors(store, ((pk, digest, vec) for (pk, digest, *_), vec in zip(rows, vectors)), model=fingerprint)
    return vstore.get_vectors(store, pks, model=fingerprint), len(rows)


def _embed_missing(store: Store, settings: Settings, model: TaggerModel, progress: ProgressFactory) -> int:
    """Encode every passage lacking a current vector the way the search index does (longest
    first, chunked, one transaction a chunk), so tagging and search share one encoding."""
    from ..index.vectors import embed_missing  # noqa: PLC0415
    from ..store import vectors as vstore  # noqa: PLC0415

    fingerprint = model.encoder_fingerprint
    if not fingerprint or current_fingerprint(settings) != fingerprint:
        return 0  # `_passage_vectors` reports the mismatch
    if not vstore.missing_vector_pks(store, model=fingerprint):
        return 0
    return int(embed_missing(store, settings, progress=progress).get("encoded", 0))


def _evidence_json(items: list[Evidence]) -> list[dict[str, Any]]:
    return [{"text": e.text, "start": e.start, "end": e.end, "score": e.score} for e in items]


def tag_store(store: Store, settings: Settings, *, progress: ProgressFactory | None = None, force: bool = False) -> dict[str, Any]:
    """Tag the passages whose model tags are missing or from another model version, then roll up
    their documents; human rows are never overwritten. Returns counts for the summary line.

    Uses vectors from `passage_vectors` (encoding and storing any that are missing). With
    `force`, every passage is re-tagged.
    """
    progress = progress or no_progress
    started = time.perf_counter()
    with progress("Checking the tagger", None) as step:
        model, trained = ensure_model(store, settings, on_step=lambda message: step(0, description=message[:1].upper() + message[1:]))
    assert model.taxonomy is not None
    if store.get_meta("taxonomy_hash") != model.taxonomy.hash:
        with store.transaction():
            tagstore.sync_dimensions(store, model.taxonomy)
    ids = model.dimension_ids
    version = model.version
    todo = tagstore.passages_needing_tags(store, model_version=version, n_dimensions=len(ids), force=force)
    encoded = 0
    if todo and model.needs_vectors:
        encoded += _embed_missing(store, settings, model, progress)
    tag_seconds = 0.0
    encoder = None
    documents: set[str] = set()
    with progress("Tagging passages", len(todo)) as advance:
        for i in range(0, len(todo), BATCH):
            batch = todo[i : i + BATCH]
            pks = [p.pk for p in batch]
            texts = [p.text for p in batch]
            vectors = None
            if model.needs_vectors:
                vectors, n_new = _passage_vectors(store, settings, model, pks, texts)
                encoded += n_new
            t0 = time.perf_counter()
            scores = model.scores(texts, vectors)
            if model.kind == "zero-shot" and encoder is None and (scores >= 0.5).any():
                encoder = _encoder(settings)
            evidence = evidence_for_passages(model, texts, scores, encoder=encoder)
            tag_seconds += time.perf_counter() - t0
            rows = [
                tagstore.PassageTagRow(
                    passage_pk=p.pk,
                    dimension_id=dim,
                    score=round(float(scores[k, j]), 5),
                    assigned=bool(scores[k, j] >= 0.5),
                    model_version=version,
                    evidence=_evidence_json(evidence[k].get(dim, [])),
                )
                for k, p in enumerate(batch)
                for j, dim in enumerate(ids)
            ]
            with store.transaction():
                tagstore.write_passage_tags(store, rows)
                tagstore.refresh_dimensions(store, passage_pks=pks)
            documents.update(p.document_id for p in batch)
            advance(len(batch))
    documents.update(tagstore.documents_needing_rollup(store, model_version=version, n_dimensions=len(ids)))
    n_docs = rollup_documents(store, sorted(documents), model_version=version, dimension_ids=ids)
    seconds = time.perf_counter() - started
    return {
        "model": version,
        "trained": trained,
        "passages": len(todo),
        "documents": n_docs,
        "encoded": encoded,
        "seconds": round(seconds, 3),
        "passages_per_s": round(len(todo) / tag_seconds, 1) if tag_seconds and todo else None,
    }


def rollup_documents(store: Store, document_ids: Sequence[str], *, model_version: str, dimension_ids: Sequence[str] | None = None) -> int:
    """Recompute the model document tags of `document_ids` from their stored passage tags (human
    passage decisions included) and refresh `documents.dimensions`. Returns documents written."""
    ids = list(dimension_ids) if dimension_ids is not None else tagstore.dimension_ids(store)
    index = {d: j for j, d in enumerate(ids)}
    written = 0
    for start in range(0, len(document_ids), 500):
        part = list(document_ids[start : start + 500])
        tags = tagstore.passage_tags_for_documents(store, part)
        rows: list[tagstore.DocumentTagRow] = []
        for doc_id in part:
            items = tags.get(doc_id, [])
            if not items:
                continue
            seqs = sorted({seq for seq, *_ in items})
            pos = {s: i for i, s in enumerate(seqs)}
            S = np.zeros((len(seqs), len(ids)), dtype=np.float32)
            A = np.zeros((len(seqs), len(ids)), dtype=bool)
            for seq, dim, score, assigned in items:
                if dim in index:
                    S[pos[seq], index[dim]] = score
                    A[pos[seq], index[dim]] = assigned
            score, assigned, support = rollup(S, A)
            rows.extend(
                tagstore.DocumentTagRow(
                    document_id=doc_id,
                    dimension_id=dim,
                    score=round(float(score[j]), 5),
                    assigned=bool(assigned[j]),
                    n_passages=int(support[j]),
                    model_version=model_version,
                )
                for j, dim in enumerate(ids)
            )
            written += 1
        with store.transaction():
            tagstore.write_document_tags(store, rows)
            tagstore.refresh_dimensions(store, document_ids=part)
    return written


# -- classifying loose text -----------------------------------------------------------------
def _item_result(
    model: TaggerModel,
    passages: list[tuple[int, int, str]],
    scores: np.ndarray,
    evidence: list[dict[str, list[Evidence]]],
    to_source: Callable[[int], int] = lambda o: o,
) -> dict[str, Any]:
    """One item's labels, scores and evidence: the roll-up of its passages, the same as the
    document tags `rpp tag` stores (a one-passage document included).

    Evidence offsets are mapped by `to_source` from the segmented text to the item's text.
    """
    ids = model.dimension_ids
    doc_scores, doc_assigned, support = rollup(scores)
    order = np.argsort(-doc_scores, kind="stable")
    labels = [ids[j] for j in order if doc_assigned[j]]
    ev: dict[str, list[dict[str, Any]]] = {}
    for dim in labels:
        j = ids.index(dim)
        best = np.argsort(-scores[:, j], kind="stable")[: min(3, len(passages))]
        found: list[dict[str, Any]] = []
        for k in best:
            offset = passages[k][0]
            for e in evidence[k].get(dim, []):
                found.append(
                    {
                        "text": e.text,
                        "start": to_source(offset + e.start),
                        "end": to_source(offset + e.end - 1) + 1,
                        "score": e.score,
                        "passage": int(k),
                    }
                )
        found.sort(key=lambda e: -e["score"])
        ev[dim] = sorted(found[:3], key=lambda e: e["start"])
    return {
        "labels": labels,
        "scores": {d: round(float(doc_scores[j]), 4) for j, d in enumerate(ids)},
        "n_passages": {d: int(support[j]) for j, d in enumerate(ids)},
        "evidence": ev,
        "passages": len(passages),
    }


def _score_passages(model: TaggerModel, settings: Settings, embed_texts: list[str], texts: list[str]) -> tuple[np.ndarray, list[dict[str, list[Evidence]]]]:
    encoder = _encoder(settings) if model.needs_vectors else None
    vectors = None
    if encoder is not None:
        with blas_limits(1):
            vectors = encoder.encode(embed_texts)
    scores = model.scores(texts, vectors)
    if model.kind == "zero-shot" and encoder is None:
        encoder = _encoder(settings)
    evidence = evidence_for_passages(model, texts, scores, encoder=encoder)
    return scores, evidence


def _paragraph_map(text: str) -> tuple[list[Any], Callable[[int], int]]:
    """Blocks of `text` (paragraphs split on blank lines) and a map from offsets in the
    segmenter's joined text back to offsets in `text`."""
    import re  # noqa: PLC0415

    from ..ingest.segment import PARAGRAPH_SEP  # noqa: PLC0415
    from ..models import Block  # noqa: PLC0415

    blocks: list[Any] = []
    starts: list[tuple[int, int]] = []  # (joined start, source start)
    joined = 0
    cuts = [(m.start(), m.end()) for m in re.finditer(r"\n[ \t\r\f\v]*\n\s*", text)]
    bounds = [0] + [e for _, e in cuts]
    ends = [s for s, _ in cuts] + [len(text)]
    for lo, hi in zip(bounds, ends):
        chunk = text[lo:hi]
        stripped = chunk.strip()
        if not stripped:
            continue
        if blocks:
            joined += len(PARAGRAPH_SEP)
        blocks.append(Block(stripped))
        starts.append((joined, lo + (len(chunk) - len(chunk.lstrip()))))
        joined += len(stripped)

    def to_source(offset: int) -> int:
        best = starts[0] if starts else (0, 0)
        for j_start, s_start in starts:
            if j_start <= offset:
                best = (j_start, s_start)
            else:
                break
        return best[1] + (offset - best[0])

    return blocks, to_source


def classify_texts(model: TaggerModel, settings: Settings, texts: Sequence[str], *, titles: Sequence[str | None] | None = None) -> list[dict[str, Any]]:
    """Tag each text without storing anything: `labels` (assigned, best first), `scores` (every
    dimension), `evidence` (sentences with offsets into the text as given). A text longer than
    one passage is split like an ingested document and its passages rolled up."""
    from ..index.vectors import embedding_text  # noqa: PLC0415
    from ..ingest.segment import split_passages  # noqa: PLC0415

    items: list[tuple[str, list[tuple[int, int, str]]]] = []
    maps: list[Callable[[int], int]] = []
    for text in texts:
        blocks, to_source = _paragraph_map(text)
        joined, passages = split_passages(blocks)
        items.append((joined, [(p.start, p.end, p.text) for p in passages] or [(0, len(joined), joined)]))
        maps.append(to_source)
    return _classify_items(model, settings, items, titles=titles, embedding_text=embedding_text, maps=maps)


def _classify_items(
    model: TaggerModel,
    settings: Settings,
    items: list[tuple[str, list[tuple[int, int, str]]]],
    *,
    titles: Sequence[str | None] | None,
    embedding_text: Callable[..., str],
    headings: list[list[str]] | None = None,
    maps: list[Callable[[int], int]] | None = None,
) -> list[dict[str, Any]]:
    flat_texts: list[str] = []
    flat_embed: list[str] = []
    for n, (_, passages) in enumerate(items):
        title = titles[n] if titles else None
        for k, (_, _, text) in enumerate(passages):
            heading = headings[n][k] if headings else ""
            flat_texts.append(text)
            flat_embed.append(embedding_text(title, heading, text))
    if flat_texts:
        scores, evidence = _score_passages(model, settings, flat_embed, flat_texts)
    else:
        scores, evidence = np.zeros((0, len(model.dimension_ids)), dtype=np.float32), []
    out = []
    pos = 0
    for n, (_, passages) in enumerate(items):
        k = len(passages)
        mapper = maps[n] if maps else (lambda o: o)
        out.append(_item_result(model, passages, scores[pos : pos + k], evidence[pos : pos + k], mapper))
        pos += k
    return out


def classify_file(model: TaggerModel, settings: Settings, path: Path) -> dict[str, Any]:
    """Parse, clean and split a document file like `rpp ingest` does, then tag it (nothing stored).
    Evidence offsets point into the document's clean text."""
    from ..index.vectors import embedding_text  # noqa: PLC0415
    from ..ingest.metadata import MetadataSources  # noqa: PLC0415
    from ..ingest.pipeline import read_document  # noqa: PLC0415

    path = Path(path)
    # its sidecar, and the nearest catalog.csv that lists it (a catalog only speaks for the
    # files it names, so every folder up to the root may be asked, as ingest of any parent would)
    doc = read_document(path, overrides=MetadataSources().overrides(path, root=Path(path.resolve().anchor)))
    title = doc.metadata.title
    result = _classify_items(
        model,
        settings,
        [(doc.text, [(p.start, p.end, p.text) for p in doc.passages])],
        titles=[title],
        embedding_text=embedding_text,
        headings=[[p.heading for p in doc.passages]],
    )[0]
    return {"id": str(path), "title": title, **result}


# -- evaluation -----------------------------------------------------------------------------
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
    vectors = _encoder(settings).encode(texts) if model.needs_vectors else None
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
    encoder = _encoder(settings) if features != "tfidf" else None
    sel = select_features(
        taxonomy=data.taxonomy, examples=data.examples, encoder=encoder, features=features,
        embed=_cached_embed(settings, encoder),
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
