"""Lists of keys in SQL that never pass SQLite's host-parameter limit: `IN (?, …)` reads in
chunks (`select_in`), or the whole list as one JSON parameter (`in_json`) where one statement
must see every key at once (a GROUP BY or ORDER BY over all of them)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from . import Store

__all__ = ["CHUNK", "chunks", "placeholders", "select_in", "in_json"]

CHUNK = 900  # stay below SQLite's default host-parameter limit (999)


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """`values` in slices of at most `CHUNK`, one statement's worth of parameters each."""
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def placeholders(n: int) -> str:
    """`?,?,…`: `n` comma-separated parameter marks."""
    return ",".join("?" * n)


def select_in(
    store: Store, sql: str, values: Sequence[Any], *, params: Sequence[Any] = ()
) -> Iterator[sqlite3.Row]:
    """The rows of `sql` + ` (?,…)` run once per chunk of `values`.

    `sql` ends with `… IN`; `params` bind the marks before it, then the chunk's values.
    """
    for part in chunks(values):
        yield from store.conn.execute(f"{sql} ({placeholders(len(part))})", [*params, *part])


def in_json(values: Sequence[Any]) -> tuple[str, str]:
    """`IN (SELECT value FROM json_each(?))` and its one parameter, `values` as a JSON array:
    any number of keys (strings or integers) in one statement."""
    return "IN (SELECT value FROM json_each(?))", json.dumps(list(values), ensure_ascii=False)
