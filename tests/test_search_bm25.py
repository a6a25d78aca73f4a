"""The FTS5 engine against rank-bm25 (the reference), and the query builder's safety."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from rank_bm25 import BM25Okapi

from rppsearch.config import Settings
from rppsearch.search import search
from rppsearch.store import search_sql
from test_search_support import Doc, add_docs

WORDS = (
    "principal supervisor coach instruction district office budget transport teacher evidence "
    "partnership learning reform leadership school data network cabinet strategy stewardship "
    "assistance reorganize unit performance equity student family board union contract"
).split()


def _corpus(seed: int = 7, n: int = 40) -> list[Doc]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        length = rng.randint(8, 40)
        # Zipf-like: early words far more frequent, so document frequencies vary widely.
        words = rng.choices(WORDS, weights=[1 / (r + 1) for r in range(len(WORDS))], k=length)
        docs.append(Doc(id=f"doc{i:02d}", passages=[" ".join(words) + "."]))
    return docs


def _indexed_tokens(store) -> dict[int, list[str]]:  # noqa: ANN001
    """Each row's token list exactly as FTS5 indexed it (fts5vocab 'instance')."""
    store.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, passages_fts, instance)")
    rows = store.conn.execute('SELECT doc, term, col, "offset" FROM temp.vocab').fetchall()
    per_doc: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    for doc, term, col, offset in rows:
        per_doc[doc].append((col, offset, term))
    return {doc: [t for _, _, t in sorted(items)] for doc, items in per_doc.items()}


@pytest.fixture
def bm25_store(store):  # noqa: ANN001, ANN201
    add_docs(store, _corpus())
    return store


def test_fts5_scores_equal_rank_bm25(bm25_store) -> None:  # noqa: ANN001
    tokens = _indexed_tokens(bm25_store)
    pks = sorted(tokens)
    reference = BM25Okapi([tokens[pk] for pk in pks], k1=1.2, b=0.75)
    n = len(pks)
    df: dict[str, int] = defaultdict(int)
    for pk in pks:
        for term in set(tokens[pk]):
            df[term] += 1
    # FTS5 clamps the IDF of terms in over half the rows to 1e-6, rank-bm25 to a share of the
    # mean IDF: compare on terms below that line (the scores then follow the same formula).
    terms = sorted(t for t, c in df.items() if 0 < c < n / 2)
    assert len(terms) >= 5, "the corpus should have rare and common terms"
    checked = 0
    for size in (1, 2, 3):
        for start in range(0, len(terms) - size + 1, size):
            query = terms[start : start + size]
            match = " OR ".join(f'"{t}"' for t in query)
            got = dict(search_sql.fts_search(bm25_store, match, weights=(1.0, 1.0, 1.0), limit=n))
            expected = reference.get_scores(query)
            for i, pk in enumerate(pks):
                if expected[i] > 0:
                    assert got[pk] == pytest.approx(expected[i], rel=1e-6), (query, pk)
                    checked += 1
                else:
                    assert pk not in got
    assert checked > 50


def test_search_top10_matches_rank_bm25_order(bm25_store) -> None:  # noqa: ANN001
    tokens = _indexed_tokens(bm25_store)
    pks = sorted(tokens)
    reference = BM25Okapi([tokens[pk] for pk in pks], k1=1.2, b=0.75)
    n = len(pks)
    df: dict[str, int] = defaultdict(int)
    for pk in pks:
        for term in set(tokens[pk]):
            df[term] += 1
    rare = sorted((t for t, c in df.items() if 0 < c < n / 2), key=lambda t: -df[t])[:4]
    hits = search(bm25_store, Settings(index_dir=bm25_store.path.parent), query=" ".join(rare), mode="bm25", limit=10)
    scores = reference.get_scores(rare)
    order = sorted(range(n), key=lambda i: -scores[i])[:10]
    assert [h.score for h in hits] == pytest.approx([scores[i] for i in order], rel=1e-6)
    pk_of = {row[0]: row[1] for row in bm25_store.conn.execute("SELECT id, pk FROM passages")}
    ranked = [pk_of[h.id] for h in hits]
    for rank, (pk, i) in enumerate(zip(ranked, order)):
        # equal scores may come in either order; distinct scores must agree on the passage
        if all(abs(scores[i] - scores[j]) > 1e-9 for j in range(n) if j != i):
            assert pk == pks[i], f"rank {rank + 1}"


@pytest.mark.parametrize("query", ["'", "(", "NEAR(", "^", "-", ":", "*", "\x00", "é ü ß 東京"])
def test_queries_with_no_corpus_word_find_nothing_and_raise_nothing(bm25_store, query: str) -> None:  # noqa: ANN001
    settings = Settings(index_dir=bm25_store.path.parent)
    assert search(bm25_store, settings, query=query, mode="bm25", limit=5) == []


@pytest.mark.parametrize(
    ("hostile", "plain"),
    [
        ("principal*", "principal"),
        ("principal AND OR NOT supervisor", "principal and or not supervisor"),
        ("NEAR (principal supervisor)", "near principal supervisor"),  # NEAR(a is a hyphen-like compound: a phrase
        ("equity ^union", "equity union"),
        ("coaching\x00 data", "coaching data"),
    ],
)
def test_fts5_syntax_in_a_query_is_read_as_its_words(bm25_store, hostile: str, plain: str) -> None:  # noqa: ANN001
    """FTS5's operators, prefixes and the like are words to search for, never syntax (the
    query language's own forms are tested in test_search_query.py)."""
    settings = Settings(index_dir=bm25_store.path.parent)
    got = [(h.id, h.score) for h in search(bm25_store, settings, query=hostile, mode="bm25", limit=10)]
    assert got, f"{hostile!r} lost its words"
    assert got == [(h.id, h.score) for h in search(bm25_store, settings, query=plain, mode="bm25", limit=10)]


def test_highlights_point_at_matched_words(bm25_store) -> None:  # noqa: ANN001
    settings = Settings(index_dir=bm25_store.path.parent)
    hits = search(bm25_store, settings, query="coaching supervisors", mode="bm25", limit=5)
    assert hits
    for hit in hits:
        assert hit.highlights
        for start, end in hit.highlights:
            word = hit.content[start:end].lower()
            assert word.startswith(("coach", "supervisor")), word
        assert hit.metadata["highlights"] == [list(s) for s in hit.highlights]
