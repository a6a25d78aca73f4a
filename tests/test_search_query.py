"""The query language: "phrases", -exclusion, OR, title: and heading:, malformed queries,
in every mode, on the tantivy index and on its FTS5 fallback."""

from __future__ import annotations

import pytest

from rppsearch.errors import QueryError
from rppsearch.query import parse
from rppsearch.search import search_page
from test_search_support import Doc, indexed_store

DOCS = [
    Doc(id="toa", title="District playbook", passages=["A clear theory of action guides the central office."],
        headings=["Next steps"]),
    Doc(id="swapped", title="Economics notes", passages=["The action theory of the firm, and of central banks."],
        headings=["Background"]),
    Doc(id="walks", title="Learning walks", passages=["Principals join a learning walk with their supervisor."],
        headings=["Practice"]),
    Doc(id="budget", title="Budget memo", passages=["Supervisors review the budget of the central office."],
        headings=["Next steps"]),
    Doc(id="coach", title="Supervision handbook", passages=["Supervisors coach principals on instruction."],
        headings=["Coaching"]),
]


@pytest.fixture(scope="module", params=["tantivy", "fts5"])
def corpus(request, tmp_path_factory):  # noqa: ANN001, ANN201
    store, settings = indexed_store(tmp_path_factory.mktemp(f"query-{request.param}"), DOCS, lexical=request.param)
    yield store, settings
    store.close()


def _docs(corpus, query: str, mode: str = "bm25") -> set[str]:  # noqa: ANN001
    store, settings = corpus
    return {h.document_id for h in search_page(store, settings, query, mode=mode, limit=20).hits}


def test_words_rank_any_match(corpus) -> None:  # noqa: ANN001
    assert _docs(corpus, "theory action") == {"toa", "swapped"}


def test_a_quoted_phrase_must_appear_as_written(corpus) -> None:  # noqa: ANN001
    assert _docs(corpus, '"theory of action"') == {"toa"}
    assert _docs(corpus, 'office "theory of action"') == {"toa"}  # the phrase is required, words rank


def test_exclusion_drops_passages_with_the_word(corpus) -> None:  # noqa: ANN001
    assert _docs(corpus, "supervisors") == {"walks", "budget", "coach"}
    assert _docs(corpus, "supervisors -budget") == {"walks", "coach"}
    assert _docs(corpus, 'central -"theory of action"') == {"swapped", "budget"}


def test_or_between_phrases_takes_either(corpus) -> None:  # noqa: ANN001
    assert _docs(corpus, '"theory of action" OR "learning walk"') == {"toa", "walks"}
    assert _docs(corpus, "budget OR walk") == {"budget", "walks"}


def test_field_terms_look_in_the_title_or_heading(corpus) -> None:  # noqa: ANN001
    assert _docs(corpus, "title:handbook") == {"coach"}
    assert _docs(corpus, 'heading:"next steps"') == {"toa", "budget"}
    assert _docs(corpus, "heading:next office") == {"toa", "budget"}
    assert _docs(corpus, "TITLE:memo OR title:playbook") == {"budget", "toa"}


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_operators_bind_the_semantic_side_too(corpus, mode: str) -> None:  # noqa: ANN001
    assert _docs(corpus, '"theory of action"', mode) == {"toa"}
    assert "budget" not in _docs(corpus, "supervisors office -budget", mode)
    assert _docs(corpus, "title:handbook principals", mode) == {"coach"}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ('"theory of action', "unbalanced double quote"),
        ("coaching OR", "OR needs a word"),
        ("OR coaching", "OR needs a word"),
        ("coaching OR OR walks", "OR needs a word"),
        ("title:", "needs a word"),
        ("heading: steps", "needs a word"),
        ("walks OR -budget", "exclusion cannot be part of an OR"),
    ],
)
def test_malformed_queries_are_named(corpus, query: str, reason: str) -> None:  # noqa: ANN001
    store, settings = corpus
    with pytest.raises(QueryError) as info:
        search_page(store, settings, query, mode="bm25")
    assert str(info.value).startswith("query: ") and reason in str(info.value)


def test_the_encoder_gets_the_words_without_operators() -> None:
    parsed = parse('"theory of action" -budget title:playbook OR heading:"next steps" coaching')
    assert parsed.semantic_text == "theory of action playbook next steps coaching"
    assert parse("the of and").is_empty and parse("-budget").is_empty and not parse("K-12 the").is_empty
    assert parse('"to be or not to be"').positive  # a phrase of stop words is searchable


def test_hyphenated_words_match_as_written(corpus) -> None:  # noqa: ANN001
    assert _docs(corpus, "central-office") == {"toa", "budget"}  # not "central banks ... office"
