"""`rpp publish DIR` writes a deployable folder whose immutable serve command works (issue 14, part 5).

Docker does not run here: the test runs the folder's own `serve.sh` (the command the
Dockerfile runs), twice at once on the same folder, and searches both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasette_sample import build_sample_store, fetch_when_up, free_port

pytestmark = pytest.mark.slow


def test_publish_writes_a_folder_whose_immutable_server_runs_twice_on_one_corpus(index_dir: Path, tmp_path: Path) -> None:
    build_sample_store(index_dir)
    (index_dir / "reviewers.json").write_text('{"accounts": {"ana": "secret-hash"}}')
    rpp = Path(sys.executable).parent / "rpp"
    out = tmp_path / "site"
    done = subprocess.run([str(rpp), "publish", str(out), "--index-dir", str(index_dir), "--no-wheel"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"Dockerfile", "serve.sh", "metadata.json", "store", "README.md"}
    assert not list(out.rglob("reviewers.json"))  # accounts never leave the machine
    assert not list(out.rglob("*-wal"))
    dockerfile = (out / "Dockerfile").read_text()
    assert '"-i"' in dockerfile and "COPY store/" in dockerfile
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    procs, ports = [], [free_port(), free_port()]
    try:
        for port in ports:
            procs.append(subprocess.Popen([str(out / "serve.sh"), "--host", "127.0.0.1", "--port", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        for port, proc in zip(ports, procs):
            base = f"http://127.0.0.1:{port}"
            databases = json.loads(fetch_when_up(base + "/-/databases.json", proc))
            assert [d["is_mutable"] for d in databases if d["name"] == "rpp"] == [False]
            found = json.loads(fetch_when_up(base + "/-/rpp-search.json?q=reorganized+human+resources&mode=bm25", proc))
            assert found["results"][0]["id"] == "tulsa-supervisors-p0001"
            assert found["results"][0]["url"].startswith(base + "/rpp/passages/")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    again = subprocess.run([str(rpp), "publish", str(out), "--index-dir", str(index_dir), "--no-wheel"],
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr  # publishing again replaces the folder
    refused = subprocess.run([str(rpp), "publish", str(index_dir), "--index-dir", str(index_dir), "--no-wheel"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1 and "store's folder" in refused.stderr
    # a project folder that happens to hold a Dockerfile is not a publish folder: nothing is deleted
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "Dockerfile").write_text("FROM python\n")
    (project / "thesis.docx").write_text("precious")
    refused = subprocess.run([str(rpp), "publish", str(project), "--index-dir", str(index_dir), "--no-wheel"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1 and "not an rpp publish folder" in refused.stderr
    assert {p.name for p in project.iterdir()} == {"src", "Dockerfile", "thesis.docx"}
