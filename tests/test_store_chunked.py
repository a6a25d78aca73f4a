"""`select_in`: long key lists are read in chunks below SQLite's parameter limit."""

from __future__ import annotations

from rppsearch.store import Store
from rppsearch.store.chunked import CHUNK, select_in


def test_select_in_reads_every_chunk_with_leading_params(store: Store) -> None:
    n = 2 * CHUNK + 7
    store.conn.execute("CREATE TEMP TABLE t (k INTEGER PRIMARY KEY, tag TEXT)")
    store.conn.executemany("INSERT INTO t VALUES (?, ?)", [(k, "a" if k % 2 else "b") for k in range(n)])
    keys = list(range(n)) + [n + 5]  # one key with no row
    rows = list(select_in(store, "SELECT k FROM t WHERE tag = ? AND k IN", keys, params=["a"]))
    assert sorted(r[0] for r in rows) == [k for k in range(n) if k % 2]


def test_select_in_without_values_runs_nothing(store: Store) -> None:
    assert list(select_in(store, "SELECT 1 FROM no_such_table WHERE x IN", [])) == []
