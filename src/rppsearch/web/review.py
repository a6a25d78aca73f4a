"""`POST /-/rpp-review`: a logged-in reviewer accepts or rejects a dimension on a passage.

The reviewer is the authenticated Datasette actor (see `accounts.py`), never a form field;
the decision is recorded through `review.decide`, as `rpp review` records it.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from datasette.utils.asgi import Response

from ..errors import RppError
from .metadata import SEARCH_PATH
from .stores import Unavailable, can_review, pick_database, writable

DECISIONS = ("accept", "reject")


def safe_next(value: str | None, *, default: str) -> str:
    """A path on this site to go back to; anything that could leave the site gives `default`.

    Browsers drop tabs and newlines inside URLs and read `\\` as `/`, so `/\t/evil`,
    `/\\evil` and `//evil` all mean another host: any control character, space or
    backslash, a leading `//`, or a scheme or host is refused.
    """
    value = value or ""
    if not value.startswith("/") or value.startswith("//"):
        return default
    if any(ord(c) < 0x21 or c in "\\\x7f" for c in value):
        return default
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _record_decision(db_path: str, *, passage_id: str, dimension: str, decision: str, reviewer: str) -> None:
    """Write one decision the way `rpp review` does (labels row, human tag, roll-up)."""
    from .. import review  # noqa: PLC0415
    from ..store import Store  # noqa: PLC0415
    from ..store import labels as labelstore  # noqa: PLC0415

    with Store.open(db_path, create=False) as store:
        target = labelstore.resolve_target(store, passage_id, target_type="passage")
        review.decide(store, target=target, decisions=[(dimension, decision)], reviewer=reviewer)


async def review_view(datasette: Any, request: Any) -> Response:
    """POST `/-/rpp-review`: accept or reject a dimension on a passage, recorded in `labels`."""

    async def fail(message: str, status: int) -> Response:
        body = await datasette.render_template(
            "error.html", {"error": message, "status": status, "title": "Review not recorded"}, request=request
        )
        return Response.html(body, status=status)

    if request.method != "POST":
        return await fail("send decisions with POST from the search page", 405)
    if not writable(datasette):
        return await fail("writing is disabled: start the server with `rpp serve --writable`", 403)
    if not await can_review(datasette, request.actor):
        return await fail("log in as a reviewer first (/-/login); accounts are made with `rpp serve --add-user NAME`", 403)
    reviewer = str(request.actor["id"])
    form = await request.post_vars()
    back = safe_next(form.get("next"), default=datasette.urls.path(SEARCH_PATH))
    passage_id = (form.get("passage") or "").strip()
    dimension = (form.get("dimension") or "").strip()
    decision = (form.get("decision") or "").strip()
    if decision not in DECISIONS:
        return await fail(f"decision: use {' or '.join(DECISIONS)}", 400)
    if not passage_id or not dimension:
        return await fail("passage and dimension: both are needed", 400)
    try:
        db = pick_database(datasette, (form.get("db") or "").strip() or None)
        await asyncio.to_thread(
            _record_decision, str(db.path), passage_id=passage_id, dimension=dimension, decision=decision,
            reviewer=reviewer,
        )
    except Unavailable as exc:
        return await fail(exc.message, exc.status)
    except RppError as exc:  # LabelError (unknown passage or dimension), QueryError (db)
        return await fail(exc.message + (f" ({exc.hint})" if exc.hint else ""), 400)
    datasette.add_message(request, f"Recorded: {decision} {dimension} on {passage_id} (by {reviewer}).")
    return Response.redirect(back)
