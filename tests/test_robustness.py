"""Offline proof, kill -9 at random moments, concurrent index runs and queries."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repo_assist import assistant
from repo_assist.doctor import check_index, check_offline

from .conftest import make_repo, write

EXE = str(Path(sys.executable).with_name("repo-assist"))


def module(i: int, salt: str) -> str:
    body = "\n".join(f"    value_{j} = compute_{i}_{j}(x, '{salt}')\n    total += value_{j}" for j in range(12))
    return f"def function_{i}(x):\n    total = 0\n{body}\n    return total\n\n\nclass Model{i}:\n    def run(self):\n        return function_{i}(1)\n"


def test_whole_flow_works_with_no_network():
    check = check_offline()
    assert check.ok, check.detail


def test_audit_hook_catches_an_outside_connection():
    from . import conftest

    before = len(conftest._CONNECTIONS)
    s = socket.socket()
    s.settimeout(0.01)
    try:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed; the hook records the attempt first
    except OSError:
        pass
    finally:
        s.close()
    assert conftest._CONNECTIONS[before:] == ["192.0.2.1"]
    del conftest._CONNECTIONS[before:]


@pytest.mark.timeout(2400)
def test_kill_9_at_random_moments_always_converges(tmp_path):
    rng = random.Random(20261126)
    repo = make_repo(tmp_path / "r", {f"pkg/m{i}.py": module(i, "a") for i in range(40)})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    # Kill moments spread over how long a run takes on this machine, measured first on a round's worth of changes
    # (seconds: more on a busy machine, less on a fast one).
    write(repo, {f"pkg/m{i}.py": module(i, "calibrate") for i in range(0, 40, 6)})
    started = time.monotonic()
    subprocess.run([EXE, "index", str(repo), "--json"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    run_s = time.monotonic() - started
    kills = 0
    for round_ in range(20):
        # give every round real work: rewrite some files, add one, delete one
        changed = rng.sample(range(40), 6)
        write(repo, {f"pkg/m{i}.py": module(i, f"r{round_}") for i in changed})
        write(repo, {f"pkg/new{round_}.py": module(100 + round_, "n")})
        if round_ and (repo / f"pkg/new{round_ - 1}.py").exists() and rng.random() < 0.5:
            (repo / f"pkg/new{round_ - 1}.py").unlink()
        proc = subprocess.Popen([EXE, "index", str(repo), "--json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.9) * run_s)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        stats = assistant.index(ws)  # the next run succeeds ...
        assert stats.files == len(list((repo / "pkg").glob("*.py")))
        check = check_index(ws)  # ... and the index agrees with the tree
        assert check.ok, f"round {round_}: {check.detail}"
    assert kills >= 10, "most kills should land while the indexer runs"


def test_two_index_runs_serialize_and_queries_never_fail(tmp_path):
    repo = make_repo(tmp_path / "r", {f"pkg/m{i}.py": module(i, "a") for i in range(20)})
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    query_loop = subprocess.Popen(
        [sys.executable, "-c", QUERY_LOOP, str(repo), str(ws.dir.parent)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        for round_ in range(3):
            write(repo, {f"pkg/m{i}.py": module(i, f"c{round_}") for i in range(0, 20, 2)})
            a = subprocess.Popen([EXE, "index", str(repo)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            b = subprocess.Popen([EXE, "index", str(repo)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert a.wait() == 0, a.stderr.read()
            assert b.wait() == 0, b.stderr.read()
            assert check_index(ws).ok
    finally:
        query_loop.terminate()
        out, err = query_loop.communicate(timeout=60)
    done = [line for line in out.splitlines() if line.startswith("ok ")]
    failures = [line for line in out.splitlines() if line.startswith("error ")]
    assert failures == [], failures[:3]
    assert len(done) >= 5, (out[-2000:], err[-2000:])


QUERY_LOOP = """
import sys, os
os.environ["REPO_ASSIST_HOME"] = sys.argv[2]
from repo_assist import assistant
ws = assistant.open_workspace(sys.argv[1])
n = 0
while True:
    try:
        hits = assistant.search(ws, "function that computes the total of values", 5).hits
        n += 1
        print("ok", n, len(hits), flush=True)
    except Exception as exc:
        print("error", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", flush=True)
"""


def test_an_unreadable_vector_index_is_re_embedded_not_fatal(tmp_path):
    """What a kill during Chroma's persist leaves: records it lists but cannot read ("Error finding id")."""
    # past Chroma's sync threshold (1,000 records), so the vector index is persisted with its id map
    files = {f"pkg/t{i}.py": f"def tiny_{i}():\n    return {i}\n" for i in range(1100)}
    repo = make_repo(tmp_path / "r", {**files, **{f"pkg/m{i}.py": module(i, "a") for i in range(12)}})
    run = [EXE, "index", str(repo), "--json"]
    assert subprocess.run(run, capture_output=True).returncode == 0
    ws = assistant.open_workspace(repo)
    maps = list(ws.dir.rglob("index_metadata.pickle"))
    assert maps, "the embedded Chroma keeps its vector index id map in index_metadata.pickle"
    for path in maps:
        path.unlink()
    write(repo, {"pkg/m3.py": module(3, "b")})  # its old chunks' vectors would be reused, but cannot be read
    proc = subprocess.run(run, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["computed"] == 3 and stats["reused"] == 0  # none could be read back: all embedded again
    assert check_index(ws).ok
    hits = assistant.search(ws, "function_3 total", 3).hits
    assert any(h.chunk.path == "pkg/m3.py" for h in hits)
