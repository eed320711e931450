"""The lines a definition spans, read from indentation: where a hunk says which definition it is in.

Why: the ``apply_patch`` envelope heads a hunk with the definition it edits
(``@@ def greet():``, or ``@@ class A`` then ``@@ def f():``). Where the
hunk's lines occur in several places, the one inside that definition is
the one meant. A definition spans from its line to the next line indented
no deeper than it (a closing ``}``/``end`` at its own depth still belongs to
it). The named line must be found once, written as in the file (trimmed),
or as the start of exactly one line (``class A`` for ``class A(Base):``);
otherwise it names nothing and decides nothing.
"""

from __future__ import annotations

import re

from .spacing import depth

__all__ = ["named_scope"]

_CLOSING_RE = re.compile(r"^(?:[\]\)\}]+[;,]?|end)$")  # a line that only closes what the definition opened


def named_scope(lines: list[str], within: tuple[str, ...]) -> tuple[int, int] | None:
    """The [start, end) line range of the innermost definition ``within`` names, outermost first; None if any name
    is not found exactly once inside the one before it."""
    lo, hi = 0, len(lines)
    if not within:
        return None
    for name in within:
        at = _find_once(lines, name.strip(), lo, hi)
        if at is None:
            return None
        lo, hi = at, _end(lines, at, hi)
    return lo, hi


def _find_once(lines: list[str], name: str, lo: int, hi: int) -> int | None:
    if not name:
        return None
    for hits in ([i for i in range(lo, hi) if lines[i].strip() == name],
                 [i for i in range(lo, hi) if lines[i].strip().startswith(name)]):
        if hits:
            return hits[0] if len(hits) == 1 else None
    return None


def _end(lines: list[str], at: int, hi: int) -> int:
    own = depth(lines[at])
    for j in range(at + 1, hi):
        line = lines[j]
        if line.strip() and depth(line) <= own:
            return j + 1 if _CLOSING_RE.match(line.strip()) else j
    return hi
