"""The source viewer: a read-only TextArea on a work-tree file, the cited lines selected.

Paths come from a model's answer, so they go through ``patch.safe_path``
(no ``..``, nothing outside the repository or inside ``.git``) before a byte
is read. The file is read from the work tree, not the index: the user wants
to see the code as it is now, and a citation past the end of a changed file
says so instead of pointing at the wrong lines.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Static, TextArea
from textual.widgets.text_area import Selection

from ..errors import UsageError
from ..languages import language_for
from ..patch import read_text, safe_path
from ..plurals import counted

#: grammar languages the TextArea can highlight with the tree-sitter wheels repo-assist installs
HIGHLIGHTED = frozenset({"python", "javascript", "go", "rust", "java", "bash"})


def editor_command(path: Path, line: int) -> list[str]:
    """``$VISUAL``/``$EDITOR`` (then vi) opening ``path`` at ``line``: the ``+LINE`` form vi, emacs, nano and kakoune share."""
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    return [*editor, f"+{max(line, 1)}", str(path)]


def run_editor(path: Path, line: int) -> int:
    """Run the editor in the foreground and wait for it; UsageError when it cannot start."""
    cmd = editor_command(path, line)
    try:
        return subprocess.run(cmd, check=False).returncode
    except OSError as exc:
        raise UsageError(f"cannot start the editor {cmd[0]!r}: {exc.strerror}",
                         "set $EDITOR (or $VISUAL) to an editor on your PATH") from None


class SourceViewer(Vertical):
    """One file at a time; ``show`` selects and scrolls to a span."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path: str | None = None
        self.start = self.end = 0

    def compose(self) -> ComposeResult:
        yield Static("Open a citation (click it, or ctrl+o) or a context row to see the code here.", id="src-title")
        yield TextArea("", read_only=True, show_line_numbers=True, soft_wrap=False, id="src-text")

    def show(self, repo_root: Path, path: str, start: int, end: int, note: str = "") -> None:
        """Load ``path`` and select lines ``start``-``end``; UsageError when it is not a readable work-tree file."""
        rel = safe_path(repo_root, path)
        text = read_text(repo_root, rel)
        if text is None:
            raise UsageError(f"{rel} is not in the work tree", "the file was deleted or renamed since the answer")
        area = self.query_one("#src-text", TextArea)
        area.load_text(text)
        lang = language_for(rel)
        area.language = lang if lang in HIGHLIGHTED else None
        lines = area.document.line_count
        start, end = max(1, start), max(start, end)
        notes = [note] if note else []
        if start > lines:
            notes.append(f"the file has only {counted(lines, 'line')} now")
            start = end = lines
        end = min(end, lines)
        self.path, self.start, self.end = rel, start, end
        last = area.document.get_line(end - 1)
        # selection from the end back to the start: the cursor sits on the first cited line
        area.selection = Selection((end - 1, len(last)), (start - 1, 0))
        span = escape(f"{rel}:{start}" if start == end else f"{rel}:{start}-{end}")
        suffix = f"  [dim]({escape('; '.join(notes))})[/]" if notes else ""
        self.query_one("#src-title", Static).update(f"[b]{span}[/b]{suffix}")
        area.call_after_refresh(area.scroll_to, y=max(0, start - 3), animate=False)

    @property
    def selected_text(self) -> str:
        return self.query_one("#src-text", TextArea).selected_text
