"""Real MiniLM: semantic search finds a paraphrase that shares no term with the query."""

from __future__ import annotations

import pytest

from rppsearch.config import PACKAGED_MODEL, Settings
from rppsearch.embed import get_encoder
from rppsearch.index.vectors import current_fingerprint, embed_missing, refresh_index
from rppsearch.search import search
from test_search_support import Doc, add_docs

pytestmark = pytest.mark.model

TARGET = "doc-drivers-p0000"
QUERY = "staffing shortage in student transportation"


@pytest.fixture
def corpus(store, index_dir):  # noqa: ANN001, ANN201
    texts = {
        "drivers": "The district cannot fill its bus driver vacancies, so several routes were cancelled this fall.",
        "coaching": "Principal supervisors coach principals on instructional leadership during weekly school visits.",
        "budget": "The school board approved a budget that moves money from the central office to schools.",
        "family": "Families of children at the school asked for clearer reports on student progress.",
        "hiring": "Human resources now helps principals hire teachers earlier in the spring for the next school year.",
        "data": "Central office staff use evidence from school visits to decide where to send support.",
    }
    add_docs(store, [Doc(id=f"doc-{key}", title=None, passages=[text]) for key, text in texts.items()])
    settings = Settings(index_dir=index_dir, embedding_model=PACKAGED_MODEL)
    embed_missing(store, settings)
    refresh_index(store, settings)
    return store, settings


def test_semantic_finds_the_paraphrase_bm25_misses(corpus) -> None:  # noqa: ANN001
    store, settings = corpus
    lexical = [h.id for h in search(store, settings, query=QUERY, mode="bm25", limit=10)]
    assert lexical, "BM25 matches another passage through 'student'"
    assert TARGET not in lexical
    semantic = search(store, settings, query=QUERY, mode="semantic", limit=3)
    assert semantic[0].id == TARGET
    hybrid = [h.id for h in search(store, settings, query=QUERY, mode="hybrid", limit=3)]
    assert TARGET in hybrid


def test_fingerprint_without_loading_equals_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    from rppsearch import embed

    loaded = get_encoder(PACKAGED_MODEL).fingerprint
    monkeypatch.setattr(embed, "_CACHE", {})  # as in a process that has not loaded the model
    assert current_fingerprint(Settings(embedding_model=PACKAGED_MODEL)) == loaded
    assert "torch" not in str(embed._CACHE)


def test_one_query_encodes_like_a_batch_and_leaves_torch_threads_alone() -> None:
    """A lone query runs on one thread (faster on 2 cores); the vector and the setting are unchanged."""
    import threading

    import numpy as np
    import torch

    encoder = get_encoder(PACKAGED_MODEL)
    queries = [QUERY, "how do supervisors coach principals on instruction?"]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        batch = encoder.encode(queries)
        alone = np.stack([encoder.encode([q])[0] for q in queries])
        assert torch.get_num_threads() == 2
        # queries from several threads at once (a Datasette server) restore the setting too
        workers = [threading.Thread(target=encoder.encode, args=([q],)) for q in queries * 4]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert np.allclose((batch * alone).sum(axis=1), 1.0, atol=1e-3)


def test_a_model_whose_query_shortcut_disagrees_falls_back_to_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-query shortcut (weights cast once, modules run directly) is used only after a
    probe shows it gives the plain path's vector; otherwise the model is reloaded untouched."""
    import torch

    from rppsearch.embed import SentenceTransformerEncoder

    plain = SentenceTransformerEncoder(PACKAGED_MODEL, bf16=False)
    expected = plain.encode([QUERY])[0]
    fast = get_encoder(PACKAGED_MODEL)
    assert float(fast.encode([QUERY])[0] @ expected) > 0.9999

    monkeypatch.setattr(SentenceTransformerEncoder, "_encode_one", lambda self, text: -plain.encode([text])[0])
    wary = SentenceTransformerEncoder(PACKAGED_MODEL)
    vector = wary.encode([QUERY])[0]
    assert float(vector @ expected) > 0.9999
    assert all(p.dtype == torch.float32 for p in wary._model.parameters())  # reloaded, not left half-cast
