"""Line markers that the answer parsers, the engine and the diff code all read: the Markdown code fence and the
unified diff's hunk header."""

from __future__ import annotations

import re

__all__ = ["FENCE_RE", "HUNK_RE", "closes_fence"]

# A line opening or closing a code fence: the marker (three or more backticks or tildes), then the info string.
FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*?)\s*$")
# A hunk header with its numbers: old start, old count, new start, new count (a count of 1 may be left out).
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def closes_fence(marker: str, opener: str) -> bool:
    """Can a fence line written with ``marker`` close a fence opened with ``opener`` (the same character, at least
    as many of it)? Whether a line with an info string closes is the reader's rule."""
    return marker[:1] == opener[:1] and len(marker) >= len(opener)
