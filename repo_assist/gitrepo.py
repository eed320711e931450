"""Everything repo-assist asks of git, through the git command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import NotARepoError, RepoAssistError


def clean_env() -> dict[str, str]:
    """The environment without GIT_* variables (a hook's GIT_DIR must not leak)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


# `git -c` options for work on a scratch tree: no hook runs (a post-checkout hook, repo-assist's own included, would
# index the scratch tree in the background)
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")


def run_git(
    args: list[str],
    cwd: str | os.PathLike[str],
    *,
    input: bytes | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd`` and return the completed process (bytes out); ``env`` adds variables."""
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env={**clean_env(), **(env or {})},
        )
    except FileNotFoundError as exc:
        raise RepoAssistError("git is not installed", "install git and try again") from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepoAssistError(
            f"git {args[0]} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}",
            title="git",
        )
    return proc


def git_text(args: list[str], cwd: str | os.PathLike[str]) -> str:
    return run_git(args, cwd).stdout.decode("utf-8", "surrogateescape").strip()


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data``, computed as ``git hash-object`` does."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Repo:
    """A git work tree: its top folder and git directory."""

    root: Path
    git_dir: Path
    common_dir: Path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "Repo":
        given = p = Path(path).expanduser()
        if not p.exists():
            raise NotARepoError(f"{p} does not exist", "pass the path of a git work tree")
        if not p.is_dir():
            p = p.parent
        proc = run_git(
            ["rev-parse", "--is-bare-repository", "--show-toplevel", "--absolute-git-dir",
             "--git-common-dir"],
            p,
            check=False,
        )
        out = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if proc.returncode != 0 or not out:
            raise NotARepoError(f"{given} is not inside a git work tree", "run `git init` there, or pass the path of a repository")
        if out[0] == "true" or len(out) < 4:
            raise NotARepoError(f"{given} is a bare repository", "point repo-assist at a work tree (git worktree add, or clone it)")
        root = Path(out[1]).resolve()
        git_dir = Path(out[2]).resolve()
        common = Path(out[3])
        if not common.is_absolute():
            common = (p / common)
        return cls(root=root, git_dir=git_dir, common_dir=common.resolve())

    def git(self, *args: str) -> str:
        return git_text(list(args), self.root)

    def head(self) -> str | None:
        """The commit HEAD names, or None in a repository with no commits."""
        proc = run_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], self.root, check=False)
        sha = proc.stdout.decode().strip()
        return sha if proc.returncode == 0 and sha else None

    def branch(self) -> str | None:
        proc = run_git(["symbolic-ref", "-q", "--short", "HEAD"], self.root, check=False)
        name = proc.stdout.decode().strip()
        return name or None

    def commits_between(self, old: str | None, new: str | None) -> int | None:
        """How many commits ``new`` has that ``old`` lacks (None when unknown)."""
        if not new:
            return 0
        if not old:
            return None
        if old == new:
            return 0
        proc = run_git(["rev-list", "--count", f"{old}..{new}"], self.root, check=False)
        if proc.returncode != 0:
            return None
        return int(proc.stdout.decode().strip() or 0)

    def is_ancestor(self, old: str, new: str) -> bool:
        return run_git(["merge-base", "--is-ancestor", old, new], self.root, check=False).returncode == 0


class BlobReader:
    """Reads blobs by id through one long-lived ``git cat-file --batch``."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "cat-file", "--batch"], cwd=root, env=clean_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def read(self, sha: str) -> bytes:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(sha.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3:
            raise OSError(f"git has no blob {sha}")
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)
