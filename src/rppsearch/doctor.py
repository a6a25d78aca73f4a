"""`rpp doctor`: check that the store and its derived indexes agree, and repair what is derived.

Checks, in order: schema version, `PRAGMA integrity_check`, the `passages_generation`
counter, orphan rows, FTS5 sync (`integrity-check` against the content tables), passage
counts and offsets, stored vectors (missing, malformed, not made by the configured model),
the vectors index (manifest against the store, files against the manifest, rows against
`passage_vectors`), tags (missing or from an older model), labels pointing at unknown
targets, and temp files left by interrupted writes.

`repair=True` rebuilds only what is derived: FTS indexes ('rebuild'), orphan derived rows,
missing or bad vectors (re-encoded), tags (the tagger), the vectors index (from the store),
stale temp files. It never deletes documents or labels; a document whose passages disagree
with it is marked for re-ingest (its file is re-read by the next `rpp build`/`rpp ingest`).
After repairing, every check runs again; what is still wrong stays a problem.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .errors import IndexStateError, StoreError
from .leftovers import is_temp, remove_path
from .progress import ProgressFactory, no_progress
from .store import SCHEMA_VERSION, Store
from .store.chunked import chunks, placeholders

__all__ = ["Finding", "DoctorReport", "run_doctor", "STATUSES"]


STATUSES = ("ok", "repaired", "warning", "skipped", "problem")
#: A stored vector counts as well-formed when its L2 norm is this close to 1 (or exactly 0).
NORM_TOLERANCE = 0.02
#: Cosine a re-encoded passage must reach against its stored vector (bf16 vs batch noise is ~0.999).
REENCODE_MIN_COSINE = 0.95
#: Temp files of interrupted writes older than this are removed by --repair (younger ones may be in use).
STALE_TEMP_SECONDS = 15 * 60
MAX_REPAIR_ROUNDS = 3
_ROWS = 20_000


@dataclass
class Finding:
    """One check's outcome. `status` is one of STATUSES; only 'problem' fails the run."""

    check: str
    status: str
    message: str
    count: int = 0
    action: str | None = None  # what --repair does (before) or did (after repairing)
    fix: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("fix", None)
        return row


@dataclass
class DoctorReport:
    """What `run_doctor` found (after repairing, when asked) and what it did."""

    findings: list[Finding]
    actions: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "problem"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def rows(self) -> list[dict[str, Any]]:
        return [f.as_row() for f in self.findings]


def _ok(check: str, message: str, count: int = 0) -> Finding:
    return Finding(check, "ok", message, count)


# =========================================================================== entry point


def run_doctor(
    *,
    settings: Settings,
    repair: bool = False,
    quick: bool = False,
    sample: int = 8,
    progress: ProgressFactory | None = None,
) -> DoctorReport:
    """Check the store at `settings.db_path` and its indexes; with `repair`, fix what is derived.

    `quick` skips re-encoding a sample of `sample` passages (the only check that loads the
    embedding model). Raises StoreError when there is no readable store.
    """
    progress = progress or no_progress
    path = settings.db_path
    if not path.exists():
        raise StoreError(f"{path}: no rpp store here", hint="run `rpp build` or `rpp ingest PATH` first")
    version = _raw_schema_version(path)
    actions: list[str] = []
    if version < SCHEMA_VERSION and not repair:
        return DoctorReport(
            [
                Finding(
                    "schema", "problem",
                    f"schema version {version}, this rppsearch expects {SCHEMA_VERSION}",
                    action="--repair applies the migrations",
                )
            ]
        )
    with Store.open(path, create=False) as store:  # migrates an older schema (repair only)
        if version < SCHEMA_VERSION:
            actions.append(f"migrated the schema from version {version} to {SCHEMA_VERSION}")
        def check() -> list[Finding]:
            return _Doctor(store, settings, quick=quick, sample=sample, progress=progress).check_all()

        first = findings = check()
        # Repairs can uncover more (deleting orphan passages makes the index stale): a few rounds.
        for _round in range(MAX_REPAIR_ROUNDS if repair else 0):
            fixes = [f for f in findings if f.fix is not None and f.status in ("problem", "warning")]
            if not fixes:
                break
            for finding in fixes:
                assert finding.fix is not None
                actions.append(finding.fix())
            findings = check()
        if findings is not first:
            before = {f.check: f for f in first}
            for finding in findings:
                old = before.get(finding.check)
                if old is not None and old.status in ("problem", "warning") and old.fix and finding.status == "ok":
                    finding.status = "repaired"
                    finding.message = f"was: {old.message}; now: {finding.message}"
                    finding.action = old.action
        if version < SCHEMA_VERSION:
            findings.insert(0, Finding("schema", "repaired", f"schema migrated to version {SCHEMA_VERSION}"))
        else:
            findings.insert(0, _ok("schema", f"schema version {version}"))
    for finding in findings:
        finding.fix = None
    return DoctorReport(findings, [a for a in actions if a])


def _raw_schema_version(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a readable rpp store ({exc})") from exc


# =========================================================================== the checks


class _Doctor:
    def __init__(
        self, store: Store, settings: Settings, *, quick: bool, sample: int, progress: ProgressFactory
    ) -> None:
        self.store = store
        self.conn = store.conn
        self.settings = settings
        self.quick = quick
        self.sample = sample
        self.progress = progress
        self._fingerprint: str | None = None
        self._bad_vectors: tuple[list[int], int] | None = None

    def check_all(self) -> list[Finding]:
        checks = [
            self.check_integrity,
            self.check_generation,
            self.check_orphans,
            lambda: self.check_fts("passages_fts", "passages"),
            lambda: self.check_fts("documents_fts", "documents"),
            self.check_passage_counts,
            self.check_offsets,
            self.check_vector_rows,
            self.check_vector_sample,
            self.check_missing_vectors,
            self.check_tags,
            self.check_vectors_index,
            self.check_lexical_index,
            self.check_labels,
            self.check_models,
            self.check_temp_files,
        ]
        out: list[Finding] = []
        for check in checks:
            result = check()
            out.extend(result if isinstance(result, list) else [result])
        return out

    # -- helpers -------------------------------------------------------------------------
    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from .index.vectors import current_fingerprint  # noqa: PLC0415

            self._fingerprint = current_fingerprint(self.settings)
        return self._fingerprint

    # -- SQLite ------------------------------------------------------------------------
    def check_integrity(self) -> Finding:
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check(20)")]
        if rows == ["ok"]:
            return _ok("integrity", "PRAGMA integrity_check: ok")
        first = "; ".join(rows[:3])

        def fix() -> str:
            self.conn.execute("REINDEX")
            return "ran REINDEX (rebuilds damaged SQL indexes; table damage needs a backup)"

        return Finding(
            "integrity", "problem", f"PRAGMA integrity_check: {first}", len(rows),
            action="REINDEX; if that is not enough restore a backup or use `sqlite3 rpp.db .recover`", fix=fix,
        )

    def check_generation(self) -> Finding:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'passages_generation'").fetchone()
        if row is not None and str(row[0]).lstrip("-").isdigit():
            return _ok("generation", f"passages generation {row[0]}")

        def fix() -> str:
            from .index.manifest import read_manifest  # noqa: PLC0415

            built = (read_manifest(self.settings.vectors_dir) or {}).get("passages_generation")
            value = (built if isinstance(built, int) else 0) + 1  # differs from any index built so far
            with self.store.transaction():
                self.store.set_meta("passages_generation", str(value))
            return f"restored meta.passages_generation (= {value}, so every index counts as stale)"

        return Finding(
            "generation", "problem",
            "meta.passages_generation is missing: stale indexes would go unnoticed",
            action="restore the counter", fix=fix,
        )

    def check_orphans(self) -> list[Finding]:
        specs = [
            ("orphans:passage_vectors", "vectors without a passage",
             "SELECT count(*) FROM passage_vectors WHERE passage_pk NOT IN (SELECT pk FROM passages)",
             "DELETE FROM passage_vectors WHERE passage_pk NOT IN (SELECT pk FROM passages)"),
            ("orphans:passage_tags", "passage tags without a passage",
             "SELECT count(*) FROM passage_tags WHERE passage_pk NOT IN (SELECT pk FROM passages)",
             "DELETE FROM passage_tags WHERE passage_pk NOT IN (SELECT pk FROM passages)"),
            ("orphans:document_tags", "document tags without a document",
             "SELECT count(*) FROM document_tags WHERE document_id NOT IN (SELECT id FROM documents)",
             "DELETE FROM document_tags WHERE document_id NOT IN (SELECT id FROM documents)"),
            ("orphans:passages", "passages without a document (their text is derived from a document that is gone)",
             "SELECT count(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)",
             "DELETE FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"),
        ]
        out = []
        for check, what, count_sql, delete_sql in specs:
            n = int(self.scalar(count_sql))
            if n == 0:
                out.append(_ok(check, f"no {what.split(' (')[0]}"))
                continue

            def fix(delete_sql: str = delete_sql, what: str = what, n: int = n) -> str:
                with self.store.transaction():
                    self.conn.execute(delete_sql)
                return f"deleted {n} {what.split(' (')[0]}"

            out.append(Finding(check, "problem", f"{n} {what}", n, action="delete them (derived rows)", fix=fix))
        return out

    def check_fts(self, fts: str, content: str) -> Finding:
        check = f"fts:{fts}"
        try:
            # rank = 1 also compares the index with its external content table.
            self.conn.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:

            def fix() -> str:
                with self.store.transaction():
                    self.conn.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
                return f"rebuilt {fts} from {content}"

            return Finding(
                check, "problem", f"{fts} does not match {content} ({exc})",
                action=f"rebuild {fts} from {content}", fix=fix,
            )
        return _ok(check, f"{fts} matches {content}")

    def check_passage_counts(self) -> Finding:
        rows = self.conn.execute(
            "SELECT d.id, d.passage_count, count(p.pk) AS n FROM documents d "
            "LEFT JOIN passages p ON p.document_id = d.id GROUP BY d.id HAVING d.passage_count != n"
        ).fetchall()
        if not rows:
            return _ok("passage-counts", "every document has all its passages")
        ids = [r[0] for r in rows]
        sample = ", ".join(f"{r[0]} ({r[2]} of {r[1]})" for r in rows[:5])
        marked = self._marked(ids)
        note = f"; {marked} already marked for re-ingest: run `rpp build`" if marked else ""
        return Finding(
            "passage-counts", "problem", f"{len(rows)} documents disagree with their passages: {sample}{note}",
            len(rows), action="mark them for re-ingest (the next `rpp build`/`rpp ingest` re-reads their files)",
            fix=None if marked == len(ids) else (lambda: self._mark_for_reingest(ids)),
        )

    def check_offsets(self) -> Finding:
        n = int(self.scalar(
            "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.document_id "
            'WHERE substr(d.text, p.start + 1, p."end" - p.start) != p.text'
        ))
        if n == 0:
            return _ok("passage-offsets", "passage offsets point at their text")
        ids = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT p.document_id FROM passages p JOIN documents d ON d.id = p.document_id "
            'WHERE substr(d.text, p.start + 1, p."end" - p.start) != p.text'
        )]
        return Finding(
            "passage-offsets", "problem", f"{n} passages whose offsets do not point at their text "
            f"(documents: {', '.join(ids[:5])})", n,
            action="mark their documents for re-ingest",
            fix=None if self._marked(ids) == len(ids) else (lambda: self._mark_for_reingest(ids)),
        )

    def _marked(self, ids: list[str]) -> int:
        n = 0
        for part in chunks(ids):
            n += int(self.scalar(
                f"SELECT count(*) FROM documents WHERE id IN ({placeholders(len(part))}) "
                "AND content_hash LIKE 'reingest:%'",
                tuple(part),
            ))
        return n

    def _mark_for_reingest(self, ids: list[str]) -> str:
        with self.store.transaction():
            for part in chunks(ids):
                self.conn.execute(
                    f"UPDATE documents SET content_hash = 'reingest:' || content_hash "
                    f"WHERE id IN ({placeholders(len(part))}) AND content_hash NOT LIKE 'reingest:%'",
                    part,
                )
        return f"marked {len(ids)} documents for re-ingest: run `rpp build` (or `rpp ingest` on their folder)"

    # -- vectors in the store ----------------------------------------------------------
    def _expected_dim(self) -> int | None:
        from .index.manifest import read_manifest  # noqa: PLC0415

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
            rows = cursor.fetchmany(_ROWS)
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
            for (pk, _), ok in zip(good, finite & unit):
                if not ok:
                    bad.append(pk)
        return sorted(bad), checked

    def check_vector_rows(self) -> Finding:
        bad, checked = self.bad_vector_pks()
        if not bad:
            return _ok("vectors:rows", f"{checked} stored vectors are well-formed", checked)
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
        from .index.vectors import embed_missing  # noqa: PLC0415

        if getattr(self, "_embedded", False):
            return "missing vectors already re-encoded"
        result = embed_missing(self.store, self.settings, progress=self.progress)
        self._embedded = True
        return f"encoded {result.get('encoded', 0)} passages with {result.get('model')}"

    def check_vector_sample(self) -> Finding:
        """Re-encode a few passages: their stored vectors must be what the configured model makes."""
        if self.quick or self.sample <= 0:
            return Finding("vectors:model", "skipped", "not re-encoding a sample (--quick)")
        from .store import vectors as vstore  # noqa: PLC0415

        pks = vstore.vector_pks(self.store, model=self.fingerprint).tolist()
        if not pks:
            return Finding("vectors:model", "skipped", "no vectors of the configured model to verify")
        bad = set(self.bad_vector_pks()[0])
        pks = [pk for pk in pks if pk not in bad]
        chosen = sorted(random.Random(len(pks)).sample(pks, min(self.sample, len(pks))))
        if not chosen:
            return Finding("vectors:model", "skipped", "no well-formed vectors to verify")
        from .embed import get_encoder  # noqa: PLC0415
        from .index.vectors import embedding_text  # noqa: PLC0415

        encoder = get_encoder(self.settings.embedding_model, index_dir=self.settings.index_dir)
        rows = vstore.passages_for_embedding(self.store, chosen)
        fresh = encoder.encode([embedding_text(t, h, x) for _, _, t, h, x in rows])
        stored = vstore.get_vectors(self.store, [r[0] for r in rows], model=self.fingerprint)
        cosines = _cosines(fresh, stored)
        wrong = [int(r[0]) for r, c in zip(rows, cosines) if c < REENCODE_MIN_COSINE]
        if not wrong:
            return _ok(
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
            return _ok("vectors:missing", f"all {total} passages have a vector from {self.fingerprint}", total)
        other = int(self.scalar("SELECT count(*) FROM passage_vectors WHERE model != ?", (self.fingerprint,)))
        extra = f" ({other} stored vectors are from another model)" if other else ""
        return Finding(
            "vectors:missing", "problem",
            f"{missing} of {total} passages have no current vector from {self.fingerprint}{extra}", missing,
            action="encode them", fix=self._embed_missing,
        )

    # -- the vectors index -------------------------------------------------------------
    def check_vectors_index(self) -> Finding:
        from .index import vectors as vindex  # noqa: PLC0415
        from .index.manifest import read_manifest  # noqa: PLC0415
        from .store import vectors as vstore  # noqa: PLC0415

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
                return _ok("vectors:index", "no vectors index and no vectors to index")
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
        return _ok("vectors:index", f"vectors index matches the store ({len(pks)} rows, {manifest.get('model')})", len(pks))

    def check_lexical_index(self) -> Finding:
        """The tantivy index serving BM25. Search falls back to FTS5 when it is missing or
        stale, so a mismatch is a warning (slower searches), repaired by refreshing it."""
        try:
            from .index import bm25  # noqa: PLC0415
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
                return _ok("lexical:index", f"lexical index matches the store ({passages} passages)", passages)
            reason = f"lexical index disagrees with the store: {wrong}"
        if passages == 0 and not folder.exists():
            return _ok("lexical:index", "no lexical index and no passages")
        return Finding(
            "lexical:index", "warning", f"{reason} (BM25 falls back to SQLite FTS5 meanwhile)",
            action="refresh it from the store", fix=fix,
        )

    def _index_rows_differ(self, matrix: np.ndarray, pks: np.ndarray) -> int:
        from .store import vectors as vstore  # noqa: PLC0415

        differ = 0
        dim = matrix.shape[1] if matrix.ndim == 2 else 0
        for i in range(0, len(pks), _ROWS):
            part = pks[i : i + _ROWS]
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

    # -- tags --------------------------------------------------------------------------
    def check_tags(self) -> Finding:
        try:
            from .tag import pipeline as tag_pipeline  # noqa: PLC0415
        except ImportError:
            return Finding("tags", "skipped", "the tagger is not part of this build")
        from .store import tags as tstore  # noqa: PLC0415

        passages = int(self.scalar("SELECT count(*) FROM passages"))
        if passages == 0:
            return _ok("tags", "no passages to tag")

        def fix() -> str:
            result = tag_pipeline.tag_store(self.store, self.settings, progress=self.progress)
            return f"ran the tagger: {result}"

        active = tstore.active_model(self.store)
        dims = tstore.dimension_ids(self.store)
        if active is None or not dims:
            return Finding(
                "tags", "problem", f"{passages} passages and no active tagger model",
                passages, action="train a model and tag", fix=fix,
            )
        stale = tstore.passages_needing_tags(self.store, model_version=active["version"], n_dimensions=len(dims))
        docs = tstore.documents_needing_rollup(self.store, model_version=active["version"], n_dimensions=len(dims))
        if not stale and not docs:
            return _ok("tags", f"every passage and document is tagged by {active['version']}", passages)
        return Finding(
            "tags", "problem",
            f"{len(stale)} passages and {len(docs)} documents lack tags from the active model {active['version']}",
            len(stale) + len(docs), action="run the tagger", fix=fix,
        )

    def check_models(self) -> Finding:
        """The active tagger model loads: its files exist, match their checksums and shapes,
        and are in a safe format (never a pickle)."""
        from .errors import ModelError  # noqa: PLC0415
        from .store.tags import active_model  # noqa: PLC0415
        from .tag.persist import RETRAIN_HINT, load_model, model_path  # noqa: PLC0415

        row = active_model(self.store)
        if row is None:
            return _ok("models", "no active tagger model registered")
        version, path = row["version"], model_path(row, self.settings.index_dir)
        if not path.exists():
            return Finding("models", "problem", f"active model {version}: {path} is missing", action=RETRAIN_HINT)
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        unsafe = [p.name for p in files if p.suffix.lower() not in (".json", ".npy", ".safetensors", ".txt")]
        if unsafe:
            return Finding(
                "models", "problem",
                f"active model {version}: files in a format that is not JSON/npy/safetensors: {', '.join(unsafe[:5])}",
            )
        try:
            load_model(path)
        except ModelError as exc:
            return Finding("models", "problem", f"active model {version}: {exc.message}", action=exc.hint or RETRAIN_HINT)
        return _ok("models", f"active model {version} at {path}")

    # -- labels ------------------------------------------------------------------------
    def check_labels(self) -> Finding:
        n = int(self.scalar(
            "SELECT count(*) FROM labels l WHERE "
            "(l.target_type = 'passage' AND l.target_id NOT IN (SELECT id FROM passages)) OR "
            "(l.target_type = 'document' AND l.target_id NOT IN (SELECT id FROM documents)) OR "
            "(l.dimension_id IS NOT NULL AND l.dimension_id NOT IN (SELECT id FROM dimensions))"
        ))
        total = int(self.scalar("SELECT count(*) FROM labels"))
        if n == 0:
            return _ok("labels", f"{total} labels, all pointing at known targets", total)
        return Finding(
            "labels", "warning",
            f"{n} of {total} labels point at passages, documents or dimensions that are gone "
            f"(kept: labels are never deleted)", n,
        )

    # -- files -------------------------------------------------------------------------
    def check_temp_files(self) -> Finding:
        now = time.time()
        root = self.settings.index_dir
        temps = sorted(  # a temp folder counts once, not with its contents
            p for p in root.rglob("*")
            if is_temp(p.name) and not any(is_temp(part) for part in p.relative_to(root).parts[:-1])
        )
        if not temps:
            return _ok("temp-files", "no temp files left by interrupted writes")
        stale = [p for p in temps if now - p.stat().st_mtime > STALE_TEMP_SECONDS]
        size = sum(_size(p) for p in temps)

        def fix() -> str:
            for p in stale:
                remove_path(p)
            kept = len(temps) - len(stale)
            return f"removed {len(stale)} stale temp files" + (f" (kept {kept} young ones: in use?)" if kept else "")

        return Finding(
            "temp-files", "warning",
            f"{len(temps)} temp files left by interrupted writes ({size / 1e6:.1f} MB), e.g. {temps[0].name}",
            len(temps), action=f"remove those older than {STALE_TEMP_SECONDS // 60} minutes",
            fix=fix if stale else None,
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


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
