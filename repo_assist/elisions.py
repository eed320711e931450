"""Blocks that elide unchanged lines with ``...``: which lines are elisions, and where an elided SEARCH is.

Why a module of its own: an elision line stands for lines left out, never
for lines to delete, and the cascade reads that in three places: a REPLACE
that elides what SEARCH spells out has the elision filled in from SEARCH
where that can be read one way (``lazyfill``) and is refused elsewhere
(applied, it would delete code); an elided SEARCH is split at its ``...``
lines and each piece found in order (``finding``), refused where the pieces
leave the place open; and an elided SEARCH under a REPLACE that writes the
region out whole is that whole region.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from difflib import SequenceMatcher

from .finding import CONTIGUOUS, find_first
from .indentation import Units
from .lazyfill import filled_in
from .markers import FENCE_RE
from .transfer import Match, Refusal

__all__ = ["ELISION_RE", "LEFT_OUT_RE", "elision_pieces", "fill_lazy_replace", "search_spelled_out"]

# Documents, whose examples leave code out with ``...`` and ``// ...`` of their own.
_DOCUMENTS = (".md", ".markdown", ".mdx", ".rst", ".rdoc", ".adoc", ".asciidoc", ".txt")
# Where a bare ``...`` line is code or prose: Python's Ellipsis, an omission in documentation.
_BARE_ELLIPSIS_FILES = (".py", ".pyi", *_DOCUMENTS)
_BARE = ("...", "…")
# An elision line: a bare ``...`` or a comment that is only an ellipsis, an ellipsis closed by another
# ("# ... existing code ..."), or an ellipsis and a few words saying code is left out ("// ... rest of the
# function"). A comment that goes on in prose ("// ... else delete the first two items") is a real comment,
# and a doctest continuation ("... x = 1") has no comment leader: both are code, not elisions.
_DOTS = r"(?:\.\.\.|…)"
_LEFT_OUT = r"(?:existing|unchanged|rest|remaining|remainder|omitted|same|other|previous|more|as before|etc)"
# (An elision line is short: longer lines are ruled out at once, and runs of blanks are read possessively, so a
# degenerate answer line of thousands of spaces costs no backtracking.)
ELISION_RE = re.compile(
    rf"^(?=.{{0,160}}$)\s*+(?:{_DOTS}|(?:#|//|--|;|/\*|<!--)\s*+{_DOTS}\s*+"
    rf"(?:[\w\s,()'-]{{0,40}}?{_DOTS}|(?=[\w\s,()'.-]*\b{_LEFT_OUT}\b)[\w\s,()'.-]{{0,40}})?\s*+(?:\*/|-->)?)\s*$",
    re.IGNORECASE,
)


# A comment that says code is left out in words alone, no ellipsis (`# rest of the method unchanged`, `// existing
# code`): in a REPLACE, and nowhere in the file, it stands for the lines it names as much as `// ...` does. Words
# that also head real comments (`# other settings`, `// previous behaviour`) count only with a word saying unchanged.
_KEPT = r"(?:existing|previous|original|other|remaining|rest(?:\s+of(?:\s+the)?)?)"
_CODE = (r"(?:code|implementation|logic|methods?|functions?|tests?|content|lines?|imports?|fields?|properties|"
         r"propert(?:y|ies)|cases?|body|file|class|module|setup|config(?:uration)?|options?|routes?|handlers?|"
         r"definitions?|members?|attributes?|steps?|rules?|entries|items?|keys?|settings?|sections?)")
_STATE = (r"(?:here|unchanged|untouched|(?:remains?|stays?|is|are)(?:\s+the\s+same|\s+unchanged|\s+as\s+(?:is|before))|"
          r"as\s+(?:is|before)|omitted(?:\s+for\s+brevity)?|goes\s+here|not\s+shown|the\s+same)")
_SAID = (rf"(?:(?:existing|rest\s+of(?:\s+the)?)\s+{_CODE}(?:\s+{_STATE})?|{_KEPT}(?:\s+{_CODE})?\s+{_STATE}|"
         rf"{_CODE}\s+{_STATE}|unchanged|no\s+changes?(?:\s+(?:here|below|above))?)")
LEFT_OUT_RE = re.compile(
    rf"^(?=.{{0,120}}$)\s*(?:#|//|--|;|/\*|<!--)\s*\(?\s*(?:\.\.\.|…)?\s*{_SAID}\s*(?:\.\.\.|…|\.)?\s*\)?\s*(?:\*/|-->)?\s*$",
    re.IGNORECASE,
)


def fill_lazy_replace(path: str, lines: list[str], search: list[str], replace: list[str], fill: bool = True) -> list[str]:
    """REPLACE with each ``# ... existing code ...`` line that stands for SEARCH lines written out as those lines.

    A model that quotes lines in full and writes its change with an elision
    line (``// ... existing code ...``, or a comment saying so in words that
    the file does not have: ``LEFT_OUT_RE``) means the quoted lines there are
    kept. Where that reading is certain (see ``lazyfill``), the elision is
    filled in from SEARCH; elsewhere the block is refused, as applying it
    would delete the elided code. A bare ``...`` line is Python's Ellipsis
    statement and common in documentation examples, so it is allowed in
    Python and prose files, and in any file that already has such a line;
    in a document, so is any ellipsis line amid new lines of a REPLACE that
    keeps every SEARCH line (see ``_elides_code``). A document's elision is
    never filled in: its ``...`` lines are as often its own text. (``fill``:
    whether the cascade reads elisions at all; without, such a block is refused.)
    """
    extra = [j for j, r in enumerate(replace) if ELISION_RE.match(r)]
    quoted = [s for s in search if ELISION_RE.match(s)]
    said = [j for j, r in enumerate(replace) if j not in extra and LEFT_OUT_RE.match(r)]
    if said:  # (the file is read only where REPLACE has one)
        own = {x.strip() for x in lines}
        extra = sorted(extra + [j for j in said if replace[j].strip() not in own])
    # (the file is read only when a side has a bare one; those SEARCH quotes are code too, then)
    if any(x.strip() in _BARE for x in [*quoted, *(replace[j] for j in extra)]) and (
            path.endswith(_BARE_ELLIPSIS_FILES) or any(x.strip() in _BARE for x in lines)):
        extra = [j for j in extra if replace[j].strip() not in _BARE]
        quoted = [s for s in quoted if s.strip() not in _BARE]
    if len(extra) <= len(quoted) or (path.endswith(_DOCUMENTS) and not _elides_code(search, replace)):
        return replace
    filled = ("" if quoted or not fill else "a document's elisions are never filled in" if path.endswith(_DOCUMENTS)
              else filled_in(search, replace, set(extra)))
    if isinstance(filled, str):
        why = f" ({filled})" if filled else ""
        raise Refusal(f"REPLACE elides code that SEARCH spells out{why}; write the new lines in full")
    return filled


def _elides_code(search: list[str], replace: list[str]) -> bool:
    """Does an elision line of a document's REPLACE stand for code? Not where REPLACE writes every SEARCH line (in
    order) and each such line sits amid new lines, in an example (indented, or inside a code fence): ``// ...`` in
    the body of a new example elides nothing SEARCH spells out, and is the example's own text."""
    matcher = SequenceMatcher(None, [x.strip() for x in search], [x.strip() for x in replace], autojunk=False)
    kept = {j for tag, _, _, j1, j2 in matcher.get_opcodes() if tag == "equal" for j in range(j1, j2)}
    if len(kept) < len(search):
        return True
    for j, line in enumerate(replace):
        if j in kept or not ELISION_RE.match(line):
            continue
        if not line[:1].isspace() and sum(1 for x in replace[:j] if FENCE_RE.match(x)) % 2 == 0:
            return True  # (prose, not an example)
        above = next((i for i in range(j - 1, -1, -1) if replace[i].strip()), None)
        below = next((i for i in range(j + 1, len(replace)) if replace[i].strip()), None)
        if any(i is None or i in kept or ELISION_RE.match(replace[i]) for i in (above, below)):
            return True
    return False


def elision_pieces(
    lines: list[str], search: list[str], replace: list[str], levels: Collection[str], units: Units,
    spelled_out: bool = False,
) -> list[tuple[Match, list[str], list[str], str]]:
    """Split both sides at ``...`` lines and find each SEARCH piece, in order.

    Each later piece is taken where it is first found past the one before. A
    first piece found in several places is taken at the one place the other
    pieces follow; where they follow several, at the last of them (reading it
    earlier would have the ``...`` elide a copy of the very lines quoted);
    where they go on to different places, it is refused.

    The ``...`` lines must be written the same on both sides: one that
    REPLACE rewrites (say, re-indents) is a line of the file being changed,
    not a placeholder for unchanged code. (``spelled_out``: REPLACE writes
    the whole region out, changing every piece; see ``search_spelled_out``.)
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
    starts, level = find_first(lines, pieces[0][0], 0, levels, units)
    if not starts:
        raise Refusal(f"the SEARCH piece starting {pieces[0][0][0].strip()!r} was not found")
    chains, missing = [], None
    for start in starts:
        try:
            chains.append([(start, level), *_follow(lines, pieces[1:], start.end, levels, units, spelled_out)])
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


def _follow(
    lines: list[str], pieces: list[tuple[list[str], list[str]]], lo: int, levels: Collection[str], units: Units,
    spelled_out: bool,
) -> list[tuple[Match, str]]:
    """Each later piece, where it is first found past the one before it.

    A piece of nothing but brackets and punctuation (``)``, ``});``) names no
    place of its own: where it occurs more than once further on and REPLACE
    changes it or writes lines around it, which one is meant cannot be told.
    """
    out = []
    for s_piece, r_piece in pieces:
        found, level = find_first(lines, s_piece, lo, levels, units)
        if not found:
            raise Refusal(f"the SEARCH piece starting {s_piece[0].strip()!r} was not found after the previous piece")
        bare = not any(_WORD_RE.search(x) for x in s_piece)
        if bare and len(found) > 1 and (spelled_out or [x.rstrip() for x in s_piece] != [x.rstrip() for x in r_piece]):
            raise Refusal(
                f"the SEARCH piece {s_piece[0].strip()!r} after `...` is found {len(found)} times further on; quote more lines"
            )
        out.append((found[0], level))
        lo = found[0].end
    return out


def search_spelled_out(
    lines: list[str], search: list[str], replace: list[str], levels: Collection[str], units: Units
) -> tuple[Match, list[str], str] | None:
    """An elided SEARCH whose REPLACE writes the region out in full, as one match of the whole region: the match,
    SEARCH with its ``...`` lines written out as the file lines they elide, and the level; None where that is open.

    A model that elides the middle of what it quotes (``def get(self, key):``,
    ``...``, ``return value``) and then writes the new version whole means the
    region from the first quoted line to the last. Only where REPLACE keeps at
    least half of each elided run's lines (it rewrites the region, it does not
    drop what it left out), no ``...`` line is SEARCH's first or last (blank lines aside), and every
    piece is found with the one indentation shift, a prefix (the elided lines
    are written in the model's indentation from it).
    """
    quoted = [s for s in search if s.strip()]
    if any(ELISION_RE.match(r) for r in replace) or ELISION_RE.match(quoted[0]) or ELISION_RE.match(quoted[-1]):
        return None
    pieces = elision_pieces(lines, search, search, levels, units, spelled_out=True)
    shift = pieces[0][0].shift
    if shift.unit_from or any(match.shift != shift for match, *_ in pieces):
        return None
    whole: list[str] = []
    mapping: list[int | None] = []
    gaps = []
    tails = False
    for k, (match, s_piece, _, _) in enumerate(pieces):
        if k:
            gap = range(pieces[k - 1][0].end, match.start)
            if any(lines[i].strip() and not lines[i].startswith(shift.added) for i in gap):
                return None
            gaps.append(range(len(whole), len(whole) + len(gap)))
            # (as a model would quote them: its indentation, no trailing whitespace it cannot see)
            whole += [(shift.removed + lines[i][len(shift.added):]).rstrip() if lines[i].strip() else "" for i in gap]
            tails = tails or any(lines[i] != lines[i].rstrip() for i in gap)
            mapping += list(gap)
        whole += s_piece
        mapping += match.mapping
    matcher = SequenceMatcher(None, [x.strip() for x in whole], [x.strip() for x in replace], autojunk=False)
    kept = {i + k for i, _, size in matcher.get_matching_blocks() for k in range(size) if whole[i + k].strip()}
    for gap in gaps:
        elided = [i for i in gap if whole[i].strip()]
        if not elided or 2 * sum(i in kept for i in elided) < len(elided):
            return None
    level = max([CONTIGUOUS.index(level) for *_, level in pieces] + [CONTIGUOUS.index("whitespace")] * tails)
    return Match(pieces[0][0].start, pieces[-1][0].end, mapping, shift), whole, CONTIGUOUS[level]


_WORD_RE = re.compile(r"\w")


def _split_elided(lines: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for line in lines:
        if ELISION_RE.match(line):
            parts.append([])
        else:
            parts[-1].append(line)
    return parts
