"""Helpers shared by the reliability tests: a small varied corpus and independent store checks.

The checks here use plain SQL on their own connection (not `rpp doctor`), so the tests that use
them judge the store and the doctor independently.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

from rppsearch.progress import no_progress  # noqa: F401 - the tests import it from here

SENTENCES = [
    "Principal supervisors in the district spend most of their week in schools with principals.",
    "They observe classrooms together, talk through what they see, and plan next steps.",
    "The central office moved compliance paperwork to other staff so supervisors could coach.",
    "Human resources staff were reorganised into teams that each serve a group of schools.",
    "Leaders used student work and survey data to decide which practices to keep.",
    "A partnership with a university helped the district test new routines for coaching.",
    "Budget staff learned to answer school questions within a day rather than a month.",
    "The superintendent described the change as a shift from oversight to support.",
    "Teachers reported that feedback from instructional leaders became more specific.",
    "Each network met monthly so principals could learn from one another's problems of practice.",
    "The evaluation found that time in schools rose once meetings moved to school sites.",
    "Staff in the facilities department began tracking requests by school and by week.",
    "A steering group of principals reviewed every new central office initiative before launch.",
    "Coaches modelled lessons, then stepped back while principals led the conversation.",
    "Data teams built simple reports that principals could read in ten minutes.",
    "Board members asked for evidence that the new structure was improving instruction.",
]


def paragraph(rng: random.Random, n: int = 6) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(n))


def document_text(seed: int, *, paragraphs: int = 4) -> str:
    """A few paragraphs of plausible prose, different for each seed, with a unique marker word."""
    rng = random.Random(seed)
    body = "\n\n".join(paragraph(rng) for _ in range(paragraphs))
    return f"Report number {seed}\n\n{body}\n\nUnique marker zq{seed:04d}x closes this report.\n"


def write_corpus(folder: Path, n: int, *, start: int = 0, paragraphs: int = 4) -> list[Path]:
    """`n` plain-text documents in `folder` (doc-0000.txt …)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        path = folder / f"doc-{i:04d}.txt"
        path.write_text(document_text(i, paragraphs=paragraphs), encoding="utf-8")
        out.append(path)
    return out




def connect(db: Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{db}?mode=ro" if readonly else f"file:{db}"
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def store_violations(db: Path) -> list[str]:
    """Everything wrong with the store at `db`, checked with plain SQL; [] when consistent."""
    conn = connect(db)
    try:
        bad: list[str] = []
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            bad.append(f"integrity_check: {rows[:3]}")
        for fts in ("passages_fts", "documents_fts"):
            try:
                conn.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                bad.append(f"{fts}: {exc}")
        mismatched = conn.execute(
            "SELECT d.id, d.passage_count, count(p.pk) n FROM documents d "
            "LEFT JOIN passages p ON p.document_id = d.id GROUP BY d.id HAVING d.passage_count != n"
        ).fetchall()
        if mismatched:
            bad.append(f"passage_count disagrees: {mismatched[:3]}")
        orphans = {
            "passages": "SELECT count(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)",
            "passage_vectors": "SELECT count(*) FROM passage_vectors WHERE passage_pk NOT IN (SELECT pk FROM passages)",
            "passage_tags": "SELECT count(*) FROM passage_tags WHERE passage_pk NOT IN (SELECT pk FROM passages)",
            "document_tags": "SELECT count(*) FROM document_tags WHERE document_id NOT IN (SELECT id FROM documents)",
        }
        for table, sql in orphans.items():
            n = conn.execute(sql).fetchone()[0]
            if n:
                bad.append(f"{n} orphan rows in {table}")
        return bad
    finally:
        conn.close()


def store_snapshot(db: Path) -> dict[str, Any]:
    """What a user would call the store's content, keyed by file path (ids depend on whether a
    file was first given directly or found in a folder): documents and their passages."""
    conn = connect(db, readonly=True)
    try:
        docs = {
            r[0]: (r[1], r[2])
            for r in conn.execute("SELECT path, text, passage_count FROM documents ORDER BY path")
        }
        passages = sorted(
            tuple(r)
            for r in conn.execute(
                'SELECT d.path, p.seq, p.text, p.start, p."end", p.heading FROM passages p '
                "JOIN documents d ON d.id = p.document_id"
            )
        )
        return {"documents": docs, "passages": passages}
    finally:
        conn.close()
