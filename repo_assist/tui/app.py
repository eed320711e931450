"""The Textual app: a thin shell over ``assistant`` and ``asking``.

Layout: the index status on top, the conversation on the left, the context
panel and the source viewer as tabs on the right, the key bindings at the
bottom. Everything slow (status, index, ask, refactor, undo, model listing)
runs in a worker thread and reports back with a message; the UI thread only
updates widgets, so typing never waits on a model. A worker catches every
exception and turns it into an error modal: the app outlives any backend.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from ..errors import RepoAssistError, StoppedError, UsageError
from ..plurals import counted
from ..workspace import Workspace
from . import commands
from .chat import QuestionInput, Transcript, Turn, answer_summary
from .context_panel import ContextPanel
from .indexing import STATUS_EVERY_S, IndexingMixin
from .keymap import APP_BINDINGS
from .messages import AnswerDone, AnswerToken, DiffReady, Failed, OpenSource, PlanReady, as_repo_error
from .modals import ErrorScreen, HelpScreen, ModelPicker
from .status import StatusBar
from .viewer import SourceViewer, run_editor


class _Stopped(Exception):
    """Raised from the token callback to stop a generation the user cancelled."""


class RepoAssistApp(IndexingMixin, App[int]):
    """Ask about one repository, see the context each answer got, review and apply patches."""

    CSS_PATH = "app.tcss"
    TITLE = "repo-assist"
    BINDINGS = list(APP_BINDINGS)

    def __init__(self, ws: Workspace, *, model: str | None = None, api_base: str | None = None,
                 keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.ws = ws
        self.model_spec = model or ws.settings.model
        self.api_base = api_base if api_base is not None else ws.settings.api_base
        self.keys = dict(keymap or {})
        self.conv = None
        self.history: list[dict] = []  # shared with the Conversation: follow-ups survive a model switch
        self.busy = ""
        self._stop = threading.Event()
        self._working_turn: int | None = None  # the turn a stoppable model call is filling
        self._cite_pos = -1
        self.repo_name = ws.repo.root.name

    @property
    def undo_dir(self) -> Path:
        """Where applied patches are recorded: the same stack `repo-assist undo` pops."""
        from ..changes import undo_dir

        return undo_dir(self.ws)

    # -- layout

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                with Transcript(id="transcript"):
                    yield Static(f"Ask anything about [b]{escape(self.repo_name)}[/b]. Answers cite "
                                 f"[i]path:lines[/i]; open a citation to see the code. F1 lists the keys and "
                                 f"the /commands.", classes="placeholder")
                yield QuestionInput(placeholder="Ask about the repository…  (/refactor, /review FILE, /undo)",
                                    id="question")
            with TabbedContent(id="side", initial="tab-context"):
                with TabPane("Context", id="tab-context"):
                    yield ContextPanel(id="context")
                with TabPane("Source", id="tab-source"):
                    yield SourceViewer(id="viewer")
        yield Footer()

    def on_mount(self) -> None:
        if self.keys:
            self.set_keymap(self.keys)
        question = self.query_one(QuestionInput)
        question.cursor_blink = not self.is_headless  # snapshots must not catch the cursor mid-blink
        question.focus()
        self._show_model()
        self.refresh_status()
        self.set_interval(STATUS_EVERY_S, self.refresh_status)

    def on_unmount(self) -> None:
        self._stop.set()  # a generation still running stops at its next token
        if self.conv is not None and not self.busy:  # never free a model a worker is still using
            try:
                self.conv.close()
            except Exception:  # noqa: BLE001 - closing must not mask why the app ended
                pass

    def _show_model(self) -> None:
        self.query_one(StatusBar).show_model(self.model_spec, self.busy)

    def _set_busy(self, what: str) -> None:
        self.busy = what
        self._show_model()
        self.refresh_bindings()

    @property
    def stop_pressed(self) -> threading.Event:
        """Set once the stop key is pressed during the current model call (workers and the checks they run poll it)."""
        return self._stop

    def start_work(self, what: str, turn_id: int | None = None) -> None:
        """Mark the app busy with a model call for turn ``turn_id`` that the stop key (ctrl+g) can stop."""
        self._stop.clear()
        self._working_turn = turn_id
        self._set_busy(what)

    def token_sink(self, turn_id: int):
        """An ``on_token`` callback for a worker: streams into the turn, raises once the user stops it."""

        def on_token(piece: str) -> None:
            if self._stop.is_set():
                raise _Stopped()
            self.post_message(AnswerToken(turn_id, piece))

        return on_token

    def plan_sink(self, turn_id: int):
        """An ``on_plan`` callback for a worker: shows the packed context, and stops before the model is asked
        when the user has stopped the turn already."""

        def on_plan(planned, model: str) -> None:
            self.post_message(PlanReady(turn_id, planned, model))
            if self._stop.is_set():
                raise _Stopped()

        return on_plan

    def failure(self, task: str, exc: BaseException, turn_id: int | None = None) -> Failed:
        """The message a worker posts when ``exc`` ended its task (a user's stop is not an error)."""
        if isinstance(exc, (_Stopped, StoppedError)):
            return Failed("stopped", RepoAssistError("stopped by you", title="stopped"), turn_id)
        return Failed(task, as_repo_error(exc), turn_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy in ("answering", "refactoring")
        if action == "open_editor":
            return self.query_one(SourceViewer).path is not None
        return True

    # -- asking

    @on(Input.Submitted, "#question")
    async def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        question = self.query_one(QuestionInput)
        question.remember(text)
        question.value = ""
        if text.startswith("/"):
            await commands.run(self, text)
            return
        await self.ask(text)

    async def ask(self, question: str) -> Turn | None:
        """Start answering ``question`` in a worker; the turn fills in as messages arrive."""
        if self.busy:
            self.notify(f"busy {self.busy}; ask again when it is done", severity="warning")
            self.query_one(QuestionInput).value = question
            return None
        turn = await self.query_one(Transcript).add_turn(question)
        self.start_work("answering", turn.turn_id)
        self._ask(question, turn.turn_id)
        return turn

    def conversation(self):
        """The open Conversation, opened on first use (in a worker: it may load a model)."""
        if self.conv is None:
            from ..asking import Conversation

            conv = Conversation.open(self.ws, self.model_spec, self.api_base or None)
            conv.history = self.history
            self.conv = conv
        return self.conv

    @work(thread=True, exit_on_error=False, group="ask")
    def _ask(self, question: str, turn_id: int) -> None:
        try:
            conv = self.conversation()
            planned = conv.plan(question)
            self.plan_sink(turn_id)(planned, conv.model)
            self.post_message(AnswerDone(turn_id, conv.ask(question, on_token=self.token_sink(turn_id), planned=planned)))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a modal with its hint
            self.post_message(self.failure("ask", exc, turn_id))

    @on(PlanReady)
    def _plan_ready(self, msg: PlanReady) -> None:
        turn = self.query_one(Transcript).turn(msg.turn_id)
        pack = msg.planned.pack
        if turn is not None:
            turn.progress(f"{counted(len(pack.chunks), 'span')} of context ({counted(pack.tokens, 'token')}) · "
                          f"waiting for {escape(msg.model)}…")
        self.query_one(ContextPanel).show_plan(msg.planned, msg.model)

    @on(AnswerToken)
    async def _answer_token(self, msg: AnswerToken) -> None:
        turn = self.query_one(Transcript).turn(msg.turn_id)
        if turn is not None:
            await turn.append(msg.piece)

    @on(AnswerDone)
    async def _answer_done(self, msg: AnswerDone) -> None:
        turn = self.query_one(Transcript).turn(msg.turn_id)
        if turn is not None:
            await self.finish_turn(turn, msg.answer)
        self._set_busy("")

    async def finish_turn(self, turn: Turn, answer) -> None:
        """Render a complete Answer in ``turn`` and show its context (also used to replay an answer)."""
        await turn.finish(answer.text, answer.citations, answer_summary(answer))
        self.query_one(ContextPanel).show_plan(answer.plan, answer.model, answer.timing)
        self._cite_pos = -1
        self.refresh_bindings()

    async def show_answer(self, answer) -> Turn:
        """Add a finished turn for ``answer`` without asking a model (history replay, tests, snapshots)."""
        turn = await self.query_one(Transcript).add_turn(answer.question)
        await self.finish_turn(turn, answer)
        return turn

    def action_cancel(self) -> None:
        """Stop the model call, said at once: the embedded model stops within a batch of the prompt it is reading,
        a server's answer at its next piece (and before the model is asked, the turn ends there)."""
        if self.busy in ("answering", "refactoring"):
            self._stop.set()
            if self.conv is not None:
                self.conv.backend.interrupt()
            self._set_busy("stopping")
            turn = self.query_one(Transcript).turn(self._working_turn) if self._working_turn is not None else None
            if turn is not None:
                turn.stop_requested()

    # -- failures

    @on(Failed)
    async def _failed(self, msg: Failed) -> None:
        if msg.turn_id is not None:
            turn = self.query_one(Transcript).turn(msg.turn_id)
            if turn is not None:
                stopped = msg.task == "stopped"
                hint = "" if stopped or not msg.error.hint else f" · {msg.error.hint}"
                await turn.fail(msg.error.message + hint, stopped=stopped)
        if msg.task == "index":
            self.query_one(StatusBar).hide_progress()
            self.refresh_status()
        self._set_busy("")
        if msg.task != "stopped":
            self.show_error(msg.error)

    def show_error(self, error: RepoAssistError) -> None:
        self.push_screen(ErrorScreen(error))

    # -- citations, source, editor

    @on(OpenSource)
    def _open_source(self, msg: OpenSource) -> None:
        try:
            self.query_one(SourceViewer).show(self.ws.repo.root, msg.path, msg.start, msg.end, msg.note)
        except Exception as exc:  # noqa: BLE001 - a path from a model answer: unsafe, gone, unreadable
            self.show_error(as_repo_error(exc))
            return
        self.query_one(TabbedContent).active = "tab-source"
        self.refresh_bindings()

    def action_next_citation(self) -> None:
        turn = self.query_one(Transcript).last_with_citations()
        if turn is None:
            self.notify("no citations yet", severity="warning")
            return
        self._cite_pos = (self._cite_pos + 1) % len(turn.citations)
        c = turn.citations[self._cite_pos]
        note = f"citation {self._cite_pos + 1} of {len(turn.citations)}" + ("" if c.valid else ", not in the context")
        self.post_message(OpenSource(c.path, c.start_line, c.end_line, note))

    def action_open_editor(self) -> None:
        viewer = self.query_one(SourceViewer)
        if viewer.path is None:
            self.notify("open a citation first", severity="warning")
            return
        path, start, end = viewer.path, viewer.start, viewer.end
        full = self.ws.repo.root / path
        try:
            try:
                with self.suspend():
                    run_editor(full, start)
            except SuspendNotSupported:  # headless or web: run it without giving it the terminal
                run_editor(full, start)
        except RepoAssistError as exc:
            self.show_error(exc)
            return
        self.post_message(OpenSource(path, start, end, "reloaded after the editor"))

    def action_show_context(self) -> None:
        self.query_one(TabbedContent).active = "tab-context"

    def action_show_source(self) -> None:
        self.query_one(TabbedContent).active = "tab-source"

    def action_focus_question(self) -> None:
        self.query_one(QuestionInput).focus()

    # -- dialogs

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys))

    def action_pick_model(self) -> None:
        if self.busy:
            self.notify(f"busy {self.busy}; pick a model when it is done", severity="warning")
            return
        self.push_screen(ModelPicker(self.model_spec, self.ws.settings.model, self.api_base), self._model_picked)

    def _model_picked(self, spec: str | None) -> None:
        if not spec or spec == self.model_spec:
            return
        from ..backends.base import ModelSpec

        try:
            ModelSpec.parse(spec)
        except UsageError as exc:
            self.show_error(exc)
            return
        self.set_model(spec)

    def set_model(self, spec: str) -> None:
        """Use ``spec`` from the next question on; the follow-up history carries over."""
        old, self.conv = self.conv, None
        self.model_spec = spec
        if old is not None:
            self.run_worker(old.close, thread=True, exit_on_error=False, group="close")
        self._show_model()
        self.notify(f"model {spec}: loaded at the next question")

    # -- patches

    @on(DiffReady)
    async def _diff_ready(self, msg: DiffReady) -> None:
        self._set_busy("")
        turn = self.query_one(Transcript).turn(msg.turn_id)
        if turn is not None:
            n = len(msg.warnings) + len(msg.stale)
            summary = "[dim]a patch to review" + (f", with {counted(n, 'warning')}" if n else "") + "[/]"
            await turn.finish(msg.text or "*(edit blocks)*", (), summary)
        if msg.planned is not None:
            self.query_one(ContextPanel).show_plan(msg.planned, msg.model)
        self.review(msg.diff, msg.warnings)

    def _references(self, diff: str, outliner) -> list[str]:
        """The uses of renamed or re-signatured names that ``diff`` leaves behind (run in the review's worker)."""
        from ..changes import diff_references

        return diff_references(self.ws, diff, outliner)

    def _checker(self, stop: threading.Event):
        """The check command (the `test_command` setting) as the review runs it, ended once ``stop`` is set (the
        review closed), or None when none is set."""
        from ..changes import check_command, run_check

        command = check_command(self.ws)
        return (lambda diff: run_check(self.ws, diff, command, stop)) if command else None

    def review(self, diff: str, warnings: tuple[str, ...] = (), title: str = "Review patch") -> None:
        from .review import DiffReviewScreen

        closed = threading.Event()  # (a check the review started ends with it, not minutes later)
        try:
            screen = DiffReviewScreen(diff, self.ws.repo.root, self.undo_dir, warnings, title, self._references,
                                      self._checker(closed))
        except RepoAssistError as exc:
            self.show_error(exc)
            return
        self.push_screen(screen, lambda _: (closed.set(), self.refresh_status()))
