"""Turn edited file texts into a git diff, check it, apply it, and undo it byte for byte.

Why this module is paranoid: its input comes from a model. Every path goes
through ``safe_path`` (no absolute paths, no ``..`` escape, nothing in
``.git``, no symlink out of the repository, no binary file); ``git apply
--check`` is the judge of whether a diff applies; applying refuses to touch
files with uncommitted changes (kilocode#1140: edits silently lost on dirty
files); and every apply leaves an undo entry holding the exact pre-images, so
``undo`` restores the tree byte for byte rather than by reverse-patching. All
three go by the files ``parse_diff`` reads, so that list must be git's: a diff
whose files ``git apply --numstat`` reads otherwise is refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .diffs import ENC, FileDiff, apply_hunks, make_diff, parse_diff
from .errors import ConfigError, PatchError, UnsafePathError
from .gitrepo import blob_sha, run_git
from .plurals import counted
from .records import EditBlock, Patch

__all__ = ["UndoEntry", "apply", "check", "images", "list_undo", "load_targets", "make_diff", "read_text", "safe_path",
           "undo"]

_BINARY_PROBE = 8000  # git's own heuristic: a NUL in the first 8000 bytes means binary


@dataclass(frozen=True, slots=True)
class UndoEntry:
    """One applied patch that ``undo`` can revert: its folder, when, which files, the diff."""

    id: str
    time: str
    files: tuple[str, ...]
    diff: str
    path: Path


# --- paths ---------------------------------------------------------------------


def safe_path(repo_root: Path, path: str) -> str:
    """``path`` as a normalised repo-relative POSIX path, or UnsafePathError.

    A symlink inside the repository that points inside it resolves to its
    target (git would refuse to patch "beyond a symbolic link").
    """
    rel = _inside(Path(repo_root), path)
    full = Path(repo_root).resolve() / rel
    if full.is_dir():
        raise UnsafePathError(f"{path} is a directory", "name a file")
    if full.is_file():
        with open(full, "rb") as fh:
            if b"\0" in fh.read(_BINARY_PROBE):
                raise UnsafePathError(f"{path} is a binary file", "repo-assist only edits text files")
    return rel


def _inside(repo_root: Path, path: str) -> str:
    """The repo-relative form of ``path`` after resolving symlinks; UnsafePathError when it leaves."""
    hint = "edits must name files inside the repository, relative to its top folder"
    if not path or "\0" in path:
        raise UnsafePathError(f"{path!r} is not a file path", hint)
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~") or re.match(r"^[A-Za-z]:[\\/]", path):
        raise UnsafePathError(f"{path} is an absolute path", hint)
    parts: list[str] = []
    for part in pure.parts:
        if part == "..":
            if not parts:
                raise UnsafePathError(f"{path} leaves the repository", hint)
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        raise UnsafePathError(f"{path!r} names the repository itself", hint)
    if any(p.casefold() == ".git" for p in parts):
        raise UnsafePathError(f"{path} is inside .git", "repo-assist never edits git's own files")
    root = Path(repo_root).resolve()
    resolved = root.joinpath(*parts).resolve()
    try:
        rel = resolved.relative_to(root)
    except ValueError:
        raise UnsafePathError(f"{path} resolves through a symlink to outside the repository", hint) from None
    if not rel.parts or any(p.casefold() == ".git" for p in rel.parts):
        raise UnsafePathError(f"{path} resolves into .git", "repo-assist never edits git's own files")
    return rel.as_posix()


def read_text(repo_root: Path, path: str) -> str | None:
    """A file's text exactly as stored (no newline translation), None when absent.

    ``path`` must already have passed ``safe_path``.
    """
    full = Path(repo_root).resolve() / path
    if not full.is_file():
        return None
    return full.read_bytes().decode(*ENC)


def load_targets(repo_root: Path, blocks: Iterable[EditBlock]) -> tuple[list[EditBlock], dict[str, str | None]]:
    """The blocks with safe, normalised paths, and the current text of every file they name."""
    safe = [replace(b, path=safe_path(repo_root, b.path)) for b in blocks]
    return safe, {b.path: read_text(repo_root, b.path) for b in safe}


# --- checking and applying ---------------------------------------------------------


def check(
    repo_root: Path,
    diff: str,
    parse_errors: Callable[[str, str], int] | None = None,
) -> Patch:
    """Whether ``diff`` applies to the work tree (``git apply --check``), without writing anything.

    ``parse_errors(path, text)`` counts syntax errors (the chunker's
    tree-sitter parse, wired by the caller); a patch that gives any file more
    errors than it had is reported as not applying, with the reason.
    """
    root = Path(repo_root).resolve()
    fds = parse_diff(diff)
    if not fds:
        return Patch(diff=diff, files=(), applies=False, check_output="the diff changes no file")
    files = _checked_paths(root, fds, diff)
    proc = _git_apply(root, diff, check_only=True)
    output = (proc.stdout + proc.stderr).decode(*ENC).strip()
    warnings: list[str] = []
    if proc.returncode == 0 and parse_errors is not None:
        warnings = _new_parse_errors(root, fds, parse_errors)
    if warnings:
        output = "\n".join([output, *warnings]).strip()
    return Patch(diff, files, proc.returncode == 0 and not warnings, output, tuple(warnings))


def apply(repo_root: Path, diff: str, undo_dir: Path, force: bool = False) -> UndoEntry:
    """Apply ``diff`` with ``git apply`` and record how to undo it; PatchError if it cannot.

    Refuses files with uncommitted changes unless ``force`` (their pre-images
    are still recorded, so ``undo`` brings those changes back too).
    """
    root = Path(repo_root).resolve()
    fds = parse_diff(diff)
    if not fds:
        raise PatchError("the diff changes no file", "there is nothing to apply")
    files = _checked_paths(root, fds, diff)
    if not force:
        dirty = _dirty(root, files)
        if dirty:
            raise PatchError(
                f"uncommitted changes in {', '.join(dirty)}",
                "commit or stash them first, or force the apply (undo restores them exactly)",
            )
    proc = _git_apply(root, diff, check_only=True)
    if proc.returncode != 0:
        raise PatchError(f"the patch does not apply: {_last_line(proc.stderr)}", "ask for the change again against the current files")
    folder: Path | None = None
    try:  # the undo entry first: nothing is applied that could not be undone
        folder = _new_entry_folder(Path(undo_dir))
        record = _record_pre_images(root, files, folder)
        (folder / "patch.diff").write_bytes(diff.encode(*ENC))
        _write_json(folder / "entry.json", record)
    except OSError as exc:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise ConfigError(f"cannot record the undo entry in {undo_dir}: {exc.strerror or exc}",
                          "nothing was applied; point REPO_ASSIST_HOME or the `home` setting at a folder you can write",
                          ) from None
    proc = _git_apply(root, diff, check_only=False)
    if proc.returncode != 0:  # git apply is all-or-nothing: the tree is as it was
        shutil.rmtree(folder, ignore_errors=True)
        raise PatchError(f"the patch does not apply: {_last_line(proc.stderr)}", "ask for the change again against the current files")
    for item in record["files"]:
        data = _read_bytes(root / item["path"])
        item["post"] = blob_sha(data) if data is not None else None
    record["state"] = "applied"
    _write_json(folder / "entry.json", record)
    return _entry(folder, record)


def undo(repo_root: Path, undo_dir: Path, force: bool = False) -> UndoEntry:
    """Revert the last applied patch byte for byte and pop it; PatchError if its files changed since."""
    root = Path(repo_root).resolve()
    folders = _entry_folders(Path(undo_dir))
    if not folders:
        raise PatchError("there is nothing to undo", "no patch applied by repo-assist is recorded", title="undo")
    folder = folders[-1]
    record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
    if Path(record["repo"]) != root:
        raise PatchError(f"the last undo entry belongs to {record['repo']}", "run undo in that repository", title="undo")
    restores: list[tuple[str, bytes | None, int | None]] = []
    changed: list[str] = []
    for item in record["files"]:
        rel = _inside(root, item["path"])
        pre = (folder / item["pre"]).read_bytes() if item["pre"] else None
        now = _read_bytes(root / rel)
        now_sha = blob_sha(now) if now is not None else None
        pre_sha = blob_sha(pre) if pre is not None else None
        expected = item.get("post") if record.get("state") == "applied" else pre_sha
        if now_sha not in (expected, pre_sha):  # (a file already back as it was, `git checkout`, is no change)
            changed.append(rel)
        restores.append((rel, pre, item.get("mode")))
    if changed and not force:
        raise PatchError(
            f"{', '.join(changed)} changed since the patch was applied",
            "commit or discard those changes first, or force the undo to overwrite them",
            title="undo",
        )
    if not (os.access(folder.parent, os.W_OK) and os.access(folder, os.W_OK)):  # popped after the restore: check first
        raise ConfigError(f"cannot remove the undo entry {folder}: its folder cannot be written",
                          "nothing was reverted; point REPO_ASSIST_HOME or the `home` setting at a folder you can write")
    for rel, pre, mode in restores:
        _restore(root / rel, pre, mode)
    for rel_dir in sorted(record.get("created_dirs", []), key=len, reverse=True):
        target = root / _inside(root, rel_dir)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
    entry = _entry(folder, record)
    shutil.rmtree(folder)
    return entry


def list_undo(undo_dir: Path) -> list[UndoEntry]:
    """The recorded patches, oldest first (the last one is what ``undo`` reverts)."""
    out = []
    for folder in _entry_folders(Path(undo_dir)):
        record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
        out.append(_entry(folder, record))
    return out


# --- helpers -----------------------------------------------------------------------


def _checked_paths(root: Path, fds: list[FileDiff], diff: str) -> tuple[str, ...]:
    """Every path ``diff`` names, each safe; PatchError when git reads other files in it than ``fds`` name."""
    git_files = _git_files(root, diff)
    if git_files is not None and git_files != [fd.path for fd in fds]:
        raise PatchError(f"git reads the diff as changing {', '.join(git_files) or 'no file'}, repo-assist as "
                         f"{', '.join(fd.path for fd in fds) or 'no file'}",
                         "regenerate it with `git diff`: undo would miss the files repo-assist did not read")
    paths: set[str] = set()
    for fd in fds:
        for p in (fd.old_path, fd.new_path):
            if p is None:
                continue
            safe = safe_path(root, p)
            if safe != p:
                raise UnsafePathError(f"the diff names {p}, which is really {safe}", "regenerate the diff with make_diff")
            paths.add(p)
    if not paths:
        raise PatchError("the diff names no file", "regenerate the diff")
    return tuple(sorted(paths))


def _git_files(root: Path, diff: str) -> list[str] | None:
    """The file of each section of ``diff``, as ``git apply --numstat`` reads it; None when git cannot read the
    diff (``git apply --check`` then says why)."""
    proc = run_git(["apply", "--numstat", "-z", "-"], root, input=diff.encode(*ENC), check=False)
    if proc.returncode != 0:
        return None
    return [row.split("\t", 2)[2] for row in proc.stdout.decode(*ENC).split("\0") if row]


def _git_apply(root: Path, diff: str, *, check_only: bool):
    args = ["apply", "--whitespace=nowarn", *(["--check"] if check_only else []), "-"]
    return run_git(args, root, input=diff.encode(*ENC), check=False)


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode(*ENC).splitlines() if ln.strip()]
    return lines[-1].removeprefix("error: ") if lines else "git apply failed"


def _dirty(root: Path, files: tuple[str, ...]) -> list[str]:
    proc = run_git(["status", "--porcelain", "-z", "--untracked-files=all", "--", *(":(literal)" + p for p in files)], root)
    out: list[str] = []
    entries = proc.stdout.decode(*ENC).split("\0")
    k = 0
    while k < len(entries):
        entry = entries[k]
        k += 1
        if len(entry) > 3:
            out.append(entry[3:])
            if entry[0] in "RC":
                k += 1  # the rename's source path follows
    return sorted(set(out))


def images(repo_root: Path, diff: str) -> dict[str, tuple[str | None, str | None]]:
    """Each file ``diff`` changes, by its path after the diff: its text in the work tree and after the diff
    (None where it does not exist). A file whose hunks do not apply exactly (git may still apply them with an
    offset) is left out."""
    return _images(Path(repo_root).resolve(), parse_diff(diff))


def _images(root: Path, fds: list[FileDiff]) -> dict[str, tuple[str | None, str | None]]:
    out: dict[str, tuple[str | None, str | None]] = {}
    for fd in fds:
        before = read_text(root, fd.old_path) if fd.old_path else None
        try:
            after = apply_hunks(before or "", fd.hunks) if fd.new_path is not None else None
        except ValueError:
            continue  # git said it applies; our strict reader is not the judge
        out[fd.path] = (before, after)
    return out


def _new_parse_errors(root: Path, fds: list[FileDiff], parse_errors: Callable[[str, str], int]) -> list[str]:
    warnings = []
    for path, (before, after) in _images(root, fds).items():
        if after is None:
            continue
        gained = parse_errors(path, after) - (parse_errors(path, before) if before is not None else 0)
        if gained > 0:
            warnings.append(f"{path}: the patch adds {counted(gained, 'syntax error')}")
    return warnings


def _read_bytes(full: Path) -> bytes | None:
    return full.read_bytes() if full.is_file() else None


def _entry_folders(undo_dir: Path) -> list[Path]:
    if not undo_dir.is_dir():
        return []
    return sorted((p for p in undo_dir.iterdir() if p.is_dir() and p.name.isdigit() and (p / "entry.json").is_file()), key=lambda p: int(p.name))


def _new_entry_folder(undo_dir: Path) -> Path:
    undo_dir.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in undo_dir.iterdir() if p.name.isdigit()]
    folder = undo_dir / f"{max(numbers, default=0) + 1:06d}"
    folder.mkdir()
    (folder / "pre").mkdir()
    return folder


def _record_pre_images(root: Path, files: tuple[str, ...], folder: Path) -> dict:
    items = []
    created: set[str] = set()
    for k, rel in enumerate(files):
        full = root / rel
        data = _read_bytes(full)
        item: dict = {"path": rel, "pre": None, "mode": None}
        if data is not None:
            (folder / "pre" / str(k)).write_bytes(data)
            item.update(pre=f"pre/{k}", mode=full.stat().st_mode & 0o7777)
        else:
            parent = full.parent
            while parent != root and not parent.exists():
                created.add(parent.relative_to(root).as_posix())
                parent = parent.parent
        items.append(item)
    return {
        "id": folder.name,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "repo": str(root),
        "state": "pending",
        "files": items,
        "created_dirs": sorted(created),
    }


def _write_json(path: Path, record: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _restore(full: Path, data: bytes | None, mode: int | None) -> None:
    if data is None:
        if full.is_file() or full.is_symlink():
            full.unlink()
        return
    full.parent.mkdir(parents=True, exist_ok=True)
    tmp = full.with_name(f".{full.name}.repo-assist-undo")
    tmp.write_bytes(data)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, full)


def _entry(folder: Path, record: dict) -> UndoEntry:
    diff_file = folder / "patch.diff"
    diff = diff_file.read_bytes().decode(*ENC) if diff_file.is_file() else ""
    return UndoEntry(record["id"], record["time"], tuple(i["path"] for i in record["files"]), diff, folder)
