"""`search_page`: the per-document cap, paging and totals, browsing without a query, what
filters leave out, facets, matched_by and the readable relevance (fake encoder, real store,
real tantivy index and its FTS5 fallback)."""

from __future__ import annotations

import pytest

from rppsearch.errors import QueryError
from rppsearch.models import Filters as ModelFilters
from rppsearch.search import Filters, search, search_page
from rppsearch.store import Store
from rppsearch.store.tags import refresh_dimensions
from test_search_support import Doc, add_dimensions, indexed_store, tag_passage


def _docs() -> list[Doc]:
    docs = [
        Doc(
            id="flood",
            title="Principal supervision handbook",
            organization="Wallace",
            districts=["Tulsa"],
            year=2016,
            doc_type="report",
            passages=[f"Principal supervisors coach principals, chapter {i}." for i in range(8)],
        )
    ]
    for i in range(6):
        docs.append(
            Doc(
                id=f"brief{i}",
                title=f"Brief {i}",
                organization="ERS" if i % 2 else None,
                districts=["Tulsa"] if i < 3 else [],
                year=2010 + i if i != 5 else None,
                doc_type="brief",
                passages=[f"Supervisors of principals meet weekly in brief {i}.", f"Budget talk number {i} about money."],
            )
        )
    return docs


@pytest.fixture(scope="module", params=["tantivy", "fts5"])
def corpus(request, tmp_path_factory):  # noqa: ANN001, ANN201
    def tag(store: Store) -> None:
        add_dimensions(store)
        tag_passage(store, "flood-p0000", "learning-partnerships", score=0.9, assigned=True)
        tag_passage(store, "brief0-p0000", "learning-partnerships", score=0.8, assigned=True)
        tag_passage(store, "brief1-p0000", "evidence-use", score=0.7, assigned=True)
        with store.transaction():
            refresh_dimensions(store, passage_pks=None, document_ids=None)

    index_dir = tmp_path_factory.mktemp(f"page-{request.param}")
    store, settings = indexed_store(index_dir, _docs(), lexical=request.param, before_index=tag)
    yield store, settings
    store.close()


def test_filters_live_in_models_and_search_still_exports_them() -> None:
    assert Filters is ModelFilters
    assert Filters().include_unknown is False


@pytest.mark.parametrize("mode", ["bm25", "hybrid", "semantic"])
def test_no_document_takes_more_than_three_of_the_page(corpus, mode: str) -> None:  # noqa: ANN001
    store, settings = corpus
    page = search_page(store, settings, "principal supervisors coach principals", mode=mode, limit=10)
    per_doc: dict[str, int] = {}
    for hit in page.hits:
        per_doc[hit.document_id] = per_doc.get(hit.document_id, 0) + 1
    assert per_doc["flood"] == 3
    assert max(per_doc.values()) <= 3
    flood = [h for h in page.hits if h.document_id == "flood"]
    # the folded five are announced once, on the document's best hit
    assert flood[0].more_from_document == 5 and all(h.more_from_document == 0 for h in flood[1:])
    assert page.folded >= 5
    uncapped = search_page(store, settings, "principal supervisors coach principals", mode=mode, limit=10, per_document=0)
    assert sum(h.document_id == "flood" for h in uncapped.hits) > 3
    assert all(h.more_from_document == 0 for h in uncapped.hits)
    two = search_page(store, settings, "principal supervisors coach principals", mode=mode, limit=10, per_document=2)
    assert sum(h.document_id == "flood" for h in two.hits) == 2


def test_paging_walks_the_whole_result_set_once(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    first = search_page(store, settings, "supervisors", mode="bm25", limit=4, per_document=0)
    # 8 handbook passages and 6 briefs say "supervisors"; nothing else does
    assert first.total == 14 and first.total_exact
    seen = [h.id for h in first.hits]
    for offset in range(4, 16, 4):
        page = search_page(store, settings, "supervisors", mode="bm25", limit=4, offset=offset, per_document=0)
        assert page.total == 14 and page.offset == offset
        seen += [h.id for h in page.hits]
    assert len(seen) == 14 == len(set(seen))
    capped = search_page(store, settings, "supervisors", mode="bm25", limit=4)
    assert capped.total == 14 - 5  # the handbook keeps 3 of its 8


def test_browsing_without_a_query_lists_newest_first(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    page = search_page(store, settings, "", mode="hybrid", limit=50, by="document")
    years = [h.metadata["year"] for h in page.hits]
    assert page.total == 7 and page.message is None and page.mode == "browse"
    assert years[:-1] == sorted(years[:-1], reverse=True) and years[-1] is None  # no year: last
    assert all(h.matched_by == {} and h.relevance == 0 for h in page.hits)
    passages = search_page(store, settings, None, limit=5, filters=Filters(organization="Wallace"))
    assert [h.id for h in passages.hits] == ["flood-p0000", "flood-p0001", "flood-p0002"]
    assert passages.total == 3 and passages.hits[0].more_from_document == 5
    assert search(store, settings, query="  ", mode="bm25", limit=100, by="document")[0].document_id == "flood"


def test_filters_say_how_many_documents_lack_the_field(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    f = Filters(year_from=2012)
    page = search_page(store, settings, "supervisors", mode="bm25", limit=20, per_document=0, filters=f)
    assert page.unknown == {"year": 1}  # brief5 has no year
    assert "brief5" not in {h.document_id for h in page.hits}
    kept = search_page(
        store, settings, "supervisors", mode="bm25", limit=20, per_document=0, filters=Filters(year_from=2012, include_unknown=True)
    )
    assert kept.unknown == {"year": 1}
    assert "brief5" in {h.document_id for h in kept.hits}
    assert kept.total == page.total + 1
    both = search_page(store, settings, None, filters=Filters(organization="ERS", district="Tulsa"))
    # lacking an organization: brief0, brief2, brief4; of those in Tulsa: brief0, brief2.
    # lacking a district: brief3, brief4, brief5; of those with organization ERS: brief3, brief5
    assert both.unknown == {"organization": 2, "district": 2}
    assert search_page(store, settings, "supervisors", mode="bm25").unknown == {}


def test_facets_count_the_whole_result_set(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    page = search_page(store, settings, "supervisors", mode="bm25", limit=2, per_document=0)
    assert dict(page.facets["organization"]) == {"Wallace": 8, "ERS": 3}
    assert dict(page.facets["district"]) == {"Tulsa": 11}
    assert dict(page.facets["doc_type"]) == {"report": 8, "brief": 6}
    assert page.facets["year"][0] == ("2016", 8)
    assert dict(page.facets["dimension"]) == {"learning-partnerships": 2, "evidence-use": 1}
    docs = search_page(store, settings, "supervisors", mode="bm25", limit=2, by="document")
    assert docs.total == 7 and dict(docs.facets["doc_type"]) == {"report": 1, "brief": 6}


def test_facets_come_in_page_order_most_frequent_first(corpus) -> None:  # noqa: ANN001
    # the page and the JSON show facets in this order, values by count then name; all five always
    store, settings = corpus
    for by in ("passage", "document"):
        page = search_page(store, settings, "supervisors", mode="bm25", limit=2, per_document=0, by=by)
        assert list(page.facets) == ["dimension", "organization", "district", "year", "doc_type"]
        for values in page.facets.values():
            assert values == sorted(values, key=lambda pair: (-pair[1], pair[0]))
        assert page.facets["doc_type"][0] == (("report", 8) if by == "passage" else ("brief", 6))
    none = search_page(store, settings, "zzyzx", mode="bm25")
    assert none.total == 0 and all(values == [] for values in none.facets.values())


def test_matched_by_and_relevance(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    page = search_page(store, settings, "weekly supervisors brief", mode="hybrid", fusion="rrf", limit=10, per_document=0)
    assert page.hits
    for hit in page.hits:
        assert hit.matched_by and set(hit.matched_by) <= {"bm25", "semantic"}
        for engine in hit.matched_by.values():
            assert engine["rank"] >= 1 and isinstance(engine["score"], float)
        assert 0 < hit.relevance <= 100
    both = [h for h in page.hits if set(h.matched_by) == {"bm25", "semantic"}]
    assert both, "some hit is found by both engines"
    top = page.hits[0]
    ranks = [top.matched_by.get(e, {}).get("rank") for e in ("semantic", "bm25")]
    expected = 100 * sum(1 / (60 + r) for r in ranks if r) / (2 / 61)
    assert top.relevance == pytest.approx(expected, abs=0.1)
    relevances = [h.relevance for h in page.hits]
    assert relevances == sorted(relevances, reverse=True)
    convex = search_page(store, settings, "weekly supervisors brief", mode="hybrid", fusion="convex", limit=10)
    assert [h.relevance for h in convex.hits] == [round(100 * h.score, 1) for h in convex.hits]
    assert all(0 < h.relevance <= 100 for h in convex.hits)
    lexical = search_page(store, settings, "supervisors", mode="bm25", limit=3)
    assert lexical.hits[0].relevance == 100.0 and lexical.hits[0].matched_by["bm25"]["rank"] == 1
    assert lexical.hits[0].matched_by["bm25"]["score"] == lexical.hits[0].score


def test_a_query_of_stop_words_says_so(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    for mode in ("bm25", "hybrid", "semantic"):
        page = search_page(store, settings, "the of and ?!", mode=mode)
        assert page.hits == [] and page.total == 0
        assert page.message and "nothing to search for" in page.message
    assert search(store, settings, query="to be or not", mode="bm25") == []
    only_out = search_page(store, settings, "-budget", mode="bm25")
    assert only_out.hits == [] and "only says what to leave out" in (only_out.message or "")


def test_bad_page_arguments_fail_before_ranking(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    for kwargs, name in (({"offset": -1}, "offset"), ({"per_document": -1}, "per_document"), ({"limit": 0}, "limit")):
        with pytest.raises(QueryError, match=f"^{name}:"):
            search_page(store, settings, "supervisors", **kwargs)
    with pytest.raises(QueryError, match="^document_id:"):
        search_page(store, settings, "supervisors", filters=Filters(document_id="nope"))
    one = search_page(store, settings, "supervisors", mode="bm25", filters=Filters(document_id="flood"), per_document=0)
    assert one.total == 8 and {h.document_id for h in one.hits} == {"flood"}
