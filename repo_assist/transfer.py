"""Carry a model's intended change over onto a file's real lines.

Why a module of its own: once matching has found where SEARCH is (and how
its lines map onto the file), the change the model meant is its SEARCH →
REPLACE difference, and applying that to the *file's* lines is a separate,
delicate job. Lines the model kept keep their original bytes (a typo in a
context line is not copied into the file), new lines take the file's line
ending, REPLACE is shifted by the same indentation as SEARCH, the final
newline state is kept, and file lines SEARCH left out (a blank line the model
lost) stay put — or the block is refused when where they go cannot be told.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from .plurals import counted

__all__ = ["Match", "Refusal", "Shift", "Text", "block_lines", "indent_of", "steps_of", "transfer"]

_COMMENT_STAR_RE = re.compile(r"\*(?:\s|/|$)")  # a block comment's continuation (`` * text``, `` */``)


class Refusal(Exception):
    """A block the engine declines, with the one-line reason shown to the user and the model."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Shift:
    """An indentation change from SEARCH to the file.

    A prefix change: file line = ``added`` + (SEARCH line without its
    ``removed`` prefix). Or, where the model retyped the indentation in
    another unit (tabs as spaces, four spaces as two), a change of unit: each
    ``unit_from`` step becomes a ``unit_to`` step, ``levels`` steps deeper
    (or shallower), and spaces past the last whole step stay as they are.
    """

    added: str = ""
    removed: str = ""
    unit_from: str = ""
    unit_to: str = ""
    levels: int = 0

    @classmethod
    def between(cls, file_indent: str, search_indent: str) -> "Shift":
        k = 0
        while k < min(len(file_indent), len(search_indent)) and file_indent[k] == search_indent[k]:
            k += 1
        return cls(added=file_indent[k:], removed=search_indent[k:])

    @property
    def changes(self) -> bool:
        return bool(self.added or self.removed or self.unit_from)

    def try_apply(self, line: str) -> str | None:
        if self.unit_from and line:
            steps, rest, body = self._stepped(line)
            if "\t" in rest or steps + self.levels < 0:
                return None if body else line  # (a whitespace-only line that cannot be retyped stays as written)
            return self.unit_to * (steps + self.levels) + rest + body
        if not line.strip():
            return line
        if self.removed and not line.startswith(self.removed):
            return None
        return self.added + line[len(self.removed):]

    def aligns_past_steps(self, line: str) -> bool:
        """Is ``line`` indented past whole steps (aligned) in a change between two widths of spaces? How such a
        line was retyped cannot be told: its steps scale, its alignment may or may not."""
        if not (self.unit_from and line.strip() and "\t" not in self.unit_from + self.unit_to):
            return False
        _, past, rest = self._stepped(line)
        return bool(past) and not (past == " " and _COMMENT_STAR_RE.match(rest))  # (a block comment's `` * `` is its own)

    def _stepped(self, line: str) -> tuple[int, str, str]:
        """A line as its whole ``unit_from`` steps, the indentation past them, and the rest."""
        return (*steps_of(indent_of(line), self.unit_from), line.lstrip())

    def apply_all(self, lines: list[str]) -> list[str]:
        """Every line shifted; ``Refusal`` when one cannot follow the shift."""
        moved = [self.try_apply(x) for x in lines]
        if any(x is None for x in moved):
            if self.unit_from:
                raise Refusal(
                    f"a line is indented in a way that cannot be retyped from {self.unit_from!r} steps to the file's "
                    f"{self.unit_to!r}; cannot re-indent it"
                )
            raise Refusal(f"REPLACE is indented less than the {self.removed!r} the SEARCH was shifted by; cannot re-indent it")
        return moved  # type: ignore[return-value]


def indent_of(line: str) -> str:
    """The whitespace a line starts with."""
    return line[: len(line) - len(line.lstrip())]


def steps_of(indent: str, unit: str) -> tuple[int, str]:
    """How many whole ``unit`` steps ``indent`` starts with, and what follows them."""
    k = 0
    while indent.startswith(unit, k * len(unit)):
        k += 1
    return k, indent[k * len(unit):]


@dataclass(frozen=True, slots=True)
class Match:
    """Where SEARCH was found: file lines [start, end) and, per SEARCH line, its file line (or None)."""

    start: int
    end: int
    mapping: list[int | None]
    shift: Shift


@dataclass(frozen=True, slots=True)
class Text:
    """A file as lines without line endings, each line's own ending kept aside."""

    lines: list[str]
    eols: list[str]
    final_nl: bool
    eol: str  # the dominant ending, given to new lines

    @classmethod
    def parse(cls, content: str) -> "Text":
        if content == "":
            return cls([], [], True, "\n")
        raw = content.split("\n")
        final_nl = raw[-1] == ""
        if final_nl:
            raw.pop()
        lines, eols = [], []
        for k, part in enumerate(raw):
            if part.endswith("\r") and (final_nl or k < len(raw) - 1):
                lines.append(part[:-1])
                eols.append("\r\n")
            else:
                lines.append(part)
                eols.append("\n")
        counted = len(eols) if final_nl else len(eols) - 1
        eol = "\r\n" if eols.count("\r\n") * 2 > counted else "\n"
        if not final_nl:
            eols[-1] = eol  # the open last line gets an ending while edited; render drops it again
        return cls(lines, eols, final_nl, eol)

    def render(self, pairs: list[tuple[str, str]]) -> str:
        out = "".join(line + eol for line, eol in pairs)
        if pairs and not self.final_nl:
            out = out[: len(out) - len(pairs[-1][1])]
        return out


def block_lines(text: str) -> list[str]:
    """SEARCH or REPLACE text as lines ('' → no lines; one trailing newline is the terminator)."""
    text = text.replace("\r\n", "\n")
    if text == "":
        return []
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def transfer(text: Text, match: Match, search: list[str], replace: list[str], *, exact: bool) -> list[tuple[str, str]]:
    """The (line, eol) pairs that replace file lines [match.start, match.end).

    The model's intended change is the SEARCH → REPLACE difference (aligned on
    lines; on the tolerant levels trailing blanks do not count). Lines it kept
    are emitted from the file, original bytes and line ending; lines it changed
    are replaced; file lines SEARCH did not mention (lost blank lines, lines a
    fuzzy SEARCH skipped) are kept and placed by ``_place``. ``Refusal`` when
    REPLACE cannot follow the indentation shift or a placement is ambiguous.
    """
    s_lines = match.shift.apply_all(search)
    r_lines = match.shift.apply_all(replace)
    lines, eols, m = text.lines, text.eols, match.mapping
    key = (lambda x: x) if exact else str.rstrip
    # New lines lose trailing whitespace only when SEARCH shows the model adds some the file lacks.
    strip_new = not exact and any(
        s != s.rstrip() and (t is None or lines[t] == lines[t].rstrip()) for s, t in zip(s_lines, m)
    )
    anchors = sorted(x for x in m if x is not None)
    # A kept line the model moved comes back as the file has it, not as SEARCH misquoted it.
    quoted: dict[str, set[str]] = {}
    for s, t in zip(s_lines, m):
        if t is not None:
            quoted.setdefault(key(s), set()).add(lines[t])
    truth = [next(iter(quoted[key(r)])) if len(quoted.get(key(r), ())) == 1 else None for r in r_lines]

    def next_anchor(pos: int) -> int:
        k = bisect_left(anchors, pos)
        return anchors[k] if k < len(anchors) else match.end

    def keys(items: Sequence[str]) -> list[str]:
        return [key(x) for x in items]

    out: list[tuple[str, str]] = []
    fpos = match.start
    opcodes = SequenceMatcher(None, keys(s_lines), keys(r_lines), autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            for k in range(i1, i2):
                target = m[k]
                if target is not None and target >= fpos:
                    out.extend(zip(lines[fpos:target], eols[fpos:target]))
                    # Only trailing blanks differ; keep the file's unless SEARCH quoted it exactly.
                    changed = not strip_new and s_lines[k] == lines[target] != r_lines[j1 + k - i1]
                    out.append((r_lines[j1 + k - i1] if changed else lines[target], eols[target]))
                    fpos = target + 1
            continue
        removed = [t for t in (m[k] for k in range(i1, i2)) if t is not None and t >= fpos]
        stop = next_anchor(removed[-1] + 1 if removed else fpos)
        new = [(t if t is not None else (r.rstrip() if strip_new else r), text.eol)
               for r, t in zip(r_lines[j1:j2], truth[j1:j2])]
        out.extend(_place(text, range(fpos, stop), removed, new, key))
        fpos = stop
    out.extend(zip(lines[fpos:match.end], eols[fpos:match.end]))
    return out


def _place(
    text: Text, span: range, removed: list[int], new: list[tuple[str, str]], key: Callable[[str], str]
) -> list[tuple[str, str]]:
    """What file lines ``span`` become when SEARCH lines at ``removed`` are replaced by ``new``.

    The other lines of the span are lines SEARCH left out (a blank line the
    model lost). A model that drops a line from SEARCH drops it from REPLACE
    too (it copies itself), so they are kept and REPLACE's own blank lines are
    new. Where they go matters only when the choices differ: a line-for-line
    replacement keeps every left-out line between the same neighbours; new
    lines ending (starting) with as many blank lines as were left out, all
    blank, form a block after (before) them; anything else is refused rather
    than guessed (a line appended to the block above and a decorator for the
    block below look the same).
    """
    ins = [line for line, _ in new]
    gone = set(removed)
    kept = [i for i in span if i not in gone]
    old = [(text.lines[i], text.eols[i]) for i in kept]
    if not kept or not ins:
        return new or old
    if len(ins) == len(removed):
        by_line = dict(zip(removed, new))
        return [by_line.get(i, (text.lines[i], text.eols[i])) for i in span]
    kept_keys = [key(text.lines[i]) for i in kept]
    if len({*kept_keys, *map(key, ins)}) == 1:
        return old + new
    if not any(k.strip() for k in kept_keys):
        lead = next((n for n, ln in enumerate(ins) if ln.strip()), len(ins))
        trail = next((n for n, ln in enumerate(reversed(ins)) if ln.strip()), len(ins))
        if trail == len(kept) and not lead:
            return old + new
        if lead == len(kept) and not trail:
            return new + old
    raise Refusal(f"cannot tell where the new lines go among the {counted(len(kept), 'line')} SEARCH left out there; quote them")
