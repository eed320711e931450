"""The app's index side: the status bar's figures and re-indexing with live progress.

A mixin of RepoAssistApp (kept apart so app.py stays about the conversation).
Both run in worker threads and report back by message; the handlers are
named ``on_<message>`` so Textual finds them through the mixin.
"""

from __future__ import annotations

import time

from textual import work

from .. import assistant
from ..errors import IndexMissingError
from ..paths import file_in_the_way
from ..plurals import counted
from .messages import Failed, IndexDone, IndexProgress, StatusLoaded, as_repo_error
from .status import StatusBar

STATUS_EVERY_S = 30.0  # commits made outside the app show up in the status bar this fast
PROGRESS_EVERY_S = 0.1  # at most ten progress messages a second, whatever the indexer reports


class IndexingMixin:
    """Status and re-index for an App with ``ws``, ``busy``, ``repo_name`` and ``_set_busy``."""

    @work(thread=True, exit_on_error=False, group="status")
    def refresh_status(self) -> None:
        try:
            self.post_message(StatusLoaded(assistant.status(self.ws)))
        except Exception as exc:  # noqa: BLE001 - no index is a state to show, not a crash
            self.post_message(StatusLoaded(None, as_repo_error(exc)))

    def on_status_loaded(self, msg: StatusLoaded) -> None:
        if self.busy == "indexing":
            return
        error, hint, can_index = "", "", True
        if msg.error is not None:  # F5 is offered only for a missing index: it cannot mend a blocked or bad home
            can_index = isinstance(msg.error, IndexMissingError)
            error = "not indexed" if can_index else f"{msg.error.title}: {msg.error.message}"
            hint = msg.error.hint
            blocker = None if can_index else file_in_the_way(self.ws.dir)
            if blocker is not None:  # the error's message starts with the long index path: name the file first
                error = f"no index: {blocker} is a file"
        self.query_one(StatusBar).show_status(self.repo_name, msg.status, error, hint, can_index)

    def action_reindex(self) -> None:
        if self.busy:
            self.notify(f"busy {self.busy}; re-index when it is done", severity="warning")
            return
        self._set_busy("indexing")
        self.query_one(StatusBar).show_progress("index", 0, 1)
        self._index()

    @work(thread=True, exit_on_error=False, group="index")
    def _index(self) -> None:
        last = [0.0]

        def progress(phase: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or done >= total:
                last[0] = now
                self.post_message(IndexProgress(phase, done, total))

        try:
            self.post_message(IndexDone(assistant.index(self.ws, progress=progress)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("index", as_repo_error(exc)))

    def on_index_progress(self, msg: IndexProgress) -> None:
        self.query_one(StatusBar).show_progress(msg.phase, msg.done, msg.total)

    def on_index_done(self, msg: IndexDone) -> None:
        s = msg.stats
        self.query_one(StatusBar).hide_progress()
        self._set_busy("")
        self.notify(f"indexed {counted(s.files, 'file')}, {counted(s.chunks, 'chunk')}: {s.computed:,} embedded, "
                    f"{s.deleted:,} deleted, {counted(s.unchanged, 'file')} unchanged ({s.seconds:.1f}s)", title="index")
        self.refresh_status()
