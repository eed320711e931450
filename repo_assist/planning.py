"""From a question to a prompt that fits: window, budget, retrieval, packing.

The window is computed, not guessed: n_ctx = min(trained length, what the KV
cache can hold in the memory available, the user's cap). The fixed parts
(system prompt, history, question, chat template) are counted with the
model's own tokenizer when the backend has one, and retrieval fills the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import prompts
from .budget import Budget, available_memory_bytes, fit_n_ctx, plan_budget
from .context import Packer, render
from .errors import UsageError
from .geometry import kv_bytes_per_token
from .records import ContextPack, Hit, ModelInfo
from .retrieval import Retriever

RESERVE_BYTES = 512 << 20  # compute buffers and the runtime itself, beside weights and KV


@dataclass(frozen=True, slots=True)
class Window:
    n_ctx: int
    kv_bytes_per_token: float
    source: str  # how n_ctx was decided


@dataclass(frozen=True, slots=True)
class PlannedPrompt:
    messages: list[dict]
    pack: ContextPack
    hits: tuple[Hit, ...]
    window: Window
    budget: Budget
    prompt_tokens: int
    exact_tokens: bool
    retrieval_ms: float
    notes: tuple[str, ...] = ()

    def to_dict(self, model: str) -> dict:
        return {
            "model": model,
            "n_ctx": self.window.n_ctx,
            "n_ctx_source": self.window.source,
            "kv_bytes_per_token": self.window.kv_bytes_per_token,
            "budget": self.budget.context_tokens,
            "used": self.pack.tokens,
            "prompt_tokens": self.prompt_tokens,
            "exact_tokens": self.exact_tokens,
            "chunks": [
                {"path": s.path, "start_line": s.start_line, "end_line": s.end_line, "tokens": s.tokens,
                 "symbol": s.symbol, "via": list(s.via), "score": s.score}
                for s in self.pack.chunks
            ],
            "dropped": [
                {"path": s.path, "start_line": s.start_line, "end_line": s.end_line, "tokens": s.tokens,
                 "symbol": s.symbol, "via": list(s.via), "score": s.score}
                for s in self.pack.dropped
            ],
            "notes": list(self.notes),
        }


def decide_window(backend, *, user_cap: int, local_memory: bool) -> Window:
    """n_ctx for this backend: trained length, KV memory, server setting, user cap."""
    info: ModelInfo | None = backend.model_info()
    cap = user_cap if user_cap > 0 else None
    server_ctx = getattr(backend, "server_n_ctx", None)
    if info is None:
        n = min(x for x in (server_ctx, cap, 4096) if x)
        return Window(n, 0.0, "server setting" if server_ctx else "default (model geometry unknown)")
    kvb = float(kv_bytes_per_token(info))
    if local_memory:
        n = fit_n_ctx(info, memory_bytes=available_memory_bytes(), weights_bytes=info.file_size,
                      reserve_bytes=RESERVE_BYTES, user_cap=cap)
        source = "min(trained, KV memory, cap)"
    else:
        n = min(x for x in (info.n_ctx_trained, cap) if x)
        source = "min(trained, cap)"
    if server_ctx and server_ctx < n:
        n, source = server_ctx, "server setting"
    return Window(n, kvb, source)


def build_messages(question: str, context_text: str, history: list[dict]) -> list[dict]:
    user = (prompts.render("ask_user", context=context_text, question=question) if context_text
            else prompts.render("ask_user_nocontext", question=question))
    return [{"role": "system", "content": prompts.render("ask_system")}, *history, {"role": "user", "content": user}]


def trim_history(history: list[dict], backend, limit: int) -> list[dict]:
    """Drop the oldest turns (question and answer together) until the history fits ``limit`` tokens."""
    kept = list(history)
    while kept and sum(backend.count_tokens(m["content"]) + 8 for m in kept) > limit:
        kept = kept[2:] if len(kept) >= 2 else []
    return kept


def plan_prompt(
    question: str,
    *,
    backend,
    retriever: Retriever,
    lines_of,
    file_chunks,
    window: Window,
    answer_tokens: int,
    history: list[dict] | None = None,
    budget_cap: int | None = None,
    latency_cap_s: float = 0.0,
    prompt_speed: float | None = None,
    depth: int = 40,
    build=None,
    extra_hits: tuple[Hit, ...] = (),
) -> PlannedPrompt:
    """Plan one prompt; ``build(context_text)`` makes the messages (default: an ask),
    ``extra_hits`` go first (the refactor's definition and reference sites)."""
    if not question.strip():
        raise UsageError("the question is empty", "ask something about the repository")
    notes: list[str] = []
    history = trim_history(history or [], backend, window.n_ctx // 4)
    if build is None:
        def build(context_text: str) -> list[dict]:
            return build_messages(question, context_text, history)
    fixed = backend.prompt_tokens(build(""))
    budget = plan_budget(window.n_ctx, window.kv_bytes_per_token, system_tokens=fixed, question_tokens=0,
                         answer_tokens=answer_tokens)
    room = budget.context_tokens
    if budget_cap is not None and budget_cap < room:
        room = max(0, budget_cap)
        notes.append(f"context limited to {room} tokens by --budget")
    if latency_cap_s > 0 and prompt_speed:
        readable = int(prompt_speed * latency_cap_s) - fixed
        if readable < room:
            room = max(0, readable)
            notes.append(f"context limited to {room} tokens: the model reads ~{prompt_speed:.0f} tokens/s "
                         f"and the latency cap is {latency_cap_s:g}s")
    t0 = time.perf_counter()
    found = retriever.search(question, depth)
    seen = {h.chunk.id for h in extra_hits}
    hits = list(extra_hits) + [h for h in found if h.chunk.id not in seen]
    retrieval_ms = (time.perf_counter() - t0) * 1000
    packer = Packer(backend.count_tokens, lines_of, file_chunks)
    pack = packer.pack(hits, room)
    while True:
        messages = build(render(pack))
        total = backend.prompt_tokens(messages)
        if total + answer_tokens <= window.n_ctx or not pack.chunks:
            break
        # the template or tokenizer disagreed with the plan: drop the weakest span and recount
        worst = min(range(len(pack.chunks)), key=lambda i: pack.chunks[i].score)
        kept = pack.chunks[:worst] + pack.chunks[worst + 1:]
        pack = ContextPack(kept, pack.tokens - pack.chunks[worst].tokens, pack.budget, pack.dropped + (pack.chunks[worst],))
    budget = Budget(budget.n_ctx, budget.kv_bytes_per_token, budget.system_tokens, budget.question_tokens,
                    budget.history_tokens, budget.answer_tokens, budget.margin, room)
    return PlannedPrompt(messages, pack, tuple(hits), window, budget, total, bool(backend.exact_tokens), retrieval_ms,
                         tuple(notes))
