"""Which districts a document is about, as SQL: one rule for filters, facets, maps and profiles.

A document is about the districts its catalog, library entry or user edit names; when none
does, about the districts its own text names (`mentioned_districts`, found at ingest), unless
the user cleared its districts (`rpp edit --district ''`: source "user", no districts). Names
are canonical (spellings collapsed at ingest); a filter value in another spelling is mapped
through the `district_aliases` table first.
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


def district_match(alias: str = "d") -> str:
    """A condition with two `?` (both the wanted name): the document is about that district,
    in any spelling the aliases know."""
    return (
        f"EXISTS (SELECT 1 FROM json_each({document_districts(alias)}) j WHERE lower(j.value) = "
        "lower(coalesce((SELECT a.canonical FROM district_aliases a WHERE a.alias = lower(trim(?))), ?)))"
    )


def lacks_district(alias: str = "d") -> str:
    """The document is about no district at all."""
    return f"{document_districts(alias)} IN ('[]', '')"


def district_params(name: str) -> list[str]:
    """The two parameters of `district_match` for a wanted district `name`: the spelling as
    given (looked up among the aliases) and its usual long form when no alias knows it."""
    from ..ingest.districts import structural_form  # noqa: PLC0415 - pure Python, light

    return [name, structural_form(name)]


def canonical_district(conn: object, name: str) -> str:
    """`name`'s canonical spelling by the store's `district_aliases` (or the usual long form,
    "Fresno Unified" -> "Fresno Unified School District", that ingest gives it)."""
    spelled, long_form = district_params(name)
    for candidate in (spelled, long_form):
        row = conn.execute(  # type: ignore[attr-defined]
            "SELECT canonical FROM district_aliases WHERE alias = lower(trim(?))", (candidate,)
        ).fetchone()
        if row:
            return str(row[0])
    return long_form
