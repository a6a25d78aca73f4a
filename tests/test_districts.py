"""District names: found in text with spaCy patterns, one canonical name per district."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rppsearch.ingest.districts import find_districts, load_aliases
from rppsearch.ingest.pipeline import ingest_paths

REPO = Path(__file__).resolve().parents[1]


def test_aliases_collapse_spellings() -> None:
    aliases = load_aliases()
    assert aliases.canonical_list(["Highline", "Highline Public Schools"]) == ["Highline Public Schools"]
    assert aliases.canonical_list(["Dallas", "Dallas ISD", "Dallas Independent School District"]) == ["Dallas ISD"]
    assert aliases.canonical_list(["Fresno", "Fresno Unified"]) == ["Fresno Unified School District"]
    # unknown districts: the long form, without a trailing qualifier
    assert aliases.canonical_name("Riverbend Unified") == "Riverbend Unified School District"
    assert aliases.canonical_name("Austin Independent School District") == "Austin ISD"
    assert aliases.canonical_name("FirstLine Schools (New Orleans)") == "FirstLine Schools"


def test_a_user_alias_file_beside_the_corpus_extends_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "district_aliases.yaml").write_text(
        "Harbor Point Unified School District:\n  shorthand: [Harbor Point]\n"
        "Lakeview Charter Network:\n  aliases: [Lakeview Schools]\n",
        encoding="utf-8",
    )
    (tmp_path / "docs").mkdir()
    aliases = load_aliases(tmp_path / "docs")
    assert aliases.canonical_name("Harbor Point") == "Harbor Point Unified School District"
    assert aliases.canonical_name("Highline") == "Highline Public Schools"  # shipped ones kept
    assert find_districts("Teachers at Lakeview Schools meet weekly.", aliases) == ["Lakeview Charter Network"]


def test_patterns_find_school_systems_and_skip_look_alikes() -> None:
    aliases = load_aliases()
    text = (
        "In Gwinnett County Public Schools and the Lakemont ISD, leaders met with Oakland Unified School "
        "District staff, Westbrook County Schools, KIPP Texas and the School District of Philadelphia. "
        "From Tinkering to Transformation: Strengthening School District Central Office Performance. "
        "The Council of the Great City Schools surveyed members. Sean is a 5th-grader in Dallas."
    )
    assert find_districts(text, aliases) == [
        "Gwinnett County Public Schools", "Lakemont ISD", "Oakland Unified School District",
        "Westbrook County Schools", "KIPP Texas", "School District of Philadelphia",
    ]


@pytest.mark.slow
def test_sample_corpus_has_one_facet_value_per_district(store) -> None:
    report = ingest_paths(store, [REPO / "corpus"])
    assert not report.failed
    values = {
        v for (v,) in store.conn.execute(
            "SELECT DISTINCT j.value FROM documents d, json_each(d.districts) j "
            "UNION SELECT DISTINCT j.value FROM documents d, json_each(d.mentioned_districts) j"
        )
    }
    for split in ("Highline", "Dallas", "Fresno", "Harbor Point"):
        assert len([v for v in values if v.startswith(split)]) == 1, sorted(values)
    # the search filter takes any spelling
    from rppsearch.store.search_sql import filter_sql  # noqa: PLC0415
    from rppsearch.search import Filters  # noqa: PLC0415

    where, params = filter_sql(Filters(district="Highline"))
    ids = store.conn.execute(f"SELECT d.id FROM documents d JOIN passages p ON p.document_id = d.id WHERE {where}", params).fetchall()
    assert len({i for (i,) in ids}) >= 5
    row = store.conn.execute("SELECT districts FROM documents WHERE id = 'b-01-dallas-isd-reenvisioning-school-support'").fetchone()
    assert json.loads(row[0]) == ["Dallas ISD"]  # the catalog says "Dallas Independent School District"


def test_a_new_alias_file_recanonicalises_stored_documents_without_reparsing(store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    (corpus / "docs" / "hp.md").write_text(
        "# Harbor Point\n\nPrincipal supervisors in Harbor Point Unified School District coach principals.\n",
        encoding="utf-8",
    )
    (corpus / "catalog.csv").write_text("id,path,districts\nhp,docs/hp.md,Harbor Point\n", encoding="utf-8")
    ingest_paths(store, [corpus])
    row = store.conn.execute("SELECT districts, mentioned_districts FROM documents WHERE id = 'hp'").fetchone()
    assert (json.loads(row[0]), json.loads(row[1])) == (["Harbor Point"], ["Harbor Point Unified School District"])
    pks = store.conn.execute("SELECT pk FROM passages ORDER BY pk").fetchall()
    (corpus / "district_aliases.yaml").write_text(
        "Harbor Point Unified School District:\n  shorthand: [Harbor Point]\n", encoding="utf-8"
    )
    report = ingest_paths(store, [corpus])
    assert report.updated == ["hp"]
    assert json.loads(store.conn.execute("SELECT districts FROM documents WHERE id = 'hp'").fetchone()[0]) == [
        "Harbor Point Unified School District"
    ]
    assert store.conn.execute("SELECT pk FROM passages ORDER BY pk").fetchall() == pks  # not re-parsed
    canonical = store.conn.execute("SELECT canonical FROM district_aliases WHERE alias = 'harbor point'").fetchone()
    assert canonical[0] == "Harbor Point Unified School District"


def test_filters_map_and_profile_agree_on_which_districts_a_document_is_about(store, tmp_path: Path) -> None:
    """Catalog districts where the catalog names some, else the ones the text names; a district
    asked for in another spelling ("Fresno Unified") is found under its stored name."""
    from rppsearch.models import Filters
    from rppsearch.report.matrix import MapFilters, column_documents
    from rppsearch.report.profile import resolve_subject
    from rppsearch.store import search_sql
    from rppsearch.store.documents import document_rows

    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    (corpus / "docs" / "fresno.md").write_text(
        "# Coaching\n\nPrincipal supervisors in Fresno Unified School District coach principals weekly.\n",
        encoding="utf-8",
    )
    (corpus / "docs" / "tulsa.md").write_text(
        "# Budgets\n\nTulsa Public Schools moved budget staff; Fresno Unified School District is named too.\n",
        encoding="utf-8",
    )
    (corpus / "catalog.csv").write_text("id,path,districts\ntulsa,docs/tulsa.md,Tulsa Public Schools\n", encoding="utf-8")
    ingest_paths(store, [corpus])
    # fresno.md has no catalog row: it is about the district its text names; tulsa.md's catalog
    # row wins over the Fresno its text also mentions
    assert column_documents(store, by="district", value="Fresno Unified School District", filters=MapFilters()) == ["corpus-docs-fresno"]
    for spelling in ("Fresno Unified", "fresno unified school district"):
        where, params = search_sql.filter_sql(Filters(district=spelling))
        ids = [r[0] for r in store.conn.execute(
            f"SELECT DISTINCT d.id FROM passages p JOIN documents d ON d.id = p.document_id WHERE {where}", params)]
        assert ids == ["corpus-docs-fresno"], spelling
        assert resolve_subject(store, kind="district", name=spelling) == "Fresno Unified School District"
        assert [d["id"] for d in document_rows(store, district=spelling)] == ["corpus-docs-fresno"]


@pytest.mark.parametrize("text, names", [
    ("New Haven Public Schools hired coaches.", ["New Haven Public Schools"]),
    ("In New York City Public Schools, supervisors coach.", ["New York City Public Schools"]),
    ("Great Falls Public Schools and Central Falls School District met.",
     ["Great Falls Public Schools", "Central Falls School District"]),
    ("The Council of the Great City Schools studied supervisors.", []),
])
def test_place_names_keep_their_first_word(text: str, names: list[str]) -> None:
    assert find_districts(text, load_aliases()) == names


def test_spellings_from_one_folder_survive_an_ingest_of_another(store, tmp_path: Path) -> None:
    from rppsearch.store.district_sql import canonical_district

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "district_aliases.yaml").write_text("Riverbend Unified School District:\n  shorthand: [Riverbend]\n")
    (a / "x.md").write_text("# X\n\nRiverbend coaches its principals every week of the year.\n")
    (b / "y.md").write_text("# Y\n\nAnother district entirely, with its own supervisors.\n")
    ingest_paths(store, [a])
    assert canonical_district(store.conn, "Riverbend") == "Riverbend Unified School District"
    ingest_paths(store, [b])  # no alias file here
    assert canonical_district(store.conn, "Riverbend") == "Riverbend Unified School District"


def test_clearing_a_documents_districts_also_sets_aside_the_ones_its_text_names(store, tmp_path: Path) -> None:
    """`rpp edit --district ''`: the document is about no district, though its text still names one."""
    from rppsearch.manage import edit_document
    from rppsearch.store.documents import document_rows

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "f.md").write_text("# F\n\nFresno Unified School District coaches its principals weekly.\n")
    ingest_paths(store, [corpus])
    assert [d["id"] for d in document_rows(store, district="Fresno Unified")] == ["corpus-f"]
    edit_document(store, doc_id="corpus-f", edits={"districts": ""})
    assert list(document_rows(store, district="Fresno Unified")) == []
    row = store.conn.execute("SELECT mentioned_districts FROM documents WHERE id = 'corpus-f'").fetchone()
    assert json.loads(row[0]) == ["Fresno Unified School District"]  # what the text says is kept


@pytest.mark.parametrize("spelling", [
    "Riverbend Unified",  # only its long form, "Riverbend Unified School District", is an alias
    "riverbend unified school district,",
    "O\u2019Fallon Schools",  # a curly apostrophe; the alias file has a straight one
    "O'Fallon  Schools",
])
def test_a_district_filter_finds_what_ingest_and_reports_call_that_district(store, tmp_path: Path, spelling: str) -> None:
    """Ingest, the filters (search, `rpp documents`, the map) and the reports (`canonical_district`,
    the profile) resolve a spelling by one rule: the alias of the name as given, else of its long form."""
    from rppsearch.ingest.districts import load_aliases
    from rppsearch.models import Filters
    from rppsearch.report.matrix import MapFilters, documents_by_column
    from rppsearch.report.profile import resolve_subject
    from rppsearch.store import search_sql
    from rppsearch.store.district_sql import canonical_district
    from rppsearch.store.documents import document_rows

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "district_aliases.yaml").write_text(
        "Riverbend Schools:\n  aliases: [Riverbend Unified School District]\n"
        "O'Fallon Schools:\n  aliases: [OFallon]\n",
        encoding="utf-8",
    )
    (corpus / "r.md").write_text("# R\n\nSupervisors meet their principals in schools every week.\n", encoding="utf-8")
    (corpus / "o.md").write_text("# O\n\nThe budget office moved its staff into the schools.\n", encoding="utf-8")
    (corpus / "catalog.csv").write_text(
        "id,path,districts\nr,r.md,Riverbend Unified\no,o.md,O\u2019Fallon Schools\n", encoding="utf-8"
    )
    ingest_paths(store, [corpus])
    expected_name = load_aliases(corpus).canonical_name(spelling)  # what ingest calls it
    expected_id = {"Riverbend Schools": "r", "O'Fallon Schools": "o"}[expected_name]
    stored = json.loads(store.conn.execute("SELECT districts FROM documents WHERE id = ?", (expected_id,)).fetchone()[0])
    assert stored == [expected_name]

    assert canonical_district(store.conn, spelling) == expected_name
    assert resolve_subject(store, kind="district", name=spelling) == expected_name
    where, params = search_sql.filter_sql(Filters(district=spelling))
    found = [r[0] for r in store.conn.execute(
        f"SELECT DISTINCT d.id FROM passages p JOIN documents d ON d.id = p.document_id WHERE {where}", params)]
    assert found == [expected_id]
    assert [d["id"] for d in document_rows(store, district=spelling)] == [expected_id]
    # the map filters its documents in SQL, then keeps the filtered district's column
    assert documents_by_column(store, by="district", filters=MapFilters(district=spelling)) == {expected_name: [expected_id]}
