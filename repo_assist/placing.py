"""Where file lines SEARCH left out go in REPLACE, or a refusal when that cannot be told.

Why a module of its own: a model that drops blank lines from SEARCH drops
them from REPLACE too (it copies itself), so they must be put back, and where
is a judgement with its own rules (``requoting`` does the rest of making a
block exact; ``spacing`` reads the file's blank-line habits). A lost run of lines sits between two SEARCH lines:

* both kept and nothing new between them in REPLACE: it goes back between;
* blank lines lost on both sides of a stretch REPLACE rewrites whole (none of
  its lines kept): what replaces it stays between them, as it was set apart
  (``rewrites``), unless it starts or ends with a new line of the kept
  neighbour's kind, led by a word, that the stretch's end is not: that line
  goes on the neighbour's paragraph, and each gap is placed on its own;
* one of them changed: it stays by the kept one (before a rewrite that starts a
  new definition, all of it), unless the new lines there look like the other
  side's paragraph, or the changed line was moved (it is added again
  elsewhere, not edited in place into a like line), or new lines with blank
  lines of their own sit just past the kept one (one of those may be the lost
  line, written again);
* new lines inserted between two kept lines: their shape must say which side
  they belong to — they end (start) with exactly as many blank lines as were
  lost and are not one more of a run of lines the file keeps together (set
  apart from the line above or kept to it as the file does such lines, where
  that runs no more blank lines than the file ever does; written like the line
  above where it would, their blank line may be the lost one written again);
  comments and decorators as deep as a definition right below them are its
  header (the lost lines go above them), and decorators and annotations
  alone head whatever line is below them; they stay deeper than the line
  below while starting as deep as the line above, or the line above is
  deeper than the line below too (the block above goes on; a closing
  bracket ends a block opened above, so it is no line below, where the file
  never sets one apart), unless they start a definition (under its comments
  and decorators or not) after the end of a block (a member beside it, no
  more of its paragraph either); they start
  with an ``else``, ``except``, … (the statement above goes on, where the
  file never sets such a line apart); they are of a kind (or
  written just like a line) only one side's paragraph has, a block counting
  as its opening line's kind (an import's kind is its group, and an import is
  not written like one of another group when the other side has its own); or the line below starts a section (a
  heading, comment or definition) and they do not;
  they are written like one neighbour and unlike the other (by shape, or
  as written: nearly a copy of one, as entries of a list are); a
  lost blank line never goes between a block opener and its body in a file
  that never spaces them; or exactly one split of the lost lines spaces both
  joins as the file always spaces those kinds of line (asking rougher kinds
  where a pair is rare), or spaces one join as the file always spaces that
  very pair (seen three times or more), or a definition after the end of a
  block (or else after any code) as the file always does (three times or
  more), and the other as the file spaces such lines somewhere; or, one new
  line of code where one blank line was lost, it uses a name the paragraph on
  one side uses and none of the other's (``defer cancel()`` after
  ``ctx, cancel := …``). New lines
  with blank lines of their own at an edge take the one split that runs no
  more blank lines than the file ever does, or of the splits that fit, the
  one a habit at one join picks, or else the split an editor inserting them
  as a paragraph makes (``spacing.by_insertion``), unless they end in a line
  that heads the one below (a heading, label or comment). A placement that
  would space two kinds of line unlike the file does everywhere else is
  refused too.

Anything else is refused with a reason, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from .paragraphs import by_names, has_kind, head, joins, paragraph, sibling
from .spacing import (
    COMMENT_RE, DEFINITION_RE, HABIT_SEEN, by_counts, by_insertion, by_room, closes, depth, edges, ends_block, fits,
    kind, meetings, shape, spacing,
)
from .transfer import Refusal

__all__ = ["DECORATES_RE", "Gap", "SIMILAR", "alike", "place"]

SIMILAR = 0.6  # two lines this alike (stripped) are one line edited


@dataclass(frozen=True, slots=True)
class Gap:
    """What placing left-out lines needs to know about the block."""

    lines: list[str]
    s: list[str]
    r: list[str]
    m: list[int | None]
    out: list[str | None]
    partner: list[int | None]
    kept: list[int | None]
    added: list[int]  # REPLACE lines that are not kept lines


def place(g: Gap, a: int, b: int, run: range) -> tuple[int, int, int]:
    """Where the file lines ``run``, left out between SEARCH lines a and b, go: (lo, hi, k).

    The first k of them go before REPLACE index lo, the others before hi.
    """
    lo, hi, k = _position(g, a, b, run)
    # Next to a changed line, the lost lines stay by the kept neighbour; but if new lines with blank lines of
    # their own sit just past that neighbour, a blank line there may be the lost one: cannot tell.
    if (g.kept[a] is None) != (g.kept[b] is None):
        j = g.kept[a] if g.kept[a] is not None else g.kept[b]
        past = range(j - 1, -1, -1) if g.kept[a] is not None else range(j + 1, len(g.r))  # type: ignore[operator]
        added = set(g.added)
        for i in past:
            if i not in added:
                break
            if g.out[i] is not None and not g.out[i].strip():  # type: ignore[union-attr]
                raise _cannot_place(run, "new lines with blank lines of their own sit just past the kept line next to them")
    return lo, hi, k


def _position(g: Gap, a: int, b: int, run: range) -> tuple[int, int, int]:
    for k in (a, b):
        if g.kept[k] is None and _moved(g, k):
            raise _cannot_place(run, f"the line next to them, {g.s[k].strip()[:40]!r}, is removed and added elsewhere")
    n = len(run)
    above, below = g.partner[a], g.partner[b]
    lo = above + 1 if above is not None else next((p + 1 for p in reversed(g.partner[:a]) if p is not None), 0)
    hi = below if below is not None else next((p for p in g.partner[b + 1:] if p is not None), len(g.out))
    new = [x for x in g.out[lo:hi] if x is not None]
    if not new:
        return lo, lo, n
    top, bottom = g.lines[g.m[a]], g.lines[g.m[b]]  # type: ignore[index]
    if any(g.lines[i].strip() for i in run) or not top.strip() or not bottom.strip():
        raise _cannot_place(run, "new lines were inserted right there")
    if not any(x.strip() for x in new):  # is one of them the lost one, written again?
        raise _cannot_place(run, "blank lines were inserted right there")
    # New lines where the lost blank lines were: their shape must say where they go.
    # A new definition after the end of a block is a member beside it, not more of the paragraph the block is.
    upper, lower = paragraph(g.lines, g.m[a], -1), paragraph(g.lines, g.m[b], 1)  # type: ignore[arg-type]
    joins_above = not _member_after(top, new) and joins(new[0], upper, lower)
    # Below a heading, comment or definition the kind to match is that line's own, not its body's; elsewhere a
    # block of new lines is of its opening line's kind.
    if _opens_at(g.lines, g.m[b]):  # type: ignore[arg-type]
        joins_below = joins(new[-1], [bottom], upper)
    else:
        joins_below = joins(head(new), lower, upper)
    lead, trail = edges(new)
    if lead or trail:  # a block with blank lines of its own, set apart from both sides
        if above is not None and below is not None:
            if lead == 0 and trail == n < len(new):
                # A block set apart below the line above, unless the file keeps such lines together.
                apart = spacing(g.lines, top, new[0])
                if apart is None and not sibling(new[0], [top]):
                    apart = True
                if apart is not None:
                    if fits(g.lines, new, n, n if apart else 0):
                        return (lo, lo, n) if apart else (hi, hi, n)
                    if _likeness(new[0], top) >= _UNLIKE:
                        # Written like the line above and too many blank lines below that way: one more of its run,
                        # whose blank line may be the lost one written again.
                        raise _cannot_place(run, "new lines like the line above end with a blank line, maybe the lost"
                                                 " one")
            if trail == 0 and lead == n < len(new) and not joins_below:
                return hi, hi, n
            k = by_counts(g.lines, top, new, bottom, n)
            if k is None:
                k = by_room(g.lines, new, n)
            if k is None:
                k = by_counts(g.lines, top, new, bottom, n, firm=False)
            # (new lines ending in a heading, label or comment head the line below: no paragraph of their own)
            if k is None and not _opens(new[-1 - trail], ""):
                k = by_insertion(top, new, n)
            if k is not None:
                return lo, hi, k
        elif (above is None) != (below is None) and by_room(g.lines, new, n) == (k := 0 if above is None else n):
            # A neighbour was rewritten: the lost lines stay by the kept one, where that is the one split that keeps
            # to the file's longest blank run.
            return lo, hi, k
        raise _cannot_place(run, "new lines with blank lines of their own were inserted right there")
    if above is None or below is None:
        # A neighbour was rewritten into the new lines: they stay on its side unless they look like the other side.
        if above is None and g.kept[b] is not None and not joins_below:
            return hi, hi, n
        if below is None and g.kept[a] is not None and not joins_above and (n == 1 or DEFINITION_RE.match(new[0])):
            return lo, lo, n  # (a new definition takes all the lost lines before it)
        raise _cannot_place(run, "the lines next to them were changed")
    after = next((x for x in g.out[hi:] if x is not None), None)
    k = _by_shape(g, a, b, new, n, joins_above, joins_below, after)
    if k is None:
        k = by_counts(g.lines, top, new, bottom, n)
    if k is None and n == len(new) == 1 and not DEFINITION_RE.match(new[0]):
        k = by_names(new[0], g.m[a], g.m[b], g.lines)  # type: ignore[arg-type]  # one lost line: 0 or 1 above
    if k is None:
        raise _cannot_place(run, "new lines were inserted right there")
    _check_habits(g.lines, run, top, new, bottom, k)
    return lo, hi, k


def _check_habits(lines: list[str], run: range, top: str, new: list[str], bottom: str, k: int) -> None:
    """Refuse a placement that keeps together (or sets apart) two kinds of line the file always sets apart (keeps together)."""
    for upper, lower, blanks in ((top, new[0], k), (new[-1], bottom, len(run) - k)):
        apart = spacing(lines, upper, lower, least=HABIT_SEEN)
        if apart is not None and apart != (blanks > 0):
            raise _cannot_place(run, "wherever they go, lines would be spaced unlike everywhere else in the file")


def _by_shape(
    g: Gap, a: int, b: int, new: list[str], n: int, joins_above: bool, joins_below: bool, after: str | None
) -> int | None:
    """How many lost blank lines go above new lines inserted between two kept lines (None: cannot tell)."""
    top, bottom = g.lines[g.m[a]], g.lines[g.m[b]]  # type: ignore[index]
    # Never between a line that opens a block and its body, where the file never does that.
    if after is not None and depth(after) > depth(new[-1]) and _opens_block(g.lines, new[-1]):
        return n
    if depth(new[0]) > depth(top) and _opens_block(g.lines, top):
        return 0
    # They stay deeper than the line below (but for closing brackets, which end a block opened above them, where
    # the file never sets a closing bracket apart), which the line above is deeper than too: its block goes on.
    body = [depth(x) for x in new if not closes(x)]
    goes_on = depth(new[0]) >= depth(top) or depth(top) > depth(bottom)
    if goes_on and all(d > depth(bottom) for d in body) and not _member_after(top, new):
        if len(body) == len(new) or not _set_apart(g.lines, closes):
            return 0
    if _CONTINUES_RE.match(new[0]) and depth(new[0]) <= depth(top) and not _set_apart(g.lines, _CONTINUES_RE.match):
        return 0  # an ``else``, ``except``, … goes on with the statement above it
    if _header(new, depth(bottom)) and (DEFINITION_RE.match(bottom) or all(DECORATES_RE.match(x) for x in new)):
        return n  # comments and decorators right above a definition are its header: the lost lines go above it
    if joins_above != joins_below:
        return 0 if joins_above else n  # they continue the paragraph they look like
    first_opens = _opens(new[0], new[1] if len(new) > 1 else "")
    top_opens = _opens_at(g.lines, g.m[a]) or bool(_UNDERLINE_RE.match(top))  # type: ignore[arg-type]
    if n == 1 and not joins_below and not first_opens and not top_opens and _opens_at(g.lines, g.m[b]):  # type: ignore[arg-type]
        return 0  # the line below starts a section (a heading, comment or definition): they end the one above
    if all(x.strip() for x in new):
        return _by_likeness(g.lines, g.m[a], g.m[b], new, n)  # type: ignore[arg-type]
    return None


def _by_likeness(lines: list[str], top: int, bottom: int, new: list[str], n: int) -> int | None:
    """A run of new lines goes with the neighbour it is written like, when it is like one and unlike the other.

    Lines are compared by shape (names, strings and numbers blanked out, so
    ``master_doc = "index"`` is written like ``default_role = "code"``) and
    depth: the first new line against the line above, the last against the
    line below. Prose has one shape everywhere, so it rarely decides; where
    shapes cannot tell, a line that is nearly a copy of one neighbour as
    written (``[#1096]: …/pull/1096`` under ``[#1091]: …/pull/1091``, above
    ``[Unreleased]: …/compare/…``) and not like the other goes with it.
    """
    up, down = _likeness(new[0], lines[top]), _likeness(new[-1], lines[bottom])
    if up >= _ALIKE and down <= _UNLIKE:
        return 0
    if down >= _ALIKE and up <= _UNLIKE:
        return n
    up, down = _likeness(new[0], lines[top], str.strip), _likeness(new[-1], lines[bottom], str.strip)
    if up >= _NEAR_COPY and down <= _ALIKE:
        return 0
    if down >= _NEAR_COPY and up <= _ALIKE:
        return n
    return None


_ALIKE, _UNLIKE = 0.75, 0.5  # shape likeness that makes a neighbour the new lines' own, and the other's most
_NEAR_COPY = 0.9  # likeness as written that makes a line nearly a copy of another


def _likeness(a: str, b: str, seen: Callable[[str], str] = shape) -> float:
    """How alike two lines of one depth are (0 for lines of different depths), by shape or as ``seen`` shows them."""
    if depth(a) != depth(b):
        return 0.0
    return SequenceMatcher(None, seen(a), seen(b), autojunk=False).ratio()


def _opens_block(lines: list[str], opener: str) -> bool:
    """Does ``opener`` end like a block's first line (``:``, ``{``, ``(``, ``[``) in a file that never puts a
    blank line between such a line and the deeper line after it? Such lines are those with the same ending and
    leading word, seen at least twice; where the file has fewer, every line with that ending (an ``if (…) {``
    in a file of ``test(…, t => {`` blocks)."""
    end = opener.rstrip()[-1:]
    if not end or end not in ":{([":
        return False
    word = kind(opener)[1]
    same: list[bool] = []  # for each such opener of the same word, whether a blank line follows it; others apart
    other: list[bool] = []
    for line, following, blanks in meetings(lines):
        if line.rstrip().endswith(end) and depth(following) > depth(line):
            (same if kind(line)[1] == word else other).append(blanks > 0)
    if any(same):
        return False
    return len(same) >= HABIT_SEEN or (not any(other) and len(same) + len(other) >= HABIT_SEEN)


def _opens_at(lines: list[str], i: int) -> bool:
    return _opens(lines[i], lines[i + 1] if i + 1 < len(lines) else "")


def _moved(g: Gap, k: int) -> bool:
    """Does REPLACE add SEARCH line k (changed, not kept) again elsewhere: the same line, or past a kept line a
    like one that edits no other line? A line edited in place into a like line is not moved, whatever REPLACE
    adds elsewhere (a test renamed, a new one under the old name): it stays where it was."""
    line = g.s[k].strip()
    if g.partner[k] is not None and alike(line, g.r[g.partner[k]]):  # type: ignore[index]
        return False
    lo = next((j + 1 for j in reversed(g.kept[:k]) if j is not None), 0)
    hi = next((j for j in g.kept[k + 1:] if j is not None), len(g.r))
    edits = {j for j in g.partner if j is not None}
    return any(
        g.r[j].strip() == line if lo <= j < hi else (j not in edits and alike(line, g.r[j]) and not _inside_run(g, j))
        for j in g.added if j != g.partner[k]
    )


def _inside_run(g: Gap, j: int) -> bool:
    """Is new REPLACE line j an entry re-sorted into a list: among new lines of its kind between two kept lines of
    its kind that the file has next to each other? A blank line set apart from it cannot have come along to there."""
    if not has_kind(g.r[j]):
        return False
    of_r = {r: s for s, r in enumerate(g.kept) if r is not None}
    entry = kind(g.r[j])
    ends = []
    for step in (-1, 1):
        i = j
        while 0 <= i < len(g.r) and i not in of_r:
            if not has_kind(g.r[i]) or kind(g.r[i]) != entry:
                return False
            i += step
        if not 0 <= i < len(g.r) or not has_kind(g.r[i]) or kind(g.r[i]) != entry:
            return False
        ends.append(g.m[of_r[i]])
    return None not in ends and ends[1] == ends[0] + 1  # type: ignore[operator]


def _set_apart(lines: list[str], such: Callable[[str], object]) -> bool:
    """Does the file ever put a blank line right above a line that is ``such``?"""
    return any(blanks and such(lower) for _, lower, blanks in meetings(lines))


# A decorator or annotation alone on its line (``@name``, ``@a.b(…)``), a Rust outer attribute: of the line below.
DECORATES_RE = re.compile(r"^\s*(?:@[A-Za-z_][\w.]*(?:\(.*\))?\s*(?:(?://|#).*)?|#\[.*\])\s*$")
_CONTINUES_RE = re.compile(r"^\s*(?:else|elif|elsif|except|catch|finally|rescue|ensure)\b")


def _header(new: list[str], level: int) -> bool:
    """Are the new lines comments and decorators ``level`` deep? A decorator's arguments may run on over deeper
    lines up to a closing bracket as deep as it, a block comment (``/**``) over lines up to its ``*/``."""
    closer = ""  # what ends the decorator call or block comment being read
    for line in new:
        text = line.strip()
        if closer == "*/" and depth(line) >= level:
            closer = "" if "*/" in text else closer
        elif closer == ")" and depth(line) > level:
            pass
        elif closer == ")" and depth(line) == level and closes(line):
            closer = ""
        elif closer or depth(line) != level or not (COMMENT_RE.match(line) or text.startswith("@")):
            return False
        elif text.startswith("/*") and "*/" not in text:
            closer = "*/"
        elif text.startswith("@") and text[-1] in "([{":
            closer = ")"
    return not closer


def _member_after(top: str, new: list[str]) -> bool:
    """Do the new lines start a definition (maybe under its comments and decorators) right after the end of a block
    (a deeper line, or a closing bracket as deep)?"""
    level = depth(new[0])
    line = next((x for x in new if not (depth(x) == level and (COMMENT_RE.match(x) or x.lstrip().startswith("@")))), "")
    return bool(DEFINITION_RE.match(line)) and depth(line) == level and ends_block(top, new[0])


_UNDERLINE_RE = re.compile(r"^\s*([=\-~^*+#`'\".:_])\1{2,}\s*$")


def _opens(line: str, following: str) -> bool:
    """Does ``line`` start a section: a comment or heading, or a definition (or its decorator)?"""
    return bool(COMMENT_RE.match(line) or DEFINITION_RE.match(line) or (line.strip() and _UNDERLINE_RE.match(following)))


def _cannot_place(run: range, why: str) -> Refusal:
    return Refusal(
        f"cannot tell where the {len(run)} line(s) SEARCH left out at file line {run.start + 1} go ({why}); quote them"
    )


def alike(a: str, b: str) -> bool:
    """Are two lines (stripped) alike enough to be one line edited?"""
    a, b = a.strip(), b.strip()
    if not a or not b:
        return a == b
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR
