"""sha256 of a file, read in 1 MB chunks: model weights, tagger files, ingest content hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path, *, prefix: bytes = b"") -> str:
    """Hex sha256 of `prefix` followed by the file's bytes."""
    digest = hashlib.sha256(prefix)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
