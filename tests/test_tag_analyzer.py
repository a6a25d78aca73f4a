"""The numpy TF-IDF analyzer used at inference gives scikit-learn's rows, without importing it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from rppsearch.tag.features import TfidfFeatures, count_matrix

REPO = Path(__file__).resolve().parents[1]
TEXTS = [
    "Principal supervisors meet principals weekly; the central office's role is changing.",
    "Évaluation des écoles: naïve café-style data use, and the district's theory-of-action.",
    "The THE the and of to — stop words only?",
    "Learning-focused partnerships with principals (2019) support instructional leadership and data use.",
    "",
    "x y z 123 4th-grade teachers' teams don’t meet; they're 'busy' — co-teaching, re-culturing.",
]


def _fitted() -> TfidfFeatures:
    corpus = TEXTS * 2 + [p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus" / "docs").glob("*.md"))[:15]]
    counts, terms = count_matrix(corpus, ngram_max=2)
    return TfidfFeatures(min_df=1).fit_counts(counts, terms)


def test_numpy_rows_equal_scikit_learns() -> None:
    fitted = _fitted()
    loaded = TfidfFeatures.from_json(fitted.to_json())  # as a saved model is used
    texts = TEXTS + [p.read_text(encoding="utf-8")[:3000] for p in sorted((REPO / "corpus" / "docs").glob("*.md"))[15:25]]
    dense = loaded.transform(texts)
    assert isinstance(dense, np.ndarray) and dense.shape == (len(texts), fitted.n_features)
    counts, terms = count_matrix(texts, ngram_max=2)  # scikit-learn's analyzer, then the same weighting
    reference = loaded._weigh(_columns(counts, terms, loaded.to_json()["terms"])).toarray()  # noqa: SLF001
    assert np.abs(dense - reference).max() < 1e-6
    assert (dense.sum(axis=1) > 0).sum() >= len(texts) - 2  # not all empty rows
    many = loaded.transform(texts * 40)  # past DENSE_MAX: sparse rows, the same values
    assert many.shape == (len(texts) * 40, fitted.n_features)
    assert np.abs(many.toarray()[: len(texts)] - reference).max() < 1e-6


def _columns(counts, terms, vocabulary):  # type: ignore[no-untyped-def]
    from scipy import sparse

    index = {t: i for i, t in enumerate(terms)}
    out = sparse.lil_matrix((counts.shape[0], len(vocabulary)), dtype=np.float32)
    dense = counts.toarray()
    for j, term in enumerate(vocabulary):
        if term in index:
            out[:, j] = dense[:, index[term]][:, None]
    return out.tocsr()


def test_tagging_text_does_not_import_scikit_learn(tmp_path: Path) -> None:
    fitted = _fitted()
    import json

    (tmp_path / "tfidf.json").write_text(json.dumps(fitted.to_json()))
    code = (
        "import json, sys\n"
        "from rppsearch.tag.features import TfidfFeatures\n"
        f"f = TfidfFeatures.from_json(json.load(open({str(tmp_path / 'tfidf.json')!r})))\n"
        "f.transform(['principal supervisors and data use'])\n"
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
