"""Uses a patch left behind: places outside it that still use a definition it renamed or re-signatured.

A use is the name as code. In a comment, a string or a prose file (Markdown and friends, outside their code
fences) the same word is usually English ("Return the area of a rectangle" is no use of ``area``), so there it
counts only written the way code is: a name with a capital, a digit or an underscore (``rectArea``, ``MAX_SIZE``),
or one called, dotted or quoted in backticks (``area(w, h)``, ``geo.area``, `` `area` ``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import UnsafePathError
from .languages import text_language_for
from .markers import FENCE_RE, closes_fence
from .outline import Outliner
from .patch import read_text, safe_path
from .shadowing import hidden

# Keywords that define a name (a Go method's receiver may stand between `func` and the name).
_DEFINING = "def|class|func|function|fn|struct|enum|trait|interface|type|module"
_COMMENT_LEADS = ("//", "/*", "* ", "# ", "-- ")  # how a whole-line comment starts, in most languages
_PROSE_LANGUAGES = frozenset({"markdown", "restructuredtext", "asciidoc", "text"})
# (line, start byte, end byte) → whether a name there stands in prose
Prose = Callable[[int, int, int], bool]
Texts = Mapping[str, str | None]  # path → a file's text (None: no such file)


Definitions = Mapping[str, Mapping[str, str]]  # path → its definitions (qualified name → header), as the outline


def _changed_definitions(old: Texts, after: Definitions, outliner: Outliner) -> dict[str, tuple[str, bool, str]]:
    """Definitions a change removed or re-signatured (each changed file's text before, ``old``; its definitions
    after, ``after``): short name → (what happened, whether it is gone rather than re-signatured, in which file)."""
    out: dict[str, tuple[str, bool, str]] = {}
    for path, defined in after.items():
        before = outliner.definitions(path, old.get(path) or "")
        for name, label in before.items():
            short = _short(name)
            if name not in defined:
                out[short] = (f"{name} was removed or renamed in {path}", True, path)
            elif defined[name] != label:
                out[short] = (f"the signature of {name} changed in {path}", False, path)
    return out


def _short(qualified: str) -> str:
    return re.split(r"\.|::", qualified)[-1]


def _still_defined(short: str, after: Definitions, manifest) -> str | None:
    """A file where a definition named ``short`` stands after the change (a changed file as it will be, or an
    indexed file the change leaves alone), or None."""
    for path in sorted(after):
        if any(_short(q) == short for q in after[path]):
            return path
    rows = [] if manifest is None else manifest.db.execute(
        "SELECT s.qualified, c.path FROM symbols s JOIN chunks c ON c.rid = s.rid WHERE s.name = ? LIMIT 100",
        (short.lower(),)).fetchall()
    return next((path for q, path in rows if path not in after and _short(q) == short), None)


def stale_references(old: Texts, new: Texts, manifest, outliner: Outliner, root: Path | None = None,
                     limit: int = 20) -> list[str]:
    """Places outside a change that still use a definition it renamed or re-signatured: the changed files as they
    will be (``new``, by path; ``old`` as they are), then the indexed pieces that name it (read as the working tree
    has them when ``root`` is given). With no index (``manifest`` None) the changed files only, and a note that the
    rest was not read."""
    warnings: list[str] = []
    touched = set(new)
    after = {path: outliner.definitions(path, new[path] or "") for path in new}  # (parsed once, read twice)
    renamed: dict[str, str] = {}
    for short, (what, gone, path) in _changed_definitions(old, after, outliner).items():
        elsewhere = _still_defined(short, after, manifest) if gone else None
        if elsewhere is None:
            renamed[short] = what
        elif elsewhere != path:  # a name other definitions share (`__init__`, `String`) or a definition moved:
            # no use is surely the removed one's. (In its own file: a method whose class was renamed, moved along.)
            warnings.append(f"{what}; {short} is still defined in {elsewhere}, so its uses were not listed")
    if renamed and manifest is None:
        warnings.append("uses of renamed or re-signatured names outside the patch were not looked for: the repository"
                        " has no index (run `repo-assist index`)")
    readings: dict[str, tuple[str, Prose, object] | None] = {}  # path → text, prose test, tree: read, parsed once

    def reading(path: str, text: str | None = None) -> tuple[str, Prose, object] | None:
        if path not in readings:
            text = _working_text(root, path) if text is None else text
            tree = None if text is None else outliner.tree(path, text)
            readings[path] = None if text is None else (text, _prose_test(outliner, path, text, tree), tree)
        return readings[path]

    for short, what in renamed.items():
        for path in sorted(touched):
            text, prose, tree = reading(path, new.get(path) or "")  # type: ignore[misc]
            lines = use_lines(text, prose, short, tree)
            if lines:
                warnings.append(f"{what}, but {path}:{1 + lines[0]} still uses {short}")
        rows = [] if manifest is None else manifest.db.execute(
            "SELECT c.path, c.start_line, c.text FROM chunks_fts f JOIN chunks c ON c.rid = f.rowid "
            "WHERE chunks_fts MATCH ? LIMIT 200", (f'"{short.lower()}"',),
        ).fetchall()
        uses: dict[str, list[int]] = {}  # path → the 0-based lines of its working-tree text that use the name
        for path, start, text in rows:
            if path in touched:
                continue
            found = reading(path)
            if found is None:  # (not readable from the working tree: the indexed piece alone)
                hits = [start + i for i in use_lines(text, _prose_test(outliner, path, text), short)]
            else:
                if path not in uses:
                    uses[path] = use_lines(found[0], found[1], short, found[2])
                end = start + text.count("\n") + (not text.endswith("\n"))
                hits = [1 + i for i in uses[path] if start <= 1 + i < end]
            if hits:
                warnings.append(f"{what}, but {path}:{hits[0]} still uses {short}")
            if len(warnings) >= limit:
                return warnings
    return warnings


def _working_text(root: Path | None, path: str) -> str | None:
    if root is None:
        return None
    try:
        return read_text(root, safe_path(root, path))
    except UnsafePathError:
        return None


def use_lines(text: str, prose: Prose, name: str, tree=None) -> list[int]:
    """The 0-based lines of ``text`` that use ``name`` without defining it (``prose``: ``_prose_test`` of it;
    ``tree``, its syntax tree, tells where a local of that name hides it)."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    defines = re.compile(rf"\b(?:{_DEFINING})\s+(?:\([^)]*\)\s*)?{re.escape(name)}\b")
    local = hidden(tree, text.encode("utf-8", "surrogatepass"), name) if tree is not None else None
    out = []
    offset = 0  # (in bytes, as the syntax tree counts)
    for i, line in enumerate(text.splitlines(keepends=True)):
        if not defines.search(line):
            for m in word.finditer(line):
                at = offset + len(line[:m.start()].encode("utf-8", "surrogatepass"))
                if local is not None and local(at) and line[max(0, m.start() - 1):m.start()] != ".":
                    continue  # a local of the same name (a member, `x.name`, is no local)
                if not prose(i, at, at + len(name.encode("utf-8", "surrogatepass"))) or _code_shaped(line, m):
                    out.append(i)
                    break
        offset += len(line.encode("utf-8", "surrogatepass"))
    return out


def _prose_test(outliner: Outliner, path: str, text: str, tree=None) -> Prose:
    """A test (line, start byte, end byte) → whether the name there stands in prose: a comment or string by the
    syntax tree, any line of a prose file outside its code fences, and nowhere in other files."""
    tree = tree if tree is not None else outliner.tree(path, text)
    if tree is not None:
        return lambda _, start, end: _in_comment_or_string(tree.root_node.descendant_for_byte_range(start, end))
    if text_language_for(path) not in _PROSE_LANGUAGES:
        return lambda *_: False
    code, fence = set(), None
    for i, line in enumerate(text.splitlines()):
        m = FENCE_RE.match(line)
        if m and fence is None:
            fence = m.group(1)
        elif m and not m.group(2) and closes_fence(m.group(1), fence):
            fence = None
        elif fence is not None and not line.lstrip().startswith(_COMMENT_LEADS):
            code.add(i)  # (a comment line inside the fence is prose again: "// the next handler in the chain")
    return lambda i, *_: i not in code


def _in_comment_or_string(node) -> bool:
    while node is not None:
        kind = node.type
        if "interpolation" in kind or "substitution" in kind:  # code inside a string (`f"{area(w)}"`, `${x}`)
            return False
        if "comment" in kind or "string" in kind or "heredoc" in kind:
            return True
        node = node.parent
    return False


def _code_shaped(line: str, m: re.Match) -> bool:
    """Whether a name in prose is written as code: cased or joined as no English word is, or called, dotted,
    namespaced or in backticks."""
    name = m.group()
    if any(c.isupper() or c.isdigit() or c == "_" for c in name):
        return True
    before, after = line[max(0, m.start() - 1):m.start()], line[m.end():m.end() + 1]
    return before in (".", "#", ":", ">", "`", "$", "@") or after in ("(", "`")
