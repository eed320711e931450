"""Indentation units, and the change of unit a model made when it retyped a file's indentation.

Why a module of its own: models often quote a file's tabs as spaces, or four
spaces as two. A prefix shift cannot say that, and re-indenting new lines by
a prefix then writes mixed indentation (``\\t    x``) into the file. Here the
unit a file indents by and the unit a block indents by are read, and a change
of unit is accepted only when every SEARCH line indented by whole steps lands
on its file line's depth with one and the same level offset (an indented
line among them, unless no new line is indented), and only when
no prefix shift explains the quote (a quote of one depth fits both; read as
retyped, such quotes broke more prefix-shifted blocks than they fixed
retyped ones, measured on real commits) — unless the block's new lines
tell: shifted, some would sit off the file's steps from the quoted lines,
while retyped step for step (each depth keeping its count of steps) none
would, as when a model retypes a method's body and adds a definition after
it; or, where both units are of spaces, the block's lines nest one of its own
steps deeper than the line above them (shifted, not one of the file's). Where a new line
would still be indented unlike any line of the file (spaces in a file
indented only with tabs), ``foreign_indent`` finds it, so the block is
refused rather than written with mixed indentation. A tab the model wrote
into a file of spaces is left as written: retyping loses tabs, it does not
invent them (real commits put a tab into such files; refused, they were lost).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from .transfer import Shift, indent_of, steps_of

__all__ = ["Units", "foreign_indent", "line_shift", "unit"]

_MAX_STEP = 8  # a deeper step than this (in spaces) is alignment, not indentation
_SPACE_UNITS = ("    ", "  ", "        ")
_UNITS = ("\t", *_SPACE_UNITS)


@dataclass(frozen=True)
class Units:
    """The unit the block (SEARCH and REPLACE) indents by and the one the file does; None where it cannot be told.

    The file's is read from its ``lines`` when first asked: a block found exactly never needs it.
    """

    block: str | None
    lines: list[str] = field(repr=False, compare=False)
    replace: tuple[str, ...] = field(default=(), repr=False, compare=False)  # REPLACE's non-blank lines
    quoted: frozenset[str] = field(default=frozenset(), repr=False, compare=False)  # SEARCH's lines, stripped

    @cached_property
    def file(self) -> str | None:
        return unit(self.lines)

    @cached_property
    def new(self) -> tuple[str, ...]:
        """REPLACE's non-blank lines SEARCH lacks."""
        return tuple(x for x in self.replace if x.strip() not in self.quoted)

    @classmethod
    def read(cls, lines: list[str], search: list[str], replace: list[str]) -> "Units":
        block = unit(search, replace)
        if block is None:  # one depth throughout (of spaces): that depth is one step
            indents = {indent_of(x) for x in search + replace if x.strip()}
            only = next(iter(indents)) if len(indents) == 1 else ""
            block = only if only and not only.strip(" ") else None
        return cls(block, lines, tuple(x for x in replace if x.strip()), frozenset(x.strip() for x in search))


def unit(*texts: list[str]) -> str | None:
    """A tab where indented lines mostly start with one; else the commonest step in spaces between lines of two depths."""
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    for lines in texts:
        before: str | None = None
        for line in lines:
            if not line.strip():
                continue
            indent = indent_of(line)
            tabs += indent.startswith("\t")
            spaces += indent.startswith(" ")
            if before is not None and not indent.strip(" ") and not before.strip(" "):
                if 0 < abs(len(indent) - len(before)) <= _MAX_STEP:
                    steps[abs(len(indent) - len(before))] += 1
            before = indent
    if tabs > spaces:
        return "\t"
    if not steps:
        return None
    return " " * max(steps, key=lambda k: (steps[k], -k))


def _unit_shift(
    file_lines: list[str], search: list[str], file: str | None, block: str | None, flat: bool
) -> tuple[Shift, int] | None:
    """The change of unit that puts every SEARCH line indented by whole steps at its file line's depth, if one does,
    and how many quoted lines it reads as aligned past their steps unlike the file's (of several that fit, the one
    that reads fewest so: continuation lines six in above methods four in read as stepping by four, in a file that
    steps by two).

    The units read from the file and the block are tried first. Where they do
    not fit (a quote at two depths eight spaces apart steps by four, if the
    file's lines there are two steps apart), other units are tried — only on
    a quote of several depths: one depth fits any unit. Unindented lines
    agree with any unit, so an indented one must agree too, unless ``flat``:
    no new line is indented, so the unit is never used.
    """
    if file is None:
        return None
    if block not in _UNITS:
        # Read as stepping by no width or an odd one (a space between ``/**`` and `` *``, seven from an alignment):
        # the quote's shallowest indentation is one step, where that is a unit.
        shallowest = min((indent_of(s) for s in search if s.strip() and indent_of(s)), key=len, default=None)
        block = shallowest if shallowest in _UNITS else block
        if block is None:
            return None
    pairs = [(indent_of(f), indent_of(s)) for f, s in zip(file_lines, search) if s.strip()]
    narrower = [u for u in _SPACE_UNITS if file != "\t" and len(u) < len(file) and len(file) % len(u) == 0]
    tried = [(block, file)] + [(b, f) for f in (file, *narrower) for b in (block, "\t", *_SPACE_UNITS)]
    best: tuple[Shift, int] | None = None
    for k, (unit_from, unit_to) in enumerate(dict.fromkeys(tried)):
        one_depth = k == 0 and unit_from in _UNITS  # (a block read as stepping by seven spaces is aligned, not stepped)
        found = _levels(pairs, unit_from, unit_to, 1 if one_depth else 2, flat) if unit_from != unit_to else None
        if found is not None and (best is None or found[1] < best[1]):
            best = Shift(unit_from=unit_from, unit_to=unit_to, levels=found[0]), found[1]
            if not found[1]:
                break  # none read as aligned: no later fit can beat it
    return best


def _levels(pairs: list[tuple[str, str]], block: str, file: str, depths: int, flat: bool) -> tuple[int, int] | None:
    """The one level offset from ``block`` steps to ``file`` steps on every (file, SEARCH) indentation pair whose
    steps are followed by the same alignment (none, mostly), where those pairs span at least ``depths`` depths and,
    unless ``flat``, take in an indented line; and how many lines that leaves aligned past their steps."""
    levels: int | None = None
    seen = set()
    aligned = 0
    for f, s in pairs:
        s_steps, s_rest = steps_of(s, block)
        f_steps, f_rest = steps_of(f, file)
        if s_rest != f_rest:
            aligned += 1
            continue  # alignment past the steps unlike the file's: its own line is kept, so it need not agree
        if levels is None:
            levels = f_steps - s_steps
        elif levels != f_steps - s_steps:
            return None
        seen.add(s_steps)
    if levels is None or len(seen) < depths or not (flat or any(seen)):
        return None
    return levels, aligned


def line_shift(file_lines: list[str], search: list[str], units: Units) -> Shift | None:
    """The one indentation change that turns every non-blank SEARCH line into its file line: a prefix shift, or
    else a change of unit. The file's unit is the quoted lines' own where they show one (a file may quote code in
    another unit: shell in a Go string)."""
    shift = _prefix_shift(file_lines, search)
    if shift is None:
        fit = _retyped(file_lines, search, units)
        return fit[0] if fit else None
    # A quote of one depth fits a prefix shift and a change of unit alike (if it is indented at all: unindented, it
    # shows no unit); the new lines tell them apart where, shifted, some would be indented off the file's steps from
    # the quoted lines and, retyped step for step (each depth the same count of steps), none would.
    if shift.changes and units.new and any(indent_of(s) for s in search if s.strip()):
        fit = _retyped(file_lines, search, units)
        base = indent_of(next(f for f, s in zip(file_lines, search) if s.strip()))
        # (only a change of unit that reads every quoted line as stepped, as the shift does: one that must read a
        # quoted line as aligned past its steps, a `}` six in among lines eight in, explains the quote worse)
        if fit is not None and not fit[1] and fit[0].levels == 0 and (_off_steps(shift, units, base) or _nests_by(units)):
            return fit[0] if not _off_steps(fit[0], units, base) else shift
    return shift


def _retyped(file_lines: list[str], search: list[str], units: Units) -> tuple[Shift, int] | None:
    """The change of unit from the block's to the quoted lines' own unit, or to the whole file's where that reads
    fewer quoted lines as aligned past their steps, or where the own one fits nothing (a few quoted lines can read
    as stepping by seven spaces: a continuation aligned eleven in above a line four in); and how many quoted lines
    it reads as aligned."""
    flat = not any(indent_of(x) for x in units.new)
    files = dict.fromkeys((unit(file_lines) or units.file, units.file))
    fits = [fit for file in files if (fit := _unit_shift(file_lines, search, file, units.block, flat)) is not None]
    return min(fits, key=lambda fit: fit[1]) if fits else None  # (the first of those reading fewest lines aligned)


def _off_steps(shift: Shift, units: Units, base: str) -> int:
    """How many of the block's new lines ``shift`` indents other than whole steps of the file's unit away from
    ``base`` (the quoted lines' indentation in the file)."""
    step = units.file
    if step is None:
        return 0
    moved = [shift.try_apply(x) for x in units.new]
    if step == "\t":
        return sum(x is None or steps_of(indent_of(x), step)[1] != "" for x in moved)
    return sum(x is None or "\t" in indent_of(x) or (len(indent_of(x)) - len(base)) % len(step) != 0 for x in moved)


def _nests_by(units: Units) -> bool:
    """Does a line of the block sit one block step deeper than the line above it, where the block steps by other
    spaces than the file (so shifted, it would not sit one of the file's steps deeper)?"""
    step, file = units.block, units.file
    if not step or not file or step == file or "\t" in step + file:
        return False
    return any(len(indent_of(b)) - len(indent_of(a)) == len(step) for a, b in zip(units.replace, units.replace[1:]))


def _prefix_shift(file_lines: list[str], search: list[str]) -> Shift | None:
    shift: Shift | None = None
    for f, s in zip(file_lines, search):
        if not s.strip():
            continue
        fw, sw = indent_of(f), indent_of(s)
        if shift is None:
            if fw.endswith(sw):
                shift = Shift(added=fw[: len(fw) - len(sw)])
            elif sw.endswith(fw):
                shift = Shift(removed=sw[: len(sw) - len(fw)])
            else:
                return None
        moved = shift.try_apply(s)
        if moved is None or moved.rstrip() != f.rstrip():
            return None
    return shift or Shift()


def foreign_indent(lines: list[str], result: list[str]) -> str | None:
    """A new line of ``result`` whose indentation the file's never looks like, if any: in a file indented only with
    tabs, one that starts with a space or puts one before a tab (spaces after the tabs align, as in Go). Models lose
    tabs when they retype lines; they do not invent them, so a tab the model wrote into a file of spaces is its own."""
    if not any(x.startswith("\t") for x in lines) or any(x.startswith(" ") and x.strip() for x in lines):
        return None
    own = set(lines)
    for x in result:
        if x in own or not x.strip():
            continue
        indent = indent_of(x)
        if indent.startswith(" ") or " \t" in indent:
            return x
    return None
