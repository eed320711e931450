"""repo-assist's section of ``info/exclude``: the hook files it created inside a work tree.

A hooks folder inside the work tree (``core.hooksPath .githooks``, often a folder
the team tracks) would show repo-assist's files in `git status`, in `git add -A`
and in the index of untracked files. Listing them in the repository's own
``info/exclude`` (shared by its worktrees, never committed) hides them without
touching anything the team shares. The section is marked, so that it can be
rewritten and removed exactly; the user's lines around it are kept byte for byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UsageError

BEGIN = "# >>> repo-assist: its hook files, kept out of git status >>>\n"
END = "# <<< repo-assist <<<\n"


def exclude_file(common_dir: Path) -> Path:
    return common_dir / "info" / "exclude"


def escape_pattern(rel: str) -> str:
    """A work-tree path as an anchored gitignore pattern that matches it literally."""
    out = "".join("\\" + c if c in "\\*?[" else c for c in rel)
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return "/" + out


def set_excluded(common_dir: Path, rels: list[str]) -> Path:
    """Make repo-assist's section list exactly ``rels`` (none: no section at all); returns the file."""
    path = exclude_file(common_dir)
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise _error(path, exc) from None
    lines = text.splitlines(keepends=True)
    if BEGIN in lines:
        i = lines.index(BEGIN)
        j = next((k for k in range(i, len(lines)) if lines[k] == END), len(lines) - 1)
        del lines[i:j + 1]
    rest = "".join(lines)
    if rels:
        sep = "" if not rest or rest.endswith("\n") else "\n"
        rest += sep + BEGIN + "".join(escape_pattern(r) + "\n" for r in rels) + END
    if rest == text:
        return path
    try:
        if rest:
            mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.repo-assist-tmp")
            tmp.write_bytes(rest.encode("utf-8", "surrogateescape"))
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise _error(path, exc) from None
    return path


def _error(path: Path, exc: OSError) -> UsageError:
    return UsageError(f"cannot change {path}: {exc.strerror or exc}", "check the file's permissions")
