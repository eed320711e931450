"""A file's outline from its syntax tree: definitions with their header lines, and parse errors.

The patch engine uses it to refuse edits that break the syntax of a file and
to notice renamed or re-signatured definitions.
"""

from __future__ import annotations

from .chunker import grammar
from .languages import GRAMMAR_LANGUAGES, language_for
from .packing import split_lines
from .symbols import find_definitions


class Outliner:
    """Parsers per language, created on first use and kept on the instance."""

    def __init__(self) -> None:
        self._grammars: dict[str, tuple | None] = {}

    def _grammar(self, language: str | None):
        if language not in GRAMMAR_LANGUAGES:
            return None
        return grammar(self._grammars, language)

    def _tree(self, path: str, text: str):
        grammar = self._grammar(language_for(path))
        if grammar is None:
            return None, None
        parser, query = grammar
        return parser.parse(text.encode("utf-8", "surrogatepass")), query

    def tree(self, path: str, text: str):
        """``text``'s syntax tree parsed as ``path``'s language, or None without a grammar."""
        return self._tree(path, text)[0]

    def parse_errors(self, path: str, text: str) -> int:
        """ERROR and MISSING nodes in ``text`` parsed as ``path``'s language (0 without a grammar)."""
        tree, _ = self._tree(path, text)
        if tree is None or not tree.root_node.has_error:
            return 0
        count = 0
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            if node.is_error or node.is_missing:
                count += 1
            if node.has_error:
                stack.extend(node.children)
        return count

    def definitions(self, path: str, text: str) -> dict[str, str]:
        """Qualified name → the stripped line that names it, for every definition."""
        tree, query = self._tree(path, text)
        if tree is None:
            return {}
        language = language_for(path) or ""
        defs = find_definitions(language, query, tree.root_node, split_lines(text))
        return {d.name: d.label for d in defs}
