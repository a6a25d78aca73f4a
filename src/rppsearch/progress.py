"""The progress hook long library calls take: `progress(label, total)` is a context manager
yielding `advance(n=1, description=None)`. The CLI passes rich bars; the default is silent."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

ProgressFactory = Callable[[str, int | None], AbstractContextManager[Callable[..., None]]]


def no_progress(label: str, total: int | None) -> AbstractContextManager[Callable[..., None]]:
    """A progress hook that shows nothing."""
    return nullcontext(lambda n=1, description=None: None)
