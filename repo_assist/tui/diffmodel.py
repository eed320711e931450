"""A unified diff as files and hunks a person can accept or reject, and the partial diff they chose.

Why the review needs its own split: ``patch`` checks and applies whole
diffs; reviewing means keeping some hunks and dropping others, which is a
text operation on the diff (keep each accepted hunk verbatim, renumber the
new-side line numbers for the hunks dropped before it). The result goes back
through ``patch.check`` (``git apply --check``) and ``patch.apply``, so git
stays the judge of whether it applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import diffs


@dataclass(frozen=True, slots=True)
class Hunk:
    header: str  # the "@@ ... @@ context" line, without its newline
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    body: tuple[str, ...]  # lines with their " ", "-", "+" or "\\" tag, newlines kept

    @property
    def added(self) -> int:
        return sum(1 for line in self.body if line.startswith("+"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.body if line.startswith("-"))

    def with_new_start(self, new_start: int) -> str:
        old = f"{self.old_start},{self.old_len}" if self.old_len != 1 else f"{self.old_start}"
        new = f"{new_start},{self.new_len}" if self.new_len != 1 else f"{new_start}"
        m = diffs.HUNK_RE.match(self.header)
        tail = self.header[m.end():] if m else ""
        return f"@@ -{old} +{new} @@{tail}\n" + "".join(self.body)


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    head: tuple[str, ...]  # "diff --git", mode, index, ---, +++ lines
    hunks: tuple[Hunk, ...]
    kind: str  # modified, added, deleted, renamed

    @property
    def units(self) -> int:
        """How many accept/reject decisions this file has (a hunk-less change is one)."""
        return max(1, len(self.hunks))


def parse_diff(diff: str) -> list[FileChange]:
    """The files of a git-style unified diff (read by ``diffs.parse_diff``); PatchError when a hunk is malformed."""
    files: list[FileChange] = []
    for fd in diffs.parse_diff(diff):
        hunks = []
        for header, (old_start, body) in zip(fd.headers, fd.hunks):
            m = diffs.HUNK_RE.match(header)
            assert m is not None  # diffs.parse_diff read it with the same pattern
            old_len = int(m.group(2)) if m.group(2) is not None else 1
            new_len = int(m.group(4)) if m.group(4) is not None else 1
            hunks.append(Hunk(header.rstrip("\n"), old_start, old_len, int(m.group(3)), new_len, tuple(body)))
        files.append(FileChange(fd.path, tuple(fd.head), tuple(hunks), _kind(fd)))
    return files


def _kind(fd: diffs.FileDiff) -> str:
    if fd.old_path is None:
        return "added"
    if fd.new_path is None:
        return "deleted"
    return "renamed" if any(line.startswith("rename from") for line in fd.head) else "modified"


def select(files: list[FileChange], accepted: set[tuple[int, int]]) -> str:
    """The diff of only the accepted ``(file index, hunk index)`` units, new-side numbers fixed.

    A file with no accepted hunk is left out; a hunk-less change (a rename,
    a mode change, an empty new file) is the unit ``(file, 0)``.
    """
    out: list[str] = []
    for fi, fc in enumerate(files):
        if not fc.hunks:
            if (fi, 0) in accepted:
                out.extend(fc.head)
            continue
        keep = [hi for hi in range(len(fc.hunks)) if (fi, hi) in accepted]
        if not keep:
            continue
        out.extend(fc.head)
        shift_all = shift_kept = 0
        for hi, h in enumerate(fc.hunks):
            # the offset quirk of empty sides (0 vs start-1) is kept as the original diff wrote it
            quirk = h.new_start - h.old_start - shift_all
            if hi in keep:
                out.append(h.with_new_start(h.old_start + shift_kept + quirk))
                shift_kept += h.new_len - h.old_len
            shift_all += h.new_len - h.old_len
    return "".join(out)


def all_units(files: list[FileChange]) -> set[tuple[int, int]]:
    return {(fi, hi) for fi, fc in enumerate(files) for hi in range(fc.units)}

