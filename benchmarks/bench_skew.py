"""Train/serve skew of people's decisions: train them on bare text, or on what tagging encodes?

Usage: python benchmarks/bench_skew.py [--seeds 3] [--shipped-share 0.5] [--fake] [--cache FILE]

`rpp train` adds every passage people finished deciding to the training examples. Tagging
scores a passage on its text (TF-IDF) and the vector of `embedding_text(title, heading, text)`;
this compares training those decided passages on the vector of their bare text (what training
did) against the vector tagging uses, evaluated on held-out decided passages scored the tagging
way. Only the embedding side differs between the two arms (the TF-IDF side reads the text in
both).

No store in the repo holds people's decisions, so they are simulated from the 610 shipped
examples (`src/rppsearch/taxonomy/examples/*.jsonl`): per seed, a share (`--shipped-share`)
stays bare label-file examples, the rest become "decided passages" placed in a real document
context, the (title, heading path) of a passage of the sample corpus (`corpus/`, ingested by the
product's own parsers). Two ways of placing them:

- random: the context of any corpus passage (the title says nothing about the labels);
- topical: the context of a passage from a corpus document about one of the example's
  dimensions (the document's top zero-shot dimension, from the codebook alone); examples with
  no dimension get an off-topic document's context (the catalog's notes say "off-topic").

Decided passages are split in 5 stratified folds; each fold is scored by a model
(`tag.training.train_model`, features `average` as `rpp build` trains, codebook examples on)
trained on the bare examples plus the other folds' decided passages, embedded one way or the
other. Reported per arm: macro-F1 of the model's decisions (score >= 0.5, the thresholds the
product's nested CV picks), mean average precision of the scores, and mean average precision of
the embedding head alone; the paired differences per seed and per fold give the spread.
Writes benchmarks/results/skew.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

ARMS = ("bare", "tagging")


def corpus_contexts(encoder) -> tuple[list[tuple[str, str, str]], dict[str, str | None]]:  # noqa: ANN001
    """[(document id, title, heading)] of every sample-corpus passage, and each document's topic:
    its top zero-shot dimension (None for the catalog's off-topic documents)."""
    from rppsearch.index.vectors import embedding_text
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store
    from rppsearch.tag.zeroshot import build_zeroshot
    from rppsearch.taxonomy import load_default_taxonomy

    taxonomy = load_default_taxonomy()
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "rpp.db") as store:
        report = ingest_paths(store, [ROOT / "corpus"])
        assert not report.failed, report.failed
        rows = [tuple(r) for r in store.conn.execute(
            "SELECT d.id, coalesce(p.title, ''), coalesce(p.heading, ''), p.text FROM passages p "
            "JOIN documents d ON d.id = p.document_id ORDER BY p.pk"
        )]
    with (ROOT / "corpus" / "catalog.csv").open(encoding="utf-8") as fh:
        off = {r["id"] for r in csv.DictReader(fh) if "off-topic" in (r.get("notes") or "")}
    zs = build_zeroshot(taxonomy, encoder)
    vectors = np.asarray(encoder.encode([embedding_text(t, h, x) for _, t, h, x in rows]), dtype=np.float32)
    scores = zs.scores(vectors)
    topic: dict[str, str | None] = {}
    for doc in sorted({r[0] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r[0] == doc]
        topic[doc] = None if doc in off else taxonomy.ids[int(np.argmax(scores[idx].mean(axis=0)))]
    return [(d, t, h) for d, t, h, _ in rows], topic


def place(examples, contexts, topic, *, regime: str, rng: np.random.Generator) -> list[tuple[str, str]]:  # noqa: ANN001
    """A (title, heading) for each example."""
    by_topic: dict[str | None, list[int]] = {}
    for i, (doc, _, _) in enumerate(contexts):
        by_topic.setdefault(topic[doc], []).append(i)
    out = []
    for _, labels in examples:
        if regime == "random":
            pool = range(len(contexts))
        elif labels:
            wanted = labels[int(rng.integers(len(labels)))]
            pool = by_topic.get(wanted) or [i for k, v in by_topic.items() if k is not None for i in v]
        else:
            pool = by_topic.get(None, [])
        pool = list(pool)
        _, title, heading = contexts[pool[int(rng.integers(len(pool)))]]
        out.append((title, heading))
    return out


class VectorBank:
    """MiniLM vectors by text, kept in an .npz between runs when `path` is given."""

    def __init__(self, encoder, path: Path | None) -> None:  # noqa: ANN001
        self.encoder, self.path, self.rows = encoder, path, {}
        if path is not None and path.exists():
            data = np.load(path, allow_pickle=False)
            if str(data["fingerprint"]) == encoder.fingerprint:
                self.rows = dict(zip(data["texts"].tolist(), data["vectors"]))

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.rows))
        if missing:
            for t, v in zip(missing, np.asarray(self.encoder.encode(missing), dtype=np.float32)):
                self.rows[t] = v
        return np.stack([self.rows[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if self.path is not None:
            texts = list(self.rows)
            np.savez(self.path, texts=np.array(texts), vectors=np.stack([self.rows[t] for t in texts]),
                     fingerprint=np.array(self.encoder.fingerprint))


def ap(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    return float(np.mean([average_precision_score(y[:, j], s[:, j]) for j in range(y.shape[1]) if y[:, j].any()]))


def run_seed(seed, examples, contexts, topic, bank, encoder, taxonomy, *, regime, shipped_share):  # noqa: ANN001, ANN201
    from rppsearch.index.vectors import embedding_text
    from rppsearch.tag.metrics import per_dimension_metrics
    from rppsearch.tag.training import labels_matrix, make_folds, train_model

    ids = taxonomy.ids
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(examples))
    cut = int(round(shipped_share * len(examples)))
    shipped = [examples[i] for i in order[:cut]]
    decided = [examples[i] for i in order[cut:]]
    where = place(decided, contexts, topic, regime=regime, rng=rng)
    served = [embedding_text(t, h, x) for (t, h), (x, _) in zip(where, decided)]
    serve_vec = bank(served)  # what tagging scores a decided passage with
    Y = labels_matrix(decided, ids).astype(bool)
    folds = make_folds(Y.astype(np.int8), 5, seed=seed)
    per_fold = []
    pooled = {a: {"scores": np.zeros(Y.shape, np.float32), "emb": np.zeros(Y.shape, np.float32)} for a in ARMS}
    for k in range(5):
        train = np.flatnonzero(folds != k)
        test = np.flatnonzero(folds == k)
        fold = {}
        for arm in ARMS:
            # the product's own mechanism (`rpp train` via `tag.registry.decided_examples`): a
            # decided passage's text maps to what tagging encodes for it
            embed_as = {x: served[i] for i, (x, _) in enumerate(decided)} if arm == "tagging" else None
            model = train_model(taxonomy=taxonomy, examples=shipped + [decided[i] for i in train], encoder=encoder,
                                features="average", embed=bank, embed_as=embed_as, seed=seed)
            texts = [decided[i][0] for i in test]
            scores = model.scores(texts, serve_vec[test])
            emb = model.heads["embedding"].proba(serve_vec[test])
            pooled[arm]["scores"][test] = scores
            pooled[arm]["emb"][test] = emb
            fold[arm] = {"macro_f1": per_dimension_metrics(Y[test], scores >= 0.5, ids)["macro_f1"],
                         "map": ap(Y[test], scores), "map_embedding_head": ap(Y[test], emb)}
        per_fold.append(fold)
    result = {}
    for arm in ARMS:
        s, e = pooled[arm]["scores"], pooled[arm]["emb"]
        m = per_dimension_metrics(Y, s >= 0.5, ids)
        result[arm] = {"macro_f1": m["macro_f1"], "f1": {r["dimension"]: r["f1"] for r in m["dimensions"]},
                       "map": ap(Y, s), "map_embedding_head": ap(Y, e)}
    return {"seed": seed, "n_shipped": len(shipped), "n_decided": len(decided), "pooled": result, "folds": per_fold}


def summarise(runs: list[dict]) -> dict:
    out = {}
    for key in ("macro_f1", "map", "map_embedding_head"):
        seed_diff = [r["pooled"]["tagging"][key] - r["pooled"]["bare"][key] for r in runs]
        fold_diff = [f["tagging"][key] - f["bare"][key] for r in runs for f in r["folds"]]
        out[key] = {
            "bare": statistics.mean(r["pooled"]["bare"][key] for r in runs),
            "tagging": statistics.mean(r["pooled"]["tagging"][key] for r in runs),
            "diff_mean": statistics.mean(seed_diff),
            "diff_per_seed": [round(d, 4) for d in seed_diff],
            "diff_sd_seeds": statistics.stdev(seed_diff) if len(seed_diff) > 1 else 0.0,
            "diff_sd_folds": statistics.stdev(fold_diff),
            "folds_tagging_better": sum(d > 0 for d in fold_diff),
            "folds_bare_better": sum(d < 0 for d in fold_diff),
            "folds": len(fold_diff),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shipped-share", type=float, default=0.5)
    parser.add_argument("--regimes", default="random,topical")
    parser.add_argument("--fake", action="store_true", help="the hashing encoder instead of MiniLM (a quick check)")
    parser.add_argument("--cache", type=Path, default=None, help="keep encoded vectors in this .npz")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "skew.json")
    args = parser.parse_args()

    from rppsearch.bench import machine_info
    from rppsearch.config import PACKAGED_MODEL, default_examples_paths
    from rppsearch.embed import get_encoder
    from rppsearch.taxonomy import load_default_taxonomy, load_examples

    started = time.perf_counter()
    taxonomy = load_default_taxonomy()
    examples = [(e.text, tuple(e.labels)) for e in load_examples(default_examples_paths(), taxonomy=taxonomy)]
    encoder = get_encoder("fake" if args.fake else PACKAGED_MODEL)
    bank = VectorBank(encoder, args.cache)
    contexts, topic = corpus_contexts(encoder)
    regimes = {}
    for regime in args.regimes.split(","):
        runs = [run_seed(s, examples, contexts, topic, bank, encoder, taxonomy, regime=regime,
                         shipped_share=args.shipped_share) for s in range(args.seeds)]
        bank.save()
        regimes[regime] = {"summary": summarise(runs), "runs": runs}
        print(f"{regime}: done at {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.2f}", flush=True)
    topics = {}
    for t in topic.values():
        topics[str(t)] = topics.get(str(t), 0) + 1
    out = {
        "encoder": encoder.fingerprint,
        "examples": len(examples),
        "shipped_share": args.shipped_share,
        "seeds": args.seeds,
        "contexts": {"passages": len(contexts), "documents_by_topic": topics},
        "regimes": regimes,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {**machine_info(), "load": os.getloadavg()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"{len(examples)} examples ({args.shipped_share:.0%} bare label-file examples, the rest decided passages), "
          f"{args.seeds} seeds x 5 folds; encoder {encoder.fingerprint[:40]}; {out['seconds']} s; load {os.getloadavg()}")
    print("| context | measure | decided passages trained on bare text | on the tagging text | difference (sd over seeds; sd over folds) | folds better: tagging / bare |")
    print("|---|---|---:|---:|---:|---|")
    for regime, r in regimes.items():
        for key, s in r["summary"].items():
            print(f"| {regime} | {key} | {s['bare']:.4f} | {s['tagging']:.4f} | {s['diff_mean']:+.4f} "
                  f"({s['diff_sd_seeds']:.4f}; {s['diff_sd_folds']:.4f}) | {s['folds_tagging_better']} / {s['folds_bare_better']} of {s['folds']} |")


if __name__ == "__main__":
    main()
