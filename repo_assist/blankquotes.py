"""Answers that leave blank lines out of what they quote: whether one does, and where that makes a quote ambiguous.

Why a module of its own: the cascade (``matching``) takes a SEARCH found as
written before one found only once blank lines are ignored. That is right
for an answer that quotes blank lines faithfully, but where another block of
the same answer leaves blank lines out, a quote found as written in one place
may as well be another place's lines with a blank line left out: ambiguous,
so refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from .finding import find, find_first
from .indentation import Units
from .records import EditBlock
from .transfer import Match, Refusal, Text, block_lines

__all__ = ["drops_blank_lines", "refuse_if_sparser_elsewhere"]


def drops_blank_lines(files: Mapping[str, str | None], blocks: Sequence[EditBlock], levels: Collection[str]) -> bool:
    """Does a block of the answer quote its lines with blank lines left out (found only once they are ignored)?"""
    if "blank-lines" not in levels:
        return False
    for block in blocks:
        content, search = files.get(block.path), block_lines(block.search)
        if not content or not search:
            continue
        lines = Text.parse(content).lines
        found, level = find_first(lines, search, 0, levels, Units.read(lines, search, search))
        if level == "blank-lines" and any(_loses_blanks(m, search) for m in found):
            return True
    return False


def _loses_blanks(match: Match, search: list[str]) -> bool:
    """Does the file hold more blank lines between two quoted lines than SEARCH quotes there?"""
    quoted = [(k, t) for k, t in enumerate(match.mapping) if t is not None and search[k].strip()]
    return any(t2 - t1 > k2 - k1 for (k1, t1), (k2, t2) in zip(quoted, quoted[1:]))


def refuse_if_sparser_elsewhere(lines: list[str], search: list[str], match: Match, units: Units) -> None:
    """Refuse where SEARCH, found as written at ``match``, is also another place's lines with blank lines left out."""
    others = [m for m in find(lines, search, "blank-lines", 0, units)
              if (m.end <= match.start or m.start >= match.end) and _loses_blanks(m, search)
              and _no_fewer_blanks(m, search)]
    if others:
        where = ", ".join(str(m.start + 1) for m in others[:5])
        raise Refusal(f"SEARCH matches line {match.start + 1} as written, but the answer leaves out blank lines elsewhere, "
                      f"and with blank lines left out it is also line{'s' if len(others) > 1 else ''} {where}; add surrounding "
                      "lines to make it unique")


def _no_fewer_blanks(match: Match, search: list[str]) -> bool:
    """Does the file hold at least as many blank lines as SEARCH quotes between each two quoted lines?"""
    quoted = [(k, t) for k, t in enumerate(match.mapping) if t is not None and search[k].strip()]
    return all(t2 - t1 >= k2 - k1 for (k1, t1), (k2, t2) in zip(quoted, quoted[1:]))
