"""Paths and settings: `--index-dir` / `RPP_HOME`, the embedding model, the codebook."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

DEFAULT_INDEX_DIR = "indexes"
PACKAGED_MODEL = "all-MiniLM-L6-v2"
PACKAGED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def default_index_dir() -> Path:
    """`RPP_HOME` when set, else `indexes/` in the working directory."""
    return Path(os.environ.get("RPP_HOME") or DEFAULT_INDEX_DIR)


def default_taxonomy_path() -> Path:
    """The shipped codebook (Honig's five dimensions)."""
    return Path(str(resources.files("rppsearch") / "taxonomy" / "honig.yaml"))


def default_examples_paths() -> list[Path]:
    """The shipped labelled examples for the default codebook."""
    folder = Path(str(resources.files("rppsearch") / "taxonomy" / "examples"))
    return sorted(folder.glob("*.jsonl"))


@dataclass(frozen=True)
class Settings:
    """Where a corpus lives and which models it uses.

    `embedding_model` is `all-MiniLM-L6-v2` (the packaged copy, loaded by path), any
    sentence-transformers model path or name, or `fake` (a deterministic hashing
    encoder for fast unit tests). It comes from `RPP_MODEL` when set.
    """

    index_dir: Path = field(default_factory=default_index_dir)
    embedding_model: str = field(default_factory=lambda: os.environ.get("RPP_MODEL", PACKAGED_MODEL))

    @property
    def db_path(self) -> Path:
        return self.index_dir / "rpp.db"

    @property
    def vectors_dir(self) -> Path:
        return self.index_dir / "vectors"

    @property
    def lexical_dir(self) -> Path:
        return self.index_dir / "lexical"

    @property
    def models_dir(self) -> Path:
        return self.index_dir / "models"

    @classmethod
    def for_dir(cls, index_dir: Path | str | None) -> "Settings":
        """Settings for an index dir (None: `RPP_HOME` or `indexes/`)."""
        return cls(index_dir=Path(index_dir) if index_dir else default_index_dir())
