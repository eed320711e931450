"""Plan, then run: embed only what changed, delete what went away.

A file is marked done only after its vectors are stored; ids written to the
vector store first are listed as pending, so an interrupted run converges on
the next one.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .chunker import CHUNKER_VERSION, Chunker
from .errors import ProvenanceError
from .files import Candidate, content_skip, decode, discover
from .gitrepo import BlobReader
from .languages import grammar_versions, language_for
from .manifest import FileRow, Manifest
from .records import Chunk, IndexStats
from .redaction import redact
from .store import ChromaStore, collection_name, provenance
from .workspace import Workspace, rebuild_hint

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class Plan:
    compute: list[Candidate] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    path_skips: list[Candidate] = field(default_factory=list)
    unchanged: int = 0


def flush_size(embed_batch_size: int) -> int:
    """How many chunks are embedded and stored (and their files marked done) per flush."""
    return max(256, embed_batch_size * 4)


def plan(candidates: tuple[Candidate, ...], known: dict[str, FileRow], *, full: bool) -> Plan:
    p = Plan()
    seen: set[str] = set()
    for c in candidates:
        seen.add(c.path)
        prev = known.get(c.path)
        if c.skip:
            if full or prev is None or prev.status != "skipped" or prev.reason != c.skip or prev.blob_sha != c.blob_sha:
                p.path_skips.append(c)
            else:
                p.unchanged += 1
        elif not full and prev is not None and prev.blob_sha == c.blob_sha:
            p.unchanged += 1
        else:
            p.compute.append(c)
    p.delete = sorted(set(known) - seen)
    return p


def open_store(ws: Workspace, embedder, manifest: Manifest, *, create: bool, name: str | None = None) -> ChromaStore:
    """The collection ``manifest`` names (else ``name``, else the default one), provenance checked."""
    prov = provenance(embedder.id, embedder.dim, CHUNKER_VERSION, grammar_versions())
    stored = manifest.get_meta("provenance")
    if stored is not None:
        before = json.loads(stored)
        diffs = [k for k in prov if str(before.get(k)) != str(prov[k])]
        if diffs:
            what = ", ".join(f"{k} was {before.get(k)!r}, now {prov[k]!r}" for k in diffs[:2])
            raise ProvenanceError(f"the index was built with other settings ({what})", rebuild_hint(ws.repo))
    name = manifest.get_meta("collection") or name or collection_name(ws.key, embedder.id)
    store = ChromaStore(ws.chroma_client(), name, prov, create=create, rebuild_hint=rebuild_hint(ws.repo),
                        current=None if create else lambda: manifest.get_meta("collection"))
    if manifest.get_meta("provenance") is None:
        manifest.set_meta({"provenance": json.dumps(prov, sort_keys=True), "collection": store.name})
    return store


class Indexer:
    def __init__(self, ws: Workspace, *, progress: Progress | None = None) -> None:
        self.ws = ws
        self.progress = progress or (lambda phase, done, total: None)
        self.timings = {"discover": 0.0, "parse": 0.0, "embed": 0.0, "store": 0.0}

    def run(self, *, full: bool = False) -> IndexStats:
        t0 = time.perf_counter()
        ws = self.ws
        with ws.lock():
            ws.clear_leftovers()
            if full:
                return self._rebuild(t0)
            manifest = ws.open_manifest(create=True)
            try:
                return self._run(manifest, full=False, t0=t0)
            finally:
                manifest.close()

    def _rebuild(self, t0: float) -> IndexStats:
        """Index everything into a new manifest and collection beside the live ones, then swap.

        Searches use the old index until the new one is complete; an
        interrupted rebuild leaves the old one as it was (its remains are
        removed here, or by the next run when it was killed).
        """
        ws = self.ws
        ws.ensure_dir()
        name = collection_name(ws.key, ws.embedder().id, generation=uuid.uuid4().hex[:8])
        built = Manifest(ws.next_manifest_path)
        try:
            try:
                stats = self._run(built, full=True, t0=t0, name=name)
            finally:
                built.close()
            ws.promote_next()
        except BaseException:
            try:
                ws.clear_leftovers()
            except Exception:  # noqa: BLE001 - the next run clears them; the first error is the one to report
                pass
            raise
        ws.clear_leftovers()  # now the replaced index
        return stats

    def _run(self, manifest: Manifest, *, full: bool, t0: float, name: str | None = None) -> IndexStats:
        ws = self.ws
        embedder = ws.embedder()
        store = open_store(ws, embedder, manifest, create=True, name=name)
        deleted_chunks = self._recover(manifest, store)
        repaired, orphans = (0, 0) if full else self._repair(manifest, store, embedder)
        deleted_chunks += orphans
        td = time.perf_counter()
        disc = discover(ws.repo, ws.settings)
        known = manifest.files()
        p = plan(disc.candidates, known, full=full)
        self.timings["discover"] += time.perf_counter() - td

        # files gone from the tree, and files now skipped by path rules
        gone = [path for path in p.delete if known[path].status == "indexed"]
        gone += [c.path for c in p.path_skips if c.path in known and known[c.path].status == "indexed"]
        if gone:
            ts = time.perf_counter()
            ids = [cid for path in gone for cid in manifest.chunk_ids(path)]
            manifest.add_pending((path, cid) for path in gone for cid in manifest.chunk_ids(path))
            store.delete(ids)
            deleted_chunks += len(ids)
            self.timings["store"] += time.perf_counter() - ts
        manifest.forget_files(p.delete)
        if p.path_skips:
            manifest.record_files(
                [FileRow(c.path, c.blob_sha, None, "skipped", c.skip, 0, False) for c in p.path_skips], []
            )

        counts = self._compute(p.compute, manifest, store, embedder, known)
        deleted_chunks += counts["deleted"]
        files, chunks = manifest.counts()
        elapsed = time.perf_counter() - t0
        manifest.set_meta({
            "indexed_commit": disc.head or "",
            "indexed_at": f"{time.time():.0f}",
            "dirty": json.dumps(list(disc.dirty)[:1000]),
            "dirty_count": str(len(disc.dirty)),
        })
        skipped = manifest.skipped()
        return IndexStats(
            files=files, chunks=chunks, computed=counts["computed"] + repaired, deleted=deleted_chunks, unchanged=p.unchanged,
            fallback_chunked=counts["fallback"], reused=counts["reused"], skipped_by_reason=skipped, files_computed=len(p.compute),
            files_deleted=len(p.delete), seconds=elapsed, timings=dict(self.timings),
        )

    def _recover(self, manifest: Manifest, store: ChromaStore) -> int:
        """Undo what a killed run left half-done: its pending ids and their files' rows."""
        pending = manifest.pending()
        if not pending:
            return 0
        ids = {cid for cids in pending.values() for cid in cids}
        for path in pending:
            ids.update(manifest.chunk_ids(path))
        store.delete(sorted(ids))
        manifest.forget_files(pending)
        return len(ids)

    def _repair(self, manifest: Manifest, store: ChromaStore, embedder) -> tuple[int, int]:
        """Embed again the chunks whose vectors the store lost, drop vectors no chunk has: (embedded, dropped).

        Noticed by comparing counts, so a run with nothing lost reads no ids;
        a store folder deleted or restored from an older copy is mended here.
        """
        if store.count() == manifest.counts()[1]:
            return 0, 0
        ts = time.perf_counter()
        stored = set(store.all_ids())
        known = set(manifest.iter_chunk_ids())
        orphans = sorted(stored - known)
        store.delete(orphans)
        missing = sorted(known - stored)
        self.timings["store"] += time.perf_counter() - ts
        step = flush_size(self.ws.settings.embed_batch_size)
        bulk = len(missing) > step
        for i in range(0, len(missing), step):
            chunks = list(manifest.get_chunks(missing[i : i + step]).values())
            te = time.perf_counter()
            vectors = embedder.embed([c.embed_text() for c in chunks], bulk=bulk)
            self.timings["embed"] += time.perf_counter() - te
            ts = time.perf_counter()
            store.upsert([c.id for c in chunks], vectors, [_meta(c) for c in chunks])
            self.timings["store"] += time.perf_counter() - ts
            self.progress("repair", i + len(chunks), len(missing))
        return len(missing), len(orphans)

    def _compute(self, todo, manifest, store, embedder, known) -> dict[str, int]:
        """Chunk, embed (or keep the vectors of unchanged chunks) and store ``todo``: counters by kind."""
        chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
        total_bytes = sum(c.size for c in todo) or 1
        done_bytes = 0
        batch_rows: list[FileRow] = []
        batch_chunks: list[Chunk] = []
        encodings: dict[str, str] = {}
        counters = {"computed": 0, "reused": 0, "deleted": 0, "fallback": 0}
        flush_at = flush_size(self.ws.settings.embed_batch_size)
        # a big run is worth torch's start-up; a small one runs on the light numpy path
        bulk = total_bytes > self.ws.settings.light_embed_max * 400

        def flush() -> None:
            if not batch_rows:
                return
            texts = [c.embed_text() for c in batch_chunks]
            ts = time.perf_counter()
            kept = reusable_vectors(manifest, store, [r.path for r in batch_rows if r.path in known], texts)
            self.timings["store"] += time.perf_counter() - ts
            te = time.perf_counter()
            todo = [i for i in range(len(texts)) if i not in kept]
            fresh = embedder.embed([texts[i] for i in todo], bulk=bulk) if todo else None
            vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
            for row, i in enumerate(todo):
                vectors[i] = fresh[row]
            for i, vec in kept.items():
                vectors[i] = vec
            self.timings["embed"] += time.perf_counter() - te
            ts = time.perf_counter()
            old = [cid for r in batch_rows if r.path in known for cid in manifest.chunk_ids(r.path)]
            manifest.add_pending([(r.path, cid) for r in batch_rows if r.path in known for cid in manifest.chunk_ids(r.path)]
                                 + [(c.path, c.id) for c in batch_chunks])
            new_ids = {c.id for c in batch_chunks}
            stale = [cid for cid in old if cid not in new_ids]
            if stale:
                store.delete(stale)
                counters["deleted"] += len(stale)
            if batch_chunks:
                store.upsert([c.id for c in batch_chunks], vectors, [_meta(c) for c in batch_chunks])
            manifest.record_files(list(batch_rows), list(batch_chunks), encodings)
            self.timings["store"] += time.perf_counter() - ts
            counters["computed"] += len(todo)
            counters["reused"] += len(kept)
            batch_rows.clear()
            batch_chunks.clear()
            encodings.clear()

        blobs: BlobReader | None = None
        for cand in todo:
            tp = time.perf_counter()
            try:
                if cand.committed:
                    if blobs is None:
                        blobs = BlobReader(self.ws.repo.root)
                    data = blobs.read(cand.blob_sha)
                else:
                    data = (self.ws.repo.root / cand.path).read_bytes()
            except OSError:
                batch_rows.append(FileRow(cand.path, cand.blob_sha, None, "skipped", "unreadable", 0, False))
                continue
            skip = content_skip(cand.path, data, self.ws.settings)
            lang = language_for(cand.path)
            if skip:
                batch_rows.append(FileRow(cand.path, cand.blob_sha, lang, "skipped", skip, 0, False))
            else:
                text, enc = decode(data)
                text, redacted = redact(text)
                if redacted and self.ws.settings.secrets == "skip":
                    batch_rows.append(FileRow(cand.path, cand.blob_sha, lang, "skipped", "secret_content", 0, False))
                else:
                    res = chunker.chunk(cand.path, text, lang, cand.blob_sha)
                    if res.fallback:
                        counters["fallback"] += 1
                    batch_rows.append(FileRow(cand.path, cand.blob_sha, lang, "indexed", None, len(res.chunks),
                                              res.fallback, redacted))
                    batch_chunks.extend(res.chunks)
                    encodings[cand.path] = enc
            self.timings["parse"] += time.perf_counter() - tp
            done_bytes += cand.size
            if len(batch_chunks) >= flush_at:
                flush()
            self.progress("index", done_bytes, total_bytes)
        flush()
        if blobs is not None:
            blobs.close()
        self.progress("index", total_bytes, total_bytes)
        return counters


def reusable_vectors(manifest: Manifest, store: ChromaStore, changed: list[str], texts: list[str]) -> dict[int, np.ndarray]:
    """Stored vectors for new chunks whose embedded text an old chunk of the same files had: index → vector.

    A commit that touches one function of a file changes the file's blob, so
    every chunk of it gets a new id; most still embed the same text (path,
    scopes and code), and their vectors are copied instead of recomputed.
    """
    if not changed or not texts:
        return {}
    old_by_text = {c.embed_text(): c.id for c in manifest.chunks_of(changed)}
    wanted = {i: old_by_text[t] for i, t in enumerate(texts) if t in old_by_text}
    stored = store.vectors(sorted(set(wanted.values()))) if wanted else {}
    return {i: stored[cid] for i, cid in wanted.items() if cid in stored}


def _meta(c: Chunk) -> dict:
    return {
        "path": c.path, "start_line": c.start_line, "end_line": c.end_line, "symbol": c.symbol,
        "kind": c.kind, "language": c.language or "",
    }
