"""Apply SEARCH/REPLACE blocks to file texts in memory, tolerating how models misquote.

Why a cascade: a model quoting code back drifts the indentation, adds or
loses trailing spaces and blank lines, elides long unchanged runs with ``...``
and makes the odd typo. Each level below forgives one more of those, and the
first level that finds the SEARCH decides; a SEARCH found in more than one
place at that level is refused as ambiguous, never guessed:

``exact`` → ``whitespace`` (trailing) → ``indent`` (shifted as a whole) →
``blank-lines`` (lost or extra) → ``elision`` (``...`` on both sides) →
``fuzzy:<ratio>`` (difflib ratio ≥ threshold, at least two non-blank lines).

Once found, the change the model meant (its SEARCH → REPLACE difference) is
carried over onto the file's real lines (``transfer.py``): lines the model
kept keep their original bytes (a typo in a context line is not copied into
the file), new lines take the file's line ending, REPLACE is re-indented by
the same shift, and the final-newline state is kept. Failures come back with
the nearest lines of the file, for a retry prompt.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .records import EditBlock
from .transfer import Match, Refusal, Shift, Text, block_lines, transfer

__all__ = ["ALL_LEVELS", "ApplyResult", "BlockFailure", "apply_blocks", "DEFAULT_FUZZY_THRESHOLD"]

DEFAULT_FUZZY_THRESHOLD = 0.92
ALL_LEVELS = ("exact", "whitespace", "indent", "blank-lines", "elision", "fuzzy")
_CONTIGUOUS = ("exact", "whitespace", "indent", "blank-lines")
# An elision line: a bare ``...`` or a comment that starts with ``...`` ("# ... existing code ...").
# A doctest continuation ("... x = 1") has no comment leader and is code, not an elision.
ELISION_RE = re.compile(
    r"^\s*(?:(?:\.\.\.|…)|(?:#|//|--|;|/\*|<!--)\s*(?:\.\.\.|…)[\w\s,()'.-]*?(?:\*/|-->)?)\s*$"
)
_RIVAL = 3.0  # fuzzy ratio test: a rival this many times as distant as the best still counts
_NEAREST_CANDIDATES = 8  # windows compared character by character when looking for the nearest lines


@dataclass(frozen=True, slots=True)
class BlockFailure:
    """A block the engine refused, why, and the file lines closest to its SEARCH."""

    block: EditBlock
    reason: str
    nearest: str = ""
    nearest_line: int = 0  # 1-based first line of ``nearest``; 0 when there is none


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """Every file after the blocks that applied (absent = None), how each matched, and the refusals."""

    new_files: dict[str, str | None]
    applied: list[tuple[EditBlock, str]] = field(default_factory=list)
    failed: list[BlockFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def apply_blocks(
    files: Mapping[str, str | None],
    blocks: Sequence[EditBlock],
    *,
    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    levels: Collection[str] = ALL_LEVELS,
) -> ApplyResult:
    """Apply ``blocks`` in order to ``files`` (path → text, None = absent); never raises for a bad block.

    Later blocks see the result of earlier ones. A path missing from ``files``
    is taken as absent. ``levels`` narrows the cascade (the bench runs
    ``("exact",)`` as the naive baseline).
    """
    current: dict[str, str | None] = dict(files)
    applied: list[tuple[EditBlock, str]] = []
    failed: list[BlockFailure] = []
    for block in blocks:
        content = current.get(block.path)
        search = block_lines(block.search)
        replace = block_lines(block.replace)
        if content is None:
            if search:
                failed.append(BlockFailure(block, f"{block.path} does not exist, so SEARCH cannot be found there"))
            else:
                current[block.path] = "".join(line + "\n" for line in replace)
                applied.append((block, "new-file"))
            continue
        if not search:
            if content == "":
                current[block.path] = "".join(line + "\n" for line in replace)
                applied.append((block, "exact"))
            else:
                failed.append(BlockFailure(block, f"SEARCH is empty but {block.path} already exists and is not empty; quote the lines to change"))
            continue
        text = Text.parse(content)
        try:
            _refuse_lazy_replace(block.path, search, replace)
            new_lines, how = _apply_one(text, search, replace, fuzzy_threshold, levels)
        except Refusal as refusal:
            nearest, line = _nearest(text.lines, [s for s in search if not ELISION_RE.match(s)])
            failed.append(BlockFailure(block, refusal.reason, nearest, line))
            continue
        current[block.path] = text.render(new_lines)
        applied.append((block, how))
    return ApplyResult(new_files=current, applied=applied, failed=failed)


def _refuse_lazy_replace(path: str, search: list[str], replace: list[str]) -> None:
    """Refuse a REPLACE that elides code (``# ... existing code ...``) which SEARCH spells out.

    Applying it would delete the elided code. A bare ``...`` line is Python's
    Ellipsis statement (and common in documentation examples), so it is
    allowed in Python and documentation files.
    """
    bare_is_code = path.endswith((".py", ".pyi", ".rst", ".md", ".txt"))
    extra = [r for r in replace if ELISION_RE.match(r) and not (bare_is_code and r.strip() in ("...", "…"))]
    if len(extra) > sum(1 for s in search if ELISION_RE.match(s)):
        raise Refusal("REPLACE elides code with `...` that SEARCH spells out; write the new lines in full")


def _apply_one(
    text: Text, search: list[str], replace: list[str], threshold: float, levels: Collection[str]
) -> tuple[list[tuple[str, str]], str]:
    """New (line, eol) list for the whole file and how SEARCH was found; Refusal otherwise."""
    for level in _CONTIGUOUS:
        if level not in levels:
            continue
        matches = _find(text.lines, search, level, 0)
        if len(matches) > 1:
            where = ", ".join(str(m.start + 1) for m in matches[:5])
            raise Refusal(f"SEARCH matches {len(matches)} places ({level}; lines {where}); add surrounding lines to make it unique")
        if matches:
            return _splice(text, [(matches[0], search, replace, level)]), level
    elision_refusal = None
    if "elision" in levels and any(ELISION_RE.match(s) for s in search):
        try:
            return _splice(text, _elision_pieces(text.lines, search, replace, levels)), "elision"
        except Refusal as refusal:  # the `...` may be the file's own (a stub body): try fuzzy
            elision_refusal = refusal
    if "fuzzy" in levels:
        found = _fuzzy(text.lines, search, threshold)
        if found is not None:
            match, ratio = found
            how = f"fuzzy:{math.floor(ratio * 100) / 100:.2f}"
            return _splice(text, [(match, search, replace, "fuzzy")]), how
    raise elision_refusal or Refusal("SEARCH was not found in the file")


def _splice(text: Text, parts: list[tuple[Match, list[str], list[str], str]]) -> list[tuple[str, str]]:
    """Replace each matched region (in file order, not overlapping) by its transferred lines."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match, search, replace, level in parts:
        out.extend(zip(text.lines[pos:match.start], text.eols[pos:match.start]))
        out.extend(transfer(text, match, search, replace, exact=(level == "exact")))
        pos = match.end
    out.extend(zip(text.lines[pos:], text.eols[pos:]))
    return out


# --- contiguous levels ------------------------------------------------------


def _find(lines: list[str], search: list[str], level: str, lo: int) -> list[Match]:
    """Every place at or after ``lo`` where ``search`` matches at ``level``."""
    if level == "blank-lines":
        return _find_sparse(lines, search, lo)
    n = len(search)
    if level == "exact":
        return [Match(i, i + n, list(range(i, i + n)), Shift()) for i in range(lo, len(lines) - n + 1) if lines[i:i + n] == search]
    key = str.rstrip if level == "whitespace" else str.strip
    skeys = [key(s) for s in search]
    fkeys = [key(f) for f in lines]
    out = []
    for i in range(lo, len(lines) - n + 1):
        if fkeys[i] != skeys[0] or fkeys[i:i + n] != skeys:
            continue
        if level == "whitespace":
            out.append(Match(i, i + n, list(range(i, i + n)), Shift()))
            continue
        shift = _shift([lines[i + k] for k in range(n)], search)
        if shift is not None and shift.added + shift.removed:
            out.append(Match(i, i + n, list(range(i, i + n)), shift))
    return out


def _find_sparse(lines: list[str], search: list[str], lo: int) -> list[Match]:
    """Matches that ignore blank lines on both sides (indent shift allowed)."""
    s_idx = [k for k, s in enumerate(search) if s.strip()]
    if not s_idx:
        return []
    f_idx = [i for i in range(lo, len(lines)) if lines[i].strip()]
    skeys = [search[k].strip() for k in s_idx]
    fkeys = [lines[i].strip() for i in f_idx]
    n = len(skeys)
    out = []
    for j in range(len(f_idx) - n + 1):
        if fkeys[j] != skeys[0] or fkeys[j:j + n] != skeys:
            continue
        shift = _shift([lines[f_idx[j + t]] for t in range(n)], [search[k] for k in s_idx])
        if shift is None:
            continue
        mapping: list[int | None] = [None] * len(search)
        for t, k in enumerate(s_idx):
            mapping[k] = f_idx[j + t]
        _map_blanks(lines, search, mapping, lo)
        mapped = [x for x in mapping if x is not None]
        out.append(Match(min(mapped), max(mapped) + 1, mapping, shift))
    return out


def _map_blanks(lines: list[str], search: list[str], mapping: list[int | None], lo: int) -> None:
    """Pair SEARCH's blank lines with the file's blank lines in the same stretch, in order.

    Blank lines SEARCH does quote (say, one it deletes) must map to real lines;
    the surplus on either side stays unmapped (extra in SEARCH, or left out).
    Leading and trailing SEARCH blank lines pair with the file's blank lines
    just before and after the match.
    """
    anchors = [k for k, t in enumerate(mapping) if t is not None]
    for a, b in zip(anchors, anchors[1:]):
        files = range(mapping[a] + 1, mapping[b])  # type: ignore[operator]
        for k, t in zip(range(a + 1, b), files):
            mapping[k] = t
    first, last = anchors[0], anchors[-1]
    t = mapping[first] - 1  # type: ignore[operator]
    for k in range(first - 1, -1, -1):
        if t < lo or lines[t].strip():
            break
        mapping[k], t = t, t - 1
    t = mapping[last] + 1  # type: ignore[operator]
    for k in range(last + 1, len(search)):
        if t >= len(lines) or lines[t].strip():
            break
        mapping[k], t = t, t + 1


def _shift(file_lines: list[str], search: list[str]) -> Shift | None:
    """The one indentation change that turns every non-blank SEARCH line into its file line."""
    shift: Shift | None = None
    for f, s in zip(file_lines, search):
        if not s.strip():
            continue
        fw = f[: len(f) - len(f.lstrip())]
        sw = s[: len(s) - len(s.lstrip())]
        if shift is None:
            if fw.endswith(sw):
                shift = Shift(added=fw[: len(fw) - len(sw)])
            elif sw.endswith(fw):
                shift = Shift(removed=sw[: len(sw) - len(fw)])
            else:
                return None
        moved = shift.try_apply(s)
        if moved is None or moved.rstrip() != f.rstrip():
            return None
    return shift or Shift()


# --- elision ----------------------------------------------------------------


def _elision_pieces(
    lines: list[str], search: list[str], replace: list[str], levels: Collection[str]
) -> list[tuple[Match, list[str], list[str], str]]:
    """Split both sides at ``...`` lines and find each SEARCH piece, in order."""
    s_parts = _split_elided(search)
    r_parts = _split_elided(replace)
    if len(s_parts) != len(r_parts):
        raise Refusal(
            f"SEARCH elides {len(s_parts) - 1} region(s) with `...` but REPLACE elides {len(r_parts) - 1}; "
            "both sides must elide the same unchanged regions"
        )
    parts = []
    lo = 0
    first = True
    for s_piece, r_piece in zip(s_parts, r_parts):
        if not any(s.strip() for s in s_piece):
            if [r.strip() for r in r_piece] != [s.strip() for s in s_piece]:
                raise Refusal("a REPLACE piece between `...` lines has no SEARCH lines to anchor it")
            continue
        found = None
        for level in _CONTIGUOUS:
            if level in levels:
                found = _find(lines, s_piece, level, 0 if first else lo)
                if found:
                    break
        if not found:
            raise Refusal(f"the SEARCH piece starting {s_piece[0].strip()!r} was not found after the previous piece")
        if first and len(found) > 1:
            raise Refusal(f"the first SEARCH piece before `...` matches {len(found)} places; quote more lines")
        match = found[0]
        parts.append((match, s_piece, r_piece, level))
        lo = match.end
        first = False
    if not parts:
        raise Refusal("SEARCH holds nothing but `...` lines")
    return parts


def _split_elided(lines: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for line in lines:
        if ELISION_RE.match(line):
            parts.append([])
        else:
            parts[-1].append(line)
    return parts


# --- fuzzy ------------------------------------------------------------------


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


def _fuzzy(lines: list[str], search: list[str], threshold: float) -> tuple[Match, float] | None:
    """The one region at least ``threshold`` similar to SEARCH, if no other region comes close.

    "Close" is a ratio test: a rival elsewhere whose distance (1 - ratio) is
    under ``_RIVAL`` times the best one's makes the SEARCH ambiguous — a typo
    is forgiven, a different function with the same body is not.
    """
    if sum(1 for s in search if s.strip()) < 2:
        return None
    hits = _scan(lines, search, threshold)
    if not hits:
        return None
    best, start, end = max(hits, key=lambda t: (t[0], -(t[2] - t[1])))
    floor = max(0.0, 1.0 - _RIVAL * (1.0 - best))
    for ratio, i, j in (hits if floor >= threshold else _scan(lines, search, floor)):
        if not (i < end and start < j) or (ratio == best and i != start):
            raise Refusal(f"SEARCH is about as similar to lines {i + 1}-{j} as to lines {start + 1}-{end}; quote the lines exactly")
    return _fuzzy_match(lines, search, start, end), best


def _fuzzy_match(lines: list[str], search: list[str], start: int, end: int) -> Match:
    """Map SEARCH lines onto the window by a line alignment; unaligned window lines stay as they are."""
    window = lines[start:end]
    skey = [s.strip() for s in search]
    wkey = [w.strip() for w in window]
    mapping: list[int | None] = [None] * len(search)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, skey, wkey, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            for t in range(min(i2 - i1, j2 - j1)):
                mapping[i1 + t] = start + j1 + t
    mapped = [m for m in mapping if m is not None]
    s_ind = _common_prefix([s[: len(s) - len(s.lstrip())] for s in search if s.strip()])
    w_ind = _common_prefix([w[: len(w) - len(w.lstrip())] for w in window if w.strip()])
    return Match(min(mapped), max(mapped) + 1, mapping, Shift.between(w_ind, s_ind))


def _nearest(lines: list[str], search: list[str]) -> tuple[str, int]:
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
