"""Split a source file into chunks that tile it and fit the embedder's window.

The algorithm follows cAST (chunking by abstract syntax tree): the children of
a node are grouped into *line units* by the row they start on; consecutive units
are packed greedily while the chunk's embedded text (scope header + lines) fits
``max_tokens``; a unit too big on its own is split by descending into its
children, and a unit with nothing left to descend into falls back to line
windows. Chunks are always whole lines, so that they tile the file: joining the
texts of a file's chunks gives the file back, byte for byte.

The packing itself lives in ``packing`` and the definitions (names, scopes) in
``symbols``; this module counts tokens, runs the grammar and describes chunks.

Tokens are counted once per distinct line, in one batch, and a chunk's size is
a difference of prefix sums, so chunking is linear in the file. The sum of line
counts equals the count of the joined text for tokenizers that split on
whitespace first (WordPiece, as in all-MiniLM) and is close for byte-level BPE,
where whitespace runs merge across line ends; a small margin (1/32 of the
window) covers that drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from .errors import ConfigError, RepoAssistError
from .languages import GRAMMAR_LANGUAGES, load_language
from .packing import Packer, split_lines
from .records import Chunk
from .symbols import DEFINITION_QUERIES, DefinitionIndex, find_definitions

if TYPE_CHECKING:
    from tree_sitter import Language, Parser, Query

CHUNKER_VERSION = "cast-1"

TokenCounter = Callable[[list[str]], list[int]]

_SCOPE_SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """The chunks of one file; ``fallback`` when it was not parsed by a grammar."""

    chunks: tuple[Chunk, ...]
    fallback: bool
    parse_errors: bool


class _Budgets:
    """Token budget of a chunk by its first row: the window less its header."""

    def __init__(self, chunker: Chunker, path: str, index: DefinitionIndex) -> None:
        self.chunker, self.path, self.index = chunker, path, index
        self._by_row: dict[int, int] = {}
        self._by_header: dict[str, int] = {}

    def scope(self, row: int) -> str:
        return _SCOPE_SEPARATOR.join(d.label for d in self.index.enclosing(row) if d.label)

    def __call__(self, start: int) -> int:
        budget = self._by_row.get(start)
        if budget is None:
            scope = self.scope(start)
            header = f"{self.path}{_SCOPE_SEPARATOR}{scope}" if scope else self.path
            tokens = self._by_header.get(header)
            if tokens is None:
                tokens = self._by_header[header] = self.chunker._count_one(header)
            budget = self._by_row[start] = self.chunker.max_tokens - self.chunker.margin - tokens
        return budget


def grammar(cache: dict[str, tuple[Parser, Query] | None], language: str) -> tuple[Parser, Query] | None:
    """Parser and definitions query for ``language``, kept in ``cache``; None if its wheel is missing."""
    if language not in cache:
        try:
            from tree_sitter import Parser

            lang = load_language(language)
            cache[language] = (Parser(lang), definitions_query(lang, language))
        except ConfigError:
            cache[language] = None
    return cache[language]


class Chunker:
    """Chunks files for one embedder: its token counter and its window size.

    ``count_tokens`` returns the token count of each string, without special
    tokens; ``max_tokens`` is the embedder's window for the whole embedded text
    of a chunk (header line and text), special tokens already taken off. Only
    a chunk of one line longer than the window can exceed it.

    A file with a grammar gets kinds from its definitions; a file without one
    (or whose grammar failed) gets line windows of kind "window" and
    ``fallback=True``. One parser per language is kept on the instance, so an
    instance is not for use from several threads at once.
    """

    def __init__(self, count_tokens: TokenCounter, max_tokens: int) -> None:
        if max_tokens < 8:
            raise ConfigError(
                f"the chunk window must be at least 8 tokens, not {max_tokens}",
                "check the embedder's max_seq_length",
            )
        self._count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.margin = max(1, max_tokens // 32)
        self._grammars: dict[str, tuple[Parser, Query] | None] = {}

    # -- tokens -----------------------------------------------------------
    def _count(self, texts: list[str]) -> list[int]:
        counts = list(self._count_tokens(texts))
        if len(counts) != len(texts):
            raise RepoAssistError(
                f"the token counter returned {len(counts)} counts for {len(texts)} texts",
                "the embedder's count_tokens must return one count per text",
                title="tokens",
            )
        return counts

    def _count_one(self, text: str) -> int:
        return self._count([_encodable(text)])[0]

    def _line_tokens(self, lines: list[str]) -> list[int]:
        """Token count of every line, counting each distinct line once."""
        unique = list(dict.fromkeys(lines))
        cap = 16 * self.max_tokens + 256  # a longer line is counted by its prefix first
        counts = self._count([_encodable(u[:cap]) for u in unique])
        # A prefix that already overflows the window says enough; else count it all.
        long = [i for i, u in enumerate(unique) if len(u) > cap and counts[i] <= self.max_tokens]
        if long:
            for i, count in zip(long, self._count([_encodable(unique[i]) for i in long])):
                counts[i] = count
        by_line = dict(zip(unique, counts))
        return [by_line[line] for line in lines]

    # -- grammars ---------------------------------------------------------
    def _grammar(self, language: str) -> tuple[Parser, Query] | None:
        return grammar(self._grammars, language)

    # -- chunking ---------------------------------------------------------
    def chunk(self, path: str, text: str, language: str | None, blob_sha: str) -> ChunkResult:
        """The chunks of one file, tiling ``text``; never raises on odd text."""
        if not text:
            return ChunkResult((), fallback=False, parse_errors=False)
        lines = split_lines(text)
        grammar = self._grammar(language) if language in GRAMMAR_LANGUAGES else None
        if grammar is not None:
            try:
                return self._chunk_tree(path, text, lines, language or "", blob_sha, grammar)
            except RepoAssistError:
                raise  # the token counter's complaint, not the file's
            except Exception:  # noqa: BLE001 - a grammar that chokes must not stop an index
                return self._chunk_windows(path, lines, language, blob_sha, parse_errors=True)
        return self._chunk_windows(path, lines, language, blob_sha, parse_errors=False)

    def _packer(self, path: str, lines: list[str], index: DefinitionIndex) -> Packer:
        prefix = [0, *accumulate(self._line_tokens(lines))]
        return Packer(prefix, _Budgets(self, path, index))

    def _chunk_windows(
        self, path: str, lines: list[str], language: str | None, blob_sha: str, *, parse_errors: bool
    ) -> ChunkResult:
        packer = self._packer(path, lines, DefinitionIndex([]))
        packer.spans.append(packer.windows(0, len(lines) - 1))
        chunks = tuple(
            Chunk(
                id=chunk_id(path, blob_sha, s + 1, e + 1),
                path=path,
                start_line=s + 1,
                end_line=e + 1,
                text="".join(lines[s : e + 1]),
                language=language,
                symbol="",
                kind="window",
                blob_sha=blob_sha,
            )
            for s, e in packer.spans
        )
        return ChunkResult(chunks, fallback=True, parse_errors=parse_errors)

    def _chunk_tree(
        self,
        path: str,
        text: str,
        lines: list[str],
        language: str,
        blob_sha: str,
        grammar: tuple[Parser, Query],
    ) -> ChunkResult:
        parser, query = grammar
        source = text[1:] if text.startswith("\ufeff") else text  # rows do not move
        tree = parser.parse(source.encode("utf-8", "replace"))
        root = tree.root_node
        index = DefinitionIndex(find_definitions(language, query, root, lines))
        packer = self._packer(path, lines, index)
        packer.pack(root, len(lines) - 1, index.node_ids)
        chunks = tuple(
            _describe(path, index, lines, language, blob_sha, s, e) for s, e in packer.spans
        )
        return ChunkResult(chunks, fallback=False, parse_errors=root.has_error)


def _describe(
    path: str, index: DefinitionIndex, lines: list[str], language: str, blob_sha: str, s: int, e: int
) -> Chunk:
    """The chunk on rows s..e with its symbol, kind, scope and defines.

    ``symbol`` is the first definition starting in the chunk, else the innermost
    one around it. ``kind`` is that definition's kind when it is whole in the
    chunk and definitions fill at least half of it; "block" for a piece of a
    split definition; "module" for top-level code.
    """
    starting = index.starting_in(s, e)
    enclosing = index.enclosing(s)
    if starting:
        first = starting[0]
        symbol = first.name
        if first.end_row > e:
            kind = "block"  # the opening piece of a split definition
        else:
            covered, until = 0, -1
            for d in starting:  # outermost whole definitions, in order
                if d.start_row > until and d.end_row <= e:
                    covered += d.end_row - d.start_row + 1
                    until = d.end_row
            if 2 * covered >= e - s + 1:
                kind = first.kind
            else:
                kind = "block" if enclosing else "module"
    elif enclosing:
        symbol, kind = enclosing[-1].name, "block"
    else:
        symbol, kind = "", "module"
    return Chunk(
        id=chunk_id(path, blob_sha, s + 1, e + 1),
        path=path,
        start_line=s + 1,
        end_line=e + 1,
        text="".join(lines[s : e + 1]),
        language=language,
        symbol=symbol,
        kind=kind,
        blob_sha=blob_sha,
        scope=_SCOPE_SEPARATOR.join(d.label for d in enclosing if d.label),
        defines=tuple(dict.fromkeys(d.name for d in starting)),
    )


def chunk_id(path: str, blob_sha: str, start_line: int, end_line: int) -> str:
    """Deterministic id: the same file content chunked the same way, the same id."""
    key = f"{CHUNKER_VERSION}\0{path}\0{blob_sha}\0{start_line}\0{end_line}"
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()


def definitions_query(lang: Language, language: str) -> Query:
    """The definitions query; patterns a grammar version does not know are dropped.

    A grammar release that renames a node type then loses only that pattern's
    definitions instead of failing every file of the language.
    """
    from tree_sitter import Query

    source = DEFINITION_QUERIES[language]
    try:
        return Query(lang, source)
    except Exception:  # noqa: BLE001 - QueryError; keep the patterns that compile
        patterns = ["(" + p for p in ("\n" + source).split("\n(") if p.strip()]
        kept = []
        for pattern in patterns:
            try:
                Query(lang, pattern)
                kept.append(pattern)
            except Exception:  # noqa: BLE001
                continue
        return Query(lang, "\n".join(kept))


def _encodable(text: str) -> str:
    """``text`` without lone surrogates (a tokenizer written in Rust rejects them)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
