"""The tagging stage: tag the store's passages and roll up their documents.

- `tag_store` tags passages whose model tags are missing or from another model version and
  rolls up their documents (training a model first when none exists, see `tag.registry`);
- `rollup_documents` recomputes document tags from stored passage tags.

Training and the active model: `tag.registry`; tagging text without a store: `tag.classify`;
cross-validation and agreement with people: `tag.evaluation`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import ModelError
from ..index.vectors import current_fingerprint
from ..models import Evidence
from ..progress import ProgressFactory, no_progress
from ..store import Store
from ..store import tags as tagstore
from .classifier import TaggerModel
from .evidence import evidence_for_passages
from .registry import encoder_for, ensure_model
from .rollup import rollup

__all__ = ["tag_store", "rollup_documents", "passage_scores", "tagging_vectors"]

BATCH = 256


# -- tagging the store ----------------------------------------------------------------------
def tagging_vectors(
    store: Store, settings: Settings, model: TaggerModel, pks: list[int], *, save: bool = True
) -> tuple[np.ndarray, int]:
    """The vectors tagging scores passages `pks` with, in that order: each one's vector in
    `passage_vectors` for the model's encoder, which encodes its title, heading and text
    (`index.vectors.embedding_text`); missing ones are encoded the same way, and stored with
    `save`. Returns (vectors, number encoded)."""
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
    encoder = encoder_for(settings)
    if encoder.fingerprint != fingerprint:
        raise ModelError(
            f"model {model.version} uses embeddings from {fingerprint!r}, not from {encoder.fingerprint!r}",
            hint="retrain with `rpp train`",
        )
    vectors = encoder.encode([embedding_text(title, heading, text) for _, _, title, heading, text in rows])
    if save:
        with store.transaction():
            vstore.put_vectors(store, ((pk, digest, vec) for (pk, digest, *_), vec in zip(rows, vectors)), model=fingerprint)
        return vstore.get_vectors(store, pks, model=fingerprint), len(rows)
    found = {pk: vec for (pk, *_), vec in zip(rows, vectors)}
    stored = [pk for pk in pks if pk not in found]
    found.update(zip(stored, vstore.get_vectors(store, stored, model=fingerprint, dim=vectors.shape[1])))
    return np.stack([found[pk] for pk in pks]).astype(np.float32, copy=False), len(rows)


def passage_scores(
    store: Store, settings: Settings, model: TaggerModel, *, pks: list[int], texts: list[str], save: bool = True
) -> tuple[np.ndarray, int]:
    """`model`'s scores for passages `pks` on what tagging gives it: their `texts` (word
    features) and `tagging_vectors` (title, heading and text). Returns (scores, number encoded)."""
    vectors, encoded = tagging_vectors(store, settings, model, pks, save=save) if model.needs_vectors else (None, 0)
    return model.scores(texts, vectors), encoded


def _embed_missing(store: Store, settings: Settings, model: TaggerModel, progress: ProgressFactory) -> int:
    """Encode every passage lacking a current vector the way the search index does (longest
    first, chunked, one transaction a chunk), so tagging and search share one encoding."""
    from ..index.vectors import embed_missing  # noqa: PLC0415
    from ..store import vectors as vstore  # noqa: PLC0415

    fingerprint = model.encoder_fingerprint
    if not fingerprint or current_fingerprint(settings) != fingerprint:
        return 0  # `tagging_vectors` reports the mismatch
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
            t0 = time.perf_counter()
            scores, n_new = passage_scores(store, settings, model, pks=pks, texts=texts)
            encoded += n_new
            if model.kind == "zero-shot" and encoder is None and (scores >= 0.5).any():
                encoder = encoder_for(settings)
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
