"""Derived indexes, rebuilt from the store at any time.

- `bm25`: the tantivy BM25 index (`indexes/lexical/`) that serves lexical search;
- `vectors`: passage embeddings in the store and the memory-mapped matrix (`indexes/vectors/`);
- `lexical`: FTS5 query building (the store's own index, the fallback) and stop words;
- `manifest`: manifests and atomic writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings
    from ..store import Store


def refresh_indexes(store: "Store", settings: "Settings", *, force: bool = False) -> dict[str, Any]:
    """Bring the lexical and vectors indexes up to date with the store (incremental).

    Run after `vectors.embed_missing` (the `rpp build` stage order: encode, tag, index).
    """
    from .bm25 import refresh_lexical  # noqa: PLC0415
    from .vectors import refresh_index  # noqa: PLC0415

    return {
        "lexical": refresh_lexical(store, settings, force=force),
        "vectors": refresh_index(store, settings, force=force),
    }
