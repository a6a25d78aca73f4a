"""The codebook: dimensions with definitions, include/exclude notes and example sentences.

A codebook is a YAML file::

    name: honig
    version: "1"
    description: ...
    dimensions:
      - id: some-dimension          # a lower-case slug, unique
        name: Some dimension
        definition: ...             # non-empty
        include: [notes, ...]       # what counts
        exclude: [notes, ...]       # what does not
        examples: [sentences, ...]  # short sentences written for the project
        shifts:                     # optional practice shifts (before -> after)
          - id: a-shift             # a slug, unique within the dimension
            before: ...             # the practice the transformation moves away from
            after: ...              # the practice it moves towards
            before_cues: [phrases]  # lower-case phrases that signal the before side
            after_cues: [phrases]   # ... and the after side

Shifts describe the change a dimension asks for; reports place evidence sentences on one
side (`report.shifts`). They do not change tagging, so they are left out of the codebook
`hash` (adding or rewording a shift does not make a trained model stale).

`load_taxonomy` validates it and raises `TaxonomyError` naming the file (and line, where
known) and the problem. Labelled examples are JSON lines `{"text": ..., "labels": [ids]}`;
`load_examples` validates them against a codebook. Nothing here names any particular
dimension: the shipped codebook is data (`taxonomy/honig.yaml`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TaxonomyError

__all__ = [
    "Dimension",
    "PracticeShift",
    "Taxonomy",
    "Example",
    "load_taxonomy",
    "load_default_taxonomy",
    "load_examples",
    "examples_hash",
    "SLUG",
]

SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "name", "definition")
_LISTS = ("include", "exclude", "examples")
_KNOWN = set(_REQUIRED) | set(_LISTS) | {"shifts"}
_SHIFT_KEYS = {"id", "before", "after", "before_cues", "after_cues"}


@dataclass(frozen=True)
class PracticeShift:
    """A change of practice a dimension asks for: from `before` to `after`.

    `before_cues` / `after_cues` are lower-case phrases whose presence in a sentence signals
    that side (see `report.shifts` for how they are matched).
    """

    id: str
    before: str
    after: str
    before_cues: tuple[str, ...] = ()
    after_cues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "before": self.before,
            "after": self.after,
            "before_cues": list(self.before_cues),
            "after_cues": list(self.after_cues),
        }


@dataclass(frozen=True)
class Dimension:
    """One code of the codebook."""

    id: str
    name: str
    definition: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    shifts: tuple[PracticeShift, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "definition": self.definition,
            "include": list(self.include),
            "exclude": list(self.exclude),
            "examples": list(self.examples),
        }
        if self.shifts:
            out["shifts"] = [s.to_dict() for s in self.shifts]
        return out

    def prototype_texts(self) -> list[str]:
        """Texts that describe the dimension: name, definition, include notes, examples."""
        return [self.name, self.definition, *self.include, *self.examples]


@dataclass(frozen=True)
class Taxonomy:
    """A validated codebook. `hash` is the sha256 of its canonical JSON content."""

    name: str
    version: str
    description: str
    dimensions: tuple[Dimension, ...]
    path: str | None = field(default=None, compare=False)

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.dimensions]

    def get(self, dimension_id: str) -> Dimension:
        for dim in self.dimensions:
            if dim.id == dimension_id:
                return dim
        raise TaxonomyError(f"codebook {self.name!r} has no dimension {dimension_id!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "dimensions": [d.to_dict() for d in self.dimensions],
        }

    @property
    def hash(self) -> str:
        """sha256 of what tagging depends on: everything but the practice shifts."""
        content = self.to_dict()
        for dim in content["dimensions"]:
            dim.pop("shifts", None)
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<codebook>") -> "Taxonomy":
        """Validate a parsed codebook (see the module docstring); `source` names it in errors."""
        return _validate(data, source=source, lines={})


def _where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line else source


def _dimension_lines(text: str) -> dict[int, int]:
    """1-based line of each item of the top-level `dimensions` list (best effort)."""
    import yaml  # noqa: PLC0415

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[int, int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "dimensions" and isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    lines[i] = item.start_mark.line + 1
    return lines


def _check_fields(raw: dict[str, Any], known: set[str], what: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise TaxonomyError(
            f"{what} has unknown field(s) {', '.join(map(repr, unknown))}",
            hint=f"allowed: {', '.join(sorted(known))}",
        )


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _validate(data: Any, *, source: str, lines: dict[int, int]) -> Taxonomy:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise TaxonomyError(
            f"{source}: a codebook must be a mapping with name, version and dimensions, not {kind}"
        )
    for key in ("name", "dimensions"):
        if key not in data:
            raise TaxonomyError(f"{source}: missing top-level field {key!r}")
    name = _text(data.get("name"))
    if not name or not name.strip():
        raise TaxonomyError(f"{source}: 'name' must be a non-empty string")
    version = _text(data.get("version", "1"))
    if version is None or not version.strip():
        raise TaxonomyError(f"{source}: 'version' must be a string or number")
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        raise TaxonomyError(f"{source}: 'description' must be a string")
    raw_dims = data["dimensions"]
    if not isinstance(raw_dims, list) or not raw_dims:
        raise TaxonomyError(f"{source}: 'dimensions' must be a non-empty list")
    seen: dict[str, int] = {}
    dims: list[Dimension] = []
    for i, raw in enumerate(raw_dims):
        where = _where(source, lines.get(i))
        label = f"dimension {i + 1}"
        if not isinstance(raw, dict):
            raise TaxonomyError(f"{where}: {label} must be a mapping with id, name and definition")
        if isinstance(raw.get("id"), str):
            label = f"dimension {i + 1} ({raw['id']!r})"
        for key in _REQUIRED:
            if key not in raw or raw[key] is None:
                raise TaxonomyError(f"{where}: {label} is missing {key!r}")
        _check_fields(raw, _KNOWN, f"{where}: {label}")
        dim_id = raw["id"]
        if not isinstance(dim_id, str) or not SLUG.match(dim_id):
            raise TaxonomyError(
                f"{where}: {label}: id {dim_id!r} is not a slug",
                hint="use lower-case letters, digits and single hyphens, e.g. 'evidence-use'",
            )
        if dim_id in seen:
            raise TaxonomyError(f"{where}: duplicate dimension id {dim_id!r} (first at dimension {seen[dim_id] + 1})")
        seen[dim_id] = i
        for key in ("name", "definition"):
            value = raw[key]
            if not isinstance(value, str) or not value.strip():
                raise TaxonomyError(f"{where}: {label}: {key!r} must be a non-empty string")
        lists: dict[str, tuple[str, ...]] = {}
        for key in _LISTS:
            value = raw.get(key) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise TaxonomyError(f"{where}: {label}: {key!r} must be a list of non-empty strings")
            lists[key] = tuple(" ".join(v.split()) for v in value)
        dims.append(
            Dimension(
                id=dim_id,
                name=" ".join(raw["name"].split()),
                definition=" ".join(raw["definition"].split()),
                **lists,
                shifts=_shifts(raw.get("shifts"), where=where, label=label),
            )
        )
    return Taxonomy(
        name=name.strip(),
        version=version.strip(),
        description=" ".join(description.split()),
        dimensions=tuple(dims),
        path=source,
    )


def _shifts(raw: Any, *, where: str, label: str) -> tuple[PracticeShift, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TaxonomyError(f"{where}: {label}: 'shifts' must be a list of mappings with before and after")
    out: list[PracticeShift] = []
    for j, item in enumerate(raw, start=1):
        what = f"{label}: shift {j}"
        if not isinstance(item, dict):
            raise TaxonomyError(f"{where}: {what} must be a mapping with id, before and after")
        _check_fields(item, _SHIFT_KEYS, f"{where}: {what}")
        shift_id = item.get("id")
        if not isinstance(shift_id, str) or not SLUG.match(shift_id):
            raise TaxonomyError(f"{where}: {what}: id {shift_id!r} is not a slug")
        if any(s.id == shift_id for s in out):
            raise TaxonomyError(f"{where}: {what}: duplicate shift id {shift_id!r}")
        texts = {}
        for key in ("before", "after"):
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                raise TaxonomyError(f"{where}: {what}: {key!r} must be a non-empty string")
            texts[key] = " ".join(value.split())
        cues = {}
        for key in ("before_cues", "after_cues"):
            value = item.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise TaxonomyError(f"{where}: {what}: {key!r} must be a list of non-empty strings")
            cues[key] = tuple(" ".join(v.lower().split()) for v in value)
        out.append(PracticeShift(id=shift_id, **texts, **cues))
    return tuple(out)


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Read and validate a codebook YAML file; raise `TaxonomyError` naming the file and the problem."""
    import yaml  # noqa: PLC0415

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaxonomyError(f"{path}: no such codebook file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read codebook ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TaxonomyError(f"{where}: invalid YAML ({problem})") from None
    return _validate(data, source=str(path), lines=_dimension_lines(text))


def load_default_taxonomy() -> Taxonomy:
    """The shipped codebook."""
    from .config import default_taxonomy_path  # noqa: PLC0415

    return load_taxonomy(default_taxonomy_path())


@dataclass(frozen=True)
class Example:
    """A labelled passage: its text and the dimension ids it speaks to (possibly none)."""

    text: str
    labels: tuple[str, ...]
    source: str = ""


def load_examples(paths: Sequence[Path | str], *, taxonomy: Taxonomy) -> list[Example]:
    """Read JSONL labelled examples; raise `TaxonomyError` naming file:line and the problem.

    Each line is an object with `text` (non-empty string) and `labels` (a list of ids of
    `taxonomy`); other keys are ignored. Blank lines are skipped. Labels keep the
    codebook's order and duplicates are dropped.
    """
    known = set(taxonomy.ids)
    order = {d: i for i, d in enumerate(taxonomy.ids)}
    out: list[Example] = []
    for path in paths:
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise TaxonomyError(f"{path}: no such examples file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TaxonomyError(f"{path}: cannot read examples ({exc})") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaxonomyError(f"{where}: bad JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, dict):
                raise TaxonomyError(f"{where}: each line must be a JSON object with 'text' and 'labels'")
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise TaxonomyError(f"{where}: missing or empty 'text'")
            if "labels" not in record:
                raise TaxonomyError(f"{where}: missing 'labels' (use [] for a passage with no dimension)")
            labels = record["labels"]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise TaxonomyError(f"{where}: 'labels' must be a list of dimension ids")
            unknown = [x for x in labels if x not in known]
            if unknown:
                raise TaxonomyError(
                    f"{where}: unknown dimension id {unknown[0]!r} for codebook {taxonomy.name!r}",
                    hint=f"known ids: {', '.join(taxonomy.ids)}",
                )
            ordered = tuple(sorted(set(labels), key=order.__getitem__))
            out.append(Example(text=text.strip(), labels=ordered, source=where))
    return out


def examples_hash(examples: Iterable[tuple[str, Sequence[str]]]) -> str:
    """sha256 of the (text, sorted labels) pairs in a stable order: the training-data hash."""
    items = sorted(json.dumps([t, sorted(ls)], ensure_ascii=False) for t, ls in examples)
    digest = hashlib.sha256()
    for item in items:
        digest.update(item.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
