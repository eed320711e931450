"""Git hooks that keep the index fresh: install, uninstall, status.

Each hook is a tiny POSIX sh shim. It runs the hook that was there before (kept
beside it as ``NAME.repo-assist-orig``, same bytes, same mode), then starts
``repo-assist _hook-run NAME`` detached and returns git its original status. It
never fails a git command: when the tool is gone it does nothing.

This module runs inside ``git commit``'s neighbourhood and in ``hooks status``,
so it imports only the standard library and repo-assist's vocabulary — never
numpy, torch, Chroma or tree-sitter (a test holds it to that).

``core.hooksPath`` is honoured when it points inside the repository (the work
tree or the git directory; a relative value is relative to the work tree top).
A hooks folder outside the repository is shared by other repositories, so
install refuses it and says how to give this repository its own folder.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import RepoAssistError, UsageError
from .gitrepo import Repo, run_git
from .runner_state import LOG_NAME, RERUN_NAME, has_index, home_problem, index_dir, pid_alive, read_state

__all__ = ["HOOK_NAMES", "LOG_NAME", "RERUN_NAME", "hooks_dir", "index_dir", "install", "status", "uninstall"]

HOOK_NAMES: tuple[str, ...] = ("post-commit", "post-merge", "post-checkout", "post-rewrite")
MARKER_PREFIX = "# repo-assist hook v"
MARKER = MARKER_PREFIX + "1"
ORIG_SUFFIX = ".repo-assist-orig"

_SHIM = """\
#!/bin/sh
{marker}
# {name}: runs the hook that was here before (if any), then starts a detached
# re-index of this work tree and returns at once; it never fails the git command.
# Written by `repo-assist hooks install`; `repo-assist hooks uninstall` restores the original.
case $0 in */*) here=${{0%/*}} ;; *) here=. ;; esac
orig="$here/{name}{suffix}"
rc=0
if [ -x "$orig" ]; then
\t"$orig" "$@"
\trc=$?
fi
{gate}if [ -x {exe} ]; then
\tset -- {launcher}
elif command -v repo-assist >/dev/null 2>&1; then
\tset -- repo-assist
else
\texit $rc
fi
nohup "$@" _hook-run{extra} {name} </dev/null >/dev/null 2>&1 &
exit $rc
"""

# post-checkout fires for file checkouts too; only a branch switch that moves HEAD changes the tree
_CHECKOUT_GATE = '[ "$3" = 1 ] && [ "$1" != "$2" ] || exit $rc\n'


@dataclass(frozen=True, slots=True)
class HooksDir:
    """Where git looks for this repository's hooks, and why."""

    path: Path
    configured: str | None  # core.hooksPath as written in git config, None when unset
    inside_work_tree: bool


def default_launcher() -> tuple[str, ...]:
    """The command the shims run: the ``repo-assist`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("repo-assist")
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    return (sys.executable, "-m", "repo_assist.cli")


def render_shim(name: str, launcher: tuple[str, ...], extra_args: tuple[str, ...] = ()) -> str:
    """The exact text of one shim (install compares bytes with it, so it must be deterministic)."""
    if name not in HOOK_NAMES:
        raise UsageError(f"unknown hook {name!r}", "one of: " + ", ".join(HOOK_NAMES))
    extra = "".join(" " + shlex.quote(a) for a in extra_args)
    return _SHIM.format(
        marker=MARKER, name=name, suffix=ORIG_SUFFIX, exe=shlex.quote(launcher[0]),
        launcher=" ".join(shlex.quote(a) for a in launcher), extra=extra,
        gate=_CHECKOUT_GATE if name == "post-checkout" else "",
    )


def is_ours(path: Path) -> bool:
    """A regular file whose second line is our marker (any version)."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("rb") as fh:
            head = fh.read(256).decode("utf-8", "replace").splitlines()
    except OSError:
        return False
    return len(head) > 1 and head[0].startswith("#!") and head[1].startswith(MARKER_PREFIX)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def hooks_dir(repo: Repo) -> HooksDir:
    """The effective hooks folder; a shared folder outside the repository is refused."""
    proc = run_git(["config", "--get", "core.hooksPath"], repo.root, check=False)
    configured = proc.stdout.decode("utf-8", "surrogateescape").strip() or None
    if configured is None:
        return HooksDir(repo.common_dir / "hooks", None, False)
    p = Path(configured).expanduser()
    p = (p if p.is_absolute() else repo.root / p).resolve()
    owned = [repo.root, repo.common_dir]
    if repo.common_dir.name == ".git":
        owned.append(repo.common_dir.parent)  # the main work tree, seen from a linked worktree
    if not any(_inside(p, f) for f in owned):
        raise UsageError(
            f"core.hooksPath is {configured!r}, a folder outside this repository that other repositories may share",
            "give this repository its own hooks folder (copy the shared hooks you need into it), e.g. "
            f"`git -C {shlex.quote(str(repo.root))} config core.hooksPath .githooks`, then run `repo-assist hooks install` again",
        )
    return HooksDir(p, configured, _inside(p, repo.root))


def _write_atomic(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.repo-assist-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _write_error(folder: Path, exc: OSError) -> UsageError:
    return UsageError(f"cannot change the hooks in {folder}: {exc.strerror or exc}",
                      "check the folder's permissions; `repo-assist hooks status` shows what is installed")


def install(
    path: str | os.PathLike[str] = ".",
    *,
    launcher: tuple[str, ...] | None = None,
    extra_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Install the four shims; a foreign hook is kept and chained. Running it twice changes nothing.

    Every hook is checked before anything is written, so a refusal leaves the folder as it was.
    """
    repo = Repo.open(path)
    where = hooks_dir(repo)
    launcher = launcher or default_launcher()
    plan: list[tuple[str, str, str]] = []
    for name in HOOK_NAMES:
        hook, orig = where.path / name, where.path / (name + ORIG_SUFFIX)
        text = render_shim(name, launcher, extra_args)
        if is_ours(hook):
            same = hook.read_bytes() == text.encode("utf-8")
            action = "unchanged" if same and os.access(hook, os.X_OK) else "updated"
        elif not os.path.lexists(hook):
            action = "installed"
        elif os.path.lexists(orig):
            raise UsageError(
                f"{hook} is not a repo-assist hook and {orig.name} already exists beside it",
                "move one of them aside (nothing was changed), then run `repo-assist hooks install` again",
            )
        else:
            action = "chained"
        plan.append((name, action, text))
    try:
        where.path.mkdir(parents=True, exist_ok=True)
        for name, action, text in plan:
            hook = where.path / name
            if action == "chained":
                os.rename(hook, where.path / (name + ORIG_SUFFIX))  # same inode: bytes, mode and times kept
            if action != "unchanged":
                _write_atomic(hook, text, 0o755)
    except OSError as exc:
        raise _write_error(where.path, exc) from None
    return {
        "repo": str(repo.root),
        "hooks_dir": str(where.path),
        "hooks_path": where.configured,
        "inside_work_tree": where.inside_work_tree,
        "launcher": list(launcher),
        "hooks": {name: action for name, action, _ in plan},
        "indexed": _indexed(repo.root),
    }


def _indexed(root: Path) -> bool | None:
    try:
        return has_index(index_dir(root))
    except RepoAssistError:  # a configuration error: `hooks status` and every command name it
        return None


def uninstall(path: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """Remove our shims and put back, by rename, exactly what was there before.

    Besides the effective folder, the default ``<git dir>/hooks`` is cleaned too, so
    shims installed before core.hooksPath was changed do not linger.
    """
    repo = Repo.open(path)
    folders: list[Path] = []
    notes: list[str] = []
    try:
        folders.append(hooks_dir(repo).path)
    except UsageError as exc:
        notes.append(f"{exc.message}; left it alone")
    default = repo.common_dir / "hooks"
    if default not in folders:
        folders.append(default)
    done: dict[str, dict[str, str]] = {}
    for folder in folders:
        try:
            done[str(folder)] = _uninstall_in(folder, notes)
        except OSError as exc:
            raise _write_error(folder, exc) from None
    return {"repo": str(repo.root), "folders": done, "notes": notes}


def _uninstall_in(folder: Path, notes: list[str]) -> dict[str, str]:
    """Undo install in one folder; what could not be undone is noted, never forced."""
    actions: dict[str, str] = {}
    for name in HOOK_NAMES:
        hook, orig = folder / name, folder / (name + ORIG_SUFFIX)
        if is_ours(hook):
            if os.path.lexists(orig):
                os.replace(orig, hook)
                actions[name] = "restored"
            else:
                hook.unlink()
                actions[name] = "removed"
        elif os.path.lexists(orig) and not os.path.lexists(hook):
            os.rename(orig, hook)
            actions[name] = "restored"
        elif os.path.lexists(hook):
            actions[name] = "foreign, left alone"
            if os.path.lexists(orig):
                notes.append(f"{orig} is left: {name} is no longer our shim")
        else:
            actions[name] = "absent"
    return actions


def recorded_launcher(hook: Path) -> str | None:
    """The executable a shim was written for (first `if [ -x ... ]` line)."""
    try:
        for line in hook.read_text("utf-8", "replace").splitlines():
            if line.startswith("if [ -x ") and line.endswith("]; then") and '"$orig"' not in line:
                return shlex.split(line[len("if [ -x "):-len("]; then")])[0]
    except (OSError, ValueError, IndexError):
        return None
    return None


def _hook_state(folder: Path, name: str) -> dict[str, Any]:
    hook, orig = folder / name, folder / (name + ORIG_SUFFIX)
    if is_ours(hook):
        exe = recorded_launcher(hook)
        lines = hook.read_text("utf-8", "replace").splitlines()
        return {
            "state": "chained" if os.path.lexists(orig) else "ours",
            # an older shim, or one git will not run, wants `hooks install` again
            "current": lines[1] == MARKER and bool(os.stat(hook).st_mode & stat.S_IXUSR),
            "launcher": exe,
            "launcher_exists": bool(exe and os.access(exe, os.X_OK)),
        }
    return {"state": "foreign" if os.path.lexists(hook) else "missing"}


def status(path: str | os.PathLike[str] = ".", flags: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Which hooks are installed, where, and what the background runner last did."""
    repo = Repo.open(path)
    try:
        where = hooks_dir(repo)
        folder, configured, refused = where.path, where.configured, None
    except UsageError as exc:
        folder, refused = None, exc.message
        configured = run_git(["config", "--get", "core.hooksPath"], repo.root, check=False).stdout.decode().strip()
    hooks: dict[str, Any] = {}
    if folder is not None:
        for name in HOOK_NAMES:
            hooks[name] = _hook_state(folder, name)
    idx = index_dir(repo.root, flags)
    state = read_state(idx)
    running = state.get("running")
    if running and not pid_alive(int(running.get("pid", 0) or 0)):
        running = {**running, "interrupted": True}
    return {
        "repo": str(repo.root),
        "hooks_dir": str(folder) if folder else None,
        "hooks_path": configured or None,
        "refused": refused,
        "hooks": hooks,
        "installed": bool(hooks) and all(h["state"] in ("ours", "chained") for h in hooks.values()),
        "index_dir": str(idx),
        "indexed": has_index(idx),
        "log": str(idx / LOG_NAME),
        "home_problem": home_problem(idx),
        "running": running if running and not running.get("interrupted") else None,
        "interrupted": running if running and running.get("interrupted") else None,
        "rerun_pending": (idx / RERUN_NAME).exists(),
        "runs": int(state.get("runs", 0) or 0),
        "last_run": state.get("last_run"),
        "history": state.get("history", []),
        "checked_at": time.time(),
    }
