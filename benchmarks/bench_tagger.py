"""Speed of the dimension tagger, and how well each way of choosing evidence finds the right sentence.

Usage: python benchmarks/bench_tagger.py [--scifact DIR] [--limit N] [--fake]

1. Training on the shipped examples: cold (examples encoded) and warm (cached embeddings).
2. Tagging a store (the sample corpus plus the first N SciFact abstracts):
   - with the embedding cost: passages have no vectors yet, `tag_store` encodes them;
   - without it: vectors are stored (as after `rpp build`), every passage re-tagged (--force);
   - the parts: scoring alone, evidence by TF-IDF, evidence by encoding sentences.
3. Evidence choice: a model trained on 80% of the examples tags passages made of one held-out
   example of a dimension plus one held-out example with no dimension; a hit is evidence whose
   top sentence lies inside the on-topic example.
Writes benchmarks/results/tagger.json (tagger-fake.json with --fake) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_training(settings, store) -> dict:  # noqa: ANN001
    from rppsearch.tag import registry
    from rppsearch.tag.registry import train_and_register

    model, cold = _timed(train_and_register, store, settings)
    registry._TRAINED.clear()  # measure retraining from the embedding cache, not the in-process memo
    _, warm = _timed(train_and_register, store, settings)
    cv = model.card["metrics"]["cv"]
    return {
        "train_cold_s": round(cold, 1),
        "train_warm_s": round(warm, 1),
        "features": model.features,
        "macro_f1": round(cv["macro_f1"], 4),
        "micro_f1": round(cv["micro_f1"], 4),
        "variants": {k: v["macro_f1"] for k, v in model.card["metrics"]["variants"].items()},
        "per_dimension": {r["dimension"]: {k: round(r[k], 3) for k in ("precision", "recall", "f1")} | {"support": r["support"]} for r in cv["dimensions"]},
    }


def bench_tagging(settings, store, scifact: Path, limit: int) -> dict:  # noqa: ANN001
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.embed import get_encoder
    from rppsearch.store import vectors as vstore
    from rppsearch.tag.evidence import evidence_for_passages
    from rppsearch.tag.pipeline import tag_store
    from rppsearch.tag.registry import load_active_model

    paths = [ROOT / "corpus"]
    tmp = Path(tempfile.mkdtemp())
    if scifact.exists() and limit > 0:
        lines = scifact.read_text(encoding="utf-8").splitlines()[:limit]
        part = tmp / "scifact" / "corpus.jsonl"
        part.parent.mkdir()
        part.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(part)
    report = ingest_paths(store, paths)
    n = store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    with_embedding, t1 = _timed(tag_store, store, settings)
    without, t2 = _timed(tag_store, store, settings, force=True)
    model = load_active_model(store, settings)
    rows = store.conn.execute("SELECT pk, text FROM passages ORDER BY pk").fetchall()
    pks = [r[0] for r in rows]
    texts = [r[1] for r in rows]
    vectors = vstore.get_vectors(store, pks, model=model.encoder_fingerprint) if model.needs_vectors else None
    scores, t_score = _timed(model.scores, texts, vectors)
    _, t_ev_tfidf = _timed(evidence_for_passages, model, texts, scores, mode="tfidf")
    encoder = get_encoder(settings.embedding_model)
    _, t_ev_emb = _timed(evidence_for_passages, model, texts, scores, encoder=encoder, mode="embedding")
    assigned = int((scores >= 0.5).any(axis=1).sum())
    return {
        "documents": len(report.added),
        "passages": n,
        "passages_with_a_tag": assigned,
        "tag_with_embedding_s": round(t1, 2),
        "encoded": with_embedding["encoded"],
        "passages_per_s_with_embedding": round(n / t1, 1),
        "tag_without_embedding_s": round(t2, 2),
        "passages_per_s_without_embedding": round(n / t2, 1),
        "scoring_only_passages_per_s": round(n / t_score, 1),
        "evidence_tfidf_s": round(t_ev_tfidf, 2),
        "evidence_embedding_s": round(t_ev_emb, 2),
        "documents_rolled_up": without["documents"],
    }


def bench_evidence(settings, seed: int = 0) -> dict:  # noqa: ANN001
    """Composite passages (on-topic example + off-topic example): is the top evidence sentence on topic?"""
    from rppsearch.config import default_examples_paths
    from rppsearch.embed import get_encoder
    from rppsearch.tag.training import train_model
    from rppsearch.tag.evidence import evidence_for_passages
    from rppsearch.tag.features import EmbeddingCache
    from rppsearch.taxonomy import load_default_taxonomy, load_examples

    taxonomy = load_default_taxonomy()
    examples = [(e.text, e.labels) for e in load_examples(default_examples_paths(), taxonomy=taxonomy)]
    rng = random.Random(seed)
    rng.shuffle(examples)
    cut = int(len(examples) * 0.8)
    train, held = examples[:cut], examples[cut:]
    encoder = get_encoder(settings.embedding_model)
    cache = EmbeddingCache(settings.models_dir / "cache")
    model = train_model(taxonomy=taxonomy, examples=train, encoder=encoder, features="average",
                        embed=lambda texts: cache.embed(texts, encoder))
    single = [(t, ls[0]) for t, ls in held if len(ls) == 1]
    empty = [t for t, ls in held if not ls]
    texts, spans, dims = [], [], []
    for i, (text, dim) in enumerate(single):
        other = empty[i % len(empty)]
        first = rng.random() < 0.5
        joined = f"{text} {other}" if first else f"{other} {text}"
        start = 0 if first else len(other) + 1
        texts.append(joined)
        spans.append((start, start + len(text)))
        dims.append(dim)
    vectors = encoder.encode(texts)
    scores = model.scores(texts, vectors)
    out = {"composites": len(texts)}
    for mode in ("tfidf", "embedding"):
        ev, seconds = _timed(evidence_for_passages, model, texts, scores, encoder=encoder, mode=mode)
        hits = judged = 0
        for i, dim in enumerate(dims):
            found = ev[i].get(dim)
            if not found:
                continue
            judged += 1
            best = max(found, key=lambda e: e.score)
            hits += spans[i][0] <= best.start and best.end <= spans[i][1]
        out[mode] = {"judged": judged, "top_sentence_on_topic": round(hits / judged, 3) if judged else None, "seconds": round(seconds, 3)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "eval" / "scifact" / "corpus.jsonl")
    parser.add_argument("--limit", type=int, default=1000, help="SciFact abstracts to add to the sample corpus")
    parser.add_argument("--fake", action="store_true", help="fake encoder (no MiniLM)")
    args = parser.parse_args()
    os.environ["RPP_MODEL"] = "fake" if args.fake else "all-MiniLM-L6-v2"
    from rppsearch.config import Settings
    from rppsearch.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "indexes", embedding_model=os.environ["RPP_MODEL"])
        with Store.open(settings.db_path) as store:
            training = bench_training(settings, store)
            tagging = bench_tagging(settings, store, args.scifact, args.limit)
        evidence = bench_evidence(settings)
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "encoder": os.environ["RPP_MODEL"],
        "training": training,
        "tagging": tagging,
        "evidence": evidence,
    }
    target = ROOT / "benchmarks" / "results" / ("tagger-fake.json" if args.fake else "tagger.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2) + "\n")
    t = tagging
    print(f"machine: {out['machine']}, encoder {out['encoder']}\n")
    print("| measure | value |\n|---|---|")
    rows = [
        ("training, cold (encode examples + 4-variant nested CV)", f"{training['train_cold_s']} s"),
        ("training, warm (cached example embeddings)", f"{training['train_warm_s']} s"),
        (f"CV macro-F1 ({training['features']})", training["macro_f1"]),
        (f"passages tagged ({t['passages']} passages, {t['documents']} documents)", ""),
        ("passages/s with the embedding cost", t["passages_per_s_with_embedding"]),
        ("passages/s without it (vectors stored)", t["passages_per_s_without_embedding"]),
        ("passages/s, scoring alone", t["scoring_only_passages_per_s"]),
        (f"evidence for {t['passages_with_a_tag']} tagged passages: TF-IDF / encoded sentences", f"{t['evidence_tfidf_s']} s / {t['evidence_embedding_s']} s"),
        ("evidence top sentence on topic: TF-IDF", evidence["tfidf"]["top_sentence_on_topic"]),
        ("evidence top sentence on topic: encoded sentences", evidence["embedding"]["top_sentence_on_topic"]),
    ]
    for label, value in rows:
        print(f"| {label} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
