"""Read an answer written in the ``apply_patch`` envelope instead of edit blocks.

Why: OpenAI's open-weight models (gpt-oss, served by vLLM or Ollama) and the
agents trained with them write file changes in this format by habit, even
asked for SEARCH/REPLACE blocks::

    *** Begin Patch
    *** Update File: src/app.py
    @@ def greet():
    -    print("Hi")
    +    print("Hello")
    *** Add File: src/new.py
    +x = 1
    *** End Patch

An update's hunks are read like a unified diff's (context and removed lines
are what to find, context and added lines what to put there) and go through
the same tolerant cascade. The text after ``@@`` names the definition the hunk
is in (``@@ def greet():``; several ``@@`` lines in a row, outermost first);
like a diff's line numbers it only breaks a tie: a hunk whose lines occur in
several places goes to the one inside that definition, when exactly one is.
What is not an edit of a file's lines is reported as a problem, never half
done: deleting or moving a file, and lines added with no line quoted to
place them by (``apply_patch`` itself appends those at the end of the file;
a model rarely means that).
"""

from __future__ import annotations

import re

from .udiff import DiffEdit, hunk_lines, hunk_sides

__all__ = ["read_apply_patch", "writes_apply_patch"]

_OP_RE = re.compile(r"^\*\*\*\s*(Update|Add|Delete)\s+File:\s*(\S.*?)\s*$", re.IGNORECASE)
_MOVE_RE = re.compile(r"^\*\*\*\s*Move\s+to:\s*(\S.*?)\s*$", re.IGNORECASE)
_MARK_RE = re.compile(r"^\*\*\*\s*(?:Begin Patch|End Patch|End of File)\s*$", re.IGNORECASE)
_HUNK_RE = re.compile(r"^@@")
_NUMBERS_RE = re.compile(r"^\s*-\d+(?:,\d+)?\s+\+\d+(?:,\d+)?\s*@@")  # a unified diff's numbers, written out of habit


def writes_apply_patch(lines: list[str]) -> bool:
    """Does the answer use the envelope (a file operation line)?"""
    return any(_OP_RE.match(line) for line in lines)


def read_apply_patch(lines: list[str]) -> tuple[list[DiffEdit], list[str]]:
    """The envelope's file operations as edits, and a one-line description of each problem."""
    edits: list[DiffEdit] = []
    problems: list[str] = []
    i = 0
    while i < len(lines):
        op = _OP_RE.match(lines[i])
        if not op:
            i += 1
            continue
        verb, path, where = op.group(1).lower(), _unquote(op.group(2)), f"line {i + 1}"
        i += 1
        if verb == "delete":
            problems.append(f"{where}: deletes {path}; a whole file is not deleted by an edit (use `git rm`)")
        elif verb == "add":
            body, i = _added(lines, i)
            edits.append(DiffEdit(path, "", body, True))
        else:
            moved = _MOVE_RE.match(lines[i]) if i < len(lines) else None
            if moved:
                problems.append(f"{where}: moves {path} to {moved.group(1)}; a file is not moved by an edit "
                                "(use `git mv`)")
            i = _update(lines, i, path, edits, problems)
    return edits, problems


def _added(lines: list[str], i: int) -> tuple[str, int]:
    """A new file's text: its ``+`` lines up to the next operation or mark, and the index past them."""
    out: list[str] = []
    blanks = 0  # blank lines written without their "+": content only where a "+" line follows them
    while i < len(lines) and not (_OP_RE.match(lines[i]) or _MARK_RE.match(lines[i])):
        line = lines[i]
        if line.startswith("+"):
            out += ["\n"] * blanks + [line[1:] + "\n"]
            blanks = 0
        elif line.strip():  # the closing fence or prose: the file ends here
            break
        else:
            blanks += 1
        i += 1
    return "".join(out), i


def _update(lines: list[str], i: int, path: str, edits: list[DiffEdit], problems: list[str]) -> int:
    """Read an update's hunks from line ``i`` into ``edits``; the index past them."""
    while i < len(lines) and not _OP_RE.match(lines[i]):
        line = lines[i]
        if _MOVE_RE.match(line) or _MARK_RE.match(line) or not line.strip():
            i += 1
            continue
        # The first hunk may come without its @@ line, right under the file's line.
        if not (_HUNK_RE.match(line) or line[:1] in (" ", "+", "-")):
            break  # the closing fence or prose
        where = f"hunk at line {i + 1}"
        within: list[str] = []
        while i < len(lines) and _HUNK_RE.match(lines[i]):  # "@@ class A" then "@@ def f():": nested
            header = _NUMBERS_RE.sub("", lines[i][2:]).strip()
            within += [header] if header else []
            i += 1
        body, i = hunk_lines(lines, i)
        if not any(tag in "+-" for tag, _ in body):
            problems.append(f"{where}: changes nothing (no `+` or `-` lines)")
        elif not any(tag in " -" for tag, _ in body):
            problems.append(f"{where}: adds lines to {path} with no line of the file quoted to place them by")
        else:
            edits.append(DiffEdit(path, *hunk_sides(body), False, within=tuple(within)))
    return i


def _unquote(path: str) -> str:
    return path.strip("`\"'")
