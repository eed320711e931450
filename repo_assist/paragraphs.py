"""Which paragraph new lines belong to: the kind of a line (its leading word, or its import group) and how it is
written (its shape), against the lines of the paragraphs above and below where they are inserted."""

from __future__ import annotations

import re

from .spacing import COMMENT_RE, STRING_RE, closes, depth, kind, shape


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


def by_names(new: str, top: int, bottom: int, lines: list[str]) -> int | None:
    """Which side one new code line goes with by the names it uses: 0 (above: it uses a name the paragraph above
    uses and none of the one below's), 1 (below: the other way round), None (both, neither, or not code).

    ``defer cancel()`` goes on after ``ctx, cancel := …``; ``S = prefix + QUOTE`` goes before
    ``S_leaf = Leaf(…, S)``.
    Names are identifiers outside strings, less keywords and words every file has; comments and prose (four words
    in a row) are no code to read names from.
    """
    if any(COMMENT_RE.match(x) or _PROSE_RE.search(_unquoted(x)) for x in (new, lines[top], lines[bottom])):
        return None
    mine, above, below = _names([new]), _names(paragraph(lines, top, -1)), _names(paragraph(lines, bottom, 1))
    if mine & above and not mine & below:
        return 0
    if mine & below and not mine & above:
        return 1
    return None


def _names(lines: list[str]) -> set[str]:
    return {t for x in lines for t in _NAME_RE.findall(_unquoted(x)) if t.lower() not in _COMMON}


def _unquoted(line: str) -> str:
    return STRING_RE.sub(" ", line)


_NAME_RE = re.compile(r"[$@]*[A-Za-z_][\w$]*")
_PROSE_RE = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+ [A-Za-z]+")
_COMMON = frozenset(
    "self this true false null nil none new return var let const val def fn func function if else elif for while in of "
    "is not and or do end then fi done case switch break continue try catch except finally raise throw import from as "
    "use pub static public private protected final class struct int string bool void char long float double await "
    "async yield with lambda type typeof instanceof delete local echo export the a an to be it on at by".split()
)
