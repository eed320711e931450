"""Continuation lines aligned just past a bracket of the line above, kept so across a change of indentation unit.

Why a module of its own: a change of unit (a file's four spaces quoted as two,
its tabs as spaces) maps whole steps, but a continuation line is not indented
by steps: it is aligned under the line above (``test_cond(ret == ERR &&`` then
its second operand just past the ``(``). How many of its leading spaces the
model meant as steps cannot be read from the line alone: ten spaces in a
block of two-space steps may be five steps, or four and an alignment of two.
The line above can tell. A new line the change of unit puts under no bracket
of the line above it, deeper than one step past it, is aligned just past one
when the model wrote it so in its own text (the line above's indentation and
as many spaces as lead to the bracket there, unless those are whole steps of
the model's unit: ``if (`` is four wide, and a hanging indent of two steps is
nesting), or else, more than two steps past it, when exactly one other
reading of its leading spaces (fewer of them steps, the rest alignment,
which retyping keeps) puts it there in the file (two steps past a YAML list
item's ``- if [`` is its body, a bracket six in or not).
"""

from __future__ import annotations

from .transfer import Shift, indent_of, steps_of

__all__ = ["as_file", "realigned_lines"]

_OPENERS = "([{"


def realigned_lines(shift: Shift, replace: list[str], quoted: set[str], quoted_as: dict[str, str | None]) -> dict[int, str]:
    """REPLACE's new lines aligned just past a bracket of the line above them, as the file has them (by index); a
    new line the model indents just as such a line above it goes with it."""
    out: dict[int, str] = {}
    if not shift.unit_from:
        return out
    above: int | None = None
    for j, x in enumerate(replace):
        if not x.strip():
            continue
        if above is not None and x.strip() not in quoted and indent_of(x) not in quoted_as:
            a_in = replace[above]
            a_out = out.get(above) or as_file(shift, a_in, quoted_as)
            moved = shift.try_apply(x)
            if above in out and indent_of(x) == indent_of(a_in):
                out[j] = indent_of(a_out) + x.lstrip()
            elif a_out is not None and moved is not None and (indent := _aligned(shift, a_in, a_out, x, moved)) is not None:
                out[j] = indent + x.lstrip()
        above = j
    return out


def as_file(shift: Shift, line: str, quoted_as: dict[str, str | None]) -> str | None:
    """One line indented as the file has it: a text line as quoted lines indented alike are (``quoted_as``), or else
    by the shift (None: it cannot be)."""
    known = quoted_as.get(indent_of(line)) if line.strip() else None
    return known + line.lstrip() if known is not None else shift.try_apply(line)


def _aligned(shift: Shift, above_in: str, above_out: str, line: str, moved: str) -> str | None:
    """The indentation for new line ``line`` (``moved`` by ``shift``) under ``above_in`` (written so by the model,
    ``above_out`` in the file) where it is aligned just past a bracket of that line and ``moved`` is not; else None."""
    if not above_out.strip() or _past_bracket(above_out, indent_of(moved)):
        return None
    step = len(shift.unit_to)
    if not _past(above_out, indent_of(moved), step):
        return None  # (one step past the line above is a hanging indent, a bracket there or not)
    own = indent_of(line)[len(indent_of(above_in)):]
    if indent_of(line).startswith(indent_of(above_in)) and _past_bracket(above_in, indent_of(line)):
        # (spaces that are whole steps of the model's unit past the line above may be nesting: ``if (`` is four wide)
        if "\t" in shift.unit_from or len(own) % len(shift.unit_from):
            return indent_of(above_out) + own
    if " " not in shift.unit_from or not _past(above_out, indent_of(moved), 2 * step):
        return None  # (two steps past the line above may be nesting too: a YAML list item's body)
    steps, rest = steps_of(indent_of(line), shift.unit_from)
    if "\t" in rest:
        return None
    found = []
    for k in range(steps - 1, -1, -1):
        if k + shift.levels < 0:
            break
        indent = shift.unit_to * (k + shift.levels) + shift.unit_from * (steps - k) + rest
        if _past(above_out, indent, step) and _past_bracket(above_out, indent):
            found.append(indent)
    return found[0] if len(found) == 1 else None


def _past(above: str, indent: str, step: int) -> bool:
    """Is ``indent`` deeper than ``step`` characters past the line ``above``?"""
    base = indent_of(above)
    return indent.startswith(base) and len(indent) - len(base) > step


def _past_bracket(above: str, indent: str) -> bool:
    """Does ``indent`` put a line just past an opening bracket of the line ``above``?"""
    base = indent_of(above)
    extra = indent[len(base):]
    if not indent.startswith(base) or not extra or extra.strip(" "):
        return False
    body = above[len(base):]
    return len(extra) <= len(body) and body[len(extra) - 1] in _OPENERS
