"""Where indexes live: never inside the user's work tree."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .config import Settings
from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def index_home(settings: Settings) -> Path:
    """REPO_ASSIST_HOME (or `home` in config), else indexes/ of a source checkout, else XDG data."""
    if settings.home:
        return Path(settings.home).expanduser().resolve()
    checkout_indexes = PROJECT_ROOT / "indexes"
    if (PROJECT_ROOT / "pyproject.toml").is_file() and checkout_indexes.is_dir():
        return checkout_indexes
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "repo-assist" / "indexes"


def repo_key(root: Path) -> str:
    """A stable, readable key for a work tree: its folder name and a hash of its path."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", root.name).strip("-").lower()[:24] or "repo"
    digest = hashlib.sha1(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{name}-{digest}"


HOME_HINT = "point REPO_ASSIST_HOME or the `home` setting at a folder you can write"


def file_in_the_way(path: Path) -> Path | None:
    """``path`` or the first of its parents that exists as something other than a folder (a file), if one does."""
    return next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)


def unwritable(path: Path, exc: OSError) -> ConfigError:
    """The error for an index folder (or a file in it) that cannot be written: the path, and why."""
    blocker = file_in_the_way(path)
    if blocker is not None and isinstance(exc, (FileExistsError, NotADirectoryError)):
        return ConfigError(f"cannot write the index folder {path}: {blocker} is a file, not a folder", HOME_HINT)
    why = exc.strerror or type(exc).__name__
    return ConfigError(f"cannot write the index folder {path}: {why}", HOME_HINT)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user only; ConfigError when it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise unwritable(path, exc) from None
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    return path
