"""Metadata found without a catalog on ../shared/seeds + ../shared/domain: every page's stored
title (with the source, what the title rules say of it, and the documents that share it),
years, organizations, authors, mentioned districts, and distinct district values on the
sample corpus.

    PYTHONPATH=src python benchmarks/bench_metadata.py   # prints a table, writes results/metadata.json

The title column is for a reader to judge (the judgment is written in the README part, with
its reason). The publishers' own titles in ../shared/domain/index.tsv are printed beside ours
for comparison only: they are not stored in the results nor used by the product.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from rppsearch.ingest.formats.titles import title_problem
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.ingest.titling import title_key
from rppsearch.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def main() -> int:
    if not (SHARED / "seeds").is_dir():
        print("../shared is absent: nothing to measure")
        return 0
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp) / "seeds.db") as store:
            start = time.perf_counter()
            ingest_paths(store, [SHARED / "domain", SHARED / "seeds"])
            out["seconds"] = round(time.perf_counter() - start, 1)
            rows = [dict(r) for r in store.conn.execute(
                "SELECT id, path, title, year, organization, authors, mentioned_districts, metadata_sources FROM documents ORDER BY id")]
        with Store.open(Path(tmp) / "corpus.db") as store:
            ingest_paths(store, [REPO / "corpus"])
            values = sorted({v for (v,) in store.conn.execute(
                "SELECT j.value FROM documents d, json_each(d.districts) j")})
    out["documents"] = len(rows)
    out["with_year"] = [(r["id"], r["year"]) for r in rows if r["year"]]
    out["with_organization"] = [(r["id"], r["organization"]) for r in rows if r["organization"]]
    out["with_authors"] = [r["id"] for r in rows if json.loads(r["authors"])]
    out["mentioned_districts"] = {r["id"]: json.loads(r["mentioned_districts"]) for r in rows if r["mentioned_districts"] != "[]"}
    out["sample_corpus_district_values"] = values
    out["titles"] = _titles(rows)
    out["shared_titles"] = sum(1 for t in out["titles"] if t["shares_with"])
    out["title_problems"] = sum(1 for t in out["titles"] if t["problem"])
    (REPO / "benchmarks" / "results" / "metadata.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{out['documents']} documents ingested without a catalog in {out['seconds']} s")
    print(f"year: {len(out['with_year'])}  organization: {len(out['with_organization'])}  authors: {len(out['with_authors'])}")
    for doc_id, year in out["with_year"]:
        print(f"  year {year}  {doc_id}")
    for doc_id, names in out["mentioned_districts"].items():
        print(f"  {doc_id}: {', '.join(names)}")
    print(f"sample corpus: {len(values)} district facet values")
    reference = _reference_titles()
    print(f"\ntitles ({out['shared_titles']} documents share a title with another, "
          f"{out['title_problems']} refused by the title rules):")
    for t in out["titles"]:
        flag = f"  SHARED with {', '.join(t['shares_with'])}" if t["shares_with"] else ""
        problem = f"  PROBLEM: {t['problem']}" if t["problem"] else ""
        print(f"  {t['id']}  [{t['source']}]  {t['title']}{flag}{problem}")
        if t["file"] in reference:
            print(f"      publisher: {reference[t['file']]}")
    return 0


def _titles(rows: list[dict]) -> list[dict]:
    """Each document's stored title, its source, the rules' verdict and who shares it."""
    by_key: dict[str, list[str]] = {}
    for r in rows:
        by_key.setdefault(title_key(r["title"]), []).append(r["id"])
    return [{
        "id": r["id"], "file": Path(r["path"]).name, "title": r["title"],
        "source": json.loads(r["metadata_sources"]).get("title"),
        "problem": title_problem(r["title"]),
        "shares_with": [i for i in by_key[title_key(r["title"])] if i != r["id"]],
    } for r in rows]


def _reference_titles() -> dict[str, str]:
    """file name -> the publisher's title from ../shared/domain/index.tsv (for comparison)."""
    index = SHARED / "domain" / "index.tsv"
    if not index.is_file():
        return {}
    lines = index.read_text(encoding="utf-8").splitlines()[1:]
    return {parts[0]: parts[1] for parts in (line.split("\t") for line in lines) if len(parts) > 1}


if __name__ == "__main__":
    sys.exit(main())
