"""Evidence: for each assigned tag, the 1–3 sentences of the passage that carry it.

Sentences are spaCy sentence spans (`ingest.nlp.sentence_spans`), with character offsets into
the passage text. Two ways to score them:
- `tfidf` (default for trained models): the model's TF-IDF head scores each sentence — no
  encoding, a few milliseconds per passage;
- `embedding`: the sentences of passages with an assigned tag are encoded and scored with the
  model's own embedding features (the zero-shot model's only option; slower).
The top sentence is always kept; the next ones join while their score is at least
`MIN_SCORE`, up to `MAX_SENTENCES`, and are returned in reading order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..models import Evidence
from .classifier import TaggerModel

__all__ = ["MAX_SENTENCES", "MIN_SCORE", "evidence_for_passages", "choose_mode"]

MAX_SENTENCES = 3
MIN_SCORE = 0.5


def choose_mode(model: TaggerModel, mode: str = "auto") -> str:
    """`tfidf` when the model can score sentences without encoding them, else `embedding`."""
    if mode == "auto":
        return "tfidf" if model.can_score_sentences_cheaply else "embedding"
    if mode not in ("tfidf", "embedding"):
        raise ValueError(f"unknown evidence mode {mode!r}")
    return mode


def evidence_for_passages(
    model: TaggerModel,
    texts: Sequence[str],
    scores: np.ndarray,
    *,
    encoder: Any | None = None,
    mode: str = "auto",
) -> list[dict[str, list[Evidence]]]:
    """For each passage, {dimension id: evidence sentences} for its assigned dimensions.

    `scores` are the passages' calibrated scores (n, d); a dimension is assigned at >= 0.5.
    """
    from ..ingest.nlp import sentence_spans  # noqa: PLC0415

    mode = choose_mode(model, mode)
    ids = model.dimension_ids
    out: list[dict[str, list[Evidence]]] = [{} for _ in texts]
    todo: list[tuple[int, list[tuple[int, int]]]] = []
    for i, text in enumerate(texts):
        if (scores[i] >= 0.5).any():
            spans = sentence_spans(text)
            if spans:
                todo.append((i, spans))
    if not todo:
        return out
    sentences = [texts[i][s:e] for i, spans in todo for s, e in spans]
    if mode == "embedding":
        if encoder is None:
            raise ValueError("embedding evidence needs an encoder")
        vectors = np.asarray(encoder.encode(sentences), dtype=np.float32)
        sent_scores = model.sentence_scores(sentences, vectors)
    else:
        sent_scores = model.sentence_scores(sentences)
    pos = 0
    for i, spans in todo:
        block = sent_scores[pos : pos + len(spans)]
        pos += len(spans)
        for j, dim in enumerate(ids):
            if scores[i, j] < 0.5:
                continue
            order = np.argsort(-block[:, j], kind="stable")
            keep = [int(order[0])]
            for k in order[1:MAX_SENTENCES]:
                if block[k, j] >= MIN_SCORE:
                    keep.append(int(k))
            keep.sort()
            out[i][dim] = [
                Evidence(text=texts[i][spans[k][0] : spans[k][1]], start=spans[k][0], end=spans[k][1], score=round(float(block[k, j]), 4))
                for k in keep
            ]
    return out
