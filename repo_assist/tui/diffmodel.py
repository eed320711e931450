"""A unified diff as files and hunks a person can accept or reject, and the partial diff they chose.

Why the review needs its own split: ``patch`` checks and applies whole
diffs; reviewing means keeping some hunks and dropping others, which is a
text operation on the diff (keep each accepted hunk verbatim, renumber the
new-side line numbers for the hunks dropped before it). The result goes back
through ``patch.check`` (``git apply --check``) and ``patch.apply``, so git
stays the judge of whether it applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import PatchError

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


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
        m = _HUNK_RE.match(self.header)
        tail = m.group(5) if m else ""
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
    """The files of a git-style unified diff; PatchError when a hunk is malformed."""
    lines = diff.splitlines(keepends=True)
    files: list[FileChange] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("diff --git "):
            i += 1
            continue
        head = [lines[i]]
        i += 1
        while i < len(lines) and not lines[i].startswith(("diff --git ", "@@")):
            head.append(lines[i])
            i += 1
        hunks: list[Hunk] = []
        while i < len(lines) and lines[i].startswith("@@"):
            m = _HUNK_RE.match(lines[i].rstrip("\n"))
            if not m:
                raise PatchError(f"malformed hunk header: {lines[i].strip()}", "regenerate the diff")
            old_len = int(m.group(2)) if m.group(2) is not None else 1
            new_len = int(m.group(4)) if m.group(4) is not None else 1
            old_left, new_left = old_len, new_len
            header = lines[i].rstrip("\n")
            body: list[str] = []
            i += 1
            while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
                tag = lines[i][:1]
                if tag not in (" ", "-", "+", "\\"):
                    raise PatchError(f"malformed hunk line: {lines[i].rstrip()}", "regenerate the diff")
                old_left -= tag in (" ", "-")
                new_left -= tag in (" ", "+")
                body.append(lines[i])
                i += 1
            hunks.append(Hunk(header, int(m.group(1)), old_len, int(m.group(3)), new_len, tuple(body)))
        files.append(FileChange(_path_of(head), tuple(head), tuple(hunks), _kind(head)))
    return files


def _kind(head: list[str]) -> str:
    for line in head:
        if line.startswith("new file mode"):
            return "added"
        if line.startswith("deleted file mode"):
            return "deleted"
        if line.startswith("rename from"):
            return "renamed"
    return "modified"


def _path_of(head: list[str]) -> str:
    for prefix in ("+++ b/", "rename to ", "--- a/"):
        for line in head:
            if line.startswith(prefix):
                return line[len(prefix):].rstrip("\n").rstrip("\t")
    rest = head[0][len("diff --git "):].rstrip("\n")
    half = (len(rest) - 1) // 2
    return rest[half + 1:][2:] if rest[:half][2:] == rest[half + 1:][2:] else rest


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

