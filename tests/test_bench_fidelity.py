"""The fidelity benchmark's own rules: which reference words it leaves out, how it tokenises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "bench_fidelity", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_fidelity.py"
)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_a_page_number_at_the_foot_of_its_page_is_left_out():
    text, dropped = bench.without_page_numbers("Name\nCheck\nSubmit\n\n1\n\n\f")
    assert dropped == 1 and bench.tokens(text) == ["name", "check", "submit"]


def test_numbered_pages_with_an_offset_are_left_out_and_body_numbers_stay():
    pages = [f"Chapter text {n}\nThe budget rose by 12 percent\n{n + 4}\n" for n in range(1, 4)]
    text, dropped = bench.without_page_numbers("\f".join(pages))
    assert dropped == 3
    assert bench.tokens(text).count("12") == 3 and "5" not in bench.tokens(text)


def test_chart_axis_labels_are_not_page_numbers():
    axis = "8\n6\n4\n2\n0\n0\n\n2\n\n4\n\n6\n\n8\n\n\f"
    assert bench.without_page_numbers(axis)[1] == 0
    # a lone number on a one-page file that is not 1 proves nothing either
    assert bench.without_page_numbers("Example document\nBody text\n453\n\f")[1] == 0


def test_tokens_fold_presentation_forms_and_keep_vowel_marks_in_the_word():
    assert bench.tokens("ﻣﺎ") == bench.tokens("ما")  # Arabic presentation forms are the letters
    assert bench.tokens("ﬁnance") == ["finance"]
    assert len(bench.tokens("حَبيبي")) == 1  # the fatha does not split the word


def test_a_right_to_left_word_counts_in_either_letter_order():
    assert bench.tokens("حَبيبي habibi") == bench.tokens("يبيبَح habibi")
    assert bench.tokens("habibi") != bench.tokens("ibibah")  # left-to-right words keep their order
