"""Sign-bit codes of the vectors index: a coarse scan that picks candidates for exact rescoring.

A float32 matrix-vector product over 100k x 384 rows reads 153 MB a query and is bound by
memory bandwidth (about 9 ms on one core here). Each row's code keeps one bit a dimension, the
sign of (vector - centre), the centre being the mean of all rows (48 bytes a row, 32 times less
to read). The coarse scan scores every row by the query (quantised to 4 bits a dimension)
against those signs, `coarse_scores`; only the best `candidate_count(depth)` rows are then
scored exactly in float32 (`VectorIndex.scores`). Recall against the exact scan on real MiniLM
embeddings: `benchmarks/bench_quantized.py` (`benchmarks/results/quantized.json`).

`indexes/vectors/codes.npy` (uint64, words x rows: word-major, so the scan reads contiguous
columns) is derived from the matrix, written before the manifest and named in it (`codes`:
`CODES_KIND`); an index without it (an earlier version's) is served by the exact scan until
`rpp build` adds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CODES_FILE = "codes.npy"
#: What the codes are: bump when the recipe changes, so old codes are rewritten.
CODES_KIND = "sign-centered/1"
#: Below this many rows the exact scan is cheap enough (about 3 ms on one core) to keep.
MIN_ROWS = 30_000
#: Candidates rescored exactly: at least this many, and `PER_RESULT` for each result asked for.
MIN_CANDIDATES = 2_048
PER_RESULT = 16
#: Bits a dimension the query keeps in the coarse scan (4: as good as the float query, measured).
QUERY_BITS = 4
_BLOCK = 32_768
_SCAN_BLOCK = 8_192


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _bit_count(words: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Set bits of each uint64 (uint8): `np.bitwise_count` (numpy 2), else a byte table
    (pyproject allows numpy 1.26, which lacks it)."""
    count = getattr(np, "bitwise_count", None)
    if count is not None:
        return count(words) if out is None else count(words, out=out)
    found = _POPCOUNT8[np.ascontiguousarray(words).view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1, dtype=np.uint8)
    if out is None:
        return found
    out[...] = found
    return out


def code_words(dim: int) -> int:
    """64-bit words in one row's code."""
    return (dim + 63) // 64


def _pack(bits: np.ndarray) -> np.ndarray:
    """(rows, dim) booleans -> (rows, words) uint64."""
    packed = np.packbits(bits, axis=1)
    pad = code_words(bits.shape[1]) * 8 - packed.shape[1]
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


def build_codes(matrix: np.ndarray) -> np.ndarray:
    """The (words, rows) uint64 sign codes of a (rows, dim) matrix, read in blocks (the matrix may
    be a memory map of float16)."""
    n, dim = matrix.shape
    total = np.zeros(dim, dtype=np.float64)
    for i in range(0, n, _BLOCK):
        total += np.asarray(matrix[i : i + _BLOCK], dtype=np.float64).sum(axis=0)
    center = (total / max(n, 1)).astype(np.float32)
    codes = np.empty((code_words(dim), n), dtype=np.uint64)
    for i in range(0, n, _BLOCK):
        codes[:, i : i + _BLOCK] = _pack(np.asarray(matrix[i : i + _BLOCK], dtype=np.float32) > center).T
    return codes


def read_codes(folder: Path, manifest: dict[str, Any]) -> np.ndarray | None:
    """The codes of the index in `folder` when the manifest names them and their shape fits it;
    None otherwise (the exact scan serves)."""
    if manifest.get("codes") != CODES_KIND:
        return None
    dim, count = int(manifest.get("dim") or 0), int(manifest.get("count") or 0)
    try:
        codes = np.load(folder / CODES_FILE, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if codes.dtype != np.uint64 or codes.shape != (code_words(dim), count):
        return None
    return codes


def query_planes(query: np.ndarray, bits: int | None = None) -> tuple[np.ndarray, float, float]:
    """The query quantised to `bits` (default `QUERY_BITS`) bits a dimension, q ~ low + step * u
    with u in [0, 2**bits): (bit planes of u as codes (bits, words) uint64, low, step)."""
    bits = bits or QUERY_BITS
    q = np.asarray(query, dtype=np.float32).ravel()
    low, high = float(q.min()), float(q.max())
    step = (high - low) / (2**bits - 1) or 1.0
    u = np.rint((q - low) / step).astype(np.uint8)
    return _pack(np.stack([(u >> k) & 1 for k in range(bits)]).astype(bool)), low, step


def coarse_scores(codes: np.ndarray, ones: np.ndarray, query: np.ndarray) -> np.ndarray:
    """sum of q_i over each row's set bits, with q quantised (`query_planes`): (rows,) float32.

    Ranking by it ranks by q . sign(v - centre) (= 2 x it - sum q), the float query against the
    binary rows: far closer to the exact order than the Hamming distance of two codes. Computed
    as popcounts of each query bit plane AND the codes, a block of rows at a time (in cache)."""
    planes, low, step = query_planes(query)
    words, n = codes.shape
    acc = np.empty(n, dtype=np.uint16)
    block = min(_SCAN_BLOCK, max(n, 1))
    tmp = np.empty((words, block), dtype=np.uint64)
    counts = np.empty((words, block), dtype=np.uint8)
    for start in range(0, n, block):
        width = min(block, n - start)
        part, t, c = codes[:, start : start + width], tmp[:, :width], counts[:, :width]
        total = np.zeros(width, dtype=np.uint16)
        for k, plane in enumerate(planes):
            np.bitwise_and(part, plane.reshape(-1, 1), out=t)
            _bit_count(t, out=c)
            total += c.sum(axis=0, dtype=np.uint16) << k
        acc[start : start + width] = total
    return low * ones + step * acc.astype(np.float32)


def row_ones(codes: np.ndarray) -> np.ndarray:
    """Set bits in each row's code: (rows,) float32."""
    return _bit_count(codes).sum(axis=0, dtype=np.uint16).astype(np.float32)


def candidate_count(depth: int) -> int:
    """How many rows the coarse scan hands on for exact scoring when `depth` results are wanted."""
    return max(MIN_CANDIDATES, PER_RESULT * depth)


def candidates(
    codes: np.ndarray, ones: np.ndarray, query: np.ndarray, want: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Sorted row numbers of the `want` rows (all allowed rows when fewer) with the best coarse
    scores for the query (`coarse_scores`); rows where `mask` is False are never among them."""
    scores = coarse_scores(codes, ones, query)
    if mask is not None:
        scores[~mask] = -np.inf
        want = min(want, int(np.count_nonzero(mask)))
    if want >= len(scores):
        return np.flatnonzero(np.isfinite(scores))
    return np.sort(np.argpartition(-scores, want - 1)[:want])
