"""Security: nothing a user can be handed runs code on load; catalogs stay inside the corpus;
Datasette pages escape document text.

A "poisoned" file below is a real pickle whose loading would create a marker file: each test
asserts the marker never appears and a typed error names the file.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import os
import pickle  # only to make poisoned files: the product never imports it (checked below)
import re
import shutil
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from _reliability import document_text, no_progress, write_corpus
from rppsearch.config import Settings
from rppsearch.errors import IndexStateError, ModelError

SRC = Path(__file__).resolve().parents[1] / "src" / "rppsearch"


class _Payload:
    """Unpickling this calls os.system, which creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def poisoned_npy(path: Path, marker: Path) -> None:
    """A valid .npy of dtype=object: loading it with allow_pickle=True would run the payload."""
    array = np.empty(3, dtype=object)
    array[:] = [_Payload(marker)] * 3
    np.save(path, array, allow_pickle=True)


# -- nothing in the product can unpickle -----------------------------------------------------------
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "joblib", "dill", "cloudpickle", "shelve", "marshal"}


def _calls(tree: ast.AST):  # noqa: ANN202
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                f"{func.value.id}.{func.attr}" if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else func.attr if isinstance(func, ast.Attribute)
                else func.id if isinstance(func, ast.Name) else ""
            )
            yield name, node


def _problems(tree: ast.AST, where: object) -> list[str]:
    """Every way `tree` could unpickle or run code it is handed."""
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [f"{where}:{node.lineno} imports {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            problems.append(f"{where}:{node.lineno} imports from {node.module}")
    for name, call in _calls(tree):
        keywords = {k.arg: k.value for k in call.keywords}
        if name == "torch.load":
            problems.append(f"{where}:{call.lineno} calls torch.load")
        if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"):
            problems.append(f"{where}:{call.lineno} calls {name} (use yaml.safe_load)")
        if name in ("eval", "exec"):
            problems.append(f"{where}:{call.lineno} calls {name}")
        if name.endswith("load") and "allow_pickle" in keywords:
            value = keywords["allow_pickle"]
            if not (isinstance(value, ast.Constant) and value.value is False):
                problems.append(f"{where}:{call.lineno} {name}(allow_pickle=…) not False")
    return problems


def test_no_pickle_joblib_torch_load_or_unsafe_yaml_in_the_product() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 20
    problems: list[str] = []
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        problems += _problems(tree, file.relative_to(SRC.parent))
    assert problems == []


def test_the_pickle_check_flags_the_usual_spellings() -> None:
    """The check above is not vacuous: each line of this sample is one problem it must name."""
    sample = (
        "import pickle\nfrom joblib import load\nimport torch\ntorch.load('x')\n"
        "np.load('y', allow_pickle=True)\nyaml.load(s)\neval('1')\nnp.load('z', allow_pickle=False)\n"
    )
    found = _problems(ast.parse(sample), "sample")
    assert [p.split(" ", 1)[0] for p in found] == [
        "sample:1", "sample:2", "sample:4", "sample:5", "sample:6", "sample:7",
    ], found


# -- loading refuses what is not JSON / npy / safetensors ------------------------------------------
@pytest.fixture
def built(tmp_path: Path) -> Settings:
    from rppsearch.build import build

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 3)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[corpus], progress=no_progress)
    return settings


@pytest.mark.parametrize("name", ["pks.npy", "docs.npy", "vectors.npy"])
def test_vectors_index_with_a_pickled_npy_is_refused_without_running_it(built: Settings, tmp_path: Path, name: str) -> None:
    from rppsearch.doctor import run_doctor
    from rppsearch.index import vectors as vindex
    from rppsearch.store import Store

    marker = tmp_path / f"pwned-{name}"
    poisoned_npy(built.vectors_dir / name, marker)
    vindex._LOADED.clear()  # noqa: SLF001 - a fresh process would not have it cached
    with pytest.raises(IndexStateError, match=str(built.vectors_dir)):
        vindex.load_index(built)
    with Store.open(built.db_path) as store:
        vindex.refresh_index(store, built)  # reuses old rows when it can: must not unpickle either
    report = run_doctor(settings=built, quick=True)
    assert not marker.exists()
    assert report.ok or {f.check for f in report.problems} == {"vectors:index"}


def test_a_tagger_model_with_a_pickle_for_weights_is_refused(built: Settings, tmp_path: Path) -> None:
    from rppsearch.store import Store
    from rppsearch.tag import persist

    with Store.open(built.db_path) as store:
        path = store.conn.execute("SELECT path FROM models WHERE active = 1").fetchone()[0]
    folder = built.index_dir / path
    weights = folder / persist.WEIGHTS
    marker = tmp_path / "pwned-weights"
    weights.write_bytes(pickle.dumps(_Payload(marker)))
    card_path = folder / persist.CARD
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["files"][persist.WEIGHTS] = hashlib.sha256(weights.read_bytes()).hexdigest()  # a consistent forgery
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=re.escape(str(folder))):
        persist.load_model(folder)
    assert not marker.exists()


def test_the_example_embedding_cache_never_unpickles(built: Settings, tmp_path: Path) -> None:
    from rppsearch.embed import get_encoder
    from rppsearch.tag.features import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "cache")
    encoder = get_encoder("fake")
    first = cache.embed(["a sentence about principals"], encoder)
    npy = next((tmp_path / "cache").glob("*.npy"))
    marker = tmp_path / "pwned-cache"
    poisoned_npy(npy, marker)
    again = cache.embed(["a sentence about principals"], encoder)  # a broken cache is rebuilt
    assert np.array_equal(first, again)
    assert not marker.exists()


@pytest.mark.slow
def test_an_embedding_model_folder_with_pickled_torch_weights_does_not_run_them(tmp_path: Path) -> None:
    """A sentence-transformers folder handed over with a `pytorch_model.bin` (a pickle)."""
    from rppsearch.embed import SentenceTransformerEncoder, packaged_model_path

    folder = tmp_path / "handed-model"
    shutil.copytree(packaged_model_path(), folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned-torch"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    try:
        SentenceTransformerEncoder(str(folder))
    except ModelError as exc:
        assert str(folder) in str(exc)
    assert not marker.exists()


# -- catalogs and sidecars cannot reach outside the corpus or run code -----------------------------
def test_catalog_paths_cannot_escape_the_corpus_folder(tmp_path: Path) -> None:
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store

    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("CONFIDENTIAL-SALARY-TABLE " + document_text(3), encoding="utf-8")
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 2)
    (corpus / "link-out.txt").symlink_to(outside / "secret.txt")
    for rel in ("../private/secret.txt", str(outside / "secret.txt"), "link-out.txt"):
        (corpus / "catalog.csv").write_text(f"path,title\ndoc-0000.txt,Fine\n{rel},Stolen\n", encoding="utf-8")
        db = tmp_path / f"rpp-{abs(hash(rel))}.db"
        with Store.open(db) as store:
            report = ingest_paths(store, [corpus])
            texts = " ".join(r[0] for r in store.conn.execute("SELECT text FROM documents"))
            titles = [r[0] for r in store.conn.execute("SELECT title FROM documents")]
        reasons = [reason for _, reason in report.failed]
        assert any("escapes the catalog folder" in r for r in reasons), (rel, report.failed)
        assert all("\n" not in r for r in reasons)
        assert "Stolen" not in titles
        if rel != "link-out.txt":
            assert "CONFIDENTIAL-SALARY-TABLE" not in texts, rel


def test_a_yaml_sidecar_cannot_construct_python_objects(tmp_path: Path) -> None:
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 1)
    marker = tmp_path / "pwned-yaml"
    (corpus / "doc-0000.txt.meta.yaml").write_text(
        f"title: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8"
    )
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
    assert not marker.exists()
    assert report.added == []
    assert [p for p, _ in report.failed] == [str(corpus / "doc-0000.txt")]
    reason = report.failed[0][1]
    assert reason.startswith("cannot read metadata sidecar") and "\n" not in reason


# -- Datasette escapes what documents say ----------------------------------------------------------
XSS_TITLE = 'Board memo <script>alert("rpp-title")</script>'
XSS_LINE = 'The memo quoted <script>alert("rpp-xss")</script> and <img src=x onerror=alert("rpp-img")> verbatim.'


def test_a_stored_script_is_escaped_on_the_search_page_and_the_row_pages(tmp_path: Path) -> None:
    from datasette.app import Datasette

    from rppsearch.build import build
    from rppsearch.store import Store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = document_text(5).split("\n\n", 1)[1]
    (corpus / "memo.txt").write_text(f"{XSS_TITLE}\n\n{XSS_LINE} {body}\n\n{XSS_LINE}\n", encoding="utf-8")
    write_corpus(corpus, 2)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[corpus], progress=no_progress)
    with Store.open(settings.db_path) as store:
        doc_pk, text = store.conn.execute("SELECT pk, text FROM documents WHERE id = 'corpus-memo'").fetchone()
        passage_pk = store.conn.execute("SELECT pk FROM passages WHERE document_id = 'corpus-memo' ORDER BY seq").fetchone()[0]
    assert '<script>alert("rpp-xss")</script>' in text  # stored as the author wrote it

    async def pages() -> dict[str, tuple[int, str]]:
        ds = Datasette([str(settings.db_path)])
        out = {}
        for name, url in {
            "search": "/-/rpp-search?" + urllib.parse.urlencode({"q": "memo quoted verbatim", "mode": "bm25"}),
            "search-hybrid": "/-/rpp-search?" + urllib.parse.urlencode({"q": "memo quoted verbatim"}),
            "document row": f"/rpp/documents/{doc_pk}",
            "passage row": f"/rpp/passages/{passage_pk}",
            "table": "/rpp/passages?_search=memo&_sort=pk",
            "ranked table search": "/rpp/passages?_search=memo",
        }.items():
            response = await ds.client.get(url, follow_redirects=True)
            out[name] = (response.status_code, response.text)
        return out

    for name, (status, html) in asyncio.run(pages()).items():
        assert status == 200, (name, html[:300])
        assert "rpp-xss" in html or "rpp-title" in html, f"{name}: the hostile document is not on the page"
        for raw in ('<script>alert("rpp-xss")', '<script>alert("rpp-title")', '<img src=x onerror'):
            assert raw not in html, f"{name} page contains raw {raw!r}"
        assert "&lt;script&gt;" in html, name


# -- what is written can be shared the way the user's umask says ----------------------------------
def test_built_files_follow_the_umask_so_another_user_can_serve_them(tmp_path: Path) -> None:
    """Temp-then-rename writes must not leave 0600 files: a Datasette run as another user reads them."""
    from rppsearch.build import build
    from rppsearch.web.metadata import write_metadata
    from rppsearch.labels_io import write_export
    from rppsearch.store import Store

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 2)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    old = os.umask(0o022)
    try:
        build(settings, paths=[corpus], progress=no_progress)
        written = [p for p in settings.index_dir.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm"))]
        write_metadata(tmp_path / "metadata.json", databases=["rpp"])
        with Store.open(settings.db_path) as store:
            write_export(store, fmt="jsonl", output=tmp_path / "labels.jsonl")
        written += [tmp_path / "metadata.json", tmp_path / "labels.jsonl"]
    finally:
        os.umask(old)
    assert any(p.parent == settings.vectors_dir for p in written)
    private = [str(p) for p in written if p.stat().st_mode & 0o044 != 0o044]
    assert not private, private
