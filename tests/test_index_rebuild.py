"""Rebuilding and repairing an index: real git repos, real embedder, real Chroma."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import repo_assist
from repo_assist import assistant
from repo_assist.doctor import check_index

from .conftest import git, make_repo, run_json as run_cli, write

UUID_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def segment_dirs(ws) -> list[str]:
    return sorted(p.name for p in ws.chroma_dir.iterdir() if p.is_dir() and UUID_DIR.fullmatch(p.name))


def test_full_rebuilds_leave_no_chroma_folders_behind(sample_repo, capsys):
    for _ in range(3):
        code, stats, err = run_cli(capsys, "index", str(sample_repo), "--full", "--json")
        assert code == 0, err
    ws = assistant.open_workspace(sample_repo)
    assert len(segment_dirs(ws)) == 1  # one collection, one vector segment folder: the replaced ones are gone
    hits = assistant.search(ws, "retry policy shouldRetry", 3).hits
    assert hits and hits[0].chunk.path == "web/client.js"


# -- index --full builds beside the live index and swaps at the end -----------------------------------------------------

def module(i: int) -> str:
    body = "\n".join(f"    value_{j} = compute_{i}_{j}(x, 'salt{i}')\n    total += value_{j}" for j in range(12))
    return f"def function_{i}(x):\n    total = 0\n{body}\n    return total\n\n\nclass Model{i}:\n    def run(self):\n        return function_{i}(1)\n"


def cli_process(*argv: str) -> subprocess.Popen:
    """The CLI of this checkout in a process of its own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(repo_assist.__file__).parent.parent),
                                                         os.environ.get("PYTHONPATH", "")])}
    # (SIGINT as a terminal sends it: a suite run in the background starts with SIGINT ignored, and the process
    # would inherit that and never see the interrupt)
    return subprocess.Popen([sys.executable, "-m", "repo_assist.cli", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def manifest_state(path: Path) -> tuple[str | None, int]:
    """The collection a manifest names and how many files it holds (None, 0 if there is none)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT value FROM meta WHERE key='collection'").fetchone()
            return (row[0] if row else None), db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return None, 0


def interrupt_full(repo: Path, ws, sig: int) -> None:
    """Start `index --full` and send ``sig`` once part of its new index is stored, before it is complete."""
    live = manifest_state(ws.manifest_path)
    left, _ = manifest_state(ws.dir / "manifest.next.sqlite")  # a killed rebuild's remains are not this one's progress
    proc = cli_process("index", str(repo), "--full", "--json")
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        name, files = manifest_state(ws.dir / "manifest.next.sqlite")
        if (name not in (None, left) and files) or manifest_state(ws.manifest_path) != live:
            break  # the new index is part built (or the live one is being changed)
        time.sleep(0.05)
    assert proc.poll() is None, f"the rebuild ended before it could be interrupted: {proc.communicate()}"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130), err


def collections(ws) -> list[str]:
    return sorted(c if isinstance(c, str) else c.name for c in ws.chroma_client().list_collections())


def test_an_interrupted_full_leaves_the_old_index_whole(tmp_path):
    repo = make_repo(tmp_path / "r", {f"pkg/m{i}.py": module(i) for i in range(150)})
    ws = assistant.open_workspace(repo)
    before = assistant.index(ws)
    assert before.files == 150
    live = collections(ws)

    interrupt_full(repo, ws, signal.SIGKILL)  # killed: its half-built index is left beside the live one
    st = assistant.status(ws)
    assert (st["files"], st["chunks"]) == (before.files, before.chunks)
    assert assistant.search(ws, "function_7 total", 3).hits[0].chunk.path == "pkg/m7.py"
    assert len(collections(ws)) == 2

    interrupt_full(repo, ws, signal.SIGINT)  # interrupted: clears its own remains (and the killed run's)
    assert not (ws.dir / "manifest.next.sqlite").exists() and collections(ws) == live
    assert len(segment_dirs(ws)) <= 1
    st = assistant.status(ws)
    assert (st["files"], st["chunks"]) == (before.files, before.chunks)
    assert assistant.search(ws, "function_7 total", 3).hits[0].chunk.path == "pkg/m7.py"

    again = assistant.index(ws)  # the next run converges at once: nothing to embed
    assert again.computed == 0 and again.chunks == before.chunks
    assert check_index(ws).ok


def test_searches_during_full_see_the_old_index_then_the_new(tmp_path):
    repo = make_repo(tmp_path / "r", {f"pkg/m{i}.py": module(i) for i in range(100)})
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    old = collections(ws)
    proc = cli_process("index", str(repo), "--full", "--json")
    found = []
    while proc.poll() is None:
        found.append(len(assistant.search(ws, "function_7 total", 3).hits))
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert len(found) >= 3 and all(found), found  # never an empty answer while the new index is built
    assert json.loads(out)["computed"] == 300
    assert len(collections(ws)) == 1 and collections(ws) != old and len(segment_dirs(ws)) == 1
    assert assistant.search(ws, "function_7 total", 3).hits[0].chunk.path == "pkg/m7.py"
    assert check_index(ws).ok


def test_a_reader_opened_before_full_counts_and_reads_the_new_collection(tmp_path):
    """A store a reader opened before `index --full` swapped collections follows to the new one for every read."""
    from repo_assist.indexer import open_store

    repo = make_repo(tmp_path / "r", {"pkg/m1.py": module(1)})
    ws = assistant.open_workspace(repo)
    before = assistant.index(ws)
    manifest = ws.open_manifest()
    try:
        embedder = ws.embedder()
        stores = [open_store(ws, embedder, manifest, create=False) for _ in range(4)]  # one per kind of read
        assert {s.count() for s in stores} == {before.chunks}
        write(repo, {"pkg/m2.py": module(2)})
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "m2")
        proc = cli_process("index", str(repo), "--full", "--json")  # (another process, as a rebuild is)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        ids = sorted(manifest.iter_chunk_ids())
        assert len(ids) > before.chunks
        counting, reading, listing, searching = stores
        assert counting.count() == len(ids)  # not the dropped collection's
        assert sorted(reading.vectors(ids)) == ids  # all of them, from the new collection
        assert sorted(listing.all_ids()) == ids
        assert {cid for cid, _ in searching.query(embedder.embed(["function_2 total"])[0], 100)} == set(ids)
        assert {s.name for s in stores} == {manifest.get_meta("collection")}
    finally:
        manifest.close()


# -- a plain index mends a store that lost vectors ----------------------------------------------------------------------

def test_index_re_embeds_exactly_the_chunks_whose_vectors_are_gone(sample_repo, capsys):
    from repo_assist.indexer import open_store

    code, first, _ = run_cli(capsys, "index", str(sample_repo), "--json")
    assert code == 0
    ws = assistant.open_workspace(sample_repo)
    manifest = ws.open_manifest()
    embedder = ws.embedder()
    ids = sorted(manifest.iter_chunk_ids())
    store = open_store(ws, embedder, manifest, create=False)
    store.delete(ids[:3])  # three vectors lost ...
    store.upsert(["not-a-chunk"], embedder.embed(["stray"]), [{"path": "gone.py"}])  # ... and one no chunk has
    manifest.close()
    assert not check_index(ws).ok

    code, stats, err = run_cli(capsys, "index", str(sample_repo), "--json")
    assert code == 0, err
    assert (stats["computed"], stats["deleted"], stats["files_computed"]) == (3, 1, 0)
    assert check_index(ws).ok
    manifest = ws.open_manifest()
    chunks = manifest.get_chunks(ids[:3])
    stored = open_store(ws, embedder, manifest, create=False).vectors(ids[:3])
    manifest.close()
    for cid, vec in zip(ids[:3], embedder.embed([chunks[cid].embed_text() for cid in ids[:3]])):
        assert float(stored[cid] @ vec) > 0.999

    code, again, _ = run_cli(capsys, "index", str(sample_repo), "--json")
    assert (again["computed"], again["deleted"]) == (0, 0)  # mended: nothing more to do


def test_index_refills_a_deleted_vector_store(sample_repo):
    """The store's folder removed (processes of their own: an embedded Chroma caches what it opened)."""

    def cli_json(*argv: str) -> dict:
        proc = cli_process(*argv, "--json")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        return json.loads(out)

    first = cli_json("index", str(sample_repo))
    shutil.rmtree(assistant.open_workspace(sample_repo).chroma_dir)
    stats = cli_json("index", str(sample_repo))
    assert stats["computed"] == stats["chunks"] == first["chunks"] and stats["unchanged"] == first["files"]
    doctor = cli_json("doctor", str(sample_repo))
    assert next(c for c in doctor["checks"] if c["name"] == "index")["ok"]
    hits = cli_json("search", "retry policy shouldRetry", "--repo", str(sample_repo))["hits"]
    assert hits[0]["path"] == "web/client.js" and "dense" in hits[0]["via"]
