"""Titles a reader accepts: different documents that share a title are told apart after
ingest (and again after an add, a removal or an edit); catalog, library and `rpp edit` titles
win; a page without a title is never named by its file slug; vectors follow the titles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rppsearch.config import Settings
from rppsearch.ingest.formats.titles import title_problem
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.ingest.titling import SEPARATOR, tell_apart
from rppsearch.store import Store

REPORT = "Central Office Transformation for District-Wide Teaching and Learning Improvement"


def _chapter_page(path: Path, first_paragraph: str, heading: str | None = None) -> Path:
    """A chapter page of a report captured as text, as the Wallace knowledge-center pages are:
    the report's title, a download link to the full report repeating it, then the chapter's
    text (with no chapter heading of its own, or with one)."""
    parts = [REPORT, "Click here to download the full report:\n " + REPORT]
    if heading:
        parts.append(heading)
    parts += [first_paragraph, "The central office leaders met principals every week to plan the work ahead "
              "and to look at evidence from classrooms together."]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def _rows(store: Store) -> dict[str, dict]:
    rows = store.conn.execute("SELECT id, title, metadata_sources, metadata FROM documents ORDER BY id")
    return {r["id"]: {"title": r["title"], "sources": json.loads(r["metadata_sources"]),
                      "extra": json.loads(r["metadata"])} for r in rows}


def _passage_titles(store: Store, doc_id: str) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT title FROM passages WHERE document_id = ?", (doc_id,))}


def _ingested_title(store: Store, tmp_path: Path, text: str, *, name: str = "page.txt") -> str:
    """The title ingest gives a corpus of one file `name` holding `text`."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(text, encoding="utf-8")
    ingest_paths(store, [corpus])
    (title,) = [r[0] for r in store.conn.execute("SELECT title FROM documents")]
    return title


@pytest.fixture
def chapters(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    _chapter_page(corpus / "ch1.txt", "In a southern school district, the superintendent declared the central office "
                  "broken when it came to supporting teaching and learning.")
    _chapter_page(corpus / "ch2.txt", "All three central offices organized their strategies around new relationships "
                  "between principals and central office administrators.")
    _chapter_page(corpus / "tips.txt", "This report includes a set of recommendations for central office leaders.",
                  heading="Implementation Tips")
    return corpus


def test_pages_sharing_a_report_title_are_told_apart_by_heading_or_opening_words(store: Store, chapters: Path) -> None:
    report = ingest_paths(store, [chapters])
    rows = _rows(store)
    titles = {doc_id: row["title"] for doc_id, row in rows.items()}
    assert len(set(titles.values())) == 3, titles
    assert titles["corpus-tips"] == f"{REPORT}{SEPARATOR}Implementation Tips"
    assert titles["corpus-ch1"].startswith(f"{REPORT}{SEPARATOR}“In a southern school district")
    assert titles["corpus-ch2"].startswith(f"{REPORT}{SEPARATOR}“All three central offices")
    for doc_id, row in rows.items():
        assert title_problem(row["title"]) is None
        assert "download" not in row["title"].lower()
        assert row["sources"]["title"] == "inferred"
        shared = row["extra"]["shared_title"]
        assert (shared["title"], shared["source"], shared["documents"]) == (REPORT, "document", 3)
        assert _passage_titles(store, doc_id) == {row["title"]}  # FTS and vectors see the same title
    said = [line for _, line in report.warnings if "share the title" in line]
    assert len(said) == 3 and all(f"3 documents share the title “{REPORT}”" in line for line in said)


def test_told_apart_again_when_a_sharer_is_added_and_back_when_it_is_gone(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _chapter_page(corpus / "ch1.txt", "In a southern school district, the superintendent declared the central office "
                  "broken when it came to supporting teaching and learning.")
    ingest_paths(store, [corpus])
    assert _rows(store)["corpus-ch1"]["title"] == REPORT  # alone: its own title, nothing added
    assert _rows(store)["corpus-ch1"]["sources"]["title"] == "document"

    _chapter_page(corpus / "ch2.txt", "All three central offices organized their strategies around new relationships "
                  "between principals and central office administrators.")
    ingest_paths(store, [corpus])
    rows = _rows(store)
    assert rows["corpus-ch1"]["title"].startswith(REPORT + SEPARATOR)
    assert rows["corpus-ch2"]["title"].startswith(REPORT + SEPARATOR)

    (corpus / "ch2.txt").unlink()
    report = ingest_paths(store, [corpus], prune=True)
    rows = _rows(store)
    assert list(rows) == ["corpus-ch1"]
    assert rows["corpus-ch1"]["title"] == REPORT
    assert rows["corpus-ch1"]["sources"]["title"] == "document"
    assert "shared_title" not in rows["corpus-ch1"]["extra"]
    assert _passage_titles(store, "corpus-ch1") == {REPORT}
    assert any("no longer shares its title" in line for _, line in report.warnings)


def test_an_edit_after_a_changed_sharer_is_left_alone_does_not_retitle_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rppsearch.ingest import titling
    from rppsearch.manage import edit_document

    corpus = tmp_path / "corpus"
    opening = "In a southern school district, the superintendent declared the central office broken."
    _chapter_page(corpus / "ch1.txt", opening)
    _chapter_page(corpus / "ch2.txt", "All three central offices organized their strategies around new relationships.")
    ingest_paths(store, [corpus])
    _chapter_page(corpus / "ch1.txt", opening + " It was rebuilt.")  # re-read while told apart
    ingest_paths(store, [corpus])
    own = json.loads(store.conn.execute("SELECT document_metadata FROM documents WHERE id = 'corpus-ch1'").fetchone()[0])
    assert own["document"]["title"] == REPORT  # its own layer keeps the text's title, not the told-apart one
    (corpus / "ch2.txt").unlink()
    ingest_paths(store, [corpus], prune=True)

    retitled: list = []
    step = titling.tell_apart_shared_titles
    monkeypatch.setattr(titling, "tell_apart_shared_titles", lambda s: retitled.extend(step(s)) or retitled)
    edit_document(store, doc_id="corpus-ch1", edits={"doc_type": "report"})
    assert retitled == []  # (an old told-apart title came back from the own layer, then was taken away again)
    assert _rows(store)["corpus-ch1"]["title"] == REPORT


def test_rpp_remove_gives_the_one_left_its_title_back(tmp_path: Path, chapters: Path) -> None:
    from rppsearch.manage import remove_document

    (chapters / "tips.txt").unlink()
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    settings.index_dir.mkdir()
    with Store.open(settings.db_path) as store:
        ingest_paths(store, [chapters])
        remove_document(store, settings, doc_id="corpus-ch2")
        assert _rows(store)["corpus-ch1"]["title"] == REPORT


def test_a_catalog_title_that_goes_away_leaves_no_copy_of_the_texts_title_as_its_part(
    store: Store, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    opening = " districts work with universities to train principals and support them in their first years."
    (corpus / "a.md").write_text("# Partnerships\n\n## Recent work\n\nAlpha" + opening + "\n", encoding="utf-8")
    (corpus / "b.md").write_text("# Partnerships\n\n## Older work\n\nBeta" + opening + "\n", encoding="utf-8")
    (corpus / "catalog.csv").write_text("path,title\na.md,University partners\n", encoding="utf-8")
    ingest_paths(store, [corpus])
    assert _rows(store)["corpus-a"]["title"] == "University partners"
    (corpus / "catalog.csv").write_text("path,title\na.md,\n", encoding="utf-8")
    ingest_paths(store, [corpus])  # (re-resolved from the stored own layer, not re-read)
    rows = _rows(store)
    assert rows["corpus-a"]["title"] == f"Partnerships{SEPARATOR}Recent work"  # not "Partnerships — Partnerships"
    assert rows["corpus-b"]["title"] == f"Partnerships{SEPARATOR}Older work"


def test_catalog_and_edit_titles_win_and_are_never_added_to(store: Store, chapters: Path) -> None:
    from rppsearch.manage import edit_document

    (chapters / "catalog.csv").write_text(f"path,title\nch1.txt,{REPORT}\n", encoding="utf-8")
    ingest_paths(store, [chapters])
    rows = _rows(store)
    assert rows["corpus-ch1"]["title"] == REPORT  # the catalog's title, as written
    assert rows["corpus-ch1"]["sources"]["title"] == "catalog"
    assert "shared_title" not in rows["corpus-ch1"]["extra"]
    assert rows["corpus-ch2"]["title"].startswith(REPORT + SEPARATOR)  # the others are told apart from it

    edit_document(store, doc_id="corpus-ch2", edits={"title": REPORT})
    rows = _rows(store)
    assert rows["corpus-ch2"]["title"] == REPORT and rows["corpus-ch2"]["sources"]["title"] == "user"
    assert rows["corpus-tips"]["title"] == f"{REPORT}{SEPARATOR}Implementation Tips"
    assert _passage_titles(store, "corpus-ch2") == {REPORT}

    edit_document(store, doc_id="corpus-tips", edits={"title": "Tips for central office leaders"})
    ingest_paths(store, [chapters])  # a re-ingest keeps every one of them
    rows = _rows(store)
    assert rows["corpus-tips"]["title"] == "Tips for central office leaders"
    assert rows["corpus-ch1"]["title"] == rows["corpus-ch2"]["title"] == REPORT


def test_the_same_text_twice_keeps_the_shared_title_and_says_so() -> None:
    rows = [{"id": i, "title": "Partnerships", "source": "document", "distinctions": ["“DL2 partners with leaders…”"]}
            for i in ("a", "b")]
    out = tell_apart(rows)
    assert out["a"]["title"] == out["b"]["title"] == "Partnerships"
    assert "texts open alike" in out["a"]["shared"]["warning"]


def test_a_first_heading_two_pages_share_is_passed_over_for_one_that_differs() -> None:
    rows = [
        {"id": "a", "title": "Partnerships", "source": "document", "distinctions": ["Recent partnerships", "“A…”"]},
        {"id": "b", "title": "partnerships", "source": "inferred", "distinctions": ["Recent partnerships", "“B…”"]},
        {"id": "c", "title": "Partnerships", "source": "library", "distinctions": ["Recent partnerships"]},
    ]
    out = tell_apart(rows)
    assert out["a"]["title"] == "Partnerships — “A…”" and out["b"]["title"] == "partnerships — “B…”"
    assert out["c"] == {"title": "Partnerships", "source": "library", "shared": None}


def test_an_excerpt_of_hard_wrapped_lines_is_named_by_a_sentence_not_its_file_slug(store: Store, tmp_path: Path) -> None:
    # a PDF excerpt copied as text: it starts mid-sentence, a bullet on its own line, a page number
    title = _ingested_title(
        store, tmp_path,
        "central office silos; and\n•\nPerformance-oriented leadership on the part of the\n"
        "superintendent and others throughout the central\noffice. Such leadership involves leaders\n"
        "continuously teaching staff how to change.\n14\n- 4 -\n\n"
        "Importantly, our conclusions dig beneath research\nfindings that are common in other studies to\n"
        "reveal the work practices and capacity of staff.\n",
        name="21_coursehero_honig_aei_2013_excerpt.txt",
    )
    assert title.startswith("Importantly, our conclusions dig beneath research findings")
    assert "coursehero" not in title and "21" not in title
    assert title_problem(title) is None


def test_a_heading_above_the_dateline_is_the_title_not_the_sites_section_label(store: Store, tmp_path: Path) -> None:
    title = _ingested_title(
        store, tmp_path,
        "Foundations for Education Excellence. Helping foundations leverage public funds.\nFoundation Center\n\n"
        "Knowledge From the Field\n\nLeading Districts Through Change\n\nPublished: April 2010\n\n"
        "Publisher(s): Wallace Foundation\n\nThis report summarizes results from a national study of how "
        "central offices support schools.\n",
    )
    assert title == "Leading Districts Through Change"


def test_a_section_heading_far_down_a_page_is_not_its_title(store: Store, tmp_path: Path) -> None:
    sentences = [f"Story {n} tells how a district leader in city number {n} changed the way schools were supported "
                 "over several years of steady work." for n in range(8)]
    title = _ingested_title(store, tmp_path, "\n".join(sentences) + "\nAdvancing Equitable Access\n"
                            "Dallas reenvisioned school support for its lowest performing schools.\n")
    assert title.startswith("Story 0 tells how a district leader")


def test_vectors_of_retitled_passages_are_re_encoded_with_the_new_title_and_only_those(tmp_path: Path, chapters: Path) -> None:
    from rppsearch.build import build
    from rppsearch.embed import get_encoder
    from rppsearch.index.vectors import embedding_text
    from rppsearch.progress import no_progress
    from rppsearch.store.documents import encoded_title

    (chapters / "ch2.txt").rename(tmp_path / "ch2.txt")
    (chapters / "tips.txt").write_text("Tips for leaders\n\nPrincipal supervisors visit classrooms with principals "
                                       "every week and talk about what they saw.\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[chapters], progress=no_progress)
    with Store.open(settings.db_path) as store:
        before = dict(store.conn.execute("SELECT passage_pk, vector FROM passage_vectors").fetchall())
    (tmp_path / "ch2.txt").rename(chapters / "ch2.txt")
    result = build(settings, paths=[chapters], progress=no_progress)
    with Store.open(settings.db_path) as store:
        rows = store.conn.execute(
            "SELECT p.pk, p.document_id, p.title, json_extract(d.metadata_sources, '$.title') AS source, "
            "p.heading, p.text, v.vector FROM passages p JOIN documents d ON d.id = p.document_id "
            "JOIN passage_vectors v ON v.passage_pk = p.pk AND v.text_hash = p.text_hash"
        ).fetchall()
        assert len(rows) == store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    encoder = get_encoder("fake")
    fresh = encoder.encode([embedding_text(encoded_title(r["title"], r["source"]), r["heading"], r["text"]) for r in rows])
    for row, vector in zip(rows, fresh):
        assert np.allclose(np.frombuffer(row["vector"], dtype="<f4"), vector, atol=1e-5), row["document_id"]
    # ch1 was retitled (it now shares its title with ch2) and re-encoded; the other kept its title and vectors
    tips = [r for r in rows if r["document_id"] == "corpus-tips"]
    assert tips and all(before.get(r["pk"]) == r["vector"] for r in tips)
    assert result.stages["encode"]["encoded"] == sum(1 for r in rows if r["document_id"] != "corpus-tips")


def test_tab_labels_run_into_the_opening_sentence_are_left_out_of_its_title() -> None:
    from rppsearch.ingest.formats.titles import lead_title

    page = ("Common Challenge Our Approach Our Results In 2014, the Empowerment Zone was created to turn around "
            "nine middle schools. Principals were given autonomy.")
    assert lead_title([page]) == "In 2014, the Empowerment Zone was created to turn around nine middle schools"
    sentence = "New York City Public Schools In 2014 launched a plan for its principals."
    assert lead_title([sentence]) == "New York City Public Schools In 2014 launched a plan for its principals"


def test_records_of_a_jsonl_data_set_keep_their_titles_as_given(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "beir"
    corpus.mkdir()
    records = [{"_id": str(n), "title": "Principal supervision", "text": f"Study {n} followed principal supervisors "
                "through a school year and recorded how they spent their days."} for n in range(2)]
    (corpus / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    ingest_paths(store, [corpus])
    assert {row["title"] for row in _rows(store).values()} == {"Principal supervision"}


def test_rpp_edit_and_remove_leave_a_built_store_healthy(tmp_path: Path, chapters: Path) -> None:
    """A title change re-encodes the passages in place (same pks, new vectors): the vectors
    index must not keep their old rows, and `rpp doctor` finds nothing to repair."""
    from rppsearch.build import build
    from rppsearch.doctor import run_doctor
    from rppsearch.manage import edit_document, remove_document
    from rppsearch.progress import no_progress

    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[chapters], progress=no_progress)
    with Store.open(settings.db_path) as store:
        edit_document(store, doc_id="corpus-ch1", edits={"title": "Chapter one"}, settings=settings)
        remove_document(store, settings, doc_id="corpus-ch2")  # tips is alone now: its title back
        assert _rows(store)["corpus-tips"]["title"] == REPORT
    report = run_doctor(settings=settings, sample=50)
    assert report.ok, report.rows()


def test_a_metadata_change_to_a_told_apart_document_re_encodes_nothing(tmp_path: Path, chapters: Path) -> None:
    from rppsearch.build import build
    from rppsearch.progress import no_progress

    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[chapters], progress=no_progress)
    with Store.open(settings.db_path) as store:
        before = store.conn.execute("SELECT passage_pk, vector FROM passage_vectors ORDER BY passage_pk").fetchall()
        titles = {doc_id: row["title"] for doc_id, row in _rows(store).items()}
    (chapters / "catalog.csv").write_text("path,organization\nch1.txt,Wallace Foundation\n", encoding="utf-8")
    result = build(settings, paths=[chapters], progress=no_progress)
    assert result.ingest.updated == ["corpus-ch1"]
    assert result.stages["encode"]["encoded"] == 0
    with Store.open(settings.db_path) as store:
        after = store.conn.execute("SELECT passage_pk, vector FROM passage_vectors ORDER BY passage_pk").fetchall()
        assert {doc_id: row["title"] for doc_id, row in _rows(store).items()} == titles
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


@pytest.mark.parametrize(("text", "title"), [
    ("Operations\n\nBecoming a strategic support\n\nThe research shows that operational units support teaching "
     "and learning when they serve schools well.\n", "Operations: Becoming a strategic support"),
    ("Leading for Equity\n\n21CSLA Equity Statement\n\nLeaders for equity transform education to improve access "
     "and opportunity for students.\n", "Leading for Equity"),  # a Title Case section heading is no subtitle
    ("Developing Educational Leaders\n\nTwo educators having a discussion outside of a school.\n\nCalifornia has a "
     "notable history of investing in educational leaders.\n", "Developing Educational Leaders"),  # a caption
    ("Central Office Transformation Overview\n\nWhat do central offices do when they support equitable teaching?\n\n"
     "At DL2, we have studied and partnered with school district leaders.\n", "Central Office Transformation Overview"),
])
def test_a_subtitle_line_is_joined_to_a_short_title(store: Store, tmp_path: Path, text: str, title: str) -> None:
    assert _ingested_title(store, tmp_path, text) == title


def test_telling_apart_a_title_thousands_of_documents_share_takes_linear_time() -> None:
    """The corpus step runs after every `rpp add`: a title shared by many documents (a site's
    generic page title) must not cost time growing with the square of their number."""
    import time

    n = 12_000
    rows = [{"id": f"d{i}", "title": "Home", "source": "document",
             "distinctions": [f"Section {i % 40}", f"“Opening words of page number {i}…”"]} for i in range(n)]
    start = time.perf_counter()
    decided = tell_apart(rows)
    assert time.perf_counter() - start < 5.0
    assert decided["d7"]["title"] == "Home — “Opening words of page number 7…”"  # the section heads are shared
    assert len({d["title"] for d in decided.values()}) == n


def test_an_edit_another_process_commits_while_titles_are_told_apart_is_not_lost(
    store: Store, chapters: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The corpus step reads who shares a title, then writes: another process's `rpp edit`
    committed between the two must not be overwritten by the step's stale decision (it either
    waits for the step, or the step sees it)."""
    import sqlite3

    from rppsearch.ingest import titling
    from rppsearch.store import documents as docstore

    ingest_paths(store, [chapters])
    told_apart = _rows(store)["corpus-ch1"]["title"]
    assert told_apart.startswith(REPORT + SEPARATOR)
    # ch1 and ch2 will share the title again (their told-apart part is forgotten), so the step rewrites both
    store.conn.execute("UPDATE documents SET title = ?, metadata = '{}' WHERE id IN ('corpus-ch1', 'corpus-ch2')", (REPORT,))
    store.conn.commit()
    details, path = docstore.title_details, store.conn.execute("PRAGMA database_list").fetchone()[2]
    edited: list[bool] = []

    def details_while_another_process_edits(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        other = sqlite3.connect(path, timeout=0.2)
        try:
            other.execute("UPDATE documents SET title = 'Chapter one, as the user named it', "
                          "metadata_sources = json_set(metadata_sources, '$.title', 'user') WHERE id = 'corpus-ch1'")
            other.commit()
            edited.append(True)
        except sqlite3.OperationalError:  # locked: the step holds the write lock while it decides
            edited.append(False)
        finally:
            other.close()
        return details(*args, **kwargs)

    monkeypatch.setattr(docstore, "title_details", details_while_another_process_edits)
    titling.tell_apart_shared_titles(store)
    title = _rows(store)["corpus-ch1"]["title"]
    if edited[0]:
        assert title == "Chapter one, as the user named it"
    else:
        assert title.startswith(REPORT + SEPARATOR)
