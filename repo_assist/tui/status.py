"""The status bar: what is indexed, how fresh it is, the model in use, and re-index progress.

Always visible because every answer depends on it: an index 30 commits
behind HEAD answers about code that is gone, and the user should see that
before reading the answer, not after.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.markup import escape
from textual.widgets import ProgressBar, Static

from .wording import count


def status_line(repo_name: str, status: dict | None, error: str = "") -> str:
    """The index part of the bar, as Textual markup."""
    name = f"[b]{escape(repo_name)}[/b]"
    if status is None:
        why = escape(error) if error else "not indexed"
        return f"{name} · [b $warning]{why}[/] · F5 indexes"
    commit = (status.get("indexed_commit") or "none")[:12]
    behind = status.get("commits_behind")
    if not status.get("stale"):
        fresh = "[$success]up to date[/]"
    elif behind:
        fresh = f"[b $warning]{count(behind, 'commit')} behind HEAD[/] · F5 re-indexes"
    else:
        fresh = "[b $warning]not at HEAD[/] · F5 re-indexes"
    files, chunks = count(status.get("files", 0), "file"), count(status.get("chunks", 0), "chunk")
    return f"{name} · {files} · {chunks} · commit {commit} · {fresh}"


class StatusBar(Horizontal):
    """One line at the top: index status, a progress bar while indexing, the model."""

    def compose(self) -> ComposeResult:
        yield Static("reading the index…", id="status-index")
        yield ProgressBar(total=100, show_eta=False, id="index-progress")
        yield Static("", id="status-model")

    def on_mount(self) -> None:
        self.query_one("#index-progress").display = False
        self.status: dict | None = None

    def show_status(self, repo_name: str, status: dict | None, error: str = "") -> None:
        self.status = status
        self.query_one("#status-index", Static).update(status_line(repo_name, status, error))

    def show_model(self, spec: str, busy: str = "") -> None:
        text = f"model [b]{escape(spec)}[/b]"
        if busy:
            text = f"[$accent]{escape(busy)}[/] · " + text
        self.query_one("#status-model", Static).update(text)

    def show_progress(self, phase: str, done: int, total: int) -> None:
        bar = self.query_one("#index-progress", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=min(done, max(total, 1)))
        label = "indexing" if phase == "index" else escape(phase)
        self.query_one("#status-index", Static).update(f"[b]{label}…[/b] {done * 100 // max(total, 1)}%")

    def hide_progress(self) -> None:
        self.query_one("#index-progress").display = False
