"""The bad-input corpus: each case gives a clean result or a one-line error, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import git, make_repo, write

EXE = str(Path(sys.executable).with_name("repo-assist"))


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, env=os.environ.copy())


def assert_clean(proc: subprocess.CompletedProcess, ok: bool = True) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    if ok:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0, proc.stderr


def test_corpus_of_odd_files_indexes_cleanly(tmp_path):
    repo = make_repo(tmp_path / "odd", {
        "bin.dat": bytes(range(256)) * 4,
        "huge.py": "x = 1\n" * 250_000,
        "min.js": "function a(){return 1};" * 3000,
        "latin1.py": "s = 'ol\xe9'\n".encode("latin-1"),
        "crlf_bom.py": b"\xef\xbb\xbfclass A:\r\n    pass\r\n",
        "broken.go": "package x\nfunc (\n",
        "sp ace/ü ni.rs": "fn main() {}\n",
        "lead-dash.py": "def dash():\n    pass\n",
    })
    weird = "new\nline.py"
    (repo / weird).write_text("def nl():\n    pass\n")
    (repo / "loop_a").symlink_to("loop_b")
    (repo / "loop_b").symlink_to("loop_a")
    (repo / "outside.py").symlink_to("/etc/hostname")
    (repo / "dirlink").symlink_to("/etc")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "odd files")
    proc = cli("index", str(repo), "--json")
    assert_clean(proc)
    stats = json.loads(proc.stdout)
    assert stats["skipped"]["binary"] == 1 and stats["skipped"]["too_large"] == 1
    assert stats["skipped"]["minified"] == 1 and stats["skipped"]["symlink"] == 4
    assert stats["files"] == 6  # latin1, crlf_bom, broken.go, ü ni.rs, lead-dash, new\nline
    proc = cli("search", "nl", "--repo", str(repo), "--json")
    assert_clean(proc)


def test_submodule_detached_head_shallow_clone_bare_and_no_commits(tmp_path):
    lib = make_repo(tmp_path / "lib", {"lib.py": "def helper():\n    return 1\n"})
    app = make_repo(tmp_path / "app", {"app.py": "def main():\n    return 0\n"})
    git(app, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(app, "commit", "-qm", "add submodule")
    proc = cli("index", str(app), "--json")
    assert_clean(proc)
    assert json.loads(proc.stdout)["skipped"].get("submodule") == 1

    git(app, "checkout", "-q", "--detach", "HEAD~1")
    proc = cli("index", str(app), "--json")
    assert_clean(proc)
    proc = cli("status", str(app), "--json")
    assert_clean(proc)
    assert json.loads(proc.stdout)["indexed_commit"] == git(app, "rev-parse", "HEAD").strip()

    write(lib, {"more.py": "def more():\n    return 2\n"})
    git(lib, "add", "-A")
    git(lib, "commit", "-qm", "more")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{lib}", str(shallow)], check=True)
    proc = cli("index", str(shallow), "--json")
    assert_clean(proc)
    proc = cli("status", str(shallow), "--json")
    assert_clean(proc)

    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(lib), str(bare)], check=True)
    assert_clean(cli("index", str(bare)), ok=False)

    fresh = make_repo(tmp_path / "fresh", {"a.py": "def a():\n    pass\n"}, commit=False)
    proc = cli("index", str(fresh), "--json")
    assert_clean(proc)
    assert json.loads(proc.stdout)["files"] == 1
    proc = cli("status", str(fresh), "--json")
    assert_clean(proc)
    assert json.loads(proc.stdout)["indexed_commit"] is None


@pytest.mark.parametrize("args", [
    ["search", ""], ["ask", "x", "--model", "nonsense"], ["context", "x", "--budget", "abc"],
    ["index", "--full", "--json", "/nonexistent/path"], ["patch", "--from-response", "/nonexistent"],
    ["apply", "/nonexistent.diff"], ["undo"], ["bogus-command"],
    # counts out of range are refused by name rather than read as a slice (`-k -1`) or as nothing
    ["search", "a", "-k", "0"], ["search", "a", "-k", "-1"], ["context", "x", "--budget", "-5"],
    ["eval", "--commits", "0"], ["refactor", "x", "--retries", "-1"],
])
def test_bad_arguments_are_one_line(tmp_path, args):
    repo = make_repo(tmp_path / "r", {"a.py": "def a():\n    pass\n"})
    proc = cli(*args, cwd=repo)
    assert_clean(proc, ok=False)
    if args[-1].lstrip("-").isdigit():
        assert f"must be {1 if args[-2] != '--retries' else 0} or more" in proc.stderr, proc.stderr


@pytest.mark.parametrize("key, value", [("K", "-1"), ("ANSWER_TOKENS", "0"), ("REFACTOR_RETRIES", "-2"),
                                        ("EMBED_BATCH_SIZE", "0"), ("LATENCY_CAP_S", "-1.5")])
def test_a_setting_out_of_range_is_named(tmp_path, monkeypatch, key, value):
    repo = make_repo(tmp_path / "r", {"a.py": "def a():\n    pass\n"})
    monkeypatch.setenv("REPO_ASSIST_" + key, value)
    proc = cli("status", str(repo))
    assert_clean(proc, ok=False)
    assert f"`{key.lower()}` must be" in proc.stderr and "or more" in proc.stderr, proc.stderr


def test_diffs_keep_every_byte_through_the_command_line(tmp_path):
    # A CRLF file and a Latin-1 file, on a console that writes strict UTF-8: the diff keeps the carriage returns
    # and the byte that is no UTF-8 (as is on stdout, as its escape in --json), and `apply` (from a file or from
    # stdin) takes that same diff back and applies it.
    repo = make_repo(tmp_path / "r", {"crlf.txt": b"one\r\ntwo\r\n", "lat.py": "name = 'caf\xe9'\nx = 1\n".encode("latin-1")})
    resp = tmp_path / "resp.md"
    resp.write_text("crlf.txt\n<<<<<<< SEARCH\ntwo\n=======\ntwo\nthree\n>>>>>>> REPLACE\n\n"
                    "lat.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([EXE, "patch", "--from-response", str(resp), "--repo", str(repo)], capture_output=True, env=env)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    diff = proc.stdout
    assert b"+three\r\n" in diff and b" name = 'caf\xe9'\n" in diff, diff
    proc = subprocess.run([EXE, "patch", "--from-response", str(resp), "--repo", str(repo), "--json"],
                          capture_output=True, env=env)
    data = json.loads(proc.stdout.decode("utf-8"))  # valid UTF-8
    assert data["diff"].encode("utf-8", "surrogateescape") == diff
    (tmp_path / "p.diff").write_bytes(diff)
    before = {p: (repo / p).read_bytes() for p in ("crlf.txt", "lat.py")}
    for how in ("file", "stdin"):
        args = [str(tmp_path / "p.diff")] if how == "file" else ["-"]
        proc = subprocess.run([EXE, "apply", *args, "--repo", str(repo)], capture_output=True, env=env,
                              input=diff if how == "stdin" else None)
        assert proc.returncode == 0, (how, proc.stderr)
        assert (repo / "crlf.txt").read_bytes() == b"one\r\ntwo\r\nthree\r\n"
        assert (repo / "lat.py").read_bytes() == "name = 'caf\xe9'\nx = 2\n".encode("latin-1")
        assert subprocess.run([EXE, "undo", "--repo", str(repo)], capture_output=True, env=env).returncode == 0
        assert {p: (repo / p).read_bytes() for p in before} == before


def test_with_json_an_error_is_a_json_object_on_stdout_too(tmp_path):
    # scripts read stdout: an error before any result is one JSON object there, beside the stderr line
    repo = make_repo(tmp_path / "r", {"a.py": "def a():\n    pass\n"})
    for args in (["status", str(tmp_path / "nowhere"), "--json"], ["undo", "--repo", str(repo), "--json"],
                 ["patch", "--from-response", str(tmp_path / "none.md"), "--json"]):
        proc = cli(*args, cwd=repo)
        assert_clean(proc, ok=False)
        error = json.loads(proc.stdout)["error"]
        assert error["exit_code"] == proc.returncode and error["message"] in proc.stderr
    # a result already printed (a patch that does not apply) stays the one JSON document
    resp = tmp_path / "resp.md"
    resp.write_text("a.py\n<<<<<<< SEARCH\ndef b():\n=======\ndef c():\n>>>>>>> REPLACE\n")
    proc = cli("patch", "--from-response", str(resp), "--json", cwd=repo)
    assert proc.returncode == 4 and json.loads(proc.stdout)["applies"] is False
    # without --json, nothing on stdout
    assert cli("status", str(tmp_path / "nowhere"), cwd=repo).stdout == ""
