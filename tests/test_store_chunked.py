"""Long key lists never pass SQLite's parameter limit: `select_in` reads in chunks, `in_json`
passes the whole list as one parameter (the review queue's document filter)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from review_support import build_store

from rppsearch.store import Store
from rppsearch.store.chunked import CHUNK, in_json, select_in
from rppsearch.store.label_queries import passage_candidates

#: SQLite's own default limit on host parameters in one statement (999 before 3.32); some
#: builds (Debian's Python) raise it to 250000, so the tests set the default themselves.
SQLITE_DEFAULT_LIMIT = 32_766
MANY = 40_000  # more keys than that


def strict_limit(store: Store) -> None:
    store.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, SQLITE_DEFAULT_LIMIT)


def test_select_in_reads_every_chunk_with_leading_params(store: Store) -> None:
    n = 2 * CHUNK + 7
    store.conn.execute("CREATE TEMP TABLE t (k INTEGER PRIMARY KEY, tag TEXT)")
    store.conn.executemany("INSERT INTO t VALUES (?, ?)", [(k, "a" if k % 2 else "b") for k in range(n)])
    keys = list(range(n)) + [n + 5]  # one key with no row
    rows = list(select_in(store, "SELECT k FROM t WHERE tag = ? AND k IN", keys, params=["a"]))
    assert sorted(r[0] for r in rows) == [k for k in range(n) if k % 2]


def test_select_in_without_values_runs_nothing(store: Store) -> None:
    assert list(select_in(store, "SELECT 1 FROM no_such_table WHERE x IN", [])) == []


def test_in_json_takes_more_keys_than_sqlite_has_parameters(store: Store) -> None:
    strict_limit(store)
    store.conn.execute("CREATE TEMP TABLE t (k INTEGER PRIMARY KEY, name TEXT)")
    store.conn.executemany("INSERT INTO t VALUES (?, ?)", [(k, f"n{k}") for k in range(MANY + 10)])
    sql, param = in_json(list(range(0, 2 * MANY, 2)))  # ints: every even key, half of them beyond the table
    assert [r[0] for r in store.conn.execute(f"SELECT k FROM t WHERE k {sql} ORDER BY k", [param])] == list(range(0, MANY + 10, 2))
    sql, param = in_json([f"n{k}" for k in range(MANY)] + ["nobody"])  # strings
    assert store.conn.execute(f"SELECT count(*) FROM t WHERE name {sql}", [param]).fetchone()[0] == MANY


def test_review_candidates_for_more_documents_than_sqlite_has_parameters(index_dir: Path) -> None:
    """`rpp review --document` over a long list (e.g. every document of a large store): one query
    with more document ids than SQLite's parameter limit gives what chunks of a few give."""
    store = build_store(index_dir / "rpp.db")
    strict_limit(store)
    try:
        real = [r[0] for r in store.conn.execute("SELECT id FROM documents ORDER BY id")]
        assert len(real) >= 3
        wanted = [f"absent-{i}" for i in range(MANY)] + real
        for dimension in (None, "evidence-use"):
            got = passage_candidates(store, document_ids=wanted, dimension=dimension)
            by_chunk = [row for i in range(len(real)) for row in passage_candidates(store, document_ids=real[i : i + 1], dimension=dimension)]
            assert got == sorted(by_chunk, key=lambda r: (r["document_id"], r["seq"]))
            assert got == passage_candidates(store, dimension=dimension)  # these are all the documents
            assert {r["document_id"] for r in got} == set(real)
    finally:
        store.close()
