"""Every file section git apply reads is a file that apply checks, records and undo restores (real git repos)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from repo_assist import patch as patching
from repo_assist.diffs import make_diff, parse_diff
from repo_assist.errors import PatchError, UnsafePathError
from repo_assist.patch import apply, check, list_undo, read_text, undo
from repo_assist.tui import diffmodel

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


APP = "def total(lines):\n    return sum(lines)\n"
UTIL = 'function greet(name) {\n  return "hello " + name;\n}\n'
APP_DIFF = ("diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n def total(lines):\n"
            "-    return sum(lines)\n+    return sum(lines) * 2\n")
UTIL_PLAIN = ('--- a/util.js\n+++ b/util.js\n@@ -1,3 +1,3 @@\n function greet(name) {\n-  return "hello " + name;\n'
              '+  return "hi " + name;\n }\n')


def test_a_plain_section_after_a_git_one_is_applied_checked_and_undone(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"app.py": APP, "util.js": UTIL})
    start = snapshot(root)
    diff = APP_DIFF + UTIL_PLAIN
    assert check(root, diff).files == ("app.py", "util.js")
    (root / "util.js").write_text(UTIL + "// mine\n")
    with pytest.raises(PatchError, match="uncommitted changes in util.js"):
        apply(root, diff, tmp_path / "undo")
    git(root, "checkout", "--", "util.js")
    entry = apply(root, diff, tmp_path / "undo")
    assert entry.files == ("app.py", "util.js")
    assert "hi " in read_text(root, "util.js")
    undo(root, tmp_path / "undo")
    assert snapshot(root) == start


def test_a_plain_section_through_a_symlink_out_is_refused(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"app.py": APP})
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "linkdir").symlink_to(outside)
    diff = APP_DIFF + "--- /dev/null\n+++ b/linkdir/new.py\n@@ -0,0 +1 @@\n+X = 1\n"
    with pytest.raises(UnsafePathError, match="linkdir/new.py"):
        apply(root, diff, tmp_path / "undo")
    assert read_text(root, "app.py") == APP and not list(outside.iterdir())


def test_diff_u_output_with_timestamps_applies_and_undoes(tmp_path: Path) -> None:
    """GNU diff's own output: old/ and new/ prefixes, a tab and a timestamp after each name, a new file marked by
    the epoch timestamp (no /dev/null)."""
    root = make_repo(tmp_path / "r", {"util.js": UTIL, "app.py": APP})
    start = snapshot(root)
    for side, files in (("old", {"util.js": UTIL}), ("new", {"util.js": UTIL.replace("hello", "hi"), "added.py": "A = 1\n"})):
        for rel, text in files.items():
            (tmp_path / side / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / side / rel).write_text(text)
    proc = subprocess.run(["diff", "-ruN", "old", "new"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "--- old/added.py\t1970-01-01 00:00:00" in proc.stdout, proc.stdout
    entry = apply(root, proc.stdout, tmp_path / "undo")
    assert entry.files == ("added.py", "util.js")
    assert read_text(root, "added.py") == "A = 1\n"
    assert "hi " in read_text(root, "util.js")
    undo(root, tmp_path / "undo")
    assert snapshot(root) == start


def test_quoted_names_with_a_trailing_tab_round_trip(tmp_path: Path) -> None:
    """git diff with core.quotePath on: C-quoted octal names, a tab after the quoted --- and +++ names."""
    names = ["d ü/f ü.py", "plain.py", 'q"uote\\d.py', "tab\there.py"]
    root = make_repo(tmp_path / "r", {n: f"v = {k}\n" for k, n in enumerate(names)})
    start = snapshot(root)
    for k, n in enumerate(names):
        (root / n).write_text(f"v = {k + 10}\n")
    diff = git(root, "-c", "core.quotePath=true", "diff")
    git(root, "checkout", "--", ".")
    assert '--- "a/d \\303\\274/f \\303\\274.py"\t' in diff
    entry = apply(root, diff, tmp_path / "undo")
    assert entry.files == tuple(sorted(names))
    assert git(root, "status", "--porcelain").count(" M ") == len(names)
    undo(root, tmp_path / "undo")
    assert snapshot(root) == start


def test_a_section_the_reader_misses_refuses_the_apply(tmp_path: Path, monkeypatch) -> None:
    """The cross-check with git apply --numstat: a reader that drops a file must stop the apply, not lose an undo."""
    root = make_repo(tmp_path / "r", {"app.py": APP, "util.js": UTIL})
    start = snapshot(root)
    monkeypatch.setattr(patching, "parse_diff", lambda diff: parse_diff(diff)[:1])
    with pytest.raises(PatchError, match="git reads the diff as changing app.py, util.js, repo-assist as app.py"):
        apply(root, APP_DIFF + UTIL_PLAIN, tmp_path / "undo")
    assert snapshot(root) == start and list_undo(tmp_path / "undo") == []


def test_the_review_lists_every_section(tmp_path: Path) -> None:
    """The TUI's review reads diffs through the same reader, and rebuilds a plain section git still applies."""
    root = make_repo(tmp_path / "r", {"app.py": APP, "util.js": UTIL})
    files = diffmodel.parse_diff(APP_DIFF + UTIL_PLAIN)
    assert [f.path for f in files] == ["app.py", "util.js"]
    assert check(root, diffmodel.select(files, {(1, 0)})).files == ("util.js",)
