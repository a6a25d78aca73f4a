"""The progress hook long library calls take, and how stages are reported.

`progress(label, total)` is a context manager yielding `advance(n=1, description=None)`; a
`total` of None means a stage of unknown length (a spinner). The CLI passes `console_progress`
(rich bars on stderr, only on a TTY and without --quiet); the default is silent.
`stage_line` turns a build stage's result dict into one sentence for the summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

ProgressFactory = Callable[[str, int | None], AbstractContextManager[Callable[..., None]]]


def no_progress(label: str, total: int | None) -> AbstractContextManager[Callable[..., None]]:
    """A progress hook that shows nothing."""
    return nullcontext(lambda n=1, description=None: None)


@contextmanager
def _rich_bar(label: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A bar (known total) or a spinner (unknown) on stderr, cleared when the stage ends: the
    stage's summary line replaces it."""
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            if description is not None:
                bar.update(task, description=description)
            if n:
                bar.advance(task, n)

        yield advance


def console_progress(enabled: bool) -> ProgressFactory:
    """Rich bars and spinners when `enabled`, else silence."""
    return _rich_bar if enabled else no_progress


# -- one line per stage --------------------------------------------------------------------------
def _seconds(value: Any) -> str:
    return f" in {float(value):.1f} s" if isinstance(value, (int, float)) else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _encode_line(v: dict[str, Any]) -> str:
    n = int(v.get("encoded") or 0)
    if not n:
        return "encode: every passage already has a vector"
    rate = v.get("passages_per_s")
    engine = v.get("engine")
    return (
        f"encode: {_plural(n, 'passage')}{_seconds(v.get('seconds'))}"
        + (f" ({rate:g} a second" + (f", {engine}" if engine else "") + ")" if rate else "")
    )


def _tag_line(v: dict[str, Any]) -> str:
    n = int(v.get("passages") or 0)
    trained = " (trained now)" if v.get("trained") else ""
    if not n:
        return f"tag: every passage already tagged by model {v.get('model')}{trained}"
    return (
        f"tag: {_plural(n, 'passage')} and {_plural(int(v.get('documents') or 0), 'document')} "
        f"tagged by model {v.get('model')}{trained}{_seconds(v.get('seconds'))}"
    )


def _labels_line(v: dict[str, Any]) -> str:
    n = int(v.get("reapplied") or 0)
    if not n:
        return "labels: no decision to re-apply"
    return f"labels: {_plural(n, 'decision')} re-applied on {_plural(int(v.get('documents') or 0), 'document')}"


def _index_part(name: str, v: dict[str, Any]) -> str:
    status = v.get("status", "?")
    count = v.get("count")
    if status == "fresh":
        return f"{name} up to date ({count})"
    extra = []
    for key in ("added", "removed", "reused"):
        if v.get(key):
            extra.append(f"{v[key]} {key}")
    return f"{name} {status} ({count} passages" + (", " + ", ".join(extra) if extra else "") + ")"


def stage_line(name: str, value: Any) -> str:
    """One readable line for a build stage's result (`encode`, `tag`, `labels`, `index`, ...)."""
    if not isinstance(value, dict):
        return f"{name}: {value}"
    if name == "encode":
        return _encode_line(value)
    if name == "tag":
        return _tag_line(value)
    if name == "labels":
        return _labels_line(value)
    if name == "index" and all(isinstance(v, dict) for v in value.values()):
        return "index: " + "; ".join(_index_part(k, v) for k, v in value.items())
    parts = ", ".join(f"{k} {v}" for k, v in value.items() if not isinstance(v, (dict, list)))
    return f"{name}: {parts}"
