""".qdpx import rules that test_qdpx.py does not reach: refused arguments and malformed
projects (each named by file and element, nothing imported), who the coder is when a Coding
does not say, notes per coder, `implied_rejects=False`, selections that cover no passage,
and a source found by its file name's stem whose text a tool padded with blank lines."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from review_support import build_store, labels

from rppsearch.errors import LabelError
from rppsearch.qdpx import QDE_NAMESPACE
from rppsearch.qdpx_import import import_qdpx
from rppsearch.store import Store

USERS = '<User guid="U-DANA" name="Dana"/><User guid="U-ELI" name="Eli"/>'
CODES = '<Code guid="C-EVID" name="Evidence use" isCodable="true"/><Code guid="C-STEW" name="stewardship" isCodable="true"/>'


@pytest.fixture
def store(index_dir: Path):
    s = build_store(index_dir / "rpp.db")
    yield s
    s.close()


def stored_text(store: Store, doc_id: str) -> str:
    return store.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]


def coding(code: str = "C-EVID", user: str | None = "U-DANA", when: str | None = None) -> str:
    attrs = ' guid="K"' + (f' creatingUser="{user}"' if user else "") + (f' creationDateTime="{when}"' if when else "")
    ref = f'<CodeRef targetGUID="{code}"/>' if code else ""
    return f"<Coding{attrs}>{ref}</Coding>"


def selection(start: int | str, end: int | str, inner: str = "", *, user: str | None = None, guid: str = "S1", when: str | None = None) -> str:
    attrs = f' guid="{guid}" startPosition="{start}" endPosition="{end}"'
    attrs += (f' creatingUser="{user}"' if user else "") + (f' creationDateTime="{when}"' if when else "")
    return f"<PlainTextSelection{attrs}>{inner}</PlainTextSelection>"


def source(text: str | None, selections: str, *, name: str = "interview.txt", extra: str = "") -> str:
    content = f"<PlainTextContent>{escape(text)}</PlainTextContent>" if text is not None else ""
    return f'<TextSource guid="SRC" name={quoteattr(name)}{extra}>{content}{selections}</TextSource>'


def write(path: Path, sources: str, *, notes: str = "", project_user: str = "", qde: str | None = None) -> Path:
    owner = f' creatingUserGUID="{project_user}"' if project_user else ""
    xml = qde if qde is not None else (
        f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{QDE_NAMESPACE}" name="t"{owner}>'
        f"<Users>{USERS}</Users><CodeBook><Codes>{CODES}</Codes></CodeBook>"
        f"<Sources>{sources}</Sources>{f'<Notes>{notes}</Notes>' if notes else ''}</Project>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde" if qde != "" else "readme.txt", xml.encode("utf-8"))
    return path


def decisions(store: Store) -> set[tuple[str, str, str, str]]:
    return {(r["reviewer"], r["target_id"], r["dimension_id"], r["decision"]) for r in labels(store)}


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"min_overlap": 0}, r"^--min-overlap 0: give a fraction in \(0, 1\]$"),
        ({"min_overlap": 1.5}, r"^--min-overlap 1.5: give a fraction"),
        ({"positions": "utf16"}, r"^--positions 'utf16': use one of auto, normalized, raw$"),
    ],
)
def test_bad_options_are_refused_before_the_file_is_read(store: Store, tmp_path: Path, kwargs: dict, problem: str) -> None:
    with pytest.raises(LabelError, match=problem):
        import_qdpx(store, tmp_path / "absent.qdpx", **kwargs)


def test_a_store_without_a_codebook_says_to_build_first(tmp_path: Path) -> None:
    empty = Store.open(tmp_path / "rpp.db")
    with pytest.raises(LabelError, match="the store has no codebook yet") as info:
        import_qdpx(empty, tmp_path / "absent.qdpx")
    assert "rpp build" in (info.value.hint or "")
    empty.close()


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("absent", r"absent.qdpx: no such file$"),
        ("no-qde", r"bad.qdpx: no project.qde inside$"),
        ("not-xml", r"bad.qdpx:project.qde: not well-formed XML"),
        ("not-project", r"bad.qdpx:project.qde: the root element is Codes, not Project$"),
        ("no-text", r"bad.qdpx:TextSource\[guid=SRC\]: no text \(neither PlainTextContent nor a plainTextPath inside the file\)"),
        ("not-integers", r"bad.qdpx:PlainTextSelection\[guid=S1\]: startPosition/endPosition are not integers"),
        ("stray-code", r"bad.qdpx:Coding\[guid=K\]: CodeRef to C-NONE, not a code of the CodeBook"),
        ("no-coderef", r"bad.qdpx:Coding\[guid=K\]: CodeRef to nothing, not a code of the CodeBook"),
        ("no-coder", r"bad.qdpx:Coding\[guid=K\]: no coder \(creatingUser\) and no --reviewer given"),
    ],
)
def test_malformed_projects_name_the_file_and_element_and_import_nothing(store: Store, tmp_path: Path, case: str, problem: str) -> None:
    text = stored_text(store, "coaching")
    good = selection(0, 100, coding(), guid="S0")
    path = tmp_path / ("absent.qdpx" if case == "absent" else "bad.qdpx")
    if case == "no-qde":
        write(path, "", qde="")
    elif case == "not-xml":
        write(path, "", qde="<Project><Users></Project>")
    elif case == "not-project":
        write(path, "", qde=f'<Codes xmlns="{QDE_NAMESPACE}"/>')
    elif case == "no-text":
        write(path, source(None, good, extra=' plainTextPath="internal://SRC.txt"'))
    elif case == "not-integers":
        write(path, source(text, good + selection("ten", 100, coding())))
    elif case in ("stray-code", "no-coderef"):
        write(path, source(text, good + selection(0, 100, coding("C-NONE" if case == "stray-code" else ""))))
    elif case == "no-coder":
        write(path, source(text, good + selection(0, 100, coding(user=None))))
    with pytest.raises(LabelError, match=problem) as info:
        import_qdpx(store, path)
    assert "\n" not in info.value.message
    assert labels(store) == []


def test_every_problem_is_counted_in_the_one_line_message(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    path = write(tmp_path / "bad.qdpx", source(text, selection("x", 9) + selection(0, 10**6, coding(), guid="S2")
                                                + selection(0, 50, coding("C-NONE"), guid="S3")))
    with pytest.raises(LabelError, match=r"S1\]: startPosition/endPosition are not integers \(and 2 more problems\)$") as info:
        import_qdpx(store, path)
    assert "nothing was imported" in (info.value.hint or "")


def test_the_coder_falls_back_to_the_selection_then_the_project_then_the_reviewer_given(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    p1 = text.index("The district")
    sels = selection(0, 100, coding(user=None), user="U-ELI") + selection(p1, p1 + 100, coding(user=None), guid="S2")
    by_project = write(tmp_path / "a.qdpx", source(text, sels), project_user="U-DANA")
    fresh = build_store(tmp_path / "b" / "rpp.db")
    import_qdpx(fresh, by_project)
    accepted = {(who, pid) for who, pid, _dim, dec in decisions(fresh) if dec == "accept"}
    assert accepted == {("Eli", "coaching-p0000"), ("Dana", "coaching-p0001")}
    fresh.close()
    nobody = write(tmp_path / "c.qdpx", source(text, selection(0, 100, coding(user=None))))
    fresh = build_store(tmp_path / "c" / "rpp.db")
    report = import_qdpx(fresh, nobody, default_reviewer="kim")
    assert report.reviewers == ["kim"]
    assert decisions(fresh) == {("kim", "coaching-p0000", "evidence-use", "accept"),
                                ("kim", "coaching-p0000", "stewardship", "reject")}
    fresh.close()


def test_without_implied_rejects_only_the_codes_applied_are_imported(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    path = write(tmp_path / "p.qdpx", source(text, selection(0, 100, coding()) + selection(5, 90, "", user="U-ELI", guid="S2")))
    report = import_qdpx(store, path, implied_rejects=False)
    # Eli's selection with no coding ("no code applies") has nothing to say without implied rejects
    assert decisions(store) == {("Dana", "coaching-p0000", "evidence-use", "accept")}
    assert report.imported == 1 and report.selections == 2 and report.codings == 1


def test_a_selection_across_a_boundary_covering_neither_passage_enough_is_counted_not_imported(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    cut = text.index("\n\n")
    path = write(tmp_path / "p.qdpx", source(text, selection(cut - 3, cut + 5, coding())))
    report = import_qdpx(store, path)
    assert report.uncovered == 1 and report.imported == 0 and report.passages == 0
    assert labels(store) == []


def test_notes_go_with_their_own_coders_decisions(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    notes = ('<Note guid="N-DANA" creatingUser="U-DANA"><PlainTextContent>caseloads matter</PlainTextContent></Note>'
             '<Note guid="N-ELI" creatingUser="U-ELI"><PlainTextContent>  </PlainTextContent></Note>'
             '<Note guid="N-ALL"><PlainTextContent>shared memo</PlainTextContent></Note>')
    refs = '<NoteRef targetGUID="N-DANA"/><NoteRef targetGUID="N-ELI"/><NoteRef targetGUID="N-ALL"/>'
    sels = selection(0, 100, coding() + coding(user="U-ELI") + refs)
    import_qdpx(store, write(tmp_path / "p.qdpx", source(text, sels), notes=notes))
    by_coder = {r["reviewer"]: r["note"] for r in labels(store)}
    assert by_coder == {"Dana": "caseloads matter\nshared memo", "Eli": "shared memo"}


def test_a_source_named_after_the_stored_file_with_padded_text_and_its_times(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    padded = "\n\n" + text + "\n"
    p1 = text.index("The district")
    sels = (selection(2, 102, coding(when="2025-03-04T10:00:00Z"))
            + selection(p1 + 2, p1 + 102, coding(when="not a time"), when="2025-05-06T07:08:09Z", guid="S2"))
    report = import_qdpx(store, write(tmp_path / "p.qdpx", source(padded, sels, name="coaching.txt")))
    stamps = {(r["target_id"], r["dimension_id"], r["decision"]): r["created_at"] for r in labels(store)}
    assert set(stamps) == {(p, d, dec) for p in ("coaching-p0000", "coaching-p0001")
                           for d, dec in (("evidence-use", "accept"), ("stewardship", "reject"))}
    assert stamps[("coaching-p0000", "evidence-use", "accept")].startswith("2025-03-04T10:00:00")
    assert stamps[("coaching-p0001", "evidence-use", "accept")].startswith("2025-05-06T07:08:09")
    assert report.sources == 1 and report.passages == 2


def test_a_source_text_in_the_zip_under_sources_with_a_capital_s(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    path = write(tmp_path / "p.qdpx", source(None, selection(0, 100, coding()), extra=' plainTextPath="internal://SRC.txt"'))
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("Sources/SRC.txt", text.encode("utf-8"))
    import_qdpx(store, path)
    assert ("Dana", "coaching-p0000", "evidence-use", "accept") in decisions(store)


@pytest.mark.parametrize("key", ["stewardship", "STEWARDSHIP", "Stewardship", "c-stew"])
def test_a_code_mapped_to_nothing_is_ignored_however_the_map_spells_its_name_or_guid(store: Store, tmp_path: Path, key: str) -> None:
    # the map matches codes ignoring case (as it does when it maps them to a dimension), so a
    # null entry spelt differently from the project must ignore the code, not call it unknown
    text = stored_text(store, "coaching")
    path = write(tmp_path / "p.qdpx", source(text, selection(0, 100, coding("C-STEW")) + selection(0, 100, coding(), guid="S2")))
    code_map = tmp_path / "map.json"
    code_map.write_text(f'{{"{key}": null}}', encoding="utf-8")
    report = import_qdpx(store, path, code_map=code_map)
    assert decisions(store) == {("Dana", "coaching-p0000", "evidence-use", "accept")}
    assert report.codings == 2 and report.imported == 1


def test_a_code_mapped_to_an_unknown_dimension_is_one_problem_not_two(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    path = write(tmp_path / "p.qdpx", source(text, selection(0, 100, coding("C-STEW"))))
    code_map = tmp_path / "map.csv"
    code_map.write_text("code,dimension\nStewardship,budgeting\n", encoding="utf-8")
    with pytest.raises(LabelError, match=r"map.csv: code map: 'stewardship' -> unknown dimension 'budgeting' \(known: ") as info:
        import_qdpx(store, path, code_map=code_map)
    assert "more problems" not in info.value.message


@pytest.mark.parametrize("where", ["source", "note"])
def test_a_text_file_in_the_zip_that_is_not_utf8_is_a_problem_named_by_file_not_a_crash(
    store: Store, tmp_path: Path, where: str
) -> None:
    ref = ' plainTextPath="internal://SRC.txt"'
    if where == "source":
        path = write(tmp_path / "p.qdpx", source(None, selection(0, 100, coding()), extra=ref))
    else:
        text = stored_text(store, "coaching")
        path = write(tmp_path / "p.qdpx", source(text, selection(0, 100, coding())),
                     notes=f'<Note guid="N1" creatingUser="U-DANA"{ref}/>')
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("sources/SRC.txt", "Café notes saved as Latin-1".encode("latin-1"))
    with pytest.raises(LabelError, match=r"p\.qdpx:sources/SRC\.txt: not UTF-8 text"):
        import_qdpx(store, path)
    assert decisions(store) == set()
