"""Find where a misquoted SEARCH most likely is when no exact-up-to-whitespace match exists.

Why a module of its own: this is the last level of the matching cascade
(``matching.py``) and the only one that judges similarity rather than
equality, so it is the one that must refuse a guess. A window of the file
about as long as SEARCH is accepted when it is at least ``threshold`` alike
(difflib ratio over the stripped lines) and no other window comes close:
"close" is a ratio test — a rival elsewhere whose distance (1 - ratio) is
under ``RIVAL`` times the best one's makes the SEARCH ambiguous, so a typo is
forgiven but a different function with the same body is not. The nearest
lines of the file also serve failure messages, for a retry prompt.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from difflib import SequenceMatcher

from .indentation import Units, line_shift
from .transfer import Match, Refusal, Shift, indent_of

__all__ = ["fuzzy", "nearest"]

RIVAL = 3.0  # a rival this many times as distant as the best still counts
_LINE_RIVAL = 2.0  # ... and on each line where the best window and a twin differ (the lines they share say nothing)
_NEAREST_CANDIDATES = 8  # windows compared character by character when looking for the nearest lines


def _fuzzy_text(lines: Sequence[str]) -> str:
    """The text fuzzy matching compares: each line stripped (indentation would inflate the ratio)."""
    return "\n".join(ln.strip() for ln in lines)


def _common_prefix(items: list[str]) -> str:
    if not items:
        return ""
    lo, hi = min(items), max(items)
    k = 0
    while k < len(lo) and lo[k] == hi[k]:
        k += 1
    return lo[:k]


def _scan(lines: list[str], search: list[str], floor: float) -> list[tuple[float, int, int]]:
    """(ratio, start, end) of every window of about SEARCH's length at least ``floor`` similar to it."""
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(_fuzzy_text(search))
    n = len(search)
    out = []
    for size in sorted({max(1, n - 1), n, n + 1}) if n >= 3 else [n]:
        for i in range(0, len(lines) - size + 1):
            matcher.set_seq1(_fuzzy_text(lines[i:i + size]))
            if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
                ratio = matcher.ratio()
                if ratio >= floor:
                    out.append((ratio, i, i + size))
    return out


def fuzzy(lines: list[str], search: list[str], threshold: float, units: Units) -> tuple[Match, float] | None:
    """The one region at least ``threshold`` similar to SEARCH, if no other region comes close.

    "Close" is a ratio test: a rival elsewhere whose distance (1 - ratio) is
    under ``RIVAL`` times the best one's makes the SEARCH ambiguous — a typo
    is forgiven, a different function with the same body is not — unless
    the lines where the two differ are the best one's, as SEARCH quotes them.
    """
    if sum(1 for s in search if s.strip()) < 2:
        return None
    hits = _scan(lines, search, threshold)
    if not hits:
        return None
    best, start, end = max(hits, key=lambda t: (t[0], -(t[2] - t[1])))
    floor = max(0.0, 1.0 - RIVAL * (1.0 - best))
    for ratio, i, j in (hits if floor >= threshold else _scan(lines, search, floor)):
        if ratio < floor:
            continue
        if (not (i < end and start < j) or (ratio == best and i != start)) and not _told_apart(lines, search, start, end, i):
            raise Refusal(f"SEARCH is about as similar to lines {i + 1}-{j} as to lines {start + 1}-{end}; quote the lines exactly")
    return _fuzzy_match(lines, search, start, end, units), best


def _told_apart(lines: list[str], search: list[str], start: int, end: int, rival: int) -> bool:
    """Do the lines where the best window and a twin at ``rival`` differ read as the best one's in SEARCH?

    Two windows of SEARCH's length, line for line: wherever they differ,
    SEARCH's line must be the best window's, or less than half as far from
    it as from the twin's (those lines alone decide, so the bar is lower than
    ``RIVAL``); and they must differ somewhere.
    """
    n = len(search)
    if end - start != n or rival + n > len(lines):
        return False
    differ = [k for k in range(n) if lines[start + k].strip() != lines[rival + k].strip()]
    return bool(differ) and all(_nearer(search[k], lines[start + k], lines[rival + k]) for k in differ)


def _nearer(quoted: str, own: str, twin: str) -> bool:
    quoted, own, twin = quoted.strip(), own.strip(), twin.strip()
    if quoted == own:
        return True
    to_own = 1.0 - SequenceMatcher(None, quoted, own, autojunk=False).ratio()
    return _LINE_RIVAL * to_own < 1.0 - SequenceMatcher(None, quoted, twin, autojunk=False).ratio()


def _fuzzy_match(lines: list[str], search: list[str], start: int, end: int, units: Units) -> Match:
    """Map SEARCH lines onto the window by a line alignment; unaligned window lines stay as they are.

    REPLACE follows the indentation change of the lines SEARCH quotes word for word: a change of unit where
    the model retyped it, else the shift between the two common indentations; where those lines, at several
    depths in the file or in SEARCH, follow no one change, ``Refusal``."""
    window = lines[start:end]
    skey = [s.strip() for s in search]
    wkey = [w.strip() for w in window]
    mapping: list[int | None] = [None] * len(search)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, skey, wkey, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            for t in range(min(i2 - i1, j2 - j1)):
                mapping[i1 + t] = start + j1 + t
    mapped = [m for m in mapping if m is not None]
    same = [(lines[t], s) for s, t in zip(search, mapping) if t is not None and lines[t].strip() == s.strip()]
    shift = line_shift([f for f, _ in same], [s for _, s in same], units)
    if shift is not None and shift.unit_from:
        return Match(min(mapped), max(mapped) + 1, mapping, shift)
    if shift is None and max(len({indent_of(x) for x in side}) for side in zip(*same)) > 1:
        raise Refusal(
            "SEARCH's lines are indented unlike the file's in no one consistent way, so REPLACE's indentation cannot"
            " be carried over; quote the file's indentation"
        )
    s_ind = _common_prefix([indent_of(s) for s in search if s.strip()])
    w_ind = _common_prefix([indent_of(w) for w in window if w.strip()])
    return Match(min(mapped), max(mapped) + 1, mapping, Shift.between(w_ind, s_ind))


def nearest(lines: list[str], search: list[str]) -> tuple[str, int]:
    """The window of the file most like SEARCH (for a retry prompt) and its 1-based line.

    Cheap on purpose (it runs for every refusal): windows are ranked by how
    many of their lines occur in SEARCH, and only the best few are compared
    character by character.
    """
    wanted = {s.strip() for s in search if s.strip()}
    if not lines or not wanted:
        return "", 0
    n = min(len(search), len(lines))
    hits = [1 if ln.strip() in wanted else 0 for ln in lines]
    sums = [sum(hits[:n])]
    for i in range(1, len(lines) - n + 1):
        sums.append(sums[-1] - hits[i - 1] + hits[i + n - 1])
    if max(sums) == 0:
        first = next(s.strip() for s in search if s.strip())
        sums = [SequenceMatcher(None, ln.strip(), first, autojunk=False).quick_ratio() for ln in lines[: len(sums)]]
    candidates = heapq.nlargest(_NEAREST_CANDIDATES, range(len(sums)), key=sums.__getitem__)
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(_fuzzy_text(search))
    best, where = -1.0, 0
    for i in sorted(candidates):
        matcher.set_seq1(_fuzzy_text(lines[i:i + n]))
        ratio = matcher.ratio()
        if ratio > best:
            best, where = ratio, i
    return "\n".join(lines[where:where + n]) + "\n", where + 1
