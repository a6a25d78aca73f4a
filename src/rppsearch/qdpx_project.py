"""What a REFI-QDA project (`.qdpx`) says, for the import (`qdpx_import.py`): its `project.qde`
read once (users, codes, notes, source texts), a `--code-map` file, and the project's codes
mapped to the store's dimensions (the rules are in `qdpx_import`'s module doc)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LabelError
from .labels_io import code_guid

__all__ = ["CodeMapping", "Project", "map_codes", "read_code_map"]


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.casefold()).strip()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_code_map(path: Path) -> dict[str, str | None]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabelError(f"{path}: cannot read the code map ({exc.strerror or exc})") from None
    out: dict[str, str | None] = {}
    if Path(path).suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not all(isinstance(v, (str, type(None))) for v in data.values()):
            raise LabelError(f"{path}: a code map is a JSON object of code -> dimension id (or null)")
        return {str(k): (v.strip() or None) if isinstance(v, str) else None for k, v in data.items()}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or (number == 1 and _key(row[0]) == "code"):
            continue
        if len(row) > 2:
            raise LabelError(f"{path}:{number}: expected two columns, code and dimension")
        out[row[0].strip()] = (row[1].strip() or None) if len(row) > 1 else None
    return out


class Project:
    """The parts of project.qde an import needs, read once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise LabelError(f"{path}: no such file") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise LabelError(f"{path}: not a .qdpx (zip) file ({exc})") from None
        try:
            self._read()
        except BaseException:
            self.zip.close()
            raise

    def _read(self) -> None:
        path = self.path
        names = {n.lower(): n for n in self.zip.namelist()}
        qde = names.get("project.qde") or next((n for k, n in names.items() if k.endswith(".qde")), None)
        if qde is None:
            raise LabelError(f"{path}: no project.qde inside")
        try:
            self.root = ET.fromstring(self.zip.read(qde))
        except ET.ParseError as exc:
            raise LabelError(f"{path}:project.qde: not well-formed XML ({exc})") from None
        if _local(self.root.tag) != "Project":
            raise LabelError(f"{path}:project.qde: the root element is {_local(self.root.tag)}, not Project")
        self.ns = self.root.tag[: -len("Project")]
        self.users = {u.get("guid", "").upper(): u.get("name") or u.get("id") or u.get("guid", "")
                      for u in self.root.iter(self.ns + "User")}
        self.codes: dict[str, str] = {}
        for code in self.root.iter(self.ns + "Code"):
            self.codes[code.get("guid", "").upper()] = code.get("name", "")
        self.notes: dict[str, tuple[str, str]] = {}  # note GUID -> (user GUID, text)
        for note in self.root.iter(self.ns + "Note"):
            content = note.find(self.ns + "PlainTextContent")
            text = content.text if content is not None else self._file_text(note.get("plainTextPath"))
            if text and text.strip():
                self.notes[note.get("guid", "").upper()] = (note.get("creatingUser", "").upper(), text.strip())

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def el(self, element: ET.Element) -> str:
        return f"{self.path}:{_local(element.tag)}[guid={element.get('guid', '?')}]"

    def _file_text(self, ref: str | None) -> str | None:
        if not ref:
            return None
        name = ref.split("://", 1)[1] if ref.startswith("internal://") else None
        if name is None:
            return None
        for candidate in (f"sources/{name}", f"Sources/{name}", name):
            try:
                data = self.zip.read(candidate)
            except KeyError:
                continue
            try:
                return data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise LabelError(f"{self.path}:{candidate}: not UTF-8 text (byte {exc.start}), "
                                 "as REFI-QDA requires") from None
        return None

    def source_text(self, source: ET.Element) -> str | None:
        content = source.find(self.ns + "PlainTextContent")
        if content is not None and content.text is not None:
            return content.text
        return self._file_text(source.get("plainTextPath"))


@dataclass
class CodeMapping:
    """The project's codes against the store's dimensions."""

    dimensions: dict[str, str | None]  # code GUID -> dimension id (None: ignored or unknown)
    skipped: set[str]  # code GUIDs the map maps to null/empty (ignore) or to an unknown dimension (a problem)
    problems: list[str]  # with the code map itself


def map_codes(project: Project, *, dims: list[dict[str, Any]], code_map: dict[str, str | None] | None) -> CodeMapping:
    """Each code by the code map (its GUID or name, ignoring case, spaces, hyphens and underscores),
    else the GUID rppsearch gives a dimension, else a dimension with that id or name."""
    ids = {d["id"] for d in dims}
    by_key: dict[str, str] = {}
    for d in dims:
        by_key[_key(d["id"])] = d["id"]
        by_key.setdefault(_key(d["name"] or d["id"]), d["id"])
    ours = {code_guid(str(d.get("taxonomy") or ""), d["id"]): d["id"] for d in dims}
    result = CodeMapping({}, set(), [])
    map_keys = {_key(k): v for k, v in (code_map or {}).items()} | {k.upper(): v for k, v in (code_map or {}).items()}
    for guid, name in project.codes.items():
        if code_map is not None and (guid in map_keys or _key(name) in map_keys):
            target = map_keys.get(guid, map_keys.get(_key(name)))
            if target is not None and target not in ids:
                result.problems.append(f"code map: {name!r} -> unknown dimension {target!r} (known: {', '.join(sorted(ids))})")
                target = None
            if target is None:
                result.skipped.add(guid)
            result.dimensions[guid] = target
            continue
        result.dimensions[guid] = ours.get(guid) or by_key.get(_key(name))
    return result
