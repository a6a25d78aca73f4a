"""Zero-shot scoring for a codebook without labelled examples.

Each dimension gets a *prototype*: the normalised mean of the embeddings of its definition,
include notes and example sentences. A passage's raw score for a dimension is the cosine
similarity of its vector to the prototype.

Calibration rule (uses only the codebook itself):
- *in*: each of the dimension's own texts against the prototype of its other texts
  (leave-one-out), averaged → how similar on-topic text typically is;
- *out*: every other dimension's texts against this prototype, averaged → how similar
  off-topic text typically is;
- midpoint m = (in + out) / 2 and scale s = max((in − out) / 4, 0.02);
- score = sigmoid((cosine − m) / s), so a passage exactly half-way between typical on- and
  off-topic similarity scores 0.5, and the score is assigned when it reaches 0.5.
A dimension with a single text borrows the mean *in* of the others (0.5 when none has two).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..taxonomy import Taxonomy

__all__ = ["ZeroShot", "build_zeroshot"]

MIN_SCALE = 0.02


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


@dataclass
class ZeroShot:
    """Prototype vectors (d, dim) with per-dimension midpoint and scale."""

    prototypes: np.ndarray
    midpoints: np.ndarray
    scales: np.ndarray

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        return _unit(np.asarray(vectors, dtype=np.float32)) @ self.prototypes.T

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Calibrated 0–1 scores (n, d); 0.5 is the decision point."""
        z = (self.cosines(vectors) - self.midpoints[None, :]) / self.scales[None, :]
        return (1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))).astype(np.float32)


def build_zeroshot(taxonomy: Taxonomy, encoder: object) -> ZeroShot:
    """Encode each dimension's texts once and derive prototypes and the calibration."""
    groups = [d.prototype_texts() for d in taxonomy.dimensions]
    flat = [t for g in groups for t in g]
    vectors = _unit(np.asarray(encoder.encode(flat), dtype=np.float32))  # type: ignore[attr-defined]
    owner = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
    n_dims = len(groups)
    protos = np.stack([_unit(vectors[owner == i].mean(axis=0)) for i in range(n_dims)])
    ins: list[float | None] = []
    outs: list[float] = []
    for i in range(n_dims):
        own = vectors[owner == i]
        if len(own) >= 2:
            total = own.sum(axis=0)
            loo = _unit(total[None, :] - own)
            ins.append(float(np.mean(np.sum(loo * own, axis=1))))
        else:
            ins.append(None)
        others = vectors[owner != i]
        outs.append(float(np.mean(others @ protos[i])) if len(others) else 0.0)
    known = [x for x in ins if x is not None]
    fallback = float(np.mean(known)) if known else 0.5
    in_arr = np.array([x if x is not None else fallback for x in ins], dtype=np.float32)
    out_arr = np.array(outs, dtype=np.float32)
    if n_dims == 1:
        out_arr = in_arr - 4 * 0.05  # no off-topic texts: assume a modest spread
    mid = (in_arr + out_arr) / 2
    scale = np.maximum((in_arr - out_arr) / 4, MIN_SCALE)
    return ZeroShot(prototypes=protos.astype(np.float32), midpoints=mid.astype(np.float32), scales=scale.astype(np.float32))
