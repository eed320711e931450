"""Parse a model's SEARCH/REPLACE edit blocks out of its free-form answer.

The format is the conflict-marker one Aider made common::

    src/app.py
    ```python
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE
    ```

Why a tolerant parser: small local models wrap blocks in fences (with or
without a language), decorate the path with backticks, bold or a ``File:``
label, name it in the fence's info string (````` ```python:src/app.py `````),
on the head line (``<<<<<<< SEARCH src/app.py``) or in a sentence, put prose
between blocks, drop the path on the second block for the same file, or
write the path with a prefix the repository does not have
(``repo/src/app.py``, ``./src/app.py``, an absolute path) or in other case.
All of that is recoverable, and so is a first block with no path at all
when the caller can say which one file its SEARCH is found in (``locate``).
What the parser must never do is invent an edit: a block it cannot
attribute to a path, or one that is not closed, is an error, not a guess. Path *safety* is not decided here (see
``patch.safe_path``). An answer with no block at all may be a unified diff,
read hunk by hunk as edits (see ``udiff``), an ``apply_patch`` envelope
(see ``applypatch``), or files written out whole (see ``wholefile``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from .applypatch import read_apply_patch, writes_apply_patch
from .errors import PatchError
from .markers import FENCE_RE
from .records import EditBlock
from .udiff import read_diff
from .wholefile import read_whole_files

__all__ = ["ParsedEdits", "parse_blocks", "parse_edits", "resolve_path", "render_blocks"]

# Aider tolerates 5-9 marker characters; so do we (small models miscount). ORIGINAL/UPDATED is the format's
# older spelling, still in many models' training data.
# Some models name the file on the head line itself (``<<<<<<< SEARCH src/app.py``); other words there are ignored.
# (Blank runs are read possessively throughout: a marker line padded with thousands of spaces costs no backtracking.)
HEAD_RE = re.compile(r"^\s*+<{5,9}\s*+(?:SEARCH|ORIGINAL)\b\s*+[:\-]?\s*+(?P<path>[^\s>][^>]*+)?>?\s*+$", re.IGNORECASE)
DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
UPDATED_RE = re.compile(r"^\s*+>{5,9}\s*+(?:REPLACE|UPDATED)\s*+<?\s*+$", re.IGNORECASE)
_LABEL_RE = re.compile(
    r"^(?:file\s*name|file\s*path|filename|filepath|file|path|in|edit|editing|update|create|new\s+file)\s*[:\-]\s*",
    re.IGNORECASE,
)
_BULLET_RE = re.compile(r"^(?:#+|[-*+]\s+|\d+[.)]\s+|>\s*)")
_PATH_CHARS_RE = re.compile(r"^[\w.~@+\-/\\$\[\]%=]+$")  # ``$`` (Java inner classes), ``[id]`` (route folders)
_EXTENSION_RE = re.compile(r"\.[A-Za-z0-9_+\-]+$")
_LINK_RE = re.compile(r"\[([^\[\]\n]{1,300})\]\(([^()\s]{1,300})\)")
# A line range after a path, as excerpt headers (`src/app.py:L10-20`), editors and code hosts write them.
_LINES_RE = re.compile(r"(?::L?\d+(?:-L?\d+)?(?::\d+)?|#L\d+(?:-L?\d+)?)$")
_LOOKBACK = 3  # non-blank lines searched above a block for its path, as Aider does


@dataclass(frozen=True, slots=True)
class ParsedEdits:
    """Every block that parsed, a one-line description of each that did not, and what was read between the lines
    (a path found by the block's SEARCH)."""

    blocks: tuple[EditBlock, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()


def parse_blocks(response: str, known_paths: Collection[str] = (),
                 text_of: Callable[[str], str | None] | None = None) -> list[EditBlock]:
    """The edit blocks of ``response``; PatchError if any block is malformed or none exist.

    Strict on purpose: a truncated answer (the model hit its token limit inside
    a block) must not silently become half a refactor. Use ``parse_edits`` to
    keep the good blocks and show the problems instead.
    """
    parsed = parse_edits(response, known_paths, text_of=text_of)
    if parsed.problems:
        more = f" (and {len(parsed.problems) - 1} more)" if len(parsed.problems) > 1 else ""
        raise PatchError(
            parsed.problems[0] + more,
            "ask the model again; every edit must be a complete SEARCH/=======/REPLACE block after its file path",
            title="malformed edit",
        )
    if not parsed.blocks:
        raise PatchError(
            "the answer contains no SEARCH/REPLACE edit block (nor diff hunk)",
            "ask the model again with the edit format instructions",
            title="malformed edit",
        )
    return list(parsed.blocks)


def parse_edits(response: str, known_paths: Collection[str] = (),
                locate: Callable[[str], str | None] | None = None,
                text_of: Callable[[str], str | None] | None = None) -> ParsedEdits:
    """Lenient parse: the blocks that are well formed plus the problems found.

    ``locate(search)``: for a block the answer names no path for (none above it, none before it), the one file
    its SEARCH applies to, or None; without it such a block is a problem. ``text_of(path)``: a known file's text
    as it stands (where a file written out whole ends may depend on it), or None.
    """
    known = frozenset(known_paths)
    notes: list[str] = []
    lines = response.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[EditBlock] = []
    problems: list[str] = []
    prev_path: str | None = None
    last_end = -1  # index of the line that closed the previous block
    i = 0
    while i < len(lines):
        line = lines[i]
        if UPDATED_RE.match(line):
            problems.append(f"line {i + 1}: `>>>>>>> REPLACE` without a `<<<<<<< SEARCH` before it")
            i += 1
            continue
        if not HEAD_RE.match(line):
            i += 1
            continue
        number = len(blocks) + len(problems) + 1
        search, replace, end, problem = _read_block(lines, i)
        if problem:
            problems.append(f"block {number} (line {i + 1}): {problem}")
            i = end + 1
            continue
        inline = HEAD_RE.match(line).group("path")  # type: ignore[union-attr]
        raw_path = (inline and _clean_path(inline, known)) or _find_path(lines, i, last_end, known)
        if raw_path is None:
            raw_path = prev_path
        if raw_path is None and search.strip() and locate is not None:
            raw_path = locate(search)
            if raw_path is not None:
                notes.append(f"block {number} (line {i + 1}) names no file; its SEARCH is found only in {raw_path}")
        if raw_path is None:
            problems.append(f"block {number} (line {i + 1}): no file path before it"
                            + (" (and its SEARCH is not found in exactly one file)" if locate and search.strip() else ""))
        else:
            path = resolve_path(raw_path, known, creating=not search)
            blocks.append(EditBlock(path=path, search=search, replace=replace))
            prev_path = raw_path
        last_end = end
        i = end + 1
    if not blocks and not problems:  # no edit block at all: the model may have written a patch or a diff instead
        if writes_apply_patch(lines):
            edits, problems = read_apply_patch(lines)
        else:
            edits, problems = read_diff(lines, lambda head, after: _find_path(lines, head, after, known))
        if not edits:  # ... or written each file out whole, fenced under its path (where a Ruby file's `@@var`
            # lines read as hunks no header names, the files are what was meant)
            whole, unclear = read_whole_files(lines, lambda head, after: _find_path(lines, head + 1, after, known),
                                              lambda path: resolve_path(path, known) in known,
                                              lambda path: text_of(resolve_path(path, known)) if text_of else None)
            if whole or unclear:
                edits, problems = whole, unclear
        blocks = [EditBlock(resolve_path(e.path, known, creating=e.creating), e.search, e.replace, e.line, e.within)
                  for e in edits]
    return ParsedEdits(tuple(blocks), tuple(problems), tuple(notes))


def _read_block(lines: list[str], head: int) -> tuple[str, str, int, str]:
    """SEARCH text, REPLACE text, index of the closing line, and a problem ('' if none)."""
    j = head + 1
    while j < len(lines) and not DIVIDER_RE.match(lines[j]):
        if HEAD_RE.match(lines[j]) or UPDATED_RE.match(lines[j]):
            return "", "", j - 1, "SEARCH part is not followed by a `=======` line"
        j += 1
    if j >= len(lines):
        return "", "", j, "SEARCH part is not followed by a `=======` line (answer cut off?)"
    dividers = [j]
    j += 1
    while j < len(lines) and not UPDATED_RE.match(lines[j]):
        if HEAD_RE.match(lines[j]):
            return "", "", j - 1, "REPLACE part is not closed by `>>>>>>> REPLACE`"
        if DIVIDER_RE.match(lines[j]):
            dividers.append(j)
        j += 1
    if j >= len(lines):
        return "", "", j, "REPLACE part is not closed by `>>>>>>> REPLACE` (answer cut off?)"
    cut = _divider(lines[head + 1:j], [d - head - 1 for d in dividers]) + head + 1
    search, replace = _unfence(lines[head + 1:cut], lines[cut + 1:j])
    return _join(search), _join(replace), j, ""


def _divider(body: list[str], candidates: list[int]) -> int:
    """Which ``=======`` line of a block divides SEARCH from REPLACE (an rst heading underline can look the same).

    The model quotes unchanged lines on both sides, so the true divider is the
    one that leaves SEARCH and REPLACE sharing the most leading and trailing
    lines; on a tie the first one, as other tools read it.
    """
    def shared(cut: int) -> int:
        old, new = body[:cut], body[cut + 1:]
        most = min(len(old), len(new))
        head = next((k for k in range(most) if old[k] != new[k]), most)
        tail = next((k for k in range(most - head) if old[-1 - k] != new[-1 - k]), most - head)
        return head + tail
    return max(candidates, key=lambda cut: (shared(cut), -cut))


def _unfence(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """SEARCH and REPLACE without the code fence a model put *inside* them: around both parts alike, or around the
    one part there is (a new file's text, the lines to delete). A part that merely starts and ends with fence lines
    of its own, beside one that does not (a Markdown file's examples quoted as context), is as written."""
    wrapped = [_wrapped(part) for part in (search, replace)]
    if all(wrapped) and search[0].strip() == replace[0].strip() and search[-1].strip() == replace[-1].strip():
        return search[1:-1], replace[1:-1]
    if wrapped[0] and not any(x.strip() for x in replace):
        return search[1:-1], replace
    if wrapped[1] and not any(x.strip() for x in search):
        return search, replace[1:-1]
    return search, replace


def _wrapped(part: list[str]) -> bool:
    """Does the part start with a fence line and end with a bare one (a fence that closes)?"""
    closing = FENCE_RE.match(part[-1]) if len(part) >= 2 else None
    return bool(closing and not closing.group(2) and FENCE_RE.match(part[0]))


def _join(part: list[str]) -> str:
    return "".join(line + "\n" for line in part)


def _find_path(lines: list[str], head: int, last_end: int, known: frozenset[str]) -> str | None:
    """The path written above the block at ``head``, or None if there is none.

    Looks at up to three non-blank lines above the block (fence lines are
    skipped, but a fence's info string may itself be the path), never above the
    previous block's closing marker.
    """
    seen = 0
    j = head - 1
    while j > last_end and seen < _LOOKBACK:
        line = lines[j]
        j -= 1
        if not line.strip():
            continue
        fence = FENCE_RE.match(line)
        if fence:
            candidate = _fence_path(fence.group(2), known)
            if candidate:
                return candidate
            continue
        seen += 1
        candidate = _clean_path(line, known)
        if candidate:
            return candidate
    return None


_FENCE_ATTR_RE = re.compile(r"""^(?:title|file|filename|filepath|path|name)=["']?(.+?)["']?$""", re.IGNORECASE)


def _fence_path(info: str, known: frozenset[str]) -> str | None:
    """The path a fence's info string names: ```` ```python src/x.py ````, ```` ```python:src/x.py ```` (as
    several editors write it), ```` ```python title="src/x.py" ````; None when it names none."""
    for word in reversed(info.split()):
        attr = _FENCE_ATTR_RE.match(word)
        for candidate in (attr.group(1),) if attr else (word, word.partition(":")[2]):
            path = _clean_path(candidate, known) if candidate else None
            if path:
                return path
    return None


def _clean_path(line: str, known: frozenset[str]) -> str | None:
    """The path a decorated line names (``**File:** `src/x.py`:``, ``[src/x.py](src/x.py)``), or None for prose."""
    text = line.strip()
    if text in known:
        return text
    links = _LINK_RE.findall(text)
    if len(links) == 1 and _undecorated(_LINK_RE.sub("\0", text)) == "\0":  # a line that is a Markdown link to the file
        for candidate in (links[0][1].removeprefix("file://"), links[0][0]):
            candidate = _strip_decor(candidate)
            if _looks_like_path(candidate, known):
                return candidate
    spans = re.findall(r"`([^`\n]+)`", text)
    if spans:
        for span in reversed(spans):
            candidate = _strip_decor(span)
            if _looks_like_path(candidate, known):
                return candidate
        return None
    text = _undecorated(text)
    if _looks_like_path(text, known):
        return text
    if text.startswith("[") and text.endswith("]") and _looks_like_path(text[1:-1], known):
        return text[1:-1]  # a path in brackets alone (``[src/x.py]``), as some models head a file
    # "Changes to src/app.py", "src/app.py (new file)": the last or first word, if clearly a path; else the one
    # word of the line that is a known path ("Update src/app.py as follows:").
    words = [_strip_decor(w) for w in text.split()]
    for word in words[-1:] + words[:1]:
        if (word in known or "/" in word) and _looks_like_path(word, known):
            return word
    named = {w.lstrip("(").rstrip("),;:.!?") for w in words} & known
    return named.pop() if len(named) == 1 else None


def _undecorated(text: str) -> str:
    """A line without its decoration: bold, quotes, a bullet or heading mark, a ``File:`` label."""
    prev = None
    while text != prev:
        prev = text
        text = _strip_decor(text)
        text = _BULLET_RE.sub("", text).strip()
        text = _LABEL_RE.sub("", text).strip()
    return text


def _strip_decor(text: str) -> str:
    text = text.strip().replace("**", "").strip()
    text = text.strip("`'\"*").strip()
    text = _LINES_RE.sub("", text.rstrip(":").strip()).rstrip(":").strip()
    return text.strip("`'\"*").strip()


def _looks_like_path(text: str, known: frozenset[str]) -> bool:
    if not text or text in ("...", "…"):
        return False
    if text in known or any(text[i + 1:] in known for i, ch in enumerate(text) if ch == "/"):
        return True  # a known path, or one under a wrong prefix (``/home/me/repo/docs/My Notes.md``)
    if not _PATH_CHARS_RE.match(text) or not any(ch.isalpha() for ch in text):
        return False
    if text.startswith("[") and text.endswith("]"):
        return False  # a bracketed label, not a route folder
    return "/" in text or bool(_EXTENSION_RE.search(text))


def resolve_path(raw: str, known_paths: Collection[str], *, creating: bool = False) -> str:
    """Map a path as the model wrote it onto a known repository path when that is unambiguous.

    ``./src/x.py`` and ``repo/src/x.py`` or ``/home/me/repo/src/x.py`` become
    ``src/x.py`` when exactly one known path is a suffix of what was written
    (the longest suffix wins: ``a/src/x.py`` prefers ``src/x.py`` over
    ``x.py``). When the block edits an existing file (``creating`` False), a
    path missing its leading folders (``x.py``) is completed if exactly one
    known path ends with it, and one written in other case (``readme.md``) is
    the one known path it names ignoring case. Anything else comes back as
    written (``\\`` made ``/``, a leading ``./`` dropped), and
    ``patch.safe_path`` decides whether it is allowed.
    """
    known = known_paths if isinstance(known_paths, (set, frozenset, dict)) else frozenset(known_paths)
    path = raw.strip()
    if path in known:
        return path
    path = path.replace("\\", "/")  # a Windows-style separator is never meant as part of a name
    if path in known:
        return path
    while path.startswith("./"):
        path = path[2:]
    if path in known:
        return path
    suffix_of = [k for k in known if path.endswith("/" + k)]
    if suffix_of:
        return max(suffix_of, key=len)
    if not creating and path and not path.startswith("/"):
        ends_with = [k for k in known if k.endswith("/" + path)]
        if len(ends_with) == 1:
            return ends_with[0]
        # A file that exists, written in other case (``readme.md`` for ``README.md``): the one known path that
        # matches it, or ends with it, ignoring case.
        lower = path.lower()
        folded = [k for k in known if k.lower() == lower] or [k for k in known if k.lower().endswith("/" + lower)]
        if len(folded) == 1:
            return folded[0]
    return path


def render_blocks(blocks: Collection[EditBlock], fence: str = "```") -> str:
    """Blocks written back in the format the parser reads (for retry prompts and benches)."""
    out: list[str] = []
    for block in blocks:
        out.append(block.path)
        out.append(fence)
        out.append("<<<<<<< SEARCH")
        for part in (block.search, "=======\n", block.replace):
            if part:
                out.append(part[:-1] if part.endswith("\n") else part)
        out.append(">>>>>>> REPLACE")
        out.append(fence)
        out.append("")
    return "\n".join(out)
