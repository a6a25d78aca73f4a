"""Crash safety: `rpp build` / `rpp add` killed with SIGKILL at random points, many times.

After every kill the store must pass `PRAGMA integrity_check` and FTS5's integrity check
against its content tables, every document must have all its passages, no derived row may be
orphaned, and the vectors index must either match the store or be detected as stale. Then an
uninterrupted run finishes the job and the store equals a clean build of the same corpus.

Figures (kills landed, phases hit, temp files left behind) are printed with `-s`.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _reliability import connect, document_text, store_snapshot, store_violations, write_corpus
from rppsearch.config import Settings

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("RPP_CRASH_KILLS", "24"))

# A "zygote": one process pays for the imports once, then forks a child per command, each
# running the real CLI (`rppsearch.cli.main.main`) in its own process group. The test SIGKILLs the
# child's process group; the zygote reports each child's exit status. Runs thus cost a fork,
# not an interpreter start-up, and kill delays count from when the command starts working.
ZYGOTE = """
import json, os, sys
from rppsearch.ingest import formats, nlp, pipeline
import rppsearch.build, rppsearch.tag.pipeline, rppsearch.index.vectors, rppsearch.index.bm25, sklearn.linear_model
import rppsearch.cli.main
nlp.get_sentencizer()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0); os.dup2(null, 1); os.dup2(err, 2)
        sys.argv = ["rpp", *request["argv"]]
        code = 0
        try:
            rppsearch.cli.main.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback; traceback.print_exc(); code = 1
        sys.stderr.flush()
        os._exit(code)
    try:
        os.setpgid(pid, pid)  # the group exists before the test may kill it (the child sets it too)
    except OSError:
        pass  # the child set it first, or has already exited
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"pid": pid, "code": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class Zygote:
    """Runs `rpp ARGS` in forked children of one warmed-up process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "RPP_MODEL": "fake"},
        )
        assert json.loads(self._line(120)) == {"ready": True}

    def _line(self, timeout: float | None) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self.proc.stdout.readline()
        assert line, "the zygote died"
        return line

    def run(self, args: list[str], index_dir: Path, *, kill_after: float | None) -> tuple[int, str]:
        """(exit code, stderr); -9 when the child was killed after `kill_after` seconds.
        `self.last_seconds` is how long the child ran."""
        assert self.proc.stdin is not None
        err = self.workdir / "child-stderr.txt"
        request = {"argv": [*args, "--index-dir", str(index_dir), "--quiet"], "stderr": str(err)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        pid = json.loads(self._line(60))["pid"]
        started = time.monotonic()
        try:
            done = json.loads(self._line(kill_after if kill_after is not None else 900))
        except TimeoutError:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # the child finished (and was reaped) between the timeout and the kill
            done = json.loads(self._line(60))
        self.last_seconds = time.monotonic() - started
        return done["code"], err.read_text(errors="replace") if err.exists() else ""

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def rpp_build(corpus: Path, index_dir: Path) -> subprocess.CompletedProcess[str]:
    """An ordinary, uninterrupted `rpp build` in its own interpreter."""
    return subprocess.run(
        [sys.executable, "-c", "from rppsearch.cli.main import main; main()", "build", str(corpus),
         "--index-dir", str(index_dir), "--quiet"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "RPP_MODEL": "fake"},
    )


def index_agrees_or_is_stale(settings: Settings) -> str:
    """'fresh' when the manifest matches the store and the files really hold the store's vectors,
    'stale: …' when the mismatch is detected; raises AssertionError when an index claims to be
    fresh but disagrees with the store."""
    from rppsearch.index.vectors import DOCS_FILE, PKS_FILE, VECTORS_FILE, index_state
    from rppsearch.store import Store
    from rppsearch.store import vectors as vstore

    with Store.open(settings.db_path, readonly=True) as store:
        problem = index_state(store, settings, fingerprint="fake@384")
        if problem is not None:
            return f"stale: {problem}"
        folder = settings.vectors_dir
        manifest = json.loads((folder / "manifest.json").read_text())
        pks = np.load(folder / PKS_FILE, allow_pickle=False)
        docs = np.load(folder / DOCS_FILE, allow_pickle=False)
        matrix = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        assert matrix.shape == (manifest["count"], manifest["dim"]) == (len(pks), manifest["dim"])
        assert len(docs) == len(pks)
        stored_pks = vstore.vector_pks(store, model="fake@384")
        assert np.array_equal(pks, stored_pks), "index claims to be fresh but holds other passages"
        if len(pks):
            stored = vstore.get_vectors(store, pks.tolist(), model="fake@384", dim=manifest["dim"])
            block = np.asarray(matrix)
            assert np.array_equal(block, stored.astype(block.dtype)), "index claims to be fresh but its rows differ"
    return "fresh"


def active_model_is_whole(settings: Settings) -> None:
    """The active tagger model, if any, is a complete folder (written to a temp path, renamed)."""
    conn = connect(settings.db_path, readonly=True)
    try:
        row = conn.execute("SELECT path FROM models WHERE active = 1").fetchone()
    finally:
        conn.close()
    if row is None:
        return
    folder = Path(row[0]) if Path(row[0]).is_absolute() else settings.index_dir / row[0]
    from rppsearch.tag.persist import read_card

    card = read_card(folder)
    for name in card.get("files", {}):
        assert (folder / name).is_file(), f"active model lacks {name}"


def temp_leftovers(index_dir: Path) -> list[str]:
    return sorted(
        str(p.relative_to(index_dir)) for p in index_dir.rglob("*")
        if p.name.endswith(".tmp") or ".tmp" in p.name
    )


def phase_reached(settings: Settings, inputs: list[Path]) -> str:
    """Which stage a killed run was in, judged from the work it left undone."""
    conn = connect(settings.db_path, readonly=True)
    try:
        stored = {r[0] for r in conn.execute("SELECT path FROM documents")}
        unembedded, untagged = conn.execute(
            "SELECT (SELECT count(*) FROM passages WHERE pk NOT IN (SELECT passage_pk FROM passage_vectors)), "
            "(SELECT count(*) FROM passages WHERE pk NOT IN (SELECT passage_pk FROM passage_tags))"
        ).fetchone()
    finally:
        conn.close()
    if not {str(p.resolve()) for p in inputs} <= stored:
        return "ingest"
    if unembedded:
        return "encode"
    if untagged:
        return "tag"
    if index_agrees_or_is_stale(settings) != "fresh":
        return "index"
    return "finishing"


def mutate(corpus: Path, rng: random.Random, next_id: list[int]) -> list[Path]:
    """Give the next run work to do: add documents, change one, delete one. Returns added files."""
    added = write_corpus(corpus, rng.randint(1, 3), start=next_id[0])
    next_id[0] += len(added)
    existing = sorted(corpus.glob("doc-*.txt"))
    changed = rng.choice(existing)
    changed.write_text(changed.read_text(encoding="utf-8") + f"\n\nAn added note {rng.random()} about coaching.\n")
    if len(existing) > 8:
        victim = rng.choice([p for p in existing if p != changed and p not in added])
        victim.unlink()
    return added


def test_sigkill_at_random_points_never_corrupts_and_the_next_run_finishes(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("RPP_CRASH_SEED", "7")))
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 10, paragraphs=6)
    next_id = [10]
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")

    kills = completed = 0
    outcomes: dict[str, int] = {}
    phases: dict[str, int] = {}
    durations = [1.0]  # of runs left to finish: kill delays follow how long a run takes here
    attempt = 0
    zygote = Zygote(tmp_path)
    try:
        while kills < KILLS and attempt < KILLS * 3:
            attempt += 1
            added = mutate(corpus, rng, next_id) if attempt > 1 else []
            use_add = bool(added) and rng.random() < 0.3
            args = ["add", *map(str, added)] if use_add else ["build", str(corpus)]
            typical = sorted(durations)[len(durations) // 2]
            delay = None if attempt % 5 == 0 else rng.uniform(0.0, typical)  # every fifth run finishes
            code, stderr = zygote.run(args, settings.index_dir, kill_after=delay)
            if code == -signal.SIGKILL:
                kills += 1
            else:
                completed += 1
                durations.append(zygote.last_seconds)
                assert code == 0, f"run {attempt} ({args[0]}) failed: {stderr[-1500:]}"
            if not settings.db_path.exists():
                phases["start-up"] = phases.get("start-up", 0) + 1
                continue
            if code == -signal.SIGKILL:
                phase = phase_reached(settings, added if use_add else sorted(corpus.glob("*.txt")))
                phases[phase] = phases.get(phase, 0) + 1
            violations = store_violations(settings.db_path)
            assert violations == [], f"after run {attempt} (killed={code == -signal.SIGKILL}): {violations}"
            state = index_agrees_or_is_stale(settings) if (settings.vectors_dir / "manifest.json").exists() else "no index yet"
            outcomes[state.split(":")[0]] = outcomes.get(state.split(":")[0], 0) + 1
            active_model_is_whole(settings)
    finally:
        zygote.close()

    assert kills >= KILLS, f"only {kills} kills landed in {attempt} runs"
    leftovers = temp_leftovers(settings.index_dir)

    # An uninterrupted run finishes the job ...
    final = rpp_build(corpus, settings.index_dir)
    assert final.returncode == 0, final.stderr[-2000:]
    assert store_violations(settings.db_path) == []
    assert index_agrees_or_is_stale(settings) == "fresh"
    # ... clears the index folders' temp files the kills left (under the writer lock) ...
    assert [t for t in temp_leftovers(settings.index_dir) if t.startswith(("vectors/", "lexical/"))] == []
    # ... and the store equals a clean build of the same corpus.
    clean = Settings(index_dir=tmp_path / "clean-ix", embedding_model="fake")
    assert rpp_build(corpus, clean.index_dir).returncode == 0
    assert store_snapshot(settings.db_path) == store_snapshot(clean.db_path)
    conn = connect(settings.db_path, readonly=True)
    try:
        passages, vectors, tagged = conn.execute(
            "SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM passage_vectors), "
            "(SELECT count(DISTINCT passage_pk) FROM passage_tags)"
        ).fetchone()
    finally:
        conn.close()
    assert passages == vectors == tagged
    assert set(store_snapshot(settings.db_path)["documents"]) == {str(p.resolve()) for p in corpus.glob("*.txt")}
    print(
        f"\ncrash safety: {kills} SIGKILLs survived in {attempt} runs ({completed} ran to the end), "
        f"work left by the kills: {phases}, index after each run: {outcomes}, "
        f"temp files left by kills: {len(leftovers)} {leftovers[:3]}"
    )


def test_a_kill_between_the_index_files_and_the_manifest_is_detected(tmp_path: Path) -> None:
    """Files renamed into place but the manifest not yet written: the index reads as stale."""
    from rppsearch.index.vectors import PKS_FILE, index_state, refresh_index
    from rppsearch.store import Store

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 3)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    from rppsearch.build import build

    from _reliability import no_progress

    build(settings, paths=[corpus], progress=no_progress)
    old_manifest = (settings.vectors_dir / "manifest.json").read_text()
    (corpus / "doc-0001.txt").write_text(document_text(101), encoding="utf-8")
    from rppsearch.ingest.pipeline import ingest_paths

    with Store.open(settings.db_path) as store:
        ingest_paths(store, [corpus])
        from rppsearch.index.vectors import embed_missing

        embed_missing(store, settings)
        refresh_index(store, settings)  # writes new npy files, then the manifest
    (settings.vectors_dir / "manifest.json").write_text(old_manifest)  # as if killed before the last rename
    with Store.open(settings.db_path, readonly=True) as store:
        assert index_state(store, settings, fingerprint="fake@384") is not None
    from rppsearch.errors import IndexStateError
    from rppsearch.index.vectors import load_index

    with pytest.raises(IndexStateError, match="do not match their manifest"):
        load_index(settings)
    assert np.load(settings.vectors_dir / PKS_FILE).size > 0


def test_the_next_build_clears_temp_files_of_killed_writers_but_not_of_live_ones(tmp_path: Path) -> None:
    """Kills leave temp files (never torn ones); the next writer removes what no live process owns."""
    import threading

    from _reliability import no_progress
    from rppsearch.build import build
    from rppsearch.index.manifest import index_lock

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 2)
    settings = Settings(index_dir=tmp_path / "ix", embedding_model="fake")
    build(settings, paths=[corpus], progress=no_progress)
    dead_pid = 2**22 + 1  # above Linux's largest pid_max: no process has it (an exited one's pid may be reused)
    long_ago = time.time() - 3600
    killed = [
        settings.vectors_dir / ".vectors.npy.k1ll3d.tmp",
        settings.lexical_dir / ".pks.npy.k1ll3d.tmp",
        settings.lexical_dir / ".tmpK1ll3d",  # tantivy's own atomic-write temp
        settings.models_dir / f".tmp-v99-{dead_pid}",
        settings.index_dir / f".lexical.new-{dead_pid}",
    ]
    live = [
        settings.models_dir / f".tmp-v98-{os.getpid()}",  # a live process's save in progress
        settings.models_dir / f".tmp-v97-{dead_pid}-draft",  # not a pid stamp: left alone
    ]
    for path in killed + live:
        if path.suffix == ".tmp" or path.name.startswith(".tmpK"):
            path.write_bytes(b"half")
        else:
            path.mkdir()
            (path / "part").write_bytes(b"half")
        os.utime(path, (long_ago, long_ago))

    # a writer holding the lexical lock owns the temps there: they must survive this build
    holding, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with index_lock(settings.lexical_dir):
            holding.set()
            release.wait(30)

    other = threading.Thread(target=other_writer)
    other.start()
    assert holding.wait(30), "the other writer never took the lock"
    try:
        build(settings, paths=[corpus], progress=no_progress)
    finally:
        release.set()
        other.join()
    assert [p.name for p in killed if p.exists()] == [".pks.npy.k1ll3d.tmp", ".tmpK1ll3d"]
    assert all(p.exists() for p in live)
    build(settings, paths=[corpus], progress=no_progress)  # nobody holds the lock now
    assert not any(p.exists() for p in killed)
    assert all(p.exists() for p in live)
