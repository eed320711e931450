"""Hybrid retrieval: dense + code-aware BM25 + symbol and path signals, fused by RRF.

Each signal ranks chunks on its own; reciprocal rank fusion (Cormack et al.,
2009) adds ``weight / (RRF_K + rank)`` over the signals that found a chunk.
RRF needs no score calibration between a cosine distance and a BM25 score,
which is why it is the fusion method here.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .codetokens import STOP, terms
from .manifest import Manifest
from .records import Hit
from .signals import QuerySignals, content_text, extract, last_name

RRF_K = 60
SCORED_ROWS = 5_000  # BM25 postings worth scoring per query before the commonest words give way


@dataclass(frozen=True, slots=True)
class Weights:
    dense: float = 1.0
    bm25: float = 1.0
    symbol: float = 1.5
    path: float = 1.0
    trace: float = 3.0
    depth: int = 60  # candidates each signal contributes


@dataclass
class Ranked:
    """Ranks per signal: chunk rid → rank (0-based)."""

    by_signal: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, signal: str, rids: list[int]) -> None:
        ranks = self.by_signal.setdefault(signal, {})
        for rid in rids:
            if rid not in ranks:
                ranks[rid] = len(ranks)


def query_words(question: str) -> list[str]:
    words = [t for t in terms(question, keep_stop=False) if t not in STOP and len(t) > 1]
    return list(dict.fromkeys(words))[:48]


def informative(db: sqlite3.Connection, words: list[str]) -> list[str]:
    """``words`` worth scoring: none in no chunk, none in most chunks, and a bounded cost.

    FTS5's BM25 gives a term in more than half the documents an IDF of 1e-6,
    so dropping it leaves every other document's score as it was (to 1e-6)
    while sparing the scoring of every row it matches. Scoring costs a row per
    posting, so on a large index (a query holding ``self`` on 50,000 chunks)
    the commonest words beyond SCORED_ROWS postings are dropped too, as long
    as a rare word (in at most 1% of chunks) anchors the query: their IDF is a
    fraction of the rare word's, and the other signals still see them. An
    index of at most SCORED_ROWS chunks is always scored exactly.
    """
    if not words:
        return []
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row)")
    marks = ",".join("?" * len(words))
    df = dict(db.execute(f"SELECT term, doc FROM temp.chunks_vocab WHERE term IN ({marks})", words).fetchall())
    present = [w for w in words if df.get(w)]
    n = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    kept = [w for w in present if df[w] * 2 <= n] or present
    if n > SCORED_ROWS and any(df[w] * 100 <= n for w in kept):
        for w in sorted(kept, key=lambda w: -df[w]):
            if sum(df[k] for k in kept) <= SCORED_ROWS or df[w] * 10 <= n:
                break
            kept.remove(w)
    return kept


def bm25_rids(db: sqlite3.Connection, question: str, depth: int) -> list[int]:
    words = informative(db, query_words(content_text(question)))
    if not words:
        return []
    rows = db.execute(
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, 3.0, 4.0, 1.0) LIMIT ?",
        (" OR ".join(f'"{w}"' for w in words), depth),
    )
    return [r[0] for r in rows]


def symbol_rids(db: sqlite3.Connection, sig: QuerySignals, depth: int) -> list[int]:
    out: list[int] = []
    names = [last_name(i).lower() for i in sig.identifiers] + [w.lower() for w in sig.words]
    quals = {i.replace("::", ".").lower() for i in sig.identifiers}
    for name in dict.fromkeys(names):
        rows = db.execute("SELECT rid, qualified FROM symbols WHERE name=? LIMIT 50", (name,)).fetchall()
        if len(rows) > 25 and name not in {last_name(i).lower() for i in sig.identifiers}:
            continue  # a common word that happens to name many things says little
        exact = [r[0] for r in rows if r[1].lower() in quals or r[1].lower().endswith("." + name) and r[1].lower() in quals]
        out.extend(exact + [r[0] for r in rows])
    return list(dict.fromkeys(out))[:depth]


def _paths_matching(db: sqlite3.Connection, mention: str) -> list[str]:
    """Indexed files a mention names: the file itself or files whose path ends with it; else those whose path
    an absolute one (a stack trace's `/srv/app/index.js`) ends with, longest first; else files of its name."""
    mention = re.sub(r"^(?:\./)+", "", mention.replace("\\", "/")).lstrip("/")
    name = PurePosixPath(mention).name
    rows = db.execute("SELECT path FROM files WHERE status='indexed' AND (path=? OR path=? OR path LIKE ?)",
                      (mention, name, f"%/{name}"))
    paths = [r[0] for r in rows]
    within = [p for p in paths if p == mention or p.endswith("/" + mention)]
    ending = sorted((p for p in paths if mention.endswith("/" + p)), key=len, reverse=True)
    return within or ending or paths


def path_rids(db: sqlite3.Connection, sig: QuerySignals, depth: int) -> tuple[list[int], list[int]]:
    """(trace hits: the chunk holding each cited line, path hits: chunks of each named file)."""
    trace: list[int] = []
    for path, line in sig.locations:
        for p in _paths_matching(db, path)[:3]:
            row = db.execute(
                "SELECT rid FROM chunks WHERE path=? AND start_line<=? AND end_line>=? LIMIT 1", (p, line, line)
            ).fetchone()
            if row:
                trace.append(row[0])
    named: list[int] = []
    for mention in list(sig.paths) + [p for p, _ in sig.locations]:
        for p in _paths_matching(db, mention)[:3]:
            named.extend(r[0] for r in db.execute("SELECT rid FROM chunks WHERE path=? ORDER BY start_line LIMIT 20", (p,)))
    return trace, list(dict.fromkeys(named))[:depth]


class Retriever:
    def __init__(self, manifest: Manifest, store, embedder, weights: Weights | None = None) -> None:
        self.manifest = manifest
        self.store = store
        self.embedder = embedder
        self.weights = weights or Weights()

    def dense_rids(self, question: str, depth: int) -> list[int]:
        if self.store is None or self.embedder is None:
            return []
        vec = self.embedder.embed([content_text(question)])[0]
        ids = [cid for cid, _dist in self.store.query(vec, depth)]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rid_of = dict(self.manifest.db.execute(f"SELECT id, rid FROM chunks WHERE id IN ({marks})", ids).fetchall())
        return [rid_of[i] for i in ids if i in rid_of]

    def ranks(self, question: str, signals: tuple[str, ...] = ("dense", "bm25", "symbol", "path", "trace")) -> Ranked:
        w = self.weights
        db = self.manifest.db
        sig = extract(question)
        ranked = Ranked()
        if "dense" in signals:
            ranked.add("dense", self.dense_rids(question, w.depth))
        if "bm25" in signals:
            ranked.add("bm25", bm25_rids(db, question, w.depth))
        if "symbol" in signals:
            ranked.add("symbol", symbol_rids(db, sig, w.depth))
        if "path" in signals or "trace" in signals:
            trace, named = path_rids(db, sig, w.depth)
            if "trace" in signals:
                ranked.add("trace", trace)
            if "path" in signals:
                ranked.add("path", named)
        return ranked

    def search(self, question: str, k: int = 10, signals: tuple[str, ...] | None = None) -> list[Hit]:
        ranked = self.ranks(question, signals or ("dense", "bm25", "symbol", "path", "trace"))
        scores: dict[int, float] = {}
        via: dict[int, list[str]] = {}
        for signal, ranks in ranked.by_signal.items():
            weight = getattr(self.weights, signal)
            for rid, rank in ranks.items():
                scores[rid] = scores.get(rid, 0.0) + weight / (RRF_K + rank + 1)
                via.setdefault(rid, []).append(signal)
        top = sorted(scores, key=lambda r: -scores[r])[:k]
        chunks = self.manifest.chunks_by_rid(top)
        return [Hit(chunks[r], round(scores[r], 6), tuple(via[r])) for r in top if r in chunks]


def rank_files(hits: list[Hit]) -> list[tuple[str, float]]:
    """Files ordered by their best chunk, with a small bonus for further chunks."""
    best: dict[str, float] = {}
    extra: dict[str, float] = {}
    for h in hits:
        p = h.chunk.path
        if p not in best:
            best[p] = h.score
        else:
            extra[p] = extra.get(p, 0.0) + h.score * 0.25
    return sorted(((p, best[p] + extra.get(p, 0.0)) for p in best), key=lambda x: -x[1])


def reference_hits(manifest: Manifest, question: str, limit: int = 40) -> list[Hit]:
    """Chunks that define, or use as a word, a name the request gives (for refactors): the definitions of every
    name first, then their uses.

    A name is an identifier written as code (``grand_total``, ``Mux.handle``, `` `walk` ``), or a plain word that
    some definition in the index is named exactly so, case and all ("rename chain to buildChain": ``chain``; "the
    handler" is not ``Handler``)."""
    import re

    sig = extract(question)
    db = manifest.db
    names = [last_name(i) for i in sig.identifiers] + [w for w in sig.words if any(c.isupper() for c in w) or "_" in w]
    names += [w for w in sig.words if w not in names and _defined_as(db, w)]
    rids: list[int] = []
    via: dict[int, str] = {}
    for name in dict.fromkeys(names):
        for (rid,) in db.execute("SELECT rid FROM symbols WHERE name=? LIMIT 20", (name.lower(),)):
            rids.append(rid)
            via.setdefault(rid, "symbol")
    as_code: list[int] = []  # uses written as code (called, dotted) go before the rest, which may be prose
    other: list[int] = []
    for name in dict.fromkeys(names):
        word = re.compile(rf"\b{re.escape(name)}\b")
        code = re.compile(rf"\b{re.escape(name)}\s*\(|[.>:]{re.escape(name)}\b|\b{re.escape(name)}(?:\.|::)\w")
        rows = db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 200", (f'"{name.lower()}"',))
        candidates = [r[0] for r in rows]
        for rid, chunk in manifest.chunks_by_rid(candidates).items():
            if word.search(chunk.text):
                (as_code if code.search(chunk.text) else other).append(rid)
                via.setdefault(rid, "reference")
    rids = list(dict.fromkeys(rids + as_code + other))[:limit]
    chunks = manifest.chunks_by_rid(rids)
    n = len(rids)
    return [Hit(chunks[r], 1.0 + (n - i) / max(n, 1), (via[r],)) for i, r in enumerate(rids) if r in chunks]


def _defined_as(db: sqlite3.Connection, word: str) -> bool:
    """Whether a definition in the index is named ``word`` exactly (the table keeps names lowercased)."""
    rows = db.execute("SELECT qualified FROM symbols WHERE name=? LIMIT 50", (word.lower(),)).fetchall()
    return any(last_name(q) == word for (q,) in rows)
