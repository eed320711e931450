"""Read the unified-diff hunks of a model that answered with a diff instead of edit blocks.

Why: asked for SEARCH/REPLACE blocks, models (small ones above all) often
write a diff anyway: a ``diff`` fence, ``--- a/x`` / ``+++ b/x`` headers,
``@@`` hunks. They get a diff's line numbers and counts wrong (or leave the
``@@`` line out), drop the space before a blank context line, and stop a
hunk wherever they like, so ``git apply`` rejects what they meant. Each
hunk is read as one edit instead, the way Aider reads its udiff format: its
context and removed lines are what to find, its context and added lines
what to put there; the edit then goes through the same tolerant matching
cascade as a block, which refuses what it cannot place. The numbers only
break a tie, the way ``git apply`` uses them: where the hunk's lines occur in
several places, the one within a few lines of where its ``@@`` line says it
starts is taken, if every other place is far from there; else the one inside
the definition git's function context after the numbers names
(``@@ -3,4 +3,4 @@ def greet():``), if exactly one is (``scopes.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .markers import HUNK_RE

__all__ = ["DiffEdit", "hunk_lines", "hunk_sides", "read_diff"]

_OLD_RE = re.compile(r"^---\s+(\S.*?)\s*$")
_NEW_RE = re.compile(r"^\+\+\+\s+(\S.*?)\s*$")
_HUNK_RE = re.compile(r"^@@.*$")
_CONTEXT_RE = re.compile(r"^@@[^@]*+@@[ \t]*+(\S.*)$")  # git's function context after the numbers
_GIT_RE = re.compile(r"^diff --git |^index [0-9a-f]+\.\.|^(?:new|deleted) file mode |^similarity index ")
_NULL = "/dev/null"


@dataclass(frozen=True, slots=True)
class DiffEdit:
    """One hunk as an edit: the path as written, the lines to find, the lines to put there."""

    path: str
    search: str
    replace: str
    creating: bool  # the diff creates the file (``--- /dev/null``)
    line: int | None = None  # where the ``@@`` line says the hunk starts in the file as edited so far
    within: tuple[str, ...] = ()  # the definitions the hunk is in: an apply_patch hunk's ``@@`` lines, a diff's context


def read_diff(lines: list[str], path_above: Callable[[int, int], str | None]) -> tuple[list[DiffEdit], list[str]]:
    """The hunks of every file diff in ``lines`` as edits, and a one-line description of each problem.

    A hunk's file is the one its ``---``/``+++`` header names; with no header
    since the last hunk, the path written above it (``path_above(line, after)``
    looks between line ``after`` and the hunk), else the previous hunk's.
    """
    edits: list[DiffEdit] = []
    problems: list[str] = []
    old = new = None
    headed = False  # a header came after the last hunk
    last_end = -1
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _header_at(lines, i)
        if header:
            old, new = header
            headed = True
            i += 2
            continue
        # A hunk starts at its @@ line, or right under a file header where the model left the @@ line out.
        bare = headed and lines[i - 1].startswith("+++") and line[:1] in (" ", "+", "-")
        if not (_HUNK_RE.match(line) or bare):
            i += 1
            continue
        if not headed:
            above = path_above(i, last_end)
            if above is not None:
                old = new = above
        where = f"hunk at line {i + 1}"
        numbers = HUNK_RE.match(line)
        body, i = hunk_lines(lines, i if bare else i + 1)
        headed, last_end = False, i - 1
        if new is None and old is None:
            problems.append(f"{where}: no `--- a/FILE` / `+++ b/FILE` header or path line names its file")
        elif new == _NULL:
            problems.append(f"{where}: deletes {old}; a whole file is not deleted by an edit (use `git rm`)")
        elif not any(tag in "+-" for tag, _ in body):
            problems.append(f"{where}: changes nothing (no `+` or `-` lines)")
        else:
            search, replace = hunk_sides(body)
            start = int(numbers.group(3)) if numbers else None
            context = _CONTEXT_RE.match(line) if not bare else None
            edits.append(DiffEdit(new or old, search, replace, old == _NULL, start,  # type: ignore[arg-type]
                                  (context.group(1).strip(),) if context else ()))
    return edits, problems


def hunk_lines(lines: list[str], i: int) -> tuple[list[tuple[str, str]], int]:
    """The (tag, text) lines of the hunk starting at ``i``, and the index just past it.

    A hunk ends at the next hunk or file header, or a line no diff line starts
    like (the closing fence). An empty line is a blank context line (models
    drop its space) when the hunk goes on after it, and the hunk's end
    otherwise.
    """
    body: list[tuple[str, str]] = []
    blanks = 0
    while i < len(lines):
        line = lines[i]
        if _HUNK_RE.match(line) or _GIT_RE.match(line):
            break
        if _header_at(lines, i):
            break
        if line == "":
            blanks += 1
        elif line[0] in " +-":  # a diff line, even one that looks like a fence (`` ```ts`` in a README)
            body += [(" ", "")] * blanks + [(line[0], line[1:])]
            blanks = 0
        elif not line.startswith("\\"):  # the closing fence, prose; "\ No newline at end of file" is skipped
            break
        i += 1
    return body, i - blanks


def hunk_sides(body: list[tuple[str, str]]) -> tuple[str, str]:
    """A hunk as an edit: its context and removed lines (what to find), its context and added lines (what to put)."""
    return ("".join(text + "\n" for tag, text in body if tag in " -"),
            "".join(text + "\n" for tag, text in body if tag in " +"))


def _header_at(lines: list[str], i: int) -> tuple[str, str] | None:
    """The (old, new) paths of a ``---``/``+++`` file header starting at line ``i``, or None."""
    old = _OLD_RE.match(lines[i])
    new = _NEW_RE.match(lines[i + 1]) if old and i + 1 < len(lines) else None
    return (_name(old.group(1)), _name(new.group(1))) if old and new else None


def _name(written: str) -> str:
    """A header's path without git's ``a/``/``b/`` prefix, quotes or a trailing timestamp."""
    name = written.split("\t")[0].strip().strip('"')
    if name != _NULL and name[:2] in ("a/", "b/"):
        name = name[2:]
    return name
