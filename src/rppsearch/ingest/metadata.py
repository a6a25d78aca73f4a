"""Document metadata from a catalog (`catalog.csv`) or a sidecar (`NAME.meta.yaml`).

The catalog wins over what the file says about itself. Catalog paths are relative to the
catalog's folder and may not escape it.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import METADATA_FIELDS, Metadata

CATALOG_NAME = "catalog.csv"
SIDECAR_SUFFIX = ".meta.yaml"
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def slugify(value: str) -> str:
    """Lower-case ASCII slug: letters, digits and single hyphens."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^A-Za-z0-9]+", "-", value).strip("-").lower()
    return value or "doc"


def split_list(value: Any) -> list[str]:
    """A list, or a `;`-separated string, as its stripped non-empty items."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def year_of(value: Any) -> int | None:
    """The first plausible year (1800-2099) in a value, or None."""
    if value in (None, ""):
        return None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def entry_to_metadata(entry: dict[str, Any]) -> Metadata:
    """A catalog row or sidecar mapping as Metadata (unknown keys go to `extra`)."""
    known = {"id", "path", "title", "authors", "author", "organization", "districts", "district",
             "year", "doc_type", "url", "site_name", "published", "date"}
    extra = {k: v for k, v in entry.items() if k not in known and v not in (None, "")}
    return Metadata(
        title=(entry.get("title") or None),
        authors=split_list(entry.get("authors") or entry.get("author")),
        organization=(entry.get("organization") or None),
        districts=split_list(entry.get("districts") or entry.get("district")),
        year=year_of(entry.get("year") or entry.get("published") or entry.get("date")),
        doc_type=(entry.get("doc_type") or None),
        url=(entry.get("url") or None),
        site_name=(entry.get("site_name") or None),
        published=(str(entry.get("published") or entry.get("date") or "") or None),
        catalog_id=(slugify(str(entry["id"])) if entry.get("id") else None),
        extra=extra,
    )


def merge(base: Metadata, override: Metadata, *, source: str | None = None) -> Metadata:
    """Fields set in `override` win; lists win when non-empty; extras are combined. With
    `source`, each field `override` sets is recorded as coming from it."""
    out = replace(base, sources=dict(base.sources))
    for name in ("title", "organization", "year", "doc_type", "url", "site_name", "published", "catalog_id"):
        value = getattr(override, name)
        if value not in (None, ""):
            setattr(out, name, value)
            if source and name != "catalog_id":
                out.sources[name] = source
    for name in ("authors", "districts"):
        if getattr(override, name):
            setattr(out, name, list(getattr(override, name)))
            if source:
                out.sources[name] = source
    out.extra = {**base.extra, **override.extra}
    return out


@dataclass
class Layers:
    """What speaks for a document besides itself and its catalog: a library export's entry,
    the user's `rpp edit` overrides, and the district aliases (the shipped ones by default)."""

    library: dict[str, Any] | None = None
    user: dict[str, Any] | None = None
    aliases: Any = None

    def __post_init__(self) -> None:
        if self.aliases is None:
            from .districts import load_aliases  # noqa: PLC0415

            self.aliases = load_aliases()

    def mentions(self, text: str) -> list[str]:
        """Canonical names of the districts `text` mentions."""
        from .districts import find_districts  # noqa: PLC0415

        return find_districts(text, self.aliases)

    def aliases_digest(self) -> str:
        """A hash of the district aliases alone: the districts a text mentions depend on them
        (and on the text), not on the catalog, library or user layers."""
        return str(self.aliases.digest())

    def digest(self, catalog: dict[str, Any] | None) -> str:
        """A hash of every layer: a change re-resolves the stored metadata (no re-parse)."""
        catalog = {k: v for k, v in (catalog or {}).items() if k != "path"}  # a moved corpus is no change
        payload = {"catalog": catalog, "library": self.library or {}, "user": self.user or {},
                   "aliases": self.aliases.pairs()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def combine(
    own: Metadata,
    *,
    library: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    aliases: Any = None,
) -> Metadata:
    """The one rule for a document's stored metadata, whichever path writes it (an ingest, a
    re-ingest of an unchanged file whose catalog, library or aliases changed, `rpp edit`):
    the document's own layer (its title from its structure, or the inferred fallback), then a
    library export's entry, the catalog (or sidecar), the user's edits, districts made
    canonical; then a year read from a published date and the site's name as organization when
    no layer gives one; fields set without a recorded source are inferred.

    `own` is left as it is: it is stored apart as the document's own layer, and what is done
    to the result later (the corpus step's told-apart title) must not leak into it."""
    metadata = copy.deepcopy(own)
    for layer, source in ((library, "library"), (catalog, "catalog"), (user, "user")):
        if layer:
            metadata = merge(metadata, entry_to_metadata(layer), source=source)
    if user and "districts" in user and not split_list(user["districts"]):
        metadata.districts = []  # `rpp edit --district ''` clears them: about no district, whatever
        metadata.sources["districts"] = "user"  # the text mentions (district_sql.document_districts)
    if aliases is not None:
        metadata.districts = aliases.canonical_list(metadata.districts)
        metadata.mentioned_districts = aliases.canonical_list(metadata.mentioned_districts)
    if metadata.year is None and metadata.published:
        metadata.year = year_of(metadata.published)
    if not metadata.organization and metadata.site_name:
        metadata.organization = metadata.site_name
    note_inferred(metadata)
    return metadata


def note_inferred(metadata: Metadata) -> None:
    """Fields filled by fallbacks (a title from the first heading or the file name) are inferred."""
    for name in METADATA_FIELDS:
        if getattr(metadata, name) not in (None, "", []):
            metadata.sources.setdefault(name, "inferred")


class Catalog:
    """Rows of a `catalog.csv`, keyed by the resolved path of the file they describe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.parent.resolve()
        self.entries: dict[Path, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or "path" not in reader.fieldnames:
                    raise InputError(self.path, "catalog has no 'path' column")
                for line, row in enumerate(reader, start=2):
                    rel = (row.get("path") or "").strip()
                    if not rel:
                        raise InputError(self.path, f"line {line}: empty path")
                    target = (self.root / rel).resolve()
                    if not target.is_relative_to(self.root):
                        raise InputError(self.path, f"line {line}: path {rel!r} escapes the catalog folder")
                    self.entries[target] = {k: (v or "").strip() for k, v in row.items() if k}
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(self.path, f"cannot read catalog ({exc})") from exc

    def lookup(self, file: Path) -> dict[str, Any] | None:
        return self.entries.get(file.resolve())


class MetadataSources:
    """What a file's sidecar and catalog say about it, catalogs read once per folder.

    An explicit `catalog` wins; otherwise the nearest `catalog.csv` that lists the file, from
    its folder upwards (`root`, the folder being ingested, is not a limit: the catalog speaks
    for its files whichever command ingests them).
    """

    def __init__(self, *, catalog: Path | None = None) -> None:
        self._explicit = Catalog(catalog) if catalog else None
        self._catalogs: dict[Path, Catalog | None] = {}

    def catalog_row(self, file: Path, *, root: Path) -> dict[str, Any] | None:
        """The row of the catalog that speaks for `file`, or None."""
        row = self._explicit.lookup(file) if self._explicit else None
        if row is not None:
            return row
        # Up to the file system's root: a file given on its own (`rpp add corpus/docs/x.pdf`)
        # or a subfolder still gets the corpus catalog's metadata, whichever command runs.
        folder = file.parent.resolve()
        stop = Path(folder.anchor)
        while True:
            if folder not in self._catalogs:
                candidate = folder / CATALOG_NAME
                try:
                    self._catalogs[folder] = Catalog(candidate) if candidate.exists() else None
                except InputError:
                    if folder.is_relative_to(root.resolve()):
                        raise
                    self._catalogs[folder] = None  # an unreadable catalog above the corpus is not ours
            found = self._catalogs[folder]
            row = found.lookup(file) if found else None
            if row is not None:
                return row
            if folder == stop or folder.parent == folder or not folder.is_relative_to(stop):
                return None
            folder = folder.parent

    def overrides(self, file: Path, *, root: Path) -> dict[str, Any]:
        """The sidecar's entries, then the catalog row's non-empty ones (the catalog wins)."""
        entry: dict[str, Any] = dict(read_sidecar(file) or {})
        row = self.catalog_row(file, root=root) or {}
        entry.update({k: v for k, v in row.items() if v not in (None, "")})
        return entry


def read_sidecar(file: Path) -> dict[str, Any] | None:
    """`NAME.meta.yaml` beside `NAME.ext`, if any."""
    sidecar = file.with_name(file.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        sidecar = file.with_suffix(SIDECAR_SUFFIX)
        if not sidecar.exists():
            return None
    import yaml  # noqa: PLC0415

    try:
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())  # YAML errors span several lines
        raise InputError(sidecar, f"cannot read metadata sidecar ({detail})") from exc
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InputError(sidecar, "metadata sidecar must be a mapping")
    return data
