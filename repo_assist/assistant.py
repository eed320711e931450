"""The use cases: index, status, search (and, built on them, context, ask, refactor).

No printing, no UI: every function returns records or plain dicts that the
CLI renders as text or JSON and the TUI shows in widgets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .config import Settings, load_settings
from .freshness import Freshness, freshness
from .gitrepo import Repo
from .records import Hit, IndexStats
from .workspace import Workspace, require_index


def open_workspace(path: str | Path = ".", flags: Mapping[str, Any] | None = None) -> Workspace:
    repo = Repo.open(path)
    settings = load_settings(repo.root, flags)
    return Workspace.for_repo(repo, settings)


def index(ws: Workspace, *, full: bool = False, progress=None) -> IndexStats:
    from .indexer import Indexer

    return Indexer(ws, progress=progress).run(full=full)


def index_stats_dict(stats: IndexStats) -> dict:
    return {
        "files": stats.files,
        "chunks": stats.chunks,
        "computed": stats.computed,
        "reused": stats.reused,
        "deleted": stats.deleted,
        "unchanged": stats.unchanged,
        "skipped": dict(stats.skipped_by_reason),
        "fallback_chunked": stats.fallback_chunked,
        "files_computed": stats.files_computed,
        "files_deleted": stats.files_deleted,
        "seconds": round(stats.seconds, 3),
        "timings": {k: round(v, 3) for k, v in stats.timings.items()},
    }


def status(ws: Workspace) -> dict:
    manifest = require_index(ws)
    try:
        import json

        files, chunks = manifest.counts()
        fresh = freshness(ws.repo, manifest)
        prov = json.loads(manifest.get_meta("provenance", "{}") or "{}")
        return {
            "repo": str(ws.repo.root),
            "index_dir": str(ws.dir),
            "indexed_commit": fresh.indexed_commit,
            "head": fresh.head,
            "commits_behind": fresh.commits_behind,
            "stale": fresh.stale,
            "dirty_files_at_index": fresh.dirty_at_index,
            "dirty_now": dirty_now(ws.repo),
            "indexed_at": fresh.indexed_at,
            "files": files,
            "chunks": chunks,
            "embedder": prov.get("embedder"),
            "dim": prov.get("dim"),
            "chunker": prov.get("chunker"),
            "languages": manifest.languages(),
            "skipped": manifest.skipped(),
            "redacted": dict(zip(("values", "files"), manifest.redactions())),
            "warning": fresh.warning(),
        }
    finally:
        manifest.close()


def dirty_now(repo: Repo, limit: int = 200) -> list[str]:
    """Paths whose work-tree state differs from HEAD right now (untracked included)."""
    from .gitrepo import run_git

    out = run_git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], repo.root).stdout
    paths = [e[3:].decode("utf-8", "surrogateescape") for e in out.split(b"\0") if len(e) > 3 and e[2:3] == b" "]
    return paths[:limit]


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    freshness: Freshness
    millis: float

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "hits": [
                {
                    "path": h.chunk.path,
                    "start_line": h.chunk.start_line,
                    "end_line": h.chunk.end_line,
                    "symbol": h.chunk.symbol,
                    "kind": h.chunk.kind,
                    "score": h.score,
                    "via": list(h.via),
                }
                for h in self.hits
            ],
            "warning": self.freshness.warning(),
            "ms": round(self.millis, 1),
        }


def search(ws: Workspace, query: str, k: int | None = None) -> SearchResult:
    from .indexer import open_store
    from .retrieval import Retriever

    t0 = time.perf_counter()
    manifest = require_index(ws)
    try:
        embedder = ws.embedder()
        store = open_store(ws, embedder, manifest, create=False)
        hits = Retriever(manifest, store, embedder).search(query, k or ws.settings.k)
        return SearchResult(query, tuple(hits), freshness(ws.repo, manifest), (time.perf_counter() - t0) * 1000)
    finally:
        manifest.close()
