"""All doctor checks, in the order they run."""

from __future__ import annotations

from .files import FileChecks
from .findings import Finding
from .indexes import IndexChecks
from .sqlite import SqliteChecks
from .tagging import TagChecks
from .vectors import VectorChecks

__all__ = ["Doctor"]


class Doctor(SqliteChecks, VectorChecks, IndexChecks, TagChecks, FileChecks):
    """One round of checks over an open store; each finding carries its repair (`fix`)."""

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
