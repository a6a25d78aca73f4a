"""The search page for researchers (issue 14, part 3), through Datasette's client on a real store.

Counts are checked against the store with SQL or against the JSON of the same query, never
against numbers written into the test.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette
from datasette_sample import SAMPLE_DOCS, SampleDoc, build_sample_store

UNDATED = SampleDoc(
    "undated-notes", "Notes on principal coaching", None, [], None, None,
    [("Principal coaching notes without a date: supervisors observed principals and gave feedback.", [])],
)


@pytest.fixture
def db_path(index_dir: Path) -> Path:
    return build_sample_store(index_dir, docs=[*SAMPLE_DOCS, UNDATED])


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def q(**params: Any) -> str:
    return urllib.parse.urlencode(params, doseq=True)


def _hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


def test_total_paging_and_exports_cover_the_whole_result_set(db_path: Path) -> None:
    ds = Datasette([str(db_path)])

    async def main() -> None:
        full = (await ds.client.get("/-/rpp-search.json?" + q(q="principals", mode="bm25", per_document=0))).json()
        total = full["total"]
        expected = sqlite3.connect(db_path).execute(
            "select count(*) from passages_fts where passages_fts match 'principals'").fetchone()[0]
        assert total == expected >= 3
        first = await ds.client.get("/-/rpp-search?" + q(q="principals", mode="bm25", per_document=0, limit=2))
        assert f"<strong>1–2</strong> of <strong>{total}</strong>" in first.text
        (next_url,) = [h for h in _hrefs(first.text) if "offset=2" in h]
        second = (await ds.client.get(next_url.replace("/-/rpp-search?", "/-/rpp-search.json?"))).json()
        assert [r["rank"] for r in second["results"]] == [3, 4][: total - 2]
        assert [r["id"] for r in second["results"]] == [r["id"] for r in full["results"][2:4]]
        # CSV: every result (not just the page), with absolute links.
        exported = await ds.client.get("/-/rpp-search.csv?" + q(q="principals", mode="bm25", per_document=0, limit=2))
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [r["id"] for r in rows] == [r["id"] for r in full["results"]]
        assert all(r["passage_url"].startswith("http://localhost/rpp/passages/") for r in rows)
        everything = (await ds.client.get("/-/rpp-search.json?" + q(q="principals", mode="bm25", per_document=0,
                                                                     limit=2, _all=1))).json()
        assert everything["exported_all"] and everything["count"] == total

    run(main())


def test_facets_count_the_results_and_refine_the_query(db_path: Path) -> None:
    ds = Datasette([str(db_path)])

    async def main() -> None:
        data = (await ds.client.get("/-/rpp-search.json?" + q(q="principals", mode="bm25", per_document=0))).json()
        orgs = dict(data["facets"]["organization"])
        counted: dict[str, int] = {}
        for r in data["results"]:
            if r["metadata"]["organization"]:
                counted[r["metadata"]["organization"]] = counted.get(r["metadata"]["organization"], 0) + 1
        assert orgs == counted
        page = (await ds.client.get("/-/rpp-search?" + q(q="principals", mode="bm25", per_document=0))).text
        assert 'class="rpp-facets"' in page
        (refine,) = [h for h in _hrefs(page) if "organization=Wallace+Foundation" in h]
        narrowed = (await ds.client.get(refine.replace("/-/rpp-search?", "/-/rpp-search.json?"))).json()
        assert narrowed["total"] == orgs["Wallace Foundation"]
        assert {r["metadata"]["organization"] for r in narrowed["results"]} == {"Wallace Foundation"}

    run(main())


def test_a_filter_says_how_many_documents_it_left_out_and_can_include_them(db_path: Path) -> None:
    ds = Datasette([str(db_path)])

    async def main() -> None:
        page = await ds.client.get("/-/rpp-search?" + q(q="principal coaching", mode="bm25", year_from=2010))
        assert "1 document lacks a year and was left out" in page.text
        assert "undated-notes" not in page.text
        (toggle,) = [h for h in _hrefs(page.text) if "include_unknown=1" in h]
        kept = await ds.client.get(toggle)
        assert "undated-notes" in kept.text and "was kept" in kept.text

    run(main())


def test_passages_are_grouped_under_their_document_with_more_from_it(db_path: Path) -> None:
    ds = Datasette([str(db_path)])

    async def main() -> None:
        page = (await ds.client.get("/-/rpp-search?" + q(q="principals district", mode="bm25", per_document=1))).text
        sections = re.findall(r'<section class="rpp-doc">(.*?)</section>', page, re.S)
        titles = [re.search(r'class="rpp-doclink"[^>]*>([^<]*)<', s).group(1) for s in sections]
        assert len(titles) == len(set(titles))  # one section per document
        more = [h for h in _hrefs(page) if "document=tulsa-supervisors" in h]
        assert more and "1 more from this document" in page
        listed = (await ds.client.get(more[0].replace("/-/rpp-search?", "/-/rpp-search.json?"))).json()
        assert {r["document_id"] for r in listed["results"]} == {"tulsa-supervisors"}
        assert len(listed["results"]) == 2

    run(main())


def test_hits_say_how_they_matched_and_badges_who_assigned_the_dimension(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with conn:  # a reviewer confirmed one tag
        (pk,) = conn.execute("select pk from passages where id = 'tulsa-supervisors-p0000'").fetchone()
        conn.execute("update passage_tags set source = 'human', score = 1.0 where passage_pk = ? "
                     "and dimension_id = 'learning-partnerships'", (pk,))
        conn.execute("insert into labels(target_type, target_id, dimension_id, decision, reviewer, created_at) "
                     "values ('passage', 'tulsa-supervisors-p0000', 'learning-partnerships', 'accept', 'ana', '2026-01-01')")
    conn.close()
    ds = Datasette([str(db_path)])

    async def main() -> None:
        data = (await ds.client.get("/-/rpp-search.json?" + q(q="principal supervisors coach"))).json()
        top = data["results"][0]
        assert top["matched"] in ("words", "meaning", "both")
        assert set(top["matched_by"]) <= {"bm25", "semantic"} and all(v["rank"] >= 1 for v in top["matched_by"].values())
        assert 0 <= top["relevance"] <= 100
        page = (await ds.client.get("/-/rpp-search?" + q(q="principal supervisors coach"))).text
        assert "learning-partnerships ✓ ana" in page
        assert re.search(r"unit-reorganization 0\.\d\d model", page)
        assert re.search(r"matched by (both|words|meaning)", page)

    run(main())


def test_the_home_page_has_a_search_box(db_path: Path) -> None:
    ds = Datasette([str(db_path)])

    async def main() -> None:
        home = (await ds.client.get("/")).text
        assert re.search(r'<form class="rpp-home-search" action="/-/rpp-search"', home)
        assert 'name="q"' in home

    run(main())


def test_the_filter_choices_follow_a_write_to_the_served_store(db_path: Path) -> None:
    """The filter selects are read once per store version: a document added while serving
    brings its organization into the select on the next request."""
    ds = Datasette([str(db_path)])
    new_org = "Organization added while serving"

    async def main() -> None:
        before = (await ds.client.get("/-/rpp-search")).text
        assert "<option" in before and new_org not in before
        conn = sqlite3.connect(db_path)
        with conn:
            conn.execute("update documents set organization = ? where pk = (select min(pk) from documents)", [new_org])
        conn.close()
        after = (await ds.client.get("/-/rpp-search")).text
        assert f">{new_org}</option>" in after

    run(main())


def test_serve_warms_the_encoder_at_start_without_waiting_for_it(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rpp serve` sets RPP_WARM=1: one search in a background thread at startup loads the
    model and reads the vectors index, so the first researcher's query is as fast as the rest."""
    import threading

    from rppsearch import embed
    from rppsearch.index import vectors
    from rppsearch.web import hooks, search_page, sqlfuncs

    embedder = sqlfuncs.QueryEmbedder()
    monkeypatch.setattr(sqlfuncs, "EMBEDDER", embedder)
    monkeypatch.setattr(search_page, "EMBEDDER", embedder)
    monkeypatch.setattr(embed, "_CACHE", {})  # nothing loaded yet in this process
    monkeypatch.setattr(vectors, "_LOADED", {})
    monkeypatch.setenv(hooks.WARM_ENV, "1")
    ds = Datasette([str(db_path)])
    run(ds.invoke_startup())  # returns at once; the loading runs in "rpp-warm"
    for thread in threading.enumerate():
        if thread.name == "rpp-warm":
            thread.join(timeout=60)
    assert embedder.loads == 1
    assert len(embed._CACHE) == 1  # noqa: SLF001 - the store's model is loaded
    assert len(vectors._LOADED) == 1  # noqa: SLF001 - and the vectors index read



FEEDBACK_DOCS = [
    SampleDoc("answer", "A", None, [], 2020, None,
              [("inquiry cycles with kestrel dashboards and quarterly review protocols", [])]),
    # shares no word with the question, only with the first answer
    SampleDoc("sibling", "B", None, [], 2020, None, [("kestrel dashboards quarterly protocols for principals", [])]),
    SampleDoc("noise1", "C", None, [], 2020, None, [("bus routes changed after the driver shortage", [])]),
    SampleDoc("noise2", "D", None, [], 2020, None, [("the cafeteria menu adds a salad bar", [])]),
    SampleDoc("noise3", "E", None, [], 2020, None, [("budget offices track spending across the district", [])]),
]


def test_the_expand_box_widens_the_words_side_in_hybrid_mode_only(index_dir: Path) -> None:
    from rppsearch.config import Settings
    from rppsearch.index.bm25 import refresh_lexical
    from rppsearch.store import Store

    db_path = build_sample_store(index_dir, docs=FEEDBACK_DOCS)
    with Store.open(db_path) as store:
        refresh_lexical(store, Settings(index_dir=index_dir, embedding_model="fake"))
    ds = Datasette([str(db_path)])

    def by_words(payload: dict) -> set[str]:
        return {r["document_id"] for r in payload["results"] if "bm25" in (r.get("matched_by") or {})}

    async def main() -> None:
        base = {"q": "inquiry cycles review", "by": "document"}
        plain = (await ds.client.get("/-/rpp-search.json?" + q(**base))).json()
        widened = (await ds.client.get("/-/rpp-search.json?" + q(**base, expand=1))).json()
        assert by_words(plain) == {"answer"} and plain["expand"] is False
        assert "sibling" in by_words(widened) and widened["expand"] is True
        bm25 = (await ds.client.get("/-/rpp-search.json?" + q(**base, mode="bm25", expand=1))).json()
        assert by_words(bm25) == {"answer"}  # words alone: nothing to widen with
        page = await ds.client.get("/-/rpp-search?" + q(**base, expand=1))
        assert re.search(r'name="expand" value="1" checked', page.text)

    run(main())
