"""What a query names explicitly: identifiers, file paths, and stack-trace locations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codetokens import STOP

# `File "src/app.py", line 12` (Python), `at foo (src/a.js:10:5)` (JS), `src/a.go:45`, `a.rs:3:9`
TRACE_RE = re.compile(
    r"""File\ "(?P<py>[^"]+)",\ line\ (?P<pyline>\d+)
      | (?<![\w./\\-])(?P<path>[\w./\\-]+\.[A-Za-z][\w]{0,5}):(?P<line>\d+)(?::\d+)?""",
    re.VERBOSE,
)
# what a frame says about *where*, not what: dropped from the text the content signals see
FRAME_NOISE_RE = re.compile(
    r"""Traceback\ \(most\ recent\ call\ last\):
      | File\ "[^"]+",\ line\ \d+,?
      | \(?(?<![\w./\\-])[\w./\\-]+\.[A-Za-z][\w]{0,5}:\d+(?::\d+)?\)?""",
    re.VERBOSE,
)
# `src/x_y.py`, `index.js`, and dotfiles: `.eslintrc.js`, `config/.babelrc`
PATH_RE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*(?:\.?[\w-]+\.[A-Za-z][\w]{0,5}|\.[A-Za-z][\w-]*[A-Za-z0-9]))(?![\w/])")
IDENT_RE = re.compile(r"`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*)\b")


@dataclass(frozen=True, slots=True)
class QuerySignals:
    identifiers: tuple[str, ...]  # code-like names: snake_case, camelCase, Dotted.names, `quoted`
    words: tuple[str, ...]  # every other plausible name (checked against the symbol table)
    paths: tuple[str, ...]
    locations: tuple[tuple[str, int], ...]  # (path, line) from stack traces


def _code_like(word: str) -> bool:
    return (
        "_" in word.strip("_")
        or "." in word
        or "::" in word
        or any(c.isupper() for c in word[1:]) and any(c.islower() for c in word)
    )


def extract(query: str) -> QuerySignals:
    locations: list[tuple[str, int]] = []
    for m in TRACE_RE.finditer(query):
        path = m.group("py") or m.group("path")
        line = m.group("pyline") or m.group("line")
        if path and line:
            locations.append((path.replace("\\", "/"), int(line)))
    paths = [m.group(1) for m in PATH_RE.finditer(query)]
    idents: list[str] = []
    words: list[str] = []
    for m in IDENT_RE.finditer(query):
        quoted, plain = m.group(1), m.group(2)
        if quoted:
            for part in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*", quoted):
                idents.append(part)
        elif plain:
            if plain in paths or any(plain in p for p in paths) and "." in plain:
                continue
            if _code_like(plain):
                idents.append(plain)
            elif len(plain) > 2 and plain.lower() not in STOP:
                words.append(plain)
    return QuerySignals(tuple(dict.fromkeys(idents)), tuple(dict.fromkeys(words)), tuple(dict.fromkeys(paths)),
                        tuple(dict.fromkeys(locations)))


def content_text(query: str) -> str:
    """The query as the content signals (dense, BM25) see it: stack-trace frames cut to their function names.

    Paths and line numbers are what the trace and path signals use; embedded,
    they only lengthen the input (time grows with it) and blur its meaning, and
    as BM25 terms (``src``, ``pkg``, ``19``) they match half the repository.
    """
    if not TRACE_RE.search(query):
        return query
    text = " ".join(FRAME_NOISE_RE.sub(" ", query).split())
    return text or query


def last_name(identifier: str) -> str:
    return re.split(r"\.|::", identifier)[-1]
