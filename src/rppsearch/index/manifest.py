"""Index manifests and atomic file writes (temp file in the same folder, fsync, os.replace)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

MANIFEST_NAME = "manifest.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (0o022 otherwise)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def file_mode() -> int:
    """The mode a plain `open(..., "w")` would give: 0o666 less the umask.

    mkstemp creates 0600 files; renamed into place as they are, a Datasette run by another
    user (or a shared research folder) could not read the indexes.
    """
    return 0o666 & ~_umask()


def share_files(folder: Path) -> None:
    """Give files in `folder` the umask's mode where a library wrote them private (tantivy's
    and safetensors' own temp-then-rename writes leave 0600)."""
    mode = file_mode()
    for path in folder.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and (path.stat().st_mode & 0o777) != mode:
                os.chmod(path, mode)
        except OSError:
            pass  # another process's file, or gone: it only costs readability


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success fsync it and rename it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_path, file_mode())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_write(target: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temp file for writing; it replaces `target` only if the block succeeds."""
    with atomic_path(target) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle


#: How long a writer waits for another process refreshing the same index (like SQLite's
#: busy timeout).
LOCK_WAIT_SECONDS = 120.0


@contextlib.contextmanager
def index_lock(folder: Path, *, wait: float | None = None) -> Iterator[None]:
    """One writer at a time for an index folder, across processes: an exclusive `flock` on
    `.NAME.lock` beside the folder (beside, because a rebuild swaps the folder itself).

    Without it two refreshes at once could leave one run's matrix beside the other's pks.
    Raises IndexStateError after `wait` seconds. A no-op where `fcntl` does not exist.
    """
    from ..errors import IndexStateError  # noqa: PLC0415

    try:
        import fcntl  # noqa: PLC0415
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder.parent / f".{folder.name}.lock", os.O_RDWR | os.O_CREAT, file_mode())
    try:
        deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexStateError(
                        f"{folder}: another process is writing this index", hint="try again when it is done"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when there is none or it is unreadable."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store_mismatch(kind: str, manifest: dict[str, Any], store: Any) -> str | None:
    """Why an index whose manifest is `manifest` was not built from this store as it is now
    (another store, schema or passages generation); None when it was. `kind` names the index."""
    from ..store.vectors import store_identity  # noqa: PLC0415

    if manifest.get("store_id") != store_identity(store):
        return f"{kind} index was built for another store (store ids differ)"
    schema = store.schema_version()
    if manifest.get("schema_version") != schema:
        return f"{kind} index was built for store schema {manifest.get('schema_version')}, store is at {schema}"
    generation = store.passages_generation()
    if manifest.get("passages_generation") != generation:
        return f"{kind} index is stale: built at generation {manifest.get('passages_generation')}, store at {generation}"
    return None


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    with atomic_write(folder / MANIFEST_NAME) as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
