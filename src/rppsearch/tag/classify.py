"""Tagging loose text without storing anything: `classify_texts` (strings) and `classify_file`
(a document file parsed and split as `rpp ingest` would), with evidence offsets into the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..models import Evidence
from .classifier import TaggerModel
from .evidence import evidence_for_passages
from .features import blas_limits
from .registry import encoder_for
from .rollup import rollup

__all__ = ["classify_texts", "classify_file"]


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
    encoder = encoder_for(settings) if model.needs_vectors else None
    vectors = None
    if encoder is not None:
        with blas_limits(1):
            vectors = encoder.encode(embed_texts)
    scores = model.scores(texts, vectors)
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
    from ..store.documents import encoded_title  # noqa: PLC0415

    path = Path(path)
    # its sidecar, and the nearest catalog.csv that lists it (a catalog only speaks for the
    # files it names, so every folder up to the root may be asked, as ingest of any parent would)
    doc = read_document(path, overrides=MetadataSources().overrides(path, root=Path(path.resolve().anchor)))
    title = doc.metadata.title
    result = _classify_items(
        model,
        settings,
        [(doc.text, [(p.start, p.end, p.text) for p in doc.passages])],
        titles=[encoded_title(title, doc.metadata.sources.get("title"))],  # as tagging a stored copy would
        embedding_text=embedding_text,
        headings=[[p.heading for p in doc.passages]],
    )[0]
    return {"id": str(path), "title": title, **result}
