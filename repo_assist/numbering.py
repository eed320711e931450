"""Line numbers a model copied into its quote, as from a numbered view of the file (``12: code``, ``12 | code``,
``cat -n``'s ``    12\tcode``).

Models that were shown a file with line numbers (an agent's file viewer, a
pasted ``cat -n``) often keep them in SEARCH, and in REPLACE for the lines
they keep. Such a block quotes nothing the file has. The numbers are taken
off only where every non-blank SEARCH line carries one, counting up by one
from line to line (blank lines may carry theirs or not), and none of those
lines is a line of the file, whatever its indentation (a YAML map or a dict
keyed ``1:``, ``2:`` quotes its own lines). REPLACE loses the same prefix where a line has one;
the first number says where the quote starts, which breaks a tie between
places as a diff's line numbers do.
"""

from __future__ import annotations

import re

__all__ = ["unnumbered"]

_NUMBERED_RE = re.compile(r"^\s*L?(\d+)(?:[:|] ?|\t)")


def unnumbered(search: list[str], replace: list[str], content: str) -> tuple[list[str], list[str], int] | None:
    """SEARCH and REPLACE without the line numbers the model copied, and the first number; None when SEARCH is not
    so numbered, or quotes lines of ``content`` (the file's text)."""
    first = expected = None
    count = 0
    for line in search:
        m = _NUMBERED_RE.match(line)
        if m is None:
            if line.strip():
                return None
            expected = expected + 1 if expected is not None else None  # (a blank line written without its number)
            continue
        n = int(m.group(1))
        if expected is not None and n != expected:
            return None  # (the numbers must count up by one, line for line)
        first = n if first is None else first
        count += 1
        expected = n + 1
    if count < 2:
        return None
    present = {x.strip() for x in content.split("\n")}
    if any(line.strip() in present for line in search if line.strip()):
        return None  # (whatever its indentation: a model that drifted quotes such a map too)
    return [_NUMBERED_RE.sub("", x, count=1) for x in search], [_NUMBERED_RE.sub("", x, count=1) for x in replace], first
