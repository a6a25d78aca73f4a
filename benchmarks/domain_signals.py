"""How far ranking signals built from the shipped model and BM25 go on the domain set.

    python benchmarks/domain_signals.py [--index-dir /tmp/rpp-domain] [--real-only]
        [--beir ../shared/eval/scifact --beir-cache /tmp/rpp-bench-scifact ...]
        [--out benchmarks/results/domain_signals.json]

Issue 17 asks for hybrid nDCG@10 >= 0.90 on our own domain questions; the shipped hybrid
gives about 0.82. This script asks whether any combination of the signals we can compute
offline gets there, before more tuning is spent on it. Per question and document it
collects (all min-max normalised per question, documents ranked by a weighted sum):

- the product's own document rankings: `bm25`, `semantic`, `hybrid`, `hybrid_expand`
  (search(..., by="document"), `--expand` for the last);
- `passage_dense` / `passage_bm25`: best passage by MiniLM cosine / by BM25 (rank_bm25,
  the index's analyzer with stop words), the two halves of the hybrid;
- `document_bm25`: BM25 over each document's whole text and title (rank_bm25);
- `window90`, `window150`: best cosine over 90-word windows (stride 45, text alone, as
  the issue's naive baseline) and 150-word windows (stride 75, title + text);
- `sentences`: best cosine over two-sentence windows.

It reports each signal alone, a few fixed combinations, and a weight grid fitted two ways:
on the odd questions and reported on the even ones (what tuning could honestly buy), and on
all 60 questions at once (an upper bound for any weighted sum of these signals: it is tuned
on the answers). With `--beir`, the candidate worth adopting (hybrid + document BM25) is
also measured on BEIR collections (documents ranked as `rpp bench retrieval` does).
With `--real-only`, the sample corpus (which we wrote) is left out: only the real pages of
../shared/seeds and ../shared/domain are stored, judgments on sample documents are dropped,
and so are the questions left with no positive judgment (what a held-back set written over
those pages alone would see).

Writes benchmarks/results/domain_signals.json and prints a table. Needs ../shared (seeds,
domain, eval) beside the repository.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

import bench_domain  # noqa: E402

_SENTENCE = re.compile(r'(?<=[.!?])\s+(?=[A-Z"“(])|\n+')
#: weights tried for each signal in the grid (a signal at 0 is left out)
GRID = {
    "passage_dense": (0.0, 0.25, 0.5, 0.75),
    "passage_bm25": (0.0, 0.25, 0.5, 0.75),
    "document_bm25": (0.0, 0.15, 0.3, 0.45),
    "window150": (0.0, 0.25, 0.5),
    "sentences": (0.0, 0.2, 0.4),
    "hybrid_expand": (0.0, 0.5, 1.0),
}
FIXED = (
    {"hybrid": 1.0},
    {"hybrid_expand": 1.0},
    {"passage_dense": 0.5, "passage_bm25": 0.5},
    {"hybrid": 1.0, "document_bm25": 0.3},
    {"hybrid_expand": 1.0, "document_bm25": 0.3},
    {"hybrid_expand": 1.0, "window150": 0.3, "document_bm25": 0.3},
    {"window90": 0.5, "passage_bm25": 0.5},
)


def normalised(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)


def best_per_document(scores: np.ndarray, owner: np.ndarray, documents: int, empty: float = 0.0) -> np.ndarray:
    out = np.full(documents, -np.inf)
    np.maximum.at(out, owner, scores)
    out[np.isinf(out)] = empty
    return out


def windows(text: str, size: int, step: int) -> list[str]:
    words = text.split()
    return [" ".join(words[i : i + size]) for i in range(0, max(1, len(words) - size + step), step)]


def sentence_pairs(text: str) -> list[str]:
    parts = [s.strip() for s in _SENTENCE.split(text) if len(s.split()) >= 4]
    return [" ".join(parts[i : i + 2]) for i in range(len(parts))]


def ndcg10(gains: np.ndarray, order: np.ndarray, ideal: float) -> float:
    top = gains[order[:10]]
    return float((top / np.log2(np.arange(2, len(top) + 2))).sum() / ideal)


class Signals:
    """Per question, each signal's normalised score for every document."""

    def __init__(self, queries: list[dict[str, Any]], names: list[str]) -> None:
        self.queries = queries
        self.documents = names
        index = {name: i for i, name in enumerate(names)}
        self.gains = np.zeros((len(queries), len(names)))
        self.ideal = np.zeros(len(queries))
        for qi, q in enumerate(queries):
            for key, grade in q["judgments"].items():
                self.gains[qi, index[key]] = grade
            top = sorted((g for g in q["judgments"].values() if g > 0), reverse=True)[:10]
            self.ideal[qi] = sum(g / math.log2(i + 2) for i, g in enumerate(top))
        self.values: dict[str, np.ndarray] = {}

    def add(self, name: str, matrix: np.ndarray) -> None:
        self.values[name] = np.stack([normalised(row) for row in matrix])

    def scores(self, weights: dict[str, float], rows: list[int]) -> list[float]:
        out = []
        for qi in rows:
            fused = sum(w * self.values[name][qi] for name, w in weights.items() if w)
            order = np.argsort(-fused, kind="stable")
            out.append(ndcg10(self.gains[qi], order, self.ideal[qi]))
        return out

    def mean(self, weights: dict[str, float], rows: list[int]) -> float:
        return round(float(np.mean(self.scores(weights, rows))), 4)


def collect(settings: Any, queries: list[dict[str, Any]]) -> tuple[Signals, dict[str, float]]:
    from rank_bm25 import BM25Okapi  # noqa: PLC0415

    from rppsearch.embed import batch_encoder  # noqa: PLC0415
    from rppsearch.engines import encode_query  # noqa: PLC0415
    from rppsearch.index.bm25 import _analyzer  # noqa: PLC0415
    from rppsearch.search import search  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    analyzer = _analyzer(stop_words=True)
    seconds: dict[str, float] = {}
    with Store.open(settings.db_path, readonly=True) as store:
        key_of = {r[0]: bench_domain.doc_key(r[1]) for r in store.conn.execute("SELECT id, path FROM documents")}
        docs = store.conn.execute("SELECT id, coalesce(title, ''), text FROM documents ORDER BY id").fetchall()
        names = [key_of[d[0]] for d in docs]
        where = {d[0]: i for i, d in enumerate(docs)}
        signals = Signals(queries, names)
        n, m = len(queries), len(docs)

        for label, mode, extra in (
            ("bm25", "bm25", {}), ("semantic", "semantic", {}), ("hybrid", "hybrid", {}),
            ("hybrid_expand", "hybrid", {"expand": True}),
        ):
            matrix = np.zeros((n, m))
            for qi, q in enumerate(queries):
                hits = search(store, settings, query=q["query"], mode=mode, limit=m, by="document", **extra)
                for h in hits:
                    matrix[qi, where[h.document_id]] = h.score
            signals.add(label, matrix)

        rows = store.conn.execute(
            "SELECT p.document_id, coalesce(d.title, ''), coalesce(p.heading, ''), p.text, v.vector FROM passages p "
            "JOIN documents d ON d.id = p.document_id JOIN passage_vectors v ON v.passage_pk = p.pk ORDER BY p.pk"
        ).fetchall()
    owner = np.array([where[r[0]] for r in rows])
    vectors = np.stack([np.frombuffer(r[4], dtype=np.float32) for r in rows])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query_vectors = np.stack([encode_query(settings, q["query"]) for q in queries])
    query_vectors = query_vectors / np.linalg.norm(query_vectors, axis=1, keepdims=True)
    query_words = [analyzer.analyze(q["query"]) for q in queries]

    dense = query_vectors @ vectors.T
    signals.add("passage_dense", np.stack([best_per_document(row, owner, m, -1.0) for row in dense]))
    passage_bm25 = BM25Okapi([analyzer.analyze(f"{r[1]} {r[2]} {r[3]}") for r in rows])
    signals.add("passage_bm25", np.stack([best_per_document(passage_bm25.get_scores(w), owner, m) for w in query_words]))
    document_bm25 = BM25Okapi([analyzer.analyze(f"{title} {text}") for _, title, text in docs])
    signals.add("document_bm25", np.stack([document_bm25.get_scores(w) for w in query_words]))

    for label, cut in (
        ("window90", lambda title, text: windows(text, 90, 45)),
        ("window150", lambda title, text: [f"{title}\n{w}" for w in windows(text, 150, 75)]),
        ("sentences", lambda title, text: sentence_pairs(text)),
    ):
        texts, owners = [], []
        for i, (_, title, text) in enumerate(docs):
            pieces = cut(title, text) or [text]
            texts += pieces
            owners += [i] * len(pieces)
        t0 = time.perf_counter()
        encoded = batch_encoder(settings.embedding_model, len(texts), index_dir=settings.index_dir).encode(texts)
        seconds[f"encode_{label}_{len(texts)}"] = round(time.perf_counter() - t0, 1)
        encoded = encoded / np.linalg.norm(encoded, axis=1, keepdims=True)
        scores = query_vectors @ encoded.T
        signals.add(label, np.stack([best_per_document(row, np.array(owners), m, -1.0) for row in scores]))
    return signals, seconds


def grid(signals: Signals, rows: list[int]) -> tuple[float, dict[str, float]]:
    best = (-1.0, {})
    names = list(GRID)
    for combo in itertools.product(*(GRID[n] for n in names)):
        if not any(combo):
            continue
        weights = dict(zip(names, combo))
        score = signals.mean(weights, rows)
        if score > best[0]:
            best = (score, {k: v for k, v in weights.items() if v})
    return best


def beir_check(folder: Path, cache: Path, weight: float) -> dict[str, Any]:
    """Hybrid vs hybrid + `weight` x document BM25 on a BEIR collection's test queries."""
    from rank_bm25 import BM25Okapi  # noqa: PLC0415

    from rppsearch.bench import evaluate_runs, prepare_store, read_beir  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL, Settings  # noqa: PLC0415
    from rppsearch.index.bm25 import _analyzer  # noqa: PLC0415
    from rppsearch.search import search  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    analyzer = _analyzer(stop_words=True)
    settings, _ = prepare_store(folder, Settings(index_dir=cache, embedding_model=PACKAGED_MODEL), cache)
    queries, qrels = read_beir(folder, "test")
    runs: dict[str, dict[str, dict[str, float]]] = {"hybrid": {}, f"hybrid+{weight}*document_bm25": {}}
    with Store.open(settings.db_path, readonly=True) as store:
        source = {r[0]: r[1] for r in store.conn.execute("SELECT id, json_extract(metadata, '$.source_id') FROM documents")}
        docs = store.conn.execute("SELECT id, coalesce(title, ''), text FROM documents").fetchall()
        bm25 = BM25Okapi([analyzer.analyze(f"{t} {x}") for _, t, x in docs])
        for qid, text in queries.items():
            hits = search(store, settings, query=text, mode="hybrid", limit=100, by="document")
            hybrid = {source[h.document_id]: h.score for h in hits}
            lexical = bm25.get_scores(analyzer.analyze(text))
            top = np.argsort(-lexical)[:200]
            doc_scores = {source[docs[i][0]]: float(lexical[i]) for i in top if lexical[i] > 0}
            fused: dict[str, float] = {}
            for part, w in ((hybrid, 1.0), (doc_scores, weight)):
                if part:
                    values = np.array(list(part.values()))
                    for key, value in zip(part, normalised(values)):
                        fused[key] = fused.get(key, 0.0) + w * float(value)
            runs["hybrid"][qid] = {k: float(100 - i) for i, k in enumerate(hybrid)}
            ranked = sorted(fused, key=lambda k: -fused[k])[:100]
            runs[f"hybrid+{weight}*document_bm25"][qid] = {k: float(100 - i) for i, k in enumerate(ranked)}
    scored = evaluate_runs({q: qrels[q] for q in queries if q in qrels}, runs)
    return {name: round(values["ndcg@10"], 4) for name, values in scored.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/rpp-domain"))
    parser.add_argument("--queries", type=Path, default=HERE / "domain" / "queries.jsonl")
    parser.add_argument("--beir", type=Path, action="append", default=[], help="a BEIR folder to check the candidate on")
    parser.add_argument("--beir-cache", type=Path, action="append", default=[], help="its cache store (same order)")
    parser.add_argument("--real-only", action="store_true", help="only the real pages (seeds, domain)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from rppsearch.bench import machine_info  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL  # noqa: PLC0415

    queries = bench_domain.read_queries(args.queries)
    if args.real_only:
        del bench_domain.COLLECTIONS["corpus"]
        if args.index_dir == Path("/tmp/rpp-domain"):
            args.index_dir = Path("/tmp/rpp-domain-real")
        real = [{**q, "judgments": {k: g for k, g in q["judgments"].items() if not k.startswith("corpus/")}} for q in queries]
        queries = [q for q in real if any(g > 0 for g in q["judgments"].values())]
    args.out = args.out or HERE / "results" / ("domain_signals_real.json" if args.real_only else "domain_signals.json")
    settings, prepared = bench_domain.prepare(args.index_dir, PACKAGED_MODEL)
    signals, seconds = collect(settings, queries)
    everyone = list(range(len(queries)))
    odd = [i for i, q in enumerate(queries) if int(q["id"][1:]) % 2 == 1]
    even = [i for i, q in enumerate(queries) if int(q["id"][1:]) % 2 == 0]

    alone = {name: signals.mean({name: 1.0}, everyone) for name in signals.values}
    fixed = [{"weights": w, "all": signals.mean(w, everyone), "odd": signals.mean(w, odd), "even": signals.mean(w, even)} for w in FIXED]
    tuned_odd, weights_odd = grid(signals, odd)
    upper, weights_all = grid(signals, everyone)
    record: dict[str, Any] = {
        "queries": len(queries),
        "collections": sorted(bench_domain.COLLECTIONS),
        "documents": prepared["documents"],
        "signal_alone": alone,
        "fixed": fixed,
        "grid": {"weights_tried": {k: list(v) for k, v in GRID.items()}},
        "tuned_on_odd": {"weights": weights_odd, "odd": tuned_odd, "even": signals.mean(weights_odd, even)},
        "upper_bound_tuned_on_all": {"weights": weights_all, "all": upper},
        "encode_seconds": seconds,
        "machine": machine_info(),
    }
    if args.beir:
        caches = args.beir_cache or [Path("/tmp") / f"rpp-bench-{f.name}" for f in args.beir]
        record["beir"] = {f.name: beir_check(f, c, 0.3) for f, c in zip(args.beir, caches)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    print(f"{len(queries)} questions, {prepared['documents']} documents")
    print("each signal alone (nDCG@10):", ", ".join(f"{k} {v:.3f}" for k, v in alone.items()))
    for row in fixed:
        print(f"  {row['all']:.4f} (odd {row['odd']:.4f}, even {row['even']:.4f})  {row['weights']}")
    print(f"grid tuned on odd questions: odd {tuned_odd:.4f}, even {record['tuned_on_odd']['even']:.4f}  {weights_odd}")
    print(f"upper bound, grid tuned on all questions: {upper:.4f}  {weights_all}")
    for name, scores in record.get("beir", {}).items():
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
