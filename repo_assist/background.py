"""The detached re-index a git hook starts (`repo-assist _hook-run EVENT`).

One run at a time per repository, and no request is lost:

1. every request first appends its event to the ``hooks-rerun`` flag file,
2. then tries the runner lock (``hooks.lock``) without waiting; if it is held,
   it exits — the holder will see the flag;
3. the holder renames the flag away before each pass (so a request arriving
   during the pass leaves a new flag), indexes, and loops while a flag exists;
   after releasing the lock it looks once more and, if a flag appeared in
   between, competes for the lock again.

The runner lock is not ``Workspace.lock()``: the indexer takes that one itself
(blocking), and a second flock on it from the same process would deadlock. So
the runner serializes runners, and ``index.lock`` still serializes the runner
against a `repo-assist index` someone started by hand.

Everything is logged to ``hooks.log`` in the index folder and the last runs
are kept in ``hooks-state.json`` for `hooks status`. No exception ever reaches
git. Heavy modules (the indexer, the embedder) are imported inside a pass only.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .config import Settings, load_settings
from .errors import RepoAssistError
from .gitrepo import Repo
from .paths import index_home, make_private_dir
from .plurals import counted
from .runner_state import LOG_NAME, RERUN_NAME, RUNNER_LOCK_NAME, STATE_NAME, has_index, index_dir, pid_alive, read_state

LOG_CAP_BYTES = 512 * 1024  # past this, hooks.log becomes hooks.log.1 (one old copy kept)
HISTORY_KEEP = 20


@dataclass(frozen=True, slots=True)
class RunnerFiles:
    """The runner's files in one repository's index folder."""

    dir: Path

    @property
    def log(self) -> Path:
        return self.dir / LOG_NAME

    @property
    def state(self) -> Path:
        return self.dir / STATE_NAME

    @property
    def rerun(self) -> Path:
        return self.dir / RERUN_NAME

    @property
    def lock(self) -> Path:
        return self.dir / RUNNER_LOCK_NAME


def strip_git_env() -> None:
    """Drop GIT_* from this process: a hook's GIT_DIR or GIT_INDEX_FILE must not steer the indexer."""
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        del os.environ[key]


def log_line(path: Path, message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} [{os.getpid()}] {message}\n")


def rotate_log(path: Path, cap: int = LOG_CAP_BYTES) -> None:
    try:
        if path.stat().st_size > cap:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass


@contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive flock on ``path`` if nobody else does; yield whether we got it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def request(files: RunnerFiles, event: str) -> None:
    """Ask for a pass: one O_APPEND write, safe against any number of concurrent hooks."""
    fd = os.open(files.rerun, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{event}\n".encode())
    finally:
        os.close(fd)


def take_request(files: RunnerFiles) -> Path | None:
    """Move the pending requests aside (atomically); None when there are none."""
    taken = files.dir / f"{RERUN_NAME}.taken-{os.getpid()}"
    try:
        os.rename(files.rerun, taken)
    except FileNotFoundError:
        return None
    return taken


def sweep_taken(files: RunnerFiles) -> None:
    """Remove requests taken by runners that died mid-pass (their pass is being redone anyway)."""
    for p in files.dir.glob(f"{RERUN_NAME}.taken-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            p.unlink(missing_ok=True)


def _events(taken: Path) -> list[str]:
    try:
        names = taken.read_text("utf-8", "replace").split()
        taken.unlink()
    except OSError:
        return []
    return list(dict.fromkeys(names))


def write_state(files: RunnerFiles, state: dict[str, Any]) -> None:
    tmp = files.dir / f".{STATE_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, files.state)


IndexFn = Callable[[Any], Any]  # (Workspace) -> IndexStats


class _Runner:
    """The lock holder's passes: opens the workspace once, so the embedder loads once."""

    def __init__(self, root: Path, files: RunnerFiles, flags: Mapping[str, Any] | None, index_fn: IndexFn | None):
        self.root, self.files, self.flags, self.index_fn = root, files, flags, index_fn
        self.ws = None

    def _workspace(self):
        from . import assistant

        if self.ws is None:
            self.ws = assistant.open_workspace(self.root, self.flags)
            if self.ws.dir != self.files.dir:
                log_line(self.files.log, f"warning: the index folder is {self.ws.dir}, the runner's is {self.files.dir}")
        return self.ws

    def one_pass(self, taken: Path) -> dict[str, Any]:
        state = read_state(self.files.dir)
        t0, w0 = time.time(), time.perf_counter()
        try:
            head = Repo.open(self.root).head()
        except RepoAssistError:
            head = None
        record: dict[str, Any] = {"pid": os.getpid(), "started_at": round(t0, 3), "head": head}
        state["running"] = dict(record)
        write_state(self.files, state)
        try:
            ws = self._workspace()
            if self.index_fn is None:
                from . import assistant

                stats = assistant.index(ws)
            else:
                stats = self.index_fn(ws)
            record.update(ok=True, error=None, files=stats.files, chunks=stats.chunks,
                          computed=stats.computed, deleted=stats.deleted)
        except RepoAssistError as exc:
            record.update(ok=False, error=exc.one_line())
        except Exception as exc:  # noqa: BLE001 - a hook never fails git; the log keeps the traceback
            first = str(exc).splitlines()[0] if str(exc) else ""
            record.update(ok=False, error=f"{type(exc).__name__}: {first}")
            log_line(self.files.log, traceback.format_exc().rstrip())
        record["events"] = _events(taken)
        record["finished_at"] = round(time.time(), 3)
        record["seconds"] = round(time.perf_counter() - w0, 3)
        head = (record["head"] or "none")[:12]
        if record["ok"]:
            log_line(self.files.log, f"{','.join(record['events']) or 'run'}: indexed {head} in {record['seconds']:.1f}s "
                     f"({counted(record['computed'], 'chunk')} embedded, {record['deleted']} deleted)")
        else:
            log_line(self.files.log, f"{','.join(record['events']) or 'run'}: failed at {head}: {record['error']}")
        state = read_state(self.files.dir)
        state["running"] = None
        state["runs"] = int(state.get("runs", 0) or 0) + 1
        state["last_run"] = record
        state["history"] = (list(state.get("history", [])) + [record])[-HISTORY_KEEP:]
        write_state(self.files, state)
        return record


def run(
    root: str | os.PathLike[str],
    event: str,
    *,
    flags: Mapping[str, Any] | None = None,
    index_fn: IndexFn | None = None,
    redirect_output: bool = False,
) -> str:
    """Request a pass for the work tree at ``root`` and serve requests while we hold the lock.

    Returns "ran" when this process ran at least one pass, "deferred" when another
    runner held the lock (and will pick up our request), "no index" when the work
    tree has no index: the hooks only refresh an index someone built (a linked
    worktree shares the hooks, and a commit there must not start a full index of
    it in a new index folder); nothing is written then, not even a log line.
    ``index_fn`` replaces ``assistant.index`` (tests use it to act while a pass holds the lock).
    """
    repo = Repo.open(root)
    files = RunnerFiles(index_dir(repo.root, flags))
    if not has_index(files.dir):
        return "no index"
    make_private_dir(files.dir.parent)
    make_private_dir(files.dir)
    rotate_log(files.log)
    if redirect_output:  # stray prints and library warnings land in the log, not on a closed terminal
        fd = os.open(files.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    request(files, event)
    runner = _Runner(repo.root, files, flags, index_fn)
    outcome = "deferred"
    while True:
        with try_lock(files.lock) as got:
            if not got:
                if outcome == "deferred":
                    log_line(files.log, f"{event}: a run is in progress; it will index again when done")
                return outcome
            outcome = "ran"
            sweep_taken(files)
            while (taken := take_request(files)) is not None:
                runner.one_pass(taken)
        if not files.rerun.exists():
            return outcome


def _detach() -> None:
    """Leave git's session and terminal: Ctrl-C or a closed terminal must not cut a pass short."""
    try:
        os.setsid()
    except OSError:
        pass  # already a session or group leader
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        os.nice(10)
    except OSError:
        pass
    # background work stays polite: one BLAS/OpenMP thread (set before numpy or torch load),
    # so that it neither starves the user's editor nor thrashes beside a foreground query
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(key, "1")


def _fallback_log() -> Path:
    try:
        settings = load_settings(None)
    except RepoAssistError:
        settings = Settings()
    home = index_home(settings)
    make_private_dir(home)
    return home / LOG_NAME


def main(event: str, flags: Mapping[str, Any] | None = None, cwd: str | os.PathLike[str] | None = None) -> int:
    """The `_hook-run` entry: detach, run, log anything that goes wrong, and return 0 always."""
    try:
        _detach()
        strip_git_env()
        run(Path(cwd) if cwd else Path.cwd(), event, flags=flags, redirect_output=True)
    except Exception as exc:  # noqa: BLE001 - nothing may reach git; log where we can
        msg = exc.one_line() if isinstance(exc, RepoAssistError) else f"{type(exc).__name__}: {exc}"
        try:
            log_line(_fallback_log(), f"{event} in {cwd or os.getcwd()}: {msg}")
        except Exception:  # noqa: BLE001
            pass
    return 0
