"""People's decisions in and out: JSON lines, CSV, and the codebook as a REFI-QDA `.qdc` file.

Export (`jsonl`, `csv`): one decision a row, oldest first, with the passage text (or the
document title) for context. Import reads the same formats back: each row needs
`target_id`, `decision` (accept | reject | skip) and `reviewer`, and `dimension_id` unless it
is a skip; `target_type`, `created_at`, `note` and `target_hash` are optional; other
columns are ignored. A decision made on an earlier text of a passage (its `target_hash`
differs from the passage's text now) is kept in the log as it was, but does not set the tag
of the new text, just as decisions already in the store do not after an edit. A file is checked line by line first; any bad line fails the whole file with
`FILE:LINE: problem` and nothing is imported. Rows already in the store (same reviewer,
target, dimension, decision and time) are skipped, so importing a file twice adds nothing.

`qdc` writes the codebook (REFI-QDA Codebook 1.0: `CodeBook > Codes > Code` with `guid`,
`name`, `isCodable` and the definition as `Description`) for NVivo, ATLAS.ti, MAXQDA or
Taguette. Code guids are derived from the codebook and dimension ids, so they stay the same
from one export to the next. Whole coded projects (`.qdpx`) are `qdpx.py` (export) and
`qdpx_import.py` (import, reading the file with `qdpx_project.py`).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import __version__
from .errors import LabelError
from .index.manifest import atomic_write
from .review import rollup
from .store import Store
from .store import labels as labelstore
from .store import label_queries, label_rows

__all__ = [
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "EXPORT_COLUMNS",
    "QDC_NAMESPACE",
    "ImportReport",
    "export_rows",
    "write_export",
    "codebook_qdc",
    "code_guid",
    "read_label_file",
    "import_labels",
]

EXPORT_FORMATS = ("jsonl", "csv", "qdc")
IMPORT_FORMATS = ("jsonl", "csv")
EXPORT_COLUMNS = (
    "created_at",
    "reviewer",
    "target_type",
    "target_id",
    "document_id",
    "dimension_id",
    "decision",
    "note",
    "model_version",
    "suggested_score",
    "suggested_assigned",
    "target_hash",
    "text",
)
QDC_NAMESPACE = "urn:QDA-XML:codebook:1.0"
_GUID_NAMESPACE = uuid.UUID("6f1c2a8e-3d0b-5c1e-9a57-2b8e4f0d7c31")


# -- export ------------------------------------------------------------------------------
def export_rows(store: Store) -> Iterator[dict[str, Any]]:
    """Every decision, oldest first, as a dict of `EXPORT_COLUMNS`."""
    for row in label_rows.iter_labels(store):
        yield {k: row.get(k) for k in EXPORT_COLUMNS}


def code_guid(taxonomy: str, dimension_id: str) -> str:
    """A stable GUID for a code (uuid5 of the codebook name and dimension id), upper case."""
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{taxonomy}/{dimension_id}")).upper()


def codebook_qdc(dimensions: Iterable[dict[str, Any]]) -> bytes:
    """The codebook as REFI-QDA Codebook 1.0 XML (UTF-8, with declaration)."""
    dims = list(dimensions)
    if not dims:
        raise LabelError("the store has no codebook to export", hint="run `rpp build` first")
    ET.register_namespace("", QDC_NAMESPACE)
    root = ET.Element(f"{{{QDC_NAMESPACE}}}CodeBook", {"origin": f"rppsearch {__version__}"})
    codes = ET.SubElement(root, f"{{{QDC_NAMESPACE}}}Codes")
    for dim in dims:
        code = ET.SubElement(
            codes,
            f"{{{QDC_NAMESPACE}}}Code",
            {
                "guid": code_guid(str(dim.get("taxonomy") or ""), dim["id"]),
                "name": dim["name"] or dim["id"],
                "isCodable": "true",
            },
        )
        description = ET.SubElement(code, f"{{{QDC_NAMESPACE}}}Description")
        description.text = " ".join(str(dim.get("definition") or "").split())
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write(store: Store, fmt: str, handle: IO[str]) -> int:
    count = 0
    if fmt == "jsonl":
        for row in export_rows(store):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    else:
        writer = csv.DictWriter(handle, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in export_rows(store):
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
            count += 1
    return count


def write_export(store: Store, *, fmt: str, output: Path | None, stdout: IO[str] | None = None) -> int:
    """Write the export to `output` (temp file renamed into place) or to `stdout`; return rows (qdc: codes)."""
    if fmt not in EXPORT_FORMATS:
        raise LabelError(f"--format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "qdc":
        dims = labelstore.codebook(store)
        data = codebook_qdc(dims)
        if output is None:
            assert stdout is not None
            stdout.write(data.decode("utf-8"))
        else:
            save_whole(output, data)
        return len(dims)
    if output is None:
        assert stdout is not None
        return _write(store, fmt, stdout)
    buffer = io.StringIO()
    count = _write(store, fmt, buffer)
    save_whole(output, buffer.getvalue().encode("utf-8"))
    return count


def save_whole(path: Path, data: bytes) -> None:
    """Write an export file whole or not at all (write-then-rename), after checking `path` names a
    file in an existing folder (LabelError otherwise)."""
    path = Path(path)
    if path.is_dir():
        raise LabelError(f"{path}: is a folder; give a file name for --output")
    if not path.parent.exists():
        raise LabelError(f"{path}: folder {path.parent} does not exist")
    with atomic_write(path, "wb") as handle:
        handle.write(data)


# -- import ------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import did."""

    imported: int = 0
    duplicates: int = 0
    rows: int = 0
    stale: int = 0  # imported decisions on an earlier text of their passage (kept, not applied)


@dataclass
class _Row:
    line: int
    target: labelstore.Target
    dimension_id: str | None
    decision: str
    reviewer: str
    note: str | None
    created_at: str | None
    target_hash: str | None = None

    @property
    def stale(self) -> bool:
        return self.target.type == "passage" and self.target_hash not in (None, self.target.text_hash)


def _format_for(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in IMPORT_FORMATS:
            raise LabelError(f"--format {fmt!r}: import reads {' or '.join(IMPORT_FORMATS)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise LabelError(f"{path}: cannot tell the format from the name", hint="name it .jsonl or .csv, or pass --format")


def read_label_file(path: Path, *, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record) for each row of a JSONL or CSV labels file; a str record is an error."""
    fmt = _format_for(path, fmt)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LabelError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LabelError(f"{path}: is a folder, not a labels file") from None
    except UnicodeDecodeError as exc:
        raise LabelError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise LabelError(f"{path}: cannot read ({exc.strerror})") from None
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"invalid JSON ({exc.msg} at column {exc.colno})"
                continue
            if not isinstance(record, dict):
                yield number, "each line must be a JSON object"
                continue
            yield number, record
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        yield 1, f"bad CSV header ({exc})"
        return
    if not header:
        return
    missing = [c for c in ("target_id", "decision", "reviewer") if c not in header]
    if missing:
        yield 1, f"the header has no {', '.join(missing)} column"
        return
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"bad CSV ({exc})"
            return
        if None in record:
            yield start, "more fields than the header has"
        else:
            yield start, {k: (v if v != "" else None) for k, v in record.items()}
        start = reader.line_num + 1


def _check(store: Store, record: dict[str, Any], dims: set[str]) -> _Row | str:
    def text_field(name: str, *, required: bool) -> str | None:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ValueError(f"missing {name!r}")
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name!r} must be a string")
        return value.strip()

    try:
        target_id = text_field("target_id", required=True)
        decision = text_field("decision", required=True)
        reviewer = text_field("reviewer", required=True)
        target_type = text_field("target_type", required=False)
        dimension_id = text_field("dimension_id", required=False)
        note = text_field("note", required=False)
        created_at = text_field("created_at", required=False)
        target_hash = text_field("target_hash", required=False)
    except ValueError as exc:
        return str(exc)
    assert target_id and decision and reviewer
    if decision not in labelstore.DECISIONS:
        return f"decision {decision!r}: use accept, reject or skip"
    if target_type is not None and target_type not in labelstore.TARGET_TYPES:
        return f"target_type {target_type!r}: use passage or document"
    if dimension_id is None and decision != "skip":
        return f"missing 'dimension_id' for a {decision}"
    if dimension_id is not None and dimension_id not in dims:
        return f"unknown dimension {dimension_id!r}"
    try:
        target = labelstore.resolve_target(store, target_id, target_type=target_type)
    except LabelError as exc:
        return exc.message
    if created_at is not None:
        try:
            created_at = labelstore.normalize_stamp(created_at)
        except ValueError:
            return f"created_at {created_at!r} is not an ISO 8601 time"
    return _Row(0, target, dimension_id, decision, reviewer, note, created_at, target_hash)


def import_labels(store: Store, path: Path, *, fmt: str | None = None) -> ImportReport:
    """Import a JSONL or CSV labels file in one transaction; LabelError `FILE:LINE: problem` on a bad line."""
    path = Path(path)
    dims = {d["id"] for d in labelstore.codebook(store)}
    rows: list[_Row] = []
    errors: list[str] = []
    for number, record in read_label_file(path, fmt=fmt):
        checked = record if isinstance(record, str) else _check(store, record, dims)
        if isinstance(checked, str):
            errors.append(f"{path}:{number}: {checked}")
            continue
        checked.line = number
        rows.append(checked)
    if errors:
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        raise LabelError(errors[0] + more, hint="nothing was imported; fix the file and run the import again")
    report = ImportReport(rows=len(rows))
    documents: set[str] = set()
    with store.transaction():
        for row in rows:
            if row.created_at and label_queries.label_exists(
                store,
                target=row.target,
                dimension_id=row.dimension_id,
                decision=row.decision,
                reviewer=row.reviewer,
                created_at=row.created_at,
            ):
                report.duplicates += 1
                continue
            labelstore.record_decisions(
                store,
                target=row.target,
                decisions=[(row.dimension_id, row.decision)],
                reviewer=row.reviewer,
                note=row.note,
                created_at=row.created_at,
                target_hash=row.target_hash,
            )
            report.imported += 1
            report.stale += int(row.stale)
            if row.target.type == "passage":
                documents.add(row.target.document_id)
        rollup(store, sorted(documents))
    return report
