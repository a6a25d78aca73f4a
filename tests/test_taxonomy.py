"""The codebook and labelled examples: loading, validation errors that name file and problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rppsearch.errors import TaxonomyError
from rppsearch.taxonomy import Taxonomy, examples_hash, load_default_taxonomy, load_examples, load_taxonomy

HONIG_IDS = ["learning-partnerships", "partnership-assistance", "unit-reorganization", "stewardship", "evidence-use"]

GOOD = """\
name: tiny
version: 2
description: A tiny codebook.
dimensions:
  - id: fruit
    name: Fruit
    definition: Talk about fruit.
    include: [orchards]
    exclude: [vegetables]
    examples: [The apples were ripe.]
  - id: weather
    name: Weather
    definition: Talk about the weather.
"""


def write(tmp_path: Path, text: str, name: str = "codebook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_codebook_has_the_five_dimensions_in_order() -> None:
    taxonomy = load_default_taxonomy()
    assert taxonomy.ids == HONIG_IDS
    for dim in taxonomy.dimensions:
        assert dim.definition and dim.include and dim.exclude and len(dim.examples) >= 3


def test_good_codebook_loads_with_defaults_for_missing_lists(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, GOOD))
    assert taxonomy.name == "tiny" and taxonomy.version == "2"
    assert taxonomy.ids == ["fruit", "weather"]
    assert taxonomy.get("weather").examples == ()
    assert taxonomy.get("fruit").prototype_texts() == ["Fruit", "Talk about fruit.", "orchards", "The apples were ripe."]


def test_hash_follows_content_not_formatting(tmp_path: Path) -> None:
    a = load_taxonomy(write(tmp_path, GOOD, "a.yaml"))
    reformatted = GOOD.replace("description: A tiny codebook.", "description: >\n  A tiny\n  codebook.")
    b = load_taxonomy(write(tmp_path, reformatted, "b.yaml"))
    changed = load_taxonomy(write(tmp_path, GOOD.replace("Talk about fruit.", "Talk about fruits."), "c.yaml"))
    assert a.hash == b.hash
    assert a.hash != changed.hash
    assert Taxonomy.from_dict(a.to_dict()).hash == a.hash


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (GOOD.replace("    definition: Talk about the weather.\n", ""), ["codebook.yaml:11", "'weather'", "missing 'definition'"]),
        (GOOD.replace("id: weather", "id: fruit"), ["codebook.yaml:11", "duplicate dimension id 'fruit'"]),
        (GOOD.replace("id: weather", "id: Weather Things"), ["codebook.yaml:11", "not a slug"]),
        (GOOD.replace("definition: Talk about the weather.", 'definition: "  "'), ["codebook.yaml:11", "'definition' must be a non-empty string"]),
        (GOOD.replace("    include: [orchards]\n", "    include: [orchards]\n    colour: red\n"), ["codebook.yaml:5", "unknown field(s) 'colour'"]),
        (GOOD.replace("    include: [orchards]\n", "    include: 3\n"), ["'include' must be a list"]),
        ("- just\n- a list\n", ["codebook.yaml", "must be a mapping", "not a list"]),
        ("", ["codebook.yaml", "not empty"]),
        ("name: x\n", ["missing top-level field 'dimensions'"]),
        ("name: x\ndimensions: []\n", ["'dimensions' must be a non-empty list"]),
        ("name: x\ndimensions:\n  - id: a\n    name: [unclosed\n", ["codebook.yaml:", "invalid YAML"]),
    ],
)
def test_codebook_errors_name_the_file_and_the_problem(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    text = GOOD.replace("    name: Weather\n", "    name: Weather\n   bad: [\n")
    with pytest.raises(TaxonomyError, match=r"codebook\.yaml:1[0-9]: invalid YAML"):
        load_taxonomy(write(tmp_path, text))


def test_missing_codebook_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="no such codebook file"):
        load_taxonomy(tmp_path / "nope.yaml")


# -- labelled examples ---------------------------------------------------------------------------
def test_examples_load_ignoring_extra_keys_and_ordering_labels(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, GOOD))
    path = tmp_path / "ex.jsonl"
    path.write_text(
        json.dumps({"text": "Rain and apples.", "labels": ["weather", "fruit", "weather"], "genre": "news"}) + "\n\n"
        + json.dumps({"text": "Nothing here.", "labels": []}) + "\n",
        encoding="utf-8",
    )
    examples = load_examples([path], taxonomy=taxonomy)
    assert [(e.text, e.labels) for e in examples] == [("Rain and apples.", ("fruit", "weather")), ("Nothing here.", ())]
    assert examples[1].source == f"{path}:3"


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('{"text": "x", "labels": ["snow"]}', "unknown dimension id 'snow'"),
        ('{"labels": ["fruit"]}', "missing or empty 'text'"),
        ('{"text": "   ", "labels": []}', "missing or empty 'text'"),
        ('{"text": "x"}', "missing 'labels'"),
        ('{"text": "x", "labels": "fruit"}', "'labels' must be a list"),
        ('{"text": "x", "labels": [}', "bad JSON"),
        ('["x"]', "must be a JSON object"),
    ],
)
def test_example_errors_name_file_line_and_problem(tmp_path: Path, line: str, needle: str) -> None:
    taxonomy = load_taxonomy(write(tmp_path, GOOD))
    path = tmp_path / "ex.jsonl"
    path.write_text('{"text": "fine", "labels": ["fruit"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_examples([path], taxonomy=taxonomy)
    assert str(info.value).startswith(f"{path}:2: ")
    assert needle in str(info.value)


def test_examples_hash_ignores_order_but_not_labels() -> None:
    a = [("one", ["x"]), ("two", [])]
    assert examples_hash(a) == examples_hash(list(reversed(a)))
    assert examples_hash(a) != examples_hash([("one", []), ("two", [])])


def test_shipped_examples_are_valid_for_the_shipped_codebook() -> None:
    from rppsearch.config import default_examples_paths

    paths = default_examples_paths()
    assert paths, "the labelled examples are missing from the package"
    examples = load_examples(paths, taxonomy=load_default_taxonomy())
    assert len(examples) >= 100
