"""Real MiniLM: an added article gets embedding-based suggestions with evidence, a person's
decision overrides them, and a hybrid search filtered by the dimension follows the person.

One encoder load for the module (the encoder is cached in-process); the tagger is trained on a
small slice of the shipped examples with embedding features only, so the test stays quick.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from review_support import passage_dims

from rppsearch.build import build
from rppsearch.config import PACKAGED_MODEL, Settings, default_examples_paths
from rppsearch.review import ReviewSession, decide
from rppsearch.search import Filters, search
from rppsearch.store import Store
from rppsearch.store import labels as labelstore
from rppsearch.store import label_queries
from rppsearch.progress import no_progress

pytestmark = pytest.mark.model

ARTICLE = """\
# Oakridge rebuilds its school support teams

Oakridge Public Schools has replaced its regional offices with school support teams. Each team pairs
an instructional leadership director with a budget analyst, a human resources partner and an operations
coordinator, and serves twelve schools. Principals now bring staffing, budget and facilities questions to
one team that knows their school, instead of filing requests with separate departments downtown.

The instructional leadership directors spend four days a week in schools. They walk classrooms with
principals, plan teacher feedback together, and run a monthly principal learning community where
principals bring problems of practice from their own buildings. Their caseloads were capped at twelve.
"""




@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    from rppsearch.tag.registry import train_and_register

    folder = tmp_path_factory.mktemp("review-model")
    by_label: dict[str, list[str]] = {}
    for path in default_examples_paths():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                for key in json.loads(line)["labels"] or ["(none)"]:
                    by_label.setdefault(key, []).append(line)
    examples = folder / "examples.jsonl"
    examples.write_text("\n".join(dict.fromkeys(x for lines in by_label.values() for x in lines[:12])) + "\n")
    settings = Settings(index_dir=folder / "idx", embedding_model=PACKAGED_MODEL)
    with Store.open(settings.db_path) as store:
        train_and_register(store, settings, label_files=[examples], features="embedding")
    article = folder / "oakridge-support-teams.md"
    article.write_text(ARTICLE, encoding="utf-8")
    report = build(settings, paths=[article], progress=no_progress)
    assert report.ingest.added == ["oakridge-support-teams"], report.ingest.failed
    return settings, article


def test_added_article_has_scores_and_evidence_inside_its_passages(tagged: tuple[Settings, Path]) -> None:
    settings, _ = tagged
    with Store.open(settings.db_path, create=False) as store:
        rows = label_queries.document_suggestions(store, "oakridge-support-teams")
        assert len(rows) == 5 and all(0.0 <= r["score"] <= 1.0 for r in rows)
        assert any(r["assigned"] for r in rows), "the model suggests at least one dimension for this article"
        for r in rows:
            for sentence in (r["evidence"] or {}).get("sentences", []):
                text = store.conn.execute("SELECT text FROM passages WHERE id = ?", (r["evidence"]["passage_id"],)).fetchone()[0]
                assert text[sentence["start"]: sentence["end"]] == sentence["text"]
        session = ReviewSession(store, reviewer="ana", document_ids=["oakridge-support-teams"])
        shown = [session.current()]
        assert shown[0].uncertainty == max(session.uncertainties.values())  # most uncertain first


def test_a_decision_overrides_the_model_in_a_filtered_hybrid_search(tagged: tuple[Settings, Path]) -> None:
    settings, _ = tagged
    with Store.open(settings.db_path, create=False) as store:
        pid = "oakridge-support-teams-p0000"
        model_said = "stewardship" in passage_dims(store, pid)
        decision = "reject" if model_said else "accept"
        decide(store, target=labelstore.resolve_target(store, pid), reviewer="ana", decisions=[("stewardship", decision)])
        hits = search(store, settings, query="school support teams for principals", mode="hybrid",
                      filters=Filters(dimensions=["stewardship"]), auto_refresh=True)
        assert (pid in [h.id for h in hits]) == (decision == "accept")
