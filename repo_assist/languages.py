"""Which language a file is in, and the tree-sitter grammar that parses it.

Only the official per-language grammar wheels are used (``tree_sitter_python``
and friends); a wheel is imported the first time its language is asked for, so
that ``repo-assist`` starts fast and a missing wheel only costs that language.
Detection is by file name and extension only: it must be cheap enough to run on
every path of ``git ls-files``, and a shebang sniff would need the file's bytes.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:  # the binding is imported lazily too
    from tree_sitter import Language

# language name -> (module, function returning the grammar pointer, distribution)
_GRAMMARS: MappingProxyType[str, tuple[str, str, str]] = MappingProxyType(
    {
        "python": ("tree_sitter_python", "language", "tree-sitter-python"),
        "javascript": ("tree_sitter_javascript", "language", "tree-sitter-javascript"),
        "typescript": ("tree_sitter_typescript", "language_typescript", "tree-sitter-typescript"),
        "tsx": ("tree_sitter_typescript", "language_tsx", "tree-sitter-typescript"),
        "go": ("tree_sitter_go", "language", "tree-sitter-go"),
        "rust": ("tree_sitter_rust", "language", "tree-sitter-rust"),
        "java": ("tree_sitter_java", "language", "tree-sitter-java"),
        "c": ("tree_sitter_c", "language", "tree-sitter-c"),
        "cpp": ("tree_sitter_cpp", "language", "tree-sitter-cpp"),
        "csharp": ("tree_sitter_c_sharp", "language", "tree-sitter-c-sharp"),
        "ruby": ("tree_sitter_ruby", "language", "tree-sitter-ruby"),
        "php": ("tree_sitter_php", "language_php", "tree-sitter-php"),
        "bash": ("tree_sitter_bash", "language", "tree-sitter-bash"),
    }
)

GRAMMAR_LANGUAGES: frozenset[str] = frozenset(_GRAMMARS)

_EXTENSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        ".py": "python", ".pyi": "python", ".pyw": "python",
        ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
        ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
        ".tsx": "tsx",
        ".go": "go",
        ".rs": "rust",
        ".java": "java",
        ".c": "c", ".h": "c",
        ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".c++": "cpp",
        ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp", ".h++": "cpp", ".ipp": "cpp", ".tpp": "cpp",
        ".cs": "csharp",
        ".rb": "ruby", ".rake": "ruby", ".gemspec": "ruby", ".ru": "ruby",
        ".php": "php", ".phtml": "php",
        ".sh": "bash", ".bash": "bash",
    }
)

_FILE_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "Rakefile": "ruby", "Gemfile": "ruby", "Guardfile": "ruby", "Vagrantfile": "ruby",
        ".bashrc": "bash", ".bash_profile": "bash", ".bash_aliases": "bash",
    }
)

_TEXT_EXTENSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
        ".rst": "restructuredtext", ".adoc": "asciidoc", ".txt": "text",
        ".json": "json", ".jsonc": "json", ".json5": "json", ".jsonl": "json", ".ipynb": "json",
        ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
        ".ini": "ini", ".cfg": "ini", ".conf": "ini", ".properties": "ini",
        ".xml": "xml", ".xsd": "xml", ".svg": "xml", ".plist": "xml",
        ".html": "html", ".htm": "html", ".vue": "html", ".svelte": "html",
        ".css": "css", ".scss": "css", ".sass": "css", ".less": "css",
        ".sql": "sql", ".graphql": "graphql", ".gql": "graphql", ".proto": "protobuf",
        ".csv": "csv", ".tsv": "csv",
        ".zsh": "shell", ".fish": "shell", ".ps1": "powershell", ".bat": "batch", ".cmd": "batch",
        ".kt": "kotlin", ".kts": "kotlin", ".swift": "swift", ".scala": "scala",
        ".lua": "lua", ".pl": "perl", ".pm": "perl", ".r": "r", ".dart": "dart",
        ".ex": "elixir", ".exs": "elixir", ".erl": "erlang", ".hs": "haskell", ".ml": "ocaml",
        ".tf": "terraform", ".nix": "nix", ".cmake": "cmake", ".mk": "makefile",
        ".tex": "latex", ".diff": "diff", ".patch": "diff",
    }
)

_TEXT_FILE_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {
        "Makefile": "makefile", "GNUmakefile": "makefile", "makefile": "makefile",
        "Dockerfile": "dockerfile", "Containerfile": "dockerfile", "CMakeLists.txt": "cmake",
        "README": "text", "LICENSE": "text", "COPYING": "text", "NOTICE": "text",
        "AUTHORS": "text", "CHANGELOG": "text", "Procfile": "text",
        ".gitignore": "gitignore", ".gitattributes": "gitattributes", ".editorconfig": "ini",
        ".env": "ini",
    }
)


def _name_and_suffix(path: str) -> tuple[str, str]:
    name = PurePosixPath(path.replace("\\", "/")).name
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""  # ".bashrc" has a name, no suffix
    return name, suffix


def language_for(path: str) -> str | None:
    """The grammar language of ``path`` (one of GRAMMAR_LANGUAGES), or None."""
    name, suffix = _name_and_suffix(path)
    return _FILE_NAMES.get(name) or _EXTENSIONS.get(suffix)


def text_language_for(path: str) -> str | None:
    """A reporting name for common text files that have no grammar here, or None.

    The indexer chunks these by line windows; the name only makes its report
    ("412 markdown files chunked by windows") readable.
    """
    name, suffix = _name_and_suffix(path)
    if name.startswith("Dockerfile."):
        return "dockerfile"
    return _TEXT_FILE_NAMES.get(name) or _TEXT_EXTENSIONS.get(suffix)


def grammar_package(language: str) -> str:
    """The distribution (pip name) that carries ``language``'s grammar."""
    try:
        return _GRAMMARS[language][2]
    except KeyError:
        raise ConfigError(
            f"no tree-sitter grammar for language {language!r}",
            f"known: {', '.join(sorted(GRAMMAR_LANGUAGES))}",
        ) from None


def grammar_versions() -> dict[str, str]:
    """Installed version of the tree-sitter binding and of every grammar wheel.

    Stored with an index as provenance: another grammar version can parse the
    same file differently, so its chunks would not match the stored ones.
    A missing wheel is recorded as "missing" rather than raising, because the
    chunker then falls back to line windows for that language.
    """
    versions: dict[str, str] = {}
    for dist in ["tree-sitter", *sorted({spec[2] for spec in _GRAMMARS.values()})]:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return versions


def load_language(language: str) -> Language:
    """A tree-sitter ``Language`` for ``language``, importing its wheel now.

    Not cached here (no module-level state): the Chunker keeps one parser per
    language on its instance.
    """
    module_name, function, dist = _GRAMMARS.get(language, ("", "", ""))
    if not module_name:
        grammar_package(language)  # raises the ConfigError naming the known languages
    try:
        from tree_sitter import Language

        module = importlib.import_module(module_name)
        return Language(getattr(module, function)())
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"the tree-sitter grammar for {language} cannot be loaded ({exc})",
            f"install it: pip install {dist} 'tree-sitter>=0.25'",
        ) from exc
