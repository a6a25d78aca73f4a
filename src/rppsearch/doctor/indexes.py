"""Doctor checks of the derived search indexes on disk (the vectors index and the tantivy
lexical index) against the store; repairs rebuild them from the store."""

from __future__ import annotations

import numpy as np

from ..errors import IndexStateError
from .base import ROWS, DoctorBase
from .findings import Finding, ok

__all__ = ["IndexChecks"]


class IndexChecks(DoctorBase):
    """Checks (and their repairs) on the vectors and lexical indexes."""

    def check_vectors_index(self) -> Finding:
        from ..index import vectors as vindex  # noqa: PLC0415
        from ..index.manifest import read_manifest  # noqa: PLC0415
        from ..store import vectors as vstore  # noqa: PLC0415

        folder = self.settings.vectors_dir
        manifest = read_manifest(folder)
        current = vstore.vector_pks(self.store, model=self.fingerprint)

        def fix() -> str:
            if len(vstore.vector_pks(self.store, model=self.fingerprint)) == 0:
                return "no vectors to index yet"
            result = vindex.refresh_index(self.store, self.settings, force=True, fingerprint=self.fingerprint)
            return f"rebuilt the vectors index from the store ({result.get('count', 0)} rows)"

        def problem(message: str) -> Finding:
            return Finding("vectors:index", "problem", message, action="rebuild it from the store", fix=fix)

        if manifest is None:
            if len(current) == 0:
                return ok("vectors:index", "no vectors index and no vectors to index")
            return problem(f"no vectors index at {folder} for {len(current)} stored vectors")
        try:
            pks, _docs, matrix = vindex.read_index_files(folder, manifest)
        except IndexStateError as exc:
            return problem(exc.message)
        reason = vindex._mismatch(manifest, self.store, self.fingerprint)  # noqa: SLF001
        if reason:
            return problem(reason)
        if not np.array_equal(pks, current):
            return problem(
                f"vectors index holds {len(pks)} passages, the store has {len(current)} current vectors "
                f"(vectors were added or changed after the index was built)"
            )
        differ = self._index_rows_differ(matrix, pks)
        if differ:
            return problem(f"{differ} rows of the vectors index differ from passage_vectors")
        status, message = self._codes_state(folder, manifest, matrix)
        if status:
            return Finding("vectors:index", status, message, action="rebuild it from the store", fix=fix)
        return ok("vectors:index", f"vectors index matches the store ({len(pks)} rows, {manifest.get('model')})", len(pks))

    def check_lexical_index(self) -> Finding:
        """The tantivy index serving BM25. Search falls back to FTS5 when it is missing or
        stale, so a mismatch is a warning (slower searches), repaired by refreshing it."""
        try:
            from ..index import bm25  # noqa: PLC0415
        except ImportError:
            return Finding("lexical:index", "skipped", "the lexical index is not part of this build")
        folder = self.settings.lexical_dir
        passages = int(self.scalar("SELECT count(*) FROM passages"))

        def fix() -> str:
            result = bm25.refresh_lexical(self.store, self.settings, force=not folder.exists() or bool(wrong))
            return f"refreshed the lexical index ({result.get('status')}, {result.get('count', 0)} passages)"

        wrong = ""
        reason = bm25.lexical_state(self.store, self.settings)
        if reason is None:
            try:
                pks = np.load(folder / bm25.PKS_FILE, allow_pickle=False)
            except (OSError, ValueError) as exc:
                wrong = f"unreadable {bm25.PKS_FILE} ({exc})"
            else:
                current = np.fromiter((r[0] for r in self.conn.execute("SELECT pk FROM passages ORDER BY pk")), dtype=np.int64)
                if not np.array_equal(np.sort(pks), current):
                    wrong = f"it lists {len(pks)} passages, the store has {len(current)}"
            if not wrong:
                return ok("lexical:index", f"lexical index matches the store ({passages} passages)", passages)
            reason = f"lexical index disagrees with the store: {wrong}"
        if passages == 0 and not folder.exists():
            return ok("lexical:index", "no lexical index and no passages")
        return Finding(
            "lexical:index", "warning", f"{reason} (BM25 falls back to SQLite FTS5 meanwhile)",
            action="refresh it from the store", fix=fix,
        )

    @staticmethod
    def _codes_state(folder, manifest, matrix: np.ndarray) -> tuple[str, str]:  # noqa: ANN001
        """("warning" or "problem", what is wrong) with the index's sign codes (the coarse scan's),
        or ("", ""). Missing codes only slow searches down (every row is scanned); codes that
        disagree with the matrix would pick the wrong candidates."""
        from ..index import quantized  # noqa: PLC0415

        found = quantized.read_codes(folder, manifest)
        if found is None:
            return "warning", (
                "vectors index has no usable sign codes (written by an earlier version?): "
                "searches scan every row meanwhile (slower on large stores, same results)"
            )
        if not np.array_equal(found, quantized.build_codes(matrix)):
            return "problem", "the vectors index's sign codes do not match its matrix"
        return "", ""

    def _index_rows_differ(self, matrix: np.ndarray, pks: np.ndarray) -> int:
        from ..store import vectors as vstore  # noqa: PLC0415

        differ = 0
        dim = matrix.shape[1] if matrix.ndim == 2 else 0
        for i in range(0, len(pks), ROWS):
            part = pks[i : i + ROWS]
            try:
                stored = vstore.get_vectors(self.store, part.tolist(), model=self.fingerprint, dim=dim)
            except KeyError:
                return len(part)
            if stored.shape != (len(part), dim):
                return len(part)
            block = np.asarray(matrix[i : i + len(part)])
            # the index may hold a narrower dtype (float16): compare with the store's rows cast alike
            differ += int((block != stored.astype(block.dtype)).any(axis=1).sum())
        return differ
