"""A district's (or organization's) profile against the codebook: for each dimension its
strength, its best evidence sentences, which side of the codebook's practice shifts the
evidence is on, and the gaps named in words.

Gaps are facts read off the store, never guesses:
- no evidence: none of the subject's documents speaks to the dimension;
- no evidence since a year: the subject has documents dated after the last one that speaks
  to the dimension, and none of those later ones does;
- weak evidence: fewer documents than the map's threshold, or only borderline model tags
  nobody confirmed (see `matrix`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import QueryError
from ..store import Store
from ..taxonomy import Taxonomy
from .evidence import best_sentences, cell_passages
from .matrix import EVIDENCE_RULE, MIN_DOCUMENTS, MapFilters, column_documents, evidence_map
from .shifts import summarise_shift
from ..store.district_sql import canonical_district, document_districts

__all__ = ["Profile", "DimensionProfile", "build_profile", "resolve_subject"]

#: How many of a dimension's passages are read for its evidence sentences and shift placement.
SHIFT_SAMPLE = 200


@dataclass
class DimensionProfile:
    id: str
    name: str
    documents: int
    passages: int
    confirmed: int
    mean_confidence: float | None
    status: str
    first_year: int | None
    last_year: int | None
    sentences: list[dict[str, Any]] = field(default_factory=list)
    shifts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def strength(self) -> str:
        if self.status == "gap":
            return "none"
        if self.status == "weak":
            return "weak"
        return "strong" if self.documents >= 2 * MIN_DOCUMENTS and self.passages >= 6 else "some"


@dataclass
class Profile:
    kind: str  # district | organization
    name: str
    documents: list[dict[str, Any]]
    dimensions: list[DimensionProfile]
    gaps: list[str]
    codebook: str

    @property
    def years(self) -> tuple[int | None, int | None]:
        years = [d["year"] for d in self.documents if d["year"] is not None]
        return (min(years), max(years)) if years else (None, None)

    def to_dict(self) -> dict[str, Any]:
        first, last = self.years
        return {
            "kind": self.kind,
            "name": self.name,
            "codebook": self.codebook,
            "documents": self.documents,
            "years": [first, last],
            "dimensions": [
                {
                    "id": d.id,
                    "name": d.name,
                    "strength": d.strength,
                    "status": d.status,
                    "documents": d.documents,
                    "passages": d.passages,
                    "confirmed": d.confirmed,
                    "mean_confidence": None if d.mean_confidence is None else round(d.mean_confidence, 3),
                    "first_year": d.first_year,
                    "last_year": d.last_year,
                    "sentences": d.sentences,
                    "shifts": d.shifts,
                }
                for d in self.dimensions
            ],
            "gaps": self.gaps,
        }


def resolve_subject(store: Store, *, kind: str, name: str) -> str:
    """The subject's name as the store spells it (any case); QueryError naming close ones."""
    if kind == "district":
        sql = f"SELECT DISTINCT j.value FROM documents d, json_each({document_districts('d')}) j WHERE j.type = 'text'"
    elif kind == "organization":
        sql = "SELECT DISTINCT organization FROM documents WHERE organization IS NOT NULL"
    else:
        raise QueryError(f"profile: unknown subject kind {kind!r}")
    known = [r[0] for r in store.conn.execute(sql) if r[0] and str(r[0]).strip()]
    wanted = name.strip().lower()
    if kind == "district":  # another spelling of a district: its canonical name
        wanted = canonical_district(store.conn, name.strip()).lower()
    for value in known:
        if value.lower() == wanted:
            return value
    close = [v for v in known if wanted and (wanted in v.lower() or v.lower() in wanted)]
    hint = f"did you mean: {', '.join(sorted(close)[:5])}" if close else f"see `rpp map --cols {kind}` for the {kind}s in the store"
    raise QueryError(f"no document names the {kind} {name!r}", hint=hint)


def _years(store: Store, documents: list[dict[str, Any]]) -> dict[str, tuple[int | None, int | None]]:
    """{dimension: (first, last) year of the documents with evidence on it}."""
    return {
        dim: (first, last)
        for dim, first, last in store.conn.execute(
            "SELECT t.dimension_id, min(d.year), max(d.year) FROM passages p "
            "JOIN passage_tags t ON t.passage_pk = p.pk JOIN documents d ON d.id = p.document_id "
            f"WHERE p.document_id IN (SELECT value FROM json_each(?)) AND {EVIDENCE_RULE} GROUP BY t.dimension_id",
            [json.dumps([d["id"] for d in documents])],
        )
    }


def _documents(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": r[0], "title": r[1] or r[0], "year": r[2], "passages": r[3]}
        for r in store.conn.execute(
            "SELECT id, title, year, passage_count FROM documents WHERE id IN (SELECT value FROM json_each(?)) "
            "ORDER BY year DESC, title",
            [json.dumps(ids)],
        )
    ]


def _gaps(dims: list[DimensionProfile], documents: list[dict[str, Any]], subject: str) -> list[str]:
    gaps = []
    n = len(documents)
    for d in dims:
        name = d.name[0].lower() + d.name[1:]
        if d.status == "gap":
            gaps.append(f"No evidence on {name} in the {n} document{'s' * (n != 1)} about {subject}.")
            continue
        if d.last_year is not None:
            later = [doc for doc in documents if doc["year"] is not None and doc["year"] > d.last_year]
            if later:
                newest = max(doc["year"] for doc in later)
                gaps.append(
                    f"No evidence on {name} since {d.last_year}: the {len(later)} later "
                    f"document{'s' * (len(later) != 1)} (up to {newest}) do{'es' * (len(later) == 1)} not speak to it."
                )
        if d.status == "weak":
            who = "a person confirmed some of it" if d.confirmed else "nobody has confirmed it"
            gaps.append(
                f"Only weak evidence on {name}: {d.passages} passage{'s' * (d.passages != 1)} in "
                f"{d.documents} document{'s' * (d.documents != 1)}, and {who}."
            )
    return gaps


def build_profile(
    store: Store,
    *,
    district: str | None = None,
    organization: str | None = None,
    taxonomy: Taxonomy | None = None,
    sentences: int = 3,
    min_documents: int = MIN_DOCUMENTS,
) -> Profile:
    """The profile of `district` or `organization` (exactly one), from the store as it is now.

    `taxonomy` supplies the practice shifts (by dimension id); without it, none are shown."""
    if (district is None) == (organization is None):
        raise QueryError("profile: give a district or an organization (one of them)")
    kind = "district" if district is not None else "organization"
    name = resolve_subject(store, kind=kind, name=district if district is not None else organization)  # type: ignore[arg-type]
    filters = MapFilters(district=name) if kind == "district" else MapFilters(organization=name)
    emap = evidence_map(store, by=kind, filters=filters, min_documents=min_documents, include_none=False)
    column = emap.columns[0]
    column_docs = column_documents(store, by=kind, value=column.key, filters=filters)
    documents = _documents(store, column_docs)
    years = _years(store, documents)
    shifts_by_dim = {d.id: d.shifts for d in taxonomy.dimensions} if taxonomy is not None else {}
    dims = []
    for row in emap.rows:
        cell = emap.cell(row.id, column.key)
        passages = (cell_passages(store, dimension=row.id, by=kind, value=column.key, filters=filters,
                                  limit=SHIFT_SAMPLE, documents=column_docs) if cell.passages else [])
        first, last = years.get(row.id, (None, None))
        evidence_sentences = [
            {"text": s["text"], "passage_id": p.passage_id, "title": p.title, "year": p.year}
            for p in passages
            for s in p.sentences
        ]
        dims.append(
            DimensionProfile(
                id=row.id,
                name=row.name,
                documents=cell.documents,
                passages=cell.passages,
                confirmed=cell.confirmed,
                mean_confidence=cell.mean_confidence,
                status=cell.status,
                first_year=first,
                last_year=last,
                sentences=best_sentences(passages, n=sentences),
                shifts=[summarise_shift(s, evidence_sentences) for s in shifts_by_dim.get(row.id, ())] if passages else [],
            )
        )
    return Profile(
        kind=kind,
        name=name,
        documents=documents,
        dimensions=dims,
        gaps=_gaps(dims, documents, name),
        codebook=store.get_meta("taxonomy_name") or (taxonomy.name if taxonomy else ""),
    )
