"""Rows Datasette can follow, readable tables, ranked table search (issue 14, part 2).

Every link is followed through Datasette's own client on a real store: a link that 404s
or a count that disagrees with SQL fails the test.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette
from datasette_sample import SAMPLE_DOCS, build_sample_store


@pytest.fixture
def db_path(index_dir: Path) -> Path:
    return build_sample_store(index_dir)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _hrefs(html: str) -> list[str]:
    return [urllib.parse.unquote(h).replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


def _sql(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_document_links_from_passages_tags_and_labels_open_the_document(db_path: Path) -> None:
    ds = Datasette([str(db_path)])
    (doc_pk,) = _sql(db_path, "select pk from documents where id = 'denver-evidence'")[0]
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("insert into labels(target_type, target_id, dimension_id, decision, reviewer, created_at) "
                     "values ('passage', 'denver-evidence-p0001', 'stewardship', 'accept', 'ana', '2026-01-01')")
    conn.close()

    async def main() -> None:
        for page in ("/rpp/passages?document_id=denver-evidence", "/rpp/document_tags?document_id=denver-evidence"):
            html = (await ds.client.get(page)).text
            links = [h for h in _hrefs(html) if h.startswith("/rpp/documents/")]
            assert links and set(links) == {f"/rpp/documents/{doc_pk}"}, page
            target = await ds.client.get(links[0])
            assert target.status_code == 200 and "Using evidence in Denver" in target.text
        labels = (await ds.client.get("/rpp/labels")).text
        (passage_link,) = [h for h in _hrefs(labels) if h.startswith("/rpp/passages/")]
        assert "denver-evidence-p0001" in (await ds.client.get(passage_link)).text

    run(main())


def test_a_document_page_counts_and_links_its_passages_and_a_passage_page_its_document(db_path: Path) -> None:
    ds = Datasette([str(db_path)])
    doc = SAMPLE_DOCS[1]
    (doc_pk,) = _sql(db_path, "select pk from documents where id = ?", doc.id)[0]
    (passage_pk,) = _sql(db_path, "select pk from passages where id = ?", f"{doc.id}-p0000")[0]

    async def main() -> None:
        html = (await ds.client.get(f"/rpp/documents/{doc_pk}")).text
        assert f"{len(doc.passages)} rows</a>\n                from document_id in passages" in html
        assert "0 rows" not in html.split("Links from other tables")[1].split("document_tags")[0]
        (listing,) = {h for h in _hrefs(html) if h.startswith("/rpp/passages?")}
        # Also at the top of the page, above the document's (long) text.
        assert html.index('class="rpp-related"') < html.index('class="rows-and-columns"')
        rows = (await ds.client.get(listing.replace("/rpp/passages?", "/rpp/passages.json?_shape=array&"))).json()
        assert [r["id"] for r in rows] == [f"{doc.id}-p{i:04d}" for i in range(len(doc.passages))]
        passage = (await ds.client.get(f"/rpp/passages/{passage_pk}")).text
        assert f'href="/rpp/documents/{doc_pk}"' in passage  # the way back to its document
        tags_link = [h for h in _hrefs(passage) if h.startswith("/rpp/passage_tags?")]
        tags = (await ds.client.get(tags_link[0].replace("/rpp/passage_tags?", "/rpp/passage_tags.json?_shape=array&"))).json()
        assert len(tags) == 5 and {t["passage_pk"] for t in tags} == {passage_pk}

    run(main())


def test_table_search_is_ranked_and_sort_by_rank_never_fails(db_path: Path) -> None:
    ds = Datasette([str(db_path)])

    async def main() -> None:
        moved = await ds.client.get("/rpp/passages?_search=principals")
        assert moved.status_code == 302
        ranked_url = moved.headers["location"]
        assert ranked_url.startswith("/rpp/search_passages?")
        rows = (await ds.client.get(ranked_url.replace("search_passages?", "search_passages.json?_shape=array&"))).json()
        relevance = [r["relevance"] for r in rows]
        assert len(rows) >= 2 and relevance == sorted(relevance, reverse=True)
        expected = _sql(db_path, "select p.id from passages_fts f join passages p on p.pk = f.rowid "
                        "where passages_fts match 'principals' order by rank")
        assert [r["passage_id"] for r in rows] == [e[0] for e in expected]
        for url in ("/rpp/passages?_search=principals&_sort=rank", "/rpp/documents.json?_search=evidence&_sort=rank",
                    "/rpp/passages?_sort=rank", "/rpp/documents?_sort_desc=rank"):
            response = await ds.client.get(url, follow_redirects=True)
            assert response.status_code == 200, url
        # With a filter, the table keeps its facets (pk order); JSON API unchanged.
        assert (await ds.client.get("/rpp/passages?_search=principals&document_id=hostile")).status_code == 200
        api = (await ds.client.get("/rpp/passages.json?_search=reorganized&_shape=array")).json()
        assert [r["id"] for r in api] == ["tulsa-supervisors-p0001"]

    run(main())


def test_table_pages_hide_full_text_and_hashes_and_show_relative_paths(db_path: Path) -> None:
    ds = Datasette([str(db_path)])
    full_text = _sql(db_path, "select text from documents where id = 'tulsa-supervisors'")[0][0]
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("update documents set path = '/srv/corpus/' || (case when id like 't%' then 'cases/' "
                     "else 'news/' end) || id || '.txt'")
    conn.close()

    async def main() -> None:
        html = (await ds.client.get("/rpp/documents")).text
        assert full_text[:200] not in html
        assert "/srv/corpus/" not in re.sub(r'title="[^"]*"', "", html)
        assert ">cases/tulsa-supervisors.txt<" in html
        shown = await ds.client.get("/rpp/documents?_col=text&_col=title")
        assert full_text[:200] in shown.text  # asked for: shown
        row = (await ds.client.get("/rpp/documents/1")).text
        assert full_text[:200] in row  # the row page shows the whole text
        passages = (await ds.client.get("/rpp/passages")).text
        text_hash = _sql(db_path, "select text_hash from passages limit 1")[0][0]
        assert text_hash not in passages

    run(main())
