"""Citations in an answer (`path:start-end`) checked against the spans that were packed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import ContextPack

# A path with a slash or an extension, then ``:N`` or ``:N-M`` (leading slashes are stripped from the path).
# Tried only where a word starts and read possessively (the extension checked ahead), so a long run of
# ``a.a.a…`` in an answer costs no backtracking.
CITE = re.compile(
    r"(?<![\w.@+/-])(?P<path>/*+(?=[\w.@+-]*+/|[\w.@+-]*\.[A-Za-z0-9_]+:)[\w.@+-]++(?:/[\w.@+-]++)*+)"
    r":L?(?P<start>\d+)(?:\s*[-–]\s*L?(?P<end>\d+))?"
)


@dataclass(frozen=True, slots=True)
class Citation:
    path: str
    start_line: int
    end_line: int
    valid: bool
    text: str  # as written in the answer

    def to_dict(self) -> dict:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line, "valid": self.valid}


def find(answer: str) -> list[tuple[str, int, int, str]]:
    out = []
    for m in CITE.finditer(answer):
        start = int(m.group("start"))
        end = int(m.group("end") or start)
        out.append((m.group("path").lstrip("./"), start, end, m.group(0)))
    return out


def check(answer: str, pack: ContextPack) -> list[Citation]:
    """Every citation, valid when its lines lie inside a span of that file that was packed."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for s in pack.chunks:
        spans.setdefault(s.path, []).append((s.start_line, s.end_line))
    seen: set[tuple[str, int, int]] = set()
    out: list[Citation] = []
    for path, start, end, text in find(answer):
        if (path, start, end) in seen:
            continue
        seen.add((path, start, end))
        ok = start <= end and any(a <= start and end <= b for a, b in spans.get(path, []))
        out.append(Citation(path, start, end, ok, text))
    return out


def mark_invalid(answer: str, citations: list[Citation]) -> str:
    """The answer with each unverifiable citation flagged in place."""
    bad = {(c.path, c.start_line, c.end_line) for c in citations if not c.valid}

    def flag(m: re.Match[str]) -> str:
        start = int(m.group("start"))
        key = (m.group("path").lstrip("./"), start, int(m.group("end") or start))
        return m.group(0) + " [unverified]" if key in bad else m.group(0)

    return CITE.sub(flag, answer)
