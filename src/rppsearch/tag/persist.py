"""Save and load taggers: a folder of safetensors + JSON with a model card. Never pickled.

`indexes/models/<version>/`:
- `model.json` — the card: format, version, created date, kind, dimensions, codebook name +
  version + hash, training-data hash and counts, encoder fingerprint, feature settings,
  thresholds, CV metrics, and the sha256 of every other file;
- `weights.safetensors` — thresholds, logistic-regression heads, zero-shot prototypes;
- `tfidf.json` — the TF-IDF vocabulary and idf (when the model has TF-IDF features);
- `codebook.json` — the codebook the model was trained on.

A model is written to a temp folder and renamed into place, so a crash leaves no half model.
`load_model` checks everything and raises `ModelError` with a hint, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, TaxonomyError
from ..hashing import file_sha256
from ..index.manifest import share_files
from ..taxonomy import Taxonomy
from .classifier import FEATURE_VARIANTS, LinearHead, TaggerModel
from .features import TfidfFeatures
from .zeroshot import ZeroShot

__all__ = ["FORMAT", "save_model", "load_model", "read_card", "new_version_dir"]

FORMAT = 1
CARD = "model.json"
WEIGHTS = "weights.safetensors"
TFIDF = "tfidf.json"
CODEBOOK = "codebook.json"
RETRAIN_HINT = "retrain with `rpp train`"


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())


def new_version_dir(models_dir: Path, number: int) -> tuple[str, int]:
    """The first `vN` (N >= number) whose folder does not exist yet: (version, N)."""
    n = max(1, number)
    while (Path(models_dir) / f"v{n}").exists():
        n += 1
    return f"v{n}", n


def save_model(
    model: TaggerModel,
    *,
    models_dir: Path,
    version: str,
    taxonomy: Taxonomy,
    training: dict[str, Any],
) -> Path:
    """Write `model` to `models_dir/version/` (temp folder, then rename); return the folder.

    `training` holds at least `hash` and `n_examples` (plus anything else worth keeping:
    sources, label counts). Fills the model's card in place.
    """
    models_dir = Path(models_dir)
    final = models_dir / version
    if final.exists():
        raise ModelError(f"{final}: a model with version {version!r} already exists")
    if list(model.dimension_ids) != taxonomy.ids:
        raise ModelError("the model's dimensions differ from the codebook it is saved with")
    from safetensors.numpy import save_file  # noqa: PLC0415

    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".tmp-{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        tensors: dict[str, np.ndarray] = {"thresholds": np.asarray(model.thresholds, dtype=np.float32)}
        for name, head in model.heads.items():
            tensors[f"head.{name}.weight"] = np.ascontiguousarray(head.weight, dtype=np.float32)
            tensors[f"head.{name}.bias"] = np.ascontiguousarray(head.bias, dtype=np.float32)
        if model.zeroshot is not None:
            tensors["zeroshot.prototypes"] = np.ascontiguousarray(model.zeroshot.prototypes, dtype=np.float32)
            tensors["zeroshot.midpoints"] = np.ascontiguousarray(model.zeroshot.midpoints, dtype=np.float32)
            tensors["zeroshot.scales"] = np.ascontiguousarray(model.zeroshot.scales, dtype=np.float32)
            tensors["zeroshot.gate"] = np.array([model.zeroshot.gate, model.zeroshot.gate_scale], dtype=np.float32)
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": str(FORMAT), "version": version})
        files = [WEIGHTS, CODEBOOK]
        _write_json(tmp / CODEBOOK, taxonomy.to_dict())
        if model.tfidf is not None:
            _write_json(tmp / TFIDF, model.tfidf.to_json())
            files.append(TFIDF)
        card = {
            "format": FORMAT,
            "version": version,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "kind": model.kind,
            "dimensions": list(model.dimension_ids),
            "codebook": {"name": taxonomy.name, "version": taxonomy.version, "hash": taxonomy.hash},
            "training": dict(training),
            "encoder": model.card.get("encoder"),
            "features": model.features,
            "evidence": model.evidence_head,
            "settings": model.card.get("settings", {}),
            "thresholds": {d: round(float(t), 4) for d, t in zip(model.dimension_ids, model.thresholds)},
            "metrics": model.card.get("metrics", {}),
            "files": {name: file_sha256(tmp / name) for name in files},
        }
        _write_json(tmp / CARD, card)
        share_files(tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model.card = card
    model.taxonomy = taxonomy
    return final


def read_card(path: Path) -> dict[str, Any]:
    """The model card of the model folder `path` (validated only as JSON with a format)."""
    path = Path(path)
    card_path = path / CARD
    if not path.is_dir():
        raise ModelError(f"{path}: no tagger model here", hint=RETRAIN_HINT)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{card_path}: model card is missing", hint=RETRAIN_HINT) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: model card is corrupt ({exc})", hint=RETRAIN_HINT) from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_path}: model card is corrupt (not a JSON object)", hint=RETRAIN_HINT)
    if card.get("format") != FORMAT:
        raise ModelError(
            f"{card_path}: model format {card.get('format')!r} is not supported (expected {FORMAT})",
            hint=RETRAIN_HINT,
        )
    return card


def model_path(row: dict[str, Any], index_dir: Path) -> Path:
    """The folder of a registered model (`models.path` is relative to the index folder)."""
    path = Path(row["path"])
    return path if path.is_absolute() else Path(index_dir) / path


def load_model(
    path: Path,
    *,
    taxonomy: Taxonomy | None = None,
    encoder_fingerprint: str | None = None,
) -> TaggerModel:
    """Load and check a saved model.

    Raises `ModelError` when a file is missing or corrupt (sha256 or shape mismatch), when
    `taxonomy` is given and the model was trained on another codebook, or when
    `encoder_fingerprint` is given and the model uses embeddings from another encoder.
    """
    path = Path(path)
    card = read_card(path)
    where = path / CARD
    try:
        version = str(card["version"])
        kind = card["kind"]
        ids = list(card["dimensions"])
        files = dict(card["files"])
        codebook_hash = card["codebook"]["hash"]
        features = card["features"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{where}: model card is incomplete (missing {exc})", hint=RETRAIN_HINT) from None
    if kind not in ("classifier", "zero-shot") or (kind == "classifier" and features not in FEATURE_VARIANTS):
        raise ModelError(f"{where}: unknown model kind {kind!r} / features {features!r}", hint=RETRAIN_HINT)
    for name in (WEIGHTS, CODEBOOK) + ((TFIDF,) if kind == "classifier" else ()):
        if name not in files:
            raise ModelError(f"{where}: model card lists no {name}", hint=RETRAIN_HINT)
    for name, digest in files.items():
        file = path / name
        if not file.is_file():
            raise ModelError(f"{file}: model file is missing", hint=RETRAIN_HINT)
        if file_sha256(file) != digest:
            raise ModelError(f"{file}: model file is corrupt (checksum differs from the model card)", hint=RETRAIN_HINT)
    # the codebook the model was trained on
    try:
        stored = Taxonomy.from_dict(json.loads((path / CODEBOOK).read_text(encoding="utf-8")), source=str(path / CODEBOOK))
    except (json.JSONDecodeError, UnicodeDecodeError, TaxonomyError) as exc:
        raise ModelError(f"{path / CODEBOOK}: model codebook is corrupt ({exc})", hint=RETRAIN_HINT) from None
    if stored.hash != codebook_hash or stored.ids != ids:
        raise ModelError(f"{path / CODEBOOK}: model codebook does not match its card", hint=RETRAIN_HINT)
    if taxonomy is not None and taxonomy.hash != codebook_hash:
        raise ModelError(
            f"model {version} was trained on codebook {stored.name!r} (hash {codebook_hash[:12]}), "
            f"not on {taxonomy.path or taxonomy.name} ({taxonomy.name!r}, hash {taxonomy.hash[:12]})",
            hint="train a model for this codebook: `rpp train --taxonomy FILE`",
        )
    needs_vectors = kind == "zero-shot" or features in ("embedding", "concat", "average")
    if encoder_fingerprint is not None and needs_vectors and card.get("encoder") != encoder_fingerprint:
        raise ModelError(
            f"model {version} uses embeddings from {card.get('encoder')!r}, not from the current "
            f"encoder {encoder_fingerprint!r}",
            hint="retrain with `rpp train` (or set RPP_MODEL to the encoder the model was trained with)",
        )
    # weights
    try:
        from safetensors.numpy import load_file  # noqa: PLC0415

        tensors = load_file(str(path / WEIGHTS))
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a corrupt file
        raise ModelError(f"{path / WEIGHTS}: cannot read weights ({exc})", hint=RETRAIN_HINT) from None
    n = len(ids)

    def tensor(name: str, shape: tuple[int | None, ...]) -> np.ndarray:
        if name not in tensors:
            raise ModelError(f"{path / WEIGHTS}: tensor {name!r} is missing", hint=RETRAIN_HINT)
        value = tensors[name].astype(np.float32, copy=False)
        if value.ndim != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            raise ModelError(f"{path / WEIGHTS}: tensor {name!r} has shape {value.shape}", hint=RETRAIN_HINT)
        if not np.isfinite(value).all():
            raise ModelError(f"{path / WEIGHTS}: tensor {name!r} holds NaN or infinity", hint=RETRAIN_HINT)
        return value

    thresholds = tensor("thresholds", (n,))
    tfidf = None
    if TFIDF in files:
        try:
            tfidf = TfidfFeatures.from_json(json.loads((path / TFIDF).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path / TFIDF}: TF-IDF vocabulary is corrupt ({exc})", hint=RETRAIN_HINT) from None
    heads: dict[str, LinearHead] = {}
    for key in sorted(tensors):
        if key.startswith("head.") and key.endswith(".weight"):
            name = key[len("head.") : -len(".weight")]
            weight = tensor(key, (n, None))
            heads[name] = LinearHead(weight=weight, bias=tensor(f"head.{name}.bias", (n,)))
    zeroshot = None
    if kind == "zero-shot":
        protos = tensor("zeroshot.prototypes", (n, None))
        zeroshot = ZeroShot(
            prototypes=protos,
            midpoints=tensor("zeroshot.midpoints", (n,)),
            scales=tensor("zeroshot.scales", (n,)),
            gate=float(tensor("zeroshot.gate", (2,))[0]),
            gate_scale=float(tensor("zeroshot.gate", (2,))[1]),
        )
    else:
        required = {"embedding": ["embedding"], "tfidf": ["tfidf"], "concat": ["concat"], "average": ["embedding", "tfidf"]}[features]
        for name in required:
            if name not in heads:
                raise ModelError(f"{path / WEIGHTS}: the {name} head is missing", hint=RETRAIN_HINT)
        if tfidf is not None and "tfidf" in heads and heads["tfidf"].weight.shape[1] != tfidf.n_features:
            raise ModelError(f"{path / WEIGHTS}: the tfidf head does not fit the vocabulary", hint=RETRAIN_HINT)
    return TaggerModel(
        kind=kind,
        dimension_ids=ids,
        features=features,
        thresholds=thresholds,
        heads=heads,
        tfidf=tfidf,
        zeroshot=zeroshot,
        evidence_head=str(card.get("evidence", "tfidf")),
        card=card,
        taxonomy=stored,
    )
