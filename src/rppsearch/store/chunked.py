"""`IN (?, …)` reads in chunks, so a long list of keys never passes SQLite's host-parameter limit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from . import Store

__all__ = ["CHUNK", "chunks", "placeholders", "select_in"]

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
