"""What to embed for a passage, and how to fuse, measured on the domain questions.

    python benchmarks/tune_domain.py [--index-dir /tmp/rpp-domain] [--out benchmarks/results/domain_tuning.json]

Uses the cache store of bench_domain.py. BM25 document rankings come from the product's own
`search(mode="bm25", by="document")`; dense rankings are recomputed here for each passage
recipe (each passage encoded once per recipe, cached as .npy beside the store), a document
scoring its best passage as the product does. Then fusion settings (RRF k, per-engine
weights, candidate depth; convex weight) are scored on the tune half (odd question numbers)
and reported on both halves. Recipes:

- `title+heading+text`: what rppsearch embedded until now;
- `heading+text`, `text`: less context;
- `trusted+heading+text`: the title only where it tells documents apart and is not page
  furniture (`trusted_title` below);
- `trusted+heading+text+next`: the same plus the first words of the next passage (a window
  overlapping its neighbour).
"""

from __future__ import annotations

import argparse
import itertools
import re
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))


_FURNITURE = re.compile(
    r"^(skip to|back to|home$|menu$|search$|log ?in|sign in|untitled|by [A-Z]|posted |share |\S+\.(pdf|docx?|html?|txt|md)$)",
    re.IGNORECASE,
)


def trusted_title(title: str, titles: list[str]) -> str:
    """`title` when it tells its document apart: not page furniture or a file name, and not
    the title of several documents (a report's chapters all named after the report)."""
    title = (title or "").strip()
    if not title or _FURNITURE.match(title) or sum(t.strip() == title for t in titles) > 1:
        return ""
    return title


def ndcg_at_10(queries: list[dict[str, Any]], ranked: dict[str, list[str]]) -> float:
    total = 0.0
    for q in queries:
        gains = q["judgments"]
        dcg = sum(gains.get(k, 0) / np.log2(i + 2) for i, k in enumerate(ranked[q["id"]][:10]))
        ideal = sorted(gains.values(), reverse=True)[:10]
        idcg = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(queries)


def rrf(lists: list[list[str]], weights: list[float], k: int, depth: int) -> list[str]:
    scores: dict[str, float] = {}
    for ranking, w in zip(lists, weights):
        for rank, key in enumerate(ranking[:depth], start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    return sorted(scores, key=lambda key: -scores[key])


def convex(lists: list[list[tuple[str, float]]], weights: list[float], depth: int) -> list[str]:
    fused: dict[str, float] = {}
    for items, w in zip(lists, weights):
        items = items[:depth]
        if not items:
            continue
        lo, hi = min(s for _, s in items), max(s for _, s in items)
        for key, s in items:
            fused[key] = fused.get(key, 0.0) + w * ((s - lo) / (hi - lo) if hi > lo else 1.0)
    return sorted(fused, key=lambda key: -fused[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/rpp-domain"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "domain_tuning.json")
    parser.add_argument("--recipe", action="append", help="recipes to encode and compare [default: all]")
    args = parser.parse_args()

    from bench_domain import doc_key, prepare, read_queries  # noqa: PLC0415
    from rppsearch.config import PACKAGED_MODEL  # noqa: PLC0415
    from rppsearch.embed import get_encoder  # noqa: PLC0415
    from rppsearch.search import search  # noqa: PLC0415
    from rppsearch.store import Store  # noqa: PLC0415

    queries = read_queries(HERE / "domain" / "queries.jsonl")
    settings, _ = prepare(args.index_dir, os.environ.get("RPP_MODEL", PACKAGED_MODEL))
    encoder = get_encoder(settings.embedding_model)
    with Store.open(settings.db_path, readonly=True) as store:
        rows = store.conn.execute(
            "SELECT p.pk, d.path, coalesce(p.title, ''), p.heading, p.text, p.document_id, p.seq "
            "FROM passages p JOIN documents d ON d.id = p.document_id ORDER BY p.document_id, p.seq"
        ).fetchall()
        titles = [r[0] for r in store.conn.execute("SELECT coalesce(title, '') FROM documents")]
        bm25: dict[str, list[tuple[str, float]]] = {}
        for q in queries:
            hits = search(store, settings, query=q["query"], mode="bm25", limit=200, by="document")
            paths = {r[0]: r[1] for r in store.conn.execute("SELECT id, path FROM documents")}
            bm25[q["id"]] = [(doc_key(paths[h.document_id]) or h.document_id, h.score) for h in hits]
    keys = [doc_key(r[1]) or r[1] for r in rows]
    nxt = [rows[i + 1][4] if i + 1 < len(rows) and rows[i + 1][5] == rows[i][5] else "" for i in range(len(rows))]
    recipes = {
        "title+heading+text": lambda i: "\n".join(x for x in (rows[i][2], rows[i][3], rows[i][4]) if x),
        "heading+text": lambda i: "\n".join(x for x in (rows[i][3], rows[i][4]) if x),
        "text": lambda i: rows[i][4],
        "trusted+heading+text": lambda i: "\n".join(
            x for x in (trusted_title(rows[i][2], titles), rows[i][3], rows[i][4]) if x
        ),
        "trusted+heading+text+next": lambda i: "\n".join(
            x for x in (trusted_title(rows[i][2], titles), rows[i][3], rows[i][4], " ".join(nxt[i].split()[:40])) if x
        ),
    }
    recipes = {name: f for name, f in recipes.items() if not args.recipe or name in args.recipe}
    qvecs = encoder.encode([q["query"] for q in queries])
    dense: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for name, recipe in recipes.items():
        cache = args.index_dir / f"recipe-{name}.npy"
        texts = [recipe(i) for i in range(len(rows))]
        stamp = args.index_dir / f"recipe-{name}.json"
        digest = str(hash("\x00".join(texts)))
        if cache.exists() and stamp.exists() and json.loads(stamp.read_text())["digest"] == digest:
            matrix = np.load(cache)
        elif name == "title+heading+text":  # what the store holds: no need to encode again
            from rppsearch.store import vectors as vstore  # noqa: PLC0415

            with Store.open(settings.db_path, readonly=True) as store:
                model = encoder.fingerprint
                found = vstore.get_vectors(store, [r[0] for r in rows], model=model)
            matrix = np.asarray(found, dtype=np.float32)
        else:
            matrix = encoder.encode(texts)
            np.save(cache, matrix)
            stamp.write_text(json.dumps({"digest": digest}))
        scores = qvecs @ matrix.T
        dense[name] = {}
        for qi, q in enumerate(queries):
            best: dict[str, float] = {}
            for key, s in zip(keys, scores[qi].tolist()):
                if s > best.get(key, -2.0):
                    best[key] = s
            dense[name][q["id"]] = sorted(best.items(), key=lambda kv: -kv[1])
        print(f"encoded {name}", flush=True)

    tune = [q for q in queries if int(q["id"][1:]) % 2 == 1]
    test = [q for q in queries if int(q["id"][1:]) % 2 == 0]
    para = [q for q in queries if q["kind"] == "paraphrase"]

    def report(ranked: dict[str, list[str]]) -> dict[str, float]:
        return {name: round(ndcg_at_10(group, ranked), 4) for name, group in
                (("all", queries), ("tune", tune), ("test", test), ("paraphrase", para))}

    result: dict[str, Any] = {"bm25": report({q: [k for k, _ in v] for q, v in bm25.items()}), "recipes": {}}
    for name in recipes:
        sem = {q: [k for k, _ in v] for q, v in dense[name].items()}
        entry: dict[str, Any] = {"semantic": report(sem), "fusion": {}}
        for k, ws, wb, depth in itertools.product((5, 10, 20, 60), (0.6, 0.8, 1.0), (0.6, 0.8, 1.0), (20, 50, 200)):
            fused = {q["id"]: rrf([sem[q["id"]], [x for x, _ in bm25[q["id"]]]], [ws, wb], k, depth) for q in queries}
            entry["fusion"][f"rrf k={k} w={ws}/{wb} depth={depth}"] = report(fused)
        for w, depth in itertools.product((0.3, 0.4, 0.5, 0.6, 0.7), (20, 50, 200)):
            fused = {q["id"]: convex([dense[name][q["id"]], bm25[q["id"]]], [w, 1 - w], depth) for q in queries}
            entry["fusion"][f"convex w={w} depth={depth}"] = report(fused)
        best = max(entry["fusion"], key=lambda f: entry["fusion"][f]["tune"])
        entry["best_on_tune"] = {"setting": best, **entry["fusion"][best]}
        entry["default_rrf"] = entry["fusion"]["rrf k=60 w=1.0/1.0 depth=200"]
        result["recipes"][name] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"bm25: {result['bm25']}")
    for name, entry in result["recipes"].items():
        print(f"{name:28} semantic {entry['semantic']}  rrf default {entry['default_rrf']}")
        print(f"{'':28} best on tune: {entry['best_on_tune']}")
    for setting in ("rrf k=10 w=1.0/1.0 depth=200", "rrf k=20 w=0.8/1.0 depth=200", "convex w=0.5 depth=200",
                    "rrf k=60 w=0.8/1.0 depth=200", "rrf k=20 w=1.0/1.0 depth=50"):
        print(setting, {n: e["fusion"][setting]["all"] for n, e in result["recipes"].items()})


if __name__ == "__main__":
    main()
