"""The vector store: Chroma, embedded (PersistentClient) or a server (HttpClient).

One collection per repository and embedder. The collection records its
provenance (embedder id, dimension, chunker and grammar versions); opening it
with anything else is refused with the rebuild command, never mixed.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Callable, Protocol, Sequence, TypeVar
from urllib.parse import urlparse

import numpy as np

from .errors import ProvenanceError, StoreError, UsageError

T = TypeVar("T")


class ChunkStore(Protocol):
    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def count(self) -> int: ...


def collection_name(repo_key: str, embedder_id: str, generation: str = "") -> str:
    """``ra-<repo key>-<embedder>-<digest>``, and ``-<generation>`` for a collection built by ``index --full``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", embedder_id.rsplit("/", 1)[-1]).strip("-").lower()[:20] or "emb"
    import hashlib

    digest = hashlib.sha1(embedder_id.encode()).hexdigest()[:6]
    base = f"ra-{repo_key}-{slug}-{digest}"[:110].strip("-")
    return f"{base}-{generation}" if generation else base


def collection_prefix(repo_key: str) -> str:
    """What the names of all of one repository's collections start with."""
    return f"ra-{repo_key}-"


def make_client(chroma_dir: Path | None, url: str = "", headers: dict[str, str] | None = None):
    """A Chroma client with telemetry off: a server when ``url`` is set, else embedded at ``chroma_dir``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(f"bad Chroma URL {url!r}", "use http://HOST:PORT")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                headers=headers or {},
                settings=settings,
            )
        except Exception as exc:  # noqa: BLE001 - chroma raises many kinds here
            raise StoreError(
                f"cannot reach the Chroma server at {url}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                "start it with `chroma run --path DIR --port PORT`, or fix --chroma-url",
            ) from None
    assert chroma_dir is not None
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=settings)


class ChromaStore:
    """Chunk vectors in one Chroma collection, with provenance checked on open.

    ``current`` (for readers) says which collection the index names now: when
    ``index --full`` replaces the collection after a reader opened the store,
    every read (query, count, vectors, ids) follows to the new one instead of
    failing or reading the dropped one.
    """

    def __init__(self, client, name: str, provenance: dict[str, str | int], *, create: bool, rebuild_hint: str,
                 current: Callable[[], str | None] | None = None) -> None:
        self.client = client
        self.provenance = provenance
        self.rebuild_hint = rebuild_hint
        self.current = current
        try:
            self._open(name, create=create)
        except StoreError:
            if not self._follow():
                raise

    def _open(self, name: str, *, create: bool) -> None:
        client = self.client
        self.name = name
        try:
            existing = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"the Chroma store is unreadable: {str(exc).splitlines()[0]}", self.rebuild_hint) from None
        if name not in existing:
            if not create:
                raise StoreError(f"the index has no vector collection {name}", self.rebuild_hint)
            meta = {"hnsw:space": "cosine", **{f"ra:{k}": v for k, v in self.provenance.items()}}
            self.col = client.create_collection(name=name, metadata=meta)
            return
        self.col = client.get_collection(name=name)
        stored = {k[3:]: v for k, v in (self.col.metadata or {}).items() if k.startswith("ra:")}
        diffs = [k for k in self.provenance if str(stored.get(k)) != str(self.provenance[k])]
        if diffs:
            what = ", ".join(f"{k}: index has {stored.get(k)!r}, now {self.provenance[k]!r}" for k in diffs[:3])
            raise ProvenanceError(f"the index was built differently ({what})", self.rebuild_hint)

    def _follow(self) -> bool:
        """Open the collection the index names now, if that is another one: whether it did."""
        name = self.current() if self.current else None
        if not name or name == self.name:
            return False
        self._open(name, create=False)
        return True

    def _reading(self, read: Callable[[], T]) -> T:
        """``read()`` on the collection the index names now (for a reader: it may have been replaced since)."""
        self._follow()
        try:
            return read()
        except Exception:  # noqa: BLE001 - chroma raises many kinds here
            if not self._follow():  # not replaced (again) meanwhile: a real failure
                raise
            return read()

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        max_batch = 5000
        try:
            max_batch = int(self.client.get_max_batch_size())
        except Exception:  # noqa: BLE001 - older clients
            pass
        for i in range(0, len(ids), max_batch):
            self.col.upsert(
                ids=list(ids[i : i + max_batch]),
                embeddings=vectors[i : i + max_batch],
                metadatas=list(metadatas[i : i + max_batch]),
            )

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of ``ids`` that are present and readable.

        Only ever used to skip re-embedding, so it does not fail: a process
        killed while Chroma persisted its vector index can leave records
        Chroma lists but cannot read ("Error finding id"). Those are left
        out, so their chunks are embedded again and written over.
        """
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        for i in range(0, len(ids), 5000):
            part = ids[i : i + 5000]
            try:
                found = [self._reading(lambda: self.col.get(ids=part, include=["embeddings"]))]  # noqa: B023
            except Exception:  # noqa: BLE001 - chroma raises many kinds here; read one by one
                found = []
                for one in part:
                    try:
                        found.append(self.col.get(ids=[one], include=["embeddings"]))
                    except Exception:  # noqa: BLE001 - unreadable: embed it again
                        continue
            for res in found:
                out.update(zip(res["ids"], (np.asarray(v, dtype=np.float32) for v in res["embeddings"])))
        return out

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 5000):
            self.col.delete(ids=ids[i : i + 5000])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return self._reading(lambda: self._query(vector, k))

    def _query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        n = int(self.col.count())
        if n == 0:
            return []
        res = self.col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(k, n), include=["distances"])
        return list(zip(res["ids"][0], res["distances"][0]))

    def count(self) -> int:
        return self._reading(lambda: int(self.col.count()))

    def all_ids(self) -> list[str]:
        return self._reading(self._all_ids)

    def _all_ids(self) -> list[str]:
        out: list[str] = []
        offset = 0
        while True:
            got = self.col.get(include=[], limit=5000, offset=offset)
            out.extend(got["ids"])
            if len(got["ids"]) < 5000:
                return out
            offset += 5000


def drop_collections(client, chroma_dir: Path | None, names: Sequence[str]) -> None:
    """Delete these collections and, in an embedded store at ``chroma_dir``, their folders.

    Chroma's ``delete_collection`` forgets a collection but leaves its vector
    segment folder on disk (chroma-core/chroma#5520), so every replaced
    collection would leak one; the folders no collection lists go with it.
    """
    for name in names:
        client.delete_collection(name)
    if chroma_dir is not None:
        remove_unlisted_segments(chroma_dir)


_SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def remove_unlisted_segments(chroma_dir: Path) -> int:
    """Remove the segment folders of an embedded store that its catalog no longer lists: how many."""
    catalog = chroma_dir / "chroma.sqlite3"
    if not catalog.is_file():
        return 0
    try:
        db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=30)
        try:
            listed = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
        finally:
            db.close()
    except sqlite3.Error:
        return 0  # a catalog this code does not know: leave every folder alone
    removed = 0
    for entry in chroma_dir.iterdir():
        if entry.is_dir() and _SEGMENT_DIR.fullmatch(entry.name) and entry.name not in listed:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def provenance(embedder_id: str, dim: int, chunker_version: str, grammars: dict[str, str]) -> dict[str, str | int]:
    return {
        "embedder": embedder_id,
        "dim": int(dim),
        "chunker": chunker_version,
        "grammars": json.dumps(grammars, sort_keys=True),
    }
