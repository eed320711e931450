"""The cAST packing: whole-line chunk spans from a syntax tree and a token budget.

The children of a node are grouped into *line units* by the row they start on
(a unit runs to the row before the next one, so units tile their parent);
consecutive units are packed greedily while the chunk fits its budget; a unit
too big on its own is split by descending into its children, and a unit with
nothing left to descend into falls back to line windows. The walk uses an
explicit stack, so a deeply nested tree (a long chain of ``a + b + ...``) cannot
exhaust Python's recursion limit.

Rules on top of plain greedy packing, each to avoid a chunk nobody wants:

- A too-big *definition* closes the chunk before it, keeping the comments,
  decorators and attributes that lead into it, and its last piece is not
  packed with what follows: a function's chunks belong to that function.
- A definition's head (``class Runner:``, ``module Jobs``, ``impl Foo {``) is
  not left alone: when what follows it does not fit with it, that is split,
  so that the head starts its first piece.
- Comments, decorators and attributes that end a chunk move on to the next
  one when it starts a new chunk: documentation stays with what it documents
  (a comment on the row where code ends trails that code and stays).
- Closing punctuation (``}``, ``end``) and blank lines that would stand alone
  join the chunk before them.

Sizes are differences of prefix sums of per-line token counts, so one pass is
linear in the number of lines plus the nodes visited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

# Nodes that lead into the definition after them and should stay with it.
_ATTACHED_TYPES = frozenset(
    {"decorator", "attribute_item", "attribute_list", "attribute", "annotation", "marker_annotation"}
)
_HEAD_UNITS = 3  # a definition's head is at most its first units (keyword, name, comment)


def split_lines(text: str) -> list[str]:
    """Lines split on "\\n" only, each keeping its terminator ("\\r" stays inside).

    ``str.splitlines`` would also split on \\x0b, \\x0c, \\x1c, \\u2028 and more,
    which git, editors and tree-sitter do not count as line breaks.
    """
    parts = text.split("\n")
    last = parts.pop()
    lines = [part + "\n" for part in parts]
    if last:
        lines.append(last)
    return lines


class _Unit:
    """Nodes starting on one row; ``attached`` when they lead into what follows."""

    __slots__ = ("start", "end", "nodes", "attached")

    def __init__(self, start: int, end: int, nodes: list[Node], attached: bool) -> None:
        self.start, self.end, self.nodes, self.attached = start, end, nodes, attached


class _Frame:
    """The units of one node being split.

    ``closes``: the node is a definition, whose last chunk ends with it.
    ``head``: at a definition's own level (its node, or the body right after
    its head), the row where the definition's first chunk starts.
    """

    __slots__ = ("units", "index", "closes", "head")

    def __init__(self, units: list[_Unit], *, closes: bool, head: int | None) -> None:
        self.units, self.index, self.closes, self.head = units, 0, closes, head


def _group(nodes: list[Node], lo: int, hi: int) -> list[_Unit]:
    """Line units of ``nodes`` covering rows lo..hi exactly."""
    units: list[_Unit] = []
    previous_end = -1  # a comment on the row where code ends trails that code
    for node in nodes:
        row = min(max(node.start_point.row, lo), hi)
        if units and row <= units[-1].start:
            units[-1].nodes.append(node)
            units[-1].attached = units[-1].attached and _is_attached(node)
        else:
            units.append(_Unit(row, hi, [node], row > previous_end and _is_attached(node)))
        previous_end = max(previous_end, node.end_point.row)
    if not units:
        return [_Unit(lo, hi, [], False)]
    units[0].start = lo
    for before, after in zip(units, units[1:]):
        before.end = after.start - 1
    units[-1].end = hi
    return units


def _expand(nodes: list[Node]) -> list[Node]:
    """The children of ``nodes``, leaves kept as themselves."""
    out: list[Node] = []
    for node in nodes:
        if node.child_count:
            out.extend(node.children)
        else:
            out.append(node)
    return out


def _is_attached(node: Node) -> bool:
    kind = node.type
    return kind in _ATTACHED_TYPES or "comment" in kind


def _is_closing(node: Node) -> bool:
    return not node.is_named or "comment" in node.type


class Packer:
    """Chunk spans (0-based inclusive rows) of one file.

    ``prefix[i]`` is the token count of rows ``0..i-1``; ``budget(start)`` is
    the token budget of a chunk that starts on row ``start`` (the window less
    its scope header, which depends on where the chunk starts).
    """

    def __init__(self, prefix: list[int], budget: Callable[[int], int]) -> None:
        self.prefix = prefix
        self.budget = budget
        self.spans: list[list[int]] = []

    def fits(self, start: int, end: int) -> bool:
        return self.prefix[end + 1] - self.prefix[start] <= self.budget(start)

    def _blank(self, start: int, end: int) -> bool:
        return self.prefix[end + 1] == self.prefix[start]

    def windows(self, lo: int, hi: int, current: list[int] | None = None) -> list[int]:
        """Greedy line windows over lo..hi, continuing the open span ``current``.

        A line too long for any window stands alone. Returns the last window,
        still open (not yet in ``spans``) so that what follows may join it.
        """
        for row in range(lo, hi + 1):
            if current is not None and (self._blank(row, row) or self.fits(current[0], row)):
                current[1] = row
            else:
                if current is not None:
                    self.spans.append(current)
                current = [row, row]
        assert current is not None  # lo <= hi
        return current

    def pack(self, root: Node, last_row: int, definition_ids: frozenset[int]) -> None:
        """Append the cAST spans of rows 0..last_row under ``root``."""
        spans, fits, blank = self.spans, self.fits, self._blank
        cur: list[int] | None = None  # the open chunk
        attach: int | None = None  # first row of the attached units that end ``cur``
        frames = [_Frame(_group(root.children, 0, last_row), closes=True, head=None)]
        while frames:
            frame = frames[-1]
            if frame.index == len(frame.units):
                frames.pop()
                if frame.closes and cur is not None:
                    spans.append(cur)
                    cur = attach = None
                continue
            unit = frame.units[frame.index]
            frame.index += 1
            nodes = unit.nodes
            empty = blank(unit.start, unit.end)
            attached = unit.attached
            if cur is not None and (empty or fits(cur[0], unit.end)):
                cur[1] = unit.end
                attach = (unit.start if attach is None else attach) if attached else None
                continue
            if (
                cur is None
                and spans
                and spans[-1][1] == unit.start - 1
                and (
                    empty
                    or (
                        frame.index == len(frame.units)
                        and nodes
                        and all(_is_closing(n) for n in nodes)
                        and fits(spans[-1][0], unit.end)
                    )
                )
            ):
                spans[-1][1] = unit.end  # a lone "}" or "end" joins the chunk it closes
                continue
            is_definition = any(n.id in definition_ids for n in nodes)
            splittable = unit.start < unit.end and any(n.child_count for n in nodes)
            head_only = (  # ``cur`` holds only the head of the definition being split
                cur is not None and cur[0] == frame.head and frame.index <= _HEAD_UNITS
            )
            if splittable and not is_definition and head_only:
                # Split the body rather than leave the head alone.
                frames.append(
                    _Frame(_group(_expand(nodes), unit.start, unit.end), closes=False, head=frame.head)
                )
                continue
            if fits(unit.start, unit.end):
                start = unit.start
                if cur is not None:
                    if attach is not None and attach > cur[0] and fits(attach, unit.end):
                        start = attach  # a doc comment moves on with what it documents
                    spans.append([cur[0], start - 1] if start < unit.start else cur)
                cur, attach = [start, unit.end], (start if attached else None)
                continue
            # Too big alone: split it. A definition first closes the chunk before it.
            lo = unit.start
            if is_definition and cur is not None and not head_only:
                if attach is not None:
                    if attach > cur[0]:
                        spans.append([cur[0], attach - 1])
                    lo = attach  # its comments and decorators go with it
                else:
                    spans.append(cur)
                cur = attach = None
            if not splittable:
                cur, attach = self.windows(lo, unit.end, cur), None
                if is_definition:
                    spans.append(cur)
                    cur = None
                continue
            if is_definition:
                head = lo if cur is None else cur[0]
            else:  # the definition's node regrouped ("class X {" and its body share a row)
                head = frame.head if frame.index == 1 else None
            frames.append(_Frame(_group(_expand(nodes), lo, unit.end), closes=is_definition, head=head))
        if cur is not None:
            spans.append(cur)
