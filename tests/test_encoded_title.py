"""A passage is encoded with its document's title only when the document or a person gave it:
a title rppsearch guessed from the text (its opening sentence, an early heading, a shared title
told apart by opening words) is left out of the vectors, and vectors follow when a title's
origin changes even though its words do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rppsearch.build import build
from rppsearch.config import Settings
from rppsearch.embed import get_encoder
from rppsearch.index.vectors import embedding_text
from rppsearch.progress import no_progress
from rppsearch.store import SCHEMA_VERSION, Store

OPENING = "Principal supervisors in Riverbend visit classrooms with their principals every week"


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "guessed.txt").write_text(
        f"{OPENING}. They talk about what they saw and plan the next visit together.\n\n"
        "The budget office moved two analysts into the schools to help principals plan staffing.\n",
        encoding="utf-8",
    )
    (corpus / "declared.md").write_text(
        "# Supervisors at work\n\nSupervisors coach principals on instruction in weekly school visits.\n",
        encoding="utf-8",
    )
    return corpus


def _stored(settings: Settings) -> dict[str, list[tuple[str | None, str, str, np.ndarray]]]:
    """Per document: (title source, title, heading, text, stored vector) of each passage."""
    out: dict[str, list] = {}
    with Store.open(settings.db_path) as store:
        for r in store.conn.execute(
            "SELECT p.document_id, json_extract(d.metadata_sources, '$.title') AS source, p.title, p.heading, p.text, "
            "v.vector FROM passages p JOIN documents d ON d.id = p.document_id "
            "LEFT JOIN passage_vectors v ON v.passage_pk = p.pk ORDER BY p.pk"
        ):
            vector = None if r["vector"] is None else np.frombuffer(r["vector"], dtype="<f4")
            out.setdefault(r["document_id"], []).append((r["source"], r["title"], r["heading"], r["text"], vector))
    return out


def _encodes(vector: np.ndarray, title: str | None, heading: str | None, text: str) -> bool:
    return bool(np.allclose(vector, get_encoder("fake").encode([embedding_text(title, heading, text)])[0], atol=1e-5))


def test_a_guessed_title_is_not_encoded_and_a_declared_one_is(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[_corpus(tmp_path)], progress=no_progress)
    stored = _stored(settings)
    guessed, declared = stored["corpus-guessed"], stored["corpus-declared"]
    assert {p[0] for p in guessed} == {"inferred"} and guessed[0][1].startswith("Principal supervisors")
    assert {p[0] for p in declared} == {"document"} and declared[0][1] == "Supervisors at work"
    for _, title, heading, text, vector in guessed:
        assert _encodes(vector, None, heading, text) and not _encodes(vector, title, heading, text)
    for _, title, heading, text, vector in declared:
        assert _encodes(vector, title, heading, text)


def test_a_catalog_giving_the_guessed_title_word_for_word_re_encodes_with_it(tmp_path: Path) -> None:
    """Same words, another origin: the passages must now carry the title in their vectors."""
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    corpus = _corpus(tmp_path)
    build(settings, paths=[corpus], progress=no_progress)
    title = _stored(settings)["corpus-guessed"][0][1]
    (corpus / "catalog.csv").write_text(f'path,title\nguessed.txt,"{title}"\n', encoding="utf-8")
    result = build(settings, paths=[corpus], progress=no_progress)
    guessed = _stored(settings)["corpus-guessed"]
    assert {p[0] for p in guessed} == {"catalog"} and {p[1] for p in guessed} == {title}
    for _, _, heading, text, vector in guessed:
        assert _encodes(vector, title, heading, text)
    assert result.stages["encode"]["encoded"] == len(guessed)  # the declared document kept its vectors


def test_upgrading_a_store_drops_only_the_vectors_that_encode_a_guessed_title(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[_corpus(tmp_path)], progress=no_progress)
    with Store.open(settings.db_path) as store:  # as the previous version left it
        store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    with Store.open(settings.db_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
    stored = _stored(settings)
    assert all(p[4] is None for p in stored["corpus-guessed"])
    assert all(p[4] is not None for p in stored["corpus-declared"])
    result = build(settings, paths=[tmp_path / "corpus"], progress=no_progress)
    assert result.stages["encode"]["encoded"] == len(stored["corpus-guessed"])
    assert all(p[4] is not None for p in _stored(settings)["corpus-guessed"])
