"""Boundary records: the only shapes that cross modules.

Frozen, slotted dataclasses; spans are 1-based and inclusive; paths are
repo-relative POSIX paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    language: str | None
    blob_sha: str
    size: int


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    path: str
    start_line: int
    end_line: int
    text: str
    language: str | None
    symbol: str  # qualified name of the main definition ("Class.method"), "" at module level
    kind: str  # function, method, class, block, module, window (fallback)
    blob_sha: str
    scope: str = ""  # enclosing scopes, e.g. "class Runner · def run(self, argv)"
    defines: tuple[str, ...] = ()  # qualified names of every definition starting in the chunk

    def header(self) -> str:
        """The line the embedder sees first: path and enclosing scopes."""
        return f"{self.path} · {self.scope}" if self.scope else self.path

    def embed_text(self) -> str:
        return f"{self.header()}\n{self.text}"


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float
    via: tuple[str, ...]  # which signals found it: dense, bm25, symbol, path, trace


@dataclass(frozen=True, slots=True)
class PackedSpan:
    path: str
    start_line: int
    end_line: int
    text: str
    tokens: int
    symbol: str = ""
    via: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class ContextPack:
    chunks: tuple[PackedSpan, ...]
    tokens: int
    budget: int
    dropped: tuple[PackedSpan, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    n_ctx_trained: int
    n_layers: int
    n_kv_heads: tuple[int, ...]  # per layer; 0 where a layer keeps no KV cache
    head_dim_k: int
    head_dim_v: int
    sliding_window: int = 0  # 0: no sliding-window layers
    swa_layers: tuple[bool, ...] = ()  # per layer, True where the layer is sliding-window
    architecture: str = ""
    n_params: int = 0
    file_size: int = 0

    @property
    def head_dim(self) -> int:
        return self.head_dim_k


@dataclass(frozen=True, slots=True)
class EditBlock:
    path: str
    search: str
    replace: str
    line: int | None = None  # where a diff hunk said its lines start (1-based): only breaks a tie between places
    within: tuple[str, ...] = ()  # lines an apply_patch hunk's @@ names, outermost first: only breaks a tie too


@dataclass(frozen=True, slots=True)
class Patch:
    diff: str
    files: tuple[str, ...]
    applies: bool
    check_output: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexStats:
    files: int
    chunks: int
    computed: int  # chunks embedded in this run
    deleted: int  # chunks deleted in this run
    unchanged: int  # files whose chunks were kept
    fallback_chunked: int  # files chunked by line windows (no grammar or parse failure)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    files_computed: int = 0
    files_deleted: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    reused: int = 0  # chunks of changed files whose text was unchanged: their vectors were kept, not re-embedded
