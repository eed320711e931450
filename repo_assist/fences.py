"""The Markdown code fence, as the answer parsers and the engine's document rules read it."""

from __future__ import annotations

import re

__all__ = ["FENCE_RE"]

# A line opening or closing a code fence: the marker (three or more backticks or tildes), then the info string.
FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*?)\s*$")
