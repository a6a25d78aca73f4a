"""The tantivy BM25 index against rank-bm25, and its incremental, crash-safe refresh."""

from __future__ import annotations

import math
import random
import shutil

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from rppsearch.config import Settings
from rppsearch.index import bm25
from rppsearch.search import _Allowed, _Lexical, search
from test_search_support import Doc, add_docs, remove_docs

WORDS = (
    "principal supervisor coaching instruction district office budget transport teacher evidence "
    "partnership learning reform leadership school data network cabinet strategy stewardship "
    "assistance reorganization unit performance equity student family board union contract"
).split()


class LuceneBM25(BM25Okapi):
    """rank-bm25's Okapi scoring with tantivy's (Lucene's) IDF: ln(1 + (N - n + 0.5) / (n + 0.5))."""

    def _calc_idf(self, nd: dict) -> None:  # noqa: D401 - rank-bm25's hook
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


def _docs(seed: int, n: int, prefix: str = "doc") -> list[Doc]:
    rng = random.Random(seed)
    weights = [1 / (r + 1) for r in range(len(WORDS))]
    # at most 30 tokens: tantivy stores field lengths exactly up to 40
    return [Doc(id=f"{prefix}{i:02d}", passages=[" ".join(rng.choices(WORDS, weights=weights, k=rng.randint(5, 30)))]) for i in range(n)]


@pytest.fixture
def settings(store) -> Settings:  # noqa: ANN001
    return Settings(index_dir=store.path.parent, embedding_model="fake")


def _reference(store) -> tuple[list[int], LuceneBM25]:  # noqa: ANN001
    analyzer = bm25._analyzer()
    rows = store.conn.execute("SELECT pk, coalesce(title, ''), heading, text FROM passages ORDER BY pk").fetchall()
    tokens = [analyzer.analyze(bm25.body_text(t, h, x)) for _, t, h, x in rows]
    return [r[0] for r in rows], LuceneBM25(tokens, k1=1.2, b=0.75)


def test_scores_and_top10_equal_rank_bm25(store, settings) -> None:  # noqa: ANN001
    add_docs(store, _docs(3, 60))
    bm25.refresh_lexical(store, settings)
    index = bm25.load_lexical(settings)
    pks, reference = _reference(store)
    stems = bm25._query_analyzer(True)
    checked = 0
    for size in (1, 2, 3):
        for start in range(0, len(WORDS) - size + 1, 2):
            words = WORDS[start : start + size]
            expected = reference.get_scores([s for w in words for s in stems.analyze(w)])
            got = dict(index.search(" ".join(words), limit=len(pks)))
            for i, pk in enumerate(pks):
                if expected[i] > 0:
                    assert got[pk] == pytest.approx(expected[i], rel=1e-5), (words, pk)
                    checked += 1
                else:
                    assert pk not in got
    assert checked > 200
    # the top 10 of a search: same scores in the same order as rank-bm25's
    query = "coaching equity contract union"
    scores = reference.get_scores([s for w in query.split() for s in stems.analyze(w)])
    order = sorted(range(len(pks)), key=lambda i: -scores[i])[:10]
    hits = search(store, settings, query=query, mode="bm25", limit=10)
    assert [h.score for h in hits] == pytest.approx([scores[i] for i in order], rel=1e-5)
    pk_of = dict(store.conn.execute("SELECT id, pk FROM passages").fetchall())
    for hit, i in zip(hits, order):
        if sum(1 for s in scores if abs(s - scores[i]) < 1e-6) == 1:  # ties may come in either order
            assert pk_of[hit.id] == pks[i]


def _all_hits(settings: Settings, query: str) -> dict[int, float]:
    return dict(bm25.load_lexical(settings).search(query, limit=10_000))


def test_incremental_add_and_delete_match_a_fresh_rebuild(store, settings, tmp_path) -> None:  # noqa: ANN001
    add_docs(store, _docs(1, 30))
    assert bm25.refresh_lexical(store, settings)["status"] == "rebuilt"
    add_docs(store, _docs(2, 10, prefix="new"))
    remove_docs(store, ["doc03", "doc07", "doc11"])
    report = bm25.refresh_lexical(store, settings)
    assert report["status"] == "updated"
    assert (report["added"], report["removed"]) == (10, 3)
    fresh = Settings(index_dir=tmp_path / "fresh", embedding_model="fake")
    assert bm25.refresh_lexical(store, fresh, force=True)["status"] == "rebuilt"
    store_pks = {r[0] for r in store.conn.execute("SELECT pk FROM passages")}
    for query in ("coaching", "budget teacher", "equity union contract", "principal"):
        incremental, rebuilt = _all_hits(settings, query), _all_hits(fresh, query)
        assert set(incremental) == set(rebuilt)
        assert set(incremental) <= store_pks
    # every passage is findable exactly once
    everything = _all_hits(settings, " ".join(WORDS))
    assert sorted(everything) == sorted(store_pks)
    assert np.array_equal(np.load(settings.lexical_dir / "pks.npy"), np.array(sorted(store_pks)))


def test_hits_carry_their_documents_after_incremental_changes(store, settings) -> None:  # noqa: ANN001
    """The per-document cap and document ranking take each hit's document from the index
    instead of asking the store: after adds and removals the index must still agree."""
    docs = _docs(4, 12)
    for i, doc in enumerate(docs):  # several passages a document
        doc.passages = doc.passages + [" ".join(WORDS[i : i + 6])]
    add_docs(store, docs)
    bm25.refresh_lexical(store, settings)
    remove_docs(store, ["doc02", "doc05"])
    add_docs(store, _docs(5, 4, prefix="new"))
    assert bm25.refresh_lexical(store, settings)["status"] == "updated"
    hits = bm25.load_lexical(settings).search_with_documents(" ".join(WORDS), limit=10_000)
    truth = dict(store.conn.execute("SELECT p.pk, d.pk FROM passages p JOIN documents d ON d.id = p.document_id"))
    assert len(hits) == len(truth)
    assert {pk: doc for pk, _, doc in hits} == truth
    assert len(set(truth.values())) == 14
    # and the search API's document pks, which use them, agree with the store's for any mix
    lex = _Lexical(store, settings, "coaching equity", allowed=_Allowed(store, None), auto_refresh=False)
    found = [pk for pk, _ in lex.passages(5)]
    others = [pk for pk in truth if pk not in found][:3]
    assert lex.document_pks(found + others + [10**9]) == [truth[pk] for pk in found + others] + [-1]


def test_interrupted_refresh_is_finished_without_duplicates(store, settings) -> None:  # noqa: ANN001
    add_docs(store, _docs(1, 20))
    bm25.refresh_lexical(store, settings)
    add_docs(store, _docs(2, 5, prefix="late"))
    # a run that committed to tantivy but died before writing pks.npy and the manifest
    folder = settings.lexical_dir
    index = bm25._open(folder)
    old = np.load(folder / "pks.npy")
    bm25._apply_changes(store, index, folder, old, np.array(sorted(r[0] for r in store.conn.execute("SELECT pk FROM passages"))))
    del index
    assert "stale" in (bm25.lexical_state(store, settings) or "")
    bm25.refresh_lexical(store, settings)
    hits = bm25.load_lexical(settings).search(" ".join(WORDS), limit=10_000)
    assert len(hits) == len({pk for pk, _ in hits}) == store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]


def test_a_file_left_by_a_run_killed_before_its_commit_does_not_block_the_next_one(store, settings, tmp_path) -> None:  # noqa: ANN001
    add_docs(store, _docs(1, 20))
    bm25.refresh_lexical(store, settings)
    folder = settings.lexical_dir
    before = tmp_path / "before"
    shutil.copytree(folder, before)
    remove_docs(store, ["doc03"])
    bm25.refresh_lexical(store, settings)
    # the kill: tantivy had written the run's delete file, not yet meta.json; ours neither
    for name in ("meta.json", "pks.npy", "manifest.json"):
        shutil.copy(before / name, folder / name)
    left = {p.name for p in folder.glob("*.del")}
    assert left, "the setup should leave a delete file the restored meta.json does not name"
    bm25._LOADED.clear()
    assert bm25.refresh_lexical(store, settings)["status"] == "updated"  # the same opstamp: the same file name
    assert bm25.lexical_state(store, settings) is None
    store_pks = sorted(r[0] for r in store.conn.execute("SELECT pk FROM passages"))
    assert sorted(_all_hits(settings, " ".join(WORDS))) == store_pks  # doc03 gone, nothing twice


def test_stale_index_is_named_and_search_falls_back_to_fts5(store, settings) -> None:  # noqa: ANN001
    add_docs(store, _docs(1, 10))
    bm25.refresh_lexical(store, settings)
    before = store.passages_generation()
    add_docs(store, [Doc(id="fresh", passages=["zebra crossing guards near the school"])])
    assert bm25.lexical_state(store, settings) == (
        f"lexical index is stale: built at generation {before}, store at {store.passages_generation()}"
    )
    lex = _Lexical(store, settings, "zebra", allowed=_Allowed(store, None), auto_refresh=False)
    assert lex.name == "fts5"
    assert [h.document_id for h in search(store, settings, query="zebra", mode="bm25")] == ["fresh"]
    lex = _Lexical(store, settings, "zebra", allowed=_Allowed(store, None), auto_refresh=True)
    assert lex.name == "tantivy"
    assert bm25.lexical_state(store, settings) is None
    assert [h.document_id for h in search(store, settings, query="zebra", mode="bm25")] == ["fresh"]


def test_highlights_follow_the_stems() -> None:
    text = "Supervisors coached principals; the supervisor's coaching."
    spans = bm25.highlight_spans(text, "coach supervisors")
    assert [text[s:e] for s, e in spans] == ["Supervisors", "coached", "supervisor", "coaching"]
