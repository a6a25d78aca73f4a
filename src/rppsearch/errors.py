"""Typed errors. Library code raises these; only the CLI edge prints and exits."""

from __future__ import annotations


class RppError(Exception):
    """Base error: a one-line message for the user, and an optional hint."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(RppError):
    """A file or path cannot be read or parsed; the message names the file and the reason."""

    def __init__(self, path: object, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = str(path)
        self.reason = reason


class StoreError(RppError):
    """The SQLite store is missing, corrupt, locked or of an unknown schema version."""


class TaxonomyError(RppError):
    """A codebook file is invalid."""


class ModelError(RppError):
    """A classifier or embedding model is missing, corrupt or does not match the store."""


class IndexStateError(RppError):
    """A derived index (vectors) is missing, stale or built with another model or store."""


class QueryError(RppError):
    """A search request has bad parameters (unknown mode, dimension, malformed number)."""


class LabelError(RppError):
    """A label or label file is invalid (unknown dimension or target, bad line)."""
