"""Packing retrieved chunks into a context that never exceeds its token budget.

Best hits first; a hit that is part of a split definition is widened to the
whole definition when that fits; overlapping and adjacent spans of one file
are merged; the result is grouped by file under ``path:Lstart-end`` headers.
Whatever does not fit is reported as dropped, never silently cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .records import Chunk, ContextPack, Hit, PackedSpan

CountTokens = Callable[[str], int]
SEPARATOR = "\n"


@dataclass
class _Span:
    path: str
    start: int
    end: int
    symbol: str
    via: tuple[str, ...]
    score: float
    rank: int


def fence_for(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return fence


def render_span(path: str, start: int, end: int, text: str, language: str | None = None) -> str:
    fence = fence_for(text)
    body = text if text.endswith("\n") else text + "\n"
    return f"{path}:L{start}-{end}\n{fence}{language or ''}\n{body}{fence}\n"


def render(pack: ContextPack) -> str:
    return SEPARATOR.join(render_span(s.path, s.start_line, s.end_line, s.text) for s in pack.chunks)


def definition_range(chunk: Chunk, file_chunks: Sequence[Chunk]) -> tuple[int, int]:
    """The lines of the whole definition a split chunk belongs to (or the chunk itself).

    The head of a split definition defines its symbol; the continuation
    chunks carry the definition's header line at the end of their scope.
    """
    if chunk.kind != "block":
        return chunk.start_line, chunk.end_line
    idx = next((i for i, c in enumerate(file_chunks) if c.id == chunk.id), None)
    if idx is None:
        return chunk.start_line, chunk.end_line
    fc = file_chunks
    is_head = bool(chunk.symbol) and chunk.symbol in chunk.defines
    inner = chunk.scope + " · " if is_head else chunk.scope
    if not inner.strip(" ·"):
        return chunk.start_line, chunk.end_line
    lo = hi = idx
    if not is_head:
        while lo > 0 and fc[lo - 1].scope.startswith(inner):
            lo -= 1
        if lo > 0 and chunk.symbol and chunk.symbol in fc[lo - 1].defines:
            lo -= 1
    while hi + 1 < len(fc) and fc[hi + 1].scope.startswith(inner):
        hi += 1
    return fc[lo].start_line, fc[hi].end_line


class Packer:
    """Packs hits for one budget; ``lines_of(path)`` gives a file's indexed lines."""

    def __init__(
        self,
        count_tokens: CountTokens,
        lines_of: Callable[[str], list[str]],
        file_chunks: Callable[[str], Sequence[Chunk]] | None = None,
    ) -> None:
        self.count = count_tokens
        self.lines_of = lines_of
        self.file_chunks = file_chunks

    def _text(self, path: str, start: int, end: int) -> str:
        return "".join(self.lines_of(path)[start - 1 : end])

    def _cost(self, s: _Span) -> int:
        return self.count(render_span(s.path, s.start, s.end, self._text(s.path, s.start, s.end))) + 1

    def pack(self, hits: Sequence[Hit], budget: int) -> ContextPack:
        spans: list[_Span] = []  # accepted, merged, in order of first acceptance
        dropped: list[PackedSpan] = []
        used = 0
        for rank, hit in enumerate(hits):
            c = hit.chunk
            cand = _Span(c.path, c.start_line, c.end_line, c.symbol, hit.via, hit.score, rank)
            if self.file_chunks is not None and c.kind == "block":
                lo, hi = definition_range(c, self.file_chunks(c.path))
                wide = _Span(c.path, lo, hi, c.symbol, hit.via, hit.score, rank)
                trial = self._try_add(spans, wide, used, budget)
                if trial is not None:
                    spans, used = trial
                    continue
            trial = self._try_add(spans, cand, used, budget)
            if trial is None:
                text = self._text(c.path, c.start_line, c.end_line)
                dropped.append(PackedSpan(c.path, c.start_line, c.end_line, text, self._cost(cand), c.symbol, hit.via, hit.score))
            else:
                spans, used = trial
        # group by file, files in order of their best hit, spans in line order
        order: dict[str, int] = {}
        for s in sorted(spans, key=lambda s: s.rank):
            order.setdefault(s.path, s.rank)
        spans.sort(key=lambda s: (order[s.path], s.start))
        packed = tuple(
            PackedSpan(s.path, s.start, s.end, self._text(s.path, s.start, s.end), self._cost(s), s.symbol, s.via, s.score)
            for s in spans
        )
        total = self.count(render(ContextPack(packed, 0, budget))) if packed else 0
        while packed and total > budget:  # belt and braces: the whole text, counted as the model will see it
            worst = max(range(len(packed)), key=lambda i: -packed[i].score)
            dropped.append(packed[worst])
            packed = packed[:worst] + packed[worst + 1 :]
            total = self.count(render(ContextPack(packed, 0, budget))) if packed else 0
        return ContextPack(packed, total, budget, tuple(dropped))

    def _try_add(self, spans: list[_Span], cand: _Span, used: int, budget: int) -> tuple[list[_Span], int] | None:
        """Merge ``cand`` into the spans of its file; None when the result would not fit."""
        same = [s for s in spans if s.path == cand.path and s.start <= cand.end + 1 and cand.start <= s.end + 1]
        if any(s.start <= cand.start and cand.end <= s.end for s in same):
            return spans, used  # already inside what is packed
        merged = _Span(cand.path, min([cand.start] + [s.start for s in same]), max([cand.end] + [s.end for s in same]),
                       same[0].symbol if same else cand.symbol,
                       tuple(dict.fromkeys(sum((s.via for s in same), ()) + cand.via)),
                       max([cand.score] + [s.score for s in same]), min([cand.rank] + [s.rank for s in same]))
        new_used = used - sum(self._cost(s) for s in same) + self._cost(merged)
        if new_used > budget:
            return None
        return [s for s in spans if s not in same] + [merged], new_used
