"""Rows Datasette can follow, tables a person can read, full-text search ranked by relevance.

Measured on Datasette 0.65: it builds a foreign-key link from the cell's value as if the
referenced column were the primary key (`/db/documents/<value>`), and counts a row's
incoming links with the row's primary key. `passages.document_id` references
`documents(id)`, a text key, while rows are addressed by the integer `pk`: every document
link from `passages`, `document_tags` and `labels` was a 404, and a document page said
"0 rows from document_id in passages". Rather than duplicate the key in every table and
writer, the plugin renders those cells as links to the right row (`render_cell`) and gives
row pages the related rows both ways (`related_rows`, shown by `row.html`).

Table pages also hide what nobody reads in a grid: a document's full text and the content
hashes are left out of the HTML table by default (`_col=` brings them back), hashes are
shortened, and paths are shown relative to the corpus folder.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

import markupsafe

from .stores import rpp_database_names, store_version

# Columns left out of a table's HTML page unless `_col`/`_nocol` is given.
HIDDEN_COLUMNS = {
    "documents": ("text", "content_hash", "metadata"),
    "passages": ("text_hash",),
}
HASH_COLUMNS = frozenset({"content_hash", "text_hash", "target_hash"})
# Tables whose `document_id` column names a document by its text id.
DOCUMENT_ID_TABLES = frozenset({"passages", "document_tags", "document_dimensions", "passage_dimensions"})
# Columns of query results that name a row by its text id.
QUERY_ID_COLUMNS = {"passage_id": "passages", "document_id": "documents"}
RANKED_QUERIES = {"passages": "search_passages", "documents": "search_documents"}


def _is_rpp(datasette: Any, database: str) -> bool:
    return database in rpp_database_names(datasette)


async def _pk_for(datasette: Any, database: str, table: str, ident: str) -> tuple[int, str | None] | None:
    """(pk, label) of the row whose text id is `ident`: a document's title, a passage's id."""
    db = datasette.databases[database]
    label = "title" if table == "documents" else "id"
    rows = (await db.execute(f"select pk, {label} from {table} where id = ?", [ident])).rows  # noqa: S608 - fixed names
    return (rows[0][0], rows[0][1]) if rows else None


def _link(href: str, text: str) -> markupsafe.Markup:
    return markupsafe.Markup('<a href="{}">{}</a>').format(href, text)


_roots: dict[str, tuple[tuple[int, ...], str | None]] = {}  # store path -> (store_version, root)


async def corpus_root(datasette: Any, database: str) -> str | None:
    """The folder every stored document path lies under (recomputed when the store changes)."""
    db = datasette.databases[database]
    key, version = str(db.path), store_version(db.path)
    cached = _roots.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    paths = [row[0].split("#", 1)[0] for row in (await db.execute("select path from documents")).rows if row[0]]
    root = None
    absolute = [p for p in paths if os.path.isabs(p)]
    if absolute:
        try:
            root = os.path.commonpath(absolute)
        except ValueError:
            root = None
        if root and len(absolute) == 1:
            root = os.path.dirname(root)
    _roots[key] = (version, root)
    return root


def relative_path(path: str, root: str | None) -> str:
    if root and os.path.isabs(path):
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            return path
        if not rel.startswith(".."):
            return rel
    return path


def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Links for text document/passage ids, short hashes, relative paths (rpp stores only)."""
    if value is None or not _is_rpp(datasette, database):
        return None
    if column in HASH_COLUMNS and isinstance(value, str) and len(value) > 12:
        return markupsafe.Markup('<code title="{}">{}…</code>').format(value, value[:10])
    if column == "path" and table == "documents" and isinstance(value, str):

        async def rel() -> Any:
            shown = relative_path(value, await corpus_root(datasette, database))
            return markupsafe.Markup('<span title="{}">{}</span>').format(value, shown)

        return rel()
    target_table = None
    if table is None and column in QUERY_ID_COLUMNS:  # canned and custom query results
        target_table = QUERY_ID_COLUMNS[column]
    elif column == "document_id" and table in DOCUMENT_ID_TABLES:
        target_table = "documents"
    elif column == "target_id" and table == "labels":
        target_type = _row_value(row, "target_type")
        target_table = {"passage": "passages", "document": "documents"}.get(str(target_type))
    if target_table is None:
        return None
    ident = value.get("value") if isinstance(value, dict) else value
    label = value.get("label") if isinstance(value, dict) else None
    if not isinstance(ident, str):
        return None

    async def linked() -> Any:
        found = await _pk_for(datasette, database, target_table, ident)
        if found is None:
            return None
        pk, row_label = found
        shown = label or row_label
        href = datasette.urls.row(database, target_table, pk)
        if shown and shown != ident:  # as Datasette shows a labelled foreign key
            return markupsafe.Markup('<a href="{}">{}</a>&nbsp;<em>{}</em>').format(href, shown, ident)
        return _link(href, ident)

    return linked()


def _row_value(row: Any, key: str) -> Any:
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


async def related_rows(datasette: Any, database: str, table: str, pk: str) -> list[dict[str, Any]] | None:
    """The "Links from other tables" of a document or passage row page, counted right.

    Entries have Datasette's own shape (`other_table`, `other_column`, `count`, `link`), so
    its row template shows them; None for any other table (Datasette's own list stands).
    """
    if table not in ("documents", "passages") or not _is_rpp(datasette, database):
        return None
    db = datasette.databases[database]

    def entry(other_table: str, other_column: str, count: int, **params: str) -> dict[str, Any]:
        url = f"{datasette.urls.table(database, other_table)}?{urllib.parse.urlencode(params)}"
        return {"other_table": other_table, "other_column": other_column, "count": count, "link": url}

    if table == "documents":
        found = (await db.execute("select id from documents where pk = ?", [pk])).rows
        if not found:
            return None
        doc_id = found[0][0]
        counts = (
            await db.execute(
                "select (select count(*) from passages where document_id = :d),"
                " (select count(*) from document_tags where document_id = :d),"
                " (select count(*) from labels where target_type = 'document' and target_id = :d),"
                " (select count(*) from labels where target_type = 'passage' and target_id like :prefix escape '\\')",
                {"d": doc_id, "prefix": _like_prefix(doc_id + "-p")},
            )
        ).rows[0]
        return [
            entry("passages", "document_id", counts[0], document_id=doc_id, _sort="seq"),
            entry("document_tags", "document_id", counts[1], document_id=doc_id),
            entry("labels", "target_id (the document)", counts[2], target_type="document", target_id=doc_id),
            entry("labels", "target_id (its passages)", counts[3], target_type="passage", target_id__startswith=doc_id + "-p"),
        ]
    found = (await db.execute("select id from passages where pk = ?", [pk])).rows
    if not found:
        return None
    passage_id = found[0][0]
    counts = (
        await db.execute(
            "select (select count(*) from passage_tags where passage_pk = :pk),"
            " (select count(*) from labels where target_type = 'passage' and target_id = :id)",
            {"pk": pk, "id": passage_id},
        )
    ).rows[0]
    return [
        entry("passage_tags", "passage_pk", counts[0], passage_pk=str(pk)),
        entry("labels", "target_id", counts[1], target_type="passage", target_id=passage_id),
    ]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def rewrite_table_request(scope: dict[str, Any], database_names: list[str]) -> tuple[str, str] | None:
    """For a table page of an rpp store: ('redirect', url) or ('query', new query string).

    - `_sort=rank` or a plain `_search` (no sort, no filters) on `passages`/`documents`
      goes to the ranked canned query (`search_passages` / `search_documents`), which
      orders by FTS5's bm25 rank. Datasette's table search sorts by primary key and has
      no rank column (`_sort=rank` was a 500).
    - the HTML table leaves out long and internal columns unless `_col`/`_nocol` is given.
    """
    path = scope.get("path") or ""
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return None
    database, table = parts
    fmt = ""
    for suffix in (".json", ".csv"):
        if table.endswith(suffix):
            table, fmt = table[: -len(suffix)], suffix
    if database not in database_names or table not in ("passages", "documents"):
        return None
    query = (scope.get("query_string") or b"").decode("latin-1")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    args = dict(pairs)
    search = args.get("_search", "").strip()
    sort = args.get("_sort") or args.get("_sort_desc")
    filters = [k for k, _ in pairs if not k.startswith("_")]
    if search and (sort == "rank" or (not sort and not filters and not fmt)):
        target = f"/{database}/{RANKED_QUERIES[table]}{fmt}"
        return "redirect", f"{target}?{urllib.parse.urlencode({'q': search})}"
    if sort == "rank":  # no search: nothing to rank by
        pairs = [(k, v) for k, v in pairs if not (k in ("_sort", "_sort_desc") and v == "rank")]
        return "query", urllib.parse.urlencode(pairs)
    if not fmt and not any(k in ("_col", "_nocol") for k, _ in pairs):
        pairs += [("_nocol", c) for c in HIDDEN_COLUMNS.get(table, ())]
        return "query", urllib.parse.urlencode(pairs)
    return None
