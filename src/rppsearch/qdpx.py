"""People's coding as a REFI-QDA project (`.qdpx`) for NVivo, ATLAS.ti, MAXQDA and QualCoder.

A `.qdpx` is a zip holding `project.qde` (QDA-XML, `urn:QDA-XML:project:1.0`) and a
`sources/` folder. The export writes:

- `Users`: one `User` per reviewer (and, with `include_model`, one for the tagger model,
  named `rppsearch model VERSION`);
- `CodeBook`: the store's dimensions as codes, with their definitions as `Description`
  (the same GUIDs as the `.qdc` export);
- `Sources`: a `TextSource` per document that has a coded passage; its text is the UTF-8
  file `sources/GUID.txt` (`plainTextPath="internal://GUID.txt"`, as the standard says);
- in each source, a `PlainTextSelection` per coded passage (its `name` is the passage id)
  with a `Coding` per reviewer and accepted dimension (`creatingUser`, `creationDateTime`
  = the decision's time). A reviewer who decided a passage and accepted nothing gets a
  selection of their own with no `Coding` ("no code applies"), so rejections survive a
  round trip; a QDA tool shows it as an uncoded selection.
- `Notes`: reviewers' notes as `Note`s, referenced from the selection (`NoteRef`).

Positions. `startPosition` / `endPosition` count Unicode code points (Python `str`
indices, not UTF-16 units nor bytes) in the source text with line endings normalised to
`\\n` (a CRLF counts one), `endPosition` exclusive. The source file written is exactly that
text, so `text[start:end]` is the passage.

GUIDs are uuid5 names of the store's ids (document, passage, reviewer, dimension), so an
export made twice gives the same GUIDs and an import can match sources by them.
"""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .errors import LabelError
from .labels_io import save_whole, code_guid
from .store import Store
from .store import labels as labelstore
from .store import label_queries
from .store.chunked import select_in

__all__ = [
    "QDE_NAMESPACE",
    "MODEL_USER_PREFIX",
    "ExportReport",
    "guid_for",
    "source_guid",
    "user_guid",
    "normalise_newlines",
    "project_xml",
    "write_qdpx",
]

QDE_NAMESPACE = "urn:QDA-XML:project:1.0"
MODEL_USER_PREFIX = "rppsearch model "
_NS = uuid.UUID("0b7e4c5a-91d2-5f3e-8c41-6a2d9e7f1b08")
_Q = f"{{{QDE_NAMESPACE}}}"


def guid_for(kind: str, key: str) -> str:
    """A stable upper-case GUID (uuid5) for an object of `kind` named `key`."""
    return str(uuid.uuid5(_NS, f"{kind}/{key}")).upper()


def source_guid(document_id: str) -> str:
    return guid_for("source", document_id)


def user_guid(name: str) -> str:
    return guid_for("user", name)


def normalise_newlines(text: str) -> tuple[str, Callable[[int], int]]:
    """`text` with CRLF and lone CR made `\\n`, and a map from old offsets to new ones."""
    if "\r" not in text:
        return text, lambda i: i
    crlf = [i for i in range(len(text) - 1) if text[i] == "\r" and text[i + 1] == "\n"]
    import bisect  # noqa: PLC0415

    def shift(i: int) -> int:
        return i - bisect.bisect_left(crlf, i)  # each CRLF before `i` loses one code point

    return text.replace("\r\n", "\n").replace("\r", "\n"), shift


@dataclass
class ExportReport:
    """What an export wrote."""

    sources: int = 0
    selections: int = 0
    codings: int = 0
    users: int = 0
    notes: int = 0


@dataclass
class _Coded:
    """One passage and what each coder said of it."""

    pk: int
    id: str
    document_id: str
    start: int
    end: int
    accepted: dict[str, dict[str, str]]  # user name -> dimension id -> time
    decided: dict[str, str]  # user name -> latest decision time on the passage
    notes: list[tuple[str, str, str]]  # (user, time, text)


def _stamp(value: str | None) -> str:
    if not value:
        return datetime.now(timezone.utc).isoformat(timespec="seconds")
    return labelstore.normalize_stamp(value)


def _collect(store: Store, *, include_model: bool) -> tuple[dict[int, _Coded], str | None]:
    """Coded passages (by pk): people's decisions in force on the current text, notes, and the model's."""
    decisions = [
        label for label in label_queries.latest_by_reviewer(store)
        if label.target_type == "passage" and label.dimension_id is not None
    ]
    notes = store.conn.execute(
        "SELECT l.target_id, l.reviewer, l.note, min(l.created_at) FROM labels l "
        "JOIN passages p ON p.id = l.target_id AND p.text_hash = l.target_hash "
        "WHERE l.target_type = 'passage' AND l.note IS NOT NULL GROUP BY l.target_id, l.reviewer, l.note, l.created_at"
    ).fetchall()
    model_user, model_stamp, model_tags = None, "", []
    if include_model:
        from .store.tags import active_model  # noqa: PLC0415

        model = active_model(store)
        if model is not None:
            model_user = MODEL_USER_PREFIX + str(model["version"])
            model_stamp = _stamp(model.get("created_at"))
            model_tags = store.conn.execute(
                "SELECT p.id, t.dimension_id FROM passage_tags t JOIN passages p ON p.pk = t.passage_pk "
                "WHERE t.source = 'model' AND t.assigned = 1 UNION "
                "SELECT l.target_id, l.dimension_id FROM labels l JOIN passages p ON p.id = l.target_id "
                "AND p.text_hash = l.target_hash WHERE l.target_type = 'passage' AND l.suggested_assigned = 1"
            ).fetchall()
    # only the passages something was said of, not the whole table
    wanted = sorted({label.target_id for label in decisions} | {r[0] for r in notes} | {r[0] for r in model_tags})
    rows = {
        r["id"]: r
        for r in select_in(store, 'SELECT pk, id, document_id, start, "end" FROM passages WHERE id IN', wanted)
    }
    coded: dict[int, _Coded] = {}

    def entry(pid: str) -> _Coded | None:
        row = rows.get(pid)
        if row is None:
            return None
        item = coded.get(row["pk"])
        if item is None:
            item = coded[row["pk"]] = _Coded(
                row["pk"], pid, row["document_id"], row["start"], row["end"], defaultdict(dict), {}, []
            )
        return item

    for label in decisions:
        item = entry(label.target_id)
        if item is None:
            continue
        item.decided[label.reviewer] = max(item.decided.get(label.reviewer, ""), label.created_at)
        if label.decision == "accept":
            item.accepted[label.reviewer][label.dimension_id] = label.created_at  # type: ignore[index]
    for pid, reviewer, note, created_at in notes:
        item = entry(pid)
        if item is not None:
            item.notes.append((reviewer, created_at, note))
    if model_user is not None:
        for pid, dimension_id in model_tags:
            item = entry(pid)
            if item is not None:
                item.accepted[model_user][dimension_id] = model_stamp
                item.decided[model_user] = model_stamp
    return coded, model_user


def _sub(parent: ET.Element, tag: str, attrs: dict[str, str] | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, _Q + tag, attrs or {})
    if text is not None:
        el.text = text
    return el


def project_xml(store: Store, *, include_model: bool = False) -> tuple[bytes, dict[str, str], ExportReport]:
    """(project.qde bytes, {zip path: source text}, report) for the store's coding."""
    dims = labelstore.codebook(store)
    if not dims:
        raise LabelError("the store has no codebook to export", hint="run `rpp build` first")
    coded, _model_user = _collect(store, include_model=include_model)
    report = ExportReport()
    by_doc: dict[str, list[_Coded]] = defaultdict(list)
    for item in coded.values():
        if item.decided:
            by_doc[item.document_id].append(item)
    users = sorted({u for items in by_doc.values() for i in items for u in i.decided} | {
        u for items in by_doc.values() for i in items for u, _, _ in i.notes})
    code_guids = {d["id"]: code_guid(str(d.get("taxonomy") or ""), d["id"]) for d in dims}

    ET.register_namespace("", QDE_NAMESPACE)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    root = ET.Element(_Q + "Project", {"name": "rppsearch coding", "origin": f"rppsearch {__version__}",
                                       "creationDateTime": now})
    if users:
        users_el = _sub(root, "Users")
        for name in users:
            _sub(users_el, "User", {"guid": user_guid(name), "name": name, "id": name})
    report.users = len(users)
    codes = _sub(_sub(root, "CodeBook"), "Codes")
    for dim in dims:
        code = _sub(codes, "Code", {"guid": code_guids[dim["id"]], "name": dim["name"] or dim["id"], "isCodable": "true"})
        _sub(code, "Description", text=f"{dim['id']}: " + " ".join(str(dim.get("definition") or "").split()))

    files: dict[str, str] = {}
    notes: list[ET.Element] = []
    if by_doc:
        sources = _sub(root, "Sources")
        docs = {r["id"]: r for r in select_in(store, "SELECT id, title, text FROM documents WHERE id IN", sorted(by_doc))}
        for doc_id in sorted(by_doc):
            doc = docs.get(doc_id)
            if doc is None:
                continue
            text, shift = normalise_newlines(doc["text"])
            guid = source_guid(doc_id)
            files[f"sources/{guid}.txt"] = text
            src = _sub(sources, "TextSource", {"guid": guid, "name": doc["title"] or doc_id,
                                               "plainTextPath": f"internal://{guid}.txt"})
            _sub(src, "Description", text=f"rppsearch document {doc_id}")
            report.sources += 1
            for item in sorted(by_doc[doc_id], key=lambda i: i.start):
                start, end = str(shift(item.start)), str(shift(item.end))
                coders = [u for u in sorted(item.decided) if item.accepted.get(u)]
                note_refs = []
                for user, created, text_ in sorted(item.notes, key=lambda n: n[1]):
                    nguid = guid_for("note", f"{item.id}/{user}/{created}/{text_}")
                    note = ET.Element(_Q + "Note", {"guid": nguid, "name": f"{item.id} ({user})",
                                                    "creatingUser": user_guid(user), "creationDateTime": _stamp(created)})
                    _sub(note, "PlainTextContent", text=text_)
                    notes.append(note)
                    note_refs.append((user, nguid))
                if coders:
                    first = min(coders, key=lambda u: min(item.accepted[u].values()))
                    sel = _sub(src, "PlainTextSelection", {
                        "guid": guid_for("selection", item.id), "name": item.id, "startPosition": start,
                        "endPosition": end, "creatingUser": user_guid(first),
                        "creationDateTime": _stamp(min(item.accepted[first].values()))})
                    for user in coders:
                        for dim_id, created in sorted(item.accepted[user].items()):
                            if dim_id not in code_guids:
                                continue
                            coding = _sub(sel, "Coding", {"guid": guid_for("coding", f"{item.id}/{user}/{dim_id}"),
                                                          "creatingUser": user_guid(user), "creationDateTime": _stamp(created)})
                            _sub(coding, "CodeRef", {"targetGUID": code_guids[dim_id]})
                            report.codings += 1
                    for user, nguid in note_refs:
                        if user in coders:
                            _sub(sel, "NoteRef", {"targetGUID": nguid})
                    report.selections += 1
                for user in sorted(set(item.decided) - set(coders)):  # decided, accepted nothing
                    sel = _sub(src, "PlainTextSelection", {
                        "guid": guid_for("selection", f"{item.id}/{user}"), "name": f"{item.id}: no code applies ({user})",
                        "startPosition": start, "endPosition": end, "creatingUser": user_guid(user),
                        "creationDateTime": _stamp(item.decided[user])})
                    for who, nguid in note_refs:
                        if who == user:
                            _sub(sel, "NoteRef", {"targetGUID": nguid})
                    report.selections += 1
    if notes:
        notes_el = _sub(root, "Notes")
        notes_el.extend(notes)
        report.notes = len(notes)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True), files, report


def qdpx_bytes(store: Store, *, include_model: bool = False) -> tuple[bytes, ExportReport]:
    """The whole `.qdpx` zip in memory."""
    xml, files, report = project_xml(store, include_model=include_model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for name, text in files.items():
            zf.writestr(name, text.encode("utf-8"))
    return buffer.getvalue(), report


def write_qdpx(store: Store, output: Path, *, include_model: bool = False) -> ExportReport:
    """Write the project to `output` (a temp file renamed into place)."""
    if output is None:
        raise LabelError("--format qdpx writes a zip file: give --output FILE.qdpx")
    data, report = qdpx_bytes(store, include_model=include_model)
    save_whole(Path(output), data)
    return report
