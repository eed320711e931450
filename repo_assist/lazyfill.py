"""A lazy REPLACE (``// ... existing code ...`` for lines SEARCH spells out) filled in from SEARCH.

Why a module of its own: models told to quote code in full still write
their change lazily, keeping the lines they do not touch as a comment
(``# ... existing code ...``, ``// ... rest of the class ...``). Read as
text, that would delete the elided lines; refused, a small model rarely
does better on a retry. Where the elision can stand for only one run of
SEARCH lines, it is written out as those lines, and the block applies as if
the model had written them itself; wherever the reading is open, the block
stays refused.

The reading: SEARCH and REPLACE are aligned line by line (a quoted line is
one REPLACE writes as SEARCH does, indentation and all: a line re-indented is
changed); an elision stands for the SEARCH lines between the quoted lines
nearest it above and below (from SEARCH's start, or to its end, where there
is none on that side). It is open, and refused, where:

- a quoted line beside it is one SEARCH has more than once between lines it
  has once (a lone ``}`` or ``///``: which of them is meant?);
- a new line sits between it and a quoted line (added after the elided lines,
  or rewriting the last of them?); at the very start or end of REPLACE, new
  lines go before or after what it keeps, unless one reads as an elided line
  rewritten (``return default`` beside an elided ``return None``; ``def
  get(self, key, default=None):`` beside ``def get(self, key):``), or is
  deeper than the elided line it goes next to (after a closing ``}``, a line
  indented as the block's body belongs inside it);
- the blank lines between it and a quoted line are not as many as that
  line's own blank neighbours in SEARCH (which lines are elided?);
- it stands for no line (the file's own comment, or lines never quoted), or
  another elision, not a quoted line, is its neighbour;
- the two ways of aligning the sides (from the start, from the end) read it
  differently; or, filled in, the block changes nothing.

A quoted line that REPLACE neither keeps nor elides is deleted, as in any
block. On real commits written out lazily (``bench/patch_bench.py``'s
lazy-replace row), leaving out either of the first two rules lets through
more wrong patches than it gains exact ones; the others hold the cases
built by hand in ``tests/test_lazyfill.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

__all__ = ["filled_in"]

_HEAD_RE = re.compile(r"[\w.$@]+")
_NAME_RE = re.compile(r"([\w$]+)\s*[(=:{<]")
# Words that open a definition: two lines opening with one are one line rewritten only where they define one name.
_DEFINES = frozenset(
    "def class function func fn async pub public private protected static export const let var struct interface "
    "type impl module enum trait object val final abstract override internal sub local".split()
)
_ALIKE = 0.75  # two lines with no leading word are one rewritten from this ratio of likeness
_BLANKS = "the blank lines next to it are not those next to the quoted line in SEARCH"


def filled_in(search: list[str], replace: list[str], marks: set[int]) -> list[str] | str:
    """REPLACE with its elision lines (indexes ``marks``) written out as the SEARCH lines they stand for; where that
    reading is open (see the module's docstring), why, to tell the model."""
    both = [_fill(search, replace, marks, back) for back in (False, True)]
    readings = [x for x in both if not isinstance(x, str)]
    if not readings:
        return both[0]
    if readings[0] != readings[-1]:
        return "the lines it stands for can be read two ways"
    if [x.rstrip() for x in readings[0]] == [x.rstrip() for x in search]:
        return "filled in, the block changes nothing"
    return readings[0]


def _fill(search: list[str], replace: list[str], marks: set[int], back: bool) -> list[str] | str:
    """The filled REPLACE by one alignment (from the start, or from the end); why not, where it is open."""
    kept = _aligned(search, replace, marks, back)
    once = {x for x, n in Counter(x.strip() for x in search).items() if n == 1 and x}
    out: list[str] = []
    for j, line in enumerate(replace):
        if j not in marks:
            out.append(line)
            continue
        gap = _elided(search, replace, marks, kept, once, j, bool(out) and not out[-1].strip())
        if isinstance(gap, str):
            return f"{line.strip()!r}: {gap}"
        out.extend(search[i] for i in gap)
    return out


def _elided(search: list[str], replace: list[str], marks: set[int], kept: dict[int, int], once: set[str], j: int,
            blank_before: bool) -> list[int] | str:
    """The SEARCH lines the elision ``j`` stands for (``blank_before``: the filled lines so far end in a blank line);
    why it is open, where it is."""
    above = _anchor(replace, marks, kept, j, -1)
    below = _anchor(replace, marks, kept, j, 1)
    if above is False or below is False or (above is None and below is None):
        return "no quoted line is next to it, only new lines or another elision"
    for k in (above, below):
        if k is not None and not _pinned(search, kept, once, k):
            return f"the quoted line next to it, {replace[k].strip()!r}, is one of several alike"
    before = [k for k in range(above + 1 if above is not None else 0, j) if k not in kept and replace[k].strip()]
    after = [k for k in range(j + 1, below if below is not None else len(replace)) if k not in kept and replace[k].strip()]
    if (before and above is not None) or (after and below is not None):  # (inserted, or rewriting the gap's edge?)
        return f"the new line {replace[(before or after)[0]].strip()!r} sits between it and a quoted line"
    # Blank lines between it and a quoted line are that line's own neighbours in SEARCH, or the reading is open.
    lo, hi = 0, len(search)
    if above is not None:
        lo = kept[above] + 1 + (j - above - 1)
        if any(search[i].strip() for i in range(kept[above] + 1, min(lo, len(search)))):
            return _BLANKS
    if below is not None:
        hi = kept[below] - (below - j - 1)
        if any(search[i].strip() for i in range(max(hi, 0), kept[below])):
            return _BLANKS
    gap = list(range(lo, hi))
    inner = [search[i] for i in gap if search[i].strip()]
    if not inner:
        return "it stands for no line SEARCH quotes"
    for k in before + after:
        if any(_rewritten(replace[k], old) for old in inner):
            return f"the new line {replace[k].strip()!r} next to it reads as one of the lines it leaves out, rewritten"
    if any(_depth(replace[k]) > _depth(inner[0]) for k in before) or any(
            _depth(replace[k]) > _depth(inner[-1]) for k in after):
        # (new lines deeper than the elided lines they go before or after belong inside them)
        return "a new line next to it is indented deeper than the lines it leaves out"
    # (at an end of REPLACE, a blank line written beside it is the gap's own blank edge, not one more)
    if above is None and blank_before:
        while gap and not search[gap[0]].strip():
            gap.pop(0)
    if below is None and j + 1 < len(replace) and not replace[j + 1].strip():
        while gap and not search[gap[-1]].strip():
            gap.pop()
    return gap


def _aligned(search: list[str], replace: list[str], marks: set[int], back: bool) -> dict[int, int]:
    """REPLACE line -> the SEARCH line it keeps, aligned from the start or from the end. Kept means written alike,
    indentation and all (a line re-indented is changed; trailing whitespace aside)."""
    a = [x.rstrip() for x in search]
    b = [None if j in marks else x.rstrip() for j, x in enumerate(replace)]
    if back:
        a, b = a[::-1], b[::-1]
    blocks = SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()  # type: ignore[arg-type]
    pairs = {blk.b + k: blk.a + k for blk in blocks for k in range(blk.size)}
    if back:
        pairs = {len(replace) - 1 - j: len(search) - 1 - i for j, i in pairs.items()}
    return pairs


def _anchor(replace: list[str], marks: set[int], kept: dict[int, int], j: int, step: int) -> int | None | bool:
    """The nearest quoted (kept, not blank) REPLACE line from ``j`` in direction ``step``; None where there is none;
    False where another elision comes first."""
    k = j + step
    while 0 <= k < len(replace):
        if k in marks:
            return False
        if k in kept and replace[k].strip():
            return k
        k += step
    return None


def _pinned(search: list[str], kept: dict[int, int], once: set[str], j: int) -> bool:
    """Is the quoted line ``j`` kept where the alignment says, beyond doubt? Only where SEARCH has its text once
    between the nearest kept lines around it that SEARCH has once at all (``once``; kept lines keep their order)."""
    text = search[kept[j]].strip()
    lo = max((i for k, i in kept.items() if k < j and search[i].strip() in once), default=-1)
    hi = min((i for k, i in kept.items() if k > j and search[i].strip() in once), default=len(search))
    return sum(x.strip() == text for x in search[lo + 1:hi]) == 1


def _rewritten(new: str, old: str) -> bool:
    """Could ``new`` be ``old`` rewritten? Lines opening with one word (``return``, ``self.x``, ``a``) are, unless
    the word opens a definition, where they are if they define one name; lines with no leading word, if alike."""
    new, old = new.strip(), old.strip()
    head_new, head_old = _HEAD_RE.match(new), _HEAD_RE.match(old)
    if head_new and head_old:
        if head_new[0] in _DEFINES or head_old[0] in _DEFINES:
            return _name(new) == _name(old)
        return head_new[0] == head_old[0]
    return SequenceMatcher(None, new, old, autojunk=False).ratio() >= _ALIKE


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def _name(line: str) -> str | None:
    found = _NAME_RE.search(line)
    return found[1] if found else None
