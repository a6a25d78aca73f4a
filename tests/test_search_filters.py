"""Filters are applied before ranking: a filtered query fills its page when enough passages match."""

from __future__ import annotations

import pytest

from rppsearch.config import Settings
from rppsearch.errors import QueryError
from rppsearch.index.bm25 import refresh_lexical
from rppsearch.index.vectors import embed_missing, refresh_index
from rppsearch.search import Filters, _Allowed, _Lexical, search
from rppsearch.store import Store
from test_search_support import Doc, add_dimensions, add_docs, tag_passage

QUERY = "principal supervisors coach principals on instruction"


@pytest.fixture(scope="module", params=["tantivy", "fts5"])
def corpus(request, tmp_path_factory):  # noqa: ANN001, ANN201
    """100 strongly matching passages from 'Big Org' and 30 weaker ones from 'Small Org'.

    Run with the tantivy lexical index built, and without it (the FTS5 fallback). Shared by
    the module: only the dimension test adds tags, which no other test filters on."""
    docs = []
    for i in range(50):
        docs.append(
            Doc(
                id=f"big{i:02d}",
                title=f"Big report {i}",
                organization="Big Org",
                districts=["Denver Public Schools"],
                year=2010,
                doc_type="report",
                passages=[
                    f"Principal supervisors coach principals on instruction, week {i}. Supervisors coach principals.",
                    f"Supervisors coach principals on instruction in network {i}; principal supervisors again.",
                ],
            )
        )
    for i in range(30):
        docs.append(
            Doc(
                id=f"small{i:02d}",
                title=f"Small brief {i}",
                organization="Small Org",
                districts=["Long Beach Unified", "Denver Public Schools"] if i % 3 == 0 else ["Long Beach Unified"],
                year=2014 + i % 5,
                doc_type="Case Study" if i % 2 else "brief",
                passages=[f"A note on budgets, number {i}, that mentions principals once among many other words about money."],
            )
        )
    index_dir = tmp_path_factory.mktemp(f"filters-{request.param}")
    store = Store.open(index_dir / "rpp.db")
    add_docs(store, docs)
    settings = Settings(index_dir=index_dir, embedding_model="fake")
    embed_missing(store, settings)
    refresh_index(store, settings)
    if request.param == "tantivy":
        assert refresh_lexical(store, settings)["count"] == 130
    assert _Lexical(store, settings, QUERY, allowed=_Allowed(store, None), auto_refresh=False).name == request.param
    yield store, settings
    store.close()


MODES = ["bm25", "semantic", "hybrid"]


@pytest.mark.parametrize("mode", MODES)
def test_unfiltered_top_is_dominated_by_big_org(corpus, mode: str) -> None:  # noqa: ANN001
    store, settings = corpus
    hits = search(store, settings, query=QUERY, mode=mode, limit=10)
    assert len(hits) == 10
    assert all(h.metadata["organization"] == "Big Org" for h in hits)


@pytest.mark.parametrize("mode", MODES)
def test_organization_filter_fills_the_page(corpus, mode: str) -> None:  # noqa: ANN001
    store, settings = corpus
    hits = search(store, settings, query=QUERY, mode=mode, limit=10, filters=Filters(organization="small org"))
    assert len(hits) == 10
    assert {h.metadata["organization"] for h in hits} == {"Small Org"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("by", ["passage", "document"])
def test_metadata_filters(corpus, mode: str, by: str) -> None:  # noqa: ANN001
    store, settings = corpus
    hits = search(store, settings, query=QUERY, mode=mode, limit=30, by=by, filters=Filters(district="long beach unified"))
    assert len(hits) == 30
    assert all("Long Beach Unified" in h.metadata["districts"] for h in hits)
    hits = search(store, settings, query=QUERY, mode=mode, limit=30, by=by, filters=Filters(year_from=2015, year_to=2016))
    assert len(hits) == 12  # years 2015 and 2016 among 30 cycling through 2014..2018
    assert all(2015 <= h.metadata["year"] <= 2016 for h in hits)
    hits = search(store, settings, query=QUERY, mode=mode, limit=50, by=by, filters=Filters(doc_type="case study", district="Denver Public Schools"))
    assert {h.document_id for h in hits} == {f"small{i:02d}" for i in range(30) if i % 2 and i % 3 == 0}


@pytest.mark.parametrize("mode", MODES)
def test_dimension_filter_any_of_with_min_score_and_human_decisions(corpus, mode: str) -> None:  # noqa: ANN001
    store, settings = corpus
    add_dimensions(store)
    tag_passage(store, "small00-p0000", "stewardship", score=0.9, assigned=True)
    tag_passage(store, "small01-p0000", "stewardship", score=0.4, assigned=True)
    tag_passage(store, "small02-p0000", "evidence-use", score=0.8, assigned=True)
    tag_passage(store, "small03-p0000", "stewardship", score=0.95, assigned=False, source="human")  # rejected
    tag_passage(store, "big00-p0000", "stewardship", score=0.2, assigned=True, source="human")  # accepted
    ids = lambda hits: {h.id for h in hits}  # noqa: E731
    got = search(store, settings, query=QUERY, mode=mode, limit=10, filters=Filters(dimensions=["stewardship"]))
    assert ids(got) == {"small00-p0000", "small01-p0000", "big00-p0000"}
    got = search(store, settings, query=QUERY, mode=mode, limit=10, filters=Filters(dimensions=["stewardship"], min_score=0.5))
    assert ids(got) == {"small00-p0000"}
    got = search(store, settings, query=QUERY, mode=mode, limit=10, filters=Filters(dimensions=["stewardship", "evidence-use"]))
    assert ids(got) == {"small00-p0000", "small01-p0000", "small02-p0000", "big00-p0000"}


def test_filter_excluding_everything_returns_nothing(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    for mode in MODES:
        assert search(store, settings, query=QUERY, mode=mode, filters=Filters(organization="Nobody")) == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"mode": "fuzzy"}, "mode"),
        ({"by": "chapter"}, "by"),
        ({"fusion": "max"}, "fusion"),
        ({"limit": 0}, "limit"),
        ({"limit": 10**9}, "limit"),
        ({"weight": 1.5}, "weight"),
        ({"weight": float("nan")}, "weight"),
        ({"rrf_k": 0}, "rrf_k"),
        ({"depth": -1}, "depth"),
        ({"query": '"unclosed phrase'}, "query"),
        ({"query": "coaching OR"}, "query"),
        ({"offset": -1}, "offset"),
        ({"per_document": -2}, "per_document"),
        ({"query": "x" * 5000}, "query"),
        ({"filters": Filters(dimensions=["leadership"])}, "dimension"),
        ({"filters": Filters(dimensions=["stewardship"], min_score=2.0)}, "min_score"),
        ({"filters": Filters(year_from=2020, year_to=2010)}, "year_from"),
        ({"filters": Filters(year_from="twenty")}, "year_from"),  # type: ignore[arg-type]
    ],
)
def test_bad_parameters_raise_query_error_naming_them(corpus, kwargs: dict, param: str) -> None:  # noqa: ANN001
    store, settings = corpus
    args = {"query": QUERY, **kwargs}
    with pytest.raises(QueryError) as info:
        search(store, settings, **args)
    assert str(info.value).startswith(f"{param}:")
    assert "\n" not in str(info.value)


def test_a_metadata_edit_is_seen_by_the_next_filtered_query(tmp_path) -> None:  # noqa: ANN001
    """A long-lived searcher (the Datasette page) filters on the metadata as it is now: `rpp
    edit` changes a year without touching passages."""
    from rppsearch.manage import edit_document

    store = Store.open(tmp_path / "rpp.db")
    add_docs(store, [Doc(id=f"d{i}", title=f"Report {i}", year=2010, passages=[f"Supervisors coach principals, part {i}."])
                     for i in range(3)])
    settings = Settings(index_dir=tmp_path, embedding_model="fake")
    old = Filters(year_to=2012)
    assert {h.document_id for h in search(store, settings, query=QUERY, mode="bm25", limit=10, filters=old)} == {"d0", "d1", "d2"}
    edit_document(store, doc_id="d1", edits={"year": 2020})
    assert {h.document_id for h in search(store, settings, query=QUERY, mode="bm25", limit=10, filters=old)} == {"d0", "d2"}
    store.close()
