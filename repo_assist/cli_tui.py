"""``repo-assist tui [PATH] [--model SPEC] [--api-base URL]``: open the Textual app on a repository.

Kept out of cli.py so the CLI does not import Textual unless this command runs.
Everything that can fail before the first frame (not a repository, bad config,
bad ``[keys]``, bad model spec) is raised here as a RepoAssistError, so it is a
one-line error on the terminal, not a crashed screen.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any, Callable, Iterator

from .errors import UsageError


def register(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``tui`` command to the CLI's subparsers (``common`` adds the shared flags)."""
    sp = subparsers.add_parser("tui", help="the terminal UI: ask, see why each piece of context was chosen, "
                                           "review and apply patches")
    sp.add_argument("path", nargs="?", default=".", help="the repository (default: here)")
    sp.add_argument("--model", help="llamacpp/default (packaged), llamacpp/PATH.gguf, ollama/NAME[:TAG], openai/NAME")
    sp.add_argument("--api-base", dest="api_base", help="server URL for ollama/ or openai/ models")
    common(sp)
    sp.set_defaults(func=cmd_tui)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("embedder", "chroma_url")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def not_terminals() -> list[str]:
    """The standard streams that are not a terminal. Textual reads keys from stdin and draws on stderr (stdout on
    Windows), so all three are checked: ``tui 2>file`` would otherwise draw the whole screen into the file. Both
    the current stream and the process's own (``sys.__stderr__``, the one Textual writes to) must be a terminal."""
    bad = []
    for name in ("stdin", "stdout", "stderr"):
        streams = (getattr(sys, name, None), getattr(sys, f"__{name}__", None))
        if not all(s is not None and _isatty(s) for s in streams):
            bad.append(name)
    return bad


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # a closed or odd stream is not a terminal
        return False


def cmd_tui(args: argparse.Namespace) -> int:
    from . import assistant
    from .backends.base import ModelSpec
    from .tui.keymap import load_keymap

    if getattr(args, "json", False):
        raise UsageError("--json has no meaning for the TUI", "use `repo-assist ask --json` in scripts")
    ws = assistant.open_workspace(args.path, _flags(args))
    if args.model:
        ModelSpec.parse(args.model)
    keymap = load_keymap(ws.repo.root, ws.settings)
    bad = not_terminals()
    if bad:
        names = " and ".join([", ".join(bad[:-1]), bad[-1]] if len(bad) > 1 else bad)
        raise UsageError(f"the TUI needs a terminal, and {names} {'is' if len(bad) == 1 else 'are'} not one",
                         "it reads keys from stdin and draws on stderr: run it in a terminal with no stream "
                         "redirected, or use `repo-assist ask` in scripts")
    from .tui.app import RepoAssistApp

    app = RepoAssistApp(ws, model=args.model, api_base=args.api_base, keymap=keymap)
    with own_terminal_stream():
        app.run()
    return app.return_code or 0


@contextlib.contextmanager
def own_terminal_stream() -> Iterator[None]:
    """Let Textual draw on its own duplicate of the stderr descriptor while the app runs.

    Textual draws on ``sys.__stderr__`` (fd 2), and the embedded llama.cpp
    backend points fd 2 at /dev/null while it loads a model, to keep its C log
    lines off the screen. Every frame drawn meanwhile was lost: the first
    question's "stopping…" after the stop key never reached the screen. A
    duplicate descriptor is the same terminal, and out of that silencing's reach.
    """
    original = sys.__stderr__
    try:
        fd = os.dup(original.fileno())
    except (AttributeError, OSError, ValueError):  # no real stderr: leave it as it is
        yield
        return
    stream = os.fdopen(fd, "w", encoding=original.encoding, errors=original.errors)
    sys.__stderr__ = stream
    try:
        yield
    finally:
        sys.__stderr__ = original
        stream.close()
