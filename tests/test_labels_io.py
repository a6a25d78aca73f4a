"""Labels out and back in (JSON lines, CSV), bad files refused whole, the REFI-QDA codebook."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from review_support import build_store, labels, passage_dims

from rppsearch.errors import LabelError
from rppsearch.labels_io import QDC_NAMESPACE, export_rows, import_labels, write_export
from rppsearch.review import decide
from rppsearch.store import Store
from rppsearch.store import labels as labelstore
from rppsearch.taxonomy import load_default_taxonomy

RPP = str(Path(sys.executable).with_name("rpp"))
KEYS = ("created_at", "reviewer", "target_type", "target_id", "dimension_id", "decision", "note")


@pytest.fixture
def store(index_dir: Path):
    s = build_store(index_dir / "rpp.db")
    yield s
    s.close()


def some_decisions(store: Store) -> None:
    t = labelstore.resolve_target(store, "coaching-p0000")
    decide(store, target=t, reviewer="ana", decisions=[("stewardship", "accept"), ("learning-partnerships", "reject")],
           note='she said "yes", then\nchanged her mind')
    decide(store, target=labelstore.resolve_target(store, "hr-redesign-p0000"), reviewer="ben", decisions=[(None, "skip")])
    decide(store, target=labelstore.resolve_target(store, "data-cycles"), reviewer="ben", decisions=[("evidence-use", "accept")])
    decide(store, target=t, reviewer="ben", decisions=[("stewardship", "reject")])


def tags_snapshot(store: Store) -> list[tuple]:
    rows = store.conn.execute(
        "SELECT p.id, t.dimension_id, t.score, t.assigned, t.source FROM passage_tags t "
        "JOIN passages p ON p.pk = t.passage_pk ORDER BY p.id, t.dimension_id"
    )
    docs = store.conn.execute("SELECT document_id, dimension_id, assigned, source FROM document_tags ORDER BY 1, 2")
    return [tuple(r) for r in rows] + [tuple(r) for r in docs]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_then_import_into_a_fresh_store_reproduces_decisions_and_tags(store: Store, tmp_path: Path, fmt: str) -> None:
    some_decisions(store)
    out = tmp_path / f"labels.{fmt}"
    assert write_export(store, fmt=fmt, output=out) == 4 + 1  # the first action wrote two decisions
    fresh = build_store(tmp_path / "fresh" / "rpp.db")
    report = import_labels(fresh, out)
    assert (report.imported, report.duplicates) == (5, 0)
    assert [{k: r[k] for k in KEYS} for r in labels(fresh)] == [{k: r[k] for k in KEYS} for r in labels(store)]
    assert tags_snapshot(fresh) == tags_snapshot(store)
    again = import_labels(fresh, out)  # importing the same file twice adds nothing
    assert (again.imported, again.duplicates) == (0, 5)
    assert len(labels(fresh)) == 5
    fresh.close()


def test_export_rows_carry_the_passage_text_for_context(store: Store) -> None:
    some_decisions(store)
    rows = list(export_rows(store))
    text = store.conn.execute("SELECT text FROM passages WHERE id = 'coaching-p0000'").fetchone()[0]
    assert rows[0]["text"] == text and rows[0]["document_id"] == "coaching"
    assert rows[0]["suggested_assigned"] is False and rows[1]["suggested_assigned"] is True
    doc_row = next(r for r in rows if r["target_type"] == "document")
    assert doc_row["text"] == "Inquiry cycles in Kestrel Bay"


BAD_LINES = [
    ('{"target_id": "coaching-p0000", "dimension_id": "leadership", "decision": "accept", "reviewer": "x"}',
     "unknown dimension 'leadership'"),
    ('{"target_id": "coaching-p0099", "dimension_id": "stewardship", "decision": "accept", "reviewer": "x"}',
     "unknown target 'coaching-p0099'"),
    ('{"target_id": "coaching-p0000", "dimension_id": "stewardship", "decision": "maybe", "reviewer": "x"}',
     "decision 'maybe'"),
    ('{"target_id": "coaching-p0000", "dimension_id": "stewardship", "decision": "accept"}', "missing 'reviewer'"),
    ('{"target_id": "coaching-p0000", "decision": "accept", "reviewer": "x"}', "missing 'dimension_id'"),
    ('{"target_id": "coaching-p0000", "dimension_id": "stewardship", "decision": "accept", "reviewer": "x", '
     '"created_at": "last tuesday"}', "created_at 'last tuesday'"),
    ('{"target_id": "coaching-p0000", "dimension_id": "stewardship"', "invalid JSON"),
    ('["coaching-p0000", "stewardship"]', "JSON object"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES, ids=[p for _, p in BAD_LINES])
def test_a_bad_jsonl_line_fails_the_whole_file_naming_the_line(store: Store, tmp_path: Path, line: str, problem: str) -> None:
    good = '{"target_id": "hr-redesign-p0000", "dimension_id": "stewardship", "decision": "accept", "reviewer": "x"}'
    path = tmp_path / "labels.jsonl"
    path.write_text(f"{good}\n\n{line}\n{good}\n", encoding="utf-8")
    before = tags_snapshot(store)
    with pytest.raises(LabelError) as info:
        import_labels(store, path)
    assert info.value.message.startswith(f"{path}:3: ")
    assert problem in info.value.message
    assert labels(store) == [] and tags_snapshot(store) == before


def test_a_bad_csv_row_is_named_by_its_line_even_after_multiline_text(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["target_id", "dimension_id", "decision", "reviewer", "text"])
    writer.writerow(["coaching-p0000", "stewardship", "accept", "x", "two\nlines of context"])  # lines 2-3
    writer.writerow(["coaching-p0001", "stewardship", "perhaps", "x", ""])  # line 4
    path.write_text(buffer.getvalue(), encoding="utf-8")
    with pytest.raises(LabelError, match=re.escape(f"{path}:4: decision 'perhaps'")):
        import_labels(store, path)
    assert labels(store) == []


def test_a_csv_without_the_needed_columns_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("passage,label\ncoaching-p0000,stewardship\n", encoding="utf-8")
    with pytest.raises(LabelError, match=r"labels.csv:1: the header has no target_id, decision, reviewer column"):
        import_labels(store, path)


def test_an_import_applies_the_latest_decision_whatever_the_file_order(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    rows = [
        {"target_id": "coaching-p0001", "dimension_id": "stewardship", "decision": "reject", "reviewer": "a",
         "created_at": "2024-05-02T10:00:00Z"},
        {"target_id": "coaching-p0001", "dimension_id": "stewardship", "decision": "accept", "reviewer": "b",
         "created_at": "2024-05-01T10:00:00Z"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_labels(store, path)
    assert "stewardship" not in passage_dims(store, "coaching-p0001")


def test_codebook_exports_as_refi_qda_codebook_xml(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "codebook.qdc"
    assert write_export(store, fmt="qdc", output=out) == 5
    data = out.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(data)
    ns = {"q": QDC_NAMESPACE}
    assert root.tag == f"{{{QDC_NAMESPACE}}}CodeBook"
    assert [child.tag for child in root] == [f"{{{QDC_NAMESPACE}}}Codes"]
    codes = root.findall("q:Codes/q:Code", ns)
    taxonomy = load_default_taxonomy()
    assert [c.get("name") for c in codes] == [d.name for d in taxonomy.dimensions]
    guid = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
    assert all(guid.match(c.get("guid")) for c in codes)
    assert len({c.get("guid") for c in codes}) == 5
    assert {c.get("isCodable") for c in codes} == {"true"}
    assert [c.find("q:Description", ns).text for c in codes] == [" ".join(d.definition.split()) for d in taxonomy.dimensions]
    second = tmp_path / "again.qdc"
    write_export(store, fmt="qdc", output=second)
    assert second.read_bytes() == data  # guids are stable from one export to the next


def test_cli_import_error_is_one_line_and_exit_1(store: Store, index_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"target_id": "coaching-p0000", "dimension_id": "nope", "decision": "accept", "reviewer": "x"}\n')
    env = {**os.environ, "RPP_MODEL": "fake"}
    proc = subprocess.run([RPP, "labels", "import", str(path), "--index-dir", str(index_dir)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == f"Error: {path}:1: unknown dimension 'nope'"
    assert "Traceback" not in proc.stderr


def test_a_decision_on_an_earlier_text_is_kept_but_not_applied(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    row = {"target_id": "coaching-p0001", "dimension_id": "stewardship", "decision": "accept", "reviewer": "x",
           "created_at": "2024-05-01T10:00:00Z", "target_hash": "an-earlier-text"}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    report = import_labels(store, path)
    assert (report.imported, report.stale) == (1, 1)
    assert labels(store)[0]["target_hash"] == "an-earlier-text"
    assert "stewardship" not in passage_dims(store, "coaching-p0001")
    # the same decision on the current text applies
    row["target_hash"] = store.conn.execute("SELECT text_hash FROM passages WHERE id = 'coaching-p0001'").fetchone()[0]
    row["created_at"] = "2024-05-02T10:00:00Z"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert import_labels(store, path).stale == 0
    assert "stewardship" in passage_dims(store, "coaching-p0001")
