"""Query expansion for the lexical side of hybrid search: pseudo-relevance feedback.

A question phrased without the documents' words ("who teaches the people whose job is to
coach school leaders?") gives BM25 little to match, while the dense engine often finds the
right passages anyway. Hybrid search with `expand=True` therefore takes the words that characterise the dense
engine's best few passages (each word's share of its passage times its inverse document
frequency, summed over the passages, stop words and short words left out) and adds the
best of them to the BM25 query as optional terms, each weighted by its share of
`EXPANSION_WEIGHT` x the number of the query's own words, so the query's own words keep
most of the weight. It is off by default: on the domain questions it moves hybrid nDCG@10
from 0.823 to 0.835 (paraphrases 0.711 to 0.742; benchmarks/results/domain_expand.json) and
on Cranfield from 0.413 to 0.418, but it cost SciFact's test queries 0.015 (0.733 to 0.718;
0.009 even at a third of the weight), below that benchmark's target; see
benchmarks/tune_expansion.py.

Only questions that need it are expanded: when the dense engine's best passages already
contain most of the query's words (`MAX_COVERAGE`), the query is left as it is.

The BM25 engine counts each expansion term's score times its weight; a query with
operators (phrases, field terms, exclusions) is not expanded: its words are what the
person asked for.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

#: Feedback passages (the dense engine's best), terms added, and their total weight
#: relative to the query's own words: the best on the odd-numbered domain questions
#: (benchmarks/results/domain_expansion.json).
FEEDBACK_PASSAGES = 3
EXPANSION_TERMS = 20
EXPANSION_WEIGHT = 0.3
#: Stems shorter than this are left out (numbers, initials, stemmed fragments).
MIN_STEM_CHARS = 3
#: Expand only when the feedback passages contain, on average, less than this share of the
#: query's own words: a question in the documents' words is answered by BM25 as it stands
#: (expanding it cost SciFact 0.014 nDCG@10), one in other words is what expansion is for.
MAX_COVERAGE = 0.6


def coverage(query_terms: Iterable[str], texts: Iterable[str], *, analyze: Callable[[str], list[str]]) -> float:
    """The mean, over `texts`, of the share of the distinct `query_terms` each contains (1.0
    when there is no query term or no text)."""
    wanted = set(query_terms)
    shares = [len(wanted & set(analyze(text))) / len(wanted) for text in texts] if wanted else []
    return sum(shares) / len(shares) if shares else 1.0


def expansion_terms(
    texts: Iterable[str],
    *,
    analyze: Callable[[str], list[str]],
    doc_freq: Callable[[str], int],
    num_docs: int,
    stop: frozenset[str] | set[str] = frozenset(),
    query_terms: Iterable[str] = (),
    terms: int = EXPANSION_TERMS,
    weight: float = EXPANSION_WEIGHT,
) -> dict[str, float]:
    """`{stem: weight}` of the `terms` stems that best characterise `texts` (tf share x idf,
    summed over the texts), scaled so the weights add up to `weight` x the number of
    distinct `query_terms` (at least 1). `analyze` turns text into the index's stems;
    `doc_freq(stem)` counts the passages containing it among `num_docs`; stems in `stop` are
    skipped. Empty when nothing qualifies."""
    scores: Counter[str] = Counter()
    for text in texts:
        stems = [s for s in analyze(text) if len(s) >= MIN_STEM_CHARS and s not in stop]
        if not stems:
            continue
        counts = Counter(stems)
        total = sum(counts.values())
        for stem, count in counts.items():
            df = doc_freq(stem)
            if df <= 0 or num_docs <= 0:
                continue
            scores[stem] += count / total * math.log(max(num_docs / df, 1.0))
    best = [(stem, s) for stem, s in scores.most_common(terms) if s > 0]
    norm = sum(s for _, s in best)
    if not best or norm <= 0:
        return {}
    budget = weight * max(len(set(query_terms)), 1)
    return {stem: budget * s / norm for stem, s in best}
