"""An index home or a setting that cannot be used: one line on stderr and exit 2, never an internal error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from repo_assist import assistant

from .conftest import make_repo, tree_bytes
from .fake_ollama import FakeOllama

EXE = str(Path(sys.executable).with_name("repo-assist"))
ADD = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
RESPONSE = "m.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return b + a\n>>>>>>> REPLACE\n"
# bind-mount $0 read-only in a private mount namespace, then run the rest (chmod does not stop root)
READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'


def _unshare() -> list[str]:
    return ["unshare", "--mount", *([] if os.geteuid() == 0 else ["--map-root-user"])]


def cli(*args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None,
        read_only: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI as a user runs it (``env``: variables to set, None to unset); with ``read_only``, that folder is
    mounted read-only for the run."""
    cmd = [EXE, *args]
    if read_only is not None:
        cmd = [*_unshare(), "sh", "-c", READ_ONLY, str(read_only), *cmd]
    full = {**os.environ, **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd,
                          env={k: v for k, v in full.items() if v is not None})


def one_line(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    err = proc.stderr.strip()
    assert "\n" not in err and "Traceback" not in err and "internal error" not in err, err
    return err


@pytest.fixture(scope="module")
def can_mount_read_only(tmp_path_factory) -> None:
    probe = tmp_path_factory.mktemp("probe")
    proc = subprocess.run([*_unshare(), "sh", "-c", READ_ONLY, str(probe), "touch", str(probe / "x")],
                          capture_output=True, text=True)
    if "Read-only file system" not in proc.stderr:
        pytest.skip(f"cannot mount a folder read-only here: {proc.stderr.strip()}")


@pytest.fixture
def indexed(tmp_path, can_mount_read_only) -> tuple[Path, Path]:
    """A repository indexed into its own home: (repo, home)."""
    home = Path(os.environ["REPO_ASSIST_HOME"])
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    assistant.index(assistant.open_workspace(repo))
    return repo, home


# -- 1. an index home that cannot be written -----------------------------------------------------------------


def test_index_into_a_read_only_home_names_the_folder(indexed):
    repo, home = indexed
    err = one_line(cli("index", str(repo), read_only=home), 2)
    assert str(home) in err and "Read-only file system" in err


def test_index_into_a_read_only_home_with_no_index_yet(tmp_path, can_mount_read_only):
    home = tmp_path / "empty-home"
    home.mkdir()
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    err = one_line(cli("index", str(repo), env={"REPO_ASSIST_HOME": str(home)}, read_only=home), 2)
    assert str(home) in err and "Read-only file system" in err


@pytest.mark.parametrize("under", ["", "home"])
def test_a_home_that_is_a_file_is_a_config_error(tmp_path, under):
    afile = tmp_path / "afile"
    afile.write_text("x")
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    home = afile / under if under else afile
    for args in (["index", str(repo)], ["status", str(repo)], ["search", "add", "--repo", str(repo)]):
        # (the reads name the file in the way too, not "not indexed yet": indexing cannot mend it)
        err = one_line(cli(*args, env={"REPO_ASSIST_HOME": str(home)}), 2)
        assert f"{afile} is a file, not a folder" in err and "not been indexed" not in err


def test_reads_work_from_a_read_only_home(indexed):
    repo, home = indexed
    proc = cli("status", str(repo), "--json", read_only=home)
    assert proc.returncode == 0, proc.stderr
    assert '"files": 1' in proc.stdout
    proc = cli("search", "add", "--repo", str(repo), read_only=home)
    assert proc.returncode == 0, proc.stderr
    assert "m.py:1-6" in proc.stdout
    (repo.parent / "resp.txt").write_text(RESPONSE)
    proc = cli("patch", "--from-response", str(repo.parent / "resp.txt"), "--repo", str(repo), read_only=home)
    assert proc.returncode == 0, proc.stderr
    assert "+    return b + a" in proc.stdout


def test_ask_works_from_a_read_only_home(indexed):
    repo, home = indexed
    with FakeOllama(reply="add is in m.py.") as fake:
        proc = cli("ask", "where is add", "--repo", str(repo), "--model", "ollama/tiny", "--api-base", fake.host,
                   read_only=home)
    assert proc.returncode == 0, proc.stderr
    assert "add is in m.py." in proc.stdout and "m.py:1-6" in proc.stdout


def test_apply_with_a_read_only_home_changes_nothing(indexed):
    repo, home = indexed
    before = tree_bytes(repo)
    proc = subprocess.run([EXE, "patch", "--from-response", "-", "--repo", str(repo)], input=RESPONSE,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (repo.parent / "fix.diff").write_text(proc.stdout)
    err = one_line(cli("apply", str(repo.parent / "fix.diff"), "--repo", str(repo), read_only=home), 2)
    assert "undo" in err and "Read-only file system" in err
    assert tree_bytes(repo) == before


# -- 2. where the index home may be, and how `home` is read ---------------------------------------------------


def test_a_home_inside_the_work_tree_is_refused(tmp_path):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    err = one_line(cli("index", ".", cwd=repo, env={"REPO_ASSIST_HOME": str(repo / ".idx")}), 2)
    assert f"the index home {repo / '.idx'} is inside the work tree of {repo}" in err
    assert not (repo / ".idx").exists()


def test_home_must_be_a_string(tmp_path):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    (repo / ".repo-assist.toml").write_text("home = 5\n")
    err = one_line(cli("index", ".", cwd=repo, env={"REPO_ASSIST_HOME": None}), 2)
    assert "`home` must be str, got 5" in err
    assert not (repo / "5").exists()


def test_a_relative_home_is_read_from_the_config_files_folder(tmp_path):
    repo = make_repo(tmp_path / "r", {"m.py": ADD, "sub/n.py": "N = 1\n"})
    (repo / ".repo-assist.toml").write_text('home = "../idx"\n')
    env = {"REPO_ASSIST_HOME": None}
    assert cli("index", ".", cwd=repo / "sub", env=env).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = cli("status", str(repo), "--json", cwd=elsewhere, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f'"index_dir": "{tmp_path / "idx"}' in proc.stdout


# -- 3. settings that are no usable number ----------------------------------------------------------------------


@pytest.mark.parametrize("line, key, kind", [
    ("max_file_bytes = 1e400", "max_file_bytes", "int"), ("k = 1e400", "k", "int"),
    ("embed_batch_size = 1e400", "embed_batch_size", "int"), ("k = 2.5", "k", "int"),
    ("latency_cap_s = 1e400", "latency_cap_s", "float"),
])
def test_a_setting_that_is_no_usable_number_is_named(tmp_path, line, key, kind):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    (repo / ".repo-assist.toml").write_text(line + "\n")
    err = one_line(cli("status", str(repo)), 2)
    assert f"`{key}` must be {kind}" in err


# -- 3. refused before the model is asked; a server that answers garbage; an address that is none --------------


@pytest.mark.parametrize("where", ["missing-dir/x.diff", "a-folder"])
def test_refactor_output_that_cannot_be_written_is_refused_before_the_model_call(tmp_path, where):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    assistant.index(assistant.open_workspace(repo))
    (tmp_path / "a-folder").mkdir()
    with FakeOllama(reply=RESPONSE) as fake:
        err = one_line(cli("refactor", "swap the operands", "--repo", str(repo), "--model", "ollama/tiny",
                           "--api-base", fake.host, "-o", str(tmp_path / where)), 2)
        assert fake.chat_requests() == []
    assert str(tmp_path / where) in err


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _GarbledSSE(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose answer stream carries a chunk that is not JSON."""

    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.endswith("/chat/completions"):
            return self.do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        good = {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "x",
                "choices": [{"index": 0, "delta": {"content": "add is "}, "finish_reason": None}]}
        self.wfile.write(b"data: " + json.dumps(good).encode() + b"\n\ndata: {not json\n\ndata: [DONE]\n\n")


def test_a_stream_chunk_that_is_not_json_is_a_model_error(indexed):
    repo, _ = indexed
    server = _serve(_GarbledSSE)
    try:
        err = one_line(cli("ask", "where is add", "--repo", str(repo), "--model", "openai/x",
                           "--api-base", f"http://127.0.0.1:{server.server_address[1]}/v1"), 3)
    finally:
        server.shutdown()
        server.server_close()
    assert "malformed chunk" in err


def test_an_ollama_line_that_is_not_json_is_a_model_error(indexed):
    repo, _ = indexed
    with FakeOllama() as fake:
        class Garbled(fake._server.RequestHandlerClass):
            def _chat(self, body) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                part = {"model": "tiny", "message": {"role": "assistant", "content": "add is "}, "done": False}
                self.wfile.write(json.dumps(part).encode() + b"\n{not json\n")

        fake._server.RequestHandlerClass = Garbled
        err = one_line(cli("ask", "where is add", "--repo", str(repo), "--model", "ollama/tiny", "--api-base", fake.host), 3)
    assert "not JSON" in err


@pytest.mark.parametrize("address", ["garbage::::", "http://127.0.0.1:99999", "http://[::1"])
@pytest.mark.parametrize("how", ["OLLAMA_HOST", "ollama --api-base", "openai --api-base"])
def test_a_server_address_that_is_none_is_a_config_error(tmp_path, address, how):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    assistant.index(assistant.open_workspace(repo))
    if how == "OLLAMA_HOST":
        proc = cli("ask", "x", "--repo", str(repo), "--model", "ollama/tiny", env={"OLLAMA_HOST": address})
    else:
        proc = cli("ask", "x", "--repo", str(repo), "--model", how.split()[0] + "/tiny", "--api-base", address)
    assert repr(address) in one_line(proc, 2)


# -- 4. eval with no history ---------------------------------------------------------------------------------


def test_eval_of_a_repository_with_no_commits_says_so(tmp_path):
    repo = make_repo(tmp_path / "r", {"m.py": ADD}, commit=False)
    err = one_line(cli("eval", str(repo), "--commits", "2"), 2)
    assert f"{repo} has no commits yet" in err


# -- 5. a path that is no repository -------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["missing", "plain-folder"])
def test_doctor_given_a_path_that_is_no_repository_says_so(tmp_path, what):
    (tmp_path / "plain-folder").mkdir()
    err = one_line(cli("doctor", str(tmp_path / what)), 2)
    assert str(tmp_path / what) in err


def test_a_file_outside_any_repository_is_named_as_given(tmp_path):
    (tmp_path / "afile").write_text("x")
    err = one_line(cli("index", "afile", cwd=tmp_path), 2)
    assert "afile is not inside a git work tree" in err


def test_undo_with_a_read_only_home_reverts_nothing(indexed):
    repo, home = indexed
    proc = subprocess.run([EXE, "patch", "--from-response", "-", "--repo", str(repo)], input=RESPONSE,
                          capture_output=True, text=True)
    (repo.parent / "fix.diff").write_text(proc.stdout)
    assert cli("apply", str(repo.parent / "fix.diff"), "--repo", str(repo)).returncode == 0
    applied = tree_bytes(repo)
    err = one_line(cli("undo", "--repo", str(repo), read_only=home), 2)
    assert "nothing was reverted" in err
    assert tree_bytes(repo) == applied
    assert cli("undo", "--repo", str(repo)).returncode == 0


@pytest.mark.parametrize("address", ["http://:80", "my host"])
@pytest.mark.parametrize("how", ["OLLAMA_HOST", "--api-base"])
def test_an_ollama_host_that_names_no_server_is_a_config_error_not_unreachable(tmp_path, address, how):
    """An empty host in a URL, or a name no resolver can look up: exit 2 naming it (the client sent the first to
    127.0.0.1:80 and the second on as a host with a space: each was 'cannot reach Ollama', exit 3)."""
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    assistant.index(assistant.open_workspace(repo))
    args = ["ask", "x", "--repo", str(repo), "--model", "ollama/tiny"]
    if how == "OLLAMA_HOST":
        proc = cli(*args, env={"OLLAMA_HOST": address})
    else:
        proc = cli(*args, "--api-base", address, env={"OLLAMA_HOST": None})
    err = one_line(proc, 2)
    assert f"the Ollama host {address!r} ({how})" in err and "cannot reach" not in err


def test_a_broken_ollama_host_beside_api_base_is_named_as_itself(tmp_path):
    """Importing the Ollama client parses OLLAMA_HOST even when --api-base is given: the error names OLLAMA_HOST."""
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    proc = cli("ask", "x", "--repo", str(repo), "--model", "ollama/tiny", "--api-base", "127.0.0.1:1",
               env={"OLLAMA_HOST": "gpu-box:99999"})
    assert "the Ollama host 'gpu-box:99999' (OLLAMA_HOST)" in one_line(proc, 2)
