"""Messages that carry results from worker threads back to the UI thread.

Workers never touch widgets: they post one of these (``post_message`` is
thread-safe) and the app's handlers update the screen on the UI thread.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from ..errors import RepoAssistError


def as_repo_error(exc: BaseException) -> RepoAssistError:
    """Any exception as a RepoAssistError, so every failure gets the same modal with a hint."""
    if isinstance(exc, RepoAssistError):
        return exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    return RepoAssistError(f"{type(exc).__name__}: {first}".rstrip(": "),
                           "this is a bug in repo-assist; the app keeps running (REPO_ASSIST_DEBUG=1 shows more)",
                           title="internal error")


class Failed(Message):
    """A background task failed; ``turn_id`` names the chat turn it belonged to, if any."""

    def __init__(self, task: str, error: RepoAssistError, turn_id: int | None = None) -> None:
        super().__init__()
        self.task = task
        self.error = error
        self.turn_id = turn_id


class PlanReady(Message):
    """The context for a question is packed; the model is about to answer."""

    def __init__(self, turn_id: int, planned: Any, model: str) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.planned = planned
        self.model = model


class AnswerToken(Message):
    def __init__(self, turn_id: int, piece: str) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.piece = piece


class AnswerDone(Message):
    def __init__(self, turn_id: int, answer: Any) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.answer = answer


class StatusLoaded(Message):
    """``assistant.status`` as a dict, or None with ``error`` when there is no usable index."""

    def __init__(self, status: dict | None, error: RepoAssistError | None = None) -> None:
        super().__init__()
        self.status = status
        self.error = error


class IndexProgress(Message):
    def __init__(self, phase: str, done: int, total: int) -> None:
        super().__init__()
        self.phase = phase
        self.done = done
        self.total = total


class IndexDone(Message):
    def __init__(self, stats: Any) -> None:
        super().__init__()
        self.stats = stats


class DiffReady(Message):
    """A refactor produced a diff to review (with the model's response and its context, when known)."""

    def __init__(self, turn_id: int, diff: str, warnings: tuple[str, ...] = (), text: str = "",
                 planned: Any = None, model: str = "", stale: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.diff = diff
        self.warnings = warnings
        self.stale = stale  # uses of renamed names the whole diff leaves behind
        self.text = text
        self.planned = planned
        self.model = model


class OpenSource(Message):
    """Show ``path`` lines ``start``-``end`` in the source viewer."""

    def __init__(self, path: str, start: int, end: int, note: str = "") -> None:
        super().__init__()
        self.path = path
        self.start = start
        self.end = end
        self.note = note
