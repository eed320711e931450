"""`repo-assist eval`: cases from real commits of a real repository, measured on each parent tree."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from repo_assist import cli

from .conftest import git, make_repo, write

RA = Path(sys.executable).with_name("repo-assist")

TOPICS = {
    "billing/invoice.py": ("invoice_total", "sum the amounts of every invoice line"),
    "billing/tax.py": ("vat_amount", "value added tax on a net amount"),
    "auth/password.py": ("hash_password", "salted password hashing with pbkdf2"),
    "auth/session.py": ("session_expired", "whether a login session has expired"),
    "storage/cache.py": ("evict_oldest", "evict the least recently used cache entry"),
    "storage/files.py": ("atomic_write", "write a file atomically through a temporary file"),
    "net/retry.py": ("backoff_delay", "exponential backoff delay between retries"),
    "net/http.py": ("parse_headers", "parse raw http header lines into a dict"),
    "report/csv_export.py": ("export_rows", "export report rows as csv"),
    "report/charts.py": ("bar_chart", "draw a bar chart of monthly totals"),
}
CHANGES = [  # (path, commit message): each changes one function, described the way people do
    ("auth/password.py", "Raise the pbkdf2 iteration count used for password hashing"),
    ("net/retry.py", "Cap the exponential backoff delay between retries"),
    ("storage/cache.py", "Fix eviction of the least recently used cache entry"),
    ("report/charts.py", "Label the bars of the monthly totals chart"),
]


def source(name: str, doc: str, version: int = 0) -> str:
    return f'def {name}(value):\n    """{doc.capitalize()}."""\n    return value * {version + 2}\n'


def history_repo(root: Path) -> Path:
    repo = make_repo(root, {p: source(n, d) for p, (n, d) in TOPICS.items()})
    for version, (path, message) in enumerate(CHANGES, start=1):
        name, doc = TOPICS[path]
        write(repo, {path: source(name, doc, version)})
        git(repo, "commit", "-q", "-am", message)
    return repo


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_eval_measures_each_commit_on_its_parent_and_cleans_up(tmp_path, capsys):
    repo = history_repo(tmp_path / "r")
    # the scratch tree's checkouts run no hook (repo-assist's own post-checkout would index each of them)
    marker = tmp_path / "hook-ran"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\necho \"$PWD\" >> '{marker}'\n")
    hook.chmod(0o755)
    code = cli.main(["eval", str(repo), "--commits", "4", "--ablate", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["cases"] == 4
    assert [c["files"] for c in report["case_list"]] == [[p] for p, _ in CHANGES]
    hybrid = report["results"]["hybrid"]
    assert hybrid["R@1"] >= 0.75 and hybrid["MRR"] >= 0.75  # each message names its function's topic
    assert {"dense only", "bm25 only", "without dense"} <= set(report["results"])
    assert report["baseline"]["name"] == "whole-file BM25" and 0 <= report["baseline"]["MRR"] <= 1
    assert len(worktrees(repo)) == 1
    assert not marker.exists()


def test_a_terminated_eval_removes_its_worktree(tmp_path):
    repo = history_repo(tmp_path / "r")
    proc = subprocess.Popen([str(RA), "eval", str(repo), "--commits", "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while len(worktrees(repo)) < 2:  # the parent tree is checked out: the eval is under way
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the eval never added its worktree"
        time.sleep(0.02)
    tree = Path(worktrees(repo)[1].split(" ", 1)[1])
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "repo-assist: interrupted"
    assert "Traceback" not in err
    assert len(worktrees(repo)) == 1 and not tree.parent.exists()  # the temporary folder went with it
