"""Read an answer that writes each changed file out whole, fenced under its path, instead of edit blocks.

Why: asked for SEARCH/REPLACE blocks, small models often fall back to the
"whole file" format (Aider's ``whole`` edit format): the file's path, then a
code fence holding the file as it should be::

    src/app.py
    ```python
    ...every line of the file, changed...
    ```

Each such fence is read as an empty SEARCH on that file, which matching
accepts only as the file rewritten (nearly all its lines kept, in order, up
to its end); a snippet under a path is refused there, never spliced in
somewhere. An answer in this format may also create files (a function moved
to a new module): a fence under a path that does not exist is a new file,
but only beside a file written out that does exist (alone, it may as well be
an example). Fences a fence holds (a README's examples) are read as its text: a
fence line with an info string opens one, a bare one closes the innermost;
where a bare fence line after the end found could be the true end (an
example opened by a bare fence), the end is the one that leaves the file
ending with the line it ends with now (looking past fences under a line
that names a file, ``python main.py`` or ``[MIT](LICENSE)``, only where no
end before them leaves it so), and with none or several such the
fence is a problem, as is a file written out twice: read anyway, a file cut
short would lose its rest, and left out, the answer would be half applied.
A ``diff`` fence holds a diff, not a file (unless the file is a patch).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from .markers import FENCE_RE, closes_fence
from .spacing import depth
from .udiff import DiffEdit

__all__ = ["read_whole_files"]


def read_whole_files(lines: list[str], path_above: Callable[[int, int], str | None], exists: Callable[[str], bool],
                     text_of: Callable[[str], str | None] = lambda path: None) -> tuple[list[DiffEdit], list[str]]:
    """Each fence under a path (``path_above(line, after)`` looks between line ``after`` and the fence), as an edit
    that rewrites that file, or creates it where it does not ``exist``, and a one-line description of each fence
    that cannot be read so; nothing unless one file exists. ``text_of(path)``: the file as it stands, whose last
    line tells which of the bare fences that could close a file written out whole does."""
    found: list[DiffEdit] = []
    problems: list[str] = []
    last_end = -1
    i = 0
    while i < len(lines):
        fence = FENCE_RE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = _closing(lines, i, fence.group(1))
        path = path_above(i, last_end)
        if end is None:
            if path is not None:
                problems.append(f"line {i + 1}: {path} written out whole is not closed by a fence (answer cut off?)")
            break
        if fence.group(2).lower() in ("diff", "patch") and not (path or "").endswith((".diff", ".patch")):
            path = None  # (a diff, read as one, not a file)
        ends = _ends(lines, end, fence.group(1), path_above) if path is not None else [end]
        fit = _ending_as(lines, i, ends, text_of(path)) if path is not None else ends
        if not fit:
            # (none of them leaves it ending as the file does: a fence under a line naming a file, ``python
            # main.py`` in an example, or ``[MIT](LICENSE)`` as its last line, may be its end or inside it too)
            further = _ends(lines, end, fence.group(1), path_above, past_paths=True)
            fit = _ending_as(lines, i, further, text_of(path))  # type: ignore[arg-type]
        ends = fit or ends
        end = ends[0]
        if len(ends) > 1:
            problems.append(f"line {i + 1}: where {path} written out whole ends cannot be told (a bare fence inside it"
                            f" may close it); write it in a longer fence ({fence.group(1)[0] * (len(fence.group(1)) + 1)})")
        elif path is not None:
            found.append(DiffEdit(path, "", "".join(x + "\n" for x in lines[i + 1:end]), creating=not exists(path)))
        last_end = i = end
        i += 1
    if all(e.creating for e in found):
        return [], problems  # (fences under new paths alone may be examples)
    twice = {p for p, n in Counter(e.path for e in found).items() if n > 1}
    problems += [f"{p} is written out whole more than once; which is meant cannot be told" for p in sorted(twice)]
    return [e for e in found if e.path not in twice], problems


def _ends(lines: list[str], end: int, mark: str, path_above: Callable[[int, int], str | None], *,
          past_paths: bool = False) -> list[int]:
    """Where the fence closed at ``end`` may close: there, and at each bare fence line after it before the next
    file's fence (a Markdown file's example opened by a bare fence closed it early); ``past_paths``: past fences
    under a line naming a file too (read only where the ends before them do not leave the file ending as it does)."""
    found = [end]
    j = end + 1
    while j < len(lines):
        fence = FENCE_RE.match(lines[j])
        if fence and closes_fence(fence.group(1), mark):
            if not past_paths and path_above(j, end) is not None:
                break  # the next file's
            if not fence.group(2):
                found.append(j)
            else:
                close = _closing(lines, j, fence.group(1))  # an example of the prose after it: skipped whole
                if close is None:
                    break
                j = close
        j += 1
    return found


def _ending_as(lines: list[str], head: int, ends: list[int], text: str | None) -> list[int]:
    """Of the places the file written out whole may end, the one place where it ends with the line the file ends
    with now (nothing where none or several do)."""
    last = next((x.strip() for x in reversed((text or "").splitlines()) if x.strip()), None)
    if last is None:
        return []
    fits = [e for e in ends if next((x.strip() for x in reversed(lines[head + 1:e]) if x.strip()), None) == last]
    return fits if len(fits) == 1 else []


def _closing(lines: list[str], head: int, mark: str) -> int | None:
    """The line that closes the fence opened at ``head`` (fences within it opened by an info string; a fence
    line indented past the opener's by four columns or more, as in a doc comment's example, is only text)."""
    inner = 0  # fences open within it
    deepest = depth(lines[head]) + 3
    for j in range(head + 1, len(lines)):
        fence = FENCE_RE.match(lines[j])
        if not fence or not closes_fence(fence.group(1), mark):
            continue
        if depth(lines[j]) > deepest:
            continue
        if fence.group(2):
            inner += 1
        elif inner:
            inner -= 1
        else:
            return j
    return None
