"""The state every doctor check shares: the open store, the settings, the run's options."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..progress import ProgressFactory
from ..store import Store

__all__ = ["DoctorBase", "ROWS"]

#: Rows read at a time when scanning vectors.
ROWS = 20_000


class DoctorBase:
    """The open store and settings, the run's options, and what one round caches (fingerprint, bad vectors)."""

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

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from ..index.vectors import current_fingerprint  # noqa: PLC0415

            self._fingerprint = current_fingerprint(self.settings)
        return self._fingerprint
