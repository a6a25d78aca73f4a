"""Doctor checks of the tagger: every passage and document tagged by the active model, and
that model loadable from safe files; the repair runs the tagger."""

from __future__ import annotations

from .base import DoctorBase
from .findings import Finding, ok

__all__ = ["TagChecks"]


class TagChecks(DoctorBase):
    """Checks (and their repairs) on tags and the active tagger model."""

    def check_tags(self) -> Finding:
        try:
            from ..tag import pipeline as tag_pipeline  # noqa: PLC0415
        except ImportError:
            return Finding("tags", "skipped", "the tagger is not part of this build")
        from ..store import tags as tstore  # noqa: PLC0415

        passages = int(self.scalar("SELECT count(*) FROM passages"))
        if passages == 0:
            return ok("tags", "no passages to tag")

        def fix() -> str:
            result = tag_pipeline.tag_store(self.store, self.settings, progress=self.progress)
            return f"ran the tagger: {result}"

        active = tstore.active_model(self.store)
        dims = tstore.dimension_ids(self.store)
        if active is None or not dims:
            return Finding(
                "tags", "problem", f"{passages} passages and no active tagger model",
                passages, action="train a model and tag", fix=fix,
            )
        stale = tstore.passages_needing_tags(self.store, model_version=active["version"], n_dimensions=len(dims))
        docs = tstore.documents_needing_rollup(self.store, model_version=active["version"], n_dimensions=len(dims))
        if not stale and not docs:
            return ok("tags", f"every passage and document is tagged by {active['version']}", passages)
        return Finding(
            "tags", "problem",
            f"{len(stale)} passages and {len(docs)} documents lack tags from the active model {active['version']}",
            len(stale) + len(docs), action="run the tagger", fix=fix,
        )

    def check_models(self) -> Finding:
        """The active tagger model loads: its files exist, match their checksums and shapes,
        and are in a safe format (never a pickle)."""
        from ..errors import ModelError  # noqa: PLC0415
        from ..store.tags import active_model  # noqa: PLC0415
        from ..tag.persist import RETRAIN_HINT, load_model, model_path  # noqa: PLC0415

        row = active_model(self.store)
        if row is None:
            return ok("models", "no active tagger model registered")
        version, path = row["version"], model_path(row, self.settings.index_dir)
        if not path.exists():
            return Finding("models", "problem", f"active model {version}: {path} is missing", action=RETRAIN_HINT)
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        unsafe = [p.name for p in files if p.suffix.lower() not in (".json", ".npy", ".safetensors", ".txt")]
        if unsafe:
            return Finding(
                "models", "problem",
                f"active model {version}: files in a format that is not JSON/npy/safetensors: {', '.join(unsafe[:5])}",
            )
        try:
            load_model(path)
        except ModelError as exc:
            return Finding("models", "problem", f"active model {version}: {exc.message}", action=exc.hint or RETRAIN_HINT)
        return ok("models", f"active model {version} at {path}")
