"""Every key binding of the TUI, each with an id, and the user's overrides from a ``[keys]`` table.

Why one table here rather than ``BINDINGS`` scattered over the widgets: the
ids are a public interface (people write them in their config files), so the
help screen, the validation of ``[keys]`` and the widgets must agree on one
list. Ids use only ``[a-z-]`` so they are bare TOML keys (a dotted key would
become a nested table)::

    # .repo-assist.toml or ~/.config/repo-assist/config.toml
    [keys]
    reindex = "ctrl+r"
    review-apply = "ctrl+s,f10"

The repository file wins over the user file, key by key. The defaults avoid
every key the question box uses itself (Input takes ctrl+a/e/d/w/u/k/x/c/v),
because the question box has the focus almost all the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textual.binding import Binding

from ..config import REPO_CONFIG_NAME, read_toml, user_config_path
from ..errors import ConfigError

#: the main screen (chat, context panel, source viewer)
APP_BINDINGS: tuple[Binding, ...] = (
    Binding("f1", "help", "Help", id="help"),
    Binding("f2", "pick_model", "Model", id="pick-model"),
    Binding("f3", "show_context", "Context", id="show-context"),
    Binding("f4", "show_source", "Source", id="show-source"),
    Binding("f5", "reindex", "Index", id="reindex"),
    Binding("ctrl+g", "cancel", "Stop", id="cancel"),
    Binding("ctrl+o", "next_citation", "Citation", id="next-citation"),
    Binding("f6", "open_editor", "Editor", id="open-editor"),
    Binding("escape", "focus_question", "Question", show=False, id="focus-question"),
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
)

#: the question input
INPUT_BINDINGS: tuple[Binding, ...] = (
    Binding("up", "history_previous", "Previous question", show=False, id="history-previous"),
    Binding("down", "history_next", "Next question", show=False, id="history-next"),
)

#: the diff review screen
REVIEW_BINDINGS: tuple[Binding, ...] = (
    Binding("space", "toggle", "Accept/reject", id="review-toggle", priority=True),
    Binding("a", "accept", "Accept", id="review-accept"),
    Binding("r", "reject", "Reject", id="review-reject"),
    Binding("ctrl+s", "apply", "Apply accepted", id="review-apply"),
    Binding("u", "undo", "Undo", id="review-undo"),
    Binding("f", "force", "Force", id="review-force"),
    Binding("t", "check", "Check", id="review-check"),
    Binding("escape", "close", "Back", id="review-close"),
)

#: modal screens (errors, help, model picker)
MODAL_BINDINGS: tuple[Binding, ...] = (
    Binding("escape", "close", "Close", id="close"),
)

#: (where, bindings) in the order the help screen lists them
ALL_BINDINGS: tuple[tuple[str, tuple[Binding, ...]], ...] = (
    ("main", APP_BINDINGS),
    ("question", INPUT_BINDINGS),
    ("review", REVIEW_BINDINGS),
    ("dialogs", MODAL_BINDINGS),
)

KEYS_TABLE = "keys"


def binding_ids() -> frozenset[str]:
    return frozenset(b.id for _, group in ALL_BINDINGS for b in group if b.id)


def check_keymap(keys: Mapping[str, Any], source: str) -> dict[str, str]:
    """``keys`` as {binding id: "key[,key...]"}; ConfigError naming the first bad entry."""
    known = binding_ids()
    out: dict[str, str] = {}
    for name, value in keys.items():
        if name not in known:
            raise ConfigError(f"{source}: unknown key binding id `{name}` in [{KEYS_TABLE}]",
                              "known ids: " + ", ".join(sorted(known)))
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        if not isinstance(value, str) or not value.strip() or any(not k.strip() for k in value.split(",")):
            raise ConfigError(f"{source}: [{KEYS_TABLE}] `{name}` must be a key like \"ctrl+r\", got {value!r}",
                              "use Textual key names, several separated by commas")
        out[name] = ",".join(k.strip() for k in value.split(","))
    return out


def _keys_table(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    data = read_toml(path)
    table = data.get(KEYS_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `{KEYS_TABLE}` must be a table", f"write [{KEYS_TABLE}] then id = \"key\" lines")
    return check_keymap(table, str(path))


def load_keymap(repo_root: Path | None, settings: object | None = None) -> dict[str, str]:
    """The key overrides for this repository: user config, then the repository's file.

    When ``Settings`` carries a ``keys`` field (config.py reading the table
    itself), that is used; until then the two files are read here.
    """
    from_settings = getattr(settings, "keys", None)
    if from_settings:
        return check_keymap(dict(from_settings), "settings")
    keys = _keys_table(user_config_path())
    if repo_root is not None:
        keys.update(_keys_table(Path(repo_root) / REPO_CONFIG_NAME))
    return keys


def key_display(binding: Binding, keymap: Mapping[str, str]) -> str:
    """The key(s) a binding answers to once ``keymap`` is applied, as people write them."""
    keys = keymap.get(binding.id or "", binding.key)
    return ", ".join(k.strip() for k in keys.split(","))

