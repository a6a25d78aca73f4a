"""Temp files and folders a killed writer left behind, removed by the next writer.

Every write goes to a temp path that is renamed into place, so a kill never leaves a torn
file, only a temp one. `rpp build` and `rpp add` clear them before they start:

- atomic-write temps (ours `.NAME.XXXX.tmp`, tantivy's `.tmpXXXXXX`) in the vectors and
  lexical index folders, while holding that folder's writer lock, so no live writer can own them;
- temps stamped with a process id (model saves `.tmp-VERSION-PID`, feature caches
  `NAME.tmpPID.npy`, lexical rebuilds `.lexical.new-PID` / `.old-PID`) whose process is gone
  and that are at least `MIN_AGE_SECONDS` old (a process in another PID namespace sharing
  the folder would look gone).

`rpp doctor --repair` removes any older than 15 minutes as well.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from .config import Settings
from .errors import IndexStateError
from .index.manifest import index_lock

#: Ours (`.NAME.XXXX.tmp`, index/manifest.py) and tantivy's (`.tmpXXXXXX`, its atomic writes).
_ATOMIC_TEMP = re.compile(r"^\..+\.tmp$|^\.tmp[A-Za-z0-9]{6,}$")
_PID_TEMP = re.compile(r"^\.tmp-.+-(\d+)$|\.tmp(\d+)(?:\.npy)?$|^\..+\.(?:new|old)-(\d+)$")
MIN_AGE_SECONDS = 60.0


def is_temp(name: str) -> bool:
    """Whether `name` is one only the temp file or folder of an unfinished write has."""
    return bool(_ATOMIC_TEMP.match(name) or _PID_TEMP.search(name))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_path(path: Path) -> bool:
    """Delete a temp file, or a temp folder with its contents; False when it could not be."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        return False
    return True


def remove_leftovers(settings: Settings, *, min_age: float = MIN_AGE_SECONDS) -> list[str]:
    """Remove what killed writers left under `settings.index_dir`; return the removed paths."""
    removed: list[str] = []
    for folder in (settings.vectors_dir, settings.lexical_dir):
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            continue
        try:
            with index_lock(folder, wait=0):
                for path in folder.iterdir():
                    if path.is_file() and _ATOMIC_TEMP.match(path.name) and remove_path(path):
                        removed.append(str(path))
        except (IndexStateError, OSError):
            continue  # another writer is at work there: its temps may be live
    now = time.time()
    for folder in (settings.index_dir, settings.models_dir, settings.models_dir / "cache"):
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            continue
        for path in folder.iterdir():
            match = _PID_TEMP.search(path.name)
            if match is None:
                continue
            pid = int(next(g for g in match.groups() if g))
            try:
                old_enough = now - path.lstat().st_mtime >= min_age
            except OSError:
                continue
            if old_enough and not _alive(pid) and remove_path(path):
                removed.append(str(path))
    return removed
