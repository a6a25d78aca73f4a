"""Reviewer accounts for a writable server, kept in `reviewers.json` beside the store.

The file maps each reviewer's name to a salted PBKDF2 hash made by datasette-auth-passwords
(the maintained Datasette plugin that provides `/-/login`); no password is stored. The
plugin reads its accounts from Datasette's plugin configuration, which the rppsearch
plugin fills from this file through `$env` references, so `/-/metadata.json` shows no hash.
The file is written with mode 0600 (temp file, then rename).
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from ..errors import InputError

FILE_NAME = "reviewers.json"
AUTH_PLUGIN = "datasette-auth-passwords"
MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_ENV_PREFIX = "RPP_REVIEWER_HASH_"


def reviewers_path(index_dir: Path) -> Path:
    return Path(index_dir) / FILE_NAME


def check_name(name: str) -> str:
    if not _NAME.match(name) or "_password_hash" in name:
        raise InputError(name, "reviewer names are 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def read_reviewers(path: Path) -> dict[str, str]:
    """Name -> password hash; empty when the file does not exist."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the reviewer accounts ({exc})") from None
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, dict):
        raise InputError(path, "not a reviewer accounts file (no 'accounts' object)")
    return {str(k): str(v) for k, v in accounts.items() if isinstance(v, str)}


def _write(path: Path, accounts: dict[str, str]) -> None:
    """Write-then-rename; mkstemp makes the temp file 0600 and the rename keeps that."""
    import tempfile  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"accounts": dict(sorted(accounts.items()))}, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def add_reviewer(path: Path, *, name: str, password: str) -> bool:
    """Add or replace a reviewer's password; True when the name was new."""
    from datasette_auth_passwords.utils import hash_password  # noqa: PLC0415

    check_name(name)
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(name, f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    accounts = read_reviewers(path)
    new = name not in accounts
    accounts[name] = hash_password(password)
    _write(Path(path), accounts)
    return new


def remove_reviewer(path: Path, *, name: str) -> None:
    accounts = read_reviewers(path)
    if name not in accounts:
        raise InputError(path, f"no reviewer named {name!r}")
    del accounts[name]
    _write(Path(path), accounts)


_cache: dict[str, tuple[float, dict[str, str]]] = {}
_cache_lock = threading.Lock()


def cached_reviewers(path: Path) -> dict[str, str]:
    """`read_reviewers`, re-read only when the file changes (asked on every request)."""
    key = str(path)
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return {}
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] == mtime:
            return hit[1]
    try:
        accounts = read_reviewers(Path(path))
    except InputError:
        accounts = {}
    with _cache_lock:
        _cache[key] = (mtime, accounts)
    return accounts


def auth_plugin_config(accounts: dict[str, str]) -> dict[str, Any]:
    """datasette-auth-passwords configuration for `accounts`, hashes passed by `$env`."""
    config: dict[str, Any] = {}
    for i, (name, password_hash) in enumerate(sorted(accounts.items())):
        env = f"{_ENV_PREFIX}{i}"
        os.environ[env] = password_hash
        config[f"{name}_password_hash"] = {"$env": env}
    return config
