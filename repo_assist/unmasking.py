"""Secret values put back into edit blocks written from redacted context.

The model sees a line holding a secret as ``db_url = "postgres://[REDACTED]@db:5432/app"``
(``redaction.redact``), and quotes it so. Such a SEARCH line is the file line it stands
for where SEARCH is the redacted file's text in one place, or else the one file line
whose redacted text it is; a REPLACE line holding
``[REDACTED]`` gets the values of the quoted (or file) line it was written from: the
line redacted just like it, or the one line of the same number of values most like it.
Where that cannot be told, the block is refused rather than ``[REDACTED]`` written over
a secret. A file with no secret, or one that holds the text ``[REDACTED]`` itself (this
project's own tests), is left alone.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from .redaction import MASK, redact
from .transfer import Refusal

LIKENESS = 0.6  # the least likeness of a rewritten line's other text to the line whose values it keeps
MARGIN = 0.1  # ... and by how much more it must be like that line than any line of other values


def unmasked(content: str, search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """SEARCH and REPLACE (lines) with each redacted value written as the file has it."""
    if not any(MASK in x for x in search + replace):
        return search, replace
    originals = content.split("\n")
    redacted = redact(content)[0].split("\n")
    secret = [(r, o) for r, o in zip(redacted, originals) if r != o]
    if not secret:
        return search, replace
    literal = {o.strip() for o in originals if MASK in o}
    by_view: dict[str, set[str]] = {}
    for r, o in secret:
        by_view.setdefault(r.strip(), set()).add(o.strip())
    at = _quoted_at(redacted, search)
    search = [_as_file(x, originals[at + k]) if at is not None and MASK in x and redacted[at + k] != originals[at + k]
              else _restored(x, by_view) if MASK in x and x.strip() not in literal else x
              for k, x in enumerate(search)]
    pairs = [(r.strip(), o.strip()) for r, o in secret]  # (redacted view, file line) of each line holding a secret
    holders = {o for _, o in pairs}
    quoted = [(redact(x)[0].strip(), x.strip()) for x in search if x.strip() in holders]
    out = []
    for line in replace:
        if MASK not in line or line.strip() in literal:
            out.append(line)
            continue
        values = _values_for(line.strip(), quoted) or _values_for(line.strip(), pairs)
        if values is None:
            raise Refusal(f"REPLACE writes {MASK} in {line.strip()[:60]!r}, and which secret the file has there cannot be "
                          "told: leave that line as it is, or write the lines around it only")
        out.append(_filled(line, values))
    return search, out


def _quoted_at(redacted: list[str], search: list[str]) -> int | None:
    """Where SEARCH is the redacted file's text (line by line, indentation aside), where that is one place."""
    want = [x.strip() for x in search]
    if not want:
        return None
    view = [x.strip() for x in redacted]
    places = [i for i in range(len(view) - len(want) + 1) if view[i] == want[0] and view[i:i + len(want)] == want]
    return places[0] if len(places) == 1 else None


def _restored(line: str, by_view: dict[str, set[str]]) -> str:
    """A SEARCH line as the file has it, where one file line redacts to it."""
    found = by_view.get(line.strip(), set())
    return _as_file(line, next(iter(found))) if len(found) == 1 else line


def _as_file(line: str, original: str) -> str:
    """The file line ``original``'s text, with the indentation and trailing whitespace the model wrote."""
    return line[: len(line) - len(line.lstrip())] + original.strip() + line[len(line.rstrip()):]


def _values_for(line: str, pairs: list[tuple[str, str]]) -> tuple[str, ...] | None:
    """The secret values of the line among ``pairs`` (redacted, original) that ``line`` was written from."""
    n = line.count(MASK)
    same = {_values(r, o) for r, o in pairs if r == line}
    if same:
        return next(iter(same)) if len(same) == 1 else None
    scored = [(SequenceMatcher(None, _skeleton(r), _skeleton(line), autojunk=False).ratio(), _values(r, o))
              for r, o in pairs if r.count(MASK) == n]
    best: dict[tuple[str, ...], float] = {}
    for s, v in scored:
        if s >= LIKENESS and v is not None:
            best[v] = max(s, best.get(v, 0.0))
    ranked = sorted(best.items(), key=lambda x: -x[1])
    if not ranked or len(ranked) > 1 and ranked[1][1] > ranked[0][1] - MARGIN:
        return None  # like no line, or like lines of other values nearly as much
    return ranked[0][0]


def _skeleton(line: str) -> str:
    return line.replace(MASK, "\0")


def _values(redacted: str, original: str) -> tuple[str, ...] | None:
    """What each ``[REDACTED]`` of ``redacted`` stands for in ``original`` (None: not one reading)."""
    pieces = redacted.split(MASK)
    m = re.fullmatch("(.+?)".join(re.escape(p) for p in pieces), original, re.S)
    if m is None:
        return None
    values = m.groups()
    return values if _filled(redacted, values) == original else None


def _filled(line: str, values: tuple[str, ...]) -> str:
    pieces = line.split(MASK)
    if len(pieces) - 1 != len(values):
        return line
    return "".join(p + v for p, v in zip(pieces, values)) + pieces[-1]
