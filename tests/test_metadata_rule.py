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


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "dallas.txt").write_text(
        "Supporting struggling schools\n\nMarch 2019\n\nby Jane Doe and John Roe\n\n"
        "The central office in Dallas ISD reenvisioned school support for principals across the city.\n",
        encoding="utf-8",
    )
    (corpus / "catalog.csv").write_text(
        "path,site_name,districts,published\ndallas.txt,Education Resource Strategies,Dallas,2018-05-01\n",
        encoding="utf-8",
    )
    return corpus


def test_rpp_edit_and_a_re_ingest_store_the_same_metadata(store: Store, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path)
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
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "excerpt.txt").write_text(
        "Principal supervisors in six districts changed how they spend their days with principals. "
        "They visit classrooms together.\n\nThey plan the next visit at the end of each one.\n",
        encoding="utf-8",
    )
    (corpus / "catalog.csv").write_text("path,title\nexcerpt.txt,Supervisors at work\n", encoding="utf-8")
    ingest_paths(store, [corpus])
    assert _row(store, "corpus-excerpt")["title"] == "Supervisors at work"
    (corpus / "catalog.csv").write_text("path,title\nexcerpt.txt,\n", encoding="utf-8")
    _no_parse(monkeypatch)
    ingest_paths(store, [corpus])
    row = _row(store, "corpus-excerpt")
    assert row["title"] == "Principal supervisors in six districts changed how they spend their days with principals"
    assert '"title": "inferred"' in row["metadata_sources"]
