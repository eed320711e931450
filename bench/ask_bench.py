"""Ask bench: time to first token and tokens/s of the embedded model at 1k, 2k and 4k prompt tokens.

    python bench/ask_bench.py [--json] [--rounds N] [--sizes 1024,2048,4096] [--answer 64]

The packaged Gemma 3 270M (``llamacpp/default``) runs in process through the
real backend (``LlamaCppBackend.stream``), n_ctx 8192, 64 answer tokens.
Prompts are built to the exact token count with the backend's own
tokenizer and chat template (``backend.prompt_tokens``), from real source
text, each opened by a fresh nonce so llama.cpp's prefix reuse cannot carry
one prompt's KV cache into the next.

The named alternative, in the same run: ``n_threads=1`` (a fixed count: all
cores but one was the default on two cores before) against the
``make_backend`` default (as many threads as cores are idle, measured before
each answer). Each variant runs in its own process (its own RSS), in ABBA
order over the rounds so a drifting machine load hits both alike. Printed
per prompt size: the threads used, time to first token (prompt processing),
prompt tokens/s, generation tokens/s, and the 1-thread / default ratios,
with which one is faster here. ``--busy`` keeps one core busy with a
spinning process through every run (what the default must not lose to).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, clean_env, emit, fmt, log, peak_rss_mb, ratio, run_worker, worker_result  # noqa: E402

SCRIPT = Path(__file__).resolve()
N_CTX = 8192
ASK = "\n\nDescribe the code above in detail as a long bulleted list, one bullet per function."


def filler_text() -> str:
    """Real code to fill prompts: this project's own sources, in a fixed order."""
    parts = []
    for p in sorted((ROOT / "repo_assist").rglob("*.py")):
        parts.append(f"# {p.relative_to(ROOT)}\n{p.read_text(encoding='utf-8')}")
    return "\n".join(parts)


def exact_messages(backend, target: int, filler: str, offset: int) -> list[dict]:
    """Messages whose templated prompt is exactly ``target`` tokens, by binary search on the filler length."""
    nonce = uuid.uuid4().hex[:12]
    offset %= len(filler)
    body = filler[offset:] + filler[:offset]

    def msgs(n_chars: int, pad: str = "") -> list[dict]:
        return [{"role": "system", "content": f"[{nonce}] You are a careful code assistant."},
                {"role": "user", "content": body[:n_chars] + pad + ASK}]

    lo, hi = 0, len(body)
    if backend.prompt_tokens(msgs(hi)) < target:
        raise SystemExit(f"not enough filler text for {target} tokens")
    while lo < hi:  # the smallest prefix reaching the target
        mid = (lo + hi) // 2
        if backend.prompt_tokens(msgs(mid)) >= target:
            hi = mid
        else:
            lo = mid + 1
    for cut in range(lo, max(0, lo - 64), -1):  # a token merge may skip the target: step back, pad with spaces
        for pad in ("", " ", "  ", "\n", " x", "\nx"):
            m = msgs(cut, pad)
            if backend.prompt_tokens(m) == target:
                return m
    raise SystemExit(f"could not build a prompt of exactly {target} tokens")


# --------------------------------------------------------------------------- worker


def worker(variant: str, sizes: list[int], answer: int, offset: int) -> None:
    from repo_assist.backends.factory import make_backend
    from repo_assist.backends.llamacpp import LlamaCppBackend

    if variant == "default":
        backend = make_backend("llamacpp/default", n_ctx_hint=N_CTX)
    else:
        backend = LlamaCppBackend("default", n_ctx_hint=N_CTX, n_threads=int(variant.split("=")[1]))
    filler = filler_text()
    prompts = {n: exact_messages(backend, n, filler, offset + i * 7919) for i, n in enumerate(sizes)}
    tl = time.perf_counter()
    for _ in backend.stream([{"role": "user", "content": "Say hi."}], n_ctx=N_CTX, max_tokens=4):
        pass  # loads the weights and allocates the 8192-cell KV cache: not part of any figure below
    load_s = time.perf_counter() - tl
    out: dict = {"variant": variant, "n_ctx": backend.n_ctx_loaded,
                 "load_s": round(load_s, 3), "sizes": {}}
    for n, messages in prompts.items():
        assert backend.prompt_tokens(messages) == n
        t0 = time.perf_counter()
        first = None
        pieces = 0
        for _piece in backend.stream(messages, n_ctx=N_CTX, max_tokens=answer):
            if first is None:
                first = time.perf_counter() - t0
            pieces += 1
        total = time.perf_counter() - t0
        usage = backend.last_usage
        gen = usage.completion_tokens or 0
        gen_s = total - (first or total)
        out["sizes"][str(n)] = {
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": gen, "finish": backend.last_finish_reason,
            "first_token_s": round(first or total, 3), "backend_first_token_s": usage.first_token_s,
            "total_s": round(total, 3),
            "prompt_tokens_per_s": round(n / (first or total), 1),
            "gen_tokens_per_s": round((gen - 1) / gen_s, 2) if gen > 1 and gen_s > 0 else None,
            "n_threads": backend.n_threads,
        }
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    backend.close()
    worker_result(out)


# --------------------------------------------------------------------------- parent


def run(sizes: list[int], answer: int, rounds: int, busy: bool) -> dict:
    from repo_assist.backends.llamacpp import packaged_model_path

    log("assembling the packaged GGUF (once) …")
    model = packaged_model_path()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        return _runs(model, sizes, answer, rounds) | {"busy": busy}
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def _runs(model: Path, sizes: list[int], answer: int, rounds: int) -> dict:
    base = "default"
    alt = "threads=1"
    order: list[str] = []
    for r in range(rounds):
        order += [base, alt] if r % 2 == 0 else [alt, base]
    runs: dict[str, list[dict]] = {base: [], alt: []}
    for i, variant in enumerate(order):
        log(f"run {i + 1}/{len(order)}: {variant} …")
        runs[variant].append(run_worker(SCRIPT, ["--worker", variant, "--sizes", ",".join(map(str, sizes)),
                                                 "--answer", str(answer), "--offset", str(i * 104729)],
                                        env=clean_env()))
    agg: dict = {}
    for variant, rs in runs.items():
        per = {}
        for n in map(str, sizes):
            xs = [r["sizes"][n] for r in rs]
            gens = [x["gen_tokens_per_s"] for x in xs if x["gen_tokens_per_s"]]
            per[n] = {
                "first_token_s": round(statistics.median(x["first_token_s"] for x in xs), 3),
                "prompt_tokens_per_s": round(statistics.median(x["prompt_tokens_per_s"] for x in xs), 1),
                "gen_tokens_per_s": round(statistics.median(gens), 2) if gens else None,
                "completion_tokens": [x["completion_tokens"] for x in xs],
                "prompt_tokens": [x["prompt_tokens"] for x in xs],
            }
        threads = sorted({x["n_threads"] for r in rs for x in r["sizes"].values()})
        agg[variant] = {"n_threads": "/".join(map(str, threads)), "n_ctx": rs[0]["n_ctx"],
                        "load_s": round(statistics.median(r["load_s"] for r in rs), 3),
                        "peak_rss_mb": max(r["peak_rss_mb"] for r in rs), "sizes": per}
    ratios = {}
    for n in map(str, sizes):
        b, a = agg[base]["sizes"][n], agg[alt]["sizes"][n]
        ratios[n] = {"first_token_1thread_over_default": ratio(a["first_token_s"], b["first_token_s"]),
                     "gen_tps_1thread_over_default": ratio(a["gen_tokens_per_s"], b["gen_tokens_per_s"])}
    ttft_b = sum(agg[base]["sizes"][n]["first_token_s"] for n in map(str, sizes))
    ttft_a = sum(agg[alt]["sizes"][n]["first_token_s"] for n in map(str, sizes))
    faster_prompt = "n_threads=1" if ttft_a < ttft_b else f"n_threads={agg[base]['n_threads']} (default)"
    gb = [agg[base]["sizes"][n]["gen_tokens_per_s"] or 0 for n in map(str, sizes)]
    ga = [agg[alt]["sizes"][n]["gen_tokens_per_s"] or 0 for n in map(str, sizes)]
    faster_gen = "n_threads=1" if sum(ga) > sum(gb) else f"n_threads={agg[base]['n_threads']} (default)"
    return {"model": str(model), "model_mb": round(model.stat().st_size / 2**20, 1), "n_ctx": N_CTX,
            "answer_tokens": answer, "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0], "order": order,
            "variants": agg, "ratios": ratios, "faster_prompt_processing": faster_prompt,
            "faster_generation": faster_gen, "runs": runs}


def text(r: dict) -> str:
    lines = [f"model {Path(r['model']).name} ({r['model_mb']} MB), n_ctx {r['n_ctx']}, {r['answer_tokens']} answer tokens, "
             f"{r['cpus']} CPUs (load avg {r['load_avg']:.1f}{'; one core held by a spinning process' if r['busy'] else ''}); runs in order {', '.join(r['order'])}", ""]
    head = f"{'variant':24} {'prompt':>6}  {'first token':>11}  {'prompt tok/s':>12}  {'gen tok/s':>9}  completion"
    lines.append(head)
    for name, v in r["variants"].items():
        label = f"n_threads={v['n_threads']}" + (" (make_backend)" if name == "default" else "")
        for n, x in v["sizes"].items():
            lines.append(f"{label:24} {n:>6}  {x['first_token_s']:>10.2f}s  {x['prompt_tokens_per_s']:>12.0f}  "
                         f"{fmt(x['gen_tokens_per_s'], 1):>9}  {x['completion_tokens']}")
        lines.append(f"{'':24} load {v['load_s']:.2f}s (weights + {v['n_ctx']}-cell KV), peak RSS {v['peak_rss_mb']:.0f} MB")
    lines.append("")
    for n, x in r["ratios"].items():
        lines.append(f"{n:>5} tokens: n_threads=1 / default: first token {fmt(x['first_token_1thread_over_default'], 2)}, "
                     f"gen tok/s {fmt(x['gen_tps_1thread_over_default'], 2)}")
    lines.append(f"faster here: prompt processing {r['faster_prompt_processing']}; generation {r['faster_generation']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=2, help="ABBA rounds per variant (default 2)")
    ap.add_argument("--sizes", default="1024,2048,4096")
    ap.add_argument("--answer", type=int, default=64)
    ap.add_argument("--busy", action="store_true", help="keep one core busy through every run")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    if a.worker:
        return worker(a.worker, sizes, a.answer, a.offset)
    emit(run(sizes, a.answer, max(1, a.rounds), a.busy), a.json, text)


if __name__ == "__main__":
    main()
