"""The BM25 engine that serves `rpp search`: a tantivy index in `indexes/lexical/`.

Chosen by measurement (benchmarks/results/lexical_engines.json): at 100k passages SQLite
FTS5's `bm25()` scores every matching row (19 ms p50 for short queries) while tantivy's
block-max WAND answers in 0.3 ms. FTS5 stays in the store (Datasette uses it) and is the
fallback when this index is missing or stale and cannot be refreshed (a read-only store).

One document per passage: `pk` (indexed, fast, stored), `doc` (its document's pk, for
metadata filters), `body` = title, heading path and passage text (what words are ranked
on), and `title` and `heading` alone (for `title:` / `heading:` query terms), tokenised by `ANALYZER` (Unicode words, lower-cased, ASCII-folded, Snowball
English stems); BM25 with k1=1.2, b=0.75. Refreshes are incremental and idempotent: passages
added since the last refresh (pks only grow) are indexed, removed ones deleted, and the
manifest (store generation and schema, analyzer, indexed pks) is written last.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Settings
from ..errors import IndexStateError
from ..store import Store
from ..store import search_sql
from ..store import vectors as vstore
from .lexical import STOP_WORDS

if TYPE_CHECKING:  # pragma: no cover
    from ..query import Atom, ParsedQuery
from .manifest import (
    atomic_path,
    index_lock,
    now_iso,
    read_manifest,
    share_files,
    store_mismatch,
    write_manifest,
)

FORMAT = 3  # 3: title and heading fields for field terms
ANALYZER = "simple|remove_long(40)|lowercase|ascii_fold|stemmer(english)"
TOKENIZER_NAME = "rpp_en"
PKS_FILE = "pks.npy"
FIELD = "body"
FIELDS = (FIELD, "title", "heading")


def _tantivy() -> Any:
    import tantivy  # noqa: PLC0415

    return tantivy


def _analyzer(*, stop_words: bool = False) -> Any:
    tv = _tantivy()
    builder = (
        tv.TextAnalyzerBuilder(tv.Tokenizer.simple())
        .filter(tv.Filter.remove_long(40))
        .filter(tv.Filter.lowercase())
        .filter(tv.Filter.ascii_fold())
    )
    if stop_words:
        builder = builder.filter(tv.Filter.custom_stopword(sorted(STOP_WORDS)))
    return builder.filter(tv.Filter.stemmer("english")).build()


def _schema() -> Any:
    tv = _tantivy()
    builder = tv.SchemaBuilder()
    builder.add_integer_field("pk", stored=True, indexed=True, fast=True)
    builder.add_integer_field("doc", indexed=True, fast=True)
    for name in FIELDS:
        builder.add_text_field(name, tokenizer_name=TOKENIZER_NAME, index_option="position")
    return builder.build()


def body_text(title: str | None, heading: str | None, text: str) -> str:
    """What is indexed for a passage: its document's title, its heading path, its text."""
    return "\n".join(p for p in (title or "", heading or "", text) if p)


def _open(folder: Path) -> Any:
    tv = _tantivy()
    index = tv.Index(_schema(), path=str(folder), reuse=True)
    index.register_tokenizer(TOKENIZER_NAME, _analyzer())
    return index


# -- state -------------------------------------------------------------------------------
def _unusable(manifest: dict[str, Any] | None, folder: Path) -> str | None:
    """Why the index in `folder` cannot be read or updated in place by this rppsearch; None when it can."""
    if manifest is None or not (folder / PKS_FILE).exists() or not (folder / "meta.json").exists():
        return f"no lexical index at {folder}"
    if manifest.get("format") != FORMAT or manifest.get("analyzer") != ANALYZER:
        return f"lexical index at {folder} was built by another rppsearch (format or analyzer differ)"
    return None


def _mismatch(manifest: dict[str, Any] | None, store: Store, folder: Path) -> str | None:
    problem = _unusable(manifest, folder)
    if problem is not None or manifest is None:
        return problem
    return store_mismatch("lexical", manifest, store)


def lexical_state(store: Store, settings: Settings) -> str | None:
    """Why the lexical index does not match the store; None when it does."""
    folder = settings.lexical_dir
    return _mismatch(read_manifest(folder), store, folder)


# -- building ----------------------------------------------------------------------------
def refresh_lexical(store: Store, settings: Settings, *, force: bool = False) -> dict[str, Any]:
    """Bring `indexes/lexical/` up to date with the store's passages (incrementally)."""
    start = time.perf_counter()
    folder = settings.lexical_dir
    manifest = read_manifest(folder)
    problem = _mismatch(manifest, store, folder)
    if problem is None and not force:
        return {"status": "fresh", "count": manifest.get("count", 0) if manifest else 0}
    with index_lock(folder):
        return _refresh_locked(store, folder, force=force, start=start)


def _refresh_locked(store: Store, folder: Path, *, force: bool, start: float) -> dict[str, Any]:
    """refresh_lexical's work, holding the folder's lock (re-checked: another writer may have just done it)."""
    manifest = read_manifest(folder)
    if _mismatch(manifest, store, folder) is None and not force:
        return {"status": "fresh", "count": manifest.get("count", 0) if manifest else 0}
    store_id = vstore.store_identity(store, create=True)
    generation = store.passages_generation()
    schema = store.schema_version()
    current = search_sql.all_passage_pks(store)
    incremental = (
        not force and manifest is not None and _unusable(manifest, folder) is None and manifest.get("store_id") == store_id
    )
    if incremental:
        try:
            old = np.load(folder / PKS_FILE)
            index = _open(folder)
        except (OSError, ValueError):
            incremental = False
    if incremental:
        report = _apply_changes(store, index, folder, old, current)
        status = "updated"
    else:
        report = _rebuild(store, folder, current)
        status = "rebuilt"
    share_files(folder)
    with atomic_path(folder / PKS_FILE) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, current)
    write_manifest(
        folder,
        {
            "kind": "lexical",
            "engine": "tantivy",
            "format": FORMAT,
            "analyzer": ANALYZER,
            "bm25": {"k1": 1.2, "b": 0.75},
            "store_id": store_id,
            "schema_version": schema,
            "passages_generation": generation,
            "count": int(len(current)),
            "created": now_iso(),
        },
    )
    _LOADED.pop(str(folder), None)
    return {"status": status, "count": int(len(current)), **report, "seconds": round(time.perf_counter() - start, 3)}


def _writer(index: Any) -> Any:
    """tantivy's writer. Refreshes take `index_lock` first, so only a foreign process (another
    rppsearch version, a tool) can hold tantivy's own lock here: named, not waited for."""
    try:
        return index.writer(heap_size=128_000_000, num_threads=1)
    except ValueError as exc:  # tantivy's writer lock is held
        raise IndexStateError(
            f"lexical index is being written by another process ({exc})", hint="try again when it is done"
        ) from exc


def _add_rows(writer: Any, rows: list[tuple[int, int, str, str, str]]) -> None:
    tv = _tantivy()
    for pk, doc, title, heading, text in rows:
        writer.add_document(
            tv.Document(pk=int(pk), doc=int(doc), body=body_text(title, heading, text), title=title or "", heading=heading or "")
        )


def _apply_changes(store: Store, index: Any, folder: Path, old: np.ndarray, current: np.ndarray) -> dict[str, int]:
    tv = _tantivy()
    removed = np.setdiff1d(old, current, assume_unique=True)
    added = np.setdiff1d(current, old, assume_unique=True)
    writer = _writer(index)
    try:
        # a run killed between writing a file and committing meta.json leaves that file behind;
        # the next commit may want the same name (`<segment>.<opstamp>.del`) and would fail
        writer.garbage_collect_files()
        for pk in removed.tolist():
            writer.delete_documents_by_term("pk", int(pk))
        high = int(old.max()) if len(old) else 0
        # pks only grow: anything above the old maximum may be a half-finished earlier run
        writer.delete_documents_by_query(
            tv.Query.range_query(index.schema, "pk", tv.FieldType.Integer, lower_bound=high + 1, include_lower=True)
        )
        below = added[added <= high]
        if len(below):  # not expected with AUTOINCREMENT pks, handled anyway
            for pk in below.tolist():
                writer.delete_documents_by_term("pk", int(pk))
            _add_rows(writer, search_sql.passages_for_index(store, below.tolist()))
        for rows in search_sql.iter_passages_for_index(store, after_pk=high):
            _add_rows(writer, rows)
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    return {"added": int(len(added)), "removed": int(len(removed))}


def _rebuild(store: Store, folder: Path, current: np.ndarray) -> dict[str, int]:
    """Build a new index beside the old one, then swap the folders."""
    tv = _tantivy()
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = folder.parent / f".{folder.name}.new-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    index = tv.Index(_schema(), path=str(fresh))
    index.register_tokenizer(TOKENIZER_NAME, _analyzer())
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    for rows in search_sql.iter_passages_for_index(store, after_pk=0):
        _add_rows(writer, rows)
    writer.commit()
    writer.wait_merging_threads()
    del writer, index
    trash = folder.parent / f".{folder.name}.old-{os.getpid()}"
    if folder.exists():
        os.replace(folder, trash)
    os.replace(fresh, folder)
    shutil.rmtree(trash, ignore_errors=True)
    return {"added": int(len(current)), "removed": 0}


# -- querying ----------------------------------------------------------------------------
@dataclass
class LexicalIndex:
    """An open tantivy index with its searcher."""

    folder: Path
    index: Any
    searcher: Any
    manifest: dict[str, Any]

    def query(self, query: "str | ParsedQuery") -> Any | None:
        """The tantivy query for a parsed query (free text is parsed first); None when empty.

        Words are SHOULD clauses (ranked, any may match); phrases and field terms MUST match
        (an OR group of them: one of its members); exclusions MUST NOT.
        """
        tv = _tantivy()
        parsed = _parsed(query)
        clauses = []
        seen: set[tuple[str, tuple[str, ...]]] = set()  # a word said twice counts once, as before
        for clause in parsed.positive:
            atoms = [(key, q) for key, q in map(self._atom, clause.searchable()) if q is not None]
            subs = [q for key, q in atoms if key not in seen]
            if not subs:
                continue
            if clause.required:
                inner = subs[0] if len(subs) == 1 else tv.Query.boolean_query([(tv.Occur.Should, q) for q in subs])
                clauses.append((tv.Occur.Must, inner))
            else:
                seen.update(key for key, _ in atoms)
                clauses.extend((tv.Occur.Should, q) for q in subs)
        if not clauses:
            return None
        for clause in parsed.excluded:
            clauses.extend((tv.Occur.MustNot, q) for _, q in map(self._atom, clause.searchable()) if q is not None)
        return tv.Query.boolean_query(clauses)

    def expansion_for(self, texts: list[str], query: "str | ParsedQuery") -> dict[str, float]:
        """Feedback terms from `texts` (passages as indexed) for `query`; none when the texts
        already contain most of the query's words (`rppsearch.expansion`)."""
        from .. import expansion  # noqa: PLC0415

        analyzer = _query_analyzer(False)
        words = [w for atom_words in _parsed(query).highlight_words() for w in _query_analyzer(True).analyze(atom_words)]
        if expansion.coverage(words, texts, analyze=analyzer.analyze) >= expansion.MAX_COVERAGE:
            return {}
        return expansion.expansion_terms(
            texts, analyze=analyzer.analyze, doc_freq=lambda stem: int(self.searcher.doc_freq(FIELD, stem)),
            num_docs=int(self.searcher.num_docs), stop=_stop_stems(), query_terms=words,
        )

    def _atom(self, atom: "Atom") -> tuple[tuple[str, tuple[str, ...]], Any | None]:
        """(field and stems, the tantivy query) of a word or phrase; the query is None when
        nothing is left to search for."""
        tv = _tantivy()
        stems = _query_analyzer(False).analyze(" ".join(atom.words()))
        name = atom.field or FIELD
        key = (name, tuple(stems))
        if not stems:
            return key, None
        if len(stems) == 1:
            return key, tv.Query.term_query(self.index.schema, name, stems[0])
        return key, tv.Query.phrase_query(self.index.schema, name, stems)

    def search(self, query: "str | ParsedQuery", **options: Any) -> list[tuple[int, float]]:
        """`(passage pk, bm25 score)` best first: `search_with_documents` without the documents."""
        return [(pk, score) for pk, score, _ in self.search_with_documents(query, **options)]

    def search_with_documents(
        self,
        query: "str | ParsedQuery",
        *,
        limit: int,
        doc_pks: np.ndarray | None = None,
        passage_pks: np.ndarray | None = None,
        expansion: dict[str, float] | None = None,
    ) -> list[tuple[int, float, int]]:
        """`(passage pk, bm25 score, document pk)` best first, restricted to the given
        documents/passages; the document pk is read from the index, which stores it beside
        the passage (no lookup in the store).

        `expansion`: `{stem: weight}` added as optional terms (`rppsearch.expansion`); only
        for a query without required or excluded clauses, whose words are all optional."""
        tv = _tantivy()
        q = self.query(query)
        if q is None or limit <= 0:
            return []
        if expansion:
            extra = [
                (tv.Occur.Should, tv.Query.boost_query(tv.Query.term_query(self.index.schema, FIELD, stem), float(w)))
                for stem, w in expansion.items()
                if w > 0
            ]
            q = tv.Query.boolean_query([(tv.Occur.Should, q), *extra])
        clauses = [(tv.Occur.Must, q)]
        for field_name, keep in (("doc", doc_pks), ("pk", passage_pks)):
            if keep is None:
                continue
            if not len(keep):
                return []
            only = tv.Query.term_set_query(self.index.schema, field_name, [int(x) for x in keep.tolist()])
            clauses.append((tv.Occur.Must, tv.Query.const_score_query(only, 0.0)))
        if len(clauses) > 1:
            q = tv.Query.boolean_query(clauses)
        result = self.searcher.search(q, limit=limit, count=False)
        if not result.hits:
            return []
        addresses = [addr for _, addr in result.hits]
        pks = self.searcher.fast_field_values("pk", addresses)
        docs = self.searcher.fast_field_values("doc", addresses)
        return [(int(pk), float(score), int(doc)) for (score, _), pk, doc in zip(result.hits, pks, docs)]


_QUERY_ANALYZERS: dict[bool, Any] = {}


def _query_analyzer(stop_words: bool) -> Any:
    if stop_words not in _QUERY_ANALYZERS:
        _QUERY_ANALYZERS[stop_words] = _analyzer(stop_words=stop_words)
    return _QUERY_ANALYZERS[stop_words]


def _parsed(query: "str | ParsedQuery") -> "ParsedQuery":
    from ..query import ParsedQuery, parse  # noqa: PLC0415

    return query if isinstance(query, ParsedQuery) else parse(query)


def highlight_spans(text: str, query: "str | ParsedQuery") -> list[tuple[int, int]]:
    """Character offsets in `text` of the words whose stems the query looks for."""
    return highlight_texts({0: text}, query).get(0, [])


def highlight_texts(texts: dict[int, str], query: "str | ParsedQuery") -> dict[int, list[tuple[int, int]]]:
    """`highlight_spans` of each text (those with none left out); the query's stems are found once."""
    analyzer = _query_analyzer(False)
    wanted = {stem for words in _parsed(query).highlight_words() for stem in analyzer.analyze(words)}
    if not wanted:
        return {}
    out = {}
    for key, text in texts.items():
        spans = [(t.char_offset_from, t.char_offset_to) for t in analyzer.pre_tokenize(text).tokens if t.text in wanted]
        if spans:
            out[key] = spans
    return out


_STOP_STEMS: set[str] = set()


def _stop_stems() -> set[str]:
    """Stop words as the index's analyzer stems them."""
    if not _STOP_STEMS:
        analyzer = _query_analyzer(False)
        _STOP_STEMS.update(stem for word in STOP_WORDS for stem in analyzer.analyze(word))
    return _STOP_STEMS


_LOADED: dict[str, tuple[tuple[int, int], LexicalIndex]] = {}


def load_lexical(settings: Settings) -> LexicalIndex:
    """The lexical index, opened once per process while its manifest is unchanged."""
    folder = settings.lexical_dir
    try:
        stat = (folder / "manifest.json").stat()
    except OSError:
        raise IndexStateError(f"no lexical index at {folder}", hint="run `rpp build`") from None
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _LOADED.get(str(folder))
    if cached and cached[0] == key:
        return cached[1]
    manifest = read_manifest(folder) or {}
    try:
        index = _open(folder)
        index.reload()
        searcher = index.searcher()
    except (OSError, ValueError) as exc:
        raise IndexStateError(f"{folder}: unreadable lexical index ({exc})", hint="run `rpp build`") from exc
    loaded = LexicalIndex(folder=folder, index=index, searcher=searcher, manifest=manifest)
    _LOADED[str(folder)] = (key, loaded)
    return loaded


def open_lexical(store: Store, settings: Settings, *, auto_refresh: bool = False) -> LexicalIndex | None:
    """The lexical index when it matches the store (refreshed first when allowed), else None.

    None tells the caller to use the store's FTS5 index, which is always current.
    """
    folder = settings.lexical_dir
    problem = _mismatch(read_manifest(folder), store, folder)
    if problem is not None:
        if not auto_refresh or not os.access(settings.index_dir, os.W_OK):
            return None
        try:
            refresh_lexical(store, settings)
        except (IndexStateError, sqlite3.OperationalError):  # locked, or a read-only connection
            return None
    try:
        return load_lexical(settings)
    except IndexStateError:
        return None
