"""Which districts a document is about, as SQL: one rule for filters, facets, maps and profiles.

A document is about the districts its catalog, library entry or user edit names; when none
does, about the districts its own text names (`mentioned_districts`, found at ingest), unless
the user cleared its districts (`rpp edit --district ''`: source "user", no districts). Names
are canonical (spellings collapsed at ingest); a filter value in another spelling is mapped
through the `district_aliases` table first, by the rule ingest names them with
(`ingest.districts.lookup_keys`), in one SQL expression (`CANONICAL_SQL`) for filters and reports.
"""

from __future__ import annotations


def document_districts(alias: str = "d") -> str:
    """A JSON array expression: the districts the document row `alias` is about."""
    a = f"{alias}." if alias else ""
    return (
        f"(CASE WHEN coalesce({a}districts, '[]') IN ('[]', '') "
        f"AND coalesce(json_extract({a}metadata_sources, '$.districts'), '') != 'user' "
        f"THEN coalesce({a}mentioned_districts, '[]') ELSE {a}districts END)"
    )


#: The canonical name of a wanted district, with the three `?` of `district_params`: the
#: alias of the name as given, else of its long form, else the long form (the rule of
#: `ingest.districts.lookup_keys`, which ingest follows to store names).
CANONICAL_SQL = (
    "coalesce((SELECT a.canonical FROM district_aliases a WHERE a.alias = ?), "
    "(SELECT a.canonical FROM district_aliases a WHERE a.alias = ?), ?)"
)


def district_match(alias: str = "d") -> str:
    """A condition with the three `?` of `district_params`: the document is about that
    district, in any spelling the aliases know."""
    return f"EXISTS (SELECT 1 FROM json_each({document_districts(alias)}) j WHERE lower(j.value) = lower({CANONICAL_SQL}))"


def lacks_district(alias: str = "d") -> str:
    """The document is about no district at all."""
    return f"{document_districts(alias)} IN ('[]', '')"


def district_params(name: str) -> list[str]:
    """The parameters of `district_match` (and `CANONICAL_SQL`) for a wanted district `name`:
    the alias keys of the name as given and of its usual long form, and that long form."""
    from ..ingest.districts import lookup_keys  # noqa: PLC0415 - pure Python, light

    return list(lookup_keys(name))


def canonical_district(conn: object, name: str) -> str:
    """`name`'s canonical spelling by the store's `district_aliases` (or the usual long form,
    "Fresno Unified" -> "Fresno Unified School District", that ingest gives it): the very
    expression the district filter matches on, so a report and a filter never disagree."""
    row = conn.execute(f"SELECT {CANONICAL_SQL}", district_params(name)).fetchone()  # type: ignore[attr-defined]
    return str(row[0])
