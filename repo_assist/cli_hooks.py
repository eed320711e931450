"""`repo-assist hooks install|uninstall|status` and the hidden `_hook-run` the shims start.

Kept out of cli.py so the command line stays small; cli.py calls
``register(sub, common)``. Handlers follow cli.py: they return an exit code and
raise RepoAssistError subclasses, which the CLI turns into one line on stderr.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

from .cli_output import emit

HOOK_EVENTS = ("post-commit", "post-merge", "post-checkout", "post-rewrite")  # == hooks.HOOK_NAMES


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("embedder", "chroma_url")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def cmd_hooks_install(args: argparse.Namespace) -> int:
    from . import hooks

    flags = _flags(args)
    extra: list[str] = []
    if "embedder" in flags:
        extra += ["--embedder", flags["embedder"]]
    if "chroma_url" in flags:
        extra += ["--chroma-url", flags["chroma_url"]]
    data = hooks.install(args.path, extra_args=tuple(extra), skip_tracked=args.skip_tracked)
    emit(data, args.json, _install_text)
    return 0


_ACTIONS = {
    "installed": "installed",
    "updated": "updated (repo-assist's block only)",
    "unchanged": "already installed, unchanged",
    "added": "added to your hook, at its top (your lines kept)",
    "chained": "installed; the hook that was there runs first (kept as {name}.repo-assist-orig)",
    "skipped": "left alone: git tracks it (--skip-tracked)",
}


def _install_text(d: dict) -> str:
    where = d["hooks_dir"] + (f" (core.hooksPath {d['hooks_path']})" if d["hooks_path"] else "")
    lines = [f"hooks folder  {where}", f"launcher      {' '.join(d['launcher'])} _hook-run"]
    lines += [f"{name:<13} {_ACTIONS[a].format(name=name)}" for name, a in d["hooks"].items()]
    if d["excluded"]:
        lines.append(f"note: the hooks folder is inside the work tree; repo-assist's files there are listed in "
                     f"{d['exclude_file']}, so `git status` does not show them")
    if d["indexed"] is False:
        lines.append("note: this work tree has no index yet, and the hooks only refresh an index that exists: "
                     "run `repo-assist index` once")
    return "\n".join(lines)


def cmd_hooks_uninstall(args: argparse.Namespace) -> int:
    from . import hooks

    data = hooks.uninstall(args.path)
    emit(data, args.json, _uninstall_text)
    return 0


def _uninstall_text(d: dict) -> str:
    lines = []
    for folder, actions in d["folders"].items():
        if all(a == "absent" for a in actions.values()):
            continue
        lines.append(f"hooks folder  {folder}")
        lines += [f"{name:<13} {a}" for name, a in actions.items()]
    if not lines:
        lines.append("no repo-assist hooks were installed")
    lines += [f"note: {n}" for n in d["notes"]]
    return "\n".join(lines)


def cmd_hooks_status(args: argparse.Namespace) -> int:
    from . import hooks

    data = hooks.status(args.path, _flags(args))
    emit(data, args.json, _status_text)
    return 0


_STATES = {
    "ours": "installed",
    "added": "installed, in your hook",
    "damaged": "repo-assist's block has lost its end marker: mend it or delete the block by hand",
    "chained": "installed; runs {name}.repo-assist-orig first",
    "foreign": "a hook of yours, no repo-assist part (`repo-assist hooks install` keeps it and adds to it)",
    "missing": "not installed",
}


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "?"


def _status_text(d: dict) -> str:
    lines = [f"repo          {d['repo']}"]
    if d["refused"]:
        lines.append(f"hooks folder  none usable: {d['refused']}")
    else:
        where = d["hooks_dir"] + (f" (core.hooksPath {d['hooks_path']})" if d["hooks_path"] else "")
        lines.append(f"hooks folder  {where}")
    launchers = set()
    for name, h in d["hooks"].items():
        text = _STATES[h["state"]].format(name=name)
        if h["tracked"]:
            text = "a hook git tracks: repo-assist leaves it alone" if h["state"] == "foreign" else text + " (git tracks it)"
        if h["state"] in ("ours", "added", "chained"):
            if not h["current"]:
                text += " (outdated: run `repo-assist hooks install`)"
            launchers.add((h["launcher"], h["launcher_exists"]))
        lines.append(f"{name:<13} {text}")
    for exe, ok in sorted(launchers, key=str):
        lines.append(f"launcher      {exe}" + ("" if ok else " (missing: falls back to repo-assist on PATH; reinstall the hooks)"))
    if not d["indexed"]:
        lines.append("index         none for this work tree: the hooks do nothing here until `repo-assist index` builds one")
    run = d["last_run"]
    if run:
        head = (run.get("head") or "none")[:12]
        result = "ok" if run.get("ok") else f"error: {run.get('error')}"
        why = ",".join(run.get("events") or []) or "?"
        lines.append(f"last run      {_when(run.get('finished_at'))}, {result}, {run.get('seconds', 0):.1f}s at {head} ({why})")
    else:
        lines.append("last run      none yet")
    if d["running"]:
        lines.append(f"now           indexing since {_when(d['running'].get('started_at'))} (pid {d['running'].get('pid')})")
    elif d["interrupted"]:
        lines.append(f"now           idle; the run started {_when(d['interrupted'].get('started_at'))} was interrupted")
    else:
        lines.append("now           idle")
    if d["rerun_pending"]:
        lines.append("pending       another run was requested")
    if d["home_problem"]:  # (then every run fails before it can log why)
        lines.append(f"problem       the index folder cannot be written ({d['home_problem']}): every background run "
                     "fails; point REPO_ASSIST_HOME or the `home` setting at a folder you can write")
    else:
        lines.append(f"log           {d['log']}")
    return "\n".join(lines)


def cmd_hook_run(args: argparse.Namespace) -> int:
    from . import background

    return background.main(args.event, _flags(args))


def register(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `hooks install|uninstall|status` and the hidden `_hook-run` to the CLI's subparsers."""
    hp = sub.add_parser("hooks", help="git hooks that keep the index fresh (install, uninstall, status)")
    actions = hp.add_subparsers(dest="hooks_action", metavar="ACTION", required=True)
    for name, func, helptext in (
        ("install", cmd_hooks_install, "install post-commit/merge/checkout/rewrite hooks (an existing hook of yours is kept)"),
        ("uninstall", cmd_hooks_uninstall, "take repo-assist's part out of the hooks, keeping every line of yours"),
        ("status", cmd_hooks_status, "which hooks are installed and what the last background run did"),
    ):
        sp = actions.add_parser(name, help=helptext)
        sp.add_argument("path", nargs="?", default=".")
        if name == "install":
            sp.add_argument("--skip-tracked", action="store_true",
                            help="in a hooks folder git tracks (core.hooksPath), leave the hooks git tracks alone")
        common(sp)
        sp.set_defaults(func=func)

    sp = sub.add_parser("_hook-run")  # no help=: internal, started by the shims, hidden from --help
    sp.add_argument("event", choices=HOOK_EVENTS)
    sp.add_argument("hook_args", nargs="*", help=argparse.SUPPRESS)
    common(sp)
    sp.set_defaults(func=cmd_hook_run)
