"""An ASGI guard in front of Datasette: Host allowlist, cross-site POST refusal, frame headers.

Datasette's own CSRF protection (asgi-csrf) checks a form token only when the request
carries a Cookie header, so a `curl -X POST` or a form posted from another site without
cookies (the token cookie is SameSite=Lax) used to pass. This guard runs before it:

- **Host allowlist** (DNS rebinding): on a writable server, or when hosts are configured,
  a request whose Host header names another host gets a 400. `rpp serve` allows loopback
  names, the address it listens on and every `--allow-host`.
- **Every unsafe request** (POST, PUT, PATCH, DELETE) must come from this site: a
  `Sec-Fetch-Site` other than `same-origin`/`none`, or an `Origin` other than this host, is
  refused; and a request with neither cookies nor an `Authorization` header is refused, so
  asgi-csrf's token check (which needs the cookie) always runs for browsers.
- **Framing**: `Content-Security-Policy: frame-ancestors 'self'` and `X-Frame-Options:
  SAMEORIGIN` on every response (clickjacking), plus `nosniff` and a same-origin referrer.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from .stores import ALLOWED_HOSTS_ENV, plugin_setting, writable

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SECURITY_HEADERS = (
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def host_name(value: str) -> str:
    """`Example.org:8001` -> `example.org`; `[::1]:8001` -> `::1`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_hosts(datasette: Any) -> frozenset[str] | None:
    """Host names this server answers to; None means any (a read-only server unconfigured)."""
    configured = os.environ.get(ALLOWED_HOSTS_ENV)
    values: list[str] = []
    if configured is not None:
        values = [v for v in configured.split(",") if v.strip()]
    else:
        setting = plugin_setting(datasette, "allowed_hosts")
        if isinstance(setting, str):
            values = [setting]
        elif isinstance(setting, list):
            values = [str(v) for v in setting]
        elif not writable(datasette):
            return None
    if "*" in values:
        return None
    return LOOPBACK_HOSTS | {host_name(v) for v in values}


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers") or []:
        out[key.decode("latin-1").lower()] = value.decode("latin-1")
    return out


def refusal(scope: dict[str, Any], hosts: frozenset[str] | None) -> tuple[int, str] | None:
    """(status, reason) when the request must not reach Datasette, else None."""
    headers = _headers(scope)
    host = headers.get("host", "")
    if hosts is not None and host_name(host) not in hosts:
        return 400, f"Host {host[:100]!r} is not served here (allowed: {', '.join(sorted(hosts))}; rpp serve --allow-host NAME)"
    if scope.get("method", "GET").upper() in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return 403, f"cross-site request refused (Sec-Fetch-Site: {fetch_site[:40]})"
    origin = headers.get("origin")
    if origin is not None:
        parts = urllib.parse.urlsplit(origin)
        if origin == "null" or not parts.netloc or parts.netloc.lower() != host.lower():
            return 403, f"cross-site request refused (Origin {origin[:100]!r} is not this site)"
    if "cookie" not in headers and "authorization" not in headers:
        return 403, "a POST needs the page's CSRF token cookie (send it from this site's forms) or an Authorization header"
    return None


async def _send_refusal(send: Any, status: int, reason: str) -> None:
    body = f"{status} {'Bad Request' if status == 400 else 'Forbidden'}: {reason}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: Pages that show the plugins' settings, hidden while reviewer accounts are configured.
_ACCOUNT_PAGES = frozenset({"/-/metadata", "/-/metadata.json"})


def _has_accounts(datasette: Any) -> bool:
    return bool(datasette.plugin_config("datasette-auth-passwords"))


def guard(app: ASGIApp, datasette: Any) -> ASGIApp:
    """Wrap Datasette's ASGI app with the checks above."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return
        refused = refusal(scope, allowed_hosts(datasette))
        if refused is None and scope.get("path", "").rstrip("/") in _ACCOUNT_PAGES and _has_accounts(datasette):
            # the auth plugin's settings name every reviewer ({name}_password_hash): no list of
            # login names to guess passwords for
            refused = (404, "not found")
        if refused is not None:
            await _send_refusal(send, *refused)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers") or []}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*(message.get("headers") or []), *extra]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return guarded
