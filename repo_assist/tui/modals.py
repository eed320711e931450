"""Dialogs: an error with its hint, the key help, and the model picker.

Errors are modals rather than toasts because a RepoAssistError's hint is
the fix ("start it with `ollama serve`"), and a fix should stay on screen
until the user has read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..errors import RepoAssistError
from ..plurals import counted
from .keymap import ALL_BINDINGS, KEYS_TABLE, MODAL_BINDINGS, key_display
from .models import ModelChoice, list_models

COMMANDS = (
    ("/refactor CHANGE", "ask the model for a patch, then review it"),
    ("/review FILE", "review a unified diff from a file (e.g. `git diff > x.diff`)"),
    ("/undo", "revert the last patch applied from here, byte for byte"),
    ("/clear", "start a new conversation (forget the follow-up history)"),
)


class ErrorScreen(ModalScreen[None]):
    """A RepoAssistError: title, one-line message and the hint that says what to do."""

    BINDINGS = list(MODAL_BINDINGS)

    def __init__(self, error: RepoAssistError) -> None:
        super().__init__(classes="dialog")
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="dialog-box"):
            yield Static(f"[b $error]{escape(self.error.title)}[/]", id="error-title")
            yield Static(escape(self.error.message), id="error-message")
            if self.error.hint:
                yield Static(f"[b]hint:[/b] {escape(self.error.hint)}", id="error-hint")
            yield Button("OK", variant="error", id="error-ok")

    def on_mount(self) -> None:
        self.query_one("#error-ok", Button).focus()

    @on(Button.Pressed, "#error-ok")
    def _ok(self, _: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every binding with its id (for ``[keys]``) and the current key, then the chat commands."""

    BINDINGS = list(MODAL_BINDINGS)

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__(classes="dialog")
        self.keymap = dict(keymap)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog-box"):
            yield Static("[b]Keys[/b]", classes="dialog-title")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            commands = "\n".join(f"  [b]{escape(c)}[/b]  {escape(d)}" for c, d in COMMANDS)
            yield Static(f"[b]Commands[/b] (type them in the question box)\n{commands}", id="help-commands")
            yield Static(f"Rebind any key in .repo-assist.toml or ~/.config/repo-assist/config.toml:\n"
                         f"  [b]\\[{KEYS_TABLE}][/b]\n  [b]reindex = \"ctrl+r\"[/b]   (id = \"key[,key…]\")",
                         id="help-rebind")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("where", "key", "action", "id")
        for where, group in ALL_BINDINGS:
            for b in group:
                table.add_row(where, key_display(b, self.keymap), b.description, b.id or "")
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ModelPicker(ModalScreen[str | None]):
    """Pick a model: the packaged one at once, local servers' models as they answer."""

    BINDINGS = list(MODAL_BINDINGS)

    def __init__(self, current: str, configured: str, api_base: str) -> None:
        super().__init__(classes="dialog")
        self.current, self.configured, self.api_base = current, configured, api_base

    def compose(self) -> ComposeResult:
        with Vertical(id="model-box", classes="dialog-box"):
            yield Static(f"[b]Model[/b] · in use: {escape(self.current)}", classes="dialog-title")
            yield OptionList(id="model-list")
            yield Static("asking local servers for their models…", id="model-notes")
            yield Input(placeholder="or type a spec: llamacpp/PATH.gguf, ollama/NAME, openai/NAME", id="model-spec")

    def on_mount(self) -> None:
        self._fill([ModelChoice("llamacpp/default", "packaged, in-process"),
                    *([ModelChoice(self.current, "in use")] if self.current != "llamacpp/default" else [])])
        self.query_one(OptionList).focus()
        self._discover()

    def _fill(self, choices: list[ModelChoice]) -> None:
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for c in choices:
            mark = "● " if c.spec == self.current else "  "
            options.add_option(Option(f"{mark}{escape(c.spec)}  [dim]{escape(c.note)}[/]", id=c.spec))
        options.highlighted = highlighted if highlighted is not None else 0

    @work(thread=True, exit_on_error=False, group="model-list")
    def _discover(self) -> None:
        choices, notes = list_models(self.current, self.configured, self.api_base)
        try:
            self.app.call_from_thread(self._found, choices, notes)
        except RuntimeError:  # the app closed while the servers were being asked
            pass

    def _found(self, choices: list[ModelChoice], notes: list[str]) -> None:
        if not self.is_attached:
            return
        self._fill(choices)
        self.query_one("#model-notes", Static).update(
            "\n".join(escape(n) for n in notes) or f"{counted(len(choices), 'model')} found")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Input.Submitted, "#model-spec")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_close(self) -> None:
        self.dismiss(None)
