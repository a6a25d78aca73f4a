"""Metadata found without a catalog on ../shared/seeds + ../shared/domain: years, organizations,
authors, mentioned districts, and distinct district values on the sample corpus.

    PYTHONPATH=src python benchmarks/bench_metadata.py   # prints a table, writes results/metadata.json
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from rppsearch.ingest.pipeline import ingest_paths
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
                "SELECT id, title, year, organization, authors, mentioned_districts, metadata_sources FROM documents ORDER BY id")]
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
    (REPO / "benchmarks" / "results" / "metadata.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{out['documents']} documents ingested without a catalog in {out['seconds']} s")
    print(f"year: {len(out['with_year'])}  organization: {len(out['with_organization'])}  authors: {len(out['with_authors'])}")
    for doc_id, year in out["with_year"]:
        print(f"  year {year}  {doc_id}")
    for doc_id, names in out["mentioned_districts"].items():
        print(f"  {doc_id}: {', '.join(names)}")
    print(f"sample corpus: {len(values)} district facet values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
