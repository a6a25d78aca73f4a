"""`rpp serve`: Datasette on the store, with rppsearch's metadata, SQL functions and search page.

Datasette is started as `python -m datasette serve` (replacing this process, so signals and
exit codes are Datasette's own). Nothing heavy is imported here.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from .common import IndexDir, info, settings_for
from .app import app


@app.command()
def serve(
    index_dir: IndexDir = None,
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0: any free port).")] = 8001,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on; 0.0.0.0 exposes the server to the network.")] = "127.0.0.1",
    writable: Annotated[
        bool, typer.Option("--writable", help="Allow writes through the web pages (off: every connection is read-only).")
    ] = False,
    dump_metadata: Annotated[
        bool, typer.Option("--dump-metadata", help="Print the Datasette metadata (JSON, for `datasette -m`) and exit.")
    ] = False,
) -> None:
    """Browse, facet and search the store in Datasette (read-only unless --writable)."""
    from ..datasette_config import build_metadata, serve_args  # noqa: PLC0415
    from ..datasette_plugin import WRITABLE_ENV  # noqa: PLC0415
    from ..store import Store  # noqa: PLC0415

    settings = settings_for(index_dir)
    db_path = settings.db_path
    # Fails with a clear message when there is no store; applies pending schema migrations
    # (views the pages rely on) before Datasette opens it read-only.
    with Store.open(db_path, create=False):
        pass
    if dump_metadata:
        sys.stdout.write(json.dumps(build_metadata(databases=[db_path.stem]), indent=2, ensure_ascii=False) + "\n")
        return
    args = serve_args(db_path=db_path, host=host, port=port)
    env = dict(os.environ)
    if writable:
        env[WRITABLE_ENV] = "1"
    else:
        env.pop(WRITABLE_ENV, None)
    if writable and host not in ("127.0.0.1", "localhost", "::1"):
        info(f"Warning: --writable on {host}: anyone who can reach this port can record review decisions.")
    shown = "any free port" if port == 0 else f"http://{host}:{port}/-/rpp-search"
    info(f"Serving {db_path} ({'writable' if writable else 'read-only'}) on {shown}; Ctrl-C stops.")
    sys.stderr.flush()
    sys.stdout.flush()
    argv = [sys.executable, "-m", "datasette", *args]
    if os.name == "posix":
        os.execve(sys.executable, argv, env)
    import subprocess  # noqa: PLC0415 - elsewhere, run Datasette as a child and pass its exit code on

    raise typer.Exit(subprocess.call(argv, env=env))
