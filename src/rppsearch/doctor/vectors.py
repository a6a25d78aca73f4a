"""Doctor checks of the passage vectors stored in SQLite: well-formed rows, a re-encoded sample
matching the configured model, no passage without a current vector; repairs re-encode."""

from __future__ import annotations

import random

import numpy as np

from ..store.chunked import chunks, placeholders
from .base import ROWS, DoctorBase
from .findings import Finding, ok

__all__ = ["VectorChecks", "NORM_TOLERANCE", "REENCODE_MIN_COSINE"]

#: A stored vector counts as well-formed when its L2 norm is this close to 1 (or exactly 0).
NORM_TOLERANCE = 0.02
#: Cosine a re-encoded passage must reach against its stored vector (bf16 vs batch noise is ~0.999).
REENCODE_MIN_COSINE = 0.95


class VectorChecks(DoctorBase):
    """Checks (and their repairs) on `passage_vectors`."""

    def _expected_dim(self) -> int | None:
        from ..index.manifest import read_manifest  # noqa: PLC0415

        manifest = read_manifest(self.settings.vectors_dir) or {}
        if manifest.get("model") == self.fingerprint and isinstance(manifest.get("dim"), int):
            return int(manifest["dim"])
        row = self.conn.execute(
            "SELECT length(vector) / 4, count(*) AS n FROM passage_vectors WHERE model = ? "
            "GROUP BY 1 ORDER BY n DESC LIMIT 1",
            (self.fingerprint,),
        ).fetchone()
        return int(row[0]) if row else None

    def bad_vector_pks(self) -> tuple[list[int], int]:
        """Pks of current-model vectors that are malformed (wrong size, non-finite, not unit
        length), and how many were checked. Scanned once a round: fixes run between rounds."""
        if self._bad_vectors is None:
            self._bad_vectors = self._scan_vectors()
        return self._bad_vectors

    def _scan_vectors(self) -> tuple[list[int], int]:
        dim = self._expected_dim()
        if dim is None:
            return [], 0
        bad: list[int] = []
        checked = 0
        cursor = self.conn.execute(
            "SELECT v.passage_pk, v.vector FROM passage_vectors v JOIN passages p ON p.pk = v.passage_pk "
            "WHERE v.model = ? ORDER BY v.passage_pk",
            (self.fingerprint,),
        )
        while True:
            rows = cursor.fetchmany(ROWS)
            if not rows:
                break
            checked += len(rows)
            good = [(pk, blob) for pk, blob in rows if isinstance(blob, bytes) and len(blob) == 4 * dim]
            bad.extend(pk for pk, blob in rows if not (isinstance(blob, bytes) and len(blob) == 4 * dim))
            if not good:
                continue
            matrix = np.frombuffer(b"".join(b for _, b in good), dtype="<f4").reshape(len(good), dim)
            with np.errstate(all="ignore"):
                finite = np.isfinite(matrix).all(axis=1)
                norms = np.sqrt(np.einsum("ij,ij->i", matrix.astype(np.float64), matrix.astype(np.float64)))
            unit = (np.abs(norms - 1.0) <= NORM_TOLERANCE) | (norms == 0.0)
            for (pk, _), fine in zip(good, finite & unit):
                if not fine:
                    bad.append(pk)
        return sorted(bad), checked

    def check_vector_rows(self) -> Finding:
        bad, checked = self.bad_vector_pks()
        if not bad:
            return ok("vectors:rows", f"{checked} stored vectors are well-formed", checked)
        return Finding(
            "vectors:rows", "problem",
            f"{len(bad)} stored vectors are malformed (wrong size, NaN/inf or not unit length), "
            f"passage pks {bad[:5]}", len(bad),
            action="delete and re-encode them", fix=lambda: self._reencode(bad, "malformed"),
        )

    def _reencode(self, pks: list[int], why: str) -> str:
        with self.store.transaction():
            for part in chunks(pks):
                self.conn.execute(f"DELETE FROM passage_vectors WHERE passage_pk IN ({placeholders(len(part))})", part)
        done = self._embed_missing()
        return f"deleted {len(pks)} {why} vectors; {done}"

    def _embed_missing(self) -> str:
        from ..index.vectors import embed_missing  # noqa: PLC0415

        if getattr(self, "_embedded", False):
            return "missing vectors already re-encoded"
        result = embed_missing(self.store, self.settings, progress=self.progress)
        self._embedded = True
        return f"encoded {result.get('encoded', 0)} passages with {result.get('model')}"

    def check_vector_sample(self) -> Finding:
        """Re-encode a few passages: their stored vectors must be what the configured model makes."""
        if self.quick or self.sample <= 0:
            return Finding("vectors:model", "skipped", "not re-encoding a sample (--quick)")
        from ..store import vectors as vstore  # noqa: PLC0415

        pks = vstore.vector_pks(self.store, model=self.fingerprint).tolist()
        if not pks:
            return Finding("vectors:model", "skipped", "no vectors of the configured model to verify")
        bad = set(self.bad_vector_pks()[0])
        pks = [pk for pk in pks if pk not in bad]
        chosen = sorted(random.Random(len(pks)).sample(pks, min(self.sample, len(pks))))
        if not chosen:
            return Finding("vectors:model", "skipped", "no well-formed vectors to verify")
        from ..embed import get_encoder  # noqa: PLC0415
        from ..index.vectors import embedding_text  # noqa: PLC0415

        encoder = get_encoder(self.settings.embedding_model, index_dir=self.settings.index_dir)
        rows = vstore.passages_for_embedding(self.store, chosen)
        fresh = encoder.encode([embedding_text(t, h, x) for _, _, t, h, x in rows])
        stored = vstore.get_vectors(self.store, [r[0] for r in rows], model=self.fingerprint)
        cosines = _cosines(fresh, stored)
        wrong = [int(r[0]) for r, c in zip(rows, cosines) if c < REENCODE_MIN_COSINE]
        if not wrong:
            return ok(
                "vectors:model",
                f"{len(rows)} sampled passages re-encode to their stored vectors "
                f"(min cosine {float(np.min(cosines)):.4f})", len(rows),
            )
        everything = len(wrong) * 2 >= len(rows)

        def fix() -> str:
            if everything:  # most of the sample is wrong: the vectors came from another model
                with self.store.transaction():
                    self.conn.execute("DELETE FROM passage_vectors WHERE model = ?", (self.fingerprint,))
                return f"deleted every vector labelled {self.fingerprint}; {self._embed_missing()}"
            return self._reencode(wrong, "mismatched")

        return Finding(
            "vectors:model", "problem",
            f"{len(wrong)} of {len(rows)} sampled passages do not re-encode to their stored vectors "
            f"(passage pks {wrong[:5]}): not made by {self.fingerprint}", len(wrong),
            action="re-encode every vector" if everything else "re-encode those passages", fix=fix,
        )

    def check_missing_vectors(self) -> Finding:
        total = int(self.scalar("SELECT count(*) FROM passages"))
        current = int(self.scalar(
            "SELECT count(*) FROM passage_vectors v JOIN passages p ON p.pk = v.passage_pk "
            "WHERE v.model = ? AND v.text_hash = p.text_hash",
            (self.fingerprint,),
        ))
        missing = total - current
        if missing == 0:
            return ok("vectors:missing", f"all {total} passages have a vector from {self.fingerprint}", total)
        other = int(self.scalar("SELECT count(*) FROM passage_vectors WHERE model != ?", (self.fingerprint,)))
        extra = f" ({other} stored vectors are from another model)" if other else ""
        return Finding(
            "vectors:missing", "problem",
            f"{missing} of {total} passages have no current vector from {self.fingerprint}{extra}", missing,
            action="encode them", fix=self._embed_missing,
        )


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.sqrt((a * a).sum(axis=1))
    nb = np.sqrt((b * b).sum(axis=1))
    dots = (a * b).sum(axis=1)
    both_zero = (na == 0) & (nb == 0)
    with np.errstate(all="ignore"):
        out = np.where(both_zero, 1.0, dots / np.maximum(na * nb, 1e-12))
    return out
