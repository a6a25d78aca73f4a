"""School districts: one canonical name each, and the ones a text mentions.

`DistrictAliases` holds the canonical names (a shipped default, `data/district_aliases.yaml`,
extended by a user's `district_aliases.yaml` beside the corpus) and collapses spellings:
"Highline" / "Highline Public Schools", "Dallas" / "Dallas ISD", "Fresno Unified" / "Fresno
Unified School District" become one value each in facets, filters and coverage.

`find_districts` finds district and school-system names in text with spaCy's rule-based
Matcher on a blank English pipeline ("X Public Schools", "X Unified School District", "X ISD",
"X County Schools", "KIPP X", "School District of X") plus a PhraseMatcher over the gazetteer
(every canonical name and alias, which covers charter networks such as "FirstLine Schools").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InputError

ALIASES_NAME = "district_aliases.yaml"

#: Capitalised words that start a phrase without being part of a district's name.
_NOT_A_NAME = {
    "the", "a", "an", "in", "of", "how", "read", "our", "your", "their", "this", "that", "these", "every",
    "each", "many", "most", "all", "some", "other", "large", "urban", "rural", "local", "public", "great",
    "redesigning", "strengthening", "transforming", "supporting", "leading", "building", "across", "and",
    "for", "with", "from", "at", "by", "on", "to", "school", "schools", "district", "districts", "city",
    "county", "state", "about", "both", "when", "where", "while", "why", "what", "like", "as", "new",
    "member", "participating", "partner", "central", "office", "if", "its", "his", "her", "we", "they",
}
_SPACE = re.compile(r"\s+")
_PAREN = re.compile(r"\s*\([^)]*\)\s*$")
_APOS = str.maketrans({"’": "'", "‘": "'"})


def _key(name: str) -> str:
    return _SPACE.sub(" ", name.translate(_APOS)).strip().lower()


def structural_form(name: str) -> str:
    """A name in the usual long form without a trailing qualifier: "Fresno Unified" ->
    "Fresno Unified School District", "X Independent School District" -> "X ISD",
    "FirstLine Schools (New Orleans)" -> "FirstLine Schools"."""
    name = _SPACE.sub(" ", name).strip(" ,;.")
    name = _PAREN.sub("", name) or name
    name = re.sub(r"\bIndependent School District$", "ISD", name)
    if re.search(r"\bUnified$", name):
        name += " School District"
    return name


def lookup_keys(name: str) -> tuple[str, str, str]:
    """The one rule for a district's canonical name, at ingest and in the store's filters
    (`store.district_sql`): the canonical name of the alias key of `name` as given, else of
    its long form (`structural_form`), else the long form itself. Returns (key of the name,
    key of the long form, the long form)."""
    name = _SPACE.sub(" ", str(name)).strip(" ,;.")
    long_form = structural_form(name) if name else name
    return _key(name), _key(long_form), long_form


@dataclass
class DistrictAliases:
    """Canonical district names, their aliases (also found in text) and shorthands (catalogs only)."""

    canonical: dict[str, str] = field(default_factory=dict)  # key of any spelling -> canonical name
    searchable: set[str] = field(default_factory=set)  # spellings worth finding in text
    sources: list[str] = field(default_factory=list)
    _digest: str | None = field(default=None, repr=False, compare=False)

    def digest(self) -> str:
        """A hash of every (spelling, canonical name) pair and the searchable spellings."""
        if self._digest is None:
            payload = json.dumps([self.pairs(), sorted(self.searchable)], ensure_ascii=False)
            self._digest = hashlib.sha256(payload.encode()).hexdigest()[:32]
        return self._digest

    def add_mapping(self, data: Any, *, origin: str) -> None:
        if data is None:
            return
        self._digest = None
        if not isinstance(data, dict):
            raise InputError(Path(origin), "district aliases must map each canonical name to its aliases")
        for name, spec in data.items():
            name = _SPACE.sub(" ", str(name)).strip()
            if isinstance(spec, list):
                spec = {"aliases": spec}
            spec = spec or {}
            if not isinstance(spec, dict):
                raise InputError(Path(origin), f"{name}: expected a list of aliases or aliases/shorthand")
            aliases = [str(a) for a in spec.get("aliases") or []]
            shorthand = [str(a) for a in spec.get("shorthand") or []]
            for spelling in [name, structural_form(name), *aliases, *shorthand]:
                self.canonical[_key(spelling)] = name
            self.searchable.update(s for s in [name, *aliases] if s.strip())
        self.sources.append(origin)

    def canonical_name(self, name: str) -> str:
        """The one name a district goes by (`lookup_keys`)."""
        spelled, long_key, long_form = lookup_keys(name)
        if not long_form:
            return long_form
        return self.canonical.get(spelled) or self.canonical.get(long_key) or long_form

    def canonical_list(self, names: list[str]) -> list[str]:
        """Canonical names, each once, in order."""
        out: list[str] = []
        for name in names:
            value = self.canonical_name(name)
            if value and value not in out:
                out.append(value)
        return out

    def pairs(self) -> list[tuple[str, str]]:
        """(spelling, canonical name) for the store's `district_aliases` table."""
        return sorted(self.canonical.items())


def _read_yaml(path: Path) -> Any:
    import yaml  # noqa: PLC0415

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read district aliases ({' '.join(str(exc).split())})") from exc


@lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, str], frozenset[str]]:
    import yaml  # noqa: PLC0415

    text = resources.files("rppsearch").joinpath("data", ALIASES_NAME).read_text(encoding="utf-8")
    aliases = DistrictAliases()
    aliases.add_mapping(yaml.safe_load(text), origin="rppsearch/data/" + ALIASES_NAME)
    return dict(aliases.canonical), frozenset(aliases.searchable)


def load_aliases(*places: Path) -> DistrictAliases:
    """The shipped aliases, extended by the nearest `district_aliases.yaml` at or above each
    of `places` (a corpus folder, a file in it, a catalog or a library export)."""
    canonical, searchable = _shipped()
    aliases = DistrictAliases(canonical=dict(canonical), searchable=set(searchable), sources=["shipped"])
    seen: set[Path] = set()
    for place in places:
        place = Path(os.path.abspath(place))  # no resolve(): a looping symlink is reported by discovery
        folder = place if place.is_dir() else place.parent
        for candidate in (folder, *folder.parents):
            path = candidate / ALIASES_NAME
            if path.is_file():
                if path not in seen:
                    seen.add(path)
                    aliases.add_mapping(_read_yaml(path), origin=str(path))
                break
    return aliases


# -- finding districts in text ---------------------------------------------------------

_NAME_TOKEN = {"TEXT": {"REGEX": r"^(?:[A-Z][\w.'’]*|-|'s|’s|of)$"}}
_SUFFIXES = [
    ["Public", "Schools"], ["Public", "School", "District"], ["Unified", "School", "District"], ["Unified"],
    ["School", "District"], ["Independent", "School", "District"], ["ISD"], ["County", "Schools"],
    ["County", "Public", "Schools"], ["City", "Schools"], ["City", "School", "District"],
    ["Area", "School", "District"], ["Township", "School", "District"], ["Consolidated", "School", "District"],
    ["Community", "School", "District"], ["Community", "Schools"], ["Public", "School", "System"],
    ["County", "School", "District"], ["School", "System"],
]


@lru_cache(maxsize=1)
def _nlp() -> Any:
    from ..lightimport import import_spacy  # noqa: PLC0415 - spaCy without thinc pulling in torch

    return import_spacy().blank("en")


@lru_cache(maxsize=4)
def _matchers(searchable: frozenset[str]) -> tuple[Any, Any]:
    nlp = _nlp()  # first: spaCy is imported the light way before its submodules
    from spacy.matcher import Matcher, PhraseMatcher  # noqa: PLC0415

    matcher = Matcher(nlp.vocab)
    for suffix in _SUFFIXES:
        matcher.add("DISTRICT", [[{**_NAME_TOKEN, "OP": "{1,5}"}, *({"ORTH": w} for w in suffix)]])
    matcher.add("DISTRICT", [[{"ORTH": "School"}, {"ORTH": "District"}, {"ORTH": "of"}, {**_NAME_TOKEN, "OP": "{1,3}"}]])
    matcher.add("NETWORK", [[{"ORTH": "KIPP"}, {**_NAME_TOKEN, "OP": "{1,3}"}]])
    phrases = PhraseMatcher(nlp.vocab, attr="ORTH")
    phrases.add("GAZETTEER", [nlp.make_doc(name) for name in sorted(searchable)])
    return matcher, phrases


#: Words of _NOT_A_NAME that begin place names when a capitalised place word follows
#: ("New Haven", "Great Falls", "Central Falls"), not when a district word does ("Great City Schools").
_PLACE_STARTS = {"new", "great", "central"}
_SUFFIX_WORDS = {word for suffix in _SUFFIXES for word in suffix}


def _trim(tokens: list[str]) -> list[str]:
    """Drop leading words that are not part of a name ("In", "The", "Read", "of")."""
    while tokens and (tokens[0].lower() in _NOT_A_NAME or not tokens[0][:1].isalpha()):
        if (tokens[0].lower() in _PLACE_STARTS and len(tokens) > 1 and tokens[1][:1].isupper()
                and tokens[1] not in _SUFFIX_WORDS):
            break
        tokens = tokens[1:]
    return tokens


def find_districts(text: str, aliases: DistrictAliases) -> list[str]:
    """Canonical names of the districts and school systems `text` mentions, in order of first mention."""
    searchable = frozenset(aliases.searchable)
    found: list[tuple[int, str]] = []
    trigger = _trigger(searchable)
    offset = 0
    for paragraph in re.split(r"(\n\s*\n)", text[:2_000_000]):
        # only paragraphs with a trigger word are tokenized: most of a document has none
        if trigger.search(paragraph):
            found.extend((offset + start, name) for start, name in _find_in(paragraph, aliases, searchable))
        offset += len(paragraph)
    out: list[str] = []
    for _, name in sorted(found):
        if name not in out:
            out.append(name)
    return out


@lru_cache(maxsize=4)
def _trigger(searchable: frozenset[str]) -> re.Pattern[str]:
    words = {"Schools?", "ISD", "Unified", "District", "KIPP", "System"}
    words.update(re.escape(name) for name in searchable)
    return re.compile(r"\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b")


def _find_in(text: str, aliases: DistrictAliases, searchable: frozenset[str]) -> list[tuple[int, str]]:
    matcher, phrases = _matchers(searchable)  # (imports spaCy the light way first)
    from spacy.util import filter_spans  # noqa: PLC0415

    found: list[tuple[int, str]] = []
    doc = _nlp().make_doc(text)
    spans = [doc[s:e] for _, s, e in matcher(doc)] + [doc[s:e] for _, s, e in phrases(doc)]
    for span in filter_spans(spans):
        words = [t.text for t in span]
        gazetteer = span.text in aliases.searchable
        if not gazetteer and words[0] == "School":  # "School District of Philadelphia"
            if len(words) < 4 or words[3].lower() in _NOT_A_NAME:
                continue
        elif not gazetteer:
            words = _trim(words)
            if not words:
                continue
            suffix = next((s for s in sorted(_SUFFIXES, key=len, reverse=True) if words[-len(s):] == s), None)
            name_part = words[: len(words) - len(suffix)] if suffix else words
            if not name_part or not _trim(name_part) or all(w.lower() in _NOT_A_NAME for w in name_part):
                continue
            end = span.end
            if suffix in (["School", "District"], ["School", "System"]) and end < len(doc) and doc[end].is_title:
                continue  # a title-case heading ("Strengthening School District Central Office")
        name = span.doc[span.start:span.end].text if gazetteer else _join(span, words)
        found.append((span.start_char, aliases.canonical_name(name)))
    return found


def _join(span: Any, words: list[str]) -> str:
    """The words kept from a span, spaced as in the text ("Charlotte-Mecklenburg", "George's")."""
    tokens = list(span)[len(span) - len(words):]
    return "".join(t.text_with_ws for t in tokens).strip()
