"""Doctor check of the index folder: temp files left by interrupted writes; the repair
removes the stale ones."""

from __future__ import annotations

import time
from pathlib import Path

from ..leftovers import is_temp, remove_path
from .base import DoctorBase
from .findings import Finding, ok

__all__ = ["FileChecks", "STALE_TEMP_SECONDS"]

#: Temp files of interrupted writes older than this are removed by --repair (younger ones may be in use).
STALE_TEMP_SECONDS = 15 * 60


class FileChecks(DoctorBase):
    """Checks (and their repairs) on files in the index folder."""

    def check_temp_files(self) -> Finding:
        now = time.time()
        root = self.settings.index_dir
        temps = sorted(  # a temp folder counts once, not with its contents
            p for p in root.rglob("*")
            if is_temp(p.name) and not any(is_temp(part) for part in p.relative_to(root).parts[:-1])
        )
        if not temps:
            return ok("temp-files", "no temp files left by interrupted writes")
        stale = [p for p in temps if now - p.stat().st_mtime > STALE_TEMP_SECONDS]
        size = sum(_size(p) for p in temps)

        def fix() -> str:
            for p in stale:
                remove_path(p)
            kept = len(temps) - len(stale)
            return f"removed {len(stale)} stale temp files" + (f" (kept {kept} young ones: in use?)" if kept else "")

        return Finding(
            "temp-files", "warning",
            f"{len(temps)} temp files left by interrupted writes ({size / 1e6:.1f} MB), e.g. {temps[0].name}",
            len(temps), action=f"remove those older than {STALE_TEMP_SECONDS // 60} minutes",
            fix=fix if stale else None,
        )


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
