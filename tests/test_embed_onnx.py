"""The packaged MiniLM through onnxruntime: same vectors as sentence-transformers, an export
cache that follows the weights, and a hybrid search that never imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rppsearch import embed_onnx
from rppsearch.errors import ModelError

REPO = Path(__file__).resolve().parents[1]


def _model_folder() -> Path:
    from rppsearch.embed import packaged_model_path

    return packaged_model_path()


def _probe_texts() -> list[str]:
    """50 texts of every shape: sample-corpus passages, a question, empty-ish, over-long, non-Latin."""
    texts: list[str] = []
    for path in sorted((REPO / "corpus" / "docs").rglob("*.md"))[:12]:
        body = path.read_text(encoding="utf-8")
        texts += [p.strip() for p in body.split("\n\n") if len(p.strip()) > 40][:4]
    texts = texts[:44]
    texts += [
        "How do principal supervisors help principals grow as instructional leaders?",
        "a",
        "   ",
        "word " * 600,  # past max_seq_length: truncated the same way
        "Évaluation des écoles — 学校改革 — تحسين المدارس",
        "ALL CAPS TITLE: CENTRAL OFFICE TRANSFORMATION (2019)",
    ]
    return texts[:50]


# -- fast unit tests (no model) ---------------------------------------------------------------
def _fake_model(folder: Path, *, pooling: dict[str, bool] | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]))
    (folder / "1_Pooling").mkdir()
    modes = pooling or {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **modes}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    (folder / "config.json").write_text(json.dumps({"hidden_size": 8, "max_position_embeddings": 512}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights one")
    return folder


def test_spec_is_read_from_the_model_folder(tmp_path: Path) -> None:
    spec = embed_onnx.read_spec(_fake_model(tmp_path / "m"))
    assert (spec.max_seq_length, spec.dim, spec.normalize) == (64, 8, True)


def test_a_model_with_other_pooling_is_refused(tmp_path: Path) -> None:
    folder = _fake_model(tmp_path / "m", pooling={"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    with pytest.raises(ModelError, match="not mean pooling"):
        embed_onnx.read_spec(folder)


def test_cache_follows_the_weights_without_rehashing_unchanged_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = embed_onnx.read_spec(_fake_model(tmp_path / "m"))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / embed_onnx.GRAPH_FILE).write_bytes(b"graph")
    st = spec.weights.stat()
    manifest = {
        "format": embed_onnx.EXPORT_FORMAT,
        "weights": {"sha256": "recorded", "size": st.st_size, "mtime_ns": st.st_mtime_ns},
        "max_seq_length": 64,
        "onnxruntime": embed_onnx._runtime_version(),  # noqa: SLF001
    }
    (cache / embed_onnx.MANIFEST_FILE).write_text(json.dumps(manifest))
    hashed: list[Path] = []
    real = embed_onnx.file_sha256
    monkeypatch.setattr(embed_onnx, "file_sha256", lambda p, **k: hashed.append(p) or real(p, **k))
    assert embed_onnx.cache_state(cache, spec)[0] is None  # size and mtime match: trusted
    assert hashed == []
    spec.weights.write_bytes(b"weights two, longer")  # new weights
    problem, _, digest = embed_onnx.cache_state(cache, spec)
    assert problem == "the model's weights changed since the export"
    assert hashed == [spec.weights] and digest == real(spec.weights)


def test_other_weights_are_refused_before_any_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = embed_onnx.read_spec(_fake_model(tmp_path / "m"))
    monkeypatch.setattr(embed_onnx, "export", lambda *a, **k: pytest.fail("exported unchecked weights"))
    with pytest.raises(ModelError, match="does not match the published"):
        embed_onnx.ensure_export(spec, [tmp_path / "c"], writable=tmp_path / "c", expected_sha256="0" * 64)


# -- the real model -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index dir holding the packaged model's export (made once for this module)."""
    from rppsearch.embed import packaged_model_path

    folder = tmp_path_factory.mktemp("exported")
    with pytest.MonkeyPatch.context() as patch:  # the export's shared copy goes to a temp cache,
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))  # not ~/.cache
        embed_onnx.load_onnx_encoder("all-MiniLM-L6-v2", packaged_model_path(), index_dir=folder)
    return folder


@pytest.mark.model
@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(exported: Path) -> None:
    from rppsearch.config import PACKAGED_MODEL_SHA256
    from rppsearch.embed import SentenceTransformerEncoder

    texts = _probe_texts()
    assert len(texts) == 50
    onnx = embed_onnx.load_onnx_encoder(
        "all-MiniLM-L6-v2", _model_folder(), index_dir=exported, expected_sha256=PACKAGED_MODEL_SHA256
    )
    reference = SentenceTransformerEncoder("all-MiniLM-L6-v2", bf16=False)
    assert onnx.fingerprint == reference.fingerprint  # stored vectors stay valid
    got, want = onnx.encode(texts, batch_size=16), reference.encode(texts)
    cosines = (got * want).sum(axis=1)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert cosines.min() >= 0.9999, sorted(zip(cosines, texts))[:3]
    one = onnx.encode([texts[44]])[0]  # the lone-query session (one thread) agrees too
    assert float(one @ want[44]) >= 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.model
@pytest.mark.slow
def test_export_is_redone_when_the_weights_change(tmp_path: Path, exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.numpy import load_file, save_file

    source = _model_folder()
    folder = tmp_path / "model"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    shutil.copy2(source / "model.safetensors", folder / "model.safetensors")
    index_dir = tmp_path / "indexes"
    index_dir.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    first = embed_onnx.load_onnx_encoder("copy", folder, index_dir=index_dir)
    manifest = json.loads((index_dir / "encoder" / "manifest.json").read_text())
    assert manifest["weights"]["sha256"] == first.fingerprint.split("@")[1]
    probe = ["Principal supervisors meet principals in their schools every week."]
    before = first.encode(probe)[0]

    exports: list[Path] = []
    real_export = embed_onnx.export
    monkeypatch.setattr(embed_onnx, "export", lambda spec, cache: exports.append(cache) or real_export(spec, cache))
    embed_onnx.load_onnx_encoder("copy", folder, index_dir=index_dir)
    assert exports == []  # unchanged weights: the cached graph serves

    tensors = load_file(folder / "model.safetensors")
    name = next(k for k in tensors if k.endswith("word_embeddings.weight"))
    tensors[name] = (tensors[name] * 0.5).astype(tensors[name].dtype)
    save_file(tensors, folder / "model.safetensors")
    second = embed_onnx.load_onnx_encoder("copy", folder, index_dir=index_dir)
    assert exports == [index_dir / "encoder"]
    assert second.fingerprint != first.fingerprint
    after = second.encode(probe)[0]
    assert float(before @ after) < 0.9999  # the new graph computes with the new weights
    assert json.loads((index_dir / "encoder" / "manifest.json").read_text())["weights"]["sha256"] == second.fingerprint.split("@")[1]


@pytest.mark.model
@pytest.mark.slow
def test_hybrid_search_imports_neither_torch_nor_transformers(tmp_path: Path, exported: Path) -> None:
    """A whole `rpp search` process over a store built with the real model."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("oakridge-support-teams.md",):
        shutil.copy(REPO / "examples" / name, corpus / name)
    (corpus / "note.md").write_text(
        "# Data use\n\nThe district's central office used student data in weekly cycles of inquiry "
        "with principals to decide where to send coaching support.\n",
        encoding="utf-8",
    )
    index_dir = tmp_path / "indexes"
    index_dir.mkdir()
    shutil.copytree(exported / "encoder", index_dir / "encoder", copy_function=os.link)
    env = {**os.environ, "RPP_MODEL": "all-MiniLM-L6-v2", "PYTHONPATH": str(REPO / "src")}
    env.pop("RPP_HOME", None)
    build = subprocess.run(
        [sys.executable, "-c", "import sys; from rppsearch.cli.main import main; sys.argv[0] = 'rpp'; main()",
         "build", str(corpus), "--index-dir", str(index_dir), "--quiet"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr
    probe = (
        "import json, sys\n"
        "from rppsearch.cli.main import main\n"
        "sys.argv = ['rpp', 'search', 'coaching principals with data', '--index-dir', sys.argv[1], '--json']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "sys.stderr.write('IMPORTED ' + json.dumps({'code': code, 'heavy': heavy}) + '\\n')\n"
    )
    run = subprocess.run([sys.executable, "-c", probe, str(index_dir)], env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(run.stderr.rsplit("IMPORTED ", 1)[1])
    assert report == {"code": 0, "heavy": []}, run.stderr
    _summary, *hits = [json.loads(line) for line in run.stdout.splitlines()]  # a summary line, then hits
    assert hits and any(word in hits[0]["content"].lower() for word in ("coach", "principal"))

    # classifying a new file (spaCy's sentences, district patterns, the tagger) stays light too:
    # spaCy imported plainly pulls torch in through thinc
    probe = probe.replace(
        "['rpp', 'search', 'coaching principals with data', '--index-dir', sys.argv[1], '--json']",
        "['rpp', 'classify', sys.argv[2], '--index-dir', sys.argv[1], '--json']",
    )
    run = subprocess.run([sys.executable, "-c", probe, str(index_dir), str(corpus / "note.md")],
                         env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(run.stderr.rsplit("IMPORTED ", 1)[1])
    assert report == {"code": 0, "heavy": []}, run.stderr
