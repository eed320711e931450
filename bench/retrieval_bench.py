"""Retrieval bench: warm hybrid query latency against dense-only, on a real index and on 50,000 synthetic chunks.

    python bench/retrieval_bench.py PATH [--json] [--chroma-url URL] [--home DIR] [--passes N] [--synthetic N]

* **Real repository.** PATH is indexed into a throw-away REPO_ASSIST_HOME
  (or reused from ``--home DIR`` when that already holds its index). About
  50 queries are drawn from the index itself, four kinds: identifiers
  (``Class.method``, backquoted names), prose questions, stack traces
  (``File "…", line N, in f`` frames at real lines) and file-path questions.
  Each query runs through ``Retriever.search`` end to end (query embedding,
  Chroma, BM25, symbol and path signals, fusion, chunk fetch), warm, in
  process; the named alternative, interleaved query by query in the same run,
  is dense-only (``signals=("dense",)``: query embedding + the Chroma query +
  chunk fetch). Printed: p50/p95 of both, the ratio hybrid/dense, and a
  per-signal breakdown (query embedding alone, the Chroma query alone with the
  vector given, BM25, symbol, path/trace).
* **Synthetic 50,000 chunks.** Chunk rows (code-like text over a shared
  vocabulary, so BM25 posting lists have realistic lengths) and random unit
  vectors are written straight through ``Manifest.record_files`` and
  ``ChromaStore.upsert``; no model embeds them. The same measurement runs
  there (goal: hybrid p95 <= 100 ms).
* **Cold CLI.** ``repo-assist search`` as a new process on the real index
  (goal <= 3 s), with the in-process time it reports, ``python -c pass`` as
  the floor, and one profiled cold search in a fresh interpreter split into
  imports / opening the index / loading the query encoder / the search.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RA, clean_env, emit, fmt, log, percentile, ratio, run_timed, run_worker, summary_ms, worker_result,
)

SCRIPT = Path(__file__).resolve()
PROSE = (
    "how are errors reported to the user",
    "where is the configuration loaded from",
    "how does the command line parse its arguments",
    "what happens when a required option is missing",
    "how is output written to the terminal",
    "where are environment variables read",
    "how are default values handled",
    "how does the code handle unicode and encodings",
    "where is the version number defined",
    "how are callbacks invoked",
    "how is help text formatted",
    "what does the main entry point do",
    "how are tests organised",
    "where is logging set up",
    "how are files opened and closed safely",
)
EXCEPTIONS = ("ValueError: invalid literal", "KeyError: 'name'", "TypeError: 'NoneType' object is not callable",
              "AttributeError: object has no attribute 'value'", "RuntimeError: unexpected state")


# --------------------------------------------------------------------------- queries


def real_queries(db, rng: random.Random, root: str, n: int = 50) -> list[tuple[str, str]]:
    """(kind, query) pairs drawn from an index's own symbols, files and line spans."""
    syms = [r[0] for r in db.execute("SELECT DISTINCT qualified FROM symbols ORDER BY qualified")]
    dotted = [s for s in syms if "." in s] or syms
    plain = [s for s in syms if "_" in s.rsplit(".", 1)[-1]] or syms
    spans = db.execute(
        "SELECT path, start_line, end_line, symbol FROM chunks WHERE symbol != '' AND kind IN ('function', 'method')"
        " ORDER BY rid").fetchall() or db.execute("SELECT path, start_line, end_line, symbol FROM chunks ORDER BY rid").fetchall()
    paths = [r[0] for r in db.execute("SELECT path FROM files WHERE status='indexed' ORDER BY path")]
    out: list[tuple[str, str]] = []
    for s in rng.sample(dotted, min(8, len(dotted))):
        out.append(("identifier", s))
    for s in rng.sample(plain, min(5, len(plain))):
        out.append(("identifier", f"where is `{s.rsplit('.', 1)[-1]}` used"))
    for q in PROSE:
        out.append(("prose", q))
    for s in rng.sample(syms, min(5, len(syms))):
        words = " ".join(w for w in s.rsplit(".", 1)[-1].replace("_", " ").split() if w)
        out.append(("prose", f"how does {words} work"))
    for _ in range(10):
        frames = rng.sample(spans, min(3, len(spans)))
        lines = ["Traceback (most recent call last):"]
        for path, start, end, sym in frames:
            line = rng.randint(start, end)
            lines.append(f'  File "{root}/{path}", line {line}, in {sym.rsplit(".", 1)[-1] or "<module>"}')
        lines.append(rng.choice(EXCEPTIONS))
        out.append(("trace", "\n".join(lines)))
    for p in rng.sample(paths, min(7, len(paths))):
        out.append(("path", rng.choice((f"what does {p} do", f"explain {p.rsplit('/', 1)[-1]}", f"bug in {p}"))))
    return out[:n]


# --------------------------------------------------------------------------- synthetic collection

SYLLABLES = ("par", "se", "con", "fig", "req", "ues", "ses", "sion", "han", "dle", "val", "ue", "tok", "en", "cli",
             "ent", "ser", "ver", "ca", "che", "rou", "ter", "load", "er", "emit", "log", "span", "node", "tree", "walk")


def vocabulary(rng: random.Random, n: int = 3000) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))))
    return sorted(words)


def build_synthetic(base: Path, n_chunks: int, chroma_url: str, rng: random.Random) -> tuple[object, object, dict]:
    """A manifest and a Chroma collection holding ``n_chunks`` synthetic chunks (random unit vectors)."""
    import numpy as np

    from repo_assist.manifest import FileRow, Manifest
    from repo_assist.records import Chunk
    from repo_assist.store import ChromaStore, make_client, provenance

    vocab = vocabulary(rng)
    zipf = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(vocab))))  # a few words everywhere, most rare
    per_file = 20
    n_files = -(-n_chunks // per_file)
    manifest = Manifest(base / "manifest.sqlite")
    store = ChromaStore(make_client(base / "chroma", chroma_url), f"ra-synthetic-{rng.randrange(1 << 30):08x}",
                        provenance("synthetic/random-unit", 384, "synthetic", {}), create=True, rebuild_hint="")
    t_rows = t_vec = 0.0
    made = 0
    for f0 in range(0, n_files, 250):
        rows, chunks = [], []
        for f in range(f0, min(n_files, f0 + 250)):
            path = f"pkg{f % 40}/sub{f % 7}/{vocab[f % len(vocab)]}_{f}.py"
            blob = hashlib.sha1(path.encode()).hexdigest()
            line = 1
            k = 0
            for c in range(per_file):
                if made + len(chunks) >= n_chunks:
                    break
                cls = f"{vocab[(f * 7 + c // 5) % len(vocab)].capitalize()}Thing"
                meth = "_".join(rng.choices(vocab, cum_weights=zipf, k=2))
                body = [f"    def {meth}(self, {rng.choice(vocab)}, {rng.choice(vocab)}):"]
                for _ in range(rng.randint(6, 18)):
                    ws = rng.choices(vocab, cum_weights=zipf, k=rng.randint(3, 7))
                    body.append(f"        {ws[0]} = self.{ws[1]}({', '.join(ws[2:])})")
                body.append(f"        return {rng.choice(vocab)}")
                text = "\n".join(body) + "\n"
                n_lines = len(body)
                cid = hashlib.sha1(f"{path}:{line}".encode()).hexdigest()
                chunks.append(Chunk(cid, path, line, line + n_lines - 1, text, "python", f"{cls}.{meth}", "method",
                                    blob, f"class {cls}", (f"{cls}.{meth}",)))
                line += n_lines
                k += 1
            rows.append(FileRow(path, blob, "python", "indexed", None, k, False))
        tr = time.perf_counter()
        manifest.record_files(rows, chunks)
        t_rows += time.perf_counter() - tr
        vecs = rng_normal(np, len(chunks), 384, rng)
        tv = time.perf_counter()
        store.upsert([c.id for c in chunks], vecs, [{"path": c.path, "start_line": c.start_line,
                                                    "end_line": c.end_line, "symbol": c.symbol, "kind": c.kind,
                                                    "language": "python"} for c in chunks])
        t_vec += time.perf_counter() - tv
        made += len(chunks)
    return manifest, store, {"chunks": made, "files": n_files, "manifest_write_s": round(t_rows, 2),
                             "chroma_upsert_s": round(t_vec, 2), "vocab": vocab}


def rng_normal(np, n: int, d: int, rng: random.Random):
    g = np.random.default_rng(rng.randrange(1 << 30))
    v = g.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def synthetic_queries(db, vocab: list[str], rng: random.Random, n: int = 50) -> list[tuple[str, str]]:
    syms = [r[0] for r in db.execute("SELECT qualified FROM symbols ORDER BY rid LIMIT 5000")]
    spans = db.execute("SELECT path, start_line, end_line, symbol FROM chunks ORDER BY rid LIMIT 5000").fetchall()
    paths = sorted({s[0] for s in spans})
    out: list[tuple[str, str]] = []
    out += [("identifier", s) for s in rng.sample(syms, 8)]
    out += [("identifier", f"where is `{s.rsplit('.', 1)[-1]}` used") for s in rng.sample(syms, 5)]
    out += [("prose", q) for q in PROSE]
    out += [("prose", f"how does the {rng.choice(vocab)} {rng.choice(vocab)} handle {rng.choice(vocab)}")
            for _ in range(5)]
    for _ in range(10):
        lines = ["Traceback (most recent call last):"]
        for path, start, end, sym in rng.sample(spans, 3):
            lines.append(f'  File "/src/{path}", line {rng.randint(start, end)}, in {sym.rsplit(".", 1)[-1]}')
        lines.append(rng.choice(EXCEPTIONS))
        out.append(("trace", "\n".join(lines)))
    out += [("path", f"what does {p} do") for p in rng.sample(paths, 7)]
    return out[:n]


# --------------------------------------------------------------------------- measuring


def measure(retriever, queries: list[tuple[str, str]], passes: int, k: int = 10) -> dict:
    """Hybrid vs dense-only, interleaved per query (so both see the same machine), plus per-signal parts."""
    for _, q in queries[:3]:  # warm: encoder weights, SQLite pages, HNSW segments
        retriever.search(q, k)
        retriever.search(q, k, signals=("dense",))
    hybrid: list[float] = []
    dense: list[float] = []
    by_kind: dict[str, list[float]] = {}
    parts: dict[str, list[float]] = {"embed_query": [], "chroma_query": [], "bm25": [], "symbol": [], "path_trace": []}
    for p in range(passes):
        for i, (kind, q) in enumerate(queries):
            order = ("h", "d") if (i + p) % 2 == 0 else ("d", "h")
            for which in order:
                t0 = time.perf_counter()
                if which == "h":
                    retriever.search(q, k)
                    dt = time.perf_counter() - t0
                    hybrid.append(dt)
                    by_kind.setdefault(kind, []).append(dt)
                else:
                    retriever.search(q, k, signals=("dense",))
                    dense.append(time.perf_counter() - t0)
    from repo_assist.signals import content_text

    depth = retriever.weights.depth
    for kind, q in queries:
        t0 = time.perf_counter()
        vec = retriever.embedder.embed([content_text(q)])[0]  # what dense_rids embeds
        parts["embed_query"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        retriever.store.query(vec, depth)
        parts["chroma_query"].append(time.perf_counter() - t0)
        for name, sig in (("bm25", ("bm25",)), ("symbol", ("symbol",)), ("path_trace", ("path", "trace"))):
            t0 = time.perf_counter()
            retriever.ranks(q, sig)
            parts[name].append(time.perf_counter() - t0)
    h, d = summary_ms(hybrid), summary_ms(dense)
    return {
        "queries": len(queries), "passes": passes, "hybrid": h, "dense_only": d,
        "ratio_hybrid_over_dense_p50": ratio(h["p50_ms"], d["p50_ms"]),
        "ratio_hybrid_over_dense_p95": ratio(h["p95_ms"], d["p95_ms"]),
        "hybrid_by_kind_p50_ms": {k2: round(percentile([x * 1000 for x in v], 50), 2) for k2, v in by_kind.items()},
        "parts_p50_ms": {k2: round(percentile([x * 1000 for x in v], 50), 2) for k2, v in parts.items()},
        "parts_p95_ms": {k2: round(percentile([x * 1000 for x in v], 95), 2) for k2, v in parts.items()},
    }


# --------------------------------------------------------------------------- workers


def worker_real(path: str, home: str, chroma_url: str, passes: int, out_queries: str) -> None:
    from repo_assist import assistant
    from repo_assist.indexer import open_store
    from repo_assist.retrieval import Retriever
    from repo_assist.workspace import require_index

    ws = assistant.open_workspace(path, {"home": home, "chroma_url": chroma_url or None})
    manifest = require_index(ws)
    embedder = ws.embedder()
    store = open_store(ws, embedder, manifest, create=False)
    queries = real_queries(manifest.db, random.Random(7), str(ws.repo.root))
    Path(out_queries).write_text(json.dumps(queries))
    files, chunks = manifest.counts()
    res = measure(Retriever(manifest, store, embedder), queries, passes)
    res.update({"files": files, "chunks": chunks})
    worker_result(res)


def worker_synthetic(base: str, chroma_url: str, passes: int, n_chunks: int) -> None:
    from repo_assist.embeddings import SentenceTransformerEmbedder
    from repo_assist.retrieval import Retriever

    rng = random.Random(11)
    t0 = time.perf_counter()
    manifest, store, info = build_synthetic(Path(base), n_chunks, chroma_url, rng)
    info["build_s"] = round(time.perf_counter() - t0, 2)
    vocab = info.pop("vocab")
    queries = synthetic_queries(manifest.db, vocab, rng)
    res = measure(Retriever(manifest, store, SentenceTransformerEmbedder("default")), queries, passes)
    res.update(info)
    res["stored_vectors"] = store.count()
    if chroma_url:
        store.drop()
    worker_result(res)


def worker_cold_profile(path: str, home: str, chroma_url: str, query: str) -> None:
    """One cold search in this fresh interpreter, split by phase (imports are counted where they happen)."""
    marks: dict[str, float] = {}
    t = time.perf_counter()
    from repo_assist import assistant, cli  # noqa: F401 - what the CLI imports before it does anything

    marks["import_cli"] = time.perf_counter() - t
    t = time.perf_counter()
    ws = assistant.open_workspace(path, {"home": home, "chroma_url": chroma_url or None})
    from repo_assist.workspace import require_index

    manifest = require_index(ws)
    embedder = ws.embedder()
    marks["open_workspace_manifest"] = time.perf_counter() - t
    t = time.perf_counter()
    from repo_assist.indexer import open_store

    marks["import_indexer"] = time.perf_counter() - t
    t = time.perf_counter()
    store = open_store(ws, embedder, manifest, create=False)
    marks["import_chromadb_open_store"] = time.perf_counter() - t
    t = time.perf_counter()
    embedder.embed(["warm the encoder"])
    marks["load_query_encoder_first_embed"] = time.perf_counter() - t
    from repo_assist.retrieval import Retriever

    t = time.perf_counter()
    Retriever(manifest, store, embedder).search(query, 10)
    marks["search"] = time.perf_counter() - t
    t = time.perf_counter()
    from repo_assist.freshness import freshness

    freshness(ws.repo, manifest)
    marks["freshness_check"] = time.perf_counter() - t
    worker_result({k: round(v * 1000, 1) for k, v in marks.items()})


# --------------------------------------------------------------------------- parent


def ensure_index(path: Path, home: Path, chroma_url: str) -> dict:
    env = clean_env(REPO_ASSIST_HOME=str(home), **({"REPO_ASSIST_CHROMA_URL": chroma_url} if chroma_url else {}))
    wall, out = run_timed([str(RA), "index", "--json", str(path)], env=env)
    d = json.loads(out)
    return {"wall_s": round(wall, 2), "files": d["files"], "chunks": d["chunks"], "computed": d["computed"]}


def cold_cli(path: Path, home: Path, queries: list[tuple[str, str]], chroma_url: str, blas_threads: int,
             n: int = 5) -> dict:
    env = clean_env(REPO_ASSIST_HOME=str(home), **({"REPO_ASSIST_CHROMA_URL": chroma_url} if chroma_url else {}),
                    **blas_env(blas_threads))
    floor = [run_timed([sys.executable, "-c", "pass"], env=env)[0] for _ in range(3)]
    runs = []
    plain = [q for kind, q in queries if kind != "trace"]  # one-line queries: a shell argument as a user types it
    picks = plain[:: max(1, len(plain) // n)][:n]
    for q in picks:
        wall, out = run_timed([str(RA), "search", q, "--repo", str(path), "--json"], env=env)
        runs.append({"query": q, "wall_s": round(wall, 3), "in_process_ms": json.loads(out)["ms"]})
    walls = [r["wall_s"] for r in runs]
    prof = run_worker(SCRIPT, ["--worker", "cold", str(path), "--home", str(home), "--chroma-url", chroma_url,
                               "--query", picks[0]], env=env)
    return {"runs": runs, "wall_median_s": round(statistics.median(walls), 3), "wall_max_s": round(max(walls), 3),
            "python_floor_s": round(statistics.median(floor), 3),
            "in_process_median_ms": round(statistics.median(r["in_process_ms"] for r in runs), 1),
            "profile_ms": {k: v for k, v in prof.items() if k != "process_wall_s"},
            "profile_process_wall_s": prof["process_wall_s"]}


def blas_env(threads: int) -> dict[str, str]:
    """Thread caps for numpy's BLAS (the query encoder's matrix products); empty: the library default."""
    if threads <= 0:
        return {}
    return {k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def run(path: Path, *, home: Path | None, chroma_url: str, passes: int, synthetic: int, blas_threads: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        base = Path(tmp)
        home = home or base / "home"
        env = clean_env(**blas_env(blas_threads))
        load0 = os.getloadavg()[0]
        log(f"index {path} into {home} (incremental: reused when already there) …")
        idx = ensure_index(path, home, chroma_url)
        log("warm queries on the real index (hybrid vs dense-only, interleaved) …")
        qfile = base / "queries.json"
        real = run_worker(SCRIPT, ["--worker", "real", str(path), "--home", str(home), "--chroma-url", chroma_url,
                                   "--passes", str(passes), "--queries-out", str(qfile)], env=env)
        queries = [tuple(q) for q in json.loads(qfile.read_text())]
        result = {"repo": str(path), "index": idx, "real": real, "load_avg": [load0]}
        if synthetic:
            log(f"synthetic collection of {synthetic} chunks (random unit vectors) …")
            (base / "syn").mkdir()
            result["synthetic"] = run_worker(SCRIPT, ["--worker", "synthetic", str(base / "syn"), "--chroma-url",
                                                      chroma_url, "--passes", str(passes), "--n", str(synthetic)],
                                             env=env)
        log("cold CLI searches …")
        result["cold_cli"] = cold_cli(path, home, queries, chroma_url, blas_threads)
        result["blas_threads"] = blas_threads or "library default"
        result["sample_queries"] = {kind: next(q for k2, q in queries if k2 == kind)
                                    for kind in ("identifier", "prose", "trace", "path")}
        g = {"real_hybrid_p95_ms": real["hybrid"]["p95_ms"], "cold_cli_search_s<=3": result["cold_cli"]["wall_median_s"]}
        if synthetic:
            g["synthetic_hybrid_p95_ms<=100"] = result["synthetic"]["hybrid"]["p95_ms"]
        result["goals"] = g
        result["load_avg"].append(os.getloadavg()[0])
        return result


def _block(title: str, m: dict) -> list[str]:
    h, d = m["hybrid"], m["dense_only"]
    p50, p95 = m["parts_p50_ms"], m["parts_p95_ms"]
    return [
        title,
        f"  hybrid     p50 {h['p50_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms, max {h['max_ms']:.1f} ms  "
        f"({m['queries']} queries x {m['passes']} passes)",
        f"  dense-only p50 {d['p50_ms']:.1f} ms, p95 {d['p95_ms']:.1f} ms, max {d['max_ms']:.1f} ms",
        f"  hybrid/dense: p50 {fmt(m['ratio_hybrid_over_dense_p50'], 2)}, p95 {fmt(m['ratio_hybrid_over_dense_p95'], 2)}",
        "  hybrid p50 by query kind: " + ", ".join(f"{k} {v:.1f} ms" for k, v in m["hybrid_by_kind_p50_ms"].items()),
        "  parts p50/p95: " + ", ".join(f"{k} {p50[k]:.1f}/{p95[k]:.1f} ms" for k in p50),
    ]


def text(r: dict) -> str:
    i = r["index"]
    lines = [f"repository {r['repo']}: {r['real']['files']} files, {r['real']['chunks']} chunks "
             f"(index step {i['wall_s']:.1f}s, {i['computed']} chunks embedded); BLAS threads: {r['blas_threads']}; "
             f"load avg {r['load_avg'][0]:.1f} → {r['load_avg'][1]:.1f}", ""]
    lines += _block("warm, in process, real index (Retriever.search, k=10)", r["real"])
    if "synthetic" in r:
        s = r["synthetic"]
        lines += [""] + _block(f"warm, in process, synthetic {s['chunks']} chunks in {s['files']} files "
                               f"(built in {s['build_s']:.0f}s: manifest {s['manifest_write_s']:.0f}s, "
                               f"Chroma upsert {s['chroma_upsert_s']:.0f}s)  goal p95 <= 100 ms", s)
    c = r["cold_cli"]
    lines += ["", f"cold `repo-assist search` (new process each): median {c['wall_median_s']:.2f}s, max {c['wall_max_s']:.2f}s "
              f"(goal <= 3 s); in-process part median {c['in_process_median_ms']:.0f} ms; `python -c pass` {c['python_floor_s']:.2f}s",
              "  one cold search, by phase (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in c["profile_ms"].items())
              + f"  (process {c['profile_process_wall_s']:.2f}s)"]
    lines += ["", "sample queries:"] + [f"  {k}: {q.splitlines()[0] if k != 'trace' else q.replace(chr(10), ' | ')[:160]}"
                                        for k, q in r["sample_queries"].items()]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--chroma-url", default="")
    ap.add_argument("--home", type=Path, help="REPO_ASSIST_HOME to index into / reuse (default: a temp dir)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes over the queries (default 3)")
    ap.add_argument("--synthetic", type=int, default=50_000, help="synthetic chunks (0: skip; default 50000)")
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="cap numpy's BLAS threads in the measured processes (default: the library's own choice)")
    ap.add_argument("--worker", choices=("real", "synthetic", "cold"), help=argparse.SUPPRESS)
    ap.add_argument("--queries-out", help=argparse.SUPPRESS)
    ap.add_argument("--query", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker == "real":
        return worker_real(str(a.path), str(a.home), a.chroma_url, a.passes, a.queries_out)
    if a.worker == "synthetic":
        return worker_synthetic(str(a.path), a.chroma_url, a.passes, a.n)
    if a.worker == "cold":
        return worker_cold_profile(str(a.path), str(a.home), a.chroma_url, a.query)
    result = run(a.path.resolve(), home=a.home.resolve() if a.home else None, chroma_url=a.chroma_url,
                 passes=max(1, a.passes), synthetic=max(0, a.synthetic), blas_threads=max(0, a.blas_threads))
    emit(result, a.json, text)


if __name__ == "__main__":
    main()
