"""Git-style unified diffs: write them from file texts, read them back, replay them exactly.

Why our own writer: ``difflib.unified_diff`` knows nothing of ``diff --git``
headers, new/deleted file modes, ``\\ No newline at end of file`` or git's
path quoting, and ``git apply --check`` needs all of them. The reader is the
small subset needed to list a diff's files and replay its hunks in memory
(to count parse errors of the post-image without touching the work tree).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .errors import PatchError
from .markers import HUNK_RE

__all__ = ["HUNK_RE", "FileDiff", "apply_hunks", "make_diff", "parse_diff"]

ENC = ("utf-8", "surrogateescape")  # any byte survives str round trips
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
    head: list[str] = field(default_factory=list)  # the lines before the first hunk, from "diff --git" on
    headers: list[str] = field(default_factory=list)  # each hunk's "@@" line, as written

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def parse_diff(diff: str) -> list[FileDiff]:
    """The files and hunks of a git diff (enough of the format for ours and git's own)."""
    files: list[FileDiff] = []
    lines = _lines(diff)  # after "\n" only, as git reads it: a form feed or U+2028 stays inside its line
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("diff --git "):
            i += 1
            continue
        guess = _paths_from_git_line(line[len("diff --git "):].rstrip("\n"))
        fd = FileDiff(guess[0], guess[1], [], [line])
        i += 1
        while i < len(lines) and not lines[i].startswith(("diff --git ", "@@")):
            fd.head.append(lines[i])
            head = lines[i].rstrip("\n")
            if head.startswith("new file mode"):
                fd.old_path = None
            elif head.startswith("deleted file mode"):
                fd.new_path = None
            elif head.startswith(("rename from ", "copy from ")):
                fd.old_path = _unquote(head.split(" ", 2)[2])
            elif head.startswith(("rename to ", "copy to ")):
                fd.new_path = _unquote(head.split(" ", 2)[2])
            elif head.startswith("--- "):
                fd.old_path = _diff_name(head[4:])
            elif head.startswith("+++ "):
                fd.new_path = _diff_name(head[4:])
            i += 1
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
                tag = lines[i][:1]
                if tag in (" ", "-"):
                    old_left -= 1
                if tag in (" ", "+"):
                    new_left -= 1
                if tag not in (" ", "-", "+", "\\"):
                    raise PatchError(f"malformed hunk line: {lines[i].rstrip()}", "regenerate the diff")
                body.append(lines[i])
                i += 1
            fd.hunks.append((int(m.group(1)), body))
        files.append(fd)
    return files


def _paths_from_git_line(rest: str) -> tuple[str | None, str | None]:
    if rest.startswith('"'):
        m = re.match(r'^("(?:[^"\\]|\\.)*")\s+(.*)$', rest)
        if m:
            return _strip_prefix(_unquote(m.group(1))), _strip_prefix(_unquote(m.group(2)))
    half = (len(rest) - 1) // 2
    a, b = rest[:half], rest[half + 1:]
    if a[2:] == b[2:]:
        return _strip_prefix(a), _strip_prefix(b)
    return None, None


def _diff_name(text: str) -> str | None:
    text = text.rstrip("\t") if not text.startswith('"') else text
    text = text.split("\t")[0] if "\t" in text and not text.startswith('"') else text
    return None if text == "/dev/null" else _strip_prefix(_unquote(text))


def _strip_prefix(name: str) -> str:
    return name[2:] if name[:2] in ("a/", "b/") else name


def _unquote(text: str) -> str:
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        return text
    raw = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")
    return raw.decode(*ENC)


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
