"""The background runner's files in a work tree's index folder, read without loading the index.

Shared by ``hooks`` (status) and ``background`` (the runner); standard library and
repo-assist's vocabulary only, since both run around git commands.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .config import load_settings
from .paths import file_in_the_way, index_home, repo_key

MANIFEST_NAME = "manifest.sqlite"  # Workspace.manifest_path's name: the index exists when this file does
LOG_NAME = "hooks.log"
STATE_NAME = "hooks-state.json"
RERUN_NAME = "hooks-rerun"
RUNNER_LOCK_NAME = "hooks.lock"


def index_dir(root: Path, flags: Mapping[str, Any] | None = None) -> Path:
    """The repository's index folder, computed as Workspace.for_repo does, without loading it."""
    return index_home(load_settings(root, flags)) / repo_key(root)


def has_index(folder: Path) -> bool:
    """Whether the index folder ``folder`` holds an index (the only kind the hooks refresh)."""
    return (folder / MANIFEST_NAME).is_file()


def read_state(folder: Path) -> dict[str, Any]:
    """The runner's state file, or an empty dict when it is missing or unreadable."""
    try:
        data = json.loads((folder / STATE_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


def home_problem(idx: Path) -> str | None:
    """Why the background runs cannot write the index folder ``idx`` (and so log nowhere), if they cannot."""
    blocker = file_in_the_way(idx)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    existing = next(p for p in (idx, *idx.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        return f"{existing} cannot be written"
    return None
