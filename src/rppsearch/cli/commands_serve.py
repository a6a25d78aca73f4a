"""`rpp serve`: Datasette on the store, with rppsearch's metadata, SQL functions and search page.

Datasette is started as `python -m datasette serve` (replacing this process, so signals and
exit codes are Datasette's own). Nothing heavy is imported here.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InputError
from .common import IndexDir, info, settings_for
from .app import app


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def _manage_reviewers(reviewers_file: Any, *, add_user: str | None, remove_user: str | None, list_users: bool) -> None:
    """`--add-user` / `--remove-user` / `--list-users`: edit reviewers.json beside the store."""
    from ..web import accounts  # noqa: PLC0415

    if add_user:
        accounts.check_name(add_user)  # before asking for a password
        if sys.stdin.isatty():
            password = typer.prompt(f"Password for {add_user}", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
        new = accounts.add_reviewer(reviewers_file, name=add_user, password=password)
        info(f"{'Added' if new else 'Changed the password of'} reviewer {add_user} in {reviewers_file}.")
    if remove_user:
        accounts.remove_reviewer(reviewers_file, name=remove_user)
        info(f"Removed reviewer {remove_user} from {reviewers_file}.")
    if list_users:
        for name in sorted(accounts.read_reviewers(reviewers_file)):
            sys.stdout.write(name + "\n")


@app.command()
def serve(
    index_dir: IndexDir = None,
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port (0: any free port).")] = 8001,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on; 0.0.0.0 exposes the server to the network.")] = "127.0.0.1",
    writable: Annotated[
        bool, typer.Option("--writable", help="Let logged-in reviewers record decisions from the search page (accounts: --add-user); off: every connection is read-only.")
    ] = False,
    add_user: Annotated[
        str | None,
        typer.Option("--add-user", metavar="NAME", help="Add a reviewer account (password asked, or read from stdin) and exit."),
    ] = None,
    remove_user: Annotated[str | None, typer.Option("--remove-user", metavar="NAME", help="Remove a reviewer account and exit.")] = None,
    list_users: Annotated[bool, typer.Option("--list-users", help="List the reviewer accounts and exit.")] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", metavar="NAME", help="A host name the server answers to besides loopback (repeatable; '*' for any)."),
    ] = None,
    warm: Annotated[bool, typer.Option("--warm/--no-warm", help="Load the embedding model in the background at start.")] = True,
    dump_metadata: Annotated[
        bool, typer.Option("--dump-metadata", help="Print the Datasette metadata (JSON, for `datasette -m`) and exit.")
    ] = False,
) -> None:
    """Browse, facet and search the store in Datasette (read-only unless --writable).

    With --writable, reviewers log in at /-/login and accept or reject dimensions on the
    search page; only they can write. Make accounts first with `rpp serve --add-user NAME`
    (stored as password hashes in reviewers.json beside the store).
    """
    from ..store import Store  # noqa: PLC0415
    from ..web import accounts  # noqa: PLC0415
    from ..web.metadata import build_metadata, serve_args  # noqa: PLC0415
    from ..web.stores import ALLOWED_HOSTS_ENV, REVIEWERS_ENV, WARM_ENV, WRITABLE_ENV  # noqa: PLC0415

    settings = settings_for(index_dir)
    db_path = settings.db_path
    reviewers_file = accounts.reviewers_path(settings.index_dir)
    if add_user or remove_user or list_users:
        _manage_reviewers(reviewers_file, add_user=add_user, remove_user=remove_user, list_users=list_users)
        return
    # Fails with a clear message when there is no store; applies pending schema migrations
    # (views the pages rely on) before Datasette opens it read-only.
    with Store.open(db_path, create=False):
        pass
    if dump_metadata:
        sys.stdout.write(json.dumps(build_metadata(databases=[db_path.stem]), indent=2, ensure_ascii=False) + "\n")
        return
    args = serve_args(db_path=db_path, host=host, port=port)
    env = dict(os.environ)
    env.pop(WRITABLE_ENV, None)
    hosts = list(allow_host or [])
    if host not in WILDCARD_HOSTS:
        hosts.append(host)
    elif not hosts:
        if writable:
            raise InputError(host, "a writable server listening on every interface needs --allow-host NAME "
                             "(the host name reviewers use), so other sites cannot reach it by DNS rebinding")
        hosts.append("*")
        info(f"Warning: listening on {host} without --allow-host: any Host header is accepted (DNS rebinding); "
             "name the host people use with --allow-host NAME.")
    env[ALLOWED_HOSTS_ENV] = ",".join(hosts)
    env[WARM_ENV] = "1" if warm else "0"
    if writable:
        env[WRITABLE_ENV] = "1"
        env[REVIEWERS_ENV] = str(reviewers_file)
        names = sorted(accounts.read_reviewers(reviewers_file))
        if names:
            info(f"Reviewers who can log in at /-/login: {', '.join(names)} (accounts in {reviewers_file}).")
        else:
            info("Warning: no reviewer accounts yet, so nobody can write. Add one with "
                 f"`rpp serve --add-user NAME{' --index-dir ' + str(index_dir) if index_dir else ''}`.")
    shown = "any free port" if port == 0 else f"http://{host}:{port}/-/rpp-search"
    info(f"Serving {db_path} ({'writable' if writable else 'read-only'}) on {shown}; Ctrl-C stops.")
    sys.stderr.flush()
    sys.stdout.flush()
    argv = [sys.executable, "-m", "datasette", *args]
    if os.name == "posix":
        os.execve(sys.executable, argv, env)
    import subprocess  # noqa: PLC0415 - elsewhere, run Datasette as a child and pass its exit code on

    raise typer.Exit(subprocess.call(argv, env=env))


@app.command()
def publish(
    folder: Annotated[Path, typer.Argument(help="Folder to write (new, empty, or an earlier publish folder).")],
    index_dir: IndexDir = None,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port the server listens on.")] = 8001,
    wheel: Annotated[bool, typer.Option("--wheel/--no-wheel", help="Build a wheel of rppsearch into dist/.")] = True,
) -> None:
    """Write a folder that serves the store read-only (Dockerfile, serve.sh, snapshot, metadata).

    The store is served immutable (`datasette -i`), so any number of instances can serve
    copies of the folder. `docker build` it, or `pip install dist/*.whl` and run `serve.sh`.
    """
    from ..web.publish import publish as publish_folder  # noqa: PLC0415

    settings = settings_for(index_dir)
    done = publish_folder(index_dir=settings.index_dir, folder=folder, wheel=wheel, port=port)
    info(f"Wrote {done.folder}: docker build -t rpp-corpus {done.folder}, or ./serve.sh there"
         + ("" if done.wheel else " (after putting a wheel of rppsearch in dist/)") + ".")
