"""Shared fixtures: real git repositories in tmp dirs, an isolated index home."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest


def git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com",
    })
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """The CLI in process: exit code, stdout, stderr."""
    from repo_assist import cli

    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> tuple[int, dict | str, str]:
    """The CLI in process: exit code, stdout read as JSON (as text where it is none), stderr."""
    code, out, err = run_cli(capsys, *argv)
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file of a work tree (outside .git) and its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


def make_repo(root: Path, files: dict[str, str | bytes], *, commit: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "t@example.com")
    write(root, files)
    if commit and files:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own index home and config dirs: nothing touches the user's."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("REPO_ASSIST_HOME", str(base / "indexes"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    for key in list(os.environ):
        if key.startswith("REPO_ASSIST_") and key != "REPO_ASSIST_HOME":
            monkeypatch.delenv(key, raising=False)
    return base


SAMPLE_PY = '''"""Billing helpers."""

import math


class Invoice:
    """An invoice with lines."""

    def __init__(self, customer):
        self.customer = customer
        self.lines = []

    def add_line(self, description, amount):
        self.lines.append((description, amount))

    def total(self):
        return math.fsum(a for _, a in self.lines)


def apply_discount(invoice, percent):
    """Reduce every line by a percentage."""
    invoice.lines = [(d, a * (1 - percent / 100)) for d, a in invoice.lines]
    return invoice
'''

SAMPLE_JS = '''// HTTP client helpers
export function fetchJson(url, options) {
  return fetch(url, options).then((r) => r.json());
}

export class RetryPolicy {
  constructor(maxAttempts) {
    this.maxAttempts = maxAttempts;
  }

  shouldRetry(attempt, error) {
    return attempt < this.maxAttempts && error.status >= 500;
  }
}
'''

SAMPLE_GO = '''package server

import "net/http"

// Server serves the API.
type Server struct {
	mux *http.ServeMux
}

// Start begins listening on addr.
func (s *Server) Start(addr string) error {
	return http.ListenAndServe(addr, s.mux)
}

func healthHandler(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}
'''


@pytest.fixture
def sample_repo(tmp_path) -> Path:
    return make_repo(tmp_path / "sample", {
        "billing/invoice.py": SAMPLE_PY,
        "web/client.js": SAMPLE_JS,
        "server/server.go": SAMPLE_GO,
        "README.md": "# Sample\n\nA sample project for tests.\n",
        "notes.txt": "plain notes\n" * 5,
    })


# -- no code path may reach a non-loopback address ------------------------------------------

_CONNECTIONS: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    address = args[1]
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if not (host.startswith("127.") or host in ("::1", "localhost", "0.0.0.0") or host.startswith("::ffff:127.")):
            _CONNECTIONS.append(host)


def pytest_configure(config):
    import sys

    sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def no_outside_connections():
    start = len(_CONNECTIONS)
    yield
    assert _CONNECTIONS[start:] == [], f"connection attempted to a non-loopback address: {_CONNECTIONS[start:]}"
