"""Index manifests and atomic file writes (temp file in the same folder, fsync, os.replace)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

MANIFEST_NAME = "manifest.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when there is none or it is unreadable."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    with atomic_write(folder / MANIFEST_NAME) as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
