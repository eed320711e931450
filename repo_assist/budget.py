"""The token budget: how large a window fits in memory, and what retrieval may fill.

Two steps, both plain arithmetic over ``geometry``:

1. ``fit_n_ctx`` picks the context window to send to the model (Ollama's
   ``num_ctx``): the largest multiple of 256 whose KV cache (SWA-aware) fits in
   the memory left after the weights and a compute reserve, capped by the
   trained length and the user's cap. Peers use constants (Cody 7000, LlamaIndex
   3900) or the server default, which silently truncates (ollama#17889).
2. ``plan_budget`` splits that window: system prompt, question, history and the
   answer's reserve are fixed; a margin absorbs tokenizer disagreement; the rest
   is what retrieved context may use. A question that does not fit is an error
   now, not a truncated prompt later.

The only I/O is ``available_memory_bytes``, a probe the caller may use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import ConfigError, ModelError, UsageError
from .geometry import KV_PAD, kv_cache_bytes
from .plurals import counted
from .records import ModelInfo

#: the smallest window worth running a retrieval assistant in
MIN_N_CTX = 512
_MIB = 1 << 20


def available_memory_bytes() -> int:
    """Memory the OS can give without swapping (``psutil.virtual_memory().available``)."""
    import psutil  # imported here: hooks import this package and must start fast

    return int(psutil.virtual_memory().available)


def fit_n_ctx(
    info: ModelInfo,
    *,
    memory_bytes: int,
    weights_bytes: int,
    reserve_bytes: int,
    type_k: str = "f16",
    type_v: str = "f16",
    n_parallel: int = 1,
    user_cap: int | None = None,
    n_ubatch: int = 512,
) -> int:
    """The largest window (a multiple of 256) whose KV cache fits the free memory.

    Capped by ``info.n_ctx_trained`` and ``user_cap``. A cap below 256 (a toy
    model) is returned as is when it fits. Raises ``ModelError`` when not even
    ``MIN_N_CTX`` tokens (or the cap, if smaller) fit.
    """
    if user_cap is not None and user_cap <= 0:
        raise ConfigError(f"context cap must be positive, got {user_cap}",
                          hint="set num_ctx to a positive number of tokens or leave it unset")
    if n_parallel <= 0:
        raise ConfigError(f"parallel slots must be positive, got {n_parallel}",
                          hint="use 1 for a single user")
    limit = info.n_ctx_trained if info.n_ctx_trained > 0 else 1 << 30
    if user_cap is not None:
        limit = min(limit, user_cap)
    free = memory_bytes - weights_bytes - reserve_bytes
    floor = min(MIN_N_CTX, limit if limit < KV_PAD else limit // KV_PAD * KV_PAD)

    def fits(n: int) -> bool:
        return free > 0 and kv_cache_bytes(info, n, type_k, type_v, n_parallel, n_ubatch) <= free

    if limit < KV_PAD:
        if fits(limit):
            return limit
    else:
        lo, hi = 0, limit // KV_PAD  # in units of KV_PAD; fits(lo*pad) is the invariant (0 trivially)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(mid * KV_PAD):
                lo = mid
            else:
                hi = mid - 1
        if lo * KV_PAD >= floor:
            return lo * KV_PAD

    need = kv_cache_bytes(info, floor, type_k, type_v, n_parallel, n_ubatch)
    raise ModelError(
        "not enough memory for the KV cache",
        hint=(f"{counted(floor, 'token')} need {need / _MIB:.1f} MiB of KV cache ({type_k}/{type_v}, "
              f"{counted(n_parallel, 'slot')}); {memory_bytes / _MIB:.1f} MiB memory - "
              f"{weights_bytes / _MIB:.1f} MiB weights - {reserve_bytes / _MIB:.1f} MiB reserve "
              f"leaves {free / _MIB:.1f} MiB; use a smaller model, a q8_0/q4_0 KV cache "
              f"or fewer parallel slots"),
    )


@dataclass(frozen=True, slots=True)
class Budget:
    """How one prompt's window is split; ``context_tokens`` is what retrieval may fill."""

    n_ctx: int
    kv_bytes_per_token: float
    system_tokens: int
    question_tokens: int
    history_tokens: int
    answer_tokens: int
    margin: int
    context_tokens: int

    @property
    def fixed_tokens(self) -> int:
        """Everything but the retrieved context."""
        return (self.system_tokens + self.question_tokens + self.history_tokens
                + self.answer_tokens + self.margin)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_margin(n_ctx: int) -> int:
    """Slack for tokenizer disagreement and chat-template tokens: max(32, 2% of the window)."""
    return max(32, n_ctx * 2 // 100)


def plan_budget(
    n_ctx: int,
    kv_bytes_per_token: float,
    *,
    system_tokens: int,
    question_tokens: int,
    history_tokens: int = 0,
    answer_tokens: int = 512,
    margin: int | None = None,
) -> Budget:
    """Split ``n_ctx`` into fixed parts and the context retrieval may fill.

    Raises ``UsageError`` (title "context overflow") when the fixed parts alone
    exceed the window: the question or history is too long for the model.
    """
    if n_ctx <= 0:
        raise ConfigError(f"context window must be positive, got {n_ctx}",
                          hint="set num_ctx to a positive number of tokens")
    parts = {"system": system_tokens, "question": question_tokens,
             "history": history_tokens, "answer": answer_tokens}
    for name, value in parts.items():
        if value < 0:
            raise UsageError(f"{name} token count is negative ({value})",
                             hint="count tokens with the model's tokenizer")
    if margin is None:
        margin = default_margin(n_ctx)
    elif margin < 0:
        raise UsageError(f"margin is negative ({margin})", hint="use 0 or more tokens")
    fixed = sum(parts.values()) + margin
    if fixed > n_ctx:
        # (the remedy for the part that takes most: an answer reserve past the window is a setting, not the question)
        remedy = ("lower the answer_tokens setting or raise the context window" if answer_tokens * 2 > n_ctx else
                  "shorten the question, clear the history or raise the context window")
        raise UsageError(
            f"the question and history take {fixed} tokens with the answer reserve; "
            f"the model's window is {n_ctx}",
            hint=(f"system {system_tokens} + question {question_tokens} + history "
                  f"{history_tokens} + answer {answer_tokens} + margin {margin}; {remedy}"),
            title="context overflow",
        )
    return Budget(
        n_ctx=n_ctx, kv_bytes_per_token=float(kv_bytes_per_token),
        system_tokens=system_tokens, question_tokens=question_tokens,
        history_tokens=history_tokens, answer_tokens=answer_tokens,
        margin=margin, context_tokens=n_ctx - fixed,
    )
