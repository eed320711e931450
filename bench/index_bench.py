"""Index bench: a from-scratch index against llama-index's default ingestion, and a one-commit re-index.

    python bench/index_bench.py PATH [--json] [--skip-llamaindex] [--chroma-url URL] [--rounds N]

PATH is a git work tree (or a bare mirror); the bench works on a throw-away
clone of its HEAD, with a throw-away REPO_ASSIST_HOME, so nothing of the
user's is touched. Figures, all from the same run:

* ``ours`` (a child process of its own, so its peak RSS is its own): files,
  chunks, chunks/s, the wall split from ``IndexStats.timings`` (discover /
  parse / embed / store), peak RSS and CPU seconds. Then, in the same process
  with the model warm, the same chunk texts embedded by the same embedder and
  nothing else ("embed alone"), and total / embed-alone (goal <= 1.2). Tokens
  really embedded: each chunk's ``embed_text()`` with [CLS]/[SEP], cut at the
  model's 256-token window; and wall time per embedded token.
* ``llama-index`` (the named alternative, its own child process): the same
  file list through ``SimpleDirectoryReader`` and an ``IngestionPipeline``
  of ``SentenceSplitter()`` + ``HuggingFaceEmbedding`` (the same packaged
  MiniLM folder) into a ``ChromaVectorStore``. Its tokens really embedded are
  counted the same way from what it embeds (``MetadataMode.EMBED`` text, so
  the ``file_path`` line is included; its 1024-token chunks are cut at 256).
  Printed: ours / llama-index wall per embedded token (goal <= 0.5) and the
  total wall ratio.
* ``re-index``: in the clone, append a function to one source file, commit,
  and time ``repo-assist index`` as a process (start-up included; goal <= 3 s),
  with the chunks it embedded; then ``repo-assist search`` for the new
  function, cold (a new process), and whether it comes first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RA, clean_env, clone, cpu_seconds, embedded_tokens, emit, fmt, git, log, minilm_tokenizer, padded_tokens,
    peak_rss_mb, ratio, run_timed, run_worker, token_counts, worker_result,
)

SCRIPT = Path(__file__).resolve()
APPEND = {  # language → (extensions, function template)
    "python": ((".py",), "\n\ndef bench_added_{i}(values, factor):\n    \"\"\"Scale values (added by index_bench).\"\"\"\n"
                         "    return [v * factor + {i} for v in values]\n"),
    "javascript": ((".js",), "\nfunction benchAdded{i}(values, factor) {{\n  return values.map((v) => v * factor + {i});\n}}\n"),
    "typescript": ((".ts",), "\nexport function benchAdded{i}(values: number[], factor: number): number[] {{\n"
                             "  return values.map((v) => v * factor + {i});\n}}\n"),
    "go": ((".go",), "\nfunc benchAdded{i}(values []int, factor int) []int {{\n\tout := make([]int, 0, len(values))\n"
                     "\tfor _, v := range values {{\n\t\tout = append(out, v*factor+{i})\n\t}}\n\treturn out\n}}\n"),
    "rust": ((".rs",), "\npub fn bench_added_{i}(values: &[i64], factor: i64) -> Vec<i64> {{\n"
                       "    values.iter().map(|v| v * factor + {i}).collect()\n}}\n"),
}


# --------------------------------------------------------------------------- workers (child processes)


def worker_ours(path: str, home: str, chroma_url: str, files_out: str) -> None:
    t0, c0 = time.perf_counter(), cpu_seconds()
    from repo_assist import assistant
    from repo_assist.indexer import flush_size

    ws = assistant.open_workspace(path, {"home": home, "chroma_url": chroma_url or None})
    stats = assistant.index(ws, full=True)
    wall, cpu, rss = time.perf_counter() - t0, cpu_seconds() - c0, peak_rss_mb()

    manifest = ws.open_manifest()
    try:
        files = [r[0] for r in manifest.db.execute("SELECT path FROM files WHERE status='indexed' ORDER BY path")]
        rids = [r[0] for r in manifest.db.execute("SELECT rid FROM chunks ORDER BY rid")]
        chunks = manifest.chunks_by_rid(rids)
    finally:
        manifest.close()
    texts = [chunks[r].embed_text() for r in rids]
    Path(files_out).write_text(json.dumps(files))
    tok = minilm_tokenizer()
    real, offered = embedded_tokens(tok, texts)
    # the compute behind the tokens: padding, in the indexer's flush groups and in one call
    items = list(zip((len(t) for t in texts), token_counts(tok, texts)))
    flush_at = flush_size(ws.settings.embed_batch_size)
    groups: list[list[tuple[int, int]]] = [[]]
    for i, r in enumerate(rids):
        groups[-1].append(items[i])
        last_of_file = i + 1 == len(rids) or chunks[rids[i + 1]].path != chunks[r].path
        if last_of_file and len(groups[-1]) >= flush_at:
            groups.append([])
    bs = ws.settings.embed_batch_size
    padded = {"indexer_batches": padded_tokens([g for g in groups if g], bs, by_tokens=True),
              "one_call": padded_tokens([items], bs, by_tokens=True),
              "sorted_by_characters": padded_tokens([g for g in groups if g], bs),
              "flushes": len([g for g in groups if g]), "batch_size": bs}

    emb = ws.embedder()  # the very embedder the indexer used, model already loaded
    bulk = sum(len(t.encode()) for t in texts) > ws.settings.light_embed_max * 400  # the indexer's rule
    te = time.perf_counter()
    emb.embed(texts, bulk=bulk)
    embed_alone = time.perf_counter() - te

    from repo_assist.embeddings import SentenceTransformerEmbedder

    torch_before = "torch" in sys.modules  # False when the indexer ran on the numpy path only
    fresh = SentenceTransformerEmbedder("default", batch_size=ws.settings.embed_batch_size)
    tl = time.perf_counter()
    fresh._model()
    model_load = time.perf_counter() - tl
    other = None
    if not bulk:  # the indexer used the numpy path: the torch path on the same texts, for comparison
        tt = time.perf_counter()
        fresh.embed(texts, bulk=True)
        other = round(time.perf_counter() - tt, 3)
    worker_result({
        "stats": assistant.index_stats_dict(stats), "wall_s": round(wall, 3), "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(rss, 1), "chunks": len(texts), "files": len(files), "tokens_embedded": real,
        "tokens_offered": offered, "embed_alone_s": round(embed_alone, 3), "embed_alone_bulk": bulk,
        "model_load_s": round(model_load, 3), "model_load_includes_torch_import": not torch_before,
        "embed_alone_torch_path_s": other, "torch_threads": _torch_threads(), "padded_tokens": padded,
    })


def _torch_threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except Exception:  # noqa: BLE001 - informational only
        return None


def worker_llamaindex(root: str, files_in: str, chroma_dir: str, chroma_url: str) -> None:
    t0, c0 = time.perf_counter(), cpu_seconds()
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from repo_assist.embeddings import packaged_model_dir

    files = [str(Path(root) / p) for p in json.loads(Path(files_in).read_text())]
    tr = time.perf_counter()
    docs = SimpleDirectoryReader(input_files=files).load_data()
    read_s = time.perf_counter() - tr
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        u = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        client = chromadb.HttpClient(host=u.hostname, port=u.port or 8000, ssl=u.scheme == "https", settings=settings)
    else:
        client = chromadb.PersistentClient(path=chroma_dir, settings=settings)
    name = f"li-bench-{os.getpid()}"
    collection = client.get_or_create_collection(name)
    embed = HuggingFaceEmbedding(model_name=str(packaged_model_dir()), device="cpu")
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(), embed], vector_store=ChromaVectorStore(chroma_collection=collection)
    )
    tp = time.perf_counter()
    nodes = pipeline.run(documents=docs)
    run_s = time.perf_counter() - tp
    wall, cpu, rss = time.perf_counter() - t0, cpu_seconds() - c0, peak_rss_mb()
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    tok = minilm_tokenizer()
    real, offered = embedded_tokens(tok, texts)
    items = list(zip((len(t) for t in texts), token_counts(tok, texts)))
    bsz = int(embed.embed_batch_size)  # it calls encode once per embed_batch_size nodes, in node order
    padded = padded_tokens([items[i:i + bsz] for i in range(0, len(items), bsz)], bsz)
    stored = collection.count()
    if chroma_url:
        client.delete_collection(name)
    worker_result({
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1), "documents": len(docs),
        "nodes": len(nodes), "stored": stored, "tokens_embedded": real, "tokens_offered": offered,
        "read_s": round(read_s, 3), "pipeline_run_s": round(run_s, 3), "embed_batch_size": embed.embed_batch_size,
        "padded_tokens": padded,
    })


# --------------------------------------------------------------------------- parent


def import_seconds() -> float:
    """Seconds to import sentence-transformers (and torch) in a fresh interpreter: the bulk path's fixed cost."""
    code = ("import time; t=time.perf_counter(); import sentence_transformers; "
            "print(time.perf_counter()-t)")
    _, out = run_timed([sys.executable, "-c", code], env=clean_env())
    return round(float(out.strip().splitlines()[-1]), 3)


def pick_target(root: Path, files: list[str]) -> tuple[str, str] | None:
    """A median-sized source file of the first language we can append a function to."""
    for lang, (exts, _tmpl) in APPEND.items():
        cands = sorted((p for p in files if p.endswith(exts) and "test" not in p.lower()),
                       key=lambda p: (root / p).stat().st_size) or sorted(p for p in files if p.endswith(exts))
        if cands:
            return cands[len(cands) // 2], lang
    return None


def reindex(root: Path, home: Path, files: list[str], rounds: int, chroma_url: str) -> dict:
    env = clean_env(REPO_ASSIST_HOME=str(home), **({"REPO_ASSIST_CHROMA_URL": chroma_url} if chroma_url else {}))
    target = pick_target(root, files)
    if target is None:
        return {"skipped": "no python/js/ts/go/rust source file to append a function to"}
    rel, lang = target
    out: dict = {"file": rel, "language": lang, "rounds": []}
    for i in range(rounds):
        with (root / rel).open("a", encoding="utf-8") as fh:
            fh.write(APPEND[lang][1].format(i=i))
        git(root, "commit", "-q", "-am", f"bench: add function {i}")
        wall, stdout = run_timed([str(RA), "index", "--json", str(root)], env=env)
        d = json.loads(stdout)
        out["rounds"].append({"wall_s": round(wall, 3), "in_process_s": d["seconds"], "computed": d["computed"],
                              "deleted": d["deleted"], "files_computed": d["files_computed"],
                              "timings": d["timings"]})
    walls = [r["wall_s"] for r in out["rounds"]]
    out["wall_median_s"] = round(statistics.median(walls), 3)
    out["wall_max_s"] = round(max(walls), 3)
    out["startup_s_median"] = round(statistics.median(r["wall_s"] - r["in_process_s"] for r in out["rounds"]), 3)
    name = f"bench_added_{rounds - 1}" if lang in ("python", "rust") else f"benchAdded{rounds - 1}"
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    def_line = next(n for n in range(len(lines), 0, -1) if name in lines[n - 1])
    searches = []
    for _ in range(3):
        wall, stdout = run_timed([str(RA), "search", name, "--repo", str(root), "--json"], env=env)
        d = json.loads(stdout)
        top = d["hits"][0] if d["hits"] else None
        hit = bool(top and top["path"] == rel and top["start_line"] <= def_line <= top["end_line"])
        searches.append({"wall_s": round(wall, 3), "in_process_ms": d["ms"],
                         "top": f"{top['path']}:{top['start_line']}-{top['end_line']} {top['symbol']}" if top else None,
                         "found_first": hit})
    out["search"] = {"query": name, "runs": searches,
                     "wall_median_s": round(statistics.median(s["wall_s"] for s in searches), 3),
                     "found_first": all(s["found_first"] for s in searches)}
    return out


def run(path: Path, *, skip_llamaindex: bool, chroma_url: str, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="index-bench-") as tmp:
        base = Path(tmp)
        root = clone(path, base / "repo")
        home = base / "home"
        env = clean_env(**({"REPO_ASSIST_CHROMA_URL": chroma_url} if chroma_url else {}))
        log("import time of sentence-transformers …")
        imp = import_seconds()
        log("ours: full index in a child process …")
        files_json = base / "files.json"
        ours = run_worker(SCRIPT, ["--worker", "ours", str(root), "--home", str(home), "--files", str(files_json),
                                   "--chroma-url", chroma_url], env=env)
        files = json.loads(files_json.read_text())
        result: dict = {"repo": str(path), "head": git(root, "rev-parse", "HEAD").strip(), "machine_cpus": os.cpu_count(),
                        "load_avg_start": os.getloadavg()[0], "import_sentence_transformers_s": imp, "ours": ours}
        o = ours
        o["chunks_per_s"] = round(o["chunks"] / o["wall_s"], 2)
        o["wall_per_token_us"] = round(o["wall_s"] / max(1, o["tokens_embedded"]) * 1e6, 2)
        o["total_over_embed_alone"] = ratio(o["wall_s"], o["embed_alone_s"])
        pt = o["padded_tokens"]
        bulk = o["embed_alone_bulk"]  # padding figures model the torch path; the numpy path skips padded columns
        o["embed_phase_per_padded_token_us"] = (
            round(o["stats"]["timings"]["embed"] / max(1, pt["indexer_batches"]) * 1e6, 2) if bulk else None)
        o["embed_alone_per_padded_token_us"] = round(o["embed_alone_s"] / max(1, pt["one_call"]) * 1e6, 2) if bulk else None
        if not skip_llamaindex:
            log("llama-index: the same files through IngestionPipeline in a child process …")
            li = run_worker(SCRIPT, ["--worker", "llamaindex", str(root), "--files", str(files_json),
                                     "--chroma-dir", str(base / "li-chroma"), "--chroma-url", chroma_url], env=env)
            li["chunks_per_s"] = round(li["nodes"] / li["wall_s"], 2)
            li["wall_per_token_us"] = round(li["wall_s"] / max(1, li["tokens_embedded"]) * 1e6, 2)
            li["pipeline_per_padded_token_us"] = round(li["pipeline_run_s"] / max(1, li["padded_tokens"]) * 1e6, 2)
            result["llamaindex"] = li
            result["ratios"] = {
                "embed_phase_per_padded_token_ours_over_llamaindex_pipeline": ratio(
                    o["embed_phase_per_padded_token_us"], li["pipeline_per_padded_token_us"]),
                "per_embedded_token_ours_over_llamaindex": ratio(o["wall_per_token_us"], li["wall_per_token_us"]),
                "total_wall_ours_over_llamaindex": ratio(o["wall_s"], li["wall_s"]),
                "cpu_ours_over_llamaindex": ratio(o["cpu_s"], li["cpu_s"]),
                "tokens_embedded_ours_over_llamaindex": ratio(o["tokens_embedded"], li["tokens_embedded"]),
            }
        log(f"re-index: {rounds} one-function commits, each indexed by `repo-assist index` …")
        result["reindex"] = reindex(root, home, files, rounds, chroma_url)
        result["load_avg_end"] = os.getloadavg()[0]
        result["goals"] = goals(result)
        return result


def goals(r: dict) -> dict:
    g = {"total_over_embed_alone<=1.2": r["ours"]["total_over_embed_alone"]}
    if "ratios" in r:
        g["per_token_ours_over_llamaindex<=0.5"] = r["ratios"]["per_embedded_token_ours_over_llamaindex"]
    if "wall_median_s" in r["reindex"]:
        g["reindex_wall_s<=3"] = r["reindex"]["wall_median_s"]
    return g


def text(r: dict) -> str:
    o = r["ours"]
    t = o["stats"]["timings"]
    lines = [
        f"repository   {r['repo']} @ {r['head'][:12]}  ({r['machine_cpus']} CPUs, load avg {r['load_avg_start']:.1f} → {r['load_avg_end']:.1f})",
        "",
        "ours (repo-assist index --full, own process)",
        f"  files {o['files']}, chunks {o['chunks']}, {o['chunks_per_s']} chunks/s, wall {o['wall_s']:.1f}s "
        f"(process {o['process_wall_s']:.1f}s), CPU {o['cpu_s']:.1f}s, peak RSS {o['peak_rss_mb']:.0f} MB",
        "  split        " + ", ".join(f"{k} {v:.2f}s" for k, v in t.items())
        + f"  (rest {o['wall_s'] - sum(t.values()):.2f}s)",
        f"  embed alone  {o['embed_alone_s']:.2f}s (same texts, same embedder, warm)  → total/embed-alone "
        f"{fmt(o['total_over_embed_alone'])}  (goal <= 1.2)",
        f"  fixed costs  import sentence-transformers+torch {r['import_sentence_transformers_s']:.2f}s (fresh process), "
        f"model load {o['model_load_s']:.2f}s{' (incl. torch import)' if o['model_load_includes_torch_import'] else ''}; "
        f"torch threads {o['torch_threads']}",
        f"  embed path   {'torch (bulk)' if o['embed_alone_bulk'] else 'numpy (light)'}"
        + (f"; the torch path on the same texts, warm: {o['embed_alone_torch_path_s']:.2f}s"
           if o['embed_alone_torch_path_s'] is not None else ""),
        f"  padding      {o['padded_tokens']['indexer_batches']} token positions computed in the indexer's "
        f"{o['padded_tokens']['flushes']} flushes vs {o['padded_tokens']['one_call']} in one call and "
        f"{o['padded_tokens']['sorted_by_characters']} if batches were sorted by characters "
        f"(batch {o['padded_tokens']['batch_size']}, torch path); µs per computed position: embed phase "
        f"{fmt(o['embed_phase_per_padded_token_us'], 1)}, embed alone {fmt(o['embed_alone_per_padded_token_us'], 1)}",
        f"  tokens       {o['tokens_embedded']} embedded (of {o['tokens_offered']} offered, cut at 256), "
        f"{o['wall_per_token_us']:.1f} µs wall per embedded token",
    ]
    if "llamaindex" in r:
        li, ra = r["llamaindex"], r["ratios"]
        lines += [
            "",
            "llama-index IngestionPipeline(SentenceSplitter(), HuggingFaceEmbedding) → ChromaVectorStore (own process)",
            f"  documents {li['documents']}, nodes {li['nodes']}, {li['chunks_per_s']} nodes/s, wall {li['wall_s']:.1f}s "
            f"(read {li['read_s']:.1f}s, pipeline {li['pipeline_run_s']:.1f}s), CPU {li['cpu_s']:.1f}s, "
            f"peak RSS {li['peak_rss_mb']:.0f} MB",
            f"  padding      {li['padded_tokens']} token positions computed (batch {li['embed_batch_size']}); "
            f"µs per computed position: pipeline {li['pipeline_per_padded_token_us']:.1f}",
            f"  tokens       {li['tokens_embedded']} embedded (of {li['tokens_offered']} offered: the rest is cut at 256 "
            f"and never seen), {li['wall_per_token_us']:.1f} µs wall per embedded token",
            "",
            f"ratios ours/llama-index: per embedded token {fmt(ra['per_embedded_token_ours_over_llamaindex'])} (goal <= 0.5), "
            f"total wall {fmt(ra['total_wall_ours_over_llamaindex'])}, CPU {fmt(ra['cpu_ours_over_llamaindex'])}, "
            f"tokens embedded {fmt(ra['tokens_embedded_ours_over_llamaindex'])}, embed runtime per computed "
            f"position (our embed phase / its pipeline) {fmt(ra['embed_phase_per_padded_token_ours_over_llamaindex_pipeline'])}",
        ]
    re_ = r["reindex"]
    lines.append("")
    if "skipped" in re_:
        lines.append(f"re-index     skipped: {re_['skipped']}")
    else:
        lines.append(f"re-index after a one-function commit to {re_['file']} ({re_['language']}), `repo-assist index` as a process:")
        for i, x in enumerate(re_["rounds"]):
            tt = ", ".join(f"{k} {v:.2f}" for k, v in x["timings"].items())
            lines.append(f"  round {i}: {x['wall_s']:.2f}s wall ({x['in_process_s']:.2f}s in process: {tt}); "
                         f"{x['computed']} chunks embedded, {x['deleted']} deleted, {x['files_computed']} files")
        lines.append(f"  median {re_['wall_median_s']:.2f}s, max {re_['wall_max_s']:.2f}s (goal <= 3 s); "
                     f"process start-up + imports ≈ {re_['startup_s_median']:.2f}s")
        s = re_["search"]
        runs = ", ".join(f"{x['wall_s']:.2f}s/{x['in_process_ms']:.0f}ms in process" for x in s["runs"])
        lines.append(f"  cold `repo-assist search {s['query']}`: median {s['wall_median_s']:.2f}s ({runs}); "
                     f"new function ranked first: {s['found_first']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip-llamaindex", action="store_true")
    ap.add_argument("--chroma-url", default="")
    ap.add_argument("--rounds", type=int, default=3, help="one-function commits to re-index (default 3)")
    ap.add_argument("--worker", choices=("ours", "llamaindex"), help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    ap.add_argument("--chroma-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker == "ours":
        return worker_ours(str(a.path), a.home, a.chroma_url, a.files)
    if a.worker == "llamaindex":
        return worker_llamaindex(str(a.path), a.files, a.chroma_dir, a.chroma_url)
    result = run(a.path.resolve(), skip_llamaindex=a.skip_llamaindex, chroma_url=a.chroma_url, rounds=max(1, a.rounds))
    emit(result, a.json, text)


if __name__ == "__main__":
    main()
