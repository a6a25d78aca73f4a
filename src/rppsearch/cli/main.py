"""The `rpp` app. Each command group lives in its own module and registers itself here.

Nothing heavy is imported at module level: `rpp --help` must not import torch.
"""

from __future__ import annotations

import sys

from ..errors import RppError
from .app import app

__all__ = ["app", "main"]


def _register() -> None:
    """Import each command module: importing one adds its commands to `app`."""
    for name in ("commands_ingest", "commands_tag", "commands_search", "commands_review", "commands_serve",
                 "commands_doctor", "commands_documents", "commands_report"):
        __import__(f"{__package__}.{name}")


_register()


def main() -> None:
    """Console entry point: typed errors become `Error: …` and exit code 1."""
    try:
        app()
    except RppError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"Hint: {exc.hint}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
