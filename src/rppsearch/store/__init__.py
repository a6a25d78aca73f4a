"""The SQLite store: the single source of truth. Only `store/` writes SQL.

One `Store` per connection. Writes happen inside `store.transaction()`, so a crash or an
error never leaves half a document behind. WAL mode lets Datasette and `rpp search` read
while `rpp add` writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError
from .schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["Store", "SCHEMA_VERSION", "open_store"]


class Store:
    """A connection to `rpp.db` with migrations applied."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @property
    def db(self) -> "sqlite_utils.Database":  # noqa: F821
        """A sqlite-utils view of the connection, made on first use: importing sqlite_utils
        imports pandas (~0.5 s), which `rpp search --mode bm25` must not pay for."""
        import sqlite_utils  # noqa: PLC0415

        if getattr(self, "_db", None) is None:
            self._db = sqlite_utils.Database(self.conn)
        return self._db

    # -- lifecycle -------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, readonly: bool = False) -> "Store":
        """Open (and with `create`, create and migrate) the store at `path`."""
        path = Path(path)
        if not path.exists():
            if not create or readonly:
                raise StoreError(
                    f"{path}: no rpp store here", hint="run `rpp build` or `rpp ingest PATH` first"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False,
                    isolation_level=None,
                )
            else:
                conn = sqlite3.connect(
                    path, timeout=30, check_same_thread=False, isolation_level=None
                )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(conn, path)
            version = store.schema_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a readable rpp store ({exc})") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema version {version} is newer than this rppsearch ({SCHEMA_VERSION})",
                hint="upgrade rppsearch",
            )
        if version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(
                    f"{path}: schema version {version} needs migrating", hint="run `rpp doctor --repair`"
                )
            store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; return their numbers."""
        applied = []
        for number in range(self.schema_version() + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[number - 1]:
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
            applied.append(number)
        return applied

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception. Nests as a savepoint."""
        if self.conn.in_transaction:
            name = f"sp{id(self)}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
                raise
            self.conn.execute(f"RELEASE {name}")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    # -- meta ------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def bump_meta(self, key: str) -> None:
        """Add one to the counter `key` (1 when absent). Inside a transaction, like any write."""
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (key,),
        )

    def passages_generation(self) -> int:
        """A counter bumped by triggers on every passage insert or delete."""
        return int(self.get_meta("passages_generation", "0") or 0)


def open_store(path: Path | str, *, create: bool = True, readonly: bool = False) -> Store:
    """Open the store at `path` (see `Store.open`)."""
    return Store.open(path, create=create, readonly=readonly)
