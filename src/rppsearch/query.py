"""The search query language, parsed once and lowered for each engine.

    principal supervisors                 words: ranked, any may match (stop words ignored)
    "theory of action"                    an exact phrase: every hit contains it
    -budget   -"central office"           exclusion: no hit contains it
    coaching OR mentoring                 either (with phrases or fields: at least one must match)
    title:supervision  heading:"next steps"   a word or phrase in the title / heading

The lexical engines get a boolean query (tantivy Query objects are built in
`index/bm25.py`; `fts_match()` is the same query for the SQLite FTS5 fallback); the
semantic engine gets `semantic_text`, the query's own words without operators or
exclusions. A malformed query raises QueryError with the reason; a query with nothing to
search for once stop words and punctuation are gone (`is_empty`) is reported to the user
instead of ranking noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import QueryError
from .index.lexical import STOP_WORDS, fts_quote, tokenize

#: Fields a query term may name (`title:word`), besides the default (title, heading, text).
FIELDS = ("title", "heading")


@dataclass(frozen=True)
class Atom:
    """A word or a quoted phrase, optionally restricted to a field."""

    text: str
    phrase: bool = False
    field: str | None = None

    def words(self) -> list[str]:
        """Searchable tokens: every token of a phrase, the non-stop-word tokens of a word."""
        tokens = tokenize(self.text)
        if self.phrase or self.field:
            return tokens
        kept = [t for t in tokens if t not in STOP_WORDS]
        return tokens if kept and len(tokens) > 1 else kept


@dataclass(frozen=True)
class Clause:
    """One atom, or several joined by OR; `exclude` for `-atom`."""

    atoms: tuple[Atom, ...]
    exclude: bool = False

    @property
    def required(self) -> bool:
        """Phrases and field terms must match (an OR group: one of its members)."""
        return self.exclude is False and any(a.phrase or a.field for a in self.atoms)

    def searchable(self) -> tuple[Atom, ...]:
        return tuple(a for a in self.atoms if a.words())


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    clauses: tuple[Clause, ...]

    @property
    def positive(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if not c.exclude and c.searchable())

    @property
    def excluded(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if c.exclude and c.searchable())

    @property
    def is_empty(self) -> bool:
        """Nothing to look for: no word left after stop words and punctuation."""
        return not self.positive

    @property
    def semantic_text(self) -> str:
        """What the encoder sees: the words and phrases looked for, no operators."""
        return " ".join(a.text for c in self.clauses if not c.exclude for a in c.atoms).strip()

    def highlight_words(self) -> list[str]:
        """Raw text of the atoms looked for (highlighting analyses them like the engine)."""
        return [a.text for c in self.positive for a in c.searchable()]

    def fts_match(self) -> str | None:
        """The query as an FTS5 MATCH expression (terms quoted, so no user text is syntax)."""
        required = [_fts_clause(c) for c in self.positive if c.required]
        optional = [_fts_clause(c) for c in self.positive if not c.required]
        if required:
            positive = " AND ".join(f"({x})" for x in required)
        elif optional:
            positive = " OR ".join(optional)
        else:
            return None
        excluded = [_fts_clause(c) for c in self.excluded]
        if excluded:
            return f"({positive}) NOT ({' OR '.join(excluded)})"
        return positive


def _fts_atom(atom: Atom) -> str:
    words = atom.words()
    body = fts_quote(" ".join(words))  # one word, or the words of a phrase or a hyphenated word
    return f"{atom.field} : {body}" if atom.field else body


def _fts_clause(clause: Clause) -> str:
    return " OR ".join(_fts_atom(a) for a in clause.searchable())


def parse(query: str) -> ParsedQuery:
    """Parse `query`; QueryError names what is malformed and where."""
    items: list[Atom | str] = []  # atoms, "OR", and "-" markers before an atom
    pos, n = 0, len(query)
    while pos < n:
        ch = query[pos]
        if ch.isspace():
            pos += 1
            continue
        if ch == "-" and pos + 1 < n and not query[pos + 1].isspace():
            items.append("-")
            pos += 1
            continue
        if ch == '"':
            text, pos = _phrase(query, pos)
            items.append(Atom(text, phrase=True))
            continue
        end = pos
        while end < n and not query[end].isspace() and query[end] != '"':
            end += 1
        word = query[pos:end]
        pos = end
        name, sep, rest = word.partition(":")
        if sep and name.lower() in FIELDS:
            field = name.lower()
            if rest:
                items.append(Atom(rest, field=field))
            elif pos < n and query[pos] == '"':
                text, pos = _phrase(query, pos)
                items.append(Atom(text, phrase=True, field=field))
            else:
                raise QueryError(f'query: {word} needs a word or a "phrase" right after it (e.g. {field}:budget)')
        elif word == "OR":
            items.append("OR")
        else:
            items.append(Atom(word))
    return ParsedQuery(raw=query, clauses=tuple(_clauses(items)))


def _phrase(query: str, start: int) -> tuple[str, int]:
    close = query.find('"', start + 1)
    if close == -1:
        raise QueryError(f'query: unbalanced double quote at character {start + 1}; close the "phrase" or remove the quote')
    return query[start + 1 : close], close + 1


def _clauses(items: list[Atom | str]) -> list[Clause]:
    clauses: list[Clause] = []
    group: list[Atom] = []
    exclude = False
    pending_or = False
    i = 0
    while i < len(items):
        item = items[i]
        if item == "OR":
            if not group or pending_or:
                raise QueryError("query: OR needs a word or phrase on both sides")
            if exclude:
                raise QueryError("query: an -exclusion cannot be part of an OR; write it on its own")
            pending_or = True
            i += 1
            continue
        negate = item == "-"
        if negate:
            i += 1
            if i >= len(items) or not isinstance(items[i], Atom):
                raise QueryError("query: '-' must be followed by a word or phrase to exclude")
            item = items[i]
        assert isinstance(item, Atom)
        if pending_or:
            if negate:
                raise QueryError("query: an -exclusion cannot be part of an OR; write it on its own")
            group.append(item)
            pending_or = False
        else:
            if group:
                clauses.append(Clause(tuple(group), exclude=exclude))
            group, exclude = [item], negate
        i += 1
    if pending_or:
        raise QueryError("query: OR needs a word or phrase on both sides")
    if group:
        clauses.append(Clause(tuple(group), exclude=exclude))
    return clauses


EMPTY_MESSAGE = (
    "the query {query!r} has nothing to search for: only common words (like 'the', 'of') "
    "or punctuation; add a word that says what you are looking for"
)


ONLY_EXCLUSIONS = (
    "the query {query!r} only says what to leave out (-word); add a word that says what you are looking for"
)


def empty_message(query: str, parsed: ParsedQuery | None = None) -> str:
    """Why a query with nothing to look for finds nothing (`ParsedQuery.is_empty`)."""
    if parsed is not None and parsed.excluded:
        return ONLY_EXCLUSIONS.format(query=query)
    return EMPTY_MESSAGE.format(query=query)
