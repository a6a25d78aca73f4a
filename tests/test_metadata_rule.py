"""One rule for a stored document's metadata: an ingest, a re-ingest of an unchanged file whose
catalog changed, and `rpp edit` combine the document, library, catalog and edit layers alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from rppsearch.ingest import pipeline
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.manage import edit_document
from rppsearch.store import Store

COLUMNS = ("title", "year", "organization", "districts", "mentioned_districts", "authors", "doc_type", "url",
           "published", "metadata_sources")


def _row(store: Store, doc_id: str) -> dict:
    cols = ", ".join(COLUMNS)
    return dict(store.conn.execute(f"SELECT {cols} FROM documents WHERE id = ?", (doc_id,)).fetchone())


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("re-parsed: the stored layers should have been enough")

    monkeypatch.setattr(pipeline, "read_document", refuse)


def _corpus(tmp_path: Path, files: dict[str, str]) -> Path:
    """A folder holding `files` (name -> text): a document and its catalog."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


def test_rpp_edit_and_a_re_ingest_store_the_same_metadata(store: Store, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path, {
        "dallas.txt": "Supporting struggling schools\n\nMarch 2019\n\nby Jane Doe and John Roe\n\n"
                      "The central office in Dallas ISD reenvisioned school support for principals across the city.\n",
        "catalog.csv": "path,site_name,districts,published\n"
                       "dallas.txt,Education Resource Strategies,Dallas,2018-05-01\n",
    })
    ingest_paths(store, [corpus])
    edit_document(store, doc_id="corpus-dallas", edits={"title": "Dallas: school support", "doc_type": "case study"})
    by_edit = _row(store, "corpus-dallas")
    assert by_edit["title"] == "Dallas: school support" and by_edit["organization"] == "Education Resource Strategies"
    _no_parse(monkeypatch)
    report = ingest_paths(store, [corpus])  # the edit cleared metadata_hash: re-resolved, not re-parsed
    assert report.updated == ["corpus-dallas"]
    assert _row(store, "corpus-dallas") == by_edit


def test_a_catalog_title_that_goes_away_gives_way_to_the_texts_own_without_a_re_parse(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(tmp_path, {
        "excerpt.txt": "Principal supervisors in six districts changed how they spend their days with principals. "
                       "They visit classrooms together.\n\nThey plan the next visit at the end of each one.\n",
        "catalog.csv": "path,title\nexcerpt.txt,Supervisors at work\n",
    })
    ingest_paths(store, [corpus])
    assert _row(store, "corpus-excerpt")["title"] == "Supervisors at work"
    (corpus / "catalog.csv").write_text("path,title\nexcerpt.txt,\n", encoding="utf-8")
    _no_parse(monkeypatch)
    ingest_paths(store, [corpus])
    row = _row(store, "corpus-excerpt")
    assert row["title"] == "Principal supervisors in six districts changed how they spend their days with principals"
    assert '"title": "inferred"' in row["metadata_sources"]


def test_a_catalog_edit_keeps_the_districts_the_text_mentions_without_reading_the_text_again(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalog edit (a year) re-resolves the metadata only; the districts the text mentions
    are found again (over the stored text) only when the district aliases changed."""
    import json

    from rppsearch.ingest import metadata as meta

    corpus = _corpus(tmp_path, {
        "doc.txt": "Principal supervisors at Harbor Point Academies visit classrooms every week with principals.\n",
        "catalog.csv": "path,year\ndoc.txt,2019\n",
    })
    ingest_paths(store, [corpus])
    assert _row(store, "corpus-doc")["mentioned_districts"] == "[]"
    searched: list[str] = []
    real_mentions = meta.Layers.mentions
    monkeypatch.setattr(meta.Layers, "mentions", lambda self, text: searched.append(text) or real_mentions(self, text))
    _no_parse(monkeypatch)

    (corpus / "catalog.csv").write_text("path,year\ndoc.txt,2020\n", encoding="utf-8")
    assert ingest_paths(store, [corpus]).updated == ["corpus-doc"]
    assert _row(store, "corpus-doc")["year"] == 2020
    assert searched == []  # the text was not read again

    # new aliases name a district the text mentions: found, from the stored text
    (corpus / "district_aliases.yaml").write_text("Harbor Point Academies:\n  aliases: []\n", encoding="utf-8")
    assert ingest_paths(store, [corpus]).updated == ["corpus-doc"]
    assert len(searched) == 1
    assert json.loads(_row(store, "corpus-doc")["mentioned_districts"]) == ["Harbor Point Academies"]
    searched.clear()
    (corpus / "catalog.csv").write_text("path,year\ndoc.txt,2021\n", encoding="utf-8")
    ingest_paths(store, [corpus])
    assert searched == [] and json.loads(_row(store, "corpus-doc")["mentioned_districts"]) == ["Harbor Point Academies"]

    # a row stored without a note of the aliases (an older rpp): its mentions are found again once
    layers = json.loads(store.conn.execute("SELECT document_metadata FROM documents").fetchone()[0])
    del layers["mentions_aliases"]
    with store.transaction():
        store.conn.execute("UPDATE documents SET document_metadata = ?", (json.dumps(layers),))
    (corpus / "catalog.csv").write_text("path,year\ndoc.txt,2022\n", encoding="utf-8")
    ingest_paths(store, [corpus])
    assert len(searched) == 1
    assert json.loads(_row(store, "corpus-doc")["mentioned_districts"]) == ["Harbor Point Academies"]
