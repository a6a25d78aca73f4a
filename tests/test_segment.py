"""Passage splitting with the real spaCy sentencizer: bounds, headings, offsets, no text lost."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rppsearch.ingest.segment import MAX_WORDS, MIN_WORDS, split_passages
from rppsearch.models import Block


def _para(n_sentences: int, words: int = 12, seed: str = "word") -> str:
    return " ".join(
        " ".join(f"{seed}{i}x{j}" for j in range(words)).capitalize() + "." for i in range(n_sentences)
    )


def test_passages_respect_word_bounds_and_sentences() -> None:
    blocks = [Block(_para(4)), Block(_para(3)), Block(_para(30)), Block(_para(2))]
    text, passages = split_passages(blocks)
    assert passages
    for p in passages:
        assert p.word_count == len(p.text.split())  # English: words are what spaces separate
        assert p.word_count <= MAX_WORDS
        assert text[p.start : p.end] == p.text
        assert p.text.endswith(".")  # whole sentences only
    # all but possibly the last passage reach the minimum
    assert all(p.word_count >= MIN_WORDS for p in passages[:-1])


def test_passages_never_cross_headings_and_carry_heading_path() -> None:
    blocks = [
        Block("Findings", 1),
        Block(_para(3, seed="alpha")),
        Block("Evidence use", 2),
        Block(_para(3, seed="beta")),
        Block("Methods", 1),
        Block(_para(2, seed="gamma")),
    ]
    _, passages = split_passages(blocks)
    headings = [p.heading for p in passages]
    assert headings == ["Findings", "Findings > Evidence use", "Methods"]
    assert "alpha" in passages[0].text and "beta" not in passages[0].text


def test_overlong_sentence_is_cut_at_word_boundaries() -> None:
    blob = " ".join(f"w{i}" for i in range(1000))  # no sentence end at all
    text, passages = split_passages([Block(blob)])
    assert len(passages) == 5
    assert all(p.word_count <= MAX_WORDS for p in passages)
    assert " ".join(p.text for p in passages) == blob


def test_japanese_text_without_spaces_is_split_into_model_sized_passages() -> None:
    """Each ideograph or kana counts as a word: a CJK document is not one giant passage."""
    sentence = "校長と指導主事は毎週学校を訪問し、授業改善について話し合います。"
    text, passages = split_passages([Block(sentence * 40)])
    assert len(passages) > 1
    assert all(len(p.text.replace(" ", "")) <= MAX_WORDS for p in passages)  # one word unit a character
    assert all(p.text.endswith("。") for p in passages)  # whole sentences, as in English
    assert "".join(p.text for p in passages).replace(" ", "") == sentence * 40
    blob = "日本語の文章です" * 500  # no sentence end at all: cut between characters
    _, cut = split_passages([Block(blob)])
    assert len(cut) == len(blob) // MAX_WORDS
    assert "".join(p.text for p in cut) == blob


_word = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=12)
_sentence = st.lists(_word, min_size=1, max_size=40).map(lambda ws: " ".join(ws) + ".")
_paragraph = st.lists(_sentence, min_size=1, max_size=12).map(" ".join)
_block = st.one_of(
    _paragraph.map(Block),
    st.tuples(_word, st.integers(1, 3)).map(lambda t: Block(t[0], t[1])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_block, min_size=1, max_size=12))
def test_no_text_lost_and_offsets_point_at_passage_text(blocks: list[Block]) -> None:
    text, passages = split_passages(blocks)
    for p in passages:
        assert text[p.start : p.end] == p.text
    body_words = [w for b in blocks if b.heading_level == 0 for w in b.text.split()]
    passage_words = [w for p in passages for w in p.text.split()]
    assert passage_words == body_words
    starts = [p.start for p in passages]
    assert starts == sorted(starts)
    assert all(re.search(r"\S", p.text) for p in passages)
