"""Git hooks that keep the index fresh: install, uninstall, status.

repo-assist's part of each hook is one marked block of POSIX sh (see
``hook_text``): in a file of its own when there was no hook, at the top of the
user's shell-script hook otherwise (their lines kept byte for byte), or, for a
hook that cannot take it (another language, a symlink, one git does not run),
in a file of its own that runs the kept hook first (``NAME.repo-assist-orig``,
same bytes, same mode). The block starts ``repo-assist _hook-run NAME`` detached
and never fails a git command: when the tool is gone it does nothing. Uninstall
takes out exactly that block and deletes a file only when nothing of the user's
is left in it.

This module runs inside ``git commit``'s neighbourhood and in ``hooks status``,
so it imports only the standard library and repo-assist's vocabulary — never
numpy, torch, Chroma or tree-sitter (a test holds it to that).

``core.hooksPath`` is honoured when it points inside the repository (the work
tree or the git directory; a relative value is relative to the work tree top).
A hooks folder outside the repository is shared by other repositories, so
install refuses it and says how to give this repository its own folder. In a
hooks folder inside the work tree (a team's tracked ``.githooks/``), a hook git
tracks is never changed (install refuses, or leaves it with ``skip_tracked``),
and the files install creates are listed in ``info/exclude``, so they show up
neither in `git status` nor in a commit.
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

from . import hook_text as ht
from .errors import RepoAssistError, UsageError
from .gitrepo import Repo, run_git
from .hook_exclude import set_excluded
from .hook_text import HOOK_NAMES, ORIG_SUFFIX
from .runner_state import LOG_NAME, RERUN_NAME, has_index, home_problem, index_dir, pid_alive, read_state

__all__ = ["HOOK_NAMES", "ORIG_SUFFIX", "LOG_NAME", "RERUN_NAME", "hooks_dir", "index_dir", "install", "status", "uninstall"]


@dataclass(frozen=True, slots=True)
class HooksDir:
    """Where git looks for this repository's hooks, and why."""

    path: Path
    configured: str | None  # core.hooksPath as written in git config, None when unset
    work_tree: Path | None  # the work tree the folder lies in (None: in a git directory)

    @property
    def inside_work_tree(self) -> bool:
        return self.work_tree is not None

    def rel(self, name: str) -> str:
        assert self.work_tree is not None
        return (self.path / name).relative_to(self.work_tree).as_posix()


def default_launcher() -> tuple[str, ...]:
    """The command the shims run: the ``repo-assist`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("repo-assist")
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    return (sys.executable, "-m", "repo_assist.cli")


def _read_parts(path: Path) -> ht.HookText | None:
    """repo-assist's part of the regular file ``path`` (None: none, or not a regular file); UsageError when damaged."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return ht.split(ht.decode(path.read_bytes()))
    except UsageError as exc:
        raise UsageError(f"{path}: {exc.message}", exc.hint) from None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def hooks_dir(repo: Repo) -> HooksDir:
    """The effective hooks folder; a shared folder outside the repository is refused."""
    proc = run_git(["config", "--get", "core.hooksPath"], repo.root, check=False)
    configured = proc.stdout.decode("utf-8", "surrogateescape").strip() or None
    if configured is None:
        return HooksDir(repo.common_dir / "hooks", None, None)
    p = Path(configured).expanduser()
    p = (p if p.is_absolute() else repo.root / p).resolve()
    trees = [repo.root]
    if repo.common_dir.name == ".git":
        trees.append(repo.common_dir.parent)  # the main work tree, seen from a linked worktree
    if _inside(p, repo.git_dir) or _inside(p, repo.common_dir):
        return HooksDir(p, configured, None)
    tree = next((t for t in trees if _inside(p, t)), None)
    if tree is None:
        raise UsageError(
            f"core.hooksPath is {configured!r}, a folder outside this repository that other repositories may share",
            "give this repository its own hooks folder (copy the shared hooks you need into it), e.g. "
            f"`git -C {shlex.quote(str(repo.root))} config core.hooksPath .githooks`, then run `repo-assist hooks install` again",
        )
    return HooksDir(p, configured, tree)


def tracked_hooks(where: HooksDir) -> list[str]:
    """The hooks of ours that git tracks in the work tree holding the hooks folder (a team's `.githooks/`)."""
    if where.work_tree is None:
        return []
    rels = {where.rel(name): name for name in HOOK_NAMES}
    proc = run_git(["ls-files", "-z", "--", *rels], where.work_tree, check=False, env={"GIT_LITERAL_PATHSPECS": "1"})
    listed = set(ht.decode(proc.stdout).split("\0"))
    return [name for rel, name in rels.items() if rel in listed]


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.repo-assist-tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _write_error(folder: Path, exc: OSError) -> UsageError:
    return UsageError(f"cannot change the hooks in {folder}: {exc.strerror or exc}",
                      "check the folder's permissions; `repo-assist hooks status` shows what is installed")


def _executable(mode: int) -> int:
    """``mode`` with execute bits wherever it has read bits (owner always)."""
    return mode | stat.S_IXUSR | ((mode & 0o044) >> 2)


def _plan_hook(folder: Path, name: str, launcher: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, bytes, int, bool]:
    """(action, new bytes, mode, whether repo-assist created the file) for one hook; raises before anything is written."""
    hook, orig = folder / name, folder / (name + ORIG_SUFFIX)
    parts = _read_parts(hook)
    if parts is not None:
        created = parts.created
        text = parts.before + ht.render_block(name, launcher, extra, created=created) + parts.after
        old, mode = hook.read_bytes(), stat.S_IMODE(hook.stat().st_mode)
        new_mode = _executable(mode)
        action = "unchanged" if old == ht.encode(text) and mode == new_mode else "updated"
        return action, ht.encode(text), new_mode, created
    if not os.path.lexists(hook):
        return "installed", ht.encode(ht.render_new(name, launcher, extra)), 0o755, True
    if os.path.lexists(orig):
        raise UsageError(
            f"{hook} is not a repo-assist hook and {orig.name} already exists beside it",
            "move one of them aside (nothing was changed), then run `repo-assist hooks install` again",
        )
    if hook.is_file() and not hook.is_symlink() and os.access(hook, os.X_OK):
        data = hook.read_bytes()
        if ht.takes_block(data):
            text = ht.add_block(ht.decode(data), ht.render_block(name, launcher, extra))
            return "added", ht.encode(text), stat.S_IMODE(hook.stat().st_mode), False
    return "chained", ht.encode(ht.render_new(name, launcher, extra)), 0o755, True


def install(
    path: str | os.PathLike[str] = ".",
    *,
    launcher: tuple[str, ...] | None = None,
    extra_args: tuple[str, ...] = (),
    skip_tracked: bool = False,
) -> dict[str, Any]:
    """Install the four hooks, keeping the user's; running it twice changes nothing.

    Every hook is checked before anything is written, so a refusal leaves the folder as it was.
    """
    repo = Repo.open(path)
    where = hooks_dir(repo)
    launcher = launcher or default_launcher()
    tracked = tracked_hooks(where)
    if tracked and not skip_tracked:
        files = ", ".join(where.rel(n) for n in tracked)
        raise UsageError(
            f"{files} {'is' if len(tracked) == 1 else 'are'} tracked by git in the hooks folder {where.configured!r} "
            "(core.hooksPath): repo-assist does not change hooks the repository shares",
            "nothing was changed; `repo-assist hooks install --skip-tracked` installs the other hooks and leaves "
            f"{'that one' if len(tracked) == 1 else 'these'} alone",
        )
    plan: list[tuple[str, str, bytes, int, bool]] = []
    try:
        for name in HOOK_NAMES:
            if name in tracked:
                plan.append((name, "skipped", b"", 0, False))
            else:
                plan.append((name, *_plan_hook(where.path, name, launcher, extra_args)))
        # listed before they exist: a file that cannot be listed is never written (it would show in `git status`)
        excluded = [where.rel(name) for name, _, _, _, created in plan if created] if where.work_tree else []
        exclude_file = set_excluded(repo.common_dir, excluded)
        where.path.mkdir(parents=True, exist_ok=True)
        for name, action, data, mode, _ in plan:
            hook = where.path / name
            if action == "chained":
                os.rename(hook, where.path / (name + ORIG_SUFFIX))  # same inode: bytes, mode and times kept
            if action not in ("unchanged", "skipped"):
                _write_atomic(hook, data, mode)
    except OSError as exc:
        raise _write_error(where.path, exc) from None
    return {
        "repo": str(repo.root),
        "hooks_dir": str(where.path),
        "hooks_path": where.configured,
        "inside_work_tree": where.inside_work_tree,
        "excluded": excluded,
        "exclude_file": str(exclude_file) if excluded else None,
        "launcher": list(launcher),
        "hooks": {name: action for name, action, *_ in plan},
        "indexed": _indexed(repo.root),
    }


def _indexed(root: Path) -> bool | None:
    try:
        return has_index(index_dir(root))
    except RepoAssistError:  # a configuration error: `hooks status` and every command name it
        return None


def uninstall(path: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """Take repo-assist's part out of every hook and put back, by rename, a hook it kept aside.

    Besides the effective folder, the default ``<git dir>/hooks`` is cleaned too, so
    hooks installed before core.hooksPath was changed do not linger.
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
    set_excluded(repo.common_dir, [])
    return {"repo": str(repo.root), "folders": done, "notes": notes}


def _uninstall_in(folder: Path, notes: list[str]) -> dict[str, str]:
    """Undo install in one folder; what could not be undone is noted, never forced."""
    actions: dict[str, str] = {}
    for name in HOOK_NAMES:
        hook, orig = folder / name, folder / (name + ORIG_SUFFIX)
        try:
            parts = _read_parts(hook)
        except UsageError as exc:
            actions[name] = "damaged, left alone"
            notes.append(f"{exc.message}; left it alone")
            continue
        if parts is not None:
            users = parts.users()
            if users:
                _write_atomic(hook, ht.encode(users), stat.S_IMODE(hook.stat().st_mode))
                actions[name] = "removed, your lines kept" if parts.created else "removed from your hook"
                if os.path.lexists(orig):
                    notes.append(f"{orig} is left: {name} now holds lines of yours, so the hook kept there was "
                                 "not put back (merge the two by hand)")
            elif os.path.lexists(orig):
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
                notes.append(f"{orig} is left: {name} is no longer repo-assist's")
        else:
            actions[name] = "absent"
    return actions


def _hook_state(folder: Path, name: str) -> dict[str, Any]:
    hook, orig = folder / name, folder / (name + ORIG_SUFFIX)
    try:
        parts = _read_parts(hook)
    except UsageError:
        return {"state": "damaged"}
    if parts is None:
        return {"state": "foreign" if os.path.lexists(hook) else "missing"}
    exe = ht.recorded_launcher(parts.block)
    return {
        "state": "chained" if os.path.lexists(orig) else "ours" if parts.created else "added",
        # an older shim, or one git will not run, wants `hooks install` again
        "current": parts.version == ht.VERSION and bool(os.stat(hook).st_mode & stat.S_IXUSR),
        "launcher": exe,
        "launcher_exists": bool(exe and os.access(exe, os.X_OK)),
    }


def status(path: str | os.PathLike[str] = ".", flags: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Which hooks are installed, where, and what the background runner last did."""
    repo = Repo.open(path)
    where: HooksDir | None = None
    try:
        where = hooks_dir(repo)
        configured, refused = where.configured, None
    except UsageError as exc:
        refused = exc.message
        configured = run_git(["config", "--get", "core.hooksPath"], repo.root, check=False).stdout.decode().strip()
    hooks: dict[str, Any] = {}
    if where is not None:
        tracked = tracked_hooks(where)
        for name in HOOK_NAMES:
            hooks[name] = {**_hook_state(where.path, name), "tracked": name in tracked}
    idx = index_dir(repo.root, flags)
    state = read_state(idx)
    running = state.get("running")
    if running and not pid_alive(int(running.get("pid", 0) or 0)):
        running = {**running, "interrupted": True}
    return {
        "repo": str(repo.root),
        "hooks_dir": str(where.path) if where else None,
        "hooks_path": configured or None,
        "refused": refused,
        "hooks": hooks,
        "installed": bool(hooks) and all(h["state"] in ("ours", "added", "chained") for h in hooks.values()),
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
