"""Documents as things you manage: list, show, edit (overrides that survive re-ingest), remove."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .config import Settings
from .errors import InputError, RppError
from .models import METADATA_FIELDS
from .store import Store
from .store import documents as docstore

#: Fields `rpp edit` may set, with how a value is read.
EDITABLE = ("title", "organization", "districts", "year", "doc_type", "authors", "url", "published")


class NoSuchDocument(RppError):
    def __init__(self, doc_id: str) -> None:
        super().__init__(f"no document with id {doc_id!r}", hint="`rpp documents` lists the ids")


def _aliases(store: Store) -> Any:
    from .ingest.districts import DistrictAliases  # noqa: PLC0415

    return DistrictAliases(canonical=dict(docstore.district_alias_pairs(store)))


def list_documents(
    store: Store, *, district: str | None = None, missing: str | None = None, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Documents with their metadata, its sources and their dimensions, filtered (the filters
    of `store.documents.document_rows`; `district` in any spelling, `missing` a field lacked)."""
    if missing is not None and missing not in METADATA_FIELDS:
        raise InputError(missing, f"not a metadata field (one of {', '.join(METADATA_FIELDS)})")
    yield from docstore.document_rows(store, district=district, missing=missing, **filters)


def show_document(store: Store, *, doc_id: str, passages: bool = True) -> dict[str, Any]:
    """A document's metadata with the source of each field, its overrides, tags and passages."""
    row = docstore.document_by_id(store, doc_id)
    if row is None:
        raise NoSuchDocument(doc_id)
    out = docstore.public_row(row)
    out["overrides"] = docstore.user_overrides(store, doc_id) or {}
    out["tags"] = docstore.document_tag_rows(store, doc_id)
    if passages:
        out["passages"] = docstore.passage_rows(store, doc_id)
    return out


def parse_edits(values: dict[str, Any]) -> dict[str, Any]:
    """`rpp edit` options as override values; an empty string clears a field."""
    edits: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in EDITABLE:
            raise InputError(name, f"cannot edit {name!r} (editable: {', '.join(EDITABLE)})")
        if name == "year" and str(value).strip():
            text = str(value).strip()
            if not text.isdigit() or not 1800 <= int(text) <= 2100:
                raise InputError(str(value), "year must be a number between 1800 and 2100")
            value = int(text)
        if name in ("districts", "authors"):
            value = [v.strip() for v in (value if isinstance(value, list) else [value]) for v in str(v).split(";") if v.strip()]
        edits[name] = value
    if not edits:
        raise InputError("rpp edit", "nothing to change: give --title, --year, --organization, --district …")
    return edits


def edit_document(
    store: Store, *, doc_id: str, edits: dict[str, Any], settings: Settings | None = None
) -> dict[str, Any]:
    """Keep `edits` as the user's overrides of `doc_id` (they win over catalog, library and
    the document, and survive re-ingest) and apply them now; returns the document. With
    `settings`, passages whose title changed (this one's, or others' that shared it) are
    re-encoded and the indexes refreshed at once; else `rpp build` does it."""
    from .ingest import metadata as meta  # noqa: PLC0415
    from .ingest.titling import base_title, keep_told_apart, tell_apart_shared_titles  # noqa: PLC0415

    row = docstore.document_by_id(store, doc_id)
    if row is None:
        raise NoSuchDocument(doc_id)
    layers = docstore.stored_layers(row)
    own = layers["document"] or docstore.row_metadata(row)
    own.mentioned_districts = json.loads(row.get("mentioned_districts") or "[]")
    with store.transaction():
        docstore.set_user_overrides(store, doc_id, edits)
        user = docstore.user_overrides(store, doc_id)
        metadata = meta.combine(own, library=layers["library"], catalog=layers["catalog"], user=user, aliases=_aliases(store))
        # (a row stored before the own layer kept the fallback title keeps its stored one)
        metadata.title = metadata.title or base_title(docstore.public_row(row)["extra"], row["title"])
        keep_told_apart(metadata, row)
        # metadata_hash cleared: the next ingest re-resolves (cheaply) with the files' aliases
        docstore.update_metadata(
            store, doc_id, metadata, document_metadata=own, metadata_hash=None,
            library=layers["library"], catalog=layers["catalog"],
        )
        retitled = tell_apart_shared_titles(store)  # an edited title may join or leave a shared one
    if settings is not None and (retitled or metadata.title != row["title"]) and reencode_retitled(store, settings):
        from .index import refresh_indexes  # noqa: PLC0415

        refresh_indexes(store, settings)
    return show_document(store, doc_id=doc_id, passages=False)


def remove_document(store: Store, settings: Settings, *, doc_id: str) -> dict[str, Any]:
    """Delete a document, its passages, vectors and tags, then refresh the lexical and
    vectors indexes. People's decisions stay in the labels log."""
    from .index import refresh_indexes  # noqa: PLC0415

    row = docstore.document_by_id(store, doc_id)
    if row is None:
        raise NoSuchDocument(doc_id)
    from .ingest.titling import tell_apart_shared_titles  # noqa: PLC0415

    with store.transaction():
        docstore.delete_document(store, doc_id)
        retitled = tell_apart_shared_titles(store)  # a document left alone gets its shared title back
    out: dict[str, Any] = {"id": doc_id, "path": row["path"], "passages": row["passage_count"]}
    if retitled:
        out["retitled"] = len(retitled)
    out["encoded"] = reencode_retitled(store, settings) if retitled else 0
    out["indexes"] = refresh_indexes(store, settings)
    return out


def reencode_retitled(store: Store, settings: Settings) -> int:
    """Encode the passages whose vectors went with a title change (only those lack one)."""
    from .index.vectors import embed_missing  # noqa: PLC0415
    from .store import vectors as vstore  # noqa: PLC0415

    if not vstore.vector_count(store):  # never encoded: `rpp build` encodes everything
        return 0
    return int(embed_missing(store, settings).get("encoded", 0))
