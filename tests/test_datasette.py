"""The Datasette plugin through Datasette's own test client, on a real store file.

Covers issue 6: metadata (facets, FTS, hidden tables, canned queries, views), the SQL
functions, the /-/rpp-search page (HTML and JSON), bad parameters (400, no traceback),
escaping of hostile document text, read-only connections, and reads during writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasette.app import Datasette
from datasette_sample import SAMPLE_DOCS, SampleDoc, build_sample_store

from rppsearch.web import accounts, sqlfuncs, stores
from rppsearch.web.search_page import snippet_segments


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_fn())


@pytest.fixture
def db_path(index_dir: Path) -> Path:
    return build_sample_store(index_dir)


def make_ds(*paths: Path) -> Datasette:
    return Datasette([str(p) for p in paths])


async def get_json(ds: Datasette, path: str, status: int = 200) -> Any:
    response = await ds.client.get(path)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response.json()


def q(**params: Any) -> str:
    return urllib.parse.urlencode(params, doseq=True)


# -- metadata, facets, FTS ---------------------------------------------------------------
def test_plain_datasette_gets_title_descriptions_and_hidden_tables(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        meta = await get_json(ds, "/-/metadata.json")
        assert meta["title"].startswith("rppsearch")
        tables = meta["databases"]["rpp"]["tables"]
        assert tables["passages"]["fts_table"] == "passages_fts"
        assert tables["documents"]["fts_table"] == "documents_fts"
        info = await get_json(ds, "/rpp.json")
        hidden = {t["name"] for t in info["tables"] if t["hidden"]}
        visible = {t["name"] for t in info["tables"] if not t["hidden"]}
        assert {"meta", "passage_vectors", "passages_fts"} <= hidden
        assert {"documents", "passages", "dimensions", "passage_tags", "labels"} <= visible
        views = {v["name"] for v in info["views"]}
        assert {"document_dimensions", "passage_dimensions", "coverage_by_year"} <= views
        page = (await ds.client.get("/rpp/documents")).text
        assert "Publishing organization" in page  # a column description is shown
        assert "/-/rpp-search" in (await ds.client.get("/")).text

    run(main)


def test_facets_by_dimension_organization_district_year_and_type(db_path: Path) -> None:
    ds = make_ds(db_path)
    expected_dims: dict[str, int] = {}
    for doc in SAMPLE_DOCS:
        for dim in {d for _, dims in doc.passages for d in dims}:
            expected_dims[dim] = expected_dims.get(dim, 0) + 1

    async def main() -> None:
        data = await get_json(ds, "/rpp/documents.json?_extra=facet_results")
        facets = data["facet_results"]
        assert set(facets) >= {"dimensions", "organization", "districts", "year", "doc_type"}
        dims = {row["value"]: row["count"] for row in facets["dimensions"]["results"]}
        assert dims == expected_dims
        districts = {row["value"] for row in facets["districts"]["results"]}
        assert districts == {d for doc in SAMPLE_DOCS for d in doc.districts}
        # Following a facet narrows the table.
        rows = await get_json(ds, "/rpp/documents.json?_shape=array&dimensions__arraycontains=evidence-use")
        assert [r["id"] for r in rows] == ["denver-evidence"]
        passages = await get_json(ds, "/rpp/passages.json?_extra=facet_results")
        assert "dimensions" in passages["facet_results"]

    run(main)


def test_full_text_search_on_passages_and_documents(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        rows = await get_json(ds, "/rpp/passages.json?_shape=array&_search=reorganized")
        assert [r["id"] for r in rows] == ["tulsa-supervisors-p0001"]
        rows = await get_json(ds, "/rpp/documents.json?_shape=array&_search=transportation")
        assert [r["id"] for r in rows] == ["bus-news"]
        # Porter stemming: "steward" finds the passage that says "stewards".
        rows = await get_json(ds, "/rpp/passages.json?_shape=array&_search=steward")
        assert [r["id"] for r in rows] == ["denver-evidence-p0001"]

    run(main)


def test_metadata_leaves_other_databases_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table t (x)")
    conn.commit()
    conn.close()
    ds = make_ds(other)

    async def main() -> None:
        meta = await get_json(ds, "/-/metadata.json")
        assert "title" not in meta
        response = await ds.client.get("/-/rpp-search.json?q=x")
        assert response.status_code == 404
        assert "no rppsearch store" in response.json()["error"]

    run(main)


# -- canned queries and views --------------------------------------------------------------
def test_canned_queries_answer_newcomer_questions(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        rows = await get_json(
            ds, "/rpp/passages_for_dimension.json?_shape=array&" + q(dimension="evidence-use", min_score="0.5")
        )
        assert [r["passage_id"] for r in rows] == ["denver-evidence-p0000"]
        assert all(r["score"] >= 0.5 for r in rows)
        # A higher threshold than the tag's score leaves nothing.
        rows = await get_json(
            ds, "/rpp/passages_for_dimension.json?_shape=array&" + q(dimension="evidence-use", min_score="0.99")
        )
        assert rows == []
        untagged = await get_json(ds, "/rpp/untagged_documents.json?_shape=array")
        assert [r["id"] for r in untagged] == ["bus-news"]
        years = await get_json(ds, "/rpp/coverage_by_year.json?_shape=array&dimension_id=learning-partnerships")
        by_year = {r["year"]: r for r in years}
        assert by_year[2015]["tagged_documents"] == 1 and by_year[2021]["tagged_documents"] == 0
        assert by_year[2021]["percent_documents"] == 0.0

    run(main)


def test_coverage_by_district_counts_every_listed_district(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        rows = await get_json(ds, "/rpp/coverage_by_district.json?_shape=array&dimension_id=evidence-use")
        got = {r["district"]: (r["documents"], r["tagged_documents"]) for r in rows}
        assert got["Denver Public Schools"] == (1, 1)
        assert got["Aurora Public Schools"] == (1, 1)
        assert got["Tulsa Public Schools"] == (1, 0)
        assert got["(none)"] == (2, 0)

    run(main)


def test_review_queue_is_uncertain_first_and_drops_decided_suggestions(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def queue() -> list[dict[str, Any]]:
        return await get_json(ds, "/rpp/review_queue.json?_shape=array&_size=max")

    rows = run(queue)
    margins = [r["margin"] for r in rows]
    assert margins == sorted(margins)
    first = rows[0]
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO labels (target_type, target_id, dimension_id, decision, reviewer, created_at) "
            "VALUES ('passage', ?, ?, 'reject', 'ana', '2026-01-01T00:00:00+00:00')",
            (first["passage_id"], first["dimension_id"]),
        )
    conn.close()
    after = run(queue)
    keys = {(r["passage_id"], r["dimension_id"]) for r in after}
    assert (first["passage_id"], first["dimension_id"]) not in keys
    assert len(after) == len(rows) - 1


# -- SQL functions -------------------------------------------------------------------------
def test_rpp_similarity_matches_the_encoder_and_ranks_the_passage_itself_first(db_path: Path) -> None:
    from rppsearch.embed import get_encoder

    ds = make_ds(db_path)
    query = "human resources case managers serve a group of schools for hiring"
    sql = (
        "select p.id, rpp_similarity(v.vector, :q) as s, v.vector from passage_vectors v "
        "join passages p on p.pk = v.passage_pk order by s desc"
    )

    async def main() -> list[dict[str, Any]]:
        return await get_json(ds, "/rpp.json?_shape=array&" + q(sql=sql, q=query))

    rows = run(main)
    assert rows[0]["id"] == "tulsa-supervisors-p0001"
    encoder = get_encoder("fake")
    qvec = encoder.encode([query])[0]
    conn = sqlite3.connect(db_path)
    stored = dict(conn.execute("select p.id, v.vector from passage_vectors v join passages p on p.pk = v.passage_pk"))
    conn.close()
    for row in rows:
        expected = float(np.dot(np.frombuffer(stored[row["id"]], dtype="<f4"), qvec))
        assert row["s"] == pytest.approx(expected, abs=1e-5)


def test_rpp_similarity_is_null_for_empty_text_or_foreign_blobs(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> list[dict[str, Any]]:
        sql = (
            "select rpp_similarity(vector, '') as empty, rpp_similarity(x'00010203', 'principal') as short, "
            "length(rpp_embed('principal')) as n from passage_vectors limit 1"
        )
        return await get_json(ds, "/rpp.json?_shape=array&" + q(sql=sql))

    (row,) = run(main)
    assert row["empty"] is None and row["short"] is None
    assert row["n"] == 4 * 384  # float32 blob of the fake encoder's 384 dimensions


def test_query_embedder_loads_once_and_embeds_each_text_once() -> None:
    embedder = sqlfuncs.QueryEmbedder()
    results: list[Any] = []

    def work() -> None:
        for _ in range(5):
            results.append(embedder.vector("fake:32", "principal supervisors"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert embedder.encodes == 1  # 20 requests, one encoding
    assert all(np.array_equal(r, results[0]) for r in results)


def test_model_name_from_fingerprint() -> None:
    f = stores.model_name_from_fingerprint
    assert f("all-MiniLM-L6-v2@53aa51172d") == "all-MiniLM-L6-v2"
    assert f("fake@64") == "fake:64"
    assert f("/models/x@y@abc") == "/models/x@y"


# -- read-only unless writing is enabled ---------------------------------------------------
def test_connections_are_read_only_unless_writable(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(stores.WRITABLE_ENV, raising=False)

    async def try_write(ds: Datasette) -> None:
        await ds.invoke_startup()
        await ds.get_database("rpp").execute_write("insert into meta(key, value) values ('x', 'y')")

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        run(lambda: try_write(make_ds(db_path)))
    monkeypatch.setenv(stores.WRITABLE_ENV, "1")
    run(lambda: try_write(make_ds(db_path)))
    conn = sqlite3.connect(db_path)
    assert conn.execute("select value from meta where key = 'x'").fetchone() == ("y",)
    conn.close()


# -- the search page -----------------------------------------------------------------------
def test_search_json_returns_ranked_hits_with_row_links(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        data = await get_json(ds, "/-/rpp-search.json?" + q(q="principal supervisors coach instructional leadership"))
        assert data["ok"] and data["mode"] == "hybrid" and data["mode_used"] == "hybrid"
        assert data["count"] == len(data["results"]) > 0
        top = data["results"][0]
        assert top["id"] == "tulsa-supervisors-p0000"
        assert {"id", "document_id", "title", "score", "content", "dimensions", "metadata", "url"} <= set(top)
        assert top["url"].startswith("http://localhost/rpp/passages/")  # absolute, for exports
        row = await get_json(ds, urllib.parse.urlsplit(top["url"]).path + ".json?_shape=array")
        assert row[0]["id"] == top["id"] and row[0]["text"] == top["content"]
        doc = await get_json(ds, urllib.parse.urlsplit(top["document_url"]).path + ".json?_shape=array")
        assert doc[0]["id"] == top["document_id"]
        # Highlights are offsets into the content that cover query words.
        words = {top["content"][s:e].lower() for s, e in top["highlights"]}
        assert words and all(w.startswith(("principal", "supervisor", "coach", "instruct", "leader")) for w in words)

    run(main)


def test_search_filters_by_dimension_and_metadata(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        base = {"q": "principals central office", "mode": "bm25"}
        every = await get_json(ds, "/-/rpp-search.json?" + q(**base))
        assert len({r["document_id"] for r in every["results"]}) > 1
        only = await get_json(ds, "/-/rpp-search.json?" + q(**base, dimension="evidence-use"))
        assert only["results"] and all("evidence-use" in r["dimensions"] for r in only["results"])
        org = await get_json(ds, "/-/rpp-search.json?" + q(**base, organization="Wallace Foundation"))
        assert org["results"] and {r["document_id"] for r in org["results"]} == {"tulsa-supervisors"}
        district = await get_json(ds, "/-/rpp-search.json?" + q(**base, district="Aurora Public Schools"))
        assert {r["document_id"] for r in district["results"]} == {"denver-evidence"}
        years = await get_json(ds, "/-/rpp-search.json?" + q(**base, year_from=2016, year_to=2019))
        assert {r["metadata"]["year"] for r in years["results"]} == {2019}
        docs = await get_json(ds, "/-/rpp-search.json?" + q(**base, by="document"))
        ids = [r["id"] for r in docs["results"]]
        assert len(ids) == len(set(ids)) and set(ids) <= {d.id for d in SAMPLE_DOCS}
        assert all(r["url"] and "/rpp/documents/" in r["url"] for r in docs["results"])

    run(main)


def test_search_page_html_has_form_options_results_and_highlights(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        empty = await ds.client.get("/-/rpp-search")
        assert empty.status_code == 200
        assert 'name="q"' in empty.text and 'value="evidence-use"' in empty.text
        assert "Wallace Foundation" in empty.text and "Aurora Public Schools" in empty.text
        page = await ds.client.get("/-/rpp-search?" + q(q="bus drivers shortage", mode="bm25"))
        assert page.status_code == 200
        assert 'href="/rpp/passages/' in page.text
        assert "<mark>" in page.text and "<mark>bus</mark>" in page.text.lower()
        assert 'value="bus drivers shortage"' in page.text

    run(main)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": "x", "mode": "fuzzy"}, "mode"),
        ({"q": "x", "by": "chapter"}, "by"),
        ({"q": "x", "dimension": "no-such-dimension"}, "dimension"),
        ({"q": "x", "limit": "ten"}, "limit"),
        ({"q": "x", "limit": "0"}, "limit"),
        ({"q": "x", "limit": "5000"}, "limit"),
        ({"q": "x", "min_score": "1.5"}, "min_score"),
        ({"q": "x", "weight": "nan"}, "weight"),
        ({"q": "x", "year_from": "twenty"}, "year_from"),
        ({"q": "x", "year_from": "2020", "year_to": "2010"}, "year_from"),
        ({"q": "x", "fusion": "max"}, "fusion"),
        ({"q": "x", "db": "elsewhere"}, "db"),
        ({"q": "word " * 300}, "q"),
        ({"q": "x", "organization": "o" * 500}, "organization"),
    ],
)
def test_bad_parameters_get_a_clear_400(db_path: Path, params: dict[str, str], needle: str) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        response = await ds.client.get("/-/rpp-search.json?" + q(**params))
        assert response.status_code == 400
        body = response.json()
        assert body["ok"] is False and body["error"].startswith(f"{needle}:")
        page = await ds.client.get("/-/rpp-search?" + q(**params))
        assert page.status_code == 400
        assert "Traceback" not in page.text
        assert f"{needle}:" in page.text and 'class="rpp-error"' in page.text

    run(main)


def test_document_text_is_escaped_everywhere(db_path: Path) -> None:
    ds = make_ds(db_path)

    async def main() -> None:
        for mode in ("bm25", "hybrid"):
            page = (await ds.client.get("/-/rpp-search?" + q(q="markup must never run", mode=mode))).text
            assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page
            assert "<script>alert(" not in page
            assert "<img src=x" not in page
            assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Hostile title" in page
        form = (await ds.client.get("/-/rpp-search")).text
        assert "Evil &lt;b&gt;Org&lt;/b&gt;" in form and "Evil <b>Org</b>" not in form
        # The query itself is echoed escaped.
        page = (await ds.client.get("/-/rpp-search?" + q(q='"><script>alert(2)</script>', mode="bm25"))).text
        assert "<script>alert(2)" not in page

    run(main)


def test_hybrid_falls_back_to_bm25_while_the_vectors_index_is_stale(db_path: Path) -> None:
    from datasette_sample import _document

    from rppsearch.store import Store
    from rppsearch.store.documents import replace_document

    extra = SampleDoc("late", "Late addition", None, [], 2022, "news", [("Principals asked for coaching.", [])])
    with Store.open(db_path) as store, store.transaction():
        replace_document(store, _document(extra))  # the vectors index is now behind the store
    ds = make_ds(db_path)

    async def main() -> None:
        data = await get_json(ds, "/-/rpp-search.json?" + q(q="principals coaching"))
        assert data["mode_used"] == "bm25" and "stale" in data["notice"]
        assert "late-p0000" in {r["id"] for r in data["results"]}
        semantic = await ds.client.get("/-/rpp-search.json?" + q(q="principals coaching", mode="semantic"))
        assert semantic.status_code == 503 and "rpp build" in semantic.json()["error"]
        page = await ds.client.get("/-/rpp-search?" + q(q="principals coaching"))
        assert page.status_code == 200 and "rpp-notice" in page.text

    run(main)


def test_reads_during_writes_never_see_half_a_document(db_path: Path) -> None:
    """Datasette reading while another connection adds documents: no errors, no partial documents."""
    from datasette_sample import _document

    from rppsearch.store import Store
    from rppsearch.store.documents import replace_document

    ds = make_ds(db_path)
    stop = threading.Event()
    added: list[str] = []

    def writer() -> None:
        with Store.open(db_path) as store:
            for i in range(40):
                doc = SampleDoc(
                    f"w{i}", f"Written {i}", "Writers", [], 2000 + i % 20, "note",
                    [(f"Passage {j} of document {i} about principals and coaching.", []) for j in range(4)],
                )
                with store.transaction():
                    replace_document(store, _document(doc))
                added.append(doc.id)
        stop.set()

    sql = (
        "select d.id, d.passage_count, (select count(*) from passages p where p.document_id = d.id) as n "
        "from documents d"
    )

    async def main() -> int:
        checks = 0
        while not stop.is_set() or checks < 3:
            rows = await get_json(ds, "/rpp.json?_shape=array&" + q(sql=sql))
            assert all(r["passage_count"] == r["n"] for r in rows)
            hits = await get_json(ds, "/-/rpp-search.json?" + q(q="principals coaching", mode="bm25", limit=100))
            for hit in hits["results"]:
                assert hit["url"] is not None
            checks += 1
        return checks

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        checks = run(main)
    finally:
        thread.join()
    assert len(added) == 40 and checks >= 3


# -- pieces --------------------------------------------------------------------------------
def test_snippet_segments_mark_offsets_merge_overlaps_and_ignore_bad_ones() -> None:
    text = "Principal supervisors coach principals."
    segs = snippet_segments(text, [(0, 9), (10, 21), (5, 12), (-3, 2), (90, 99), ("a", "b")])
    assert "".join(t for t, _ in segs) == text
    assert [t for t, marked in segs if marked] == ["Principal supervisors"]


def test_snippet_segments_window_long_text_around_the_first_highlight() -> None:
    text = ("filler " * 200) + "needle" + (" filler" * 200)
    start = text.index("needle")
    segs = snippet_segments(text, [(start, start + 6)], width=200)
    joined = "".join(t for t, _ in segs)
    assert joined.startswith("… ") and joined.endswith(" …")
    assert ("needle", True) in segs
    assert len(joined) <= 210


# -- rpp serve ---------------------------------------------------------------------------------
def _rpp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    rpp = Path(sys.executable).parent / "rpp"
    return subprocess.run([str(rpp), *args], check=False, capture_output=True, text=True, timeout=120, env=env)


def test_rpp_serve_without_a_store_says_so(tmp_path: Path) -> None:
    result = _rpp("serve", "--index-dir", str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "no rpp store" in result.stderr
    assert "Traceback" not in result.stderr


def test_rpp_serve_dump_metadata_is_what_the_plugin_serves(db_path: Path) -> None:
    result = _rpp("serve", "--index-dir", str(db_path.parent), "--dump-metadata")
    assert result.returncode == 0, result.stderr
    dumped = json.loads(result.stdout)
    ds = make_ds(db_path)
    served = run(lambda: get_json(ds, "/-/metadata.json"))
    assert dumped == served


# -- the real model ------------------------------------------------------------------------------
@pytest.mark.model
def test_real_model_similarity_and_semantic_page_find_a_paraphrase(index_dir: Path) -> None:
    """MiniLM: a paraphrase of a passage ranks it first, in SQL and on the semantic page alike."""
    from rppsearch.config import PACKAGED_MODEL

    db_path = build_sample_store(index_dir, model=PACKAGED_MODEL)
    ds = make_ds(db_path)
    query = "district leaders help school heads get better at guiding teaching"
    target = "tulsa-supervisors-p0000"
    sql = (
        "select p.id, rpp_similarity(v.vector, :q) as s from passage_vectors v "
        "join passages p on p.pk = v.passage_pk order by s desc"
    )

    async def main() -> None:
        rows = await get_json(ds, "/rpp.json?_shape=array&" + q(sql=sql, q=query))
        assert rows[0]["id"] == target and rows[0]["s"] > rows[1]["s"]
        page = await get_json(ds, "/-/rpp-search.json?" + q(q=query, mode="semantic", limit=3))
        assert page["results"][0]["id"] == target
        assert page["results"][0]["score"] == pytest.approx(rows[0]["s"], abs=0.02)  # same model, same vectors

    run(main)


def test_bm25_pages_and_empty_similarity_queries_never_import_torch(db_path: Path) -> None:
    """The model loads only when a query needs it: keyword search and browsing stay light."""
    script = f"""
import asyncio, sys
from datasette.app import Datasette
ds = Datasette([{str(db_path)!r}])
async def main():
    for path in ["/-/rpp-search?q=principals&mode=bm25", "/-/rpp-search.json?q=principals&mode=bm25",
                 "/rpp/search_passages?q=principals", "/rpp/semantic_passages_sql?query=", "/rpp"]:
        r = await ds.client.get(path)
        assert r.status_code == 200, (path, r.status_code)
    print("torch" in sys.modules, "sentence_transformers" in sys.modules)
asyncio.run(main())
"""
    env = {**os.environ, "RPP_MODEL": "all-MiniLM-L6-v2"}
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_the_plugin_loads_without_numpy_or_an_index_and_a_search_loads_them(db_path: Path) -> None:
    """Datasette imports the plugin at startup; numpy, tantivy and the models load with the first search."""
    script = f"""
import json, sys
from datasette.utils import MultiParams
from rppsearch.web import hooks
from rppsearch.web.search_page import run_search
from rppsearch.web.search_params import parse_search_params
HEAVY = ("numpy", "tantivy", "onnxruntime", "torch", "sklearn", "spacy")
loaded = lambda: sorted(m for m in HEAVY if m in sys.modules)
routes = [pattern for pattern, _view in hooks.register_routes(None)]
params = parse_search_params(MultiParams({{"q": ["principals"], "mode": ["bm25"], "fusion": ["rrf"]}}), dimensions=set())
at_start = loaded()
outcome = run_search({str(db_path)!r}, params, offset=0, limit=5)
print(json.dumps({{"start": at_start, "search": loaded(), "hits": len(outcome.page.hits), "routes": len(routes)}}))
"""
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["start"] == [] and out["routes"] >= 2
    assert "numpy" in out["search"] and out["hits"] > 0

