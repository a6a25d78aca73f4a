"""A small, real rpp store for the Datasette tests: documents, passages, codebook, tags, vectors.

Built through the store's own writers (documents, tags, vectors) and the real vectors index,
so the plugin is tested against what `rpp build` leaves behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
import subprocess
from pathlib import Path

from rppsearch.config import Settings
from rppsearch.models import Document, Metadata, Passage


@dataclass
class SampleDoc:
    id: str
    title: str
    organization: str | None
    districts: list[str]
    year: int | None
    doc_type: str | None
    # (passage text, assigned dimension ids)
    passages: list[tuple[str, list[str]]] = field(default_factory=list)


SAMPLE_DOCS = [
    SampleDoc(
        "tulsa-supervisors",
        "Principal supervisors in Tulsa",
        "Wallace Foundation",
        ["Tulsa Public Schools"],
        2015,
        "case study",
        [
            (
                ("Principal supervisors met weekly with each principal to observe classrooms and "
                "coach instructional leadership, working one-on-one in the schools rather than "
                "monitoring compliance from the central office."),
                ["learning-partnerships"],
            ),
            (
                ("The district reorganized its human resources unit into case managers who serve "
                "a fixed group of schools, so principals call one person for every hiring question."),
                ["unit-reorganization"],
            ),
        ],
    ),
    SampleDoc(
        "denver-evidence",
        "Using evidence in Denver's central office",
        "University of Washington DL2",
        ["Denver Public Schools", "Aurora Public Schools"],
        2019,
        "report",
        [
            (
                ("Central office staff gathered survey and observation data on how principals "
                "experienced their support, and used that evidence to revise the budget process."),
                ["evidence-use"],
            ),
            (
                ("The superintendent's cabinet acted as stewards of the transformation, explaining "
                "the theory of action to the board and protecting time for supervisors."),
                ["stewardship"],
            ),
        ],
    ),
    SampleDoc(
        "bus-news",
        "Bus driver shortage",
        "Local News",
        [],
        2021,
        "news",
        [
            (
                ("A shortage of bus drivers delayed the start of the school day for thousands of "
                "students; the transportation office is recruiting retirees."),
                [],
            ),
        ],
    ),
    SampleDoc(
        "hostile",
        "<script>alert('title')</script> Hostile title",
        "Evil <b>Org</b>",
        [],
        2020,
        "report",
        [
            (
                ("This passage mentions principals and contains <script>alert('xss')</script> "
                "and <img src=x onerror=alert(1)> markup that must never run."),
                ["learning-partnerships"],
            ),
        ],
    ),
]


def _document(sample: SampleDoc) -> Document:
    texts = [t for t, _ in sample.passages]
    text = "\n\n".join(texts)
    passages = []
    pos = 0
    for seq, chunk in enumerate(texts):
        passages.append(Passage(seq=seq, text=chunk, start=pos, end=pos + len(chunk)))
        pos += len(chunk) + 2
    return Document(
        id=sample.id,
        path=f"docs/{sample.id}.txt",
        format="txt",
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        metadata=Metadata(
            title=sample.title,
            organization=sample.organization,
            districts=list(sample.districts),
            year=sample.year,
            doc_type=sample.doc_type,
        ),
        passages=passages,
    )


def build_sample_store(index_dir: Path, *, model: str = "fake", docs: list[SampleDoc] | None = None) -> Path:
    """Create `index_dir/rpp.db` with the sample documents, tags and vectors; return its path."""
    from rppsearch.index import vectors as vindex
    from rppsearch.store import Store
    from rppsearch.store import tags as tag_store
    from rppsearch.store.documents import replace_document
    from rppsearch.taxonomy import load_default_taxonomy

    docs = SAMPLE_DOCS if docs is None else docs
    settings = Settings(index_dir=index_dir, embedding_model=model)
    taxonomy = load_default_taxonomy()
    with Store.open(settings.db_path) as store:
        with store.transaction():
            tag_store.sync_dimensions(store, taxonomy)
            for sample in docs:
                replace_document(store, _document(sample))
        rows = store.conn.execute(
            "SELECT p.pk, p.document_id, p.seq FROM passages p ORDER BY p.pk"
        ).fetchall()
        by_doc = {s.id: s for s in docs}
        passage_tags = []
        doc_hits: dict[str, dict[str, list[float]]] = {}
        for pk, doc_id, seq in rows:
            assigned = set(by_doc[doc_id].passages[seq][1])
            for i, dim in enumerate(taxonomy.ids):
                # Assigned: 0.8–0.95; not assigned: 0.05–0.45 (so the review queue has an order).
                score = 0.95 - 0.05 * i if dim in assigned else 0.05 + 0.1 * ((pk + i) % 5)
                passage_tags.append(
                    tag_store.PassageTagRow(
                        passage_pk=pk,
                        dimension_id=dim,
                        score=round(score, 3),
                        assigned=dim in assigned,
                        model_version="test-1",
                        evidence=[],
                    )
                )
                doc_hits.setdefault(doc_id, {}).setdefault(dim, []).append(score if dim in assigned else 0.0)
        document_tags = [
            tag_store.DocumentTagRow(
                document_id=doc_id,
                dimension_id=dim,
                score=max(scores),
                assigned=max(scores) > 0.5,
                n_passages=sum(1 for s in scores if s > 0.5),
                model_version="test-1",
            )
            for doc_id, dims in doc_hits.items()
            for dim, scores in dims.items()
        ]
        with store.transaction():
            tag_store.write_passage_tags(store, passage_tags)
            tag_store.write_document_tags(store, document_tags)
            tag_store.refresh_dimensions(store)
        vindex.embed_missing(store, settings)
        vindex.refresh_index(store, settings)
    return settings.db_path


def labels(db_path: Path) -> list[tuple[object, ...]]:
    """(target_id, dimension_id, decision, reviewer) of every label, oldest first."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("select target_id, dimension_id, decision, reviewer from labels order by id").fetchall()
    finally:
        conn.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch_when_up(url: str, proc: "subprocess.Popen[bytes]", *, timeout: float = 90.0) -> bytes:
    """GET `url` once the server process answers (fail if it exits or never answers)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer from {url} within {timeout:.0f}s")
