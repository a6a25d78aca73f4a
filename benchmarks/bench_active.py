"""Simulated screening with active learning on the shipped labelled examples.

Usage: python benchmarks/bench_active.py [--retrain-every 10] [--takeover 30] [--seeds 10] [--fake]

The 610 shipped examples (src/rppsearch/taxonomy/examples/*.jsonl) are replayed as if a
reviewer coded them from scratch, one dimension at a time (as ASReview's simulation does):
the queue starts from the codebook alone (zero-shot scores from its definitions, include
notes and examples: `tag/zeroshot.py`, no labelled example used), the reviewer's answer is
the example's label, and after every `--retrain-every` decisions the light model of
`tag/active.py` (logistic regression on the MiniLM vectors + the zero-shot logit) is refit,
taking over once the dimension has `--takeover` decisions. Orders compared:

- random: shuffled (mean over `--seeds` shuffles);
- uncertainty, no retraining: the zero-shot scores' uncertainty, fixed (today's queue
  without a trained model);
- active, uncertainty: retrained, most uncertain first (`rpp review --order active`);
- active, most likely first: retrained, highest probability first (certainty sampling,
  ASReview's default query strategy).

Metrics per dimension: WSS@95 = (N − items screened to reach 95% recall)/N − 0.05 (Cohen
et al. 2006), and recall after 10% and 25% of the items; plus, for the "new codebook from
zero" question, the relevant items found in the first `--takeover` decisions (zero-shot
only) against what random order finds there on average; and the stopping estimate ("about k
left", `tag/active.py`) against the relevant items truly left after 10%, 25% and 50%. Writes
benchmarks/results/active.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rppsearch.tag.active import ActiveLearner  # noqa: E402


def metrics(order: list[int], y: np.ndarray) -> dict[str, float]:
    """WSS@95 and recall@10%/25% of screening `order` (item indices) against labels `y`."""
    n, r = len(y), int(y.sum())
    found = np.cumsum(y[np.asarray(order)])
    need = math.ceil(0.95 * r)
    screened = int(np.searchsorted(found, need) + 1)
    return {
        "wss95": (n - screened) / n - 0.05,
        "recall10": float(found[max(0, int(round(0.10 * n)) - 1)] / r),
        "recall25": float(found[max(0, int(round(0.25 * n)) - 1)] / r),
    }


CHECKPOINTS = (0.10, 0.25, 0.50)


def simulate(vectors: np.ndarray, prior: np.ndarray, y: np.ndarray, *, strategy: str, retrain_every: int,
             takeover: int, trace: list[dict[str, float]] | None = None) -> list[int]:
    """The order in which a reviewer answering `y` screens every item; `trace` gets the
    stopping estimate ("about k left") against the truth at each checkpoint."""
    n = len(y)
    marks = {max(retrain_every, int(round(c * n / retrain_every)) * retrain_every): c for c in CHECKPOINTS}
    learner = ActiveLearner(dimensions=["d"], vectors=vectors, priors=prior[:, None], takeover=takeover)
    screened: list[int] = []
    left = np.ones(n, dtype=bool)
    scores = prior.copy()
    while left.any():
        key = -np.abs(scores - 0.5) if strategy == "uncertain" else scores
        candidates = np.flatnonzero(left)
        batch = candidates[np.argsort(-key[candidates], kind="stable")[:retrain_every]]
        for i in batch:
            screened.append(int(i))
            left[i] = False
        learner.fit({i: {"d": bool(y[i])} for i in screened}, order=[(i, "d", bool(y[i])) for i in screened])
        scores = learner.scores[:, 0]
        if trace is not None and len(screened) in marks:
            est = learner.estimates["d"]
            trace.append({"screened": marks[len(screened)], "estimate_left": None if est.left is None else round(est.left, 1),
                          "true_left": int(y[left].sum()), "streak": est.streak})
    return screened


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--retrain-every", type=int, default=10)
    parser.add_argument("--takeover", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--fake", action="store_true", help="the hashing encoder instead of MiniLM (a quick check)")
    parser.add_argument("--cache", type=Path, default=None, help="keep the encoded vectors in this .npz to rerun quickly")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "active.json")
    args = parser.parse_args()

    from rppsearch.config import PACKAGED_MODEL, default_examples_paths
    from rppsearch.embed import get_encoder
    from rppsearch.tag.zeroshot import build_zeroshot
    from rppsearch.taxonomy import load_default_taxonomy, load_examples

    taxonomy = load_default_taxonomy()
    examples = load_examples(default_examples_paths(), taxonomy=taxonomy)
    encoder = get_encoder("fake" if args.fake else PACKAGED_MODEL)
    t0 = time.perf_counter()
    if args.cache is not None and args.cache.exists():
        cached = np.load(args.cache)
        vectors, priors = cached["vectors"], cached["priors"]
    else:
        vectors = np.asarray(encoder.encode([e.text for e in examples]), dtype=np.float32)
        priors = build_zeroshot(taxonomy, encoder).scores(vectors)
        if args.cache is not None:
            np.savez(args.cache, vectors=vectors, priors=priors)
    encode_s = time.perf_counter() - t0
    rows = []
    t1 = time.perf_counter()
    for j, dim in enumerate(taxonomy.ids):
        y = np.array([dim in e.labels for e in examples], dtype=np.int8)
        n, r = len(y), int(y.sum())
        rand = [metrics(list(np.random.default_rng(s).permutation(n)), y) for s in range(args.seeds)]
        static = metrics(list(np.argsort(-(-np.abs(priors[:, j] - 0.5)), kind="stable")), y)
        by_prior = metrics(list(np.argsort(-priors[:, j], kind="stable")), y)
        results = {
            "random": {k: statistics.mean(m[k] for m in rand) for k in rand[0]},
            "uncertainty_static": static,
            "zeroshot_ranking_static": by_prior,
        }
        orders, traces = {}, {}
        for strategy, name in (("uncertain", "active_uncertainty"), ("relevant", "active_most_likely")):
            traces[name] = []
            orders[name] = simulate(vectors, priors[:, j], y, strategy=strategy, retrain_every=args.retrain_every,
                                    takeover=args.takeover, trace=traces[name])
            results[name] = metrics(orders[name], y)
        k = args.takeover
        first = {name: int(y[np.asarray(o[:k])].sum()) for name, o in orders.items()}
        rows.append({
            "dimension": dim, "n": n, "relevant": r, **results,
            "found_in_first_takeover": {**first, "random_expected": k * r / n},
            "stopping_estimate": traces,
        })
    sim_s = time.perf_counter() - t1

    strategies = ["random", "uncertainty_static", "zeroshot_ranking_static", "active_uncertainty", "active_most_likely"]
    median = {s: statistics.median(row[s]["wss95"] for row in rows) for s in strategies}
    out = {
        "encoder": encoder.fingerprint,
        "examples": len(examples),
        "retrain_every": args.retrain_every,
        "takeover": args.takeover,
        "seeds": args.seeds,
        "encode_seconds": round(encode_s, 1),
        "simulate_seconds": round(sim_s, 1),
        "median_wss95": median,
        "dimensions": rows,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")

    names = {"random": "random", "uncertainty_static": "uncertainty, no retraining",
             "zeroshot_ranking_static": "zero-shot score, no retraining",
             "active_uncertainty": "active, most uncertain first", "active_most_likely": "active, most likely first"}
    print(f"{len(examples)} examples, encoder {encoder.fingerprint[:40]}, retrain every {args.retrain_every}, "
          f"takeover {args.takeover}; encode {encode_s:.1f} s, simulate {sim_s:.1f} s; load {os.getloadavg()[0]:.2f}")
    print("| order | " + " | ".join(f"{r['dimension']} (R={r['relevant']})" for r in rows) + " | median WSS@95 |")
    print("|---|" + "---|" * (len(rows) + 1))
    for s in strategies:
        cells = [f"{r[s]['wss95']:.2f} / {r[s]['recall10']:.2f} / {r[s]['recall25']:.2f}" for r in rows]
        print(f"| {names[s]} | " + " | ".join(cells) + f" | {median[s]:.2f} |")
    print(f"\nRelevant found in the first {args.takeover} decisions (zero-shot only, before the light model takes over):")
    print("| dimension | random (expected) | zero-shot, most uncertain | zero-shot, most likely |")
    print("|---|---|---|---|")
    for r in rows:
        f = r["found_in_first_takeover"]
        print(f"| {r['dimension']} | {f['random_expected']:.1f} | {f['active_uncertainty']} | {f['active_most_likely']} |")
    print("\nStopping estimate (\"about k left\"; – = not given yet) against the relevant items truly left:")
    print("| dimension | order | " + " | ".join(f"after {int(c * 100)}%" for c in CHECKPOINTS) + " |")
    print("|---|---|" + "---|" * len(CHECKPOINTS))
    for r in rows:
        for name in ("active_uncertainty", "active_most_likely"):
            cells = [("–" if t["estimate_left"] is None else f"{t['estimate_left']:.0f}") + f" vs {t['true_left']}"
                     for t in r["stopping_estimate"][name]]
            print(f"| {r['dimension']} | {names[name]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
