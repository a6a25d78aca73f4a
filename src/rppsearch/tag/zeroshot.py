"""Zero-shot scoring for a codebook without labelled examples.

Each dimension gets a *prototype*: the normalised mean of the embeddings of its definition,
include notes and example sentences. A passage's raw similarity to a dimension is the cosine
of its vector with the prototype.

Text from one field is similar to *every* dimension of a codebook for that field, so the
rule scores how much closer a passage is to one dimension than to the codebook as a whole,
and gates that by whether the passage is near the codebook at all:

- relative similarity r_d = cos_d − mean over dimensions of cos;
- calibration from the codebook's own texts: *in* = each dimension's texts against the
  prototype of its other texts (leave-one-out), *out* = other dimensions' texts against
  it, both as relative similarities; midpoint m_d = (in + out) / 2, scale
  s_d = max((in − out) / 4, 0.01);
- gate g = sigmoid((max_d cos_d − G) / S) with G half-way between how similar the
  codebook's texts are to their own dimension's prototype (leave-one-out) and to other
  dimensions' prototypes, S = max((own − other) / 4, 0.01): a passage no nearer to any
  dimension than that is off-topic;
- score_d = sigmoid((r_d − m_d) / s_d) · g, assigned at 0.5.

A dimension with a single text borrows the mean *in* of the others; a one-dimension codebook
uses the absolute cosine against a modest fixed spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..taxonomy import Taxonomy

__all__ = ["ZeroShot", "build_zeroshot"]

MIN_SCALE = 0.01


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass
class ZeroShot:
    """Prototype vectors (d, dim), per-dimension midpoint and scale, and the gate level."""

    prototypes: np.ndarray
    midpoints: np.ndarray
    scales: np.ndarray
    gate: float = -1.0
    gate_scale: float = 0.05

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        return _unit(np.asarray(vectors, dtype=np.float32)) @ self.prototypes.T

    def _relative(self, cos: np.ndarray) -> np.ndarray:
        if cos.shape[1] == 1:
            return cos
        return cos - cos.mean(axis=1, keepdims=True)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Calibrated 0–1 scores (n, d); 0.5 is the decision point."""
        cos = self.cosines(vectors)
        rel = (self._relative(cos) - self.midpoints[None, :]) / self.scales[None, :]
        gate = _sigmoid((cos.max(axis=1, keepdims=True) - self.gate) / self.gate_scale)
        return (_sigmoid(rel) * gate).astype(np.float32)


def build_zeroshot(taxonomy: Taxonomy, encoder: object) -> ZeroShot:
    """Encode each dimension's texts once and derive prototypes and the calibration."""
    groups = [d.prototype_texts() for d in taxonomy.dimensions]
    flat = [t for g in groups for t in g]
    vectors = _unit(np.asarray(encoder.encode(flat), dtype=np.float32))  # type: ignore[attr-defined]
    owner = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
    n_dims = len(groups)
    protos = np.stack([_unit(vectors[owner == i].mean(axis=0)) for i in range(n_dims)])
    cos = vectors @ protos.T  # every codebook text against every prototype
    for i in range(n_dims):  # own dimension: leave the text itself out of the prototype
        own = np.flatnonzero(owner == i)
        if len(own) >= 2:
            total = vectors[own].sum(axis=0)
            loo = _unit(total[None, :] - vectors[own])
            cos[own, i] = np.sum(loo * vectors[own], axis=1)
    single = [i for i in range(n_dims) if (owner == i).sum() < 2]
    if n_dims == 1:
        inside = float(np.mean(cos[:, 0])) if len(flat) >= 2 else 0.5
        mid = np.array([inside - 0.1], dtype=np.float32)
        scale = np.array([0.05], dtype=np.float32)
        return ZeroShot(prototypes=protos.astype(np.float32), midpoints=mid, scales=scale, gate=-1.0)
    rel = cos - cos.mean(axis=1, keepdims=True)
    ins = np.array([rel[owner == i, i].mean() for i in range(n_dims)], dtype=np.float64)
    known = [ins[i] for i in range(n_dims) if i not in single]
    for i in single:
        ins[i] = float(np.mean(known)) if known else 0.1
    outs = np.array([rel[owner != i, i].mean() for i in range(n_dims)], dtype=np.float64)
    mid = (ins + outs) / 2
    scale = np.maximum((ins - outs) / 4, MIN_SCALE)
    own_abs = float(np.mean([cos[owner == i, i].mean() for i in range(n_dims)]))
    other_abs = float(cos[owner[:, None] != np.arange(n_dims)[None, :]].mean())
    return ZeroShot(
        prototypes=protos.astype(np.float32),
        midpoints=mid.astype(np.float32),
        scales=scale.astype(np.float32),
        gate=(own_abs + other_abs) / 2,
        gate_scale=max((own_abs - other_abs) / 4, MIN_SCALE),
    )
