"""The status bar: what is indexed, how fresh it is, the model in use, and re-index progress.

Always visible because every answer depends on it: an index 30 commits
behind HEAD answers about code that is gone, and the user should see that
before reading the answer, not after. So when the bar is too narrow for
everything, the freshness is the last part to go: the parts are ranked, and
the least important ones (the commit id, the counts) are dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.markup import escape
from textual.widgets import ProgressBar, Static

from ..plurals import counted

SEP = " · "


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of the index status: ``rank`` 0 is the last to be dropped when the bar is narrow."""

    rank: int
    text: str
    style: str = ""

    @property
    def markup(self) -> str:
        return f"[{self.style}]{escape(self.text)}[/]" if self.style else escape(self.text)


def status_parts(repo_name: str, status: dict | None, error: str = "", hint: str = "",
                 can_index: bool = True) -> list[Part]:
    """The index part of the bar as ranked parts, in reading order.

    ``status`` None means no usable index: ``error`` says why. F5 is offered
    only where indexing can help (``can_index``: no index yet, or one behind
    HEAD); where it cannot (the index folder blocked by a file, say), the bar
    says what is wrong and ``hint`` what to do.
    """
    name = Part(1, repo_name, "b")
    if status is None:
        if can_index:
            return [name, Part(0, error or "not indexed", "b $warning"), Part(2, "F5 indexes")]
        return [name, Part(0, error or "no usable index", "b $error"), *([Part(2, hint)] if hint else [])]
    commit = (status.get("indexed_commit") or "none")[:12]
    behind = status.get("commits_behind")
    if not status.get("stale"):
        fresh = [Part(0, "up to date", "$success")]
    else:
        what = f"{counted(behind, 'commit')} behind HEAD" if behind else "not at HEAD"
        fresh = [Part(0, what, "b $warning"), *([Part(2, "F5 re-indexes")] if can_index else [])]
    return [name, Part(3, counted(status.get("files", 0), "file")), Part(4, counted(status.get("chunks", 0), "chunk")),
            Part(5, f"commit {commit}"), *fresh]


def fit(parts: list[Part], width: int) -> str:
    """The parts as markup, the least important dropped until the line fits ``width`` cells (the most important
    one is always kept; if even it is too wide, the widget crops it)."""
    kept = list(parts)
    while len(kept) > 1 and cell_len(SEP.join(p.text for p in kept)) > width:
        kept.remove(max(kept, key=lambda p: p.rank))
    return SEP.join(p.markup for p in kept)


class IndexStatus(Static):
    """The index status, refitted to its width whenever that changes."""

    def __init__(self, text: str, **kwargs) -> None:
        super().__init__(text, **kwargs)
        self.parts: list[Part] = [Part(0, text)]

    def show(self, parts: list[Part]) -> None:
        self.parts = parts
        self._refit()

    def on_resize(self) -> None:
        self._refit()

    def _refit(self) -> None:
        width = self.content_region.width or self.size.width
        self.update(fit(self.parts, width) if width else SEP.join(p.markup for p in self.parts))


class StatusBar(Horizontal):
    """One line at the top: index status, a progress bar while indexing, the model."""

    def compose(self) -> ComposeResult:
        yield IndexStatus("reading the index…", id="status-index")
        yield ProgressBar(total=100, show_eta=False, id="index-progress")
        yield Static("", id="status-model")

    def on_mount(self) -> None:
        self.query_one("#index-progress").display = False
        self.status: dict | None = None

    def show_status(self, repo_name: str, status: dict | None, error: str = "", hint: str = "",
                    can_index: bool = True) -> None:
        self.status = status
        self.query_one(IndexStatus).show(status_parts(repo_name, status, error, hint, can_index))

    def show_model(self, spec: str, busy: str = "") -> None:
        text = f"model [b]{escape(spec)}[/b]"
        if busy:
            text = f"[$accent]{escape(busy)}[/] · " + text
        self.query_one("#status-model", Static).update(text)

    def show_progress(self, phase: str, done: int, total: int) -> None:
        bar = self.query_one("#index-progress", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=min(done, max(total, 1)))
        label = "indexing" if phase == "index" else phase
        self.query_one(IndexStatus).show([Part(0, f"{label}… {done * 100 // max(total, 1)}%", "b")])

    def hide_progress(self) -> None:
        self.query_one("#index-progress").display = False
