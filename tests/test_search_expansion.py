"""Pseudo-relevance feedback: hybrid search widens its BM25 query with the words of the dense
engine's best passages, so a passage sharing no word with the question can still be found
lexically; queries with operators are left as asked."""

from __future__ import annotations

import pytest

from rppsearch.expansion import expansion_terms
from rppsearch.search import search_page
from test_search_support import Doc, add_docs, index_all


def test_expansion_prefers_words_the_feedback_shares_and_the_collection_lacks() -> None:
    df = {"school": 90, "kestrel": 2, "dashboard": 3, "the": 100, "of": 100, "bay": 4}
    texts = ["the kestrel dashboard of the school", "kestrel bay dashboard school"]
    terms = expansion_terms(
        texts, analyze=str.split, doc_freq=lambda s: df.get(s, 0), num_docs=100, stop={"the", "of"},
        query_terms=["inquiry", "cycles"], terms=3, weight=0.5,
    )
    assert list(terms)[:2] == ["kestrel", "dashboard"]  # in both texts, rare in the collection
    assert "school" not in terms and "the" not in terms  # common, and a stop word
    # the added terms share weight x the query's distinct words: the query keeps most weight
    assert sum(terms.values()) == pytest.approx(0.5 * 2)
    assert expansion_terms([], analyze=str.split, doc_freq=lambda s: 1, num_docs=10) == {}


@pytest.fixture
def feedback_corpus(store):  # noqa: ANN001, ANN201
    docs = [
        Doc(id="answer", title="A", passages=["inquiry cycles with kestrel dashboards and quarterly review protocols"]),
        # the second answer shares no word with the question, only with the first answer
        Doc(id="sibling", title="B", passages=["kestrel dashboards quarterly protocols for principals"]),
        Doc(id="noise1", title="C", passages=["bus routes changed after the driver shortage"]),
        Doc(id="noise2", title="D", passages=["the cafeteria menu adds a salad bar"]),
        Doc(id="noise3", title="E", passages=["budget offices track spending across the district"]),
    ]
    add_docs(store, docs)
    return store, index_all(store)


def _lexical_ids(page) -> set[str]:  # noqa: ANN001
    return {h.document_id for h in page.hits if "bm25" in h.matched_by}


def test_hybrid_finds_lexically_what_shares_words_only_with_the_dense_best(feedback_corpus) -> None:  # noqa: ANN001
    store, settings = feedback_corpus
    plain = search_page(store, settings, "inquiry cycles review", mode="hybrid", by="document", expand=False)
    widened = search_page(store, settings, "inquiry cycles review", mode="hybrid", by="document", expand=True)
    # off by default: the plain fusion
    default = search_page(store, settings, "inquiry cycles review", mode="hybrid", by="document")
    assert _lexical_ids(default) == {"answer"}
    assert _lexical_ids(plain) == {"answer"}
    assert {"answer", "sibling"} <= _lexical_ids(widened)
    # the question's own words keep most of the weight: what matches them stays first
    first = min(widened.hits, key=lambda h: h.matched_by.get("bm25", {}).get("rank", 10**6))
    assert first.document_id == "answer"
    # bm25 mode alone is never widened (it would need the encoder)
    bm25 = search_page(store, settings, "inquiry cycles review", mode="bm25", by="document", expand=True)
    assert {h.document_id for h in bm25.hits} == {"answer"}


@pytest.mark.parametrize("query", ['"inquiry cycles" review', "inquiry cycles -salad", "title:A inquiry"])
def test_a_query_with_operators_is_not_widened(feedback_corpus, query: str) -> None:  # noqa: ANN001
    store, settings = feedback_corpus
    page = search_page(store, settings, query, mode="hybrid", by="document", expand=True)
    assert "sibling" not in _lexical_ids(page)


def test_coverage_is_the_mean_share_of_the_query_words_each_text_contains() -> None:
    from rppsearch.expansion import coverage

    assert coverage(["a", "b"], ["a b c", "a x", "y"], analyze=str.split) == pytest.approx((1 + 0.5 + 0) / 3)
    assert coverage([], ["a"], analyze=str.split) == 1.0


def test_a_query_whose_words_the_best_passages_already_hold_is_not_widened(feedback_corpus) -> None:  # noqa: ANN001
    store, settings = feedback_corpus
    query = "kestrel dashboards quarterly protocols"  # both answers hold every word
    widened = search_page(store, settings, query, mode="hybrid", by="document", expand=True)
    plain = search_page(store, settings, query, mode="hybrid", by="document", expand=False)
    assert [(h.document_id, h.matched_by) for h in widened.hits] == [(h.document_id, h.matched_by) for h in plain.hits]


def test_rpp_search_expand_flag_reaches_the_search_and_is_refused_outside_hybrid(feedback_corpus) -> None:  # noqa: ANN001
    import json

    from typer.testing import CliRunner

    from rppsearch.cli.main import app

    store, settings = feedback_corpus
    store.conn.commit()
    base = ["search", "inquiry cycles review", "--by", "document", "--index-dir", str(settings.index_dir), "--json"]
    env = {"RPP_MODEL": "fake"}

    def lexical(args: list[str]) -> set[str]:
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        hits = [json.loads(line) for line in result.stdout.splitlines()[1:]]
        return {h["document_id"] for h in hits if "bm25" in h["matched_by"]}

    assert lexical(base) == {"answer"}
    assert "sibling" in lexical([*base, "--expand"])
    refused = CliRunner().invoke(app, [*base, "--expand", "--mode", "bm25"], env=env)
    assert refused.exit_code != 0 and "hybrid mode only" in refused.output
