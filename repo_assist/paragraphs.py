"""Which paragraph new lines belong to: the kind of a line (its leading word, or its import group) and how it is
written (its shape), against the lines of the paragraphs above and below where they are inserted."""

from __future__ import annotations

from .spacing import closes, depth, kind, shape


def paragraph(lines: list[str], i: int, step: int) -> list[str]:
    """The non-blank lines from ``i`` on, going up (step -1) or down (+1), up to a blank line."""
    out = []
    while 0 <= i < len(lines) and lines[i].strip():
        out.append(lines[i])
        i += step
    return out


def joins(line: str, others: list[str], rival: list[str] = ()) -> bool:  # type: ignore[assignment]
    """Is ``line`` of a kind the paragraph ``others`` has, or written just like one of its lines (same depth and
    shape)? An import is not written like an import of another group where the ``rival`` paragraph (across the
    blank lines) has its own group: the groups are what those blank lines keep apart."""
    if sibling(line, others) or not has_kind(line):
        return sibling(line, others)
    written, group = shape(line), kind(line)[1]
    strict = group.startswith("import ") and sibling(line, rival)
    return any(depth(p) == depth(line) and shape(p) == written and not (strict and _other_group(group, kind(p)[1]))
               for p in others)


def _other_group(one: str, other: str) -> bool:
    return one != other and one.startswith("import ") and other.startswith("import ")


def head(new: list[str]) -> str:
    """The last new line, or where that closes a block the new lines opened, the line that opened it."""
    last = new[-1]
    if not closes(last):
        return last
    return next((x for x in reversed(new[:-1]) if x.strip() and depth(x) == depth(last)), last)


def sibling(line: str, others: list[str]) -> bool:
    """Is ``line`` of a kind the lines ``others`` (a paragraph) already have?"""
    return has_kind(line) and kind(line) in {kind(p) for p in others if has_kind(p)}


def has_kind(line: str) -> bool:
    """Does the line have a kind to compare? (Blank lines have none; a closing bracket is of every kind, so of none.)"""
    return bool(line.strip()) and not closes(line)
