"""Try a patch before it touches the work tree: apply it to a scratch copy and run the user's check there.

The copy is a detached git worktree at HEAD with the work tree's uncommitted changes and untracked files carried
over, so the patch meets exactly the files it was made against. What git ignores at the top level
(``node_modules``, ``.venv``, ``target``) and checked-out submodules are linked in rather than copied, so a test
command finds the dependencies it needs. The worktree is removed afterwards, whatever happens; the work tree is
never written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .diffs import ENC
from .errors import PatchError, StoppedError, UsageError
from .gitrepo import NO_HOOKS, run_git

OUTPUT_LINES = 20  # lines of the command's output kept for the report
_STOP_POLL_S = 0.1  # how often a check that can be stopped looks whether it was


@dataclass(frozen=True, slots=True)
class Trial:
    """How the check command did on the patched copy."""

    command: str
    passed: bool
    exit_code: int | None  # None: stopped at the time limit
    seconds: float
    output: str  # the last lines the command printed (stdout and stderr)

    def to_dict(self) -> dict:
        return {"command": self.command, "passed": self.passed, "exit_code": self.exit_code,
                "seconds": round(self.seconds, 2), "output": self.output}

    def summary(self) -> str:
        how = "passed" if self.passed else (f"failed (exit {self.exit_code})" if self.exit_code is not None
                                            else "stopped at its time limit")
        return f"`{self.command}` {how} on a patched copy of the work tree in {self.seconds:.1f} s"

    def headline(self) -> str:
        """The summary, and for a failed check the last line it printed."""
        last = self.output.splitlines()[-1] if self.output and not self.passed else ""
        return self.summary() + (f": {last}" if last else "")


def trial(repo_root: Path, diff: str, command: str, timeout_s: float, stop: threading.Event | None = None) -> Trial:
    """Apply ``diff`` to a scratch copy of the work tree and run ``command`` (a shell command) there; ``stop``, once
    set, ends the command (StoppedError)."""
    root = Path(repo_root).resolve()
    if run_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], root, check=False).returncode != 0:
        raise UsageError("a check needs a commit to copy the work tree from", "commit once, or drop the check")
    tmp = Path(tempfile.mkdtemp(prefix="repo-assist-trial-"))
    tree = tmp / "tree"
    try:  # the worktree is added inside: an interrupt during `git worktree add` still removes it
        # (Git LFS files stay pointers: git-lfs would fetch what is not here, and the copy is for a check)
        run_git([*NO_HOOKS, "worktree", "add", "-q", "--detach", str(tree), "HEAD"], root, env={"GIT_LFS_SKIP_SMUDGE": "1"})
        _carry_work_tree(root, tree)
        proc = run_git(["apply", "--binary", "-"], tree, input=diff.encode(*ENC), check=False)
        if proc.returncode != 0:
            why = proc.stderr.decode(*ENC).strip().splitlines()
            raise PatchError("the patch does not apply to a copy of the work tree: "
                             + (why[-1] if why else "git apply failed"), "regenerate it against the current tree")
        return _run(command, tree, timeout_s, stop)
    finally:
        run_git(["worktree", "remove", "--force", str(tree)], root, check=False)
        run_git(["worktree", "prune"], root, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def _carry_work_tree(root: Path, tree: Path) -> None:
    """Give ``tree`` (a worktree at HEAD) the work tree's uncommitted changes, untracked files and, linked, its
    ignored top-level entries."""
    changes = run_git(["diff", "HEAD", "--binary"], root).stdout
    if changes:
        run_git(["apply", "--binary", "-"], tree, input=changes)
    listed = run_git(["ls-files", "-z", "--others", "--exclude-standard"], root).stdout.decode(*ENC)
    for rel in filter(None, listed.split("\0")):
        source, target = root / rel, tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, target)
    ignored = run_git(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"],
                      root).stdout.decode(*ENC)
    for rel in filter(None, ignored.split("\0")):
        rel = rel.rstrip("/")
        if "/" not in rel and not (tree / rel).exists():
            (tree / rel).symlink_to(root / rel)
    staged = run_git(["ls-files", "-z", "--stage"], root).stdout.decode(*ENC)
    for entry in filter(None, staged.split("\0")):  # submodules: the worktree has them as empty folders
        info, _, rel = entry.partition("\t")  # "<mode> <object> <stage>\t<path>"
        target = tree / rel
        if info.startswith("160000 ") and (root / rel).is_dir() and target.is_dir() and not any(target.iterdir()):
            target.rmdir()
            target.symlink_to(root / rel)


def _run(command: str, cwd: Path, timeout_s: float, stop: threading.Event | None = None) -> Trial:
    """Run ``command`` in its own process group, so that at the time limit, or once ``stop`` is set, everything it
    started is stopped."""
    start = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    stopped = False
    try:
        proc = subprocess.Popen(command, shell=True, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        raise UsageError(f"cannot run the check `{command}`: {exc.strerror}") from None
    code: int | None = None
    try:
        while True:  # (a retried communicate loses none of the output)
            left = deadline - time.monotonic()
            try:
                out, _ = proc.communicate(timeout=max(0.0, min(left, _STOP_POLL_S) if stop is not None else left))
                code = proc.returncode
                break
            except subprocess.TimeoutExpired:
                stopped = stop is not None and stop.is_set()
                if stopped or time.monotonic() >= deadline:
                    break
    finally:
        if proc.returncode is None:  # timed out, or interrupted: stop the whole group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # (it ended on its own just now)
            out, _ = proc.communicate()
    if stopped:
        raise StoppedError(f"stopped by you: the check `{command}` was ended")
    tail = "\n".join(out.decode(*ENC).rstrip().splitlines()[-OUTPUT_LINES:])
    return Trial(command, code == 0, code, time.perf_counter() - start, tail)
