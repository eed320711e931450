"""Make a found block exact: SEARCH becomes the file's own lines, REPLACE what the model meant for them.

Why a module of its own: matching decides *where* a misquoted SEARCH is and
which file line each SEARCH line stands for; what the block then asks for is
a separate question. The model's intended change is its SEARCH → REPLACE
difference, lines aligned with trailing blanks ignored (lines SEARCH left out
take part in that alignment as lines nothing matches, so the two lines a lost
blank line separated are not glued together; where new lines could be read as
inserted on either side of kept lines written like their edge, the kept lines
are the ones written byte for byte as quoted). Models misquote in ways that
change the bytes but not that intent:

* **A kept line keeps the file's bytes.** A line written the same on both
  sides is one the model kept, so it comes back as the file has it: its
  indentation, its trailing whitespace, its spelling where SEARCH had a typo.
  A kept line SEARCH invented (an extra blank line the file lacks) is
  dropped; a line the model moved keeps the file's spelling when the quote
  names one file line (trailing whitespace other than it was quoted with is
  the model's own, read as on a new line).
* **Retyped indentation is read from the quote.** Where the model retyped
  the indentation in another unit, a line indented just like a quoted line is
  indented as that line's file line (an alignment the change of unit cannot
  say: five spaces of continuation quoted as a tab and a space); every other
  line follows the change of unit. Where quoted lines written alike stand for
  file lines indented in two ways (a shell script in a Go string), a new line
  written so is refused: it could be either.
* **Lost lines are put back** where ``placing`` says, or the block is
  refused; a result that piles them into a longer blank run than the file
  has anywhere is refused too.
* **Trailing whitespace is believed unless SEARCH shows it is noise.** When
  SEARCH carries trailing whitespace the file lacks, trailing whitespace on a
  new or changed line is dropped — unless the file ends lines of that kind
  with that whitespace or the start of it (noise is appended), in which case
  it may be meant and the block is refused. For text lines that means lines
  within the quoted span (a stray tail far away says nothing about the habit
  here); for whitespace-only lines, anywhere in the file. Where the file's
  lines written like it (same depth and shape) all end one way, or those of
  them the block quotes and keeps as they are do, and what the model wrote
  starts that way, that is what was meant (a changed line's own old tail is
  no witness for its new one: commits strip tails too). A new
  whitespace-only line indented just as a line next to it (deeper than a
  stray keystroke or two) is an editor's habit, so that indentation is meant
  — unless SEARCH shows the model indenting the file's empty blank lines.
  Losing trailing whitespace is always believed.

The lines go to ``transfer`` as an exact block, which keeps line endings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .aligning import as_file, realigned_lines
from .placing import Gap, alike, place
from .rewrites import rewritten
from .spacing import blank_runs, depth, longest_run, shape
from .transfer import Match, Refusal, Shift, Text, indent_of

__all__ = ["requote"]

_MAX_PAIRING = 4000  # line pairs compared when pairing edited lines; past this none are paired
_TAIL_HABIT = 2  # lines of one depth and shape, all ending alike, that say how a new such line ends
_STRAY = frozenset((" ", "  ", "\t"))  # whitespace a blank line may carry by a stray keystroke or two


def requote(text: Text, match: Match, search: list[str], replace: list[str]) -> list[str]:
    """The lines that replace file lines [match.start, match.end); ``Refusal`` when intent is unclear."""
    lines, m = text.lines, match.mapping
    quoted_as = _quoted_indents(lines, search, m) if match.shift.unit_from else {}
    s, r = _shifted(match.shift, search, replace, quoted_as)
    gaps = _left_out(m)
    kept, partner = _align(s, r, gaps)
    out = _replace_lines(text, s, r, m, kept)
    inserts: dict[int, list[str]] = {}
    if gaps:
        g = Gap(lines, s, r, m, out, partner, kept, sorted(set(range(len(r))) - set(kept)))
        settled = rewritten(g, gaps)
        for i, (a, b, run) in enumerate(gaps):
            lo, hi, k = settled[i] if i in settled else place(g, a, b, run)
            inserts.setdefault(lo, []).extend(lines[i] for i in run[:k])
            inserts.setdefault(hi, []).extend(lines[i] for i in run[k:])
    result: list[str] = []
    mine: list[bool] = []  # which result lines are lines SEARCH left out
    for j in range(len(r) + 1):
        result.extend(inserts.get(j, ()))
        mine.extend([True] * len(inserts.get(j, ())))
        if j < len(r) and out[j] is not None:
            result.append(out[j])  # type: ignore[arg-type]
            mine.append(False)
    if inserts:
        _check_blank_runs(lines, result, mine)
    return result


def _check_blank_runs(lines: list[str], result: list[str], mine: list[bool]) -> None:
    """Refuse a result whose put-back blank lines pile up into a longer blank run than the file ever has."""
    longest = longest_run(lines)
    for start, end in blank_runs(result):
        if end - start > longest and any(mine[start:end]):
            raise Refusal(
                f"putting back the blank lines SEARCH left out would leave {end - start} blank lines in a row, "
                "more than the file has anywhere; quote them"
            )


def _align(s: list[str], r: list[str], gaps: list[tuple[int, int, range]]) -> tuple[list[int | None], list[int | None]]:
    """Per SEARCH line, the REPLACE line that keeps it unchanged, and the one that keeps or edits it (or None).

    Lines SEARCH left out stand in the alignment as lines nothing matches, so
    two lines a lost blank line separated are not glued into one unchanged run
    (which would pick the wrong one of two equal closing lines, say).
    """
    full: list[object] = []
    owner: list[int | None] = []  # full index -> SEARCH index (None: a left-out line)
    after = {a: len(run) for a, _, run in gaps}
    for k, x in enumerate(s):
        full.append(x.rstrip())
        owner.append(k)
        for n in range(after.get(k, 0)):
            full.append((k, n))
            owner.append(None)
    kept: list[int | None] = [None] * len(s)  # SEARCH index -> REPLACE index of a line written on both sides
    partner: list[int | None] = [None] * len(s)  # ... or of the REPLACE line that edits it
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, full, [x.rstrip() for x in r], autojunk=False).get_opcodes():
        old = [k for k in owner[i1:i2] if k is not None]
        if tag == "equal":
            for k, j in zip(old, range(j1, j2)):
                kept[k] = partner[k] = j
        elif tag == "replace":
            # One line rewritten as one line is that line edited, and so are lines a lost line separated that are
            # rewritten as as many lines, line by line, where no alike lines pair up otherwise; in other runs only
            # alike lines pair up.
            similar = _pair_similar([s[k] for k in old], r[j1:j2])
            in_order = len(old) == j2 - j1 and (
                len(old) == 1 or (None in owner[i1:i2] and all(i == j for i, j in similar))
            )
            for i, j in [(i, i) for i in range(len(old))] if in_order else similar:
                partner[old[i]] = j1 + j
    _slide_to_same_bytes(s, r, kept, partner)
    return kept, partner


def _slide_to_same_bytes(s: list[str], r: list[str], kept: list[int | None], partner: list[int | None]) -> None:
    """Slide each run of new lines along the kept lines written like its edge to where the kept lines are written
    byte for byte as quoted.

    New lines that begin as the kept lines after them do (a new method and its blank line inserted after a
    blank line) may be read as inserted before or after those lines; the diff picks one. Where the whitespace
    the quote gives a kept blank line tells them apart, the lines written just as SEARCH quoted them are the
    kept ones, and the others the model's new lines (their whitespace then read as any new line's). A text
    line's tail decides nothing: two lines written alike may be two lines (a block's ``fi`` and a new one).
    """
    owner = {j: k for k, j in enumerate(kept) if j is not None}
    edited = {j for j in partner if j is not None} - set(owner)
    j = 0
    while j < len(r):
        if j in owner or j in edited:
            j += 1
            continue
        a = j
        while j < len(r) and j not in owner and j not in edited:
            j += 1
        for step in (1, -1):  # down: the kept line below moves to the run's top; up: the one above to its bottom
            moves, gain, best, d = [], 0, (0, 0), 0
            while True:
                src, dst = (j + d, a + d) if step == 1 else (a - 1 - d, j - 1 - d)
                if not (0 <= src < len(r) and src in owner and r[src].rstrip() == r[dst].rstrip()):
                    break
                k = owner[src]
                if not s[k].strip():  # (only a blank line's whitespace tells: text lines alike may be other lines)
                    gain += (r[dst] == s[k]) - (r[src] == s[k])
                moves.append((k, src, dst))
                d += 1
                if gain > best[0]:
                    best = (gain, d)
            for k, src, dst in moves[: best[1]]:
                del owner[src]
                owner[dst] = k
                kept[k] = partner[k] = dst
            if best[1]:
                j += best[1] if step == 1 else 0  # (the run now ends further down)
                break


def _shifted(shift: Shift, search: list[str], replace: list[str], quoted_as: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """SEARCH and REPLACE indented as the file is. Where the model retyped the indentation in another unit, a line
    indented as a quoted line is indented as that line's file line (``quoted_as``: the quote shows how, as for a
    continuation line aligned five spaces in, quoted as a tab and a space), a new line aligned just past a bracket of
    the line above stays so (``aligning``), every other line by the change of unit."""
    quoted = {x.strip() for x in search}
    realigned = realigned_lines(shift, replace, quoted, quoted_as)
    for j, x in enumerate(replace):
        if not x.strip() or x.strip() in quoted or j in realigned:
            continue
        if indent_of(x) in quoted_as and quoted_as[indent_of(x)] is None:
            raise Refusal(
                f"the new line {x.strip()[:40]!r} is indented as quoted lines the file indents in different ways (the"
                " model retyped them alike); cannot tell which it is like — quote the file's indentation"
            )
        if indent_of(x) not in quoted_as and shift.aligns_past_steps(x):
            raise Refusal(
                f"the new line {x.strip()[:40]!r} is aligned past whole indentation steps the model retyped from "
                f"{shift.unit_from!r} to {shift.unit_to!r}; cannot tell where it goes — quote the file's indentation"
            )
    r = _reindent(shift, [x if j not in realigned else "" for j, x in enumerate(replace)], quoted_as)
    return _reindent(shift, search, quoted_as), [realigned.get(j, x) for j, x in enumerate(r)]


def _reindent(shift: Shift, lines: list[str], quoted_as: dict[str, str | None]) -> list[str]:
    """Each line indented as the quote shows the file indents it, or else shifted (``aligning.as_file``)."""
    out = [as_file(shift, x, quoted_as) for x in lines]
    if None in out:
        shift.apply_all([x for x, y in zip(lines, out) if y is None])  # (raises the Refusal that says why)
    return out  # type: ignore[return-value]


def _quoted_indents(lines: list[str], search: list[str], m: list[int | None]) -> dict[str, str | None]:
    """Each indentation the quote writes → the indentation of the file lines it stands for (None: not always the
    same, as where a Go string holds a shell script indented with spaces and both were retyped alike)."""
    seen: dict[str, set[str]] = {}
    for x, t in zip(search, m):
        if t is not None and x.strip() and lines[t].strip():
            seen.setdefault(indent_of(x), set()).add(indent_of(lines[t]))
    return {k: v.pop() if len(v) == 1 else None for k, v in seen.items()}


def _tail(line: str) -> str:
    return line[len(line.rstrip()):]


# --- REPLACE lines ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Whitespace:
    """Whether trailing whitespace the model wrote can be believed, from what SEARCH and the file show."""

    noisy: bool  # SEARCH carries trailing whitespace the file does not have (the rest is read only then)
    # the trailing whitespace the file's non-blank lines end with, where SEARCH quotes it
    text_tails: frozenset[str] = frozenset()
    blank_tails: frozenset[str] = frozenset()  # ... and what its whitespace-only lines hold
    # (depth, shape) → the one tail every such line has (None: several) ...
    habits: dict[tuple[int, str], str | None] = field(default_factory=dict)
    seen: dict[tuple[int, str], int] = field(default_factory=dict)  # ... and how many such lines the file has
    # (depth, shape) → the one tail of such lines the block leaves as they are
    beside: dict[tuple[int, str], str | None] = field(default_factory=dict)
    pads_blanks: bool = False  # SEARCH indents an empty blank line of the file (more than a stray blank): the model's habit

    @classmethod
    def read(cls, lines: list[str], s: list[str], m: list[int | None], stays: list[int]) -> "_Whitespace":
        """``stays``: the file lines the block quotes and keeps byte for byte (SEARCH and REPLACE write them alike)."""
        noisy = any(_tail(x) and (t is None or _tail(lines[t]) != _tail(x)) for x, t in zip(s, m))
        if not noisy:
            return cls(False)
        habits, seen = _tail_habits(lines)
        # A text line's tail outside the quoted span is a stray: the habit here is what the quoted lines show.
        quoted = [t for t in m if t is not None]
        near = lines[min(quoted): max(quoted) + 1] if quoted else []
        text_tails = frozenset(_tail(x) for x in near if x.strip())
        blank_tails = frozenset(x for x in lines if not x.strip())
        pads = any(x and not x.strip() and x not in _STRAY and t is not None and not lines[t] for x, t in zip(s, m))
        return cls(True, text_tails, blank_tails, habits, seen, _tail_habits([lines[t] for t in stays])[0], pads)

    def written(self, body: str, tail: str, where: str, around: tuple[str, ...] = ()) -> str:
        """``body`` with the trailing whitespace ``tail`` the model wrote on a line it changed or added.

        ``around``: for a new whitespace-only line, the indentations of the non-blank lines around it.
        """
        if not tail or not self.noisy:
            return body + tail
        indented = [x for x in around if x and x not in _STRAY and tail.startswith(x)] if not body else []
        if indented and not self.pads_blanks:
            return max(indented, key=len)  # indented as a line next to it, as editors leave blank lines
        if body:  # the file's lines written just like it all end the same way: that is what was meant
            key = (depth(body), shape(body))
            habit = self.habits.get(key)
            if habit is not None and self.seen[key] >= _TAIL_HABIT and tail.startswith(habit):
                return body + habit
            # ... or the quoted lines written like it that the block keeps do (one is enough: it stands right there).
            habit = self.beside.get(key)
            if habit is not None and tail.startswith(habit):
                return body + habit
        found = self.text_tails if body else self.blank_tails
        # Noise is added at the end, so what was meant is a start of what was written.
        if any(tail[:n] in found for n in range(1, len(tail) + 1)):
            raise Refusal(
                f"cannot tell whether the trailing whitespace on {where} {(body or '(blank line)')[:40]!r} is meant: "
                "SEARCH adds trailing whitespace the file lacks, yet the file ends lines like that; quote it exactly"
            )
        return body


def _around(r: list[str], j: int) -> tuple[str, ...]:
    """The indentations of the non-blank lines just above and below REPLACE line j."""
    above = next((x for x in reversed(r[:j]) if x.strip()), None)
    below = next((x for x in r[j + 1:] if x.strip()), None)
    return tuple(indent_of(x) for x in (above, below) if x is not None)


def _tail_habits(lines: list[str]) -> tuple[dict[tuple[int, str], str | None], dict[tuple[int, str], int]]:
    """Per (depth, shape) of non-blank lines: the one tail all such lines end with (None: several), and their count."""
    habits: dict[tuple[int, str], str | None] = {}
    seen: dict[tuple[int, str], int] = {}
    for line in lines:
        if line.strip():
            key = (depth(line), shape(line))
            habits[key] = _tail(line) if habits.get(key, _tail(line)) == _tail(line) else None
            seen[key] = seen.get(key, 0) + 1
    return habits, seen


def _replace_lines(text: Text, s: list[str], r: list[str], m: list[int | None], kept: list[int | None]) -> list[str | None]:
    """Each REPLACE line as it should be written (None: a line SEARCH invented, dropped)."""
    lines = text.lines
    stays = [t for k, (j, t) in enumerate(zip(kept, m)) if j is not None and t is not None and s[k] == r[j]]
    ws = _Whitespace.read(lines, s, m, stays)
    of_r = {j: k for k, j in enumerate(kept) if j is not None}
    # A line the model moved comes back as the file has it, when the quote names one file line.
    quoted: dict[str, set[str]] = {}
    for x, t in zip(s, m):
        if t is not None:
            quoted.setdefault(x.rstrip(), set()).add(lines[t])
    as_quoted = {x for x, t in zip(s, m) if t is not None}  # the quoted lines as SEARCH wrote them
    out: list[str | None] = []
    for j, line in enumerate(r):
        k = of_r.get(j)
        if k is None:
            known = quoted.get(line.rstrip(), ()) if line.strip() else ()  # a new blank line is not a moved one
            if len(known) == 1:
                # (trailing whitespace other than what it was quoted with is the model's own, read as on any new line)
                moved = next(iter(known))
                out.append(moved if line in as_quoted else ws.written(moved.rstrip(), _tail(line), "new line"))
            else:
                around = _around(r, j) if ws.noisy and not line.strip() else ()  # (read only for noise on a blank line)
                out.append(ws.written(line.rstrip(), _tail(line), "new line", around))
            continue
        t = m[k]
        if t is None:
            out.append(None)
        elif s[k] == line or s[k].rstrip() != lines[t].rstrip():
            out.append(lines[t])  # kept; or misquoted (a typo), so the file's spelling wins
        else:  # (a blank line rewritten is read as a new one: by the lines around it)
            around = _around(r, j) if ws.noisy and not line.strip() else ()
            out.append(ws.written(lines[t].rstrip(), _tail(line), "line", around))
    return out


def _pair_similar(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Old and new lines of a changed run that are one line edited: the most pairs, in order."""
    if not old or not new or len(old) * len(new) > _MAX_PAIRING:
        return []
    same = [[bool(a.strip()) and alike(a, b) for b in new] for a in old]
    best = [[0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(len(old) - 1, -1, -1):
        for j in range(len(new) - 1, -1, -1):
            best[i][j] = max(best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + 1 if same[i][j] else 0)
    pairs, i, j = [], 0, 0
    while i < len(old) and j < len(new):
        if same[i][j] and best[i][j] == best[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


# --- lines SEARCH left out ----------------------------------------------------


def _left_out(m: list[int | None]) -> list[tuple[int, int, range]]:
    """(SEARCH line above, SEARCH line below, file lines between) for each gap in the mapping."""
    placed = [(t, k) for k, t in enumerate(m) if t is not None]
    gaps = []
    for (ta, a), (tb, b) in zip(placed, placed[1:]):
        if tb <= ta or b <= a:
            raise Refusal("SEARCH lines were found out of order in the file; quote the lines exactly")
        if tb > ta + 1:
            gaps.append((a, b, range(ta + 1, tb)))
    return gaps
