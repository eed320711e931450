"""A patch checked on a scratch copy of the work tree (`--test CMD`, the `test_command` setting): real git
repositories, real commands; the work tree is never written and no worktree is left behind."""

from __future__ import annotations

import json
import os
import sys

import pytest

from repo_assist.errors import UsageError
from repo_assist.patch import make_diff
from repo_assist.trial import trial

from .conftest import git, make_repo, tree_bytes as snapshot, run_cli as run

CALC = "def add(a, b):\n    return a + b\n"
CHECK = "from calc import add\nassert add(2, 3) == 5, 'add is broken'\n"
PY = sys.executable


def good_and_bad(repo):
    good = make_diff({"calc.py": CALC}, {"calc.py": CALC.replace("a + b", "b + a")})
    bad = make_diff({"calc.py": CALC}, {"calc.py": CALC.replace("a + b", "a - b")})
    return good, bad


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "calc", {"calc.py": CALC, "check_calc.py": CHECK, ".gitignore": "deps/\n"})




def test_the_copy_has_the_work_tree_as_it_is_and_the_work_tree_is_untouched(repo):
    # uncommitted edits and untracked files come along, ignored top-level folders are linked in; the patch is
    # applied to the copy only, and the copy is gone afterwards
    (repo / "check_calc.py").write_text(CHECK + "import extra\n")  # uncommitted
    (repo / "extra.py").write_text("VALUE = 1\n")  # untracked
    (repo / "deps").mkdir()
    (repo / "deps" / "lib.txt").write_text("dependency\n")  # ignored
    good, _ = good_and_bad(repo)
    before = snapshot(repo)
    command = f"{PY} check_calc.py && test -f deps/lib.txt && grep -q 'b + a' calc.py"
    result = trial(repo, good, command, timeout_s=120)
    assert result.passed and result.exit_code == 0, result.output
    assert snapshot(repo) == before
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_a_failing_check_reports_its_output_and_a_command_past_its_time_is_stopped(repo):
    _, bad = good_and_bad(repo)
    result = trial(repo, bad, f"{PY} check_calc.py", timeout_s=120)
    assert not result.passed and result.exit_code == 1 and "add is broken" in result.output
    slow = trial(repo, bad, f"{PY} -c 'import time; time.sleep(60)'", timeout_s=1)
    assert not slow.passed and slow.exit_code is None and "time limit" in slow.summary()
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_cli_patch_and_apply_with_a_check(repo, tmp_path, capsys):
    good, bad = good_and_bad(repo)
    resp = tmp_path / "bad.md"
    resp.write_text("calc.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return a - b\n>>>>>>> REPLACE\n")
    # patch: the diff is still printed, the check's output goes to stderr, exit 5
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--test", f"{PY} check_calc.py")
    assert code == 5 and out == bad, err
    assert "failed (exit 1)" in err and "add is broken" in err and "Traceback" in err  # (the check's own output)
    assert err.count("failed (exit 1)") == 1  # said once, by the error line
    code, out, _ = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json",
                       "--test", f"{PY} check_calc.py")
    assert code == 5 and json.loads(out)["test"]["exit_code"] == 1
    # apply: a failed check applies nothing unless forced; a passing one applies
    before = snapshot(repo)
    (tmp_path / "bad.diff").write_text(bad)
    code, _, err = run(capsys, "apply", str(tmp_path / "bad.diff"), "--repo", str(repo), "--test", f"{PY} check_calc.py")
    assert code == 5 and "nothing was applied" in err and snapshot(repo) == before
    assert err.count("failed (exit 1)") == 1
    code, out, _ = run(capsys, "apply", str(tmp_path / "bad.diff"), "--repo", str(repo), "--json",
                       "--test", f"{PY} check_calc.py")
    data = json.loads(out)
    assert code == 5 and data["applied"] is None and data["test"]["exit_code"] == 1 and snapshot(repo) == before
    code, out, err = run(capsys, "apply", str(tmp_path / "bad.diff"), "--repo", str(repo), "--force", "--json",
                         "--test", f"{PY} check_calc.py")
    assert code == 0 and json.loads(out)["test"]["passed"] is False, err
    assert "a - b" in (repo / "calc.py").read_text()
    run(capsys, "undo", "--repo", str(repo))
    (tmp_path / "good.diff").write_text(good)
    code, out, err = run(capsys, "apply", str(tmp_path / "good.diff"), "--repo", str(repo), "--json",
                         "--test", f"{PY} check_calc.py")
    assert code == 0 and json.loads(out)["test"]["passed"] is True, err


def test_the_setting_sets_the_check_and_an_empty_flag_turns_it_off(repo, tmp_path, capsys):
    (repo / ".repo-assist.toml").write_text(f'test_command = "{PY} check_calc.py"\n')
    resp = tmp_path / "bad.md"
    resp.write_text("calc.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return a - b\n>>>>>>> REPLACE\n")
    code, _, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 5 and "add is broken" in err
    code, _, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--test", "")
    assert code == 0 and "check" not in err


def test_a_repository_without_commits_cannot_be_copied(tmp_path):
    bare = make_repo(tmp_path / "new", {"calc.py": CALC}, commit=False)
    with pytest.raises(UsageError, match="needs a commit"):
        trial(bare, make_diff({"calc.py": CALC}, {"calc.py": CALC + "\n"}), "true", timeout_s=10)


def test_a_failed_check_goes_back_to_the_model_and_a_last_failure_applies_nothing(repo, capsys, monkeypatch):
    from repo_assist import assistant

    from .fake_ollama import FakeOllama

    assistant.index(assistant.open_workspace(repo))
    breaks = "calc.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return a - b\n>>>>>>> REPLACE\n"
    mends = "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return b + a\n>>>>>>> REPLACE\n"
    argv = ["refactor", "tidy add", "--repo", str(repo), "--model", "ollama/tiny", "--apply",
            "--test", f"{PY} check_calc.py"]
    with FakeOllama(replies=[breaks, mends]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        # the check fails on the first answer: its output goes back, and the second answer (on top of the
        # first) passes; the patch is the two together
        code, out, err = run(capsys, *argv, "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["attempts"] == 2 and data["test"]["passed"], data
        retry = fake.chat_requests()[1]["messages"][-1]["content"]
        assert "`" + f"{PY} check_calc.py" + "`" in retry and "add is broken" in retry, retry
        assert "b + a" in (repo / "calc.py").read_text()
        run(capsys, "undo", "--repo", str(repo))
        # it fails on every answer: exit 5, the diff printed, nothing applied unless forced
        fake.replies[:] = [breaks, breaks]
        code, out, err = run(capsys, *argv, "--retries", "0")
        assert code == 5 and "nothing was applied" in err and "-    return a + b" in out, err
        assert (repo / "calc.py").read_text() == CALC
        fake.replies[:] = [breaks]
        code, _, err = run(capsys, *argv, "--retries", "0", "--force")
        assert code == 0 and "applied to 1 file;" in err, err
        assert "a - b" in (repo / "calc.py").read_text()


def test_a_checked_out_submodule_is_there_in_the_copy(repo, tmp_path):
    lib = make_repo(tmp_path / "lib", {"lib.py": "VALUE = 1\n"})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(repo, "commit", "-qm", "add submodule")
    good, _ = good_and_bad(repo)
    result = trial(repo, good, "test -f vendor/lib/lib.py", timeout_s=60)
    assert result.passed, result.output
    assert len(git(repo, "worktree", "list").splitlines()) == 1 and (repo / "vendor/lib/lib.py").is_file()


def test_the_copy_never_asks_git_lfs_to_download(repo, tmp_path, monkeypatch):
    # git-lfs is not installed here: a stand-in on PATH plays its smudge filter (content through, as a local
    # object would be) and notes whether it was told to skip downloads, as git-lfs reads GIT_LFS_SKIP_SMUDGE.
    bin_dir, log = tmp_path / "bin", tmp_path / "lfs.log"
    bin_dir.mkdir()
    fake = bin_dir / "git-lfs"
    fake.write_text(f'#!/bin/sh\necho "$1 skip=$GIT_LFS_SKIP_SMUDGE" >> "{log}"\ncat\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    git(repo, "config", "filter.lfs.smudge", "git-lfs smudge -- %f")
    (repo / ".gitattributes").write_text("*.bin filter=lfs\n")
    (repo / "data.bin").write_bytes(b"payload\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "lfs file")
    good, _ = good_and_bad(repo)
    result = trial(repo, good, "test -f data.bin", timeout_s=60)
    assert result.passed, result.output
    assert log.read_text().split() == ["smudge", "skip=1"], log.read_text()


def test_making_the_copy_runs_no_git_hook(repo, tmp_path):
    # a post-checkout hook (repo-assist's own re-indexes in the background) must not run for the scratch copy
    marker = tmp_path / "hook-ran"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\necho \"$PWD\" >> '{marker}'\n")
    hook.chmod(0o755)
    good, _ = good_and_bad(repo)
    assert trial(repo, good, f"{PY} check_calc.py", 60).passed
    assert not marker.exists()
    git(repo, "checkout", "-q", "-b", "other")  # (the hook itself works)
    assert marker.exists()
