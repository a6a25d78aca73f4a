"""REFI-QDA projects (.qdpx) out and back in: schema-valid export, positions in code points,
round trip into a fresh store, a project written the way another QDA tool writes one, and
files refused whole with `FILE:Element[guid=…]` errors."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from review_support import build_store, labels, make_document, passage_dims

from rppsearch.errors import LabelError
from rppsearch.qdpx import QDE_NAMESPACE, source_guid, write_qdpx
from rppsearch.qdpx_import import import_qdpx
from rppsearch.review import decide
from rppsearch.store import Store
from rppsearch.store import documents as docstore
from rppsearch.store import labels as labelstore
from rppsearch.store import label_queries, label_rows

RPP = str(Path(sys.executable).with_name("rpp"))
Q = f"{{{QDE_NAMESPACE}}}"
DIMS = ["learning-partnerships", "partnership-assistance", "unit-reorganization", "stewardship", "evidence-use"]


@pytest.fixture
def store(index_dir: Path):
    s = build_store(index_dir / "rpp.db")
    yield s
    s.close()


def finish(store: Store, pid: str, reviewer: str, accepted: list[str], note: str | None = None) -> None:
    """What `rpp review`'s `a` writes: the accepted dimensions, and a reject for every other."""
    decisions = [(d, "accept" if d in accepted else "reject") for d in DIMS]
    decide(store, target=labelstore.resolve_target(store, pid), decisions=decisions, reviewer=reviewer, note=note)


def in_force(store: Store) -> dict[tuple[str, str, str], str]:
    """Each reviewer's latest decision per passage and dimension."""
    return {(l.reviewer, l.target_id, l.dimension_id): l.decision for l in label_queries.latest_by_reviewer(store)}


def read_project(path: Path) -> tuple[ET.Element, zipfile.ZipFile]:
    zf = zipfile.ZipFile(path)
    return ET.fromstring(zf.read("project.qde")), zf


def test_export_validates_against_the_refi_qda_schema(store: Store, tmp_path: Path, shared_dir: Path) -> None:
    lxml = pytest.importorskip("lxml.etree")
    finish(store, "coaching-p0000", "ana", ["learning-partnerships"], note="principal & supervisor <together>")
    finish(store, "coaching-p0000", "ben", [])
    finish(store, "data-cycles-p0000", "ben", ["evidence-use", "stewardship"])
    out = tmp_path / "project.qdpx"
    report = write_qdpx(store, out, include_model=True)
    root, zf = read_project(out)
    schema = lxml.XMLSchema(lxml.parse(str(shared_dir / "refi-qda" / "Project.xsd")))
    doc = lxml.fromstring(zf.read("project.qde"))
    assert schema.validate(doc), schema.error_log.last_error
    users = {u.get("name") for u in root.iter(Q + "User")}
    assert users == {"ana", "ben", "rppsearch model v1"}
    assert [c.get("name") for c in root.iter(Q + "Code")] == [d["name"] for d in labelstore.codebook(store)]
    assert all(c.find(Q + "Description").text.startswith(d) for c, d in zip(root.iter(Q + "Code"), DIMS))
    assert report.sources == 3 and report.notes == 1  # hr-redesign has only the model's coding
    note = next(root.iter(Q + "Note"))
    assert note.find(Q + "PlainTextContent").text == "principal & supervisor <together>"
    # every source's text is a file in the zip, referred to as internal://
    for src in root.iter(Q + "TextSource"):
        assert src.get("plainTextPath") == f"internal://{src.get('guid')}.txt"
        assert f"sources/{src.get('guid')}.txt" in zf.namelist()


def test_positions_count_code_points_with_newlines_normalised(index_dir: Path, tmp_path: Path) -> None:
    store = build_store(index_dir / "rpp.db")
    # accents and a character outside the BMP (two UTF-16 units, four UTF-8 bytes) before the passage
    paragraphs = ["Café naïve résumé 🎓 — the district's “learning partnership” began with eleven principals meeting weekly.",
                  "Supervisors visited each school every week and reviewed the data with principals together."]
    with store.transaction():
        docstore.replace_document(store, make_document("unicode", "Unicode", paragraphs))
    pid = "unicode-p0001"
    finish(store, pid, "ana", ["evidence-use"])
    out = tmp_path / "p.qdpx"
    write_qdpx(store, out)
    root, zf = read_project(out)
    src = next(s for s in root.iter(Q + "TextSource") if s.get("guid") == source_guid("unicode"))
    text = zf.read(f"sources/{src.get('guid')}.txt").decode("utf-8")
    sel = next(s for s in src.iter(Q + "PlainTextSelection") if s.get("name") == pid)
    start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
    passage = store.conn.execute("SELECT text FROM passages WHERE id = ?", (pid,)).fetchone()[0]
    assert text[start:end] == passage  # code points: Python str indices
    utf16_start = len(text[:start].encode("utf-16-le")) // 2
    assert utf16_start == start + 1  # the emoji counts once here, twice in UTF-16
    assert "\r" not in text
    store.close()


def test_export_then_import_into_a_fresh_store_gives_the_same_decisions(store: Store, tmp_path: Path) -> None:
    finish(store, "coaching-p0000", "ana", ["learning-partnerships", "stewardship"], note="caseloads come up too")
    finish(store, "coaching-p0001", "ana", ["partnership-assistance"])
    finish(store, "coaching-p0000", "ben", [])  # nothing applies: only rejects
    finish(store, "hr-redesign-p0000", "ben", ["unit-reorganization"])
    out = tmp_path / "round.qdpx"
    write_qdpx(store, out)
    fresh = build_store(tmp_path / "fresh" / "rpp.db")
    report = import_qdpx(fresh, out)
    assert in_force(fresh) == in_force(store)
    assert report.reviewers == ["ana", "ben"] and report.imported == 4 * 5
    assert passage_dims(fresh, "coaching-p0000") == passage_dims(store, "coaching-p0000")
    notes = {(r["reviewer"], r["target_id"], r["note"]) for r in labels(fresh) if r["note"]}
    assert notes == {("ana", "coaching-p0000", "caseloads come up too")}
    # imported decisions are training examples and agreement inputs like any other
    assert sorted(label_rows.training_examples(fresh)) == sorted(label_rows.training_examples(store))
    again = import_qdpx(fresh, out)
    assert again.imported == 0 and again.duplicates == 20
    fresh.close()


def test_model_suggestions_are_exported_only_when_asked_and_never_imported_as_people(store: Store, tmp_path: Path) -> None:
    finish(store, "coaching-p0000", "ana", ["learning-partnerships"])
    plain, with_model = tmp_path / "a.qdpx", tmp_path / "b.qdpx"
    write_qdpx(store, plain)
    write_qdpx(store, with_model, include_model=True)
    assert "rppsearch model" not in read_project(plain)[1].read("project.qde").decode()
    root, _ = read_project(with_model)
    model_guid = next(u.get("guid") for u in root.iter(Q + "User") if u.get("name") == "rppsearch model v1")
    model_codes = [c for c in root.iter(Q + "Coding") if c.get("creatingUser") == model_guid]
    assert len(model_codes) >= 4  # every passage the model tagged, e.g. unit-reorganization on hr-redesign
    fresh = build_store(tmp_path / "fresh" / "rpp.db")
    report = import_qdpx(fresh, with_model)
    assert report.reviewers == ["ana"] and report.model_codings == len(model_codes)
    fresh.close()


# -- a project as another tool writes it ---------------------------------------------------
def foreign_project(
    path: Path,
    text: str,
    selections: list[tuple[int, int, list[str], str]],
    *,
    codes: tuple[str, ...] = ("Evidence use", "LEARNING partnerships", "Budget"),
    source_name: str = "interview.txt",
    inline: bool = False,
) -> dict[str, str]:
    """A .qdpx with fresh GUIDs (lower case, in braces), CRLF text in sources/, users by GUID."""
    g = lambda: "{" + str(uuid.uuid4()) + "}"  # noqa: E731
    users = {"Dana": g(), "Eli": g()}
    code_guids = {name: g() for name in codes}
    ET.register_namespace("", QDE_NAMESPACE)
    root = ET.Element(Q + "Project", {"name": "fieldwork", "origin": "OtherQDA 3.1"})
    us = ET.SubElement(root, Q + "Users")
    for name, guid in users.items():
        ET.SubElement(us, Q + "User", {"guid": guid, "name": name})
    cs = ET.SubElement(ET.SubElement(root, Q + "CodeBook"), Q + "Codes")
    parent = ET.SubElement(cs, Q + "Code", {"guid": g(), "name": "Themes", "isCodable": "false"})
    for name, guid in code_guids.items():
        ET.SubElement(parent, Q + "Code", {"guid": guid, "name": name, "isCodable": "true"})  # nested codes
    srcs = ET.SubElement(root, Q + "Sources")
    sguid = g()
    attrs = {"guid": sguid, "name": source_name}
    if not inline:
        attrs["plainTextPath"] = f"internal://{sguid}.txt"
    src = ET.SubElement(srcs, Q + "TextSource", attrs)
    if inline:
        ET.SubElement(src, Q + "PlainTextContent").text = text
    for start, end, names, user in selections:
        sel = ET.SubElement(src, Q + "PlainTextSelection", {"guid": g(), "startPosition": str(start), "endPosition": str(end),
                                                            "creatingUser": users[user]})
        for name in names:
            coding = ET.SubElement(sel, Q + "Coding", {"guid": g(), "creatingUser": users[user],
                                                       "creationDateTime": "2025-03-04T10:00:00Z"})
            ET.SubElement(coding, Q + "CodeRef", {"targetGUID": code_guids[name]})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", ET.tostring(root, encoding="utf-8", xml_declaration=True))
        if not inline:
            zf.writestr(f"sources/{sguid}.txt", text.encode("utf-8"))
    return {"source": sguid, **code_guids}


def stored_text(store: Store, doc_id: str) -> str:
    return store.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]


def test_a_project_from_another_tool_imports_with_the_expected_labels(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")  # two passages split by a blank line
    crlf = text.replace("\n", "\r\n")
    p0_end = text.index("\n\n")
    second = text.index("The district")
    # positions counted on the CRLF text as the tool has it (a CRLF counts two): raw
    raw = lambda i: i + text[:i].count("\n")  # noqa: E731
    path = tmp_path / "other.qdpx"
    foreign_project(path, crlf, [
        # Dana: one sentence inside the first passage -> codes that passage only
        (raw(10), raw(70), ["LEARNING partnerships"], "Dana"),
        # Eli: from late in passage one across the boundary into most of passage two -> passage two only
        (raw(p0_end - 20), raw(len(text) - 5), ["Evidence use"], "Eli"),
    ], source_name="Coaching principals in Riverbend")
    report = import_qdpx(store, path)
    decisions = in_force(store)
    assert decisions[("Dana", "coaching-p0000", "learning-partnerships")] == "accept"
    assert decisions[("Dana", "coaching-p0000", "evidence-use")] == "reject"  # a code of the project she did not apply
    assert ("Dana", "coaching-p0001", "learning-partnerships") not in decisions
    assert decisions[("Eli", "coaching-p0001", "evidence-use")] == "accept"
    assert ("Eli", "coaching-p0000", "evidence-use") not in decisions  # 20 characters of it: not enough
    assert ("Dana", "coaching-p0000", "stewardship") not in decisions  # not a code of their project
    assert report.reviewers == ["Dana", "Eli"] and report.passages == 2 and second > p0_end
    assert "evidence-use" in passage_dims(store, "coaching-p0001")


def test_a_lower_min_overlap_codes_the_passage_a_selection_only_touches(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    cut = text.index("\n\n")
    path = tmp_path / "other.qdpx"
    foreign_project(path, text, [(cut - 60, len(text), ["Evidence use"], "Eli")], inline=True)
    import_qdpx(store, path, min_overlap=0.3)  # 60 of ~170 characters of passage one = 35%
    decisions = in_force(store)
    assert decisions[("Eli", "coaching-p0000", "evidence-use")] == "accept"
    assert decisions[("Eli", "coaching-p0001", "evidence-use")] == "accept"


def test_an_unknown_code_fails_the_whole_file_naming_the_coding(store: Store, tmp_path: Path) -> None:
    text = stored_text(store, "coaching")
    path = tmp_path / "x.qdpx"
    foreign_project(path, text, [(0, 100, ["Evidence use"], "Dana"), (120, 200, ["Budget"], "Eli")], inline=True)
    with pytest.raises(LabelError) as info:
        import_qdpx(store, path)
    assert info.value.message.startswith(f'{path}:Coding[guid=') and 'unknown code "Budget"' in info.value.message
    assert labels(store) == []  # all or nothing: Dana's good coding was not imported either
    # a code map names it (a mapping to null ignores a code)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"budget": "stewardship"}), encoding="utf-8")
    import_qdpx(store, path, code_map=mapping)
    assert in_force(store)[("Eli", "coaching-p0000", "stewardship")] == "accept"
    mapping.write_text("code,dimension\nBudget,\n", encoding="utf-8")
    mapping = mapping.rename(tmp_path / "map.csv")
    fresh = build_store(tmp_path / "fresh" / "rpp.db")
    import_qdpx(fresh, path, code_map=mapping)
    assert {k[0] for k in in_force(fresh)} == {"Dana"}
    fresh.close()


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("range", "positions 5-99999 out of range"),
        ("source", "matches no stored document"),
        ("changed", "differs from stored document 'coaching'"),
        ("mapdim", "unknown dimension 'budgeting'"),
    ],
)
def test_bad_projects_are_refused_whole(store: Store, tmp_path: Path, case: str, problem: str) -> None:
    text = stored_text(store, "coaching")
    path = tmp_path / "bad.qdpx"
    code_map = None
    if case == "range":
        foreign_project(path, text, [(0, 50, ["Evidence use"], "Dana"), (5, 99999, ["Evidence use"], "Dana")], inline=True)
    elif case == "source":
        foreign_project(path, "Some interview nobody stored.", [(0, 10, ["Evidence use"], "Dana")], source_name="x.txt", inline=True)
    elif case == "changed":
        foreign_project(path, text.replace("three mornings", "two afternoons"), [(0, 10, ["Evidence use"], "Dana")],
                        source_name="coaching", inline=True)
    else:
        foreign_project(path, text, [(0, 50, ["Evidence use"], "Dana")], inline=True)
        code_map = tmp_path / "map.json"
        code_map.write_text(json.dumps({"Budget": "budgeting"}), encoding="utf-8")
    with pytest.raises(LabelError, match=problem) as info:
        import_qdpx(store, path, code_map=code_map)
    assert str(path) in info.value.message or str(code_map) in info.value.message
    assert labels(store) == []


def test_not_a_qdpx_is_a_one_line_error(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "notes.qdpx"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(LabelError, match=r"notes.qdpx: not a \.qdpx \(zip\) file"):
        import_qdpx(store, path)


def test_cli_exports_and_imports_a_project(store: Store, index_dir: Path, tmp_path: Path) -> None:
    finish(store, "coaching-p0000", "ana", ["learning-partnerships"])
    store.close()
    out = tmp_path / "cli.qdpx"
    run = subprocess.run([RPP, "labels", "export", "--format", "qdpx", "-o", str(out), "--index-dir", str(index_dir)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "wrote 1 sources, 1 coded passages, 1 codings by 1 users" in run.stderr + run.stdout
    fresh_dir = tmp_path / "fresh"
    build_store(fresh_dir / "rpp.db").close()
    run = subprocess.run([RPP, "labels", "import", str(out), "--index-dir", str(fresh_dir)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "imported 5 decisions on 1 passages by ana" in run.stderr + run.stdout
    bad = subprocess.run([RPP, "labels", "export", "--format", "qdpx", "--index-dir", str(index_dir)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: --format qdpx writes a zip file")


@pytest.mark.parametrize("mode", ["raw", "auto", "normalized"])
def test_crlf_positions_counted_raw_or_normalised(index_dir: Path, tmp_path: Path, mode: str) -> None:
    store = build_store(index_dir / "rpp.db")
    paragraphs = [f"Line {i}: the central office team met principal number {i} about instruction." for i in range(30)]
    with store.transaction():
        docstore.replace_document(store, make_document("lines", "Thirty lines", paragraphs))
    text = stored_text(store, "lines")
    crlf = text.replace("\n", "\r\n")
    rows = store.conn.execute('SELECT id, start, "end" FROM passages WHERE document_id = ? ORDER BY seq', ("lines",)).fetchall()
    assert len(rows) == 30
    raw = lambda i: i + text[:i].count("\n")  # noqa: E731  (the tool counts CRLF as two)
    pid, start, end = rows[25]
    last = rows[-1]
    path = tmp_path / "crlf.qdpx"
    foreign_project(path, crlf, [(raw(start), raw(end), ["Evidence use"], "Dana"),
                                 (raw(last[1]), raw(last[2]), ["Evidence use"], "Eli")], source_name="lines")
    if mode == "normalized":  # read as CRLF = 1, the last raw selection ends past the text
        with pytest.raises(LabelError, match="out of range"):
            import_qdpx(store, path, positions=mode)
        assert labels(store) == []
    else:  # auto: that same selection tells the positions are raw
        import_qdpx(store, path, positions=mode)
        dana = {k[1] for k, v in in_force(store).items() if k[0] == "Dana" and v == "accept"}
        assert dana == {pid}
    store.close()
