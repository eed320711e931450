"""Paths, diffs, git apply --check, apply and byte-exact undo on real git repositories."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repo_assist.errors import PatchError, UnsafePathError
from repo_assist.patch import apply, check, list_undo, make_diff, read_text, safe_path, undo

from .conftest import git, make_repo, write

BASE = {
    "src/app.py": "def main():\n    return 1\n",
    "src/util.py": "import os\n\n\ndef helper(x):\n    return x + 1\n",
    "docs/readme.md": "# Title\n\nSome words.\n",
    "win.txt": "one\r\ntwo\r\n",
    "tail.txt": "no newline at end",
    "run.sh": "#!/bin/sh\necho hi\n",
    "gone.txt": "delete me\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {k: v.encode() for k, v in BASE.items()})
    os.chmod(root / "run.sh", 0o755)
    git(root, "add", "run.sh")
    git(root, "commit", "-q", "-m", "exec")
    return root


def snapshot(root: Path) -> dict[str, bytes | int]:
    """Every work-tree file's bytes (and modes), plus git's view of the tree."""
    out: dict[str, bytes | int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        rel_dir = Path(dirpath).relative_to(root)
        out[f"dir:{rel_dir.as_posix()}"] = 0
        for name in filenames:
            full = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            out[rel] = full.read_bytes()
            out[f"mode:{rel}"] = stat.S_IMODE(full.stat().st_mode)
    out["status"] = git(root, "status", "--porcelain", "--untracked-files=all").encode()
    return out


def edit_all(root: Path) -> tuple[dict[str, str | None], dict[str, str | None]]:
    paths = [*BASE, "new/deep/file.py"]
    old = {p: read_text(root, p) for p in paths}
    new = dict(old)
    new["src/app.py"] = "def main():\n    return 2\n"
    new["win.txt"] = "one\r\nTWO\r\nthree\r\n"
    new["tail.txt"] = "no newline at the end, still"
    new["run.sh"] = "#!/bin/sh\necho hello\n"
    new["gone.txt"] = None
    new["new/deep/file.py"] = "VALUE = 1\n"
    return old, new


# --- safe_path -----------------------------------------------------------------------


@pytest.mark.parametrize("given_path, expected", [
    ("src/app.py", "src/app.py"),
    ("./src/app.py", "src/app.py"),
    ("src/../src/app.py", "src/app.py"),
    ("src//app.py", "src/app.py"),
    ("new/file.py", "new/file.py"),
])
def test_safe_path_normalises(repo: Path, given_path: str, expected: str) -> None:
    assert safe_path(repo, given_path) == expected


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "src/../../x", ".git/config", ".GIT/hooks/pre-commit",
                                 "sub/.git/config", "", "~/x", "C:/x", "."])
def test_safe_path_refuses(repo: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_path(repo, bad)


def test_safe_path_symlinks(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s\n")
    os.symlink(outside, repo / "out")
    os.symlink(outside / "secret.txt", repo / "secret.txt")
    os.symlink(repo / "src", repo / "alias")
    for bad in ("out/secret.txt", "out/new.py", "secret.txt"):
        with pytest.raises(UnsafePathError):
            safe_path(repo, bad)
    assert safe_path(repo, "alias/app.py") == "src/app.py"


def test_safe_path_refuses_binary_and_directories(repo: Path) -> None:
    write(repo, {"img.bin": b"\x89PNG\0\0data"})
    with pytest.raises(UnsafePathError, match="binary"):
        safe_path(repo, "img.bin")
    with pytest.raises(UnsafePathError, match="directory"):
        safe_path(repo, "src")


# --- make_diff + check ---------------------------------------------------------------


def test_diff_of_every_kind_of_change_passes_git_apply_check(repo: Path) -> None:
    old, new = edit_all(repo)
    diff = make_diff(old, new)
    assert diff.index("src/app.py") < diff.index("win.txt")  # sorted
    assert "new file mode 100644\n--- /dev/null\n+++ b/new/deep/file.py" in diff
    assert "deleted file mode 100644\n--- a/gone.txt\n+++ /dev/null" in diff
    assert "\\ No newline at end of file" in diff
    patch = check(repo, diff)
    assert patch.applies, patch.check_output
    assert patch.files == tuple(sorted(p for p in new if new[p] != old[p]))


def test_unchanged_files_make_no_diff() -> None:
    assert make_diff({"a": "x\n", "b": None}, {"a": "x\n"}) == ""


def test_odd_paths_round_trip_through_git(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "odd", {"with space/a b.txt": b"1\n", 'quo"te.txt': b"2\n", "ünï.txt": b"3\n"})
    old = {p: read_text(root, p) for p in ("with space/a b.txt", 'quo"te.txt', "ünï.txt")}
    new = {p: "changed\n" for p in old}
    diff = make_diff(old, new)
    assert check(root, diff).applies
    apply(root, diff, tmp_path / "undo")
    assert all((root / p).read_text() == "changed\n" for p in old)


def test_check_reports_a_stale_diff(repo: Path) -> None:
    old, new = edit_all(repo)
    diff = make_diff(old, new)
    (repo / "src/app.py").write_text("def main():\n    return 42\n")
    patch = check(repo, diff)
    assert not patch.applies
    assert "src/app.py" in patch.check_output


def python_errors(path: str, text: str) -> int:
    """A real parser standing in for the chunker's tree-sitter count."""
    if not path.endswith(".py"):
        return 0
    try:
        ast.parse(text)
    except SyntaxError:
        return 1
    return 0


def test_check_flags_new_parse_errors(repo: Path) -> None:
    old = {"src/app.py": read_text(repo, "src/app.py")}
    broken = make_diff(old, {"src/app.py": "def main(:\n    return 1\n"})
    patch = check(repo, broken, parse_errors=python_errors)
    assert not patch.applies
    assert patch.warnings and "src/app.py" in patch.warnings[0]
    fine = make_diff(old, {"src/app.py": "def main():\n    return 3\n"})
    assert check(repo, fine, parse_errors=python_errors).applies


def test_check_refuses_unsafe_paths_in_a_diff(repo: Path) -> None:
    evil = "diff --git a/../evil.txt b/../evil.txt\nnew file mode 100644\n--- /dev/null\n+++ b/../evil.txt\n@@ -0,0 +1 @@\n+x\n"
    with pytest.raises(UnsafePathError):
        check(repo, evil)
    with pytest.raises(UnsafePathError):
        apply(repo, evil, repo.parent / "undo")
    assert not (repo.parent / "evil.txt").exists()


texts = st.lists(st.sampled_from(["a", "b", "c", "", "  d", "e\r", "ü"]), max_size=12).map(
    lambda lines: "\n".join(lines)
) | st.just("")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=texts | st.none(), after=texts | st.none())
def test_any_diff_applies_and_reproduces_the_new_bytes(tmp_path: Path, before: str | None, after: str | None) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    if before is not None:
        (work / "f.txt").write_bytes(before.encode())
    diff = make_diff({"f.txt": before}, {"f.txt": after})
    if before == after:
        assert diff == ""
        return
    proc = subprocess.run(["git", "apply", "-"], cwd=work, input=diff.encode(), capture_output=True)
    assert proc.returncode == 0, (proc.stderr, diff)
    if after is None:
        assert not (work / "f.txt").exists()
    else:
        assert (work / "f.txt").read_bytes() == after.encode()


# --- apply / undo --------------------------------------------------------------------


def test_apply_then_undo_restores_the_tree_byte_for_byte(repo: Path, tmp_path: Path) -> None:
    before = snapshot(repo)
    old, new = edit_all(repo)
    entry = apply(repo, make_diff(old, new), tmp_path / "undo")
    assert (repo / "new/deep/file.py").read_text() == "VALUE = 1\n"
    assert not (repo / "gone.txt").exists()
    assert (repo / "win.txt").read_bytes() == b"one\r\nTWO\r\nthree\r\n"
    assert (repo / "tail.txt").read_bytes() == b"no newline at the end, still"
    assert stat.S_IMODE((repo / "run.sh").stat().st_mode) == 0o755
    assert list_undo(tmp_path / "undo")[-1].files == entry.files
    undone = undo(repo, tmp_path / "undo")
    assert undone.id == entry.id
    assert snapshot(repo) == before
    assert list_undo(tmp_path / "undo") == []


def test_undo_is_a_stack(repo: Path, tmp_path: Path) -> None:
    start = snapshot(repo)
    first = make_diff({"src/app.py": read_text(repo, "src/app.py")}, {"src/app.py": "def main():\n    return 2\n"})
    apply(repo, first, tmp_path / "undo")
    git(repo, "commit", "-qam", "first")
    after_first = snapshot(repo)
    second = make_diff({"src/app.py": read_text(repo, "src/app.py")}, {"src/app.py": "def main():\n    return 3\n"})
    apply(repo, second, tmp_path / "undo")
    undo(repo, tmp_path / "undo")
    assert snapshot(repo) == after_first
    undo(repo, tmp_path / "undo")
    assert (repo / "src/app.py").read_bytes() == b"def main():\n    return 1\n"
    with pytest.raises(PatchError, match="nothing to undo"):
        undo(repo, tmp_path / "undo")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert snapshot(repo) == start


def test_apply_refuses_a_dirty_target_unless_forced(repo: Path, tmp_path: Path) -> None:
    old = {"src/util.py": read_text(repo, "src/util.py")}
    diff = make_diff(old, {"src/util.py": old["src/util.py"].replace("x + 1", "x + 2")})
    (repo / "src/util.py").write_text(old["src/util.py"] + "# my unsaved work\n")
    diff = make_diff({"src/util.py": read_text(repo, "src/util.py")},
                     {"src/util.py": read_text(repo, "src/util.py").replace("x + 1", "x + 2")})
    dirty = snapshot(repo)
    with pytest.raises(PatchError, match="uncommitted changes in src/util.py") as err:
        apply(repo, diff, tmp_path / "undo")
    assert err.value.exit_code == 4
    assert snapshot(repo) == dirty
    apply(repo, diff, tmp_path / "undo", force=True)
    assert "x + 2" in (repo / "src/util.py").read_text()
    undo(repo, tmp_path / "undo")
    assert snapshot(repo) == dirty  # the unsaved work is back, byte for byte


def test_apply_refuses_an_untracked_target_unless_forced(repo: Path, tmp_path: Path) -> None:
    write(repo, {"scratch.py": "a = 1\n"})
    diff = make_diff({"scratch.py": "a = 1\n"}, {"scratch.py": "a = 2\n"})
    with pytest.raises(PatchError, match="uncommitted"):
        apply(repo, diff, tmp_path / "undo")
    apply(repo, diff, tmp_path / "undo", force=True)
    undo(repo, tmp_path / "undo")
    assert (repo / "scratch.py").read_text() == "a = 1\n"


def test_undo_refuses_when_a_file_changed_after_apply(repo: Path, tmp_path: Path) -> None:
    old, new = edit_all(repo)
    apply(repo, make_diff(old, new), tmp_path / "undo")
    (repo / "src/app.py").write_text("def main():\n    return 'edited by hand'\n")
    with pytest.raises(PatchError, match="src/app.py changed since"):
        undo(repo, tmp_path / "undo")
    assert (repo / "src/app.py").read_text() == "def main():\n    return 'edited by hand'\n"
    (repo / "new/deep/file.py").write_text("edited too\n")
    with pytest.raises(PatchError, match="new/deep/file.py"):
        undo(repo, tmp_path / "undo")
    undo(repo, tmp_path / "undo", force=True)
    assert (repo / "src/app.py").read_text() == BASE["src/app.py"]
    assert not (repo / "new").exists()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_undo_takes_files_already_back_as_they_were(repo: Path, tmp_path: Path) -> None:
    # The user put the patched files back by hand (`git checkout`, deleting the new file): that is no change to
    # refuse over; undo finishes the job and pops the entry. A file edited otherwise still stops it.
    old, new = edit_all(repo)
    apply(repo, make_diff(old, new), tmp_path / "undo")
    git(repo, "checkout", "--", "src/app.py")
    (repo / "new/deep/file.py").unlink()
    entry = undo(repo, tmp_path / "undo")
    assert "src/app.py" in entry.files and list_undo(tmp_path / "undo") == []
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_apply_refuses_a_diff_that_does_not_apply(repo: Path, tmp_path: Path) -> None:
    diff = make_diff({"src/app.py": "def other():\n    pass\n"}, {"src/app.py": "def other():\n    return\n"})
    before = snapshot(repo)
    with pytest.raises(PatchError, match="does not apply"):
        apply(repo, diff, tmp_path / "undo")
    assert snapshot(repo) == before
    assert list_undo(tmp_path / "undo") == []


def test_undo_refuses_an_entry_from_another_repository(repo: Path, tmp_path: Path) -> None:
    other = make_repo(tmp_path / "other", {"src/app.py": BASE["src/app.py"].encode()})
    diff = make_diff({"src/app.py": BASE["src/app.py"]}, {"src/app.py": "x = 1\n"})
    apply(other, diff, tmp_path / "undo")
    with pytest.raises(PatchError, match="belongs to"):
        undo(repo, tmp_path / "undo")
    assert read_text(repo, "src/app.py") == BASE["src/app.py"]
