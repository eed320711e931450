"""Helpers shared by the index, retrieval and ask benches (never imported by tests).

Each bench runs heavy pipelines in child processes of its own script
(``--worker NAME``) so every pipeline's peak RSS and CPU time are its own,
and reads the child's figures back as one JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RA = Path(sys.executable).with_name("repo-assist")
MODEL_WINDOW = 256  # all-MiniLM-L6-v2's max_seq_length, special tokens included
RESULT_TAG = "BENCH-RESULT "

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- numbers ------------------------------------------------------------------


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); no interpolation, so p95 of 50 samples is a real sample."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    idx = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[idx]


def summary_ms(xs_s: list[float]) -> dict:
    ms = [x * 1000 for x in xs_s]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else None, "max_ms": round(max(ms), 2) if ms else None}


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


# -- processes ----------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for children: no GIT_* leaking in, hub and telemetry off, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                "ANONYMIZED_TELEMETRY": "False", "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false",
                "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"})
    env.update(extra)
    return env


def run_timed(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, str]:
    """(wall seconds including process start, stdout); exits with the child's stderr if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])}… failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, proc.stdout


def run_worker(script: Path, args: list[str], *, env: dict[str, str] | None = None) -> dict:
    """Run ``script --worker …`` in a fresh interpreter and return its result dict (plus process wall)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), *args], env=env or clean_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"worker {' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    out = json.loads(lines[-1][len(RESULT_TAG):])
    out["process_wall_s"] = round(wall, 3)
    return out


def worker_result(data: dict) -> None:
    print(RESULT_TAG + json.dumps(data), flush=True)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- git ----------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=clean_env())
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {root}: {proc.stderr}")
    return proc.stdout


def clone(src: Path, dst: Path) -> Path:
    """A throw-away work tree of ``src``'s HEAD (hooks not copied: nothing re-indexes behind our back)."""
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=src, capture_output=True, text=True)
    source = top.stdout.strip() if top.returncode == 0 else str(src)  # a bare mirror clones too
    proc = subprocess.run(["git", "clone", "-q", "--no-hardlinks", source, str(dst)], capture_output=True, text=True,
                          env=clean_env())
    if proc.returncode != 0:
        raise SystemExit(f"cannot clone {src}: {proc.stderr}")
    return dst


# -- tokens -------------------------------------------------------------------


def minilm_tokenizer():
    """The packaged MiniLM's fast tokenizer, no truncation: counts what the model would be given."""
    from tokenizers import Tokenizer

    from repo_assist.embeddings import packaged_model_dir

    tok = Tokenizer.from_file(str(packaged_model_dir() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def token_counts(tok, texts: list[str]) -> list[int]:
    """Tokens of each text with [CLS]/[SEP], uncut."""
    out: list[int] = []
    for i in range(0, len(texts), 512):
        out.extend(len(enc.ids) for enc in tok.encode_batch(texts[i:i + 512], add_special_tokens=True))
    return out


def padded_tokens(groups: list[list[tuple[int, int]]], batch_size: int, *, sort: bool = True,
                  window: int = MODEL_WINDOW, by_tokens: bool = False) -> int:
    """Token positions a sentence-transformers ``encode`` computes, padding included.

    Each group is one ``encode`` call of (char length, token count) items; ``encode``
    sorts a call's texts longest-first by characters, cuts batches of
    ``batch_size`` and pads each batch to its longest text (at most ``window``).
    ``by_tokens``: the batches are cut after sorting by token count instead (what
    repo-assist's embedder does before it calls ``encode`` once per batch).
    """
    total = 0
    for items in groups:
        order = sorted(items, key=lambda x: -x[1] if by_tokens else -x[0]) if sort else list(items)
        for i in range(0, len(order), batch_size):
            batch = order[i:i + batch_size]
            total += len(batch) * max(min(t, window) for _, t in batch)
    return total


def embedded_tokens(tok, texts: list[str], window: int = MODEL_WINDOW) -> tuple[int, int]:
    """(tokens the model really reads, tokens offered): each text with [CLS]/[SEP], cut at ``window``."""
    real = offered = 0
    for i in range(0, len(texts), 512):
        for enc in tok.encode_batch(texts[i:i + 512], add_special_tokens=True):
            offered += len(enc.ids)
            real += min(len(enc.ids), window)
    return real, offered


# -- output -------------------------------------------------------------------


def fmt(v, nd: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def emit(data: dict, as_json: bool, text) -> None:
    if as_json:
        print(json.dumps(data, indent=1))
    else:
        print(text(data))
