"""Parameters of the search page: parsed and validated, every error naming the parameter."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import QueryError
from ..models import Filters, snippet_window
from ..search_options import BY, DEFAULT_FUSION, DEFAULT_PER_DOCUMENT, FUSIONS, MODES

MAX_QUERY_CHARS = 1000
MAX_TEXT_PARAM_CHARS = 200
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 100_000
SNIPPET_CHARS = 700


@dataclass
class SearchParams:
    """Validated parameters of `/-/rpp-search`; the filters are the library's own `Filters`."""

    query: str = ""
    mode: str = "hybrid"
    by: str = "passage"
    limit: int = DEFAULT_LIMIT
    filters: Filters = field(default_factory=Filters)
    fusion: str = DEFAULT_FUSION
    weight: float = 0.5
    db: str | None = None
    offset: int = 0
    per_document: int = DEFAULT_PER_DOCUMENT
    expand: bool = False  # hybrid: words of the best passages by meaning widen the words side

    @property
    def active(self) -> bool:
        """A query or any filter: something to show results for."""
        return bool(self.query) or not self.filters.is_empty()

    def filters_dict(self) -> dict[str, Any]:
        return asdict(self.filters)


def one_param(args: Any, name: str) -> str:
    values = [v for v in args.getlist(name) if v.strip()]
    if len(values) > 1:
        raise QueryError(f"{name}: give one value, not {len(values)}")
    return values[0].strip() if values else ""


def _choice(args: Any, name: str, choices: tuple[str, ...], default: str) -> str:
    value = one_param(args, name) or default
    if value not in choices:
        raise QueryError(f"{name}: unknown value {value[:40]!r} (choose {', '.join(choices)})")
    return value


def number_param(args: Any, name: str, kind: type, low: float, high: float) -> Any:
    raw = one_param(args, name)
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise QueryError(f"{name}: {raw[:40]!r} is not {what}") from None
    if not (low <= value <= high):  # also rejects nan
        raise QueryError(f"{name}: {raw[:40]} is out of range ({low:g}–{high:g})")
    return value


def text_param(args: Any, name: str) -> str | None:
    value = one_param(args, name)
    if len(value) > MAX_TEXT_PARAM_CHARS:
        raise QueryError(f"{name}: {len(value)} characters is too long (at most {MAX_TEXT_PARAM_CHARS})")
    return value or None


def parse_search_params(args: Any, *, dimensions: set[str]) -> SearchParams:
    """Validate request parameters; raise QueryError naming the parameter and the reason."""
    query = " ".join(args.getlist("q")).strip()
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"q: the query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
    if "\x00" in query:
        raise QueryError("q: the query contains a NUL character")
    chosen = []
    for value in args.getlist("dimension"):
        value = value.strip()
        if not value:
            continue
        if value not in dimensions:
            known = ", ".join(sorted(dimensions)) or "none: the store has no codebook yet"
            raise QueryError(f"dimension: unknown dimension {value[:60]!r} (known: {known})")
        if value not in chosen:
            chosen.append(value)
    limit = number_param(args, "limit", int, 1, MAX_LIMIT)
    weight = number_param(args, "weight", float, 0.0, 1.0)
    params = SearchParams(
        query=query,
        mode=_choice(args, "mode", MODES, "hybrid"),
        by=_choice(args, "by", BY, "passage"),
        limit=DEFAULT_LIMIT if limit is None else limit,
        filters=Filters(
            dimensions=chosen,
            min_score=number_param(args, "min_score", float, 0.0, 1.0),
            organization=text_param(args, "organization"),
            district=text_param(args, "district"),
            year_from=number_param(args, "year_from", int, 0, 9999),
            year_to=number_param(args, "year_to", int, 0, 9999),
            doc_type=text_param(args, "doc_type"),
            include_unknown=one_param(args, "include_unknown") in ("1", "on", "true", "yes"),
            document_id=text_param(args, "document"),
        ),
        fusion=_choice(args, "fusion", FUSIONS, DEFAULT_FUSION),
        weight=0.5 if weight is None else weight,
        db=text_param(args, "db"),
        offset=number_param(args, "offset", int, 0, MAX_OFFSET) or 0,
        expand=one_param(args, "expand") in ("1", "on", "true", "yes"),
    )
    per_document = number_param(args, "per_document", int, 0, MAX_LIMIT)
    params.per_document = DEFAULT_PER_DOCUMENT if per_document is None else per_document
    f = params.filters
    if f.year_from is not None and f.year_to is not None and f.year_from > f.year_to:
        raise QueryError(f"year_from: {f.year_from} is after year_to ({f.year_to})")
    return params


def snippet_segments(
    content: str, highlights: list[Any], *, width: int = SNIPPET_CHARS
) -> list[tuple[str, bool]]:
    """Cut `content` into (text, highlighted) pieces from character offsets.

    Offsets outside the text are dropped, overlaps merged; a long text is windowed around
    the first highlight. The pieces are plain text: the template escapes them.
    """
    spans = []
    for item in highlights or []:
        try:
            start, end = int(item[0]), int(item[1])
        except (TypeError, ValueError, IndexError):
            continue
        start, end = max(0, start), min(len(content), end)
        if start < end:
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    lo, hi = snippet_window(content, merged, width)
    out: list[tuple[str, bool]] = []
    if lo > 0:
        out.append(("… ", False))
    pos = lo
    for start, end in merged:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        if start > pos:
            out.append((content[pos:start], False))
        out.append((content[start:end], True))
        pos = end
    if pos < hi:
        out.append((content[pos:hi], False))
    if hi < len(content):
        out.append((" …", False))
    return out
