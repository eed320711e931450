"""Window fitting and the token budget: hand-computed arithmetic plus properties."""

from __future__ import annotations

import json

import pytest

from repo_assist.budget import (
    MIN_N_CTX,
    Budget,
    available_memory_bytes,
    default_margin,
    fit_n_ctx,
    plan_budget,
)
from repo_assist.errors import ConfigError, ModelError, UsageError
from repo_assist.geometry import kv_cache_bytes
from repo_assist.records import ModelInfo

MIB, GIB = 1 << 20, 1 << 30
WEIGHTS, RESERVE = 4 * GIB, 512 * MIB


def llama8b(n_ctx_trained: int = 131072) -> ModelInfo:
    """The PEERS.md worked example: 32 layers, 8 KV heads, head_dim 128 (128 KiB/token f16)."""
    return ModelInfo(id="llama", n_ctx_trained=n_ctx_trained, n_layers=32, n_kv_heads=(8,) * 32,
                     head_dim_k=128, head_dim_v=128)


def gemma3_270m() -> ModelInfo:
    """Gemma 3 270M geometry: global layers 5, 11, 17; the rest slide over 512 tokens."""
    return ModelInfo(id="gemma", n_ctx_trained=32768, n_layers=18, n_kv_heads=(1,) * 18,
                     head_dim_k=256, head_dim_v=256, sliding_window=512,
                     swa_layers=tuple(il % 6 < 5 for il in range(18)), architecture="gemma3")


def fit(info: ModelInfo, kv_bytes: int, **kw: object) -> int:
    return fit_n_ctx(info, memory_bytes=WEIGHTS + RESERVE + kv_bytes, weights_bytes=WEIGHTS,
                     reserve_bytes=RESERVE, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- fit_n_ctx


def test_memory_that_fits_exactly_n_tokens():
    info = llama8b()
    assert fit(info, 1 * GIB) == 8192  # 8192 * 128 KiB
    assert fit(info, 1 * GIB - 1) == 7936  # one byte short: the next multiple of 256 down
    assert fit(info, 4 * GIB) == 32768
    assert fit(info, 4 * GIB, type_k="q8_0", type_v="q8_0") == 61440  # 4 GiB / 68 KiB, floored to 256


def test_parallel_slots_share_the_memory():
    assert fit(llama8b(), 1 * GIB, n_parallel=2) == 4096


def test_user_cap_rounds_down_to_256():
    info = llama8b()
    assert fit(info, 4 * GIB, user_cap=5000) == 4864
    assert fit(info, 4 * GIB, user_cap=8192) == 8192
    with pytest.raises(ConfigError):
        fit(info, 4 * GIB, user_cap=0)


def test_trained_length_caps_the_window():
    assert fit(llama8b(n_ctx_trained=8192), 64 * GIB) == 8192


def test_tiny_trained_window_is_returned_as_is():
    info = ModelInfo(id="toy", n_ctx_trained=128, n_layers=2, n_kv_heads=(1, 1),
                     head_dim_k=32, head_dim_v=32)
    assert fit(info, 1 * MIB) == 128


def test_sliding_window_layers_make_long_windows_cheap():
    info = gemma3_270m()
    # 32k tokens: 3 full layers * 32768 cells + 15 SWA layers * 1024 cells, 1 KiB per cell
    need = kv_cache_bytes(info, 32768)
    assert need == (3 * 32768 + 15 * 1024) * 1024
    assert fit(info, need) == 32768
    assert fit(info, kv_cache_bytes(info, 16384)) == 16384
    assert fit(info, kv_cache_bytes(info, 16384) - 1) == 16128


def test_not_enough_memory_is_a_model_error_with_the_numbers():
    info = llama8b()
    need_512 = 512 * 131072  # 64 MiB
    assert fit(info, need_512) == MIN_N_CTX
    with pytest.raises(ModelError, match="not enough memory for the KV cache") as err:
        fit(info, need_512 - 1)
    hint = err.value.hint
    assert "512 tokens need 64.0 MiB" in hint and "4096.0 MiB weights" in hint
    assert err.value.exit_code == 3
    with pytest.raises(ModelError, match="not enough memory"):
        fit_n_ctx(info, memory_bytes=GIB, weights_bytes=2 * GIB, reserve_bytes=0)


def test_available_memory_is_a_positive_byte_count():
    import psutil

    free = available_memory_bytes()
    assert isinstance(free, int) and 0 < free <= psutil.virtual_memory().total


# --------------------------------------------------------------------------- plan_budget


def test_plan_budget_arithmetic():
    b = plan_budget(8192, 131072.0, system_tokens=300, question_tokens=50, history_tokens=1000)
    assert b.answer_tokens == 512
    assert b.margin == 163  # 2% of 8192
    assert b.context_tokens == 8192 - 300 - 50 - 1000 - 512 - 163 == 6167
    assert b.fixed_tokens + b.context_tokens == b.n_ctx


def test_default_margin_has_a_floor_of_32():
    assert default_margin(1000) == 32
    assert default_margin(2048) == 40
    b = plan_budget(1000, 1.0, system_tokens=100, question_tokens=10, answer_tokens=100)
    assert b.margin == 32 and b.context_tokens == 1000 - 100 - 10 - 100 - 32


def test_explicit_margin_and_exact_fit_leave_zero_context():
    b = plan_budget(1024, 1.0, system_tokens=500, question_tokens=12, answer_tokens=512, margin=0)
    assert b.context_tokens == 0
    with pytest.raises(UsageError):  # one token more than the window
        plan_budget(1024, 1.0, system_tokens=500, question_tokens=13, answer_tokens=512, margin=0)


def test_overflow_says_the_question_is_too_long():
    with pytest.raises(UsageError, match="window is 4096") as err:
        plan_budget(4096, 1.0, system_tokens=200, question_tokens=3000, history_tokens=500)
    assert err.value.title == "context overflow"
    assert err.value.exit_code == 2
    assert "question 3000" in err.value.hint and "shorten the question" in err.value.hint
    # an answer reserve past half the window is the setting to lower, not the question
    with pytest.raises(UsageError) as err:
        plan_budget(8192, 1.0, system_tokens=134, question_tokens=5, answer_tokens=100_000)
    assert "lower the answer_tokens setting" in err.value.hint and "shorten" not in err.value.hint


def test_bad_inputs_are_errors():
    with pytest.raises(ConfigError):
        plan_budget(0, 1.0, system_tokens=0, question_tokens=0)
    with pytest.raises(UsageError, match="negative"):
        plan_budget(4096, 1.0, system_tokens=-1, question_tokens=0)


def test_to_dict_is_json_ready():
    b = plan_budget(4096, 36864.0, system_tokens=100, question_tokens=20)
    d = b.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {"n_ctx", "kv_bytes_per_token", "system_tokens", "question_tokens",
                      "history_tokens", "answer_tokens", "margin", "context_tokens"}
    assert Budget(**d) == b


# --------------------------------------------------------------------------- properties

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

tokens = st.integers(min_value=0, max_value=300_000)


@given(n_ctx=st.integers(min_value=1, max_value=262_144), system=tokens, question=tokens,
       history=tokens, answer=st.integers(min_value=0, max_value=8192),
       margin=st.none() | st.integers(min_value=0, max_value=4096))
def test_budget_never_negative_and_never_exceeds_the_window(n_ctx, system, question, history,
                                                            answer, margin):
    try:
        b = plan_budget(n_ctx, 1.0, system_tokens=system, question_tokens=question,
                        history_tokens=history, answer_tokens=answer, margin=margin)
    except UsageError:
        assert system + question + history + answer + (margin if margin is not None
                                                        else default_margin(n_ctx)) > n_ctx
        return
    assert b.context_tokens >= 0
    assert b.context_tokens + system + question + history + answer + b.margin <= n_ctx


@given(kv_mib=st.integers(min_value=64, max_value=64 * 1024),
       n_parallel=st.integers(min_value=1, max_value=4),
       cap=st.none() | st.integers(min_value=512, max_value=200_000),
       sliding=st.booleans())
def test_fitted_window_fits_and_is_the_largest(kv_mib, n_parallel, cap, sliding):
    info = gemma3_270m() if sliding else llama8b()
    free = kv_mib * MIB
    try:
        n = fit(info, free, n_parallel=n_parallel, user_cap=cap)
    except ModelError:
        assert kv_cache_bytes(info, MIN_N_CTX, n_parallel=n_parallel) > free
        return
    assert n % 256 == 0 and n >= MIN_N_CTX
    assert n <= info.n_ctx_trained and (cap is None or n <= cap)
    assert kv_cache_bytes(info, n, n_parallel=n_parallel) <= free
    at_limit = n + 256 > min(info.n_ctx_trained, cap or info.n_ctx_trained)
    assert at_limit or kv_cache_bytes(info, n + 256, n_parallel=n_parallel) > free
