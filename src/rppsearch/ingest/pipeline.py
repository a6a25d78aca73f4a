"""Ingest files and folders into the store: discover, hash, parse, clean, split, write.

One transaction per document: a failure leaves no row behind and the batch goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, RppError
from ..hashing import file_sha256
from ..models import Block, Document, Metadata, Passage
from ..progress import ProgressFactory, no_progress
from ..store import Store
from ..store import documents as docstore
from . import metadata as meta
from .titling import (
    complete_title,
    distinctions,
    fallback_title,
    keep_told_apart,
    tell_apart_shared_titles,
    with_subtitle,
)

# Bump when parsing, cleaning or splitting changes, so stored documents are re-ingested
# (passages whose text did not change keep their vectors). 2: CJK word units and sentence ends.
# 3: parsers split into ingest/formats (DOCX text boxes, content controls and notes; PPTX),
# repeated body text kept by cleaning, navigation lines dropped, titles by shared rules.
# 4: fallback titles (a heading above a dateline, near the top, an opening sentence past
# hard-wrapped fragments) and what tells a shared title apart (Metadata.distinctions).
PIPELINE_VERSION = "4"
JSONL_SUFFIX = ".jsonl"


def _supported() -> set[str]:
    from .formats import SUPPORTED_SUFFIXES  # noqa: PLC0415

    return set(SUPPORTED_SUFFIXES)


@dataclass
class IngestReport:
    """What an ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: Files found in the given folders that no parser reads, as (path, reason): counted and
    #: listed, never silently ignored (hidden files, catalogs and sidecars are not counted).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (path, warning) for documents stored with a caveat ("3 of 40 pages OCR'd (mean confidence 87)").
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: Where moved folders used to be: pruning covers them too (their missing files were deleted).
    moved_from: set[str] = field(default_factory=set)
    #: Library-export entries without a readable attachment: (export, entry key, reason).
    entries_missing: list[tuple[str, str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "moved": len(self.moved),
            "pruned": len(self.pruned),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "entries_missing": len(self.entries_missing),
        }

    def skipped_by_type(self) -> dict[str, int]:
        """Skipped files counted by extension, most common first ("(none)" for no extension)."""
        counts: dict[str, int] = {}
        for path, _ in self.skipped:
            suffix = Path(path).suffix.lower() or "(none)"
            counts[suffix] = counts.get(suffix, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def nothing_ingested(self) -> bool:
        """No document is in the store from this run (none added, updated, unchanged, moved or pruned)."""
        return not (self.added or self.updated or self.unchanged or self.moved or self.pruned)


@dataclass
class ReadDocument:
    """One document as the store keeps it: clean text, passages and metadata (no id yet)."""

    format: str
    metadata: Metadata
    text: str
    passages: list[Passage]
    document_metadata: Metadata | None = None


def assemble_document(
    path: Path,
    blocks: list[Block],
    file_meta: Metadata,
    *,
    fmt: str,
    overrides: dict[str, Any] | None = None,
    layers: meta.Layers | None = None,
) -> ReadDocument:
    """Metadata (the file's completed from its text, then a library entry, `overrides` (the
    catalog), the user's edits, then fallbacks: title from an early heading a reader accepts, or
    the file name) and passages of clean `blocks`. InputError when no body text is left."""
    from .docmeta import document_metadata  # noqa: PLC0415
    from .segment import split_passages  # noqa: PLC0415

    if not any(b.text.strip() for b in blocks if b.heading_level == 0):
        raise InputError(path, "no text left after removing page furniture")
    layers = layers or meta.Layers()
    own = document_metadata(file_meta, blocks, fmt=fmt)
    own.title = complete_title(own.title, blocks)
    if fmt == "txt":  # a captured page's title line and its subtitle line (a deck's subtitle is often a byline)
        own.title = with_subtitle(own.title, blocks)
    if not own.title:
        # A heading above a dateline, or near the top, or the opening sentence (titling.py); a
        # file name only when the text has no sentence at all. Kept in the own layer, so a
        # catalog or library title that goes away gives way to it without a re-parse.
        own.title = fallback_title(blocks) or path.stem.replace("_", " ").replace("-", " ")
        own.sources["title"] = "inferred"
    own.mentioned_districts = layers.mentions("\n\n".join(b.text for b in blocks))
    # against the text's own title, not a catalog's: only a document titled by its text is told
    # apart, and a catalog title that goes away must not leave that title as a "distinction"
    own.distinctions = distinctions(blocks, own.title)
    metadata = meta.combine(own, library=layers.library, catalog=overrides, user=layers.user, aliases=layers.aliases)
    text, passages = split_passages(blocks)
    return ReadDocument(format=fmt, metadata=metadata, text=text, passages=passages, document_metadata=own)


def read_document(
    path: Path, *, overrides: dict[str, Any] | None = None, layers: meta.Layers | None = None
) -> ReadDocument:
    """Parse, clean and split one file exactly as `rpp ingest` stores it (nothing is stored)."""
    from .clean import clean_blocks  # noqa: PLC0415
    from .formats import parse_file  # noqa: PLC0415

    parsed = parse_file(path)
    return assemble_document(
        path, clean_blocks(parsed.blocks), parsed.metadata, fmt=parsed.format, overrides=overrides, layers=layers
    )


@dataclass
class Source:
    """One thing to ingest: a file, or one record of a JSONL corpus."""

    path: Path  # the file on disk
    key: str  # stored `documents.path`: absolute file path, plus `#ID` for JSONL records
    default_id: str
    record: dict[str, Any] | None = None


def discover(
    paths: list[Path],
) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Files to ingest as (file, root) pairs, (path, reason) for paths that can't be walked,
    and (path, reason) for files inside folders that are skipped as unsupported.

    Folders are walked recursively without following symlinked folders (no loops); hidden
    entries, catalogs, district alias files and sidecars inside folders are passed over (they are not documents).
    A file given by name with an unsupported type is an error, not a skip.
    """
    from .districts import ALIASES_NAME  # noqa: PLC0415
    from .library import LIBRARY_SUFFIXES  # noqa: PLC0415

    supported = _supported() | {JSONL_SUFFIX}
    found: list[tuple[Path, Path]] = []
    errors: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for given in paths:
        if not given.exists() and not given.is_symlink():
            errors.append((str(given), "no such file or folder"))
            continue
        if given.is_dir():
            for dirpath, dirnames, filenames in os.walk(given, followlinks=False, onerror=None):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith(".") or name.endswith(meta.SIDECAR_SUFFIX) or name in (meta.CATALOG_NAME, ALIASES_NAME):
                        continue
                    file = Path(dirpath) / name
                    # Read when named (`rpp ingest LIBRARY.bib`) or at the top of a folder given
                    # (`library.library_exports`); deeper down, its attachments would be read twice.
                    if file.suffix.lower() in LIBRARY_SUFFIXES:
                        if Path(dirpath) != given:  # (one at the top of a folder is read with it)
                            skipped.append((str(file), "reference-manager export: name it or its folder to read its entries"))
                        continue
                    if file.suffix.lower() not in supported:
                        skipped.append((str(file), f"unsupported file type {file.suffix.lower() or '(none)'}"))
                        continue
                    try:
                        resolved = file.resolve(strict=True)
                    except (OSError, RuntimeError):
                        errors.append((str(file), "broken or looping symlink"))
                        continue
                    if not resolved.is_file():  # a FIFO would block the hash's read forever
                        errors.append((str(file), "not a regular file"))
                        continue
                    if resolved not in seen:
                        seen.add(resolved)
                        found.append((file, given))
        else:
            try:
                resolved = given.resolve(strict=True)
            except (OSError, RuntimeError):
                errors.append((str(given), "broken or looping symlink"))
                continue
            if given.suffix.lower() not in supported:
                errors.append((str(given), f"unsupported file type {given.suffix or '(none)'}"))
                continue
            if not resolved.is_file():
                errors.append((str(given), "not a regular file"))
                continue
            if resolved not in seen:
                seen.add(resolved)
                found.append((given, given))
    return found, errors, skipped


def storable_path(path: Path) -> str:
    """The path as valid UTF-8 text: bytes of a non-UTF-8 file name become `\\xNN` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _old_root(old_key: str, new_key: str, root: Path) -> str | None:
    """Where the folder being ingested (`root`) used to be, given one file's stored key before
    (`old_key`) and after (`new_key`) a move: None unless that whole folder is gone from there
    (a file moved out of a folder that is still in place says nothing about its other files)."""
    root_key = storable_path(root.resolve())
    if not new_key.startswith(root_key + os.sep):
        return None  # a single file, or a link resolving outside the folder
    rel = new_key[len(root_key) :]
    if not old_key.endswith(rel):
        return None  # renamed inside the folder as well: the old folder cannot be told
    old_root = old_key[: -len(rel)]
    return None if os.path.lexists(old_root) else old_root


def _default_id(file: Path, root: Path) -> str:
    """Slug of the file name (a file given directly) or of `FOLDER/relative/path` (found in a folder)."""
    if root == file:
        return meta.slugify(file.stem)
    rel = file.relative_to(root).with_suffix("")
    return meta.slugify(f"{root.resolve().name}/{rel}")


def _file_hash(path: Path, extra: str) -> str:
    """The content hash: pipeline version, catalog entry and the file's bytes."""
    return file_sha256(path, prefix=f"{PIPELINE_VERSION}\0{extra}\0".encode())


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """BEIR-style `corpus.jsonl` records: (line number, record or None, error or None)."""
    with open(path, encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"line {number}: invalid JSON ({exc.msg})"
                continue
            if not isinstance(record, dict) or not str(record.get("text") or "").strip():
                yield number, None, f"line {number}: no \"text\" field"
                continue
            yield number, record, None


class Ingester:
    """Turns discovered files into stored documents."""

    def __init__(
        self,
        store: Store,
        *,
        catalog: Path | None = None,
        library: dict[Path, dict[str, Any]] | None = None,
        aliases: Any = None,
    ) -> None:
        self.store = store
        self._metadata = meta.MetadataSources(catalog=catalog)
        self._library = library or {}  # resolved attachment path -> its library entry
        self._aliases = aliases

    def _unique_id(self, wanted: str, key: str) -> str:
        row = self.store.conn.execute("SELECT path FROM documents WHERE id = ?", (wanted,)).fetchone()
        if row is None or row[0] == key:
            return wanted
        return f"{wanted}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"

    def _moved_here(self, content_hash: str) -> dict[str, Any] | None:
        """The stored document (id, path) this file is a move of, or None.

        A move (the corpus folder moved or renamed, the project copied to another machine)
        keeps a file's content while its stored path is gone: the document keeps its id,
        passages, vectors, tags and people's decisions instead of coming back as a new one.
        Same content still present at its old path is a copy, and becomes its own document.
        """
        for row in docstore.documents_with_hash(self.store, content_hash):
            old = row["path"]
            # JSONL records and undecodable names (stored with \\x escapes) are never moves
            if row["format"] != "jsonl" and "\\x" not in old and not os.path.lexists(old):
                return row
        return None

    # -- one document ----------------------------------------------------------------
    def _build(self, source: Source, overrides: dict[str, Any], content_hash: str, layers: meta.Layers) -> Document:
        if source.record is not None:
            from .clean import normalize_text  # noqa: PLC0415

            record = source.record
            body = normalize_text(str(record.get("text") or ""))
            blocks = [Block(p) for p in body.split("\n\n") if p.strip()]
            file_meta = Metadata(title=(str(record.get("title") or "").strip() or None))
            file_meta.extra = {"source_id": str(record.get("_id", ""))}
            read = assemble_document(source.path, blocks, file_meta, fmt="jsonl", overrides=overrides, layers=layers)
        else:
            read = read_document(source.path, overrides=overrides, layers=layers)
        doc_id = self._unique_id(read.metadata.catalog_id or source.default_id, source.key)
        return Document(id=doc_id, path=source.key, content_hash=content_hash, **vars(read))

    def ingest_source(self, source: Source, root: Path, report: IngestReport) -> None:
        """Ingest one source, recording the outcome in `report` (never raises RppError)."""
        try:
            overrides = self._metadata.overrides(source.path, root=root) if source.record is None else {}
            if source.record is not None:
                content_hash = hashlib.sha256(
                    (PIPELINE_VERSION + json.dumps(source.record, sort_keys=True)).encode()
                ).hexdigest()
            else:
                from .formats import check_file  # noqa: PLC0415

                check_file(source.path)  # refuse a huge or empty file before hashing it
                content_hash = _file_hash(source.path, "")  # metadata is hashed apart (metadata_hash)
            existing = docstore.document_by_path(self.store, source.key)
            layers = self._layers(source, existing)
            metadata_hash = layers.digest(overrides)
            if existing and existing["content_hash"] == content_hash:
                if existing.get("metadata_hash") == metadata_hash:
                    report.unchanged.append(existing["id"])
                    return
                if self._refresh_metadata(existing, overrides, layers, metadata_hash):
                    report.updated.append(existing["id"])
                    return
            if existing is None and source.record is None:
                moved = self._moved_here(content_hash)
                if moved is not None:
                    old_path = moved["path"]
                    with self.store.transaction():
                        docstore.move_document(self.store, moved["id"], source.key)
                    report.moved.append(moved["id"])
                    old_root = _old_root(old_path, source.key, root)
                    if old_root is not None:
                        report.moved_from.add(old_root)
                    return
            document = self._build(source, overrides, content_hash, layers)
            keep_told_apart(document.metadata, existing if existing and existing["id"] == document.id else None)
            with self.store.transaction():
                if existing and existing["id"] != document.id:
                    docstore.delete_document(self.store, existing["id"])
                status = docstore.replace_document(
                    self.store, document, metadata_hash=metadata_hash, library=layers.library, catalog=overrides,
                    mentions_aliases=layers.aliases_digest(),
                )
                if existing and existing["id"] != document.id and layers.user:
                    # the user's `rpp edit` follows the document to its new id (a catalog id)
                    docstore.set_user_overrides(self.store, document.id, layers.user)
            (report.added if status == "added" else report.updated).append(document.id)
            report.warnings.extend((str(source.path), w) for w in document.metadata.extra.get("warnings", []))
        except RppError as exc:
            report.failed.append((str(source.path), getattr(exc, "reason", None) or exc.message))
        except (OSError, UnicodeError, ValueError, RecursionError, MemoryError) as exc:
            report.failed.append((str(source.path), f"{type(exc).__name__}: {exc}"))

    def _layers(self, source: Source, existing: dict[str, Any] | None) -> meta.Layers:
        """The library entry (this run's, else the one stored: a library's metadata survives
        `rpp add` of its file), the user's overrides and the district aliases."""
        library = self._library.get(source.path.resolve()) if source.record is None else None
        if library is None and existing:
            library = docstore.stored_layers(existing).get("library")
        user = docstore.user_overrides(self.store, existing["id"]) if existing else None
        return meta.Layers(library=library, user=user, aliases=self._aliases)

    def _refresh_metadata(
        self, existing: dict[str, Any], overrides: dict[str, Any], layers: meta.Layers, metadata_hash: str
    ) -> bool:
        """Re-resolve a stored document's metadata from its stored own layer (nothing re-parsed);
        False when that is not possible (a row from before layers were kept, a changed id).

        The districts its text mentions are found again (over the stored text) only when the
        aliases changed since they were found: a catalog, library or user edit keeps them."""
        stored = docstore.stored_layers(existing)
        own = stored.get("document")
        if own is None:
            return False
        aliases_digest = layers.aliases_digest()
        if stored.get("mentions_aliases") != aliases_digest:
            own.mentioned_districts = layers.mentions(docstore.document_text(self.store, existing["id"]))
        metadata = meta.combine(own, library=layers.library, catalog=overrides, user=layers.user, aliases=layers.aliases)
        if metadata.catalog_id and metadata.catalog_id != existing["id"]:
            return False
        if not metadata.title:  # stored before the own layer kept the fallback title: re-read
            return False
        keep_told_apart(metadata, existing)
        with self.store.transaction():
            docstore.update_metadata(
                self.store, existing["id"], metadata, document_metadata=own, metadata_hash=metadata_hash,
                library=layers.library, catalog=overrides, mentions_aliases=aliases_digest,
            )
        return True

    def sources(self, file: Path, root: Path, report: IngestReport) -> Iterator[Source]:
        """The file itself, or each record of a JSONL corpus."""
        key = storable_path(file.resolve())
        if file.suffix.lower() != JSONL_SUFFIX:
            yield Source(path=file, key=key, default_id=_default_id(file, root))
            return
        prefix = meta.slugify(file.resolve().parent.name if file.stem == "corpus" else file.stem)
        try:
            for _number, record, error in _iter_jsonl(file):
                if error:
                    report.failed.append((f"{file}", error))
                    continue
                assert record is not None
                rid = str(record.get("_id") or record.get("id") or _number)
                yield Source(path=file, key=f"{key}#{rid}", default_id=f"{prefix}-{meta.slugify(rid)}", record=record)
        except (OSError, UnicodeError) as exc:
            report.failed.append((str(file), f"cannot read JSONL ({exc})"))


def ingest_paths(
    store: Store,
    paths: list[Path],
    *,
    catalog: Path | None = None,
    prune: bool = False,
    progress: ProgressFactory | None = None,
) -> IngestReport:
    """Ingest files and folders; with `prune`, drop stored documents whose files are gone.

    `prune` only considers documents stored from under the given folders (and where a moved
    folder used to be). `progress` gets one step per file.
    """
    from .districts import load_aliases  # noqa: PLC0415

    report = IngestReport()
    from .library import library_exports  # noqa: PLC0415

    paths, library = library_exports(paths, report)
    files, errors, report.skipped = discover(paths)
    report.failed.extend(errors)
    aliases = load_aliases(*paths, *([catalog] if catalog else []))
    docstore.save_district_aliases(store, aliases.pairs())
    ingester = Ingester(store, catalog=catalog, library=library, aliases=aliases)
    seen_keys: set[str] = set()
    with (progress or no_progress)("Ingesting", len(files)) as advance:
        for file, root in files:
            for source in ingester.sources(file, root, report):
                seen_keys.add(source.key)
                ingester.ingest_source(source, root, report)
            advance(1)
    if prune:
        old_roots = [Path(r) for r in sorted(report.moved_from)]
        report.pruned = prune_missing(store, roots=[*paths, *old_roots], keep=seen_keys)
    report.warnings.extend(tell_apart_shared_titles(store))  # documents added or gone change who shares a title
    return report


def prune_missing(store: Store, *, roots: list[Path], keep: set[str]) -> list[str]:
    """Delete documents stored from under `roots` whose file (or JSONL record) is gone."""
    prefixes = [storable_path(r.resolve()) for r in roots]
    removed = []
    for doc_id, key in docstore.all_document_paths(store):
        file_part = key.split("#", 1)[0]
        under = any(file_part == p or file_part.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes)
        if under and key not in keep:
            with store.transaction():
                docstore.delete_document(store, doc_id)
            removed.append(doc_id)
    return removed
