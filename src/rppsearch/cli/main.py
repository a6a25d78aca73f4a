"""The `rpp` app. Each command group lives in its own module and registers itself here.

Nothing heavy is imported at module level: `rpp --help` must not import torch.
"""

from __future__ import annotations

import sys

import typer

from .. import __version__
from ..errors import RppError

app = typer.Typer(
    name="rpp",
    help="rppsearch: ingest, tag and search documents about central office transformation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rpp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, is_flag=True, help="Show the version."),
) -> None:
    """rppsearch: ingest, tag and search documents about central office transformation."""


def _register() -> None:
    from . import commands_ingest  # noqa: F401,PLC0415

    for name in ("commands_tag", "commands_search", "commands_review", "commands_serve", "commands_doctor", "commands_report"):
        try:
            __import__(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise


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
