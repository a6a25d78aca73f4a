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

Checks per area: `sqlite` (tables, FTS5, labels), `vectors` (stored vectors), `indexes`
(vectors and lexical indexes), `tagging` (tags, the active model), `files` (temp files);
`checks.Doctor` runs them all. Each Finding carries its repair; `run_doctor` applies them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..config import Settings
from ..errors import StoreError
from ..progress import ProgressFactory, no_progress
from ..store import SCHEMA_VERSION, Store
from .checks import Doctor
from .findings import DoctorReport, Finding, ok

__all__ = ["run_doctor", "MAX_REPAIR_ROUNDS"]

MAX_REPAIR_ROUNDS = 3


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
            return Doctor(store, settings, quick=quick, sample=sample, progress=progress).check_all()

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
            findings.insert(0, ok("schema", f"schema version {version}"))
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
