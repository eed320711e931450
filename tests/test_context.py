"""Packing: never over budget, spans merge, split definitions widen, drops are reported."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from repo_assist.citations import check, mark_invalid
from repo_assist.context import Packer, definition_range, render
from repo_assist.records import Chunk, ContextPack, Hit, PackedSpan

LINES = [f"line {i} of the file with some words\n" for i in range(1, 201)]


def count(text: str) -> int:
    return len(text.split())


def chunk(path: str, start: int, end: int, kind: str = "function", symbol: str = "", scope: str = "",
          defines: tuple[str, ...] = ()) -> Chunk:
    return Chunk(f"{path}:{start}", path, start, end, "".join(LINES[start - 1:end]), "python", symbol, kind, "sha",
                 scope, defines)


def packer(file_chunks=None) -> Packer:
    return Packer(count, lambda path: LINES, file_chunks)


@settings(max_examples=150, deadline=None)
@given(
    spans=st.lists(st.tuples(st.sampled_from(["a.py", "b.py", "c.py"]), st.integers(1, 200), st.integers(0, 30)),
                   min_size=0, max_size=25),
    budget=st.integers(0, 900),
)
def test_packed_context_never_exceeds_budget(spans, budget):
    hits = [Hit(chunk(p, s, min(200, s + n)), 1.0 / (i + 1), ("dense",)) for i, (p, s, n) in enumerate(spans)]
    pack = packer().pack(hits, budget)
    assert pack.tokens <= budget
    assert count(render(pack)) == pack.tokens
    # every hit is either inside what was packed or reported as dropped
    for h in hits:
        c = h.chunk
        inside = any(s.path == c.path and s.start_line <= c.start_line and c.end_line <= s.end_line for s in pack.chunks)
        dropped = any(d.path == c.path and d.start_line == c.start_line for d in pack.dropped)
        assert inside or dropped
    # spans of one file never overlap or touch: they were merged
    for a in pack.chunks:
        for b in pack.chunks:
            if a is not b and a.path == b.path:
                assert a.end_line + 1 < b.start_line or b.end_line + 1 < a.start_line


def test_overlapping_and_adjacent_spans_merge_and_group_by_file():
    hits = [
        Hit(chunk("a.py", 10, 20), 0.9, ("dense",)),
        Hit(chunk("b.py", 1, 5), 0.8, ("bm25",)),
        Hit(chunk("a.py", 15, 30), 0.7, ("bm25",)),
        Hit(chunk("a.py", 31, 35), 0.6, ("symbol",)),
        Hit(chunk("a.py", 50, 55), 0.5, ("dense",)),
    ]
    pack = packer().pack(hits, 10_000)
    assert [(s.path, s.start_line, s.end_line) for s in pack.chunks] == [
        ("a.py", 10, 35), ("a.py", 50, 55), ("b.py", 1, 5)]
    assert set(pack.chunks[0].via) == {"dense", "bm25", "symbol"}
    assert pack.chunks[0].text == "".join(LINES[9:35])
    assert "a.py:L10-35" in render(pack)


def test_drops_what_does_not_fit_and_keeps_best_first():
    hits = [Hit(chunk("a.py", 1, 40), 0.9, ("dense",)), Hit(chunk("b.py", 1, 40), 0.5, ("dense",))]
    one = count(render(ContextPack((PackedSpan("a.py", 1, 40, "".join(LINES[:40]), 0),), 0, 0)))
    pack = packer().pack(hits, one + 5)
    assert [s.path for s in pack.chunks] == ["a.py"]
    assert [d.path for d in pack.dropped] == ["b.py"]


def test_split_definition_widens_to_the_whole_definition_when_it_fits():
    fc = [
        chunk("a.py", 1, 9, "module"),
        chunk("a.py", 10, 30, "block", "Runner.run", "class Runner", ("Runner.run",)),
        chunk("a.py", 31, 60, "block", "Runner.run", "class Runner · def run(self)"),
        chunk("a.py", 61, 80, "block", "Runner.run", "class Runner · def run(self)"),
        chunk("a.py", 81, 90, "function", "Runner.stop", "class Runner", ("Runner.stop",)),
    ]
    assert definition_range(fc[2], fc) == (10, 80)
    assert definition_range(fc[1], fc) == (10, 80)
    assert definition_range(fc[4], fc) == (81, 90)
    wide = packer(lambda p: fc).pack([Hit(fc[2], 1.0, ("dense",))], 10_000)
    assert [(s.start_line, s.end_line) for s in wide.chunks] == [(10, 80)]
    narrow_budget = count(render(ContextPack((PackedSpan("a.py", 31, 60, "".join(LINES[30:60]), 0),), 0, 0))) + 2
    narrow = packer(lambda p: fc).pack([Hit(fc[2], 1.0, ("dense",))], narrow_budget)
    assert [(s.start_line, s.end_line) for s in narrow.chunks] == [(31, 60)]


def test_citations_are_checked_against_packed_spans():
    pack = ContextPack((PackedSpan("src/app.py", 10, 40, "", 0), PackedSpan("lib/x.go", 1, 9, "", 0)), 0, 100)
    answer = ("The entry point is in src/app.py:12-20 and `lib/x.go:3`. "
              "Also see src/app.py:38-45 and nothere.py:1-2 and src/app.py:L11-L12.")
    got = {(c.path, c.start_line, c.end_line): c.valid for c in check(answer, pack)}
    assert got == {("src/app.py", 12, 20): True, ("lib/x.go", 3, 3): True, ("src/app.py", 38, 45): False,
                   ("nothere.py", 1, 2): False, ("src/app.py", 11, 12): True}
    marked = mark_invalid(answer, check(answer, pack))
    assert "src/app.py:38-45 [unverified]" in marked and "nothere.py:1-2 [unverified]" in marked
    assert "src/app.py:12-20 [unverified]" not in marked


def test_citations_in_a_degenerate_answer_are_read_in_one_pass():
    # A looping model's run of path-like text ends in a real citation; each word is tried once (read with
    # backtracking, such a line took seconds per few thousand characters).
    pack = ContextPack((PackedSpan("src/app.py", 10, 40, "", 0),), 0, 100)
    answer = "a/" * 20000 + " " + "a." * 20000 + "! then /src/app.py:12-14"
    assert [(c.path, c.start_line, c.end_line, c.valid) for c in check(answer, pack)] == [("src/app.py", 12, 14, True)]
