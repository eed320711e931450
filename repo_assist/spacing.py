"""How a file spaces kinds of line: the blank-line habits that decide where lost blank lines go.

Why a module of its own: ``placing`` judges where lines SEARCH left out go
from the shape of the new lines; when shape cannot tell, the file's own
spacing can. A line's kind is its depth and leading word (a Python import's
is its group); the file's habit for a pair of kinds is how many blank lines
it always puts between them (asked of rougher kinds where the exact pair is
rare, and before a definition, of any code before such definitions), and
its longest run of blank lines bounds any split.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

__all__ = [
    "COMMENT_RE", "DEFINITION_RE", "HABIT_SEEN", "STRING_RE", "blank_runs", "by_counts", "by_insertion", "by_room",
    "closes", "depth", "edges", "ends_block", "fits", "kind", "longest_run", "meetings", "shape", "spacing",
]

HABIT_SEEN = 2  # times the file must space a pair of kinds of line the same way before that counts as its habit
_HABIT_FIRM = 3  # ... and the times for the exact pair when that one join alone decides


def by_counts(lines: list[str], top: str, new: list[str], bottom: str, n: int, *, firm: bool = True) -> int | None:
    """The one split of the n lost blank lines that leaves the joins spaced as the file always spaces them.

    A join is a pair of lines (the line above and the first new line; the
    last new line and the line below); the file's habit for it is the
    blank-line count wherever lines of those kinds meet, when that is always
    the same (see ``_blank_habit``). With a habit at both joins the split
    must fit both; with a habit at one, it must fit that one and leave the
    other join spaced as the file spaces such lines somewhere; that one
    habit must be firm (the exact pair, seen three times or more) unless
    ``firm`` is False. More than one split that fits decides nothing.
    """
    lead, trail = edges(new)
    joins = ((top, new[lead]), (new[-1 - trail], bottom))
    (upper, upper_firm), (lower, lower_firm) = (_join_habit(lines, u, v) for u, v in joins)
    if upper is None and lower is None:
        return None
    if firm and not (upper_firm if upper is not None else lower_firm) and (upper is None or lower is None):
        return None  # one join alone decides only with a firm habit
    fits = [k for k in range(n + 1) if upper in (None, k + lead) and lower in (None, n - k + trail)]
    if len(fits) != 1:
        return None
    k = fits[0]
    if upper is None and not _seen(lines, *joins[0], k + lead):
        return None
    if lower is None and not _seen(lines, *joins[1], n - k + trail):
        return None
    return k


def _join_habit(lines: list[str], upper: str, lower: str) -> tuple[int | None, bool]:
    """The file's habit for a join and whether it is firm: the pair's (firm if the exact pair is seen three times
    or more), else, where the lower line starts a definition, the file's habit before such definitions (firm)."""
    habit = _blank_habit(lines, upper, lower)
    if habit is not None:
        return habit, _blank_habit(lines, upper, lower, levels=1, least=_HABIT_FIRM) is not None
    habit = _before_definition(lines, upper, lower)
    return habit, habit is not None


def _before_definition(lines: list[str], upper: str, lower: str) -> int | None:
    """How many blank lines the file always puts (three times or more) before a definition of ``lower``'s kind
    after code like ``upper``: after the end of a block (a deeper line or a closing bracket) if ``upper`` is one,
    else after any code that is not its parent's opening line, a comment or a decorator. Methods one apart,
    classes two, whatever the lines before them."""
    if not DEFINITION_RE.match(lower):
        return None
    for before in (ends_block, _code_before):
        if before(upper, lower):
            of_lower = kind(lower)
            gaps = [blanks for above, below, blanks in meetings(lines) if kind(below) == of_lower and before(above, below)]
            if len(gaps) >= _HABIT_FIRM and len(set(gaps)) == 1:
                return gaps[0]
    return None


def ends_block(line: str, following: str) -> bool:
    """Is ``line`` the end of a block ``following`` comes after: deeper, or a closing bracket as deep?"""
    return depth(line) > depth(following) or (depth(line) == depth(following) and closes(line))


def closes(line: str) -> bool:
    """Does the line start with a closing bracket?"""
    return line.strip()[:1] in (")", "]", "}")


def _code_before(line: str, following: str) -> bool:
    """Is ``line`` code before ``following`` rather than its parent's opening line (``class A:``) or its header (a
    comment or decorator): as deep or deeper, ending no opening line, no comment or decorator?"""
    return (depth(line) >= depth(following) and line.rstrip()[-1:] not in ":{(["
            and not COMMENT_RE.match(line) and not line.lstrip().startswith("@"))


# A comment line in the languages and formats we meet: #, //, /* and * continuations, SQL/Lua --, Lisp ;, HTML <!--,
# TeX %, reStructuredText's ".. ".
COMMENT_RE = re.compile(r"^\s*(?:#|//|/\*|\*|--\s|;|<!--|%|\.\.\s)")
# A definition (or its decorator): what code files set apart from the block before it by a fixed count of blank lines.
DEFINITION_RE = re.compile(
    r"^\s*(?:@\w|(?:(?:export|public|private|protected|internal|static|abstract|final|open|override|inline|suspend|"
    r"operator|data|sealed|pub(?:\([\w:]+\))?|async|unsafe|default)\s+)*"
    r"(?:def|class|func|function|fn|fun|struct|enum|trait|impl|interface|module|namespace|package)\b)"
)


def by_room(lines: list[str], new: list[str], n: int) -> int | None:
    """The one split of the n lost blank lines that runs no blank lines longer than the file ever does.

    New lines with blank lines of their own at an edge leave room for few
    splits: ``a`` + new ``X`` and its blank line + one lost blank line can be
    ``a, '', X, '', b`` or ``a, X, '', '', b``; in a file that never has two
    blank lines in a row only the first is its way.
    """
    splits = _fitting(lines, new, n)
    return splits[0] if len(splits) == 1 else None


def by_insertion(top: str, new: list[str], n: int) -> int | None:
    """The split of the n lost blank lines an editor's insertion of the new lines (with blank lines of their own at
    an edge) makes, where the file's longest run cannot tell.

    A paragraph is inserted at a line boundary. Not ending in a blank line of
    its own, it goes right after the line above, its own leading blank lines
    setting it apart (the lost ones stay below it); ending in one, after the
    blank line that ends the paragraph above (the first lost one), the rest
    staying before the line below — unless another split alone keeps the
    longest run it makes shorter (``a``, two blank lines, ``X`` and its blank
    line, three lost: two above, as the file sets sections apart).
    """
    lead, trail = edges(new)
    if not trail:
        return 0
    longest = {k: max(k + lead, n - k + trail) for k in range(n + 1)}
    shortest = min(longest.values())
    least = [k for k, v in longest.items() if v == shortest]
    if len(least) == 1:
        return least[0]
    # (new lines shallower than the line above end its block: how far apart they are set is the file's own habit)
    return 1 if 1 in least and depth(new[lead]) >= depth(top) else None


def fits(lines: list[str], new: list[str], n: int, k: int) -> bool:
    """Does putting k of the n lost blank lines above the new lines (the rest below them) run no more blank lines
    in a row than the file ever does?"""
    return k in _fitting(lines, new, n)


def _fitting(lines: list[str], new: list[str], n: int) -> list[int]:
    """Each k for which ``fits`` holds (the file's runs read once)."""
    lead, trail = edges(new)
    longest = longest_run(lines)
    return [k for k in range(n + 1) if k + lead <= longest and n - k + trail <= longest]


def longest_run(lines: list[str]) -> int:
    """How many blank lines in a row the file has at most."""
    return max((end - start for start, end in blank_runs(lines)), default=0)


def edges(new: list[str]) -> tuple[int, int]:
    """How many blank lines the new lines (at least one not blank) start and end with."""
    lead = next(i for i, x in enumerate(new) if x.strip())
    return lead, next(i for i, x in enumerate(reversed(new)) if x.strip())


def blank_runs(lines: list[str]) -> list[tuple[int, int]]:
    """Each run of blank lines as (first index, index past the last)."""
    found, start = [], None
    for i, x in enumerate([*lines, "x"]):
        if not x.strip() and start is None:
            start = i
        elif x.strip() and start is not None:
            found.append((start, i))
            start = None
    return found


def _blank_habit(lines: list[str], upper: str, lower: str, *, levels: int = 0, least: int = 0) -> int | None:
    """How many blank lines the file always puts between a line of ``upper``'s kind and one of ``lower``'s.

    Where that pair is seen less than ``least`` times (default twice), the
    rougher pairs are asked (one side by depth and word-or-symbol only); the
    first one seen often enough answers, or nothing does. ``levels`` limits
    how many ways of telling kinds apart are asked (default all).
    """
    for level in range(levels or len(_LEVELS)):
        gaps = _gaps(lines, upper, lower, level)
        if len(gaps) >= (least or HABIT_SEEN):
            return gaps[0] if len(set(gaps)) == 1 else None
    return None


def _seen(lines: list[str], upper: str, lower: str, blanks: int) -> bool:
    """Does the file space lines like these with ``blanks`` blank lines somewhere (asked as ``_blank_habit`` asks)?"""
    for level in range(len(_LEVELS)):
        gaps = _gaps(lines, upper, lower, level)
        if gaps:
            return blanks in gaps
    return False


def _gaps(lines: list[str], upper: str, lower: str, level: int = 0) -> list[int]:
    """The blank lines between each line of ``upper``'s kind and the next non-blank line, where that is of ``lower``'s.

    ``level`` picks how kinds are told apart (``_LEVELS``): 0 is the exact pair.
    """
    of_upper, of_lower = _LEVELS[level]
    pair = (of_upper(upper), of_lower(lower))
    return [blanks for above, below, blanks in meetings(lines) if (of_upper(above), of_lower(below)) == pair]


def meetings(lines: list[str]) -> Iterator[tuple[str, str, int]]:
    """Each non-blank line with the next non-blank line and the blank lines between them."""
    prev = None
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if prev is not None:
            yield lines[prev], line, i - prev - 1
        prev = i


def spacing(lines: list[str], upper: str, lower: str = "", *, least: int = 1) -> bool | None:
    """Where a line of ``upper``'s kind is followed by one of ``lower``'s (default: the same kind), does the file
    always set them apart with blank lines (True), always keep them together (False), or either (None)?

    ``least`` is how many times the pair must be seen to tell.
    """
    seen = [gap > 0 for gap in _gaps(lines, upper, lower or upper)]
    return seen[0] if len(seen) >= least and len(set(seen)) == 1 else None


_LEAD_RE = re.compile(r"[A-Za-z_]\w*|\d+|(\S)\1*")


def kind(line: str) -> tuple[int, str]:
    """A line's kind: its indentation and its leading word (or run of one symbol), a number ending it aside.

    A Python import is of its PEP 8 group instead (``__future__``, standard
    library, relative, any other), the groups files set apart with blank lines;
    so are Rust's, JavaScript's, Java's and Go's imports, in their formatters' groups.
    """
    stripped = line.strip()
    found = _IMPORT_RE.match(stripped)
    if found:
        return depth(line), "import " + _import_group(found)
    group = _go_import_group(line) or _other_import_group(stripped)
    if group:
        return depth(line), "import " + group
    lead = _LEAD_RE.match(stripped).group()  # type: ignore[union-attr]
    return depth(line), _NUMBERED_RE.sub(r"\1#", lead)


_NUMBERED_RE = re.compile(r"^([A-Za-z_]\w*?[A-Za-z_])\d+$")  # ``test_3``, ``prop_shell7``: an entry of a numbered run


# `from a.b import c` / `import a.b as c, d` as Python writes them (not JS's `import x from "y"`, not Java's `;`).
_IMPORT_RE = re.compile(r"from\s+(\.*)(\w*)[\w.]*\s+import\b|import\s+(\w+)[\w.]*(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*(?:#.*)?$")


def _import_group(found: re.Match) -> str:
    if found.group(1):
        return "relative"
    top = found.group(2) or found.group(3)
    if top == "__future__":
        return "future"
    return "stdlib" if top in sys.stdlib_module_names else "other"


# Imports of other languages, in the groups their formatters and linters keep apart with blank lines: Rust's std,
# external and crate-local ``use``; JavaScript's relative and package imports (``import``, ``require``); Java's
# ``java.*``/``javax.*``, static and other imports; Go's standard library (no dot in the path's first element) and
# other paths, a spec in an import block being a bare path (maybe named) on a line gofmt indents with one tab (a
# list's last string, the other line written so, is indented with spaces, or ends with a comma in Go).
_GO_IMPORT_RE = re.compile(r'\t(?:[A-Za-z_]\w*\s+|\.\s+)?"([\w.~+-]+(?:/[\w.~+-]+)*)"\s*$')
_RUST_USE_RE = re.compile(r"(?:pub(?:\([\w:]+\))?\s+)?use\s+(?:::)?(\w+)\b")
_JS_IMPORT_RE = re.compile(r"""(?:import\b[^'"`]*|(?:const|let|var)\s[^=]*=\s*require\(\s*)['"]([^'"]+)['"]""")
_JAVA_IMPORT_RE = re.compile(r"import\s+(static\s+)?(\w+)\.[\w.]+(?:\.\*)?;")


def _go_import_group(line: str) -> str | None:
    found = _GO_IMPORT_RE.fullmatch(line.rstrip("\r\n"))
    if not found:
        return None
    return "go other" if "." in found.group(1).split("/")[0] else "go std"


def _other_import_group(stripped: str) -> str | None:
    """The import group of a Rust, JavaScript or Java import line (None: not one)."""
    found = _RUST_USE_RE.match(stripped)
    if found:
        top = found.group(1)
        return "use std" if top in ("std", "core", "alloc") else "use local" if top in ("crate", "super", "self") else "use other"
    found = _JS_IMPORT_RE.match(stripped)
    if found:
        return "js relative" if found.group(1).startswith(".") else "js other"
    found = _JAVA_IMPORT_RE.match(stripped)
    if found:
        return "java static" if found.group(1) else "java std" if found.group(2) in ("java", "javax") else "java other"
    return None


def _rough(line: str) -> tuple[int, str]:
    """A line's rough kind: its indentation and whether it starts with a word, else its symbol (one, or a run)."""
    lead = _LEAD_RE.match(line.strip()).group()  # type: ignore[union-attr]
    return depth(line), "a" if lead[0].isalnum() or lead[0] == "_" else lead[:2]


# How kinds of line are told apart when asking how the file spaces them: exact first, then one side rough.
_LEVELS = ((kind, kind), (_rough, kind), (kind, _rough))


_QUOTED = r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'"""  # a string in double or single quotes, escapes and all
STRING_RE = re.compile(_QUOTED)
_SHAPE_RE = re.compile(rf"""(?P<s>{_QUOTED}|`[^`]*`)|(?P<n>\b\d[\w.]*)|(?P<w>[A-Za-z_]\w*)""")
_KEYWORDS = frozenset(
    "def class func function fn return if elif else for while import from package use with try except catch finally "
    "raise throw var let const pub struct type interface async await yield assert case switch break continue".split()
)


def shape(line: str) -> str:
    """A line written with its names, strings and numbers blanked out (keywords kept): ``a = s`` for ``x = "y"``.

    A keyword with a dot right before or after it is a name there (``assert.equal``, ``<assert.h>``, ``x.type``).
    """
    def one(m: re.Match) -> str:
        if m.group("s"):
            return "s"
        if m.group("n"):
            return "0"
        dotted = line[m.start() - 1:m.start()] == "." or line[m.end():m.end() + 1] == "."
        return m.group() if m.group() in _KEYWORDS and not dotted else "a"
    return " ".join(_SHAPE_RE.sub(one, line).split())


def depth(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())
