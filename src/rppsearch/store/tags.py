"""Codebook, tags and classifier versions: `dimensions`, `passage_tags`, `document_tags`, `models`.

Rules the rest of the code relies on:
- one row per (target, dimension); a model write never replaces a row whose source is 'human';
- `passages.dimensions` / `documents.dimensions` hold the JSON array of assigned ids (in codebook
  order), refreshed by `refresh_dimensions` after any tag write;
- exactly one row of `models` is active at a time.
Writers hold the transaction (`with store.transaction():`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import Store
from .chunked import chunks, placeholders

if TYPE_CHECKING:
    from ..taxonomy import Taxonomy

__all__ = [
    "PassageRow",
    "PassageTagRow",
    "DocumentTagRow",
    "sync_dimensions",
    "dimension_ids",
    "passages_needing_tags",
    "write_passage_tags",
    "write_document_tags",
    "passage_tags_for_documents",
    "documents_needing_rollup",
    "refresh_dimensions",
    "register_model",
    "activate_model",
    "active_model",
    "list_models",
    "next_model_number",
]


@dataclass(frozen=True)
class PassageRow:
    """What the tagger needs of a passage."""

    pk: int
    id: str
    document_id: str
    text: str
    text_hash: str


@dataclass(frozen=True)
class PassageTagRow:
    """A tag to write on a passage. `evidence` is a list of {text, start, end, score}."""

    passage_pk: int
    dimension_id: str
    score: float
    assigned: bool
    model_version: str | None
    evidence: list[dict[str, Any]]


@dataclass(frozen=True)
class DocumentTagRow:
    """A rolled-up document tag."""

    document_id: str
    dimension_id: str
    score: float
    assigned: bool
    n_passages: int
    model_version: str | None


# -- codebook ----------------------------------------------------------------------------
def sync_dimensions(store: Store, taxonomy: "Taxonomy") -> dict[str, int]:
    """Make the `dimensions` table hold exactly `taxonomy`'s dimensions, in its order.

    Dimensions that left the codebook lose their model tags; a dimension a human tag still
    refers to is kept (humans' decisions are never dropped silently). Records the codebook
    hash in `meta.taxonomy_hash`. Must run inside a transaction.
    """
    conn = store.conn
    assert conn.in_transaction, "sync_dimensions needs a transaction"
    wanted = taxonomy.ids
    existing = {r[0] for r in conn.execute("SELECT id FROM dimensions")}
    for position, dim in enumerate(taxonomy.dimensions):
        conn.execute(
            "INSERT INTO dimensions (id, position, name, definition, taxonomy) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET position = excluded.position, name = excluded.name, "
            "definition = excluded.definition, taxonomy = excluded.taxonomy",
            (dim.id, position, dim.name, dim.definition, taxonomy.name),
        )
    removed = 0
    for old in sorted(existing - set(wanted)):
        conn.execute("DELETE FROM passage_tags WHERE dimension_id = ? AND source = 'model'", (old,))
        conn.execute("DELETE FROM document_tags WHERE dimension_id = ? AND source = 'model'", (old,))
        human = conn.execute(
            "SELECT (SELECT count(*) FROM passage_tags WHERE dimension_id = ?) + "
            "(SELECT count(*) FROM document_tags WHERE dimension_id = ?)",
            (old, old),
        ).fetchone()[0]
        if human == 0:
            conn.execute("DELETE FROM dimensions WHERE id = ?", (old,))
            removed += 1
        else:
            conn.execute("UPDATE dimensions SET position = ? WHERE id = ?", (len(wanted) + removed, old))
    store.set_meta("taxonomy_hash", taxonomy.hash)
    store.set_meta("taxonomy_name", taxonomy.name)
    return {"dimensions": len(wanted), "removed": removed}


def dimension_ids(store: Store) -> list[str]:
    """Dimension ids in codebook order."""
    return [r[0] for r in store.conn.execute("SELECT id FROM dimensions ORDER BY position, id")]


# -- passages to tag -----------------------------------------------------------------------
def passages_needing_tags(store: Store, *, model_version: str, n_dimensions: int, force: bool = False) -> list[PassageRow]:
    """Passages lacking a current tag for some dimension: no row, or a model row of another version.

    A human row counts as current. With `force`, every passage.
    """
    if force:
        sql = "SELECT pk, id, document_id, text, text_hash FROM passages ORDER BY pk"
        params: tuple[Any, ...] = ()
    else:
        sql = (
            "SELECT p.pk, p.id, p.document_id, p.text, p.text_hash FROM passages p "
            "WHERE (SELECT count(*) FROM passage_tags t WHERE t.passage_pk = p.pk "
            "       AND (t.source = 'human' OR t.model_version = ?)) < ? ORDER BY p.pk"
        )
        params = (model_version, n_dimensions)
    return [PassageRow(*r) for r in store.conn.execute(sql, params)]


def write_passage_tags(store: Store, rows: Iterable[PassageTagRow]) -> int:
    """Upsert model tags; rows whose stored source is 'human' are left alone. Returns rows written."""
    conn = store.conn
    assert conn.in_transaction, "write_passage_tags needs a transaction"
    params = [
        (
            r.passage_pk,
            r.dimension_id,
            float(r.score),
            int(bool(r.assigned)),
            r.model_version,
            json.dumps(r.evidence, ensure_ascii=False),
        )
        for r in rows
    ]
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO passage_tags (passage_pk, dimension_id, score, assigned, source, model_version, evidence) "
        "VALUES (?, ?, ?, ?, 'model', ?, ?) "
        "ON CONFLICT(passage_pk, dimension_id) DO UPDATE SET score = excluded.score, "
        "assigned = excluded.assigned, model_version = excluded.model_version, evidence = excluded.evidence "
        "WHERE passage_tags.source = 'model'",
        params,
    )
    return conn.total_changes - before


def write_document_tags(store: Store, rows: Iterable[DocumentTagRow]) -> int:
    """Upsert model document tags; human rows are left alone. Returns rows written."""
    conn = store.conn
    assert conn.in_transaction, "write_document_tags needs a transaction"
    params = [
        (r.document_id, r.dimension_id, float(r.score), int(bool(r.assigned)), int(r.n_passages), r.model_version)
        for r in rows
    ]
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO document_tags (document_id, dimension_id, score, assigned, n_passages, source, model_version) "
        "VALUES (?, ?, ?, ?, ?, 'model', ?) "
        "ON CONFLICT(document_id, dimension_id) DO UPDATE SET score = excluded.score, "
        "assigned = excluded.assigned, n_passages = excluded.n_passages, "
        "model_version = excluded.model_version WHERE document_tags.source = 'model'",
        params,
    )
    return conn.total_changes - before


def passage_tags_for_documents(
    store: Store, document_ids: Sequence[str]
) -> dict[str, list[tuple[int, str, float, bool]]]:
    """For each document: (passage seq, dimension id, score, assigned) of its stored passage tags.

    Human rows are included as stored (they win over the model's reading).
    """
    out: dict[str, list[tuple[int, str, float, bool]]] = {d: [] for d in document_ids}
    for part in chunks(list(document_ids)):
        marks = placeholders(len(part))
        for doc, seq, dim, score, assigned in store.conn.execute(
            "SELECT p.document_id, p.seq, t.dimension_id, t.score, t.assigned FROM passage_tags t "
            f"JOIN passages p ON p.pk = t.passage_pk WHERE p.document_id IN ({marks}) "
            "ORDER BY p.document_id, p.seq",
            list(part),
        ):
            out[doc].append((seq, dim, float(score), bool(assigned)))
    return out


def documents_needing_rollup(store: Store, *, model_version: str, n_dimensions: int) -> list[str]:
    """Documents with passages whose document tags are missing or from another model version."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT d.id FROM documents d WHERE d.passage_count > 0 AND "
            "(SELECT count(*) FROM document_tags t WHERE t.document_id = d.id "
            " AND (t.source = 'human' OR t.model_version = ?)) < ? ORDER BY d.id",
            (model_version, n_dimensions),
        )
    ]


def refresh_dimensions(
    store: Store, *, passage_pks: Sequence[int] | None = None, document_ids: Sequence[str] | None = None
) -> None:
    """Rewrite `passages.dimensions` / `documents.dimensions` from the tag tables (human wins).

    With neither argument, every passage and document. Must run inside a transaction.
    """
    conn = store.conn
    assert conn.in_transaction, "refresh_dimensions needs a transaction"
    passage_sql = (
        "UPDATE passages SET dimensions = coalesce((SELECT json_group_array(id) FROM ("
        " SELECT t.dimension_id AS id FROM passage_tags t JOIN dimensions d ON d.id = t.dimension_id"
        " WHERE t.passage_pk = passages.pk AND t.assigned = 1 ORDER BY d.position)), '[]')"
    )
    document_sql = (
        "UPDATE documents SET dimensions = coalesce((SELECT json_group_array(id) FROM ("
        " SELECT t.dimension_id AS id FROM document_tags t JOIN dimensions d ON d.id = t.dimension_id"
        " WHERE t.document_id = documents.id AND t.assigned = 1 ORDER BY d.position)), '[]')"
    )
    if passage_pks is None and document_ids is None:
        conn.execute(passage_sql)
        conn.execute(document_sql)
        return
    for part in chunks(list(passage_pks or [])):
        conn.execute(passage_sql + f" WHERE pk IN ({placeholders(len(part))})", [int(p) for p in part])
    for part in chunks(list(document_ids or [])):
        conn.execute(document_sql + f" WHERE id IN ({placeholders(len(part))})", list(part))


# -- classifier versions -------------------------------------------------------------------
def _model_row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["metrics"] = json.loads(out.get("metrics") or "{}")
    out["active"] = bool(out["active"])
    return out


def next_model_number(store: Store) -> int:
    """1 + the highest `vN` version number registered (1 when none)."""
    best = 0
    for (version,) in store.conn.execute("SELECT version FROM models"):
        if version.startswith("v") and version[1:].split("-")[0].isdigit():
            best = max(best, int(version[1:].split("-")[0]))
    return best + 1


def register_model(store: Store, card: dict[str, Any], *, path: str, activate: bool = True) -> None:
    """Record a saved model (its card) in `models`; with `activate`, make it the only active one."""
    conn = store.conn
    assert conn.in_transaction, "register_model needs a transaction"
    conn.execute(
        "INSERT INTO models (version, kind, created_at, taxonomy, taxonomy_hash, training_hash, n_examples, "
        "metrics, path, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0) "
        "ON CONFLICT(version) DO UPDATE SET kind = excluded.kind, created_at = excluded.created_at, "
        "taxonomy = excluded.taxonomy, taxonomy_hash = excluded.taxonomy_hash, "
        "training_hash = excluded.training_hash, n_examples = excluded.n_examples, "
        "metrics = excluded.metrics, path = excluded.path",
        (
            card["version"],
            card["kind"],
            card["created_at"],
            card["codebook"]["name"],
            card["codebook"]["hash"],
            card["training"]["hash"],
            int(card["training"]["n_examples"]),
            json.dumps(card.get("metrics", {}), ensure_ascii=False),
            path,
        ),
    )
    if activate:
        activate_model(store, card["version"])


def activate_model(store: Store, version: str) -> None:
    """Make `version` the one active model. Must run inside a transaction."""
    conn = store.conn
    assert conn.in_transaction, "activate_model needs a transaction"
    if conn.execute("SELECT 1 FROM models WHERE version = ?", (version,)).fetchone() is None:
        from ..errors import ModelError  # noqa: PLC0415

        raise ModelError(f"no model version {version!r} is registered", hint="see `rpp models` or run `rpp train`")
    conn.execute("UPDATE models SET active = (version = ?)", (version,))


def active_model(store: Store) -> dict[str, Any] | None:
    """The active model's row (metrics decoded), or None."""
    row = store.conn.execute("SELECT * FROM models WHERE active = 1 LIMIT 1").fetchone()
    return _model_row(row) if row else None


def list_models(store: Store) -> list[dict[str, Any]]:
    """Every registered model, newest first."""
    return [_model_row(r) for r in store.conn.execute("SELECT * FROM models ORDER BY created_at DESC, version DESC")]
