"""`rpp build` / `rpp add`: ingest, then every derived stage, each incremental."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .ingest.pipeline import IngestReport, ingest_paths
from .progress import ProgressFactory
from .store import Store


@dataclass
class BuildReport:
    ingest: IngestReport
    stages: dict[str, Any] = field(default_factory=dict)


def derived_steps(store: Store, settings: Settings, *, progress: ProgressFactory) -> dict[str, Any]:
    """Encode, tag and index whatever is new or stale. Each stage is incremental."""
    from .index import refresh_indexes  # noqa: PLC0415
    from .index.vectors import embed_missing  # noqa: PLC0415
    from .review import reapply_decisions  # noqa: PLC0415
    from .tag.pipeline import tag_store  # noqa: PLC0415

    stages: dict[str, Any] = {}
    stages["encode"] = embed_missing(store, settings, progress=progress)
    stages["tag"] = tag_store(store, settings, progress=progress)
    stages["labels"] = reapply_decisions(store)  # people's decisions back on re-created, unchanged passages
    with progress("Indexing (BM25 and vectors)", None):
        stages["index"] = refresh_indexes(store, settings)  # tantivy BM25 + vectors matrix
    return stages


def build(
    settings: Settings,
    *,
    paths: list[Path],
    catalog: Path | None = None,
    prune: bool = False,
    progress: ProgressFactory,
) -> BuildReport:
    """Ingest `paths` into the store at `settings`, then run the derived stages."""
    from .leftovers import remove_leftovers  # noqa: PLC0415

    remove_leftovers(settings)  # temp files of writers killed earlier (never a live writer's)
    with Store.open(settings.db_path) as store:
        report = ingest_paths(store, paths, catalog=catalog, prune=prune, progress=progress)
        empty = report.nothing_ingested and store.conn.execute("SELECT 1 FROM passages LIMIT 1").fetchone() is None
        # (an empty store has nothing to encode, tag or index: no model is trained on nothing)
        stages = {} if empty else derived_steps(store, settings, progress=progress)
    return BuildReport(ingest=report, stages=stages)
