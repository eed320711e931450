"""Apply SEARCH/REPLACE blocks to file texts in memory, tolerating how models misquote.

Why a cascade: a model quoting code back drifts the indentation, adds or
loses trailing spaces and blank lines, elides long unchanged runs with ``...``
and makes the odd typo. Each level below forgives one more of those, and the
first level that finds the SEARCH decides; a SEARCH found in more than one
place at that level is refused as ambiguous, never guessed (and so is one
found as written in one place and, with blank lines left out, in another,
where another block of the answer leaves blank lines out):

``exact`` → ``whitespace`` (trailing) → ``indent`` (shifted as a whole, or
retyped in another unit: tabs as spaces, four spaces as two; ``indentation.py``) →
``blank-lines`` (lost or extra) (these four: ``finding.py``) → ``elision``
(``...`` on both sides; ``elisions.py``) → ``fuzzy:<ratio>`` (difflib ratio ≥
threshold, at least two non-blank lines).

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

import dataclasses
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .blankquotes import drops_blank_lines, refuse_if_sparser_elsewhere
from .elisions import ELISION_RE, elision_pieces, fill_lazy_replace, search_spelled_out
from .finding import find_first
from .fuzzy import fuzzy, nearest
from .indentation import Units, foreign_indent
from .numbering import unnumbered
from .records import EditBlock
from .redaction import redact
from .requoting import requote
from .scopes import named_scope
from .transfer import Match, Refusal, Shift, Text, block_lines, transfer
from .unmasking import unmasked

__all__ = ["ALL_LEVELS", "ApplyResult", "BlockFailure", "apply_blocks", "DEFAULT_FUZZY_THRESHOLD", "found_once"]

DEFAULT_FUZZY_THRESHOLD = 0.92
ALL_LEVELS = ("exact", "whitespace", "indent", "blank-lines", "elision", "fuzzy")


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
    drops_blanks = drops_blank_lines(files, blocks, levels)
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
        numbered = unnumbered(search, replace, content) if content and search else None
        if numbered is not None:  # (line numbers copied from a numbered view of the file)
            search, replace, first = numbered
            block = dataclasses.replace(block, line=block.line or first)
        if content is None:
            if search:
                failed.append(BlockFailure(block, f"{block.path} does not exist, so SEARCH cannot be found there"))
            else:
                current[block.path] = "".join(line + "\n" for line in replace)
                applied.append((block, "new-file"))
            continue
        try:  # (values the model saw as [REDACTED] written as the file has them)
            search, replace = unmasked(content, search, replace)
        except Refusal as refusal:
            failed.append(BlockFailure(block, refusal.reason))
            continue
        whole = not search and content != ""
        filled = False  # (an elision of a lazy REPLACE filled in is said: a reader checks those are the lines meant)
        lazy_refusal = None
        if not search:
            if content == "":
                current[block.path] = "".join(line + "\n" for line in replace)
                applied.append((block, "exact"))
                continue
            search = block_lines(content)  # the file written out whole, changed: an edit of all its lines
            try:  # (written out lazily: `# ... rest of the file unchanged ...`)
                lazy = fill_lazy_replace(block.path, search, search, replace, "elision" in levels)
                filled, replace = lazy is not replace, lazy
            except Refusal as refusal:
                lazy_refusal = refusal  # (refused below, with the nearest lines, if it is the whole file)
            if not _rewrites_whole_file(search, replace):
                failed.append(BlockFailure(block, (
                    "the file already exists and is not empty, yet the block quotes none of its lines (an empty"
                    " SEARCH, or the file added as a new one) and is not the whole file written out again; quote the"
                    " lines to change")))
                continue
            replace = _with_file_tails(search, replace)
        text = Text.parse(content)
        copies = [j for j in range(i + 1, len(blocks)) if _same_edit(blocks[j], block)]
        try:
            if lazy_refusal is not None:
                raise lazy_refusal
            lazy = fill_lazy_replace(block.path, text.lines, search, replace, "elision" in levels)
            filled, replace = filled or lazy is not replace, lazy
            new_lines, how, places = _apply_one(text, search, replace, fuzzy_threshold, levels, 1 + len(copies), block,
                                                drops_blanks)
            if new_lines == list(zip(text.lines, text.eols)):
                # SEARCH and REPLACE are one text, or differ only by what the cascade reads as the model's noise,
                # unless the block's one change is trailing whitespace SEARCH quotes exactly and REPLACE drops.
                new_lines = _tidied(text, search, replace, how)
        except Refusal as refusal:
            # (the file's lines shown to the model as its context showed them: secrets redacted)
            shown = Text.parse(redact(content)[0]).lines
            near, line = nearest(shown, [s for s in search if not ELISION_RE.match(s)])
            failed.append(BlockFailure(block, refusal.reason, near, line))
            continue
        current[block.path] = text.render(new_lines)
        applied.append((block, ("whole-file" if whole else how) + ("+filled" if filled else "")))
        if places > 1:
            done_as_copy.update((j, how) for j in copies)
    return ApplyResult(new_files=current, applied=applied, failed=failed)


def found_once(content: str, search: str, levels: Collection[str] = ALL_LEVELS) -> bool:
    """Whether the cascade finds ``search`` in exactly one place of ``content`` (what it would change aside)."""
    lines = block_lines(search)
    if not lines:
        return False
    text = Text.parse(content)
    return len(find_first(text.lines, lines, 0, levels, Units.read(text.lines, lines, lines))[0]) == 1


_WHOLE_FILE_KEPT = 0.8  # share of a file's lines an answer with empty SEARCH must keep, in order, to be the file rewritten
_WHOLE_FILE_ENDS_KEPT = 0.5  # ... or, keeping the file's first and last lines, this share


def _rewrites_whole_file(lines: list[str], replace: list[str]) -> bool:
    """Is REPLACE (under an empty SEARCH) the whole file written out again with changes, as models fall back to doing?

    Only when it keeps nearly all the file's non-blank lines in order (or,
    keeping its first and last, half of them: a change is a larger share of a
    small file; of a file of two to four lines, all but one: a version bumped
    in a three-line ``__version__.py``), and does not stop at a kept line
    where the file goes on (a file cut short); a snippet to insert somewhere
    is not that, and stays refused. (Lines left out for a ``...`` are filled
    in from the file before this, or refused with the reason why, by ``fill_lazy_replace``.)
    """
    old = [x.strip() for x in lines if x.strip()]
    new = [x.strip() for x in replace if x.strip()]
    matched = [m for m in SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks() if m.size]
    if not matched:
        return False
    last = matched[-1]
    if last.a + last.size < len(old) - 1 and last.b + last.size == len(new) and not any(map(ELISION_RE.match, replace)):
        return False  # it stops where the file goes on: a file cut short (as by a fence inside it closing the answer's)
    kept = sum(m.size for m in matched)
    # A small file keeps fewer of its lines through a change: there its first and last lines, kept, are enough;
    # a tiny one keeps all but one.
    ends = matched[0].a == 0 and last.a + last.size == len(old)
    return (kept >= _WHOLE_FILE_KEPT * len(old) or (ends and kept >= _WHOLE_FILE_ENDS_KEPT * len(old))
            or (len(old) > 1 and kept >= len(old) - 1))


def _with_file_tails(lines: list[str], replace: list[str]) -> list[str]:
    """REPLACE with each line that is a file line but for trailing whitespace written as the file has it.

    A model writing a whole file out again cannot be trusted with trailing
    whitespace (it drops or adds it as it types); believed, that would fill
    the diff with lines changed in nothing a reader can see. Dropped trailing
    whitespace is believed only from a model that writes more of the file's
    other trailing whitespace as it is than it drops: it copies faithfully, so
    the lines it strips are stripped on purpose (a commit tidying the lines it
    touches); one that drops most of it may be typing it away.
    """
    out = list(replace)
    matcher = SequenceMatcher(None, [x.rstrip() for x in lines], [x.rstrip() for x in replace], autojunk=False)
    pairs = [(i + k, j + k) for i, j, size in matcher.get_matching_blocks() for k in range(size)]
    tailed = [(i, j) for i, j in pairs if lines[i] != lines[i].rstrip()]
    dropped = {j for i, j in tailed if replace[j] == replace[j].rstrip()}
    copied = sum(lines[i] == replace[j] for i, j in tailed)
    for i, j in pairs:
        if not (j in dropped and copied > len(dropped)):
            out[j] = lines[i]
    return out


def _apply_one(
    text: Text,
    search: list[str],
    replace: list[str],
    threshold: float,
    levels: Collection[str],
    copies: int,
    block: EditBlock | None = None,
    drops_blanks: bool = False,
) -> tuple[list[tuple[str, str]], str, int]:
    """New (line, eol) list for the whole file, how SEARCH was found and in how many places; Refusal otherwise.

    A SEARCH found in several places is ambiguous, unless the answer repeats
    the very same block exactly that many times (``copies``): the model
    asked for the same change in each place, so each gets it; or unless the
    block is a diff hunk whose ``@@`` line names one of the places (its
    ``line``, or the definition it is in: ``within``). Where the answer
    ``drops_blanks`` (another of its blocks quotes lines with blank lines left
    out), a place that holds the SEARCH with more blank lines is a place too.
    """
    units = Units.read(text.lines, search, replace)
    matches, level = find_first(text.lines, search, 0, levels, units)
    if drops_blanks and len(matches) == 1 and level != "blank-lines" and "blank-lines" in levels:
        refuse_if_sparser_elsewhere(text.lines, search, matches[0], units)
    if len(matches) > 1 and not (len(matches) == copies and _apart(matches)):
        matches = _named_by_line(matches, block.line if block else None)
        matches = _named_by_scope(matches, named_scope(text.lines, block.within) if block else None)
    if len(matches) > 1 and not (len(matches) == copies and _apart(matches)):
        where = ", ".join(str(m.start + 1) for m in matches[:5])
        raise Refusal(f"SEARCH matches {len(matches)} places ({level}; lines {where}); add surrounding lines to make it unique")
    if matches:
        return _splice(text, [(m, search, replace, level) for m in matches]), level, len(matches)
    elision_refusal = None
    if "elision" in levels and any(ELISION_RE.match(s) for s in search):
        try:
            return _splice(text, elision_pieces(text.lines, search, replace, levels, units)), "elision", 1
        except Refusal as refusal:  # the `...` may be the file's own (a stub body): try fuzzy, if the file has it
            elision_refusal = refusal
            try:  # (or REPLACE writes the elided region out in full)
                whole = search_spelled_out(text.lines, search, replace, levels, units)
            except Refusal:
                whole = None
            if whole is not None:
                return _splice(text, [(whole[0], whole[1], replace, whole[2])]), "elision", 1
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


def _tidied(text: Text, search: list[str], replace: list[str], how: str) -> list[tuple[str, str]]:
    """The file with the trailing whitespace a block drops taken off; Refusal where the block changes nothing.

    A REPLACE that differs from its SEARCH only by dropping trailing whitespace reads as the model's noise, and
    keeps the file's, as it should when a block changes other lines too. But where that is the block's only change
    and SEARCH quotes the whitespace exactly as the file has it (found as written), the model copies whitespace
    faithfully, so dropping it is the change asked for: "strip the trailing whitespace", or a Markdown line's
    hard break taken out.
    """
    lines = list(zip(text.lines, text.eols))
    places = [i for i in range(len(text.lines) - len(search) + 1) if text.lines[i:i + len(search)] == search]
    drops = len(search) == len(replace) and all(r == s or r == s.rstrip() for s, r in zip(search, replace))
    if how != "exact" or len(places) != 1 or not drops or search == replace:
        raise Refusal("the block changes nothing: applied, its REPLACE is what the file already has; write the change itself")
    at = places[0]
    return lines[:at] + [(r, lines[at + k][1]) for k, r in enumerate(replace)] + lines[at + len(search):]


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


def _named_by_scope(matches: list[Match], scope: tuple[int, int] | None) -> list[Match]:
    """The one match inside the definition a hunk's ``@@`` names, as ``[match]``; all of them otherwise."""
    if scope is None:
        return matches
    inside = [m for m in matches if scope[0] <= m.start and m.end <= scope[1]]
    return inside if len(inside) == 1 else matches


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


