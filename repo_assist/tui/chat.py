"""The conversation: a question input with history, and turns whose answers stream in as Markdown.

An answer streams as plain model output (a citation may be half-written
mid-stream); once it is complete and its citations are checked, the turn is
re-rendered with every citation turned into a link (``cite:N``) that opens
the cited lines in the source viewer. Unverified citations stay links (the
file may still hold those lines) but are flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Input, Markdown, Static

from ..citations import CITE, Citation
from ..markers import closes_fence
from ..plurals import counted
from .keymap import INPUT_BINDINGS
from .messages import OpenSource

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")  # a span closes with a run of as many backticks
CITE_SCHEME = "cite:"


def link_citations(text: str, citations: Sequence[Citation]) -> str:
    """``text`` with each citation outside code blocks made a ``cite:N`` link (N indexes ``citations``)."""
    lookup = {(c.path, c.start_line, c.end_line): i for i, c in enumerate(citations)}
    if not lookup:
        return text
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker
            elif closes_fence(marker, fence):
                fence = None
            out.append(line)
            continue
        out.append(line if fence is not None else _link_line(line, lookup, citations))
    return "".join(out)


def _link_line(line: str, lookup: dict, citations: Sequence[Citation]) -> str:
    parts: list[str] = []
    pos = 0
    for m in _INLINE_CODE.finditer(line):
        parts.append(_link_plain(line[pos:m.start()], lookup, citations))
        whole = CITE.fullmatch(m.group(2).strip())  # `path:3-5` in backticks: the link replaces the code span
        parts.append(_link(whole, lookup, citations) if whole else m.group(0))
        pos = m.end()
    parts.append(_link_plain(line[pos:], lookup, citations))
    return "".join(parts)


def _link_plain(text: str, lookup: dict, citations: Sequence[Citation]) -> str:
    return CITE.sub(lambda m: _link(m, lookup, citations), text)


def _link(m: re.Match[str], lookup: dict, citations: Sequence[Citation]) -> str:
    start = int(m.group("start"))
    key = (m.group("path").lstrip("./"), start, int(m.group("end") or start))
    i = lookup.get(key)
    if i is None:
        return m.group(0)
    flag = "" if citations[i].valid else " *(not in the context)*"
    return f"[{m.group(0)}]({CITE_SCHEME}{i}){flag}"


def answer_summary(answer) -> str:
    """The line under an answer: context, checked citations, speed, model."""
    pack, cites, t = answer.plan.pack, answer.citations, answer.timing or {}
    parts = [f"{counted(len(pack.chunks), 'span')} of context ({counted(pack.tokens, 'token')})"]
    if cites:
        ok = sum(c.valid for c in cites)
        parts.append(f"citations {ok}/{len(cites)} checked against the context")
    if t.get("completion_tokens"):
        parts.append(counted(t["completion_tokens"], "token"))
    if t.get("tokens_per_s"):
        parts.append(f"{t['tokens_per_s']:.1f} tok/s")
    if t.get("total_s") is not None:
        parts.append(f"{t['total_s']:.1f}s")
    if t.get("stopped") == "repeating":
        parts.append("cut: the model began repeating itself")
    elif t.get("stopped") == "length":
        parts.append("cut: the answer reached its token limit")
    parts.append(answer.model)
    return "[dim]" + escape(" · ".join(parts)) + "[/]"


class QuestionInput(Input):
    """The question box; up/down walk the questions asked in this session."""

    BINDINGS = list(INPUT_BINDINGS)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = []
        self._pos = 0
        self._draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._pos = len(self.history)
        self._draft = ""

    def action_history_previous(self) -> None:
        if not self.history or self._pos == 0:
            return
        if self._pos == len(self.history):
            self._draft = self.value
        self._pos -= 1
        self._show(self.history[self._pos])

    def action_history_next(self) -> None:
        if self._pos >= len(self.history):
            return
        self._pos += 1
        self._show(self.history[self._pos] if self._pos < len(self.history) else self._draft)

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def _on_paste(self, event: events.Paste) -> None:
        """A pasted stack trace is kept whole, its lines joined on one line (Input keeps only the first line of a
        paste, and the frames below it are what the trace signal reads)."""
        text = " ".join(line.strip() for line in event.text.splitlines() if line.strip())
        if text:
            if self.selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *self.selection)
        event.prevent_default()  # (Input's own handler would add the first line again)
        event.stop()


class Turn(Vertical):
    """One question and its answer (streamed, then linked), with a one-line summary below."""

    def __init__(self, turn_id: int, question: str) -> None:
        super().__init__(id=f"turn-{turn_id}", classes="turn")
        self.turn_id = turn_id
        self.question = question
        self.citations: tuple[Citation, ...] = ()
        self.streamed_pieces = 0
        self.done = False
        self.stopping = False
        self._stream = None

    def compose(self) -> ComposeResult:
        # The status line (progress, then a failure or a stop) sits under the answer, where the streamed text
        # ends and the user's eyes are, never above a long answer and out of view.
        yield Static(f"[b]›[/b] {_escape(self.question)}", classes="question")
        yield Markdown("", open_links=False, classes="answer")
        yield Static("retrieving context…", classes="turn-status")
        yield Static("", classes="turn-footer")

    @property
    def markdown(self) -> Markdown:
        return self.query_one(".answer", Markdown)

    def set_status(self, text: str) -> None:
        self.query_one(".turn-status", Static).update(text)

    def progress(self, text: str) -> None:
        """Show how the work goes, unless the user has asked to stop it (that stays on show until it stops)."""
        if not self.stopping and not self.done:
            self.set_status(text)

    def stop_requested(self) -> None:
        """Say at once that the stop key was heard."""
        if not self.done:
            self.stopping = True
            self.set_status("[b $warning]stopping…[/]")

    async def append(self, piece: str) -> None:
        if self._stream is None:
            self.progress("answering…")
            self._stream = Markdown.get_stream(self.markdown)
        self.streamed_pieces += 1
        await self._stream.write(piece)

    async def finish(self, text: str, citations: Sequence[Citation], summary: str) -> None:
        """Show the whole answer with linked citations (the real path for streamed and replayed answers)."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.citations = tuple(citations)
        await self.markdown.update(link_citations(text, self.citations) or "*(the model returned no text)*")
        self.query_one(".turn-status", Static).display = False
        self.query_one(".turn-footer", Static).update(summary)
        self.done = True

    async def fail(self, message: str, *, stopped: bool = False) -> None:
        """End the turn on a failure (or a stop the user asked for), the line that says so in view."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.set_status(f"[b $warning]{_escape(message)}[/]" if stopped else f"[b red]failed:[/] {_escape(message)}")
        self.done = True
        status = self.query_one(".turn-status", Static)
        self.call_after_refresh(status.scroll_visible, animate=False)

    @on(Markdown.LinkClicked)
    def _link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        href = event.href
        if not href.startswith(CITE_SCHEME):
            self.notify(f"not a citation link: {href}", severity="warning")
            return
        try:
            c = self.citations[int(href[len(CITE_SCHEME):])]
        except (ValueError, IndexError):
            return
        self.post_message(OpenSource(c.path, c.start_line, c.end_line, "" if c.valid else "not in the context"))


class Transcript(VerticalScroll):
    """The turns so far, kept scrolled to the newest unless the user scrolls up."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._next_id = 0

    def on_mount(self) -> None:
        self.anchor()

    async def add_turn(self, question: str) -> Turn:
        self._next_id += 1
        turn = Turn(self._next_id, question)
        self.query(".placeholder").remove()
        await self.mount(turn)
        self.anchor()
        return turn

    def turn(self, turn_id: int) -> Turn | None:
        found = self.query(f"#turn-{turn_id}")
        return found.first(Turn) if found else None

    def last_with_citations(self) -> Turn | None:
        for turn in reversed(list(self.query(Turn))):
            if turn.citations:
                return turn
        return None


def _escape(text: str) -> str:
    return escape(text)
