"""Git-style unified diffs: write them from file texts, read them back, replay them exactly.

Why our own writer: ``difflib.unified_diff`` knows nothing of ``diff --git``
headers, new/deleted file modes, ``\\ No newline at end of file`` or git's
path quoting, and ``git apply --check`` needs all of them. The reader lists
every file section ``git apply`` would apply (``diff --git`` ones and plain
``diff -u`` ones, names read by git's rules in ``diffnames``), since the path
check, the uncommitted-changes check and undo all go by that list, and it
replays hunks in memory (to count parse errors of the post-image without
touching the work tree).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .diffnames import ENC, NameState, dev_null, epoch_stamp, find_name, git_header_name, guess_p, traditional_name
from .errors import PatchError
from .markers import HUNK_RE

__all__ = ["ENC", "HUNK_RE", "FileDiff", "apply_hunks", "make_diff", "parse_diff"]

_NEEDS_QUOTE = re.compile(r'["\\\x00-\x1f\x7f]')


def make_diff(old: Mapping[str, str | None], new: Mapping[str, str | None], modes: Mapping[str, str] | None = None) -> str:
    """A git-style unified diff (3 lines of context) from ``old`` to ``new``, files in sorted order.

    None means the file does not exist; a path missing from ``new`` is unchanged.
    ``modes`` gives the mode of deleted files when not 100644.
    """
    chunks: list[str] = []
    for path in sorted(set(old) | set(new)):
        before = old.get(path)
        after = new.get(path, before)
        if before == after:
            continue
        a_name, b_name = _quote("a/" + path), _quote("b/" + path)
        head = [f"diff --git {a_name} {b_name}\n"]
        if before is None:
            head.append("new file mode 100644\n")
        elif after is None:
            head.append(f"deleted file mode {(modes or {}).get(path, '100644')}\n")
        a_lines = _lines(before or "")
        b_lines = _lines(after or "")
        if a_lines or b_lines:
            head.append(f"--- {'/dev/null' if before is None else _tab(a_name)}\n")
            head.append(f"+++ {'/dev/null' if after is None else _tab(b_name)}\n")
        chunks.append("".join(head) + _hunks(a_lines, b_lines))
    return "".join(chunks)


def _lines(text: str) -> list[str]:
    """Lines split after ``\n`` only, as git sees them (``\r`` stays part of the line)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _hunks(a: list[str], b: list[str]) -> str:
    out: list[str] = []
    for group in SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(3):
        a1, a2, b1, b2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(a1, a2)} +{_range(b1, b2)} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_hunk_line(" ", line) for line in a[i1:i2])
                continue
            out.extend(_hunk_line("-", line) for line in a[i1:i2])
            out.extend(_hunk_line("+", line) for line in b[j1:j2])
    return "".join(out)


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _hunk_line(tag: str, line: str) -> str:
    return tag + line if line.endswith("\n") else f"{tag}{line}\n\\ No newline at end of file\n"


def _quote(name: str) -> str:
    """C-quote a diff path the way git does when it holds quotes, backslashes or control bytes."""
    if not _NEEDS_QUOTE.search(name):
        return name
    escapes = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    body = "".join(escapes.get(ch, f"\\{ord(ch):03o}" if ord(ch) < 32 or ord(ch) == 127 else ch) for ch in name)
    return f'"{body}"'


def _tab(name: str) -> str:
    return name + "\t" if " " in name and not name.startswith('"') else name


@dataclass(slots=True)
class FileDiff:
    """One file of a diff: its old and new path and its hunks."""

    old_path: str | None  # None for a new file
    new_path: str | None  # None for a deleted file
    hunks: list[tuple[int, list[str]]]  # (old start, lines with their +/-/space/\ tag)
    head: list[str] = field(default_factory=list)  # the lines before the first hunk, from "diff --git" (or "---") on
    headers: list[str] = field(default_factory=list)  # each hunk's "@@" line, as written

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def parse_diff(diff: str) -> list[FileDiff]:
    """Every file section ``git apply`` reads in ``diff``, named as git names it: ``diff --git`` sections, and
    traditional ones (a ``---`` line, a ``+++`` line, a hunk), as ``diff -u`` writes them. Lines git would skip
    (a mail's text, a commit message) are skipped."""
    files: list[FileDiff] = []
    lines = _lines(diff)  # after "\n" only, as git reads it: a form feed or U+2028 stays inside its line
    names = NameState()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            fd, i = _git_section(lines, i, names.p)
        elif line.startswith("--- ") and lines[i + 1:i + 2] and lines[i + 1].startswith("+++ ") \
                and lines[i + 2:i + 3] and lines[i + 2].startswith("@@ -"):
            fd = _traditional_section(lines[i], lines[i + 1], names)
            i += 2
        else:
            i += 1
            continue
        i = _hunks_of(fd, lines, i)
        files.append(fd)
    return files


# the lines git reads as part of a "diff --git" header; any other line ends it
_GIT_HEAD = ("--- ", "+++ ", "old mode ", "new mode ", "deleted file mode ", "new file mode ", "copy from ", "copy to ",
             "rename old ", "rename new ", "rename from ", "rename to ", "similarity index ", "dissimilarity index ",
             "index ")


def _git_section(lines: list[str], i: int, p: int) -> tuple[FileDiff, int]:
    """A ``diff --git`` header from line ``i``, its names found as git apply finds them, and the line after it."""
    default = git_header_name(_text(lines[i])[len("diff --git "):], p)
    old: str | None = None
    new: str | None = None
    created = deleted = False
    head = [lines[i]]
    i += 1
    while i < len(lines) and lines[i].startswith(_GIT_HEAD) and lines[i].endswith("\n"):
        text = _text(lines[i])
        head.append(lines[i])
        i += 1
        key, _, rest = text.partition(" ")
        if text.startswith("--- "):
            old = old if old is not None or created else find_name(rest, p)
        elif text.startswith("+++ "):
            new = new if new is not None or deleted else find_name(rest, p)
        elif text.startswith("new file mode "):
            created, new = True, default
        elif text.startswith("deleted file mode "):
            deleted, old = True, default
        elif key in ("rename", "copy"):
            side, _, name = rest.partition(" ")
            if side in ("from", "old"):
                old = find_name(name, max(p - 1, 0), tab_ends=False)
            elif side in ("to", "new"):
                new = find_name(name, max(p - 1, 0), tab_ends=False)
    if old is None and new is None:
        old = new = default
    return FileDiff(None if created else old, None if deleted else new, [], head), i


def _traditional_section(minus: str, plus: str, names: NameState) -> FileDiff:
    """A ``---``/``+++`` header (no ``diff --git``): /dev/null or GNU diff's epoch timestamp marks a new or deleted
    file; otherwise git takes the ``+++`` name (the ``---`` one when it is that name's beginning)."""
    first, second = _text(minus)[4:], _text(plus)[4:]
    guess_p(names, first, second)
    p = names.p
    if dev_null(first):
        old, new = None, traditional_name(second, None, p)
    elif dev_null(second):
        old, new = traditional_name(first, None, p), None
    else:
        name = traditional_name(second, traditional_name(first, None, p), p)
        old = None if epoch_stamp(first) else name
        new = None if old is not None and epoch_stamp(second) else name
    return FileDiff(old, new, [], [minus, plus])


def _text(line: str) -> str:
    return line[:-1] if line.endswith("\n") else line


def _hunks_of(fd: FileDiff, lines: list[str], i: int) -> int:
    """Read the hunks from line ``i`` into ``fd``; the line after them."""
    while i < len(lines) and lines[i].startswith("@@"):
        m = HUNK_RE.match(lines[i])
        if not m:
            raise PatchError(f"malformed hunk header: {lines[i].strip()}", "regenerate the diff")
        old_left = int(m.group(2)) if m.group(2) is not None else 1
        new_left = int(m.group(4)) if m.group(4) is not None else 1
        body: list[str] = []
        fd.headers.append(lines[i])
        i += 1
        while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
            line = " \n" if lines[i] == "\n" else lines[i]  # an empty line is an empty context line (GNU diff)
            tag = line[:1]
            if tag in (" ", "-"):
                old_left -= 1
            if tag in (" ", "+"):
                new_left -= 1
            if tag not in (" ", "-", "+", "\\"):
                raise PatchError(f"malformed hunk line: {line.rstrip()}", "regenerate the diff")
            body.append(line)
            i += 1
        fd.hunks.append((int(m.group(1)), body))
    return i


def apply_hunks(before: str, hunks: list[tuple[int, list[str]]]) -> str:
    """The post-image of ``before`` under exact hunks (ValueError when context disagrees)."""
    old = _lines(before)
    out: list[str] = []
    pos = 0
    for start, body in hunks:
        begin = max(start - 1, 0) if any(l[:1] in " -" for l in body) else start
        out.extend(old[pos:begin])
        pos = begin
        for k, line in enumerate(body):
            tag, text = line[:1], line[1:]
            if tag == "\\":
                continue
            if k + 1 < len(body) and body[k + 1].startswith("\\"):
                text = text[:-1]
            if tag in (" ", "-"):
                if pos >= len(old) or old[pos] != text:
                    raise ValueError(f"context differs at line {pos + 1}")
                pos += 1
            if tag in (" ", "+"):
                out.append(text)
    out.extend(old[pos:])
    return "".join(out)
