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
import hashlib
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabelError
from .qdpx import MODEL_USER_PREFIX, normalise_newlines, source_guid
from .qdpx_project import CodeMapping, Project, map_codes, read_code_map
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

    def match(self, *, guid: str, name: str, text: str) -> str | None:
        """The stored document a source is: the GUID rppsearch wrote, else the one document whose
        id or title is the source's name (or its name without the extension), else one whose text
        is the source's."""
        doc_id = self.by_guid.get(guid)
        if doc_id is None:
            candidates = self.by_name.get(name, []) or self.by_name.get(Path(name).stem, [])
            doc_id = candidates[0] if len(candidates) == 1 else None
        if doc_id is None:
            found = self.by_text(text)
            doc_id = found[0] if found else None
        return doc_id

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


def _position_mode(positions: str, *, text: str, normal: str, selections: list[ET.Element]) -> str:
    """"raw" or "normalized": `positions`, or for "auto", raw when the source has CRLFs and a
    selection ends past its normalised text (the tool counted each CRLF as two)."""
    if positions != "auto":
        return positions
    ends = [int(s.get("endPosition", "0") or 0) for s in selections if (s.get("endPosition") or "").lstrip("-").isdigit()]
    return "raw" if "\r\n" in text and ends and max(ends) > len(normal) else "normalized"


def _covered(passages: list[tuple[int, int, int, str, str]], starts: list[int], *, start: int, end: int,
             min_overlap: float) -> list[tuple[int, int, int, str, str]]:
    """The passages (by start, `starts` their starts) that `start`-`end` overlaps by at least
    `min_overlap` of the passage or of the selection, whichever is shorter."""
    covered = []
    i = max(0, bisect.bisect_right(starts, start) - 1)
    while i < len(passages) and passages[i][0] < end:
        p_start, p_end = passages[i][0], passages[i][1]
        overlap = min(end, p_end) - max(start, p_start)
        if overlap > 0 and overlap >= min_overlap * min(p_end - p_start, end - start):
            covered.append(passages[i])
        i += 1
    return covered


@dataclass(frozen=True)
class _Label:
    """What one Coding says (or a selection with none: `dimension` None, no code applies)."""

    dimension: str | None
    coder: str
    time: str | None


@dataclass
class _Pending:
    """One coder's decisions on one passage, gathered from every selection that covers it."""

    target: labelstore.Target
    accept: dict[str, str | None] = field(default_factory=dict)
    times: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Collector:
    """Walks the project's sources, selections and codings once: the decisions they make per
    (coder, passage pk) in `pending`, every problem in `errors`, the counts in `report`."""

    def __init__(self, project: Project, documents: _Documents, *, mapping: CodeMapping, positions: str, min_overlap: float,
                 default_reviewer: str | None, errors: list[str]) -> None:
        self.project, self.documents = project, documents
        self.mapping = mapping
        self.positions, self.min_overlap, self.default_reviewer = positions, min_overlap, default_reviewer
        self.errors = errors
        self.report = QdpxImportReport()
        self.pending: dict[tuple[str, int], _Pending] = {}
        self.project_user = project.root.get("creatingUserGUID", "").upper()

    def coder(self, *guids: str) -> str | None:
        """The first user GUID given, by name, else the reviewer given (None: nobody)."""
        for g in guids:
            g = (g or "").upper()
            if g:
                return self.project.users.get(g, g)
        return self.default_reviewer

    def read_source(self, source: ET.Element) -> None:
        """Find the stored document a TextSource is, align their texts, then read its selections."""
        ns = self.project.ns
        selections = source.findall(ns + "PlainTextSelection")
        if not selections:
            return
        where = self.project.el(source)
        self.report.sources += 1
        text = self.project.source_text(source)
        if text is None:
            self.errors.append(f"{where}: no text (neither PlainTextContent nor a plainTextPath inside the file)")
            return
        name = source.get("name", "")
        doc_id = self.documents.match(guid=source.get("guid", "").upper(), name=name, text=text)
        if doc_id is None:
            self.errors.append(f"{where}: source {name!r} matches no stored document (by GUID, name or text)")
            return
        normal, raw_shift = normalise_newlines(text)
        stored, stored_shift = self.documents.text(doc_id)
        offset = _align(normal, stored)
        if offset is None:
            self.errors.append(f"{where}: the text of source {name!r} differs from stored document {doc_id!r}")
            return
        mode = _position_mode(self.positions, text=text, normal=normal, selections=selections)
        limit = len(text) if mode == "raw" else len(normal)
        passages = self.documents.passages(doc_id, stored_shift)
        starts = [p[0] for p in passages]
        for sel in selections:
            self.report.selections += 1
            try:
                start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
            except ValueError:
                self.errors.append(f"{self.project.el(sel)}: startPosition/endPosition are not integers")
                continue
            if not 0 <= start < end <= limit:
                self.errors.append(f"{self.project.el(sel)}: positions {start}-{end} out of range "
                                   f"(source text has {limit} characters)")
                continue
            if mode == "raw":
                start, end = raw_shift(start), raw_shift(end)
            labels = self.labels(sel)
            if not labels:
                continue
            covered = _covered(passages, starts, start=start - offset, end=end - offset, min_overlap=self.min_overlap)
            if not covered:
                self.report.uncovered += 1
                continue
            self.add(doc_id, covered, labels, self.notes(sel))

    def labels(self, sel: ET.Element) -> list[_Label]:
        """The selection's codings as labels, people's only; a selection with no coding is a
        "no code applies" by its coder."""
        codings = sel.findall(self.project.ns + "Coding")
        if not codings:
            who = self.coder(sel.get("creatingUser", ""), self.project_user)
            if who is None or who.startswith(MODEL_USER_PREFIX):
                return []
            return [_Label(None, who, _time(sel.get("creationDateTime")))]
        labels = [self.label(coding, sel) for coding in codings]
        return [label for label in labels if label is not None]

    def label(self, coding: ET.Element, sel: ET.Element) -> _Label | None:
        """One Coding's code as a dimension by its coder (None: a model's, ignored, or a problem)."""
        self.report.codings += 1
        ref = coding.find(self.project.ns + "CodeRef")
        target = (ref.get("targetGUID", "") if ref is not None else "").upper()
        who = self.coder(coding.get("creatingUser", ""), sel.get("creatingUser", ""), self.project_user)
        if who is not None and who.startswith(MODEL_USER_PREFIX):
            self.report.model_codings += 1
            return None
        if target not in self.project.codes:
            self.errors.append(f"{self.project.el(coding)}: CodeRef to {target or 'nothing'}, not a code of the CodeBook")
            return None
        if target in self.mapping.skipped:
            return None  # mapped to null on purpose, or a problem with the map already reported
        dim = self.mapping.dimensions.get(target)
        if dim is None:
            self.errors.append(f'{self.project.el(coding)}: unknown code "{self.project.codes[target]}"'
                               f" (no dimension with that id or name; map it with --code-map)")
            return None
        if who is None:
            self.errors.append(f"{self.project.el(coding)}: no coder (creatingUser) and no --reviewer given")
            return None
        return _Label(dim, who, _time(coding.get("creationDateTime")) or _time(sel.get("creationDateTime")))

    def notes(self, sel: ET.Element) -> list[tuple[str, str]]:
        """(user GUID, text) of the notes the selection refers to."""
        guids = [r.get("targetGUID", "").upper() for r in sel.findall(self.project.ns + "NoteRef")]
        return [self.project.notes[g] for g in guids if g in self.project.notes]

    def add(self, doc_id: str, covered: list[tuple[int, int, int, str, str]], labels: list[_Label],
            notes: list[tuple[str, str]]) -> None:
        """Each label on each covered passage, with the notes by its coder (or by nobody)."""
        for _, _, pk, pid, digest in covered:
            for label in labels:
                pending = self.pending.setdefault(
                    (label.coder, pk), _Pending(labelstore.Target("passage", pid, doc_id, digest, pk)))
                if label.dimension is not None:
                    pending.accept[label.dimension] = label.time
                if label.time:
                    pending.times.append(label.time)
                for note_user, note in notes:
                    if self.project.users.get(note_user, note_user) in (label.coder, "") and note not in pending.notes:
                        pending.notes.append(note)


def _actions(store: Store, pending: dict[tuple[str, int], _Pending], *, order: list[str], used_dims: set[str],
             implied_rejects: bool, report: QdpxImportReport) -> list[Action]:
    """The decisions to record, oldest first: per coder and passage, the dimensions accepted and
    (with `implied_rejects`) every other one the project's codes map to rejected, minus those
    already in the store (counted in `report.duplicates`)."""
    existing = existing_keys(store, sorted({who for who, _ in pending}))
    batch: list[Action] = []
    for (who, _pk), act in sorted(pending.items(), key=lambda kv: (min(kv[1].times or [""]), kv[0])):
        accepted = [d for d in order if d in act.accept]
        rejected = [d for d in order if d in used_dims and d not in act.accept] if implied_rejects else []
        stamp = max(act.times) if act.times else labelstore.now_stamp()
        decisions = [(d, "accept") for d in accepted] + [(d, "reject") for d in rejected]
        fresh = [(d, dec) for d, dec in decisions if (who, act.target.id, d, dec, stamp) not in existing]
        report.duplicates += len(decisions) - len(fresh)
        if fresh:
            batch.append(Action(act.target, fresh, who, "\n".join(act.notes) or None, stamp))
    return batch


def _write(store: Store, batch: list[Action]) -> int:
    """Record the decisions and roll their documents up, in one transaction; how many were recorded."""
    with store.transaction():
        imported = record_bulk(store, batch)
        rollup(store, sorted({a.target.document_id for a in batch}))
    return imported


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
    mapping_file = read_code_map(code_map) if code_map is not None else None
    with Project(path) as project:  # (the zip is closed also when a problem is raised)
        mapping = map_codes(project, dims=dims, code_map=mapping_file)
        collector = _Collector(project, _Documents(store), mapping=mapping, positions=positions, min_overlap=min_overlap,
                               default_reviewer=default_reviewer, errors=[f"{code_map}: {p}" for p in mapping.problems])
        for source in project.root.iter(project.ns + "TextSource"):
            collector.read_source(source)
    errors, report, pending = collector.errors, collector.report, collector.pending
    if errors:
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise LabelError(errors[0] + more, hint="nothing was imported; fix the file or pass --code-map")
    batch = _actions(store, pending, order=[d["id"] for d in dims], used_dims={d for d in mapping.dimensions.values() if d},
                     implied_rejects=implied_rejects, report=report)
    report.imported = _write(store, batch)
    report.passages = len({pk for _, pk in pending})
    report.reviewers = sorted({who for who, _ in pending})
    return report
