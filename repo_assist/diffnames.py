"""File names in diff headers, read by ``git apply``'s own rules (git's apply.c, names only).

Why the rules are copied rather than approximated: whatever file a header
names for ``git apply`` is the file it writes, so the path check, the
uncommitted-changes check and the undo record must see the same name. The
rules: a name may be C-quoted (``"a/d \\303\\274.py"``, octal bytes and
backslash escapes, anything after the closing quote ignored); unquoted, it
ends at a tab (or at a timestamp that ``diff -u`` writes after it); the first
``p`` path components go (``a/``, ``b/``, or any other folder); and in a
traditional ``---``/``+++`` header ``p`` is 0 when a name has no folder at
all, once guessed for the rest of the diff. ``patch.py`` still compares the
outcome with ``git apply --numstat``, so a rule missed here refuses instead of
missing a file.
"""

from __future__ import annotations

import re

__all__ = ["ENC", "NameState", "dev_null", "epoch_stamp", "find_name", "git_header_name", "guess_p", "traditional_name",
           "unquote"]

ENC = ("utf-8", "surrogateescape")  # any byte survives str round trips
_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
# diff -u's timestamp after a name: a tab (or spaces), a date, maybe a time, maybe a zone (git's diff_timestamp_len)
_STAMP = re.compile(r"(\t| +)(?:\d\d)?\d\d-\d\d-\d\d(?: \d\d:\d\d:\d\d(?:\.\d+)?)?(?: [+-]\d{4}| [+-]\d\d:\d\d)?$")
_EPOCH = re.compile(r"^(1969-12-31|1970-01-01) ([0-2]\d):([0-5]\d):00(?:\.0+)? ([-+])([0-2]\d):?([0-5]\d)$")


class NameState:
    """What one reading of a diff carries from file to file: git apply's ``-p`` (1 until a traditional header
    shows names without folders, then 0 for good)."""

    __slots__ = ("p", "known")

    def __init__(self) -> None:
        self.p = 1
        self.known = False


def unquote(text: str) -> tuple[str | None, int]:
    """A C-quoted name at the start of ``text`` and where its closing quote ends; (None, 0) when it is not one."""
    if not text.startswith('"'):
        return None, 0
    out = bytearray()
    k = 1
    while k < len(text):
        ch = text[k]
        if ch == '"':
            return bytes(out).decode(*ENC), k + 1
        if ch != "\\":
            out += ch.encode(*ENC)
            k += 1
            continue
        nxt = text[k + 1:k + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            k += 2
        elif re.match(r"[0-3][0-7][0-7]", text[k + 1:k + 4]):
            out.append(int(text[k + 1:k + 4], 8))
            k += 4
        else:
            return None, 0
    return None, 0


def dev_null(text: str) -> bool:
    return text == "/dev/null" or (text.startswith("/dev/null") and text[9] in " \t\r")


def _squash(name: str) -> str:
    return re.sub("/+", "/", name)


def _gnu(text: str, p: int) -> str | None:
    name, _ = unquote(text)
    if name is None:
        return None
    for _ in range(p):
        cut = name.find("/")
        if cut < 0:
            return None
        name = name[cut + 1:]
    return _squash(name)


def _common(text: str, default: str | None, p: int, ends: str) -> str | None:
    """git's find_name_common: skip ``p`` components, stop at any of ``ends``, prefer a shorter ``default``."""
    start = 0 if p == 0 else None
    k = 0
    while k < len(text):
        ch = text[k]
        if ch in ends:
            break
        k += 1
        if ch == "/":
            p -= 1
            if p == 0:
                start = k
    if start is None or k == start:
        return default and _squash(default)
    name = text[start:k]
    if default and len(default) < len(name) and name.startswith(default):
        return _squash(default)
    return _squash(name)


def find_name(text: str, p: int, *, tab_ends: bool = True) -> str | None:
    """A name in a git header line (``--- a/x``; ``rename from x`` reads on past a tab), after the prefix."""
    return (_gnu(text, p) if text.startswith('"') else None) or _common(text, None, p, "\r\t" if tab_ends else "\r")


def traditional_name(text: str, default: str | None, p: int) -> str | None:
    """A name in a traditional ``---``/``+++`` line, a ``diff -u`` timestamp after it or not."""
    name = _gnu(text, p) if text.startswith('"') else None
    if name:
        return name
    stamp = _STAMP.search(text) if text[-1:].isdigit() else None
    if stamp is None:
        return _common(text, default, p, "\r\t")
    return _common(text[:stamp.start()], default, p, "")


def guess_p(state: NameState, first: str, second: str) -> None:
    """git's guess: a traditional header whose names have no folder means ``-p0`` for the rest of the diff."""
    if state.known:
        return
    p, q = _guess(first), _guess(second)
    if p < 0:
        p = q
    if 0 <= p == q:
        state.p, state.known = p, True


def _guess(text: str) -> int:
    if dev_null(text):
        return -1
    name = traditional_name(text, None, 0)
    return -1 if name is None or "/" in name else 0


def epoch_stamp(text: str) -> bool:
    """Does the line end in GNU diff's epoch timestamp, its mark of a created or deleted file?"""
    if "\t" not in text:
        return False
    m = _EPOCH.match(text.rsplit("\t", 1)[1])
    if not m:
        return False
    zone = int(m.group(5)) * 60 + int(m.group(6))
    zone = -zone if m.group(4) == "-" else zone
    epoch_hour = 24 if m.group(1).startswith("1969") else 0
    return int(m.group(2)) * 60 + int(m.group(3)) - zone == epoch_hour * 60


def _skip_tree_prefix(name: str, p: int) -> str | None:
    if p == 0:
        return None if name.startswith("/") else name
    k = -1
    for _ in range(p):
        k = name.find("/", k + 1)
        if k < 0:
            return None
    return None if k == 0 else name[k + 1:]


def git_header_name(rest: str, p: int) -> str | None:
    """The name a ``diff --git`` line gives twice (``rest`` after ``diff --git``); None for a rename's two."""
    if rest.startswith('"'):
        first, end = unquote(rest)
        first = _skip_tree_prefix(first, p) if first is not None else None
        second = rest[end:].lstrip(" \t")
        if first is None or not second:
            return None
        if second.startswith('"'):
            second = unquote(second)[0]
            if second is None:
                return None
        return first if _skip_tree_prefix(second, p) == first else None
    name = _skip_tree_prefix(rest, p)
    if name is None:
        return None
    quote = name.find('"')
    if quote >= 0:
        second = unquote(name[quote:])[0]
        second = _skip_tree_prefix(second, p) if second is not None else None
        if second and len(second) < quote and name.startswith(second) and name[len(second)] in " \t":
            return second
        return None
    for k, ch in enumerate(name):
        if ch in " \t" and k + 1 < len(name) and _skip_tree_prefix(name[k + 1:], p) == name[:k]:
            return name[:k]
    return None
