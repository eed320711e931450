"""The /commands typed in the question box: /refactor, /review, /undo, /clear.

Commands rather than more keys because each takes an argument (the change
to make, the diff file), and the question box is where the user already is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from textual.markup import escape

from ..errors import PatchError, RepoAssistError, UsageError
from .chat import Transcript, Turn
from .context_panel import ContextPanel
from .messages import DiffReady

if TYPE_CHECKING:
    from .app import RepoAssistApp

NAMES = ("/refactor", "/review", "/undo", "/clear")


async def run(app: "RepoAssistApp", text: str) -> None:
    name, _, arg = text.partition(" ")
    handler = {"/refactor": refactor, "/review": review, "/undo": undo, "/clear": clear}.get(name)
    if handler is None:
        app.show_error(UsageError(f"unknown command {name}", "commands: " + ", ".join(NAMES)))
        return
    await handler(app, arg.strip())


def refactor_outcome(result) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The diff of ``changes.refactor``'s result, everything the reviewer should read first, and the uses of
    renamed names the whole diff leaves behind (the review finds those again for the hunks it accepts).

    Blocks the engine could not place, edits it could not parse and a diff
    that does not pass ``git apply --check`` are warnings, not errors: the
    hunks that did work are still worth reviewing. No diff at all is an error.
    """
    engine = result.engine
    notes = tuple(f"{f.block.path}: {f.reason}" for f in engine.failed) + tuple(engine.problems)
    p = engine.patch
    if p is None or not p.diff:
        raise PatchError("the model's edits produced no change", "; ".join(notes) or
                         "rephrase the request, naming the files or symbols to change")
    checked = () if p.applies or p.warnings else (f"git apply --check: {p.check_output or 'does not apply'}",)
    stale = tuple(engine.references)
    tested = (result.test.headline(),) if result.test and not result.test.passed else ()
    return p.diff, tuple(w for w in p.warnings if w not in stale) + notes + checked + tested, stale


async def refactor(app: "RepoAssistApp", instruction: str) -> None:
    if not instruction:
        app.show_error(UsageError("say what to change", "e.g. /refactor rename Invoice.total to Invoice.sum"))
        return
    if app.busy:
        app.notify(f"busy {app.busy}; ask again when it is done", severity="warning")
        return
    turn: Turn = await app.query_one(Transcript).add_turn(f"/refactor {instruction}")
    turn.set_status("packing the context, then asking the model for edit blocks…")
    app.start_work("refactoring", turn.turn_id)
    ws, model, api_base, turn_id = app.ws, app.model_spec, app.api_base or None, turn.turn_id
    on_token, on_plan = app.token_sink(turn_id), app.plan_sink(turn_id)

    def checking(command: str) -> None:  # (from the worker: the check may take minutes)
        app.call_from_thread(turn.progress,
                             f"checking the patch with `{escape(command)}` on a copy of the work tree…")

    def work() -> None:
        from ..changes import refactor as run_refactor

        try:
            conv = app.conversation()  # (the model the questions use, loaded once and stoppable by ctrl+g)
            result = run_refactor(ws, instruction, model=conv.model, backend=conv.backend, on_token=on_token,
                                  on_plan=on_plan, on_check=checking, stop=app.stop_pressed)
            diff, warnings, stale = refactor_outcome(result)
            text = result.responses[-1] if result.responses else ""
            app.post_message(DiffReady(turn_id, diff, warnings, text, result.plan, result.model, stale))
        except Exception as exc:  # noqa: BLE001 - a modal, never a crash
            app.post_message(app.failure("refactor", exc, turn_id))

    app.run_worker(work, thread=True, exit_on_error=False, group="refactor")


def _diff_file(app: "RepoAssistApp", arg: str) -> Path:
    if not arg:
        raise UsageError("name the diff file", "e.g. /review changes.diff (made with `git diff > changes.diff`)")
    given = Path(os.path.expanduser(arg))
    for candidate in (given, app.ws.repo.root / given):
        if candidate.is_file():
            return candidate
    raise UsageError(f"{arg} is not a file", "give a path relative to here or to the repository")


async def review(app: "RepoAssistApp", arg: str) -> None:
    try:
        path = _diff_file(app, arg)
        diff = path.read_bytes().decode("utf-8", "surrogateescape")
    except RepoAssistError as exc:
        app.show_error(exc)
        return
    except OSError as exc:
        app.show_error(UsageError(f"cannot read {arg}: {exc.strerror}"))
        return
    app.review(diff, title=f"Review {path.name}")


async def undo(app: "RepoAssistApp", _: str) -> None:
    ws = app.ws

    def work() -> None:
        from ..changes import undo_last

        try:
            entry = undo_last(ws)
            app.call_from_thread(app.notify, f"undone: {', '.join(entry.files)} restored", title="undo")
            app.call_from_thread(app.refresh_status)
        except Exception as exc:  # noqa: BLE001
            app.post_message(app.failure("undo", exc))

    app.run_worker(work, thread=True, exit_on_error=False, group="undo")


async def clear(app: "RepoAssistApp", _: str) -> None:
    if app.busy:
        app.notify(f"busy {app.busy}", severity="warning")
        return
    app.history.clear()
    await app.query_one(Transcript).query(Turn).remove()
    app.query_one(ContextPanel).reset()
    app.notify("new conversation")
