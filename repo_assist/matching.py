"""Apply SEARCH/REPLACE blocks to file texts in memory, tolerating how models misquote.

Why a cascade: a model quoting code back drifts the indentation, adds or
loses trailing spaces and blank lines, elides long unchanged runs with ``...``
and makes the odd typo. Each level below forgives one more of those, and the
first level that finds the SEARCH decides; a SEARCH found in more than one
place at that level is refused as ambiguous, never guessed:

``exact`` → ``whitespace`` (trailing) → ``indent`` (shifted as a whole, or
retyped in another unit: tabs as spaces, four spaces as two; ``indentation.py``) →
``blank-lines`` (lost or extra) → ``elision`` (``...`` on both sides) →
``fuzzy:<ratio>`` (difflib ratio ≥ threshold, at least two non-blank lines).

Once found, the block is made exact against the file (``requoting.py``):
lines the model kept keep their original bytes (a typo in a context line is
not copied into the file), lines SEARCH left out go back where they belong
(``placing.py``) or the block is refused, REPLACE is re-indented by the same
shift (a new line that would be indented with spaces in a file indented only
with tabs, or the reverse, is refused where SEARCH does not show the change
of unit), and ``transfer.py`` splices it in keeping line endings and the
final-newline state. A SEARCH found in several places is applied to all of
them only when the answer repeats the same block that many times. An empty
SEARCH on an existing file is refused, unless REPLACE is the whole file
written out again (most of its lines kept, in order): then it is an edit of
all its lines. Failures come back with the nearest lines of the file
(``fuzzy.py``), for a retry prompt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .fuzzy import fuzzy, nearest
from .indentation import Units, foreign_indent, line_shift
from .records import EditBlock
from .requoting import requote
from .transfer import Match, Refusal, Shift, Text, block_lines, transfer

__all__ = ["ALL_LEVELS", "ApplyResult", "BlockFailure", "apply_blocks", "DEFAULT_FUZZY_THRESHOLD"]

DEFAULT_FUZZY_THRESHOLD = 0.92
ALL_LEVELS = ("exact", "whitespace", "indent", "blank-lines", "elision", "fuzzy")
_CONTIGUOUS = ("exact", "whitespace", "indent", "blank-lines")
# Where a bare ``...`` line is code or prose: Python's Ellipsis, an omission in documentation.
_BARE_ELLIPSIS_FILES = (".py", ".pyi", ".md", ".markdown", ".mdx", ".rst", ".rdoc", ".adoc", ".asciidoc", ".txt")
# An elision line: a bare ``...`` or a comment that is only an ellipsis, an ellipsis closed by another
# ("# ... existing code ..."), or an ellipsis and a few words saying code is left out ("// ... rest of the
# function"). A comment that goes on in prose ("// ... else delete the first two items") is a real comment,
# and a doctest continuation ("... x = 1") has no comment leader: both are code, not elisions.
_DOTS = r"(?:\.\.\.|…)"
_LEFT_OUT = r"(?:existing|unchanged|rest|remaining|remainder|omitted|same|other|previous|more|as before|etc)"
ELISION_RE = re.compile(
    rf"^\s*(?:{_DOTS}|(?:#|//|--|;|/\*|<!--)\s*{_DOTS}\s*"
    rf"(?:[\w\s,()'-]{{0,40}}?{_DOTS}|(?=[\w\s,()'.-]*\b{_LEFT_OUT}\b)[\w\s,()'.-]{{0,40}})?\s*(?:\*/|-->)?)\s*$",
    re.IGNORECASE,
)


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
    done_as_copy: dict[int, str] = {}  # later copies of a block applied together with the first
    for i, block in enumerate(blocks):
        if i in done_as_copy:
            applied.append((block, done_as_copy[i]))
            continue
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
        whole = not search and content != ""
        if not search:
            if content == "":
                current[block.path] = "".join(line + "\n" for line in replace)
                applied.append((block, "exact"))
                continue
            if not _rewrites_whole_file(block_lines(content), replace):
                failed.append(BlockFailure(block, f"SEARCH is empty but {block.path} already exists and is not empty; quote the lines to change"))
                continue
            search = block_lines(content)  # the file written out whole, changed: an edit of all its lines
            replace = _with_file_tails(search, replace)
        text = Text.parse(content)
        copies = [j for j in range(i + 1, len(blocks)) if _same_edit(blocks[j], block)]
        try:
            _refuse_lazy_replace(block.path, text.lines, search, replace)
            new_lines, how, places = _apply_one(text, search, replace, fuzzy_threshold, levels, 1 + len(copies), block.line)
            if new_lines == list(zip(text.lines, text.eols)):
                # SEARCH and REPLACE are one text, or differ only by what the cascade reads as the model's noise.
                raise Refusal("the block changes nothing: applied, its REPLACE is what the file already has; write the change itself")
        except Refusal as refusal:
            near, line = nearest(text.lines, [s for s in search if not ELISION_RE.match(s)])
            failed.append(BlockFailure(block, refusal.reason, near, line))
            continue
        current[block.path] = text.render(new_lines)
        applied.append((block, "whole-file" if whole else how))
        if places > 1:
            done_as_copy.update((j, how) for j in copies)
    return ApplyResult(new_files=current, applied=applied, failed=failed)


_WHOLE_FILE_KEPT = 0.8  # share of a file's lines an answer with empty SEARCH must keep, in order, to be the file rewritten


def _rewrites_whole_file(lines: list[str], replace: list[str]) -> bool:
    """Is REPLACE (under an empty SEARCH) the whole file written out again with changes, as models fall back to doing?

    Only when it keeps nearly all the file's non-blank lines in order; a
    snippet to insert somewhere is not that, and stays refused.
    """
    old = [x.strip() for x in lines if x.strip()]
    new = [x.strip() for x in replace if x.strip()]
    if not old:
        return False
    kept = sum(size for _, _, size in SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks())
    return kept >= _WHOLE_FILE_KEPT * len(old)


def _with_file_tails(lines: list[str], replace: list[str]) -> list[str]:
    """REPLACE with each line that is a file line but for trailing whitespace written as the file has it.

    A model writing a whole file out again cannot be trusted with trailing
    whitespace (it drops or adds it as it types); believed, that would fill
    the diff with lines changed in nothing a reader can see.
    """
    out = list(replace)
    matcher = SequenceMatcher(None, [x.rstrip() for x in lines], [x.rstrip() for x in replace], autojunk=False)
    for i, j, size in matcher.get_matching_blocks():
        out[j:j + size] = lines[i:i + size]
    return out


def _refuse_lazy_replace(path: str, lines: list[str], search: list[str], replace: list[str]) -> None:
    """Refuse a REPLACE that elides code (``# ... existing code ...``) which SEARCH spells out.

    Applying it would delete the elided code. A bare ``...`` line is Python's
    Ellipsis statement and common in documentation examples, so it is allowed
    in Python and prose files, and in any file that already has such a line.
    """
    extra = [r for r in replace if ELISION_RE.match(r)]
    bare = [r for r in extra if r.strip() in ("...", "…")]
    # (the file is read only when REPLACE has a bare one)
    if bare and (path.endswith(_BARE_ELLIPSIS_FILES) or any(x.strip() in ("...", "…") for x in lines)):
        extra = [r for r in extra if r not in bare]
    if len(extra) > sum(1 for s in search if ELISION_RE.match(s)):
        raise Refusal("REPLACE elides code with `...` that SEARCH spells out; write the new lines in full")


def _apply_one(
    text: Text,
    search: list[str],
    replace: list[str],
    threshold: float,
    levels: Collection[str],
    copies: int,
    line: int | None = None,
) -> tuple[list[tuple[str, str]], str, int]:
    """New (line, eol) list for the whole file, how SEARCH was found and in how many places; Refusal otherwise.

    A SEARCH found in several places is ambiguous, unless the answer repeats
    the very same block exactly that many times (``copies``): the model
    asked for the same change in each place, so each gets it; or unless the
    block is a diff hunk whose ``@@`` line names one of the places (``line``).
    """
    units = Units.read(text.lines, search, replace)
    for level in _CONTIGUOUS:
        if level not in levels:
            continue
        matches = _find(text.lines, search, level, 0, units)
        if len(matches) > 1 and not (len(matches) == copies and _apart(matches)):
            matches = _named_by_line(matches, line)
        if len(matches) > 1 and not (len(matches) == copies and _apart(matches)):
            where = ", ".join(str(m.start + 1) for m in matches[:5])
            raise Refusal(f"SEARCH matches {len(matches)} places ({level}; lines {where}); add surrounding lines to make it unique")
        if matches:
            return _splice(text, [(m, search, replace, level) for m in matches]), level, len(matches)
    elision_refusal = None
    if "elision" in levels and any(ELISION_RE.match(s) for s in search):
        try:
            return _splice(text, _elision_pieces(text.lines, search, replace, levels, units)), "elision", 1
        except Refusal as refusal:  # the `...` may be the file's own (a stub body): try fuzzy, if the file has it
            elision_refusal = refusal
            own = {line.strip() for line in text.lines}
            if any(s.strip() not in own for s in search if ELISION_RE.match(s)):
                raise
    if "fuzzy" in levels:
        found = fuzzy(text.lines, search, threshold, units)
        if found is not None:
            match, ratio = found
            how = f"fuzzy:{math.floor(ratio * 100) / 100:.2f}"
            return _splice(text, [(match, search, replace, "fuzzy")]), how, 1
    raise elision_refusal or Refusal("SEARCH was not found in the file")


_NEAR_LINE, _FAR_LINE = 6, 25  # a place this near where a diff hunk says it starts, every other this far, is the one


def _named_by_line(matches: list[Match], line: int | None) -> list[Match]:
    """The one match a diff hunk's line number points at, as ``[match]``; all of them where it points at none.

    Models get a diff's numbers roughly right at best, so a number decides only
    when one place is within a few lines of it and every other is far away.
    """
    if line is None:
        return matches
    near = [m for m in matches if abs(m.start + 1 - line) <= _NEAR_LINE]
    if len(near) == 1 and all(abs(m.start + 1 - line) >= _FAR_LINE for m in matches if m is not near[0]):
        return near
    return matches


def _same_edit(a: EditBlock, b: EditBlock) -> bool:
    """Do two blocks ask for the same change (whatever line numbers came with them)?"""
    return (a.path, a.search, a.replace) == (b.path, b.search, b.replace)


def _apart(matches: list[Match]) -> bool:
    """Do the matches (in file order) not overlap?"""
    return all(a.end <= b.start for a, b in zip(matches, matches[1:]))


def _splice(text: Text, parts: list[tuple[Match, list[str], list[str], str]]) -> list[tuple[str, str]]:
    """Replace each matched region (in file order, not overlapping) by its transferred lines."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match, search, replace, level in parts:
        out.extend(zip(text.lines[pos:match.start], text.eols[pos:match.start]))
        if level != "exact":  # make the block exact against the file first: see requoting
            replace = requote(text, match, search, replace)
            if level != "whitespace" and not match.shift.unit_from:
                odd = foreign_indent(text.lines, replace)
                if odd is not None:
                    raise Refusal(
                        f"the new line {odd.strip()[:40]!r} would be indented unlike any line of the file (tabs and"
                        " spaces mixed up), and SEARCH does not show how the model retyped the indentation; quote"
                        " the file's indentation"
                    )
            search = text.lines[match.start:match.end]
            match = Match(match.start, match.end, list(range(match.start, match.end)), Shift())
        out.extend(transfer(text, match, search, replace, exact=True))
        pos = match.end
    out.extend(zip(text.lines[pos:], text.eols[pos:]))
    return out


# --- contiguous levels ------------------------------------------------------


def _find(lines: list[str], search: list[str], level: str, lo: int, units: Units) -> list[Match]:
    """Every place at or after ``lo`` where ``search`` matches at ``level``."""
    if level == "blank-lines":
        return _find_sparse(lines, search, lo, units)
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
        shift = line_shift([lines[i + k] for k in range(n)], search, units)
        if shift is not None and shift.changes:
            out.append(Match(i, i + n, list(range(i, i + n)), shift))
    return out


def _find_sparse(lines: list[str], search: list[str], lo: int, units: Units) -> list[Match]:
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
        shift = line_shift([lines[f_idx[j + t]] for t in range(n)], [search[k] for k in s_idx], units)
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


# --- elision ----------------------------------------------------------------


def _elision_pieces(
    lines: list[str], search: list[str], replace: list[str], levels: Collection[str], units: Units
) -> list[tuple[Match, list[str], list[str], str]]:
    """Split both sides at ``...`` lines and find each SEARCH piece, in order.

    Each later piece is taken where it is first found past the one before. A
    first piece found in several places is taken at the one place the other
    pieces follow; where they follow several, at the last of them (reading it
    earlier would have the ``...`` elide a copy of the very lines quoted);
    where they go on to different places, it is refused.

    The ``...`` lines must be written the same on both sides: one that
    REPLACE rewrites (say, re-indents) is a line of the file being changed,
    not a placeholder for unchanged code.
    """
    s_parts = _split_elided(search)
    r_parts = _split_elided(replace)
    if len(s_parts) != len(r_parts):
        raise Refusal(
            f"SEARCH elides {len(s_parts) - 1} region(s) with `...` but REPLACE elides {len(r_parts) - 1}; "
            "both sides must elide the same unchanged regions"
        )
    if [s for s in search if ELISION_RE.match(s)] != [r for r in replace if ELISION_RE.match(r)]:
        raise Refusal("the `...` lines of SEARCH and REPLACE differ, so they are code, not elisions; write the lines in full")
    pieces = []
    for s_piece, r_piece in zip(s_parts, r_parts):
        if not any(s.strip() for s in s_piece):
            if [r.strip() for r in r_piece] != [s.strip() for s in s_piece]:
                raise Refusal("a REPLACE piece between `...` lines has no SEARCH lines to anchor it")
            continue
        pieces.append((s_piece, r_piece))
    if not pieces:
        raise Refusal("SEARCH holds nothing but `...` lines")
    starts = _find_piece(lines, pieces[0][0], 0, levels, units)
    if not starts:
        raise Refusal(f"the SEARCH piece starting {pieces[0][0][0].strip()!r} was not found")
    chains, missing = [], None
    for start in starts:
        try:
            chains.append([start, *_follow(lines, pieces[1:], start[0].end, levels, units)])
        except Refusal as refusal:
            missing = refusal
    if not chains:
        raise missing  # type: ignore[misc]
    # The first piece found in several places: the one place that leads on to the other pieces; or, where several
    # do and go on to the same places, the last of them (the `...` would otherwise elide a copy of the first piece).
    if len(chains) > 1 and all(chain[1:] == chains[0][1:] for chain in chains) and len(pieces) > 1:
        chains = chains[-1:]
    if len(chains) > 1:
        raise Refusal(f"the first SEARCH piece before `...` matches {len(starts)} places; quote more lines")
    return [(match, s_piece, r_piece, level) for (match, level), (s_piece, r_piece) in zip(chains[0], pieces)]


def _find_piece(lines: list[str], piece: list[str], lo: int, levels: Collection[str], units: Units) -> list[tuple[Match, str]]:
    """Where a piece of an elided SEARCH is found from line ``lo`` on, at the first level that finds it."""
    for level in _CONTIGUOUS:
        if level in levels:
            found = _find(lines, piece, level, lo, units)
            if found:
                return [(match, level) for match in found]
    return []


def _follow(
    lines: list[str], pieces: list[tuple[list[str], list[str]]], lo: int, levels: Collection[str], units: Units
) -> list[tuple[Match, str]]:
    """Each later piece, where it is first found past the one before it.

    A piece of nothing but brackets and punctuation (``)``, ``});``) names no
    place of its own: where it occurs more than once further on and REPLACE
    changes it or writes lines around it, which one is meant cannot be told.
    """
    out = []
    for s_piece, r_piece in pieces:
        found = _find_piece(lines, s_piece, lo, levels, units)
        if not found:
            raise Refusal(f"the SEARCH piece starting {s_piece[0].strip()!r} was not found after the previous piece")
        bare = not any(_WORD_RE.search(x) for x in s_piece)
        if bare and len(found) > 1 and [x.rstrip() for x in s_piece] != [x.rstrip() for x in r_piece]:
            raise Refusal(
                f"the SEARCH piece {s_piece[0].strip()!r} after `...` is found {len(found)} times further on; quote more lines"
            )
        out.append(found[0])
        lo = found[0][0].end
    return out


_WORD_RE = re.compile(r"\w")


def _split_elided(lines: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for line in lines:
        if ELISION_RE.match(line):
            parts.append([])
        else:
            parts[-1].append(line)
    return parts
