"""The typer `app` every command module decorates (kept apart from `main.py`, which imports
the command modules: importing `app` from here makes no import cycle)."""

from __future__ import annotations

import typer

from .. import __version__

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
