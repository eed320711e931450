"""An index home or a setting that cannot be used: one line on stderr and exit 2, never an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
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
    err = one_line(cli("index", str(repo), env={"REPO_ASSIST_HOME": str(home)}), 2)
    assert f"{afile} is a file, not a folder" in err


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
