"""Where a SEARCH (or a piece of one) occurs in a file, at the levels that read it line for line.

Why a module of its own: both the cascade (``matching``) and the reading of
elided blocks (``elisions``) look for quoted lines level by level, taking
the first level that finds them: ``exact``, ``whitespace`` (trailing),
``indent`` (shifted as a whole, or retyped in another unit; see
``indentation``), ``blank-lines`` (lost or extra, indentation shift allowed).
"""

from __future__ import annotations

from collections.abc import Collection

from .indentation import Units, line_shift
from .transfer import Match, Shift

__all__ = ["CONTIGUOUS", "find", "find_first"]

CONTIGUOUS = ("exact", "whitespace", "indent", "blank-lines")


def find_first(lines: list[str], search: list[str], lo: int, levels: Collection[str], units: Units) -> tuple[list[Match], str]:
    """Every place at or after ``lo`` where ``search`` matches at the first of ``levels`` that finds it, and that level
    (no places, and "": found at none)."""
    for level in CONTIGUOUS:
        if level in levels:
            found = find(lines, search, level, lo, units)
            if found:
                return found, level
    return [], ""


def find(lines: list[str], search: list[str], level: str, lo: int, units: Units) -> list[Match]:
    """Every place at or after ``lo`` where ``search`` matches at ``level``."""
    if level == "blank-lines":
        return _find_sparse(lines, search, lo, units)
    n = len(search)
    if level == "exact":
        return [Match(i, i + n, list(range(i, i + n)), Shift()) for i in range(lo, len(lines) - n + 1) if lines[i:i + n] == search]
    key = str.rstrip if level == "whitespace" else str.strip
    skeys = [key(s) for s in search]
    fkeys = [key(f) for f in lines]
    out = []
    for i in range(lo, len(lines) - n + 1):
        if fkeys[i] != skeys[0] or fkeys[i:i + n] != skeys:
            continue
        if level == "whitespace":
            out.append(Match(i, i + n, list(range(i, i + n)), Shift()))
            continue
        shift = line_shift([lines[i + k] for k in range(n)], search, units)
        if shift is not None and shift.changes:
            out.append(Match(i, i + n, list(range(i, i + n)), shift))
    return out


def _find_sparse(lines: list[str], search: list[str], lo: int, units: Units) -> list[Match]:
    """Matches that ignore blank lines on both sides (indent shift allowed). Of several places, the one place quoted
    as deep as it stands is the match, as the cascade takes a quote that matches before one it must shift."""
    s_idx = [k for k, s in enumerate(search) if s.strip()]
    if not s_idx:
        return []
    f_idx = [i for i in range(lo, len(lines)) if lines[i].strip()]
    skeys = [search[k].strip() for k in s_idx]
    fkeys = [lines[i].strip() for i in f_idx]
    n = len(skeys)
    out = []
    for j in range(len(f_idx) - n + 1):
        if fkeys[j] != skeys[0] or fkeys[j:j + n] != skeys:
            continue
        shift = line_shift([lines[f_idx[j + t]] for t in range(n)], [search[k] for k in s_idx], units)
        if shift is None:
            continue
        mapping: list[int | None] = [None] * len(search)
        for t, k in enumerate(s_idx):
            mapping[k] = f_idx[j + t]
        _map_blanks(lines, search, mapping, lo)
        mapped = [x for x in mapping if x is not None]
        out.append(Match(min(mapped), max(mapped) + 1, mapping, shift))
    unshifted = [m for m in out if not m.shift.changes]
    return unshifted if len(out) > 1 and len(unshifted) == 1 else out


def _map_blanks(lines: list[str], search: list[str], mapping: list[int | None], lo: int) -> None:
    """Pair SEARCH's blank lines with the file's blank lines in the same stretch, in order.

    Blank lines SEARCH does quote (say, one it deletes) must map to real lines;
    the surplus on either side stays unmapped (extra in SEARCH, or left out).
    Leading and trailing SEARCH blank lines pair with the file's blank lines
    just before and after the match.
    """
    anchors = [k for k, t in enumerate(mapping) if t is not None]
    for a, b in zip(anchors, anchors[1:]):
        files = range(mapping[a] + 1, mapping[b])  # type: ignore[operator]
        for k, t in zip(range(a + 1, b), files):
            mapping[k] = t
    first, last = anchors[0], anchors[-1]
    t = mapping[first] - 1  # type: ignore[operator]
    for k in range(first - 1, -1, -1):
        if t < lo or lines[t].strip():
            break
        mapping[k], t = t, t - 1
    t = mapping[last] + 1  # type: ignore[operator]
    for k in range(last + 1, len(search)):
        if t >= len(lines) or lines[t].strip():
            break
        mapping[k], t = t, t + 1
