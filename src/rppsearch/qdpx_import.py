"""Codings made in NVivo, ATLAS.ti, MAXQDA or QualCoder (a REFI-QDA `.qdpx`) back as decisions.

Rules (the README states them for users):

- Codes -> dimensions: a `--code-map` file first (JSON `{"code name or GUID": "dimension id"
  or null}` or CSV `code,dimension`; null or empty ignores the code), else the code's GUID
  as rppsearch writes it, else its name against each dimension's id or name, ignoring case,
  spaces, hyphens and underscores. A `Coding` whose code maps to nothing is an error.
- Sources -> documents: the GUID rppsearch wrote (`qdpx.source_guid`), else a document whose
  id or title equals the source's name, else a document whose text equals the source's
  text (line endings normalised, outer white space ignored). The source's text must then
  contain the stored text (a tool may add or trim white space around it): positions are
  moved by the difference. Anything else is an error naming the source.
- Positions count code points in the source text with line endings normalised to `\\n`.
  Some tools count a CRLF as two: `positions="auto"` (default) takes raw positions for a
  source with CRLFs when a selection ends past the normalised text, `"raw"` always,
  `"normalized"` never.
- A selection codes each passage it overlaps by at least `min_overlap` of the passage or
  of the selection (whichever is shorter), so a sentence coded inside a paragraph codes
  that paragraph, and a selection across a boundary codes the passages it mostly covers.
- The coder (`creatingUser` of the `Coding`, else of the selection, else of the project,
  else `default_reviewer`) becomes the reviewer. Per coder and passage, the codes applied are
  accepted and, with `implied_rejects`, every other code of the project's codebook that maps
  to a dimension is rejected (they saw the passage and did not apply it) — so imports are
  complete training examples, as `rpp review` writes them. A selection with no coding
  (rppsearch writes one for "no code applies") rejects them all. Users named
  `rppsearch model …` (exports with `--include-model`) are the model, not people: skipped.
- All or nothing: every problem is collected as `FILE:Element[guid=…]: problem`, and if there
  is any, nothing is imported. Decisions already in the store (same coder, passage,
  dimension, decision and time) are skipped, so importing twice adds nothing.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LabelError
from .labels_io import code_guid
from .qdpx import MODEL_USER_PREFIX, normalise_newlines, source_guid
from .review import rollup
from .store import Store
from .store import labels as labelstore
from .store.labels_bulk import Action, existing_keys, record_bulk

__all__ = ["QdpxImportReport", "import_qdpx", "POSITION_MODES"]

POSITION_MODES = ("auto", "normalized", "raw")


@dataclass
class QdpxImportReport:
    """What a `.qdpx` import did."""

    sources: int = 0
    selections: int = 0
    codings: int = 0
    passages: int = 0
    imported: int = 0
    duplicates: int = 0
    reviewers: list[str] = field(default_factory=list)
    model_codings: int = 0  # codings by an rppsearch model user, not imported
    uncovered: int = 0  # selections that covered no passage enough


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.casefold()).strip()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_map(path: Path) -> dict[str, str | None]:
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


class _Project:
    """The parts of project.qde an import needs, read once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise LabelError(f"{path}: no such file") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise LabelError(f"{path}: not a .qdpx (zip) file ({exc})") from None
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
        self.notes = {}
        for note in self.root.iter(self.ns + "Note"):
            content = note.find(self.ns + "PlainTextContent")
            text = content.text if content is not None else self._file_text(note.get("plainTextPath"))
            if text and text.strip():
                self.notes[note.get("guid", "").upper()] = (note.get("creatingUser", "").upper(), text.strip())

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
            return data.decode("utf-8-sig", errors="strict")
        return None

    def source_text(self, source: ET.Element) -> str | None:
        content = source.find(self.ns + "PlainTextContent")
        if content is not None and content.text is not None:
            return content.text
        return self._file_text(source.get("plainTextPath"))


def _code_mapping(project: _Project, dims: list[dict[str, Any]], code_map: dict[str, str | None] | None) -> tuple[dict[str, str | None], list[str]]:
    """code GUID -> dimension id (None: ignored or unknown), and problems with the map itself."""
    ids = {d["id"] for d in dims}
    by_key: dict[str, str] = {}
    for d in dims:
        by_key[_key(d["id"])] = d["id"]
        by_key.setdefault(_key(d["name"] or d["id"]), d["id"])
    ours = {code_guid(str(d.get("taxonomy") or ""), d["id"]): d["id"] for d in dims}
    problems: list[str] = []
    mapped: dict[str, str | None] = {}
    map_keys = {_key(k): v for k, v in (code_map or {}).items()} | {k.upper(): v for k, v in (code_map or {}).items()}
    for guid, name in project.codes.items():
        if code_map is not None and (guid in map_keys or _key(name) in map_keys):
            target = map_keys.get(guid, map_keys.get(_key(name)))
            if target is not None and target not in ids:
                problems.append(f"code map: {name!r} -> unknown dimension {target!r} (known: {', '.join(sorted(ids))})")
                target = None
            mapped[guid] = target
            continue
        mapped[guid] = ours.get(guid) or by_key.get(_key(name))
    return mapped, problems


class _Documents:
    """Stored documents found by GUID, name, or text, with their passages by start offset."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_guid: dict[str, str] = {}
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for doc_id, title in store.conn.execute("SELECT id, title FROM documents"):
            self.by_guid[source_guid(doc_id)] = doc_id
            self.by_name[doc_id].append(doc_id)
            if title and title != doc_id:
                self.by_name[title].append(doc_id)
        self._hashes: dict[str, list[str]] | None = None
        self._passages: dict[str, list[tuple[int, int, int, str, str]]] = {}

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha256(normalise_newlines(text)[0].strip().encode("utf-8")).hexdigest()

    def by_text(self, text: str) -> list[str]:
        if self._hashes is None:
            self._hashes = defaultdict(list)
            for doc_id, body in self.store.conn.execute("SELECT id, text FROM documents"):
                self._hashes[self.digest(body)].append(doc_id)
        return self._hashes.get(self.digest(text), [])

    def text(self, doc_id: str) -> tuple[str, Callable[[int], int]]:
        """The document's text with newlines normalised, and the map from stored offsets into it."""
        row = self.store.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return normalise_newlines(row[0])

    def passages(self, doc_id: str, shift: Callable[[int], int]) -> list[tuple[int, int, int, str, str]]:
        """(start, end, pk, id, text_hash) in the document's normalised text (`shift`: from `text`), by start."""
        if doc_id not in self._passages:
            rows = self.store.conn.execute(
                'SELECT start, "end", pk, id, text_hash FROM passages WHERE document_id = ? ORDER BY start', (doc_id,)
            )
            self._passages[doc_id] = [(shift(s), shift(e), pk, pid, h) for s, e, pk, pid, h in rows]
        return self._passages[doc_id]


def _align(foreign: str, stored: str) -> int | None:
    """Offset to subtract from a position in `foreign` to get one in `stored` (None: texts differ)."""
    if foreign == stored:
        return 0
    at = foreign.find(stored) if stored else -1
    if at >= 0:
        return at
    if foreign.strip() == stored.strip():
        return (len(foreign) - len(foreign.lstrip())) - (len(stored) - len(stored.lstrip()))
    inner = stored.strip()
    at = foreign.find(inner) if inner else -1
    if at >= 0:
        return at - (len(stored) - len(stored.lstrip()))
    return None


def _time(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return labelstore.normalize_stamp(value)
    except ValueError:
        return None


def import_qdpx(
    store: Store,
    path: Path,
    *,
    min_overlap: float = 0.5,
    code_map: Path | None = None,
    positions: str = "auto",
    implied_rejects: bool = True,
    default_reviewer: str | None = None,
) -> QdpxImportReport:
    """Import a `.qdpx`'s text codings as decisions in one transaction (rules in the module doc)."""
    path = Path(path)
    if not 0 < min_overlap <= 1:
        raise LabelError(f"--min-overlap {min_overlap}: give a fraction in (0, 1]")
    if positions not in POSITION_MODES:
        raise LabelError(f"--positions {positions!r}: use one of {', '.join(POSITION_MODES)}")
    dims = labelstore.codebook(store)
    if not dims:
        raise LabelError("the store has no codebook yet", hint="run `rpp build` first")
    mapping_file = _read_map(code_map) if code_map is not None else None
    project = _Project(path)
    mapping, errors = _code_mapping(project, dims, mapping_file)
    errors = [f"{code_map}: {p}" for p in errors]
    used_dims = {d for d in mapping.values() if d}
    documents = _Documents(store)
    report = QdpxImportReport()
    project_user = project.root.get("creatingUserGUID", "").upper()
    # (reviewer, passage pk) -> {"accept": {dim: time}, "times": [...], "notes": [...], "target": Target}
    actions: dict[tuple[str, int], dict[str, Any]] = {}

    def coder(*guids: str) -> str | None:
        for g in guids:
            g = (g or "").upper()
            if g:
                return project.users.get(g, g)
        return default_reviewer

    for source in project.root.iter(project.ns + "TextSource"):
        selections = source.findall(project.ns + "PlainTextSelection")
        if not selections:
            continue
        where = project.el(source)
        report.sources += 1
        text = project.source_text(source)
        if text is None:
            errors.append(f"{where}: no text (neither PlainTextContent nor a plainTextPath inside the file)")
            continue
        guid, name = source.get("guid", "").upper(), source.get("name", "")
        doc_id = documents.by_guid.get(guid)
        if doc_id is None:
            candidates = documents.by_name.get(name, []) or documents.by_name.get(Path(name).stem, [])
            doc_id = candidates[0] if len(candidates) == 1 else None
        if doc_id is None:
            found = documents.by_text(text)
            doc_id = found[0] if found else None
        if doc_id is None:
            errors.append(f"{where}: source {name!r} matches no stored document (by GUID, name or text)")
            continue
        normal, raw_shift = normalise_newlines(text)
        stored, stored_shift = documents.text(doc_id)
        offset = _align(normal, stored)
        if offset is None:
            errors.append(f"{where}: the text of source {name!r} differs from stored document {doc_id!r}")
            continue
        mode = positions
        if mode == "auto":
            ends = [int(s.get("endPosition", "0") or 0) for s in selections if (s.get("endPosition") or "").lstrip("-").isdigit()]
            mode = "raw" if "\r\n" in text and ends and max(ends) > len(normal) else "normalized"
        limit = len(text) if mode == "raw" else len(normal)
        passages = documents.passages(doc_id, stored_shift)
        starts = [p[0] for p in passages]
        for sel in selections:
            sel_where = project.el(sel)
            report.selections += 1
            try:
                start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
            except ValueError:
                errors.append(f"{sel_where}: startPosition/endPosition are not integers")
                continue
            if not 0 <= start < end <= limit:
                errors.append(f"{sel_where}: positions {start}-{end} out of range (source text has {limit} characters)")
                continue
            if mode == "raw":
                start, end = raw_shift(start), raw_shift(end)
            start, end = start - offset, end - offset
            codings = sel.findall(project.ns + "Coding")
            items: list[tuple[str | None, str | None, str | None]] = []  # (dimension, reviewer, time)
            for coding in codings:
                report.codings += 1
                ref = coding.find(project.ns + "CodeRef")
                target = (ref.get("targetGUID", "") if ref is not None else "").upper()
                who = coder(coding.get("creatingUser", ""), sel.get("creatingUser", ""), project_user)
                if who is not None and who.startswith(MODEL_USER_PREFIX):
                    report.model_codings += 1
                    continue
                if target not in project.codes:
                    errors.append(f"{project.el(coding)}: CodeRef to {target or 'nothing'}, not a code of the CodeBook")
                    continue
                dim = mapping.get(target)
                if dim is None:
                    if mapping_file is not None and any(k in mapping_file for k in (project.codes[target], target)):
                        continue  # mapped to null on purpose
                    errors.append(f'{project.el(coding)}: unknown code "{project.codes[target]}"'
                                  f" (no dimension with that id or name; map it with --code-map)")
                    continue
                if who is None:
                    errors.append(f"{project.el(coding)}: no coder (creatingUser) and no --reviewer given")
                    continue
                items.append((dim, who, _time(coding.get("creationDateTime")) or _time(sel.get("creationDateTime"))))
            if not codings:
                who = coder(sel.get("creatingUser", ""), project_user)
                if who is None or who.startswith(MODEL_USER_PREFIX):
                    continue
                items.append((None, who, _time(sel.get("creationDateTime"))))
            if not items:
                continue
            note_texts = [project.notes[r.get("targetGUID", "").upper()] for r in sel.findall(project.ns + "NoteRef")
                          if r.get("targetGUID", "").upper() in project.notes]
            covered = []
            i = max(0, bisect.bisect_right(starts, start) - 1)
            while i < len(passages) and passages[i][0] < end:
                p_start, p_end = passages[i][0], passages[i][1]
                overlap = min(end, p_end) - max(start, p_start)
                if overlap > 0 and overlap >= min_overlap * min(p_end - p_start, end - start):
                    covered.append(passages[i])
                i += 1
            if not covered:
                report.uncovered += 1
                continue
            for _, _, pk, pid, digest in covered:
                for dim, who, stamp in items:
                    assert who is not None
                    act = actions.setdefault((who, pk), {
                        "accept": {}, "times": [], "notes": [],
                        "target": labelstore.Target("passage", pid, doc_id, digest, pk)})
                    if dim is not None:
                        act["accept"][dim] = stamp
                    if stamp:
                        act["times"].append(stamp)
                    for note_user, note in note_texts:
                        if project.users.get(note_user, note_user) in (who, "") and note not in act["notes"]:
                            act["notes"].append(note)
    if errors:
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise LabelError(errors[0] + more, hint="nothing was imported; fix the file or pass --code-map")
    order = [d["id"] for d in dims]
    existing = existing_keys(store, sorted({who for who, _ in actions}))
    batch: list[Action] = []
    for (who, _pk), act in sorted(actions.items(), key=lambda kv: (min(kv[1]["times"] or [""]), kv[0])):
        accepted = [d for d in order if d in act["accept"]]
        rejected = [d for d in order if d in used_dims and d not in act["accept"]] if implied_rejects else []
        stamp = max(act["times"]) if act["times"] else labelstore.now_stamp()
        decisions = [(d, "accept") for d in accepted] + [(d, "reject") for d in rejected]
        target = act["target"]
        fresh = [(d, dec) for d, dec in decisions if (who, target.id, d, dec, stamp) not in existing]
        report.duplicates += len(decisions) - len(fresh)
        if fresh:
            batch.append(Action(target, fresh, who, "\n".join(act["notes"]) or None, stamp))
    with store.transaction():
        report.imported = record_bulk(store, batch)
        rollup(store, sorted({a.target.document_id for a in batch}))
    report.passages = len({pk for _, pk in actions})
    report.reviewers = sorted({who for who, _ in actions})
    return report
