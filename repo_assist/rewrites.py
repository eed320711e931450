"""Blank lines lost on both sides of a stretch REPLACE rewrites whole: what replaces it stays between them.

Why apart from ``placing``: this reads two gaps at once, where ``placing`` reads one.
"""

from __future__ import annotations

from .paragraphs import sibling
from .placing import DECORATES_RE, Gap
from .spacing import kind


def rewritten(g: Gap, gaps: list[tuple[int, int, range]]) -> dict[int, tuple[int, int, int]]:
    """Placements (as ``place`` gives them, by gap index) of lost blank lines on both sides of a rewritten stretch.

    A kept line, lost blank lines, SEARCH lines none of which REPLACE keeps,
    lost blank lines, a kept line: what REPLACE writes between the two kept
    lines replaces the stretch, so it stays between the blank lines that set
    the stretch apart (the first run right after the line above, the second
    right before the line below). Only where what it writes starts and ends
    with a non-blank line (a blank line there may be a lost one written again).
    """
    out: dict[int, tuple[int, int, int]] = {}
    added = set(g.added)
    for i, ((a1, b1, run1), (a2, b2, run2)) in enumerate(zip(gaps, gaps[1:])):
        j1, j2 = g.kept[a1], g.kept[b2]
        if j1 is None or j2 is None or any(g.kept[k] is not None for k in range(b1, a2 + 1)):
            continue
        if any(g.lines[t].strip() for t in (*run1, *run2)):
            continue
        written = [j for j in range(j1 + 1, j2) if g.out[j] is not None]
        if not written or any(j not in added for j in range(j1 + 1, j2)):
            continue
        if not g.out[written[0]].strip() or not g.out[written[-1]].strip():  # type: ignore[union-attr]
            continue
        if _goes_on(g, written, g.out[j1], g.out[j2], g.s[b1], g.s[a2]):  # type: ignore[arg-type]
            continue
        out[i] = (j1 + 1, j1 + 1, len(run1))
        out[i + 1] = (j2, j2, len(run2))
    return out


def _goes_on(g: Gap, written: list[int], above: str, below: str, first: str, last: str) -> bool:
    """Do the ``written`` REPLACE lines, between kept lines ``above`` and ``below``, start (end) with a new line
    that edits no quoted line and is of the kind of the kept line above (below), a kind led by a word (a statement
    on the same name) or a decorator (a fence or a bullet says little), but not of the stretch's first (last) line,
    while lines past it edit the stretch's: more of that paragraph, not of what replaces the stretch?"""
    edits = {j for j in g.partner if j is not None}
    ends = ((written[0], above, first, written[1:]), (written[-1], below, last, written[:-1]))
    return any(j not in edits and sibling(g.out[j], [kept]) and not sibling(g.out[j], [end])  # type: ignore[list-item]
               and _worded(g.out[j]) and any(x in edits for x in rest)  # type: ignore[arg-type]
               for j, kept, end, rest in ends)


def _worded(line: str) -> bool:
    """Led by a word, or a decorator (``@needs_bash`` above ``@needs_linux``: it heads what is below it)."""
    lead = kind(line)[1]
    return lead[0].isalnum() or lead[0] == "_" or bool(DECORATES_RE.match(line))
