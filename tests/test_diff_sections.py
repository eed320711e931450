"""Every file section git apply reads is a file that apply checks, records and undo restores (real git repos)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from repo_assist.diffs import make_diff
from repo_assist.patch import apply, check, read_text, undo

from .conftest import git, make_repo


def snapshot(root: Path) -> dict[str, bytes | int | str]:
    """Every work-tree file's bytes and mode, and git's view of the tree."""
    out: dict[str, bytes | int | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            out[rel] = full.read_bytes()
            out[f"mode:{rel}"] = stat.S_IMODE(full.stat().st_mode)
    out["status"] = git(root, "status", "--porcelain", "--untracked-files=all")
    return out


def test_lines_split_after_newline_only(tmp_path: Path) -> None:
    """A form feed or U+2028 inside a line is no line end for git, nor for the reader (it was "malformed")."""
    before = 'x = 1\n\x0c\ny = "\u2028"\nz = "\x85"\n'
    root = make_repo(tmp_path / "r", {"a.py": before})
    start = snapshot(root)
    diff = make_diff({"a.py": read_text(root, "a.py")}, {"a.py": before.replace("x = 1", "x = 2")})
    patch = check(root, diff)
    assert patch.applies and patch.files == ("a.py",), patch.check_output
    apply(root, diff, tmp_path / "undo")
    assert read_text(root, "a.py") == before.replace("x = 1", "x = 2")
    undo(root, tmp_path / "undo")
    assert snapshot(root) == start
