"""Git hooks keep the index fresh: real repositories, real git, the installed `repo-assist`, a real index.

The shims start the runner detached, so the tests poll the runner's state file
(generous timeout, never an assertion on time) until a finished run has seen
the new HEAD, then check the manifest and search the index.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repo_assist import background, cli, hooks
from repo_assist.errors import UsageError
from repo_assist.manifest import Manifest

from .conftest import git, make_repo, write

RA = Path(sys.executable).with_name("repo-assist")
HEAVY = {"numpy", "torch", "chromadb", "sentence_transformers", "tree_sitter"}
WAIT_S = 240.0

BASE_PY = "def add(a, b):\n    return a + b\n"


def git_run(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """git as a user runs it (hooks fire); returns the process so exit status and output can be checked."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    base.update({"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
                 "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.com"})
    base.update(env or {})
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=base, timeout=120)


def commit_file(root: Path, rel: str, text: str, msg: str, env: dict[str, str] | None = None) -> str:
    write(root, {rel: text})
    git(root, "add", rel)
    proc = git_run(root, "commit", "-q", "-m", msg, env=env)
    assert proc.returncode == 0, proc.stderr
    return head(root)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def index_now(root: Path) -> None:
    """`repo-assist index` run by hand, as the user does once in a work tree."""
    proc = subprocess.run([str(RA), "index", str(root)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


def wait_indexed(root: Path, expect_head: str | None = None, *, after_runs: int = -1) -> dict:
    """Poll until the runner is idle, nothing is pending and its last run saw HEAD (stable for a second)."""
    expect_head = expect_head or head(root)
    deadline = time.monotonic() + WAIT_S
    settled = None
    while True:
        st = hooks.status(root)
        run = st["last_run"]
        idle = st["running"] is None and not st["rerun_pending"]
        if idle and run and run["head"] == expect_head and st["runs"] > after_runs:
            assert run["ok"], run["error"]
            if settled == st["runs"]:
                return st
            settled = st["runs"]
        else:
            settled = None
        if time.monotonic() > deadline:
            raise AssertionError(f"no finished background run at {expect_head[:12]}: {json.dumps(st, indent=1)}\n"
                                 + _log(root))
        time.sleep(1.0 if settled is not None else 0.2)


def wait_runs(root: Path, more_than: int) -> dict:
    """Poll until a run beyond ``more_than`` has finished and the runner is idle."""
    deadline = time.monotonic() + WAIT_S
    while True:
        st = hooks.status(root)
        if st["runs"] > more_than and st["running"] is None and not st["rerun_pending"]:
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"no background run finished: {json.dumps(st, indent=1)}\n" + _log(root))
        time.sleep(0.2)


def events_since(st: dict, runs: int) -> set[str]:
    """The hook events behind the runs finished after the ``runs``-th."""
    return {e for r in st["history"][-(st["runs"] - runs):] for e in r["events"]}


def _log(root: Path) -> str:
    p = hooks.index_dir(root) / hooks.LOG_NAME
    return p.read_text() if p.exists() else "(no hooks.log)"


def manifest_view(root: Path) -> tuple[str | None, dict[str, str]]:
    """(indexed_commit, path -> blob sha of indexed files), read straight from the manifest."""
    m = Manifest(hooks.index_dir(root) / "manifest.sqlite", readonly=True)
    try:
        files = {p: r.blob_sha for p, r in m.files().items() if r.status == "indexed"}
        return m.get_meta("indexed_commit"), files
    finally:
        m.close()


def assert_index_at_head(root: Path, *paths: str) -> dict[str, str]:
    indexed_commit, files = manifest_view(root)
    assert indexed_commit == head(root)
    for p in paths:
        assert files.get(p) == git(root, "rev-parse", f"HEAD:{p}").strip(), p
    return files


def search_top(root: Path, query: str) -> dict:
    proc = subprocess.run([str(RA), "search", query, "--repo", str(root), "--json", "-k", "3"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)["hits"]
    assert hits, "no hits"
    return hits[0]


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry of a hooks folder: mode, and bytes or symlink target."""
    out = {}
    for p in sorted(folder.iterdir()):
        st = p.lstat()
        body = os.readlink(p) if stat.S_ISLNK(st.st_mode) else p.read_bytes()
        out[p.name] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), body)
    return out


def hook_script(path: Path, body: str, mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, mode)


# -- light, no indexing --------------------------------------------------------------------------

def test_hooks_modules_import_nothing_heavy(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    probes = [
        [sys.executable, "-X", "importtime", "-c", "import repo_assist.hooks, repo_assist.background, repo_assist.cli_hooks"],
        [sys.executable, "-X", "importtime", "-m", "repo_assist.cli", "hooks", "status", str(repo), "--json"],
    ]
    for argv in probes:
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=repo)
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
        assert "repo_assist.hooks" in imported
        assert {m.split(".")[0] for m in imported} & HEAVY == set()


def test_index_dir_is_the_workspace_dir(tmp_path):
    from repo_assist import assistant, runner_state

    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    ws = assistant.open_workspace(repo)
    assert hooks.index_dir(repo) == ws.dir and ws.manifest_path == ws.dir / runner_state.MANIFEST_NAME


def test_install_twice_is_identical_and_uninstall_restores_byte_identical(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY, "scripts/merge-hook": "#!/bin/sh\nexit 0\n"})
    folder = repo / ".git" / "hooks"
    hook_script(folder / "post-commit", 'echo "theirs $*" >/dev/null\n', 0o750)
    (folder / "post-merge").symlink_to("../../scripts/merge-hook")
    before = snapshot(folder)

    first = hooks.install(repo)
    assert first["hooks"] == {"post-commit": "added", "post-merge": "chained",
                              "post-checkout": "installed", "post-rewrite": "installed"}
    installed = snapshot(folder)
    mtimes = {n: (folder / n).lstat().st_mtime_ns for n in installed}
    assert "post-commit.repo-assist-orig" not in installed  # a shell script takes the block, at its top
    assert installed["post-commit"][:2] == before["post-commit"][:2]  # its mode kept
    assert installed["post-commit"][2].startswith(b"#!/bin/sh\n# >>> repo-assist hook v2 >>>\n")
    assert installed["post-commit"][2].endswith(b"# <<< repo-assist hook v2 <<<\n" + before["post-commit"][2][len("#!/bin/sh\n"):])
    assert installed["post-merge.repo-assist-orig"] == before["post-merge"]  # a symlink cannot: kept beside ours
    st = hooks.status(repo)
    assert st["installed"] and {n: h["state"] for n, h in st["hooks"].items()} == {
        "post-commit": "added", "post-merge": "chained", "post-checkout": "ours", "post-rewrite": "ours"}
    assert all(h["current"] and h["launcher"] == str(RA) and h["launcher_exists"] for h in st["hooks"].values())

    again = hooks.install(repo)
    assert set(again["hooks"].values()) == {"unchanged"}
    assert snapshot(folder) == installed
    assert {n: (folder / n).lstat().st_mtime_ns for n in installed} == mtimes

    out = hooks.uninstall(repo)
    assert out["folders"][str(folder)] == {"post-commit": "removed from your hook", "post-merge": "restored",
                                           "post-checkout": "removed", "post-rewrite": "removed"}
    assert snapshot(folder) == before
    assert {n: h["state"] for n, h in hooks.status(repo)["hooks"].items()} == {
        "post-commit": "foreign", "post-merge": "foreign", "post-checkout": "missing", "post-rewrite": "missing"}


def test_install_refuses_to_overwrite_a_kept_original(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    folder = repo / ".git" / "hooks"
    first = "#!/usr/bin/env python3\nprint('first')\n"
    (folder / "post-commit").write_text(first)  # not a shell script: kept beside ours, run first
    os.chmod(folder / "post-commit", 0o755)
    assert hooks.install(repo)["hooks"]["post-commit"] == "chained"
    hook_script(folder / "post-commit", "echo someone else replaced the shim\n")  # a tool overwrote our shim
    before = snapshot(folder)
    with pytest.raises(UsageError, match="already exists"):
        hooks.install(repo)
    assert snapshot(folder) == before  # checked everything first: nothing written
    out = hooks.uninstall(repo)
    assert out["folders"][str(folder)]["post-commit"] == "foreign, left alone"
    assert (folder / "post-commit.repo-assist-orig").read_text() == first


def test_lines_a_user_adds_to_a_hook_run_and_outlive_reinstall_and_uninstall(tmp_path):
    """A hook file holds the user's lines and repo-assist's block: only the block is ever rewritten or taken out."""
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    folder = repo / ".git" / "hooks"
    marks = tmp_path / "marks"
    theirs = f'# the team\'s merge hook\necho "merged $1" >> "{marks}"\n'
    hook_script(folder / "post-merge", theirs, 0o700)  # a hook with content of theirs before install
    first = hooks.install(repo)
    mine = f'echo "committed $#" >> "{marks}"\n'
    with open(folder / "post-commit", "a") as fh:  # the user appends to the hook repo-assist wrote
        fh.write(mine)
    os.chmod(folder / "post-commit", 0o750)
    later = f'echo "merge hook edited after install" >> "{marks}"\n'
    with open(folder / "post-merge", "a") as fh:
        fh.write(later)

    # the user's lines run
    assert git_run(repo, "commit", "-q", "--allow-empty", "-m", "one").returncode == 0
    git(repo, "checkout", "-q", "-b", "side")
    assert git_run(repo, "commit", "-q", "--allow-empty", "-m", "two").returncode == 0
    git(repo, "checkout", "-q", "main")
    proc = git_run(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    assert proc.returncode == 0 and proc.stderr == ""
    assert marks.read_text().splitlines() == ["committed 0", "committed 0", "merged 0", "merge hook edited after install"]
    assert first["hooks"] == {"post-commit": "installed", "post-merge": "added",
                              "post-checkout": "installed", "post-rewrite": "installed"}

    # install again with another launcher: the blocks are rewritten, the user's lines kept; a third time changes nothing
    assert set(hooks.install(repo, launcher=(str(tmp_path / "moved" / "repo-assist"),))["hooks"].values()) == {"updated"}
    hooks.install(repo)
    installed = snapshot(folder)
    mtimes = {n: (folder / n).lstat().st_mtime_ns for n in installed}
    assert set(hooks.install(repo)["hooks"].values()) == {"unchanged"}
    assert snapshot(folder) == installed and {n: (folder / n).lstat().st_mtime_ns for n in installed} == mtimes
    assert installed["post-commit"][1] == 0o750 and installed["post-commit"][2].endswith(mine.encode())

    out = hooks.uninstall(repo)
    assert out["folders"][str(folder)] == {"post-commit": "removed, your lines kept", "post-merge": "removed from your hook",
                                           "post-checkout": "removed", "post-rewrite": "removed"}
    assert snapshot(folder)["post-commit"] == (stat.S_IFREG, 0o750, ("#!/bin/sh\n" + mine).encode())
    assert snapshot(folder)["post-merge"] == (stat.S_IFREG, 0o700, ("#!/bin/sh\n" + theirs + later).encode())
    assert not (folder / "post-checkout").exists() and not (folder / "post-rewrite").exists()
    assert git_run(repo, "commit", "-q", "--allow-empty", "-m", "three").returncode == 0
    assert marks.read_text().splitlines()[-1] == "committed 0"  # still theirs, still running


def v1_shim(name: str, exe: str) -> str:
    """What `hooks install` wrote before the block (version 1): a whole file ending in `exit $rc`."""
    return (
        "#!/bin/sh\n# repo-assist hook v1\n"
        f"# {name}: runs the hook that was here before (if any), then starts a detached\n"
        "# re-index of this work tree and returns at once; it never fails the git command.\n"
        "# Written by `repo-assist hooks install`; `repo-assist hooks uninstall` restores the original.\n"
        "case $0 in */*) here=${0%/*} ;; *) here=. ;; esac\n"
        f'orig="$here/{name}.repo-assist-orig"\nrc=0\nif [ -x "$orig" ]; then\n\t"$orig" "$@"\n\trc=$?\nfi\n'
        f"if [ -x {exe} ]; then\n\tset -- {exe}\nelif command -v repo-assist >/dev/null 2>&1; then\n"
        "\tset -- repo-assist\nelse\n\texit $rc\nfi\n"
        f'nohup "$@" _hook-run {name} </dev/null >/dev/null 2>&1 &\nexit $rc\n'
    )


def test_a_version_1_shim_with_lines_appended_keeps_them(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    folder = repo / ".git" / "hooks"
    appended = "echo appended after the shim, never ran\n"
    hook_script(folder / "post-commit", v1_shim("post-commit", str(RA))[len("#!/bin/sh\n"):] + appended)
    hook_script(folder / "post-merge", v1_shim("post-merge", str(RA))[len("#!/bin/sh\n"):])
    states = hooks.status(repo)["hooks"]
    out = hooks.uninstall(repo)["folders"][str(folder)]
    assert (folder / "post-commit").read_text() == "#!/bin/sh\n" + appended and not (folder / "post-merge").exists()
    assert (out["post-commit"], out["post-merge"]) == ("removed, your lines kept", "removed")
    assert (states["post-commit"]["state"], states["post-merge"]["state"]) == ("ours", "ours")
    assert not states["post-commit"]["current"]  # an older shim: `hooks install` updates it

    hook_script(folder / "post-commit", v1_shim("post-commit", str(RA))[len("#!/bin/sh\n"):] + appended)
    assert hooks.install(repo)["hooks"]["post-commit"] == "updated"
    text = (folder / "post-commit").read_text()
    assert text.startswith("#!/bin/sh\n# >>> repo-assist hook v2 (created this file) >>>\n") and text.endswith(
        "# <<< repo-assist hook v2 <<<\n" + appended) and "hook v1" not in text
    assert hooks.status(repo)["hooks"]["post-commit"]["current"]


def test_a_hook_block_without_its_end_marker_is_left_alone(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    folder = repo / ".git" / "hooks"
    hooks.install(repo)
    hook = folder / "post-commit"
    hook.write_text(hook.read_text().replace("# <<< repo-assist hook v2 <<<\n", "") + "echo mine\n")
    damaged = hook.read_bytes()
    proc = subprocess.run([str(RA), "hooks", "install", str(repo)], capture_output=True, text=True)
    assert proc.returncode == 2 and "no end marker" in proc.stderr and len(proc.stderr.splitlines()) == 1
    out = hooks.uninstall(repo)
    assert out["folders"][str(folder)]["post-commit"] == "damaged, left alone" and hook.read_bytes() == damaged
    assert hooks.status(repo)["hooks"]["post-commit"]["state"] == "damaged"


def test_a_tracked_hooks_folder_is_not_changed_and_the_new_hooks_stay_out_of_git(tmp_path):
    """A team's `.githooks/` (core.hooksPath): its tracked hooks are never edited, the files added never show."""
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY, ".githooks/pre-commit": "#!/bin/sh\nexit 0\n",
                                      ".githooks/post-merge": "#!/bin/sh\necho team post-merge\n"})
    for name in ("pre-commit", "post-merge"):
        os.chmod(repo / ".githooks" / name, 0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "executable hooks")
    git(repo, "config", "core.hooksPath", ".githooks")
    exclude = repo / ".git" / "info" / "exclude"
    exclude_before, before = exclude.read_bytes(), snapshot(repo / ".githooks")

    proc = subprocess.run([str(RA), "hooks", "install", str(repo)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert ".githooks/post-merge is tracked" in proc.stderr and "'.githooks'" in proc.stderr
    assert "--skip-tracked" in proc.stderr  # the way out
    assert snapshot(repo / ".githooks") == before and exclude.read_bytes() == exclude_before

    index_now(repo)
    proc = subprocess.run([str(RA), "hooks", "install", str(repo), "--skip-tracked", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["hooks"] == {"post-commit": "installed", "post-merge": "skipped",
                             "post-checkout": "installed", "post-rewrite": "installed"}
    assert data["excluded"] == [".githooks/post-commit", ".githooks/post-checkout", ".githooks/post-rewrite"]
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert snapshot(repo / ".githooks")["post-merge"] == before["post-merge"]
    assert hooks.status(repo)["hooks"]["post-merge"] == {"state": "foreign", "tracked": True}

    # `git add -A` commits none of them, and the shim in the tracked folder fires
    write(repo, {"b.py": "def team_hooks_path_function():\n    return 7\n"})
    git(repo, "add", "-A")
    assert git_run(repo, "commit", "-q", "-m", "b").returncode == 0
    assert git(repo, "ls-files", ".githooks").split() == [".githooks/post-merge", ".githooks/pre-commit"]
    wait_indexed(repo)
    files = assert_index_at_head(repo, "b.py")
    assert ".githooks/post-commit" not in files  # nor are they indexed as untracked files

    hooks.uninstall(repo)
    assert exclude.read_bytes() == exclude_before and snapshot(repo / ".githooks") == before
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_cli_commands_and_hidden_hook_run(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    assert cli.main(["hooks", "install", str(repo), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hooks_dir"] == str(repo / ".git" / "hooks") and set(data["hooks"].values()) == {"installed"}
    assert cli.main(["hooks", "status", str(repo)]) == 0
    text = capsys.readouterr().out
    assert "post-rewrite  installed" in text and "last run      none yet" in text and "log  " in text
    # a home the runs cannot write: they fail before they can log, so status says so (not a log path under a file)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPO_ASSIST_HOME", str(afile))
        assert cli.main(["hooks", "status", str(repo)]) == 0
        text = capsys.readouterr().out
        assert f"problem       the index folder cannot be written ({afile} is a file" in text and "log  " not in text
        assert cli.main(["hooks", "status", str(repo), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["home_problem"] == f"{afile} is a file, not a folder"
    assert "_hook-run" not in cli.build_parser().format_help()  # internal: hidden from --help
    assert cli.main(["hooks"]) == 2  # an action is required: a usage error, not a traceback
    assert capsys.readouterr().err.startswith("repo-assist: usage:")
    assert cli.main(["hooks", "uninstall", str(repo), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["folders"][str(repo / ".git" / "hooks")].values()) == {"removed"}


def test_uninstall_also_cleans_the_default_folder_after_hooks_path_changed(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    hooks.install(repo)
    git(repo, "config", "core.hooksPath", ".githooks")
    out = hooks.uninstall(repo)
    assert set(out["folders"][str(repo / ".git" / "hooks")].values()) == {"removed"}
    assert set(out["folders"][str(repo / ".githooks")].values()) == {"absent"}
    assert not any((repo / ".git" / "hooks" / n).exists() for n in hooks.HOOK_NAMES)


def test_shared_hooks_path_outside_the_repository_is_refused(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    shared = tmp_path / "shared-hooks"
    shared.mkdir()
    git(repo, "config", "core.hooksPath", str(shared))
    proc = subprocess.run([str(RA), "hooks", "install", str(repo)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "core.hooksPath" in proc.stderr and "outside this repository" in proc.stderr
    assert "git -C" in proc.stderr  # the hint says what to do
    assert list(shared.iterdir()) == []
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    assert hooks.status(repo)["refused"]


# -- with background indexing -------------------------------------------------------------------

def test_commit_and_amend_index_in_background_and_foreign_hooks_still_run(tmp_path):
    repo = make_repo(tmp_path / "r", {"billing.py": BASE_PY})
    folder = repo / ".git" / "hooks"
    marks = tmp_path / "marks"
    hook_script(folder / "post-commit", f'echo "post-commit $#" >> "{marks}"\necho theirs-to-stderr >&2\n', 0o750)
    hook_script(folder / "post-rewrite", f'echo "post-rewrite $1" >> "{marks}"\ncat >> "{marks}"\n')
    hook_script(folder / "post-checkout", f'echo "post-checkout $3" >> "{marks}"\nexit 3\n')
    before = snapshot(folder)
    index_now(repo)
    hooks.install(repo)

    write(repo, {"ledger.py": "def settle_overdue_ledger_balance(ledger):\n    return sum(ledger) * 1.05\n"})
    git(repo, "add", "ledger.py")
    proc = git_run(repo, "commit", "-q", "-m", "ledger")
    assert proc.returncode == 0 and "theirs-to-stderr" in proc.stderr  # the original's output is kept
    assert marks.read_text() == "post-commit 0\n"
    wait_indexed(repo)
    assert_index_at_head(repo, "ledger.py")
    assert search_top(repo, "settle overdue ledger balance")["symbol"] == "settle_overdue_ledger_balance"

    old = head(repo)
    runs = hooks.status(repo)["runs"]
    write(repo, {"ledger.py": "def reconcile_ledger_entries(ledger):\n    return sorted(ledger)\n"})
    proc = git_run(repo, "commit", "-q", "-a", "--amend", "--no-edit")
    assert proc.returncode == 0, proc.stderr
    new = head(repo)
    assert marks.read_text().splitlines()[-2:] == ["post-rewrite amend", f"{old} {new}"]  # args and stdin
    st = wait_indexed(repo, new, after_runs=runs)
    assert "post-rewrite" in events_since(st, runs)
    assert_index_at_head(repo, "ledger.py")

    proc = git_run(repo, "checkout", "-q", "-b", "side")
    assert proc.returncode == 1  # the original failed (exit 3), so git checkout fails (git reports 1): passed through
    assert marks.read_text().splitlines()[-1] == "post-checkout 1"

    hooks.uninstall(repo)
    assert snapshot(folder) == before


def test_branch_switch_merge_and_rebase_keep_the_index_at_head(tmp_path):
    repo = make_repo(tmp_path / "r", {"core.py": BASE_PY})
    index_now(repo)
    hooks.install(repo)
    runs = hooks.status(repo)["runs"]

    git(repo, "checkout", "-q", "-b", "feature")  # same commit: nothing to index, no run
    commit_file(repo, "parse.py", "def parse_feature_flags(text):\n    return text.split(',')\n", "parse")
    wait_indexed(repo)
    assert "parse.py" in assert_index_at_head(repo, "parse.py")

    runs = hooks.status(repo)["runs"]
    assert git_run(repo, "checkout", "-q", "main").returncode == 0  # branch switch
    st = wait_indexed(repo, after_runs=runs)
    assert "post-checkout" in events_since(st, runs)
    assert "parse.py" not in assert_index_at_head(repo, "core.py")

    runs = st["runs"]
    assert git_run(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature").returncode == 0
    st = wait_indexed(repo, after_runs=runs)
    assert "post-merge" in events_since(st, runs)
    assert_index_at_head(repo, "parse.py", "core.py")

    git(repo, "checkout", "-q", "-b", "topic")
    commit_file(repo, "gamma.py", "def compute_gamma_correction(pixel):\n    return pixel ** 2.2\n", "gamma")
    assert git_run(repo, "checkout", "-q", "main").returncode == 0
    commit_file(repo, "delta.py", "def delta_encode(values):\n    return [b - a for a, b in zip(values, values[1:])]\n", "delta")
    assert git_run(repo, "checkout", "-q", "topic").returncode == 0
    wait_indexed(repo)
    runs = hooks.status(repo)["runs"]
    proc = git_run(repo, "rebase", "-q", "main")
    assert proc.returncode == 0, proc.stderr
    st = wait_indexed(repo, after_runs=runs)
    assert "post-rewrite" in events_since(st, runs)
    assert_index_at_head(repo, "gamma.py", "delta.py", "parse.py")
    assert search_top(repo, "gamma correction of a pixel")["symbol"] == "compute_gamma_correction"


def test_hooks_under_a_relative_core_hooks_path(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    git(repo, "config", "core.hooksPath", ".githooks")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text(".githooks/\n")  # the user's own line, kept as it is
    index_now(repo)
    out = hooks.install(repo)
    assert out["hooks_dir"] == str(repo / ".githooks") and out["inside_work_tree"]
    assert (repo / ".githooks" / "post-commit").is_file()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    commit_file(repo, "b.py", "def hooks_path_function():\n    return 42\n", "b")
    wait_indexed(repo)
    assert_index_at_head(repo, "b.py")
    hooks.uninstall(repo)
    assert sorted(p.name for p in (repo / ".githooks").iterdir()) == []
    assert (repo / ".git" / "info" / "exclude").read_text() == ".githooks/\n"


def test_broken_index_or_missing_tool_never_fail_the_commit(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    idx = hooks.index_dir(repo)
    idx.mkdir(parents=True)
    (idx / "manifest.sqlite").write_bytes(b"this is not a sqlite database" * 100)
    hooks.install(repo)

    proc = git_run(repo, "commit", "-q", "--allow-empty", "-m", "with a broken index")
    assert proc.returncode == 0 and proc.stderr == ""
    st = wait_runs(repo, 0)
    assert st["last_run"]["ok"] is False and "manifest" in st["last_run"]["error"]
    assert "failed" in _log(repo)

    # the recorded executable is gone and repo-assist is not on PATH: nothing runs, git is unharmed
    hooks.install(repo, launcher=(str(tmp_path / "gone" / "repo-assist"),))
    no_tool = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    proc = git_run(repo, "commit", "-q", "--allow-empty", "-m", "tool missing", env=no_tool)
    assert proc.returncode == 0 and proc.stderr == ""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | no_tool
    trace = subprocess.run(["/bin/sh", "-x", ".git/hooks/post-commit"], cwd=repo, env=env, capture_output=True, text=True)
    assert trace.returncode == 0 and "+ exit 0" in trace.stderr and "nohup" not in trace.stderr  # gave up, spawned nothing

    # ... and when it is on PATH, the shim falls back to it
    runs = hooks.status(repo)["runs"]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "repo-assist").symlink_to(RA)
    on_path = {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin"}
    assert git_run(repo, "commit", "-q", "--allow-empty", "-m", "on PATH", env=on_path).returncode == 0
    assert wait_runs(repo, runs)["last_run"]["events"] == ["post-commit"]

    # the `python -m repo_assist.cli` form works without any script
    runs = hooks.status(repo)["runs"]
    hooks.install(repo, launcher=(sys.executable, "-m", "repo_assist.cli"))
    assert git_run(repo, "commit", "-q", "--allow-empty", "-m", "python -m", env=no_tool).returncode == 0
    assert wait_runs(repo, runs)["last_run"]["events"] == ["post-commit"]


def test_requests_during_a_run_coalesce_into_one_more_pass(tmp_path):
    """A hook that fires while a pass holds the lock leaves a request and exits; the holder runs once more."""
    from repo_assist import assistant

    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    index_now(repo)
    seen: list[str | None] = []
    deferred: list[subprocess.CompletedProcess[str]] = []

    def index_fn(ws):
        seen.append(ws.repo.head())
        if len(seen) == 1:  # while we hold the lock: a new commit, and its hook
            commit_file(repo, "late.py", "def arrived_during_the_run():\n    return 1\n", "late")
            deferred.append(subprocess.run([str(RA), "_hook-run", "post-merge"], cwd=repo, capture_output=True, text=True))
            assert (hooks.index_dir(repo) / hooks.RERUN_NAME).read_text() == "post-merge\n"
        return assistant.index(ws)

    assert background.run(repo, "post-commit", index_fn=index_fn) == "ran"
    assert deferred[0].returncode == 0
    assert len(seen) == 2 and seen[1] == head(repo) != seen[0]
    st = hooks.status(repo)
    assert st["runs"] == 2 and not st["rerun_pending"] and st["running"] is None
    assert [r["events"] for r in st["history"]] == [["post-commit"], ["post-merge"]]
    assert "a run is in progress" in _log(repo)
    assert_index_at_head(repo, "late.py")


def test_a_worktree_without_an_index_is_left_alone_by_the_shared_hooks(tmp_path):
    """Linked worktrees share the hooks; a commit in one never indexed starts nothing, and makes no index folder."""
    repo = make_repo(tmp_path / "main", {"a.py": BASE_PY})
    index_now(repo)
    done = tmp_path / "done"
    launcher = tmp_path / "bin" / "repo-assist-then-mark"  # runs the hook's command as the shim does, then says so
    hook_script(launcher, f'"{RA}" "$@"\necho "$PWD $*" >> "{done}"\n')
    hooks.install(repo, launcher=(str(launcher),))
    main_index = manifest_view(repo)

    wt = tmp_path / "wt"
    proc = git_run(repo, "worktree", "add", "-q", "-b", "feat", str(wt))  # fires post-checkout in the new worktree
    assert proc.returncode == 0 and proc.stdout == proc.stderr == ""
    write(wt, {"wt_only.py": "def only_in_the_worktree():\n    return 'wt'\n"})
    git(wt, "add", "wt_only.py")
    proc = git_run(wt, "commit", "-q", "-m", "wt")
    assert proc.returncode == 0 and proc.stdout == proc.stderr == ""
    deadline = time.monotonic() + WAIT_S
    while not (done.exists() and len(done.read_text().splitlines()) == 2):
        assert time.monotonic() < deadline, done.read_text() if done.exists() else "no hook run finished"
        time.sleep(0.2)
    assert sorted(done.read_text().splitlines()) == [f"{wt} _hook-run post-checkout", f"{wt} _hook-run post-commit"]
    assert not hooks.index_dir(wt).exists()  # no second index folder, no full index of its own
    st = hooks.status(wt)
    assert st["hooks_dir"] == str(repo / ".git" / "hooks") and st["indexed"] is False and st["runs"] == 0
    assert manifest_view(repo) == main_index

    # once the user indexes the worktree, the hooks keep that index fresh (and leave the main one alone)
    index_now(wt)
    runs = hooks.status(wt)["runs"]
    commit_file(wt, "wt_more.py", "def more_in_the_worktree():\n    return 'more'\n", "more")
    wait_indexed(wt, after_runs=runs)
    assert_index_at_head(wt, "wt_only.py", "wt_more.py")
    assert manifest_view(repo) == main_index


def test_the_runner_log_says_1_chunk_not_1_chunks(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": BASE_PY})
    index_now(repo)
    hooks.install(repo)
    commit_file(repo, "one.py", "def the_only_function():\n    return 1\n", "one small function")
    wait_indexed(repo)
    assert "post-commit: indexed" in _log(repo) and "(1 chunk embedded, 0 deleted)" in _log(repo)
