"""Reference-manager exports (BibTeX, RIS) with their `files/` folder, as Zotero writes them."""

from __future__ import annotations

import json
from pathlib import Path

from rppsearch.ingest.pipeline import ingest_paths

TYPES = [("techreport", "report", "institution"), ("article", "article", "publisher"), ("book", "book", "publisher"),
         ("incollection", "chapter", "publisher"), ("misc", "document", "organization")]


def _write_files(folder: Path, n: int) -> list[str]:
    rels = []
    for i in range(n):
        rel = f"files/{i + 10}/Report {i} - Central office.txt"
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"Report {i}\n\nPrincipal supervisors in district {i} met weekly with principals to observe "
            "instruction and plan support. The central office reorganized its units to serve schools.\n",
            encoding="utf-8",
        )
        rels.append(rel)
    return rels


def _zotero_bib(folder: Path, n: int = 50, *, title_suffix: str = "") -> Path:
    rels = _write_files(folder, n)
    entries = []
    for i, rel in enumerate(rels):
        kind, _, org_field = TYPES[i % len(TYPES)]
        entries.append(
            f"@{kind}{{honig{i}_central,\n"
            f"  title = {{Central Office {{Transformation}} Study {i}{title_suffix}}},\n"
            f"  author = {{Honig, Meredith I. and Copland, Michael A. and Rainey, Lydia}},\n"
            f"  {org_field} = {{Center for the Study of Teaching and Policy}},\n"
            f"  year = {{{2000 + i % 25}}},\n"
            f"  url = {{https://example.org/report/{i}}},\n"
            f"  doi = {{10.1234/cot.{i}}},\n"
            f"  keywords = {{central office, principal supervision}},\n"
            f"  file = {{Full Text PDF:{rel}:text/plain;Snapshot:files/9{i}/snapshot.html:text/html}}\n}}\n"
        )
    entries.append("@misc{nofile2020,\n  title = {A Report Nobody Attached},\n  year = {2020}\n}\n")
    bib = folder / "My Library.bib"
    bib.write_text("\n".join(entries), encoding="utf-8")
    return bib


def test_zotero_bibtex_export_of_50_entries_maps_every_field(store, tmp_path: Path) -> None:
    bib = _zotero_bib(tmp_path / "export")
    report = ingest_paths(store, [bib])
    assert not report.failed
    assert len(report.added) == 50
    assert [(key, reason) for _, key, reason in report.entries_missing] == [
        ("nofile2020", "nofile2020 “A Report Nobody Attached”: no attachment")
    ]
    for i in range(50):
        row = dict(store.conn.execute("SELECT * FROM documents WHERE id = ?", (f"honig{i}-central",)).fetchone())
        assert row["title"] == f"Central Office Transformation Study {i}"
        assert json.loads(row["authors"]) == ["Meredith I. Honig", "Michael A. Copland", "Lydia Rainey"]
        assert row["year"] == 2000 + i % 25
        assert row["organization"] == "Center for the Study of Teaching and Policy"
        assert row["doc_type"] == TYPES[i % len(TYPES)][1]
        assert row["url"] == f"https://example.org/report/{i}"
        extra = json.loads(row["metadata"])
        assert extra["doi"] == f"10.1234/cot.{i}"
        assert extra["keywords"] == ["central office", "principal supervision"]
        sources = json.loads(row["metadata_sources"])
        assert {sources[k] for k in ("title", "authors", "year", "organization", "doc_type", "url")} == {"library"}


def test_reimport_after_a_metadata_change_updates_without_reparsing(store, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bib = _zotero_bib(folder, n=3)
    ingest_paths(store, [bib])
    passages_before = store.conn.execute("SELECT pk, document_id FROM passages ORDER BY pk").fetchall()
    _zotero_bib(folder, n=3, title_suffix=" (revised)")
    report = ingest_paths(store, [bib])
    assert sorted(report.updated) == ["honig0-central", "honig1-central", "honig2-central"]
    assert store.conn.execute("SELECT pk, document_id FROM passages ORDER BY pk").fetchall() == passages_before
    titles = {r[0] for r in store.conn.execute("SELECT DISTINCT title FROM passages")}
    assert titles == {f"Central Office Transformation Study {i} (revised)" for i in range(3)}
    assert not ingest_paths(store, [bib]).updated  # unchanged now


def test_ris_export_with_l1_links_and_a_missing_file(store, tmp_path: Path) -> None:
    folder = tmp_path / "ris"
    rels = _write_files(folder, 2)
    (folder / "library.ris").write_text(
        "TY  - RPRT\nID  - cgcs2013\nTI  - Rethinking Leadership\nAU  - Corcoran, Amanda\nAU  - Casserly, Michael\n"
        "PY  - 2013\nDA  - 2013/03//\nPB  - Council of the Great City Schools\nUR  - https://example.org/cgcs\n"
        f"DO  - 10.5/cgcs\nKW  - principal supervisors\nL1  - {rels[0]}\nER  - \n\n"
        "TY  - ELEC\nTI  - A Blog Post\nPY  - 2021\nL4  - files/404/gone.html\nER  - \n\n"
        f"TY  - JOUR\nID  - second\nTI  - Second\nAU  - Doe, Jane\nPY  - 2019\nL1  - {rels[1]}\nER  - \n",
        encoding="utf-8",
    )
    report = ingest_paths(store, [folder / "library.ris"])
    assert sorted(report.added) == ["cgcs2013", "second"]
    assert [key for _, key, _ in report.entries_missing] == ["entry-2"]
    assert "attachment not found (files/404/gone.html)" in report.entries_missing[0][2]
    row = dict(store.conn.execute("SELECT * FROM documents WHERE id = 'cgcs2013'").fetchone())
    assert (row["title"], row["year"], row["organization"], row["doc_type"]) == (
        "Rethinking Leadership", 2013, "Council of the Great City Schools", "report"
    )
    assert json.loads(row["authors"]) == ["Amanda Corcoran", "Michael Casserly"]
    assert json.loads(row["metadata"])["doi"] == "10.5/cgcs"


def test_library_metadata_survives_adding_the_file_on_its_own(store, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    bib = _zotero_bib(folder, n=1)
    ingest_paths(store, [bib])
    attachment = next((folder / "files").rglob("*.txt"))
    attachment.write_text(attachment.read_text(encoding="utf-8") + "\nA new closing paragraph.\n", encoding="utf-8")
    report = ingest_paths(store, [attachment])  # `rpp add files/10/…` without the export
    assert report.updated == ["honig0-central"]
    row = store.conn.execute("SELECT title, year, metadata_sources FROM documents").fetchone()
    assert row["title"] == "Central Office Transformation Study 0" and row["year"] == 2000
    assert json.loads(row["metadata_sources"])["title"] == "library"


def test_file_fields_as_zotero_jabref_and_mendeley_write_them() -> None:
    from rppsearch.ingest.library import _bibtex_files  # noqa: PLC0415

    assert _bibtex_files("Full Text PDF:files/12/Honig - 2010 - Central.pdf:application/pdf;Snapshot:files/13/s.html:text/html") == [
        "files/12/Honig - 2010 - Central.pdf", "files/13/s.html"
    ]
    assert _bibtex_files(":reports/ers.pdf:PDF") == ["reports/ers.pdf"]  # JabRef
    assert _bibtex_files(":C$\\backslash$:/Users/ana/Mendeley/ers.pdf:pdf") == ["C:/Users/ana/Mendeley/ers.pdf"]
    assert _bibtex_files("files/1/plain.pdf") == ["files/1/plain.pdf"]


def test_an_unreadable_export_is_a_failure_naming_the_file(store, tmp_path: Path) -> None:
    bad = tmp_path / "broken.bib"
    bad.write_text("@article{x, title = {never closed\n", encoding="utf-8")
    report = ingest_paths(store, [bad])
    assert report.failed and report.failed[0][0] == str(bad)
    assert "BibTeX" in report.failed[0][1]


def test_ingesting_the_export_folder_applies_its_entries(store, tmp_path: Path) -> None:
    folder = tmp_path / "My Library"
    _zotero_bib(folder, n=2)
    report = ingest_paths(store, [folder])
    assert sorted(report.added) == ["honig0-central", "honig1-central"]
    assert [key for _, key, _ in report.entries_missing] == ["nofile2020"]
    assert store.conn.execute("SELECT organization FROM documents WHERE id = 'honig1-central'").fetchone()[0] == (
        "Center for the Study of Teaching and Policy"
    )
    assert report.skipped == []  # the export at the folder's top is read, not skipped


def test_an_export_folder_entry_whose_file_lies_outside_the_folder_is_ingested(store, tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    outside = tmp_path / "elsewhere" / "note.md"
    outside.parent.mkdir()
    outside.write_text("# Note\n\nPrincipal supervisors coach principals in weekly visits to schools.\n")
    (folder / "My.bib").write_text(
        "@report{other2012, title = {A Note on Supervisors}, year = {2012}, file = {" + str(outside) + "}}\n"
    )
    report = ingest_paths(store, [folder])
    assert report.added == ["other2012"] and report.skipped == []
    assert store.conn.execute("SELECT year FROM documents WHERE id = 'other2012'").fetchone()[0] == 2012
