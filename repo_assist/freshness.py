"""How fresh an index is: the commit it reflects, commits behind HEAD, dirty files."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .gitrepo import Repo
from .manifest import Manifest
from .plurals import counted


@dataclass(frozen=True, slots=True)
class Freshness:
    indexed_commit: str | None
    head: str | None
    commits_behind: int | None  # None: unknown (e.g. history rewritten)
    indexed_at: float | None
    dirty_at_index: int

    @property
    def stale(self) -> bool:
        return self.indexed_commit != self.head

    def warning(self) -> str | None:
        if not self.stale:
            return None
        if self.indexed_commit is None:
            return None if self.head is None else "the index has no commit recorded; run `repo-assist index`"
        if self.commits_behind:
            n = self.commits_behind
            return f"the index is {counted(n, 'commit')} behind HEAD; run `repo-assist index`"
        return "the index was built for another commit (branch switch or rewritten history); run `repo-assist index`"

    def to_dict(self) -> dict:
        return {
            "indexed_commit": self.indexed_commit,
            "head": self.head,
            "commits_behind": self.commits_behind,
            "indexed_at": self.indexed_at,
            "stale": self.stale,
        }


def freshness(repo: Repo, manifest: Manifest) -> Freshness:
    indexed = manifest.get_meta("indexed_commit") or None
    head = repo.head()
    at = manifest.get_meta("indexed_at")
    dirty = int(manifest.get_meta("dirty_count", "0") or 0)
    behind = repo.commits_between(indexed, head) if indexed else None
    if indexed and head and behind == 0 and indexed != head:
        behind = None
    return Freshness(indexed, head, behind, float(at) if at else None, dirty)


def dirty_paths(manifest: Manifest) -> list[str]:
    try:
        return list(json.loads(manifest.get_meta("dirty", "[]") or "[]"))
    except ValueError:
        return []
