"""The choices and defaults of a search, in a module that imports nothing.

The Datasette plugin reads them when it loads and the web page validates its parameters
against them; from here that costs nothing, while `rppsearch.search` (which re-exports them)
pulls in numpy and the index code. numpy loads when a search first runs.
"""

MODES = ("hybrid", "bm25", "semantic")
FUSIONS = ("rrf", "convex")
BY = ("passage", "document")
DEFAULT_PER_DOCUMENT = 3
#: Hybrid fusion by default: the convex combination at weight 0.5 (SciFact train nDCG@10
#: 0.7375 vs 0.7114 for RRF k=60; test 0.7319 vs 0.7128, benchmarks/results/scifact_tuning.json;
#: on the domain questions 0.823 vs 0.814 for RRF k=60, benchmarks/results/domain.json and
#: domain_rrf.json: `python benchmarks/bench_domain.py --mode hybrid --option fusion=rrf`).
DEFAULT_FUSION = "convex"
