"""Which served databases are rpp stores, and how the plugin is configured for them.

Settings come from `rpp serve` (environment variables, so a plain `datasette` child process
sees them) or from Datasette plugin configuration under `rppsearch`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ..errors import QueryError

PLUGIN_NAME = "rppsearch"
WRITABLE_ENV = "RPP_DATASETTE_WRITABLE"
ALLOWED_HOSTS_ENV = "RPP_ALLOWED_HOSTS"
REVIEWERS_ENV = "RPP_REVIEWERS_FILE"
CORPUS_ENV = "RPP_CORPUS_DIR"
WARM_ENV = "RPP_WARM"  # "1": the served plugin runs one real search at start
# Tables whose presence marks a database as an rpp store.
REVIEW_PERMISSION = "rpp-review"
RPP_MARKERS = frozenset({"meta", "documents", "passages", "passages_fts"})

_store_cache: dict[tuple[str, str], bool] = {}
_store_cache_lock = threading.Lock()


def is_rpp_store(path: str | os.PathLike[str]) -> bool:
    """True when the SQLite file at `path` has the rpp tables (read-only peek)."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=5)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return RPP_MARKERS <= names


def rpp_database_names(datasette: Any) -> list[str]:
    """Names of the served databases that are rpp stores, in serving order."""
    names = []
    for name, db in list(datasette.databases.items()):
        if name == "_internal" or db.is_memory or not db.path:
            continue
        key = (name, str(db.path))
        with _store_cache_lock:
            known = _store_cache.get(key)
        if known is None:
            known = is_rpp_store(db.path)
            with _store_cache_lock:
                _store_cache[key] = known
        if known:
            names.append(name)
    return names


def store_version(path: str | os.PathLike[str]) -> tuple[int, ...]:
    """Changes whenever the store is written: modification time and size of the file and its
    WAL (the size too, as two writes can share a coarse mtime tick). For caches of what a
    page reads from the store."""
    stamp: list[int] = []
    for name in (os.fspath(path), os.fspath(path) + "-wal"):
        try:
            info = os.stat(name)
        except OSError:
            stamp += [0, -1]
        else:
            stamp += [info.st_mtime_ns, info.st_size]
    return tuple(stamp)


def writable(datasette: Any) -> bool:
    """Writing is off unless `rpp serve --writable` or plugin config turns it on."""
    if os.environ.get(WRITABLE_ENV, "") == "1":
        return True
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    return bool(config.get("writable"))


def plugin_setting(datasette: Any, key: str) -> Any:
    """A value from the `rppsearch` plugin configuration (None when unset)."""
    return (datasette.plugin_config(PLUGIN_NAME) or {}).get(key)


def model_name_from_fingerprint(fingerprint: str) -> str:
    """`all-MiniLM-L6-v2@<sha>` -> `all-MiniLM-L6-v2`; `fake@64` -> `fake:64`."""
    name, _, rest = fingerprint.rpartition("@")
    if not name:
        return fingerprint
    if name == "fake":
        return f"fake:{rest}" if rest.isdigit() else "fake"
    return name


_model_cache: dict[str, str] = {}


def store_model_name(db_path: str | os.PathLike[str]) -> str:
    """The embedding model the store's vectors were made with (else the configured one).

    Asked once per row by `rpp_similarity`: the cache is keyed by the path as given, so a hit
    costs a dict lookup, not a `Path.resolve()` (13 of the 20 µs a row took)."""
    key = os.fspath(db_path)
    if key in _model_cache:
        return _model_cache[key]
    from ..config import Settings  # noqa: PLC0415

    name = Settings().embedding_model
    try:
        conn = sqlite3.connect(f"file:{Path(key).resolve()}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT model FROM passage_vectors LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        row = None
    if row and row[0]:
        name = model_name_from_fingerprint(str(row[0]))
        _model_cache[key] = name  # vectors exist: the answer will not change while serving
    return name


class Unavailable(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def pick_database(datasette: Any, name: str | None) -> Any:
    names = rpp_database_names(datasette)
    if not names:
        raise Unavailable("no rppsearch store is being served (run `rpp build`, then `rpp serve`)", 404)
    if name is None:
        return datasette.databases[names[0]]
    if name not in names:
        raise QueryError(f"db: no rppsearch store named {name[:60]!r} is served (served: {', '.join(names)})")
    return datasette.databases[name]


async def can_review(datasette: Any, actor: Any) -> bool:
    """True for a logged-in reviewer on a writable server (Datasette's permission check)."""
    if not writable(datasette) or not isinstance(actor, dict) or not actor.get("id"):
        return False
    return bool(await datasette.permission_allowed(actor, REVIEW_PERMISSION, default=False))
