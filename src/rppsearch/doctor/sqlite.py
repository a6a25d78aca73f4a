"""Doctor checks of the SQLite store itself: integrity, the generation counter, orphan rows,
FTS5 sync, passages against their documents, and labels pointing at what is gone."""

from __future__ import annotations

import sqlite3

from ..store.chunked import chunks, placeholders
from .base import DoctorBase
from .findings import Finding, ok

__all__ = ["SqliteChecks"]


class SqliteChecks(DoctorBase):
    """Checks (and their repairs) on the tables of the store."""

    def check_integrity(self) -> Finding:
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check(20)")]
        if rows == ["ok"]:
            return ok("integrity", "PRAGMA integrity_check: ok")
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
            return ok("generation", f"passages generation {row[0]}")

        def fix() -> str:
            from ..index.manifest import read_manifest  # noqa: PLC0415

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
                out.append(ok(check, f"no {what.split(' (')[0]}"))
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
        return ok(check, f"{fts} matches {content}")

    def check_passage_counts(self) -> Finding:
        rows = self.conn.execute(
            "SELECT d.id, d.passage_count, count(p.pk) AS n FROM documents d "
            "LEFT JOIN passages p ON p.document_id = d.id GROUP BY d.id HAVING d.passage_count != n"
        ).fetchall()
        if not rows:
            return ok("passage-counts", "every document has all its passages")
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
            return ok("passage-offsets", "passage offsets point at their text")
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

    def check_labels(self) -> Finding:
        n = int(self.scalar(
            "SELECT count(*) FROM labels l WHERE "
            "(l.target_type = 'passage' AND l.target_id NOT IN (SELECT id FROM passages)) OR "
            "(l.target_type = 'document' AND l.target_id NOT IN (SELECT id FROM documents)) OR "
            "(l.dimension_id IS NOT NULL AND l.dimension_id NOT IN (SELECT id FROM dimensions))"
        ))
        total = int(self.scalar("SELECT count(*) FROM labels"))
        if n == 0:
            return ok("labels", f"{total} labels, all pointing at known targets", total)
        return Finding(
            "labels", "warning",
            f"{n} of {total} labels point at passages, documents or dimensions that are gone "
            f"(kept: labels are never deleted)", n,
        )
