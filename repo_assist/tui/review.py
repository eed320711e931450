"""The diff review screen: accept or reject each file and hunk, check, apply the accepted part, undo.

Built on any unified diff and a repository root, so it serves a refactor's
patch, a diff file the user brings (``/review FILE``), and tests alike.
Every selection change re-runs ``patch.check`` (``git apply --check`` plus
the syntax check) in a worker, so the verdict on screen always matches the
hunks that would be applied; applying goes through ``patch.apply``, which
refuses files with uncommitted changes unless forced and records an undo
entry that restores the files byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from .. import patch
from ..errors import PatchError
from ..outline import Outliner
from ..plurals import counted
from ..records import Patch
from ..trial import Trial
from .diffmodel import FileChange, Hunk, all_units, parse_diff, select
from .keymap import REVIEW_BINDINGS, key_display
from .messages import Failed, as_repo_error

OK, NO = "✓", "✗"
# (the accepted hunks' diff, a parser) → the uses of renamed or re-signatured names they leave behind
References = Callable[[str, Outliner], Sequence[str]]
# the accepted hunks' diff → the check command's run on a patched copy of the work tree
Checker = Callable[[str], Trial]


class CheckDone(Message):
    def __init__(self, version: int, result: Patch | None, error: str = "", stale: Sequence[str] = ()) -> None:
        super().__init__()
        self.version = version
        self.result = result
        self.error = error
        self.stale = tuple(stale)


class Checked(Message):
    def __init__(self, version: int, trial: Trial | None, error: str = "") -> None:
        super().__init__()
        self.version = version
        self.trial = trial
        self.error = error


class Applied(Message):
    def __init__(self, entry: patch.UndoEntry) -> None:
        super().__init__()
        self.entry = entry


class Undone(Message):
    def __init__(self, entry: patch.UndoEntry) -> None:
        super().__init__()
        self.entry = entry


def diff_text(fc: FileChange, hunks: Sequence[tuple[int, Hunk]], accepted: set[tuple[int, int]], fi: int) -> Text:
    """The file header and ``hunks``, coloured like ``git diff``; rejected hunks are dimmed."""
    out = Text()
    for line in fc.head:
        out.append(line.rstrip("\n") + "\n", style="bold")
    for hi, h in hunks:
        on_ = (fi, hi) in accepted
        mark = f"{OK} accepted" if on_ else f"{NO} rejected"
        out.append(f"{h.header}   {mark}\n", style="cyan" if on_ else "dim cyan")
        for line in h.body:
            tag, body = line[:1], line[1:].rstrip("\n")
            style = {"+": "green", "-": "red", "\\": "dim"}.get(tag, "")
            out.append(tag + body + "\n", style=(style + " dim").strip() if not on_ else style)
    return out


class DiffReviewScreen(Screen):
    """Review ``diff`` against the work tree at ``repo_root``; dismisses with the applied UndoEntry or None."""

    BINDINGS = list(REVIEW_BINDINGS)

    def __init__(self, diff: str, repo_root: Path, undo_dir: Path, warnings: Sequence[str] = (),
                 title: str = "Review patch", references: References | None = None,
                 checker: Checker | None = None) -> None:
        super().__init__()
        self.references = references
        self.checker = checker
        self.trial: Trial | str | None = None  # the check on the selection: its run, "running" or an error
        self.diff = diff
        self.repo_root = Path(repo_root)
        self.undo_dir = Path(undo_dir)
        self.incoming = tuple(warnings)
        self.heading = title
        self.files = parse_diff(diff)
        if not self.files:
            raise PatchError("the diff changes no file", "there is nothing to review")
        self.accepted = all_units(self.files)
        self.force = False
        self.applied: patch.UndoEntry | None = None
        self.check_result: Patch | None = None
        self.check_error = ""
        self.stale: tuple[str, ...] = ()  # uses the accepted hunks leave behind, from ``references``
        self._version = 0
        self.busy = ""

    # -- layout

    def compose(self) -> ComposeResult:
        yield Static("", id="review-title")
        with Horizontal(id="review-main"):
            yield Tree("patch", id="review-tree")
            with VerticalScroll(id="review-diff"):
                yield Static("", id="review-diff-text")
        yield Static("", id="review-verdict")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.auto_expand = False
        for fi, fc in enumerate(self.files):
            node = tree.root.add("", data=("file", fi, 0), expand=True)
            for hi in range(len(fc.hunks)):
                node.add_leaf("", data=("hunk", fi, hi))
        self._relabel()
        tree.focus()
        tree.move_cursor_to_line(1 if self.files[0].hunks else 0)
        self._show_node()
        self._recheck()

    # -- state shown

    def selected_diff(self) -> str:
        return select(self.files, self.accepted)

    def _relabel(self) -> None:
        tree = self.query_one(Tree)
        for node in tree.root.children:
            _, fi, _ = node.data
            fc = self.files[fi]
            n = sum((fi, hi) in self.accepted for hi in range(fc.units))
            mark = OK if n == fc.units else (NO if n == 0 else "◐")
            label = Text(f"{mark} ", style="green" if n else "red")
            label.append(fc.path, style="bold")
            kind = "" if fc.kind == "modified" else f" {fc.kind}"
            label.append(f"{kind}  {n}/{len(fc.hunks)}" if fc.hunks else kind, style="dim")
            node.set_label(label)
            for leaf in node.children:
                _, _, hi = leaf.data
                h = fc.hunks[hi]
                ok = (fi, hi) in self.accepted
                text = Text(f"{OK if ok else NO} ", style="green" if ok else "red")
                text.append(f"lines {h.old_start}-{h.old_start + max(h.old_len, 1) - 1}")
                text.append(f"  +{h.added} -{h.removed}", style="dim")
                leaf.set_label(text)
        total = sum(fc.units for fc in self.files)
        state = f"  [b $success]applied[/] ({self._key('review-undo')} undoes it)" if self.applied else ""
        force = "  [b $warning]force on[/]" if self.force else ""
        self.query_one("#review-title", Static).update(
            f"[b]{escape(self.heading)}[/b] · {counted(len(self.files), 'file')} · "
            f"{len(self.accepted)} of {counted(total, 'hunk')} accepted{force}{state}")

    def _key(self, binding_id: str) -> str:
        """The key bound to ``binding_id`` now (the user may have rebound it)."""
        binding = next(b for b in REVIEW_BINDINGS if b.id == binding_id)
        return escape(key_display(binding, getattr(self.app, "keys", {})))

    def _show_node(self) -> None:
        node = self.query_one(Tree).cursor_node
        if node is None or node.data is None:
            return
        kind, fi, hi = node.data
        fc = self.files[fi]
        hunks = list(enumerate(fc.hunks)) if kind == "file" else [(hi, fc.hunks[hi])]
        self.query_one("#review-diff-text", Static).update(diff_text(fc, hunks, self.accepted, fi))

    def _show_verdict(self) -> None:
        lines = [f"[b $warning]⚠[/] {escape(w)}" for w in self.incoming]
        if self.applied:
            lines.append(f"[b $success]{OK} applied[/] to {escape(', '.join(self.applied.files))} "
                         f"(undo entry {self.applied.id}); {self._key('review-undo')} undoes it")
        elif not self.accepted:
            lines.append("nothing accepted: nothing to apply")
        elif self.check_error:
            lines.append(f"[b $error]{NO}[/] {escape(self.check_error)}")
        elif self.check_result is None:
            lines.append("checking with git apply --check…")
        else:
            r = self.check_result
            if r.applies:
                n = len(self.accepted)
                what = "the accepted hunk applies" if n == 1 else f"the {n} accepted hunks apply"
                lines.append(f"[b $success]{OK}[/] git apply --check: {what} · {self._key('review-apply')} applies")
            elif r.warnings:  # patch.check adds warnings only when git itself accepted the diff
                lines.append(f"[b $success]{OK}[/] git apply --check passes, but:")
            else:
                lines.append(f"[b $error]{NO} does not apply:[/] {escape(r.check_output or 'git apply failed')}")
            lines += [f"[b $warning]⚠[/] {escape(w)} ({self._key('review-force')} forces the apply)" for w in r.warnings]
            lines += [f"[b $warning]⚠[/] {escape(w)}" for w in self.stale]
        lines += self._check_lines()
        self.query_one("#review-verdict", Static).update("\n".join(lines))

    # -- checking

    def _recheck(self) -> None:
        self._version += 1
        self.check_result, self.check_error, self.stale, self.trial = None, "", (), None
        self._show_verdict()
        if not self.accepted or self.applied:
            return
        version, diff, root, references = self._version, self.selected_diff(), self.repo_root, self.references

        def work() -> None:
            try:
                # a fresh Outliner per check: its parsers are not shared between worker threads
                outliner = Outliner()
                result = patch.check(root, diff, parse_errors=outliner.parse_errors)
                git_passes = result.applies or bool(result.warnings)  # (warnings: syntax errors git let through)
                stale = references(diff, outliner) if references and git_passes else ()
                self.post_message(CheckDone(version, result, stale=stale))
            except Exception as exc:  # noqa: BLE001 - shown on screen, never fatal
                self.post_message(CheckDone(version, None, as_repo_error(exc).message))

        self.run_worker(work, thread=True, group="review-check", exit_on_error=False)

    @on(CheckDone)
    def _check_done(self, msg: CheckDone) -> None:
        if msg.version != self._version:
            return  # an older selection's verdict
        self.check_result, self.check_error, self.stale = msg.result, msg.error, msg.stale
        self._show_verdict()

    # -- decisions

    def _units_at_cursor(self) -> list[tuple[int, int]]:
        node = self.query_one(Tree).cursor_node
        if node is None or node.data is None:
            return []
        kind, fi, hi = node.data
        return [(fi, h) for h in range(self.files[fi].units)] if kind == "file" else [(fi, hi)]

    def _decide(self, accept: bool | None) -> None:
        if self.applied:
            self.notify(f"already applied: undo ({self._key('review-undo')}) before changing the selection",
                        severity="warning")
            return
        units = self._units_at_cursor()
        if accept is None:  # toggle: a partly accepted file becomes fully accepted
            accept = not all(u in self.accepted for u in units)
        for u in units:
            (self.accepted.add if accept else self.accepted.discard)(u)
        self._relabel()
        self._show_node()
        self._recheck()

    def action_toggle(self) -> None:
        self._decide(None)

    def action_accept(self) -> None:
        self._decide(True)
        self._advance()

    def action_reject(self) -> None:
        self._decide(False)
        self._advance()

    def _advance(self) -> None:
        """On to the next hunk, like `git add -p`: a patch is reviewed with one key per hunk."""
        if not self.applied:
            self.query_one(Tree).action_cursor_down()

    def action_force(self) -> None:
        self.force = not self.force
        self._relabel()
        self.notify("force on: applies over uncommitted changes and syntax warnings" if self.force else "force off")

    def action_check(self) -> None:
        """Run the check command on a patched copy of the work tree, with the accepted hunks."""
        if self.checker is None:
            self.notify("no check is set: put test_command = \"…\" in .repo-assist.toml", severity="warning")
            return
        if not self.accepted or self.applied or self.trial == "running":
            return
        version, diff, checker = self._version, self.selected_diff(), self.checker
        self.trial = "running"
        self._show_verdict()

        def work() -> None:
            try:
                self.post_message(Checked(version, checker(diff)))
            except Exception as exc:  # noqa: BLE001 - shown on screen, never fatal
                self.post_message(Checked(version, None, as_repo_error(exc).message))

        self.run_worker(work, thread=True, group="review-trial", exit_on_error=False)

    @on(Checked)
    def _checked(self, msg: Checked) -> None:
        if msg.version == self._version:  # (else the selection changed since: that run says nothing of it)
            self.trial = msg.trial if msg.trial is not None else msg.error
            self._show_verdict()

    def _check_lines(self) -> list[str]:
        t = self.trial
        if t is None or self.applied:
            return []
        if t == "running":
            return ["running the check on a patched copy of the work tree…"]
        if isinstance(t, str):
            return [f"[b $error]{NO}[/] check: {escape(t)}"]
        mark = f"[b $success]{OK}[/]" if t.passed else f"[b $error]{NO}[/]"
        return [f"{mark} {escape(t.headline())}"]

    @on(Tree.NodeHighlighted)
    def _highlighted(self, _: Tree.NodeHighlighted) -> None:
        self._show_node()

    # -- applying

    def action_apply(self) -> None:
        if self.busy:
            return
        if self.applied:
            self.notify(f"already applied; {self._key('review-undo')} undoes it", severity="warning")
            return
        if not self.accepted:
            self.notify("nothing accepted", severity="warning")
            return
        r = self.check_result
        if r is not None and r.warnings and not r.applies and not self.force:
            self.notify(f"the selection adds syntax errors; {self._key('review-force')} forces it, then apply",
                        severity="warning")
            return
        diff, root, undo_dir, force = self.selected_diff(), self.repo_root, self.undo_dir, self.force
        self.busy = "applying"

        def work() -> None:
            try:
                self.post_message(Applied(patch.apply(root, diff, undo_dir, force=force)))
            except Exception as exc:  # noqa: BLE001 - a modal, never a crash
                self.post_message(Failed("apply", as_repo_error(exc)))

        self.run_worker(work, thread=True, group="review-apply", exit_on_error=False)

    def action_undo(self) -> None:
        if self.busy:
            return
        if not self.applied:
            self.notify("nothing applied from this review", severity="warning")
            return
        root, undo_dir, force = self.repo_root, self.undo_dir, self.force
        self.busy = "undoing"

        def work() -> None:
            try:
                self.post_message(Undone(patch.undo(root, undo_dir, force=force)))
            except Exception as exc:  # noqa: BLE001
                self.post_message(Failed("undo", as_repo_error(exc)))

        self.run_worker(work, thread=True, group="review-apply", exit_on_error=False)

    @on(Applied)
    def _applied(self, msg: Applied) -> None:
        self.busy = ""
        self.applied = msg.entry
        self._relabel()
        self._show_verdict()
        hunks, files = len(self.accepted), len(msg.entry.files)
        self.notify(f"applied {counted(hunks, 'hunk')} to {counted(files, 'file')}")

    @on(Undone)
    def _undone(self, msg: Undone) -> None:
        self.busy = ""
        self.applied = None
        self._relabel()
        self._recheck()
        self.notify(f"undone: {', '.join(msg.entry.files)} restored")

    @on(Failed)
    def _failed(self, msg: Failed) -> None:
        self.busy = ""
        msg.stop()
        from .modals import ErrorScreen

        if msg.task == "apply":  # (the tree may have changed under the review: its verdict is checked again)
            self._recheck()
        self.app.push_screen(ErrorScreen(msg.error))

    def action_close(self) -> None:
        self.dismiss(self.applied)
