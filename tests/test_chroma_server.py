"""The index in a real Chroma server (`chroma run` on loopback) works as the embedded one does."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from repo_assist import assistant, hooks
from repo_assist.doctor import check_index

from .conftest import SAMPLE_GO, SAMPLE_PY, make_repo, write, run_cli as run


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(exe), "run", "--path", str(tmp_path_factory.mktemp("chroma")), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the Chroma server did not start")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=30)



def test_index_reindex_search_and_doctor_against_a_server(tmp_path, chroma_url, capsys, monkeypatch):
    a = make_repo(tmp_path / "a", {"billing/invoice.py": SAMPLE_PY})
    b = make_repo(tmp_path / "b", {"server/server.go": SAMPLE_GO})
    monkeypatch.setenv("REPO_ASSIST_CHROMA_URL", chroma_url)
    code, out, err = run(capsys, "index", str(a), "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["computed"] == first["chunks"] > 0
    code, out, err = run(capsys, "index", str(b), "--json")  # a second repository shares the server
    assert code == 0, err
    code, out, _ = run(capsys, "index", str(a), "--json")
    assert json.loads(out)["computed"] == 0  # incremental, as embedded
    write(a, {"billing/tax.py": "def vat(amount):\n    return amount * 0.2\n"})
    code, out, _ = run(capsys, "index", str(a), "--json")
    assert json.loads(out)["computed"] > 0 and json.loads(out)["files_computed"] == 1
    code, out, _ = run(capsys, "search", "value added tax on an amount", "--repo", str(a), "--json")
    hits = json.loads(out)["hits"]
    assert hits[0]["path"] == "billing/tax.py"
    assert all(not h["path"].startswith("server/") for h in hits)  # no collision with repository b
    code, out, _ = run(capsys, "search", "listen and serve http", "--repo", str(b), "--json")
    assert {h["path"] for h in json.loads(out)["hits"]} == {"server/server.go"}
    assert check_index(assistant.open_workspace(a)).ok
    assert not (assistant.open_workspace(a).dir / "chroma").exists()  # nothing stored locally
    code, out, err = run(capsys, "index", str(a), "--full", "--json")
    assert code == 0, err
    assert json.loads(out)["computed"] == json.loads(out)["chunks"]


def test_headers_are_sent_and_bad_urls_are_one_line(tmp_path, chroma_url, capsys, monkeypatch):
    repo = make_repo(tmp_path / "r", {"x.py": "def f():\n    return 1\n"})
    (repo / ".repo-assist.toml").write_text(f'chroma_url = "{chroma_url}"\nchroma_headers = ["X-Team-Token: abc123"]\n')
    code, _, err = run(capsys, "index", str(repo))
    assert code == 0, err
    (repo / ".repo-assist.toml").write_text(f'chroma_url = "http://127.0.0.1:{free_port()}"\n')
    code, _, err = run(capsys, "index", str(repo))
    assert code != 0 and err.count("\n") == 1 and "Chroma" in err and "Traceback" not in err
    (repo / ".repo-assist.toml").write_text('chroma_url = "ftp://nowhere"\n')
    code, _, err = run(capsys, "index", str(repo))
    assert code == 2 and "bad Chroma URL" in err


def test_hooks_keep_a_server_index_fresh_and_a_down_server_never_fails_a_commit(tmp_path, chroma_url):
    """The detached hook runner reads the repository's config, so it indexes into the server too."""
    from .test_hooks import (BASE_PY, assert_index_at_head, commit_file, git_run, index_now, search_top, wait_indexed,
                             wait_runs)

    repo = make_repo(tmp_path / "r", {"billing.py": BASE_PY})
    (repo / ".git" / "info" / "exclude").write_text(".repo-assist.toml\n")
    (repo / ".repo-assist.toml").write_text(f'chroma_url = "{chroma_url}"\n')
    index_now(repo)  # the hooks refresh an index that exists
    hooks.install(repo)
    new = commit_file(repo, "ledger.py", "def settle_overdue_ledger_balance(ledger):\n    return sum(ledger) * 1.05\n",
                      "ledger")
    wait_indexed(repo, new)
    assert_index_at_head(repo, "ledger.py")
    assert search_top(repo, "settle overdue ledger balance")["symbol"] == "settle_overdue_ledger_balance"
    assert not (hooks.index_dir(repo) / "chroma").exists()  # the vectors went to the server

    (repo / ".repo-assist.toml").write_text(f'chroma_url = "http://127.0.0.1:{free_port()}"\n')
    runs = hooks.status(repo)["runs"]
    proc = git_run(repo, "commit", "-q", "--allow-empty", "-m", "server down")
    assert proc.returncode == 0 and proc.stderr == ""
    st = wait_runs(repo, runs)
    assert st["last_run"]["ok"] is False and "Chroma" in st["last_run"]["error"]
    hooks.uninstall(repo)
