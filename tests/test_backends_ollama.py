"""The Ollama backend against a loopback Ollama double (tests/fake_ollama.py), plus a live check.

The double is a real HTTP server speaking Ollama's documented API, so the real
``ollama`` client and the real backend run unchanged; the live test runs only
when a real Ollama answers on this machine.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest

from repo_assist.backends.factory import make_backend
from repo_assist.backends.ollama import (
    MIN_PLAN_FOR_RATIO,
    OllamaBackend,
    check_prompt_read,
    estimate_prompt_tokens,
    estimate_tokens,
    runtime_num_ctx,
)
from repo_assist.errors import ConfigError, ModelError, PromptTruncatedError

from .fake_ollama import FakeOllama, fake_count, llama_show

QUESTION = [
    {"role": "system", "content": "You answer questions about a git repository."},
    {"role": "user", "content": "Where is the invoice total computed?"},
]


def big_prompt(n_bytes: int) -> list[dict[str, str]]:
    code = "def total(self):\n    return math.fsum(a for _, a in self.lines)\n"
    body = (code * (n_bytes // len(code) + 1))[:n_bytes]
    return [{"role": "system", "content": "Answer from the context."},
            {"role": "user", "content": body + "\nWhere is the total computed?"}]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake():
    with FakeOllama() as server:
        yield server


def test_stream_assembles_ndjson_and_reports_usage(fake):
    backend = make_backend("ollama/tiny", api_base=fake.host)
    answer = "".join(backend.stream(QUESTION, n_ctx=2048, max_tokens=64))
    assert answer == fake.reply
    usage = backend.last_usage
    assert usage.prompt_tokens == fake_count(QUESTION)
    assert usage.completion_tokens == len(fake.reply.split(" "))
    assert usage.first_token_s is not None and usage.total_s >= usage.first_token_s
    # the estimate is conservative: it never plans fewer tokens than the server read
    assert backend.prompt_tokens(QUESTION) >= usage.prompt_tokens
    assert 0 < backend.calibration <= 1
    assert backend.last_finish_reason == "stop"


def test_interrupt_stops_the_answer_at_its_next_piece(fake):
    from repo_assist.errors import StoppedError

    backend = make_backend("ollama/tiny", api_base=fake.host)
    pieces = backend.stream(QUESTION, n_ctx=2048, max_tokens=64)
    first = next(pieces)
    backend.interrupt()
    with pytest.raises(StoppedError):
        next(pieces)
    assert first and len(fake.reply.split(" ")) > 2
    # the next answer is not stopped by the last one's interrupt
    assert "".join(backend.stream(QUESTION, n_ctx=2048, max_tokens=64)) == fake.reply


def test_num_ctx_and_num_predict_are_always_sent(fake):
    backend = make_backend("ollama/tiny", api_base=fake.host)
    for n_ctx in (2048, 8192):
        list(backend.stream(QUESTION, n_ctx=n_ctx, max_tokens=40, temperature=0.0))
    sent = [req["options"] for req in fake.chat_requests()]
    assert [o["num_ctx"] for o in sent] == [2048, 8192]
    assert all(o["num_predict"] == 40 and o["temperature"] == 0.0 for o in sent)
    assert fake.chat_requests()[0]["messages"] == QUESTION


def test_num_predict_caps_the_answer(fake):
    backend = make_backend("ollama/tiny", api_base=fake.host)
    answer = "".join(backend.stream(QUESTION, n_ctx=2048, max_tokens=3))
    assert answer == " ".join(fake.reply.split(" ")[:3]) + " "
    assert backend.last_usage.completion_tokens == 3
    assert backend.last_finish_reason == "length"


def test_ollama_host_env_is_honoured(fake, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", fake.host)
    backend = make_backend("ollama/tiny")
    assert backend.host == fake.host
    assert "".join(backend.stream(QUESTION, n_ctx=1024, max_tokens=8))


@pytest.mark.parametrize("form", [":{port}", "127.0.0.1:{port}", "http://127.0.0.1:{port}", "http://localhost:{port}/",
                                  "[::ffff:127.0.0.1]:{port}", "  127.0.0.1:{port}\n"])
@pytest.mark.parametrize("how", ["OLLAMA_HOST", "api_base"])
def test_every_documented_host_form_reaches_ollama(fake, monkeypatch, form, how):
    """HOST:PORT, scheme://HOST:PORT, a path, [IPv6], :PORT for this machine (as the client reads it), spaces trimmed."""
    value = form.format(port=fake.port)
    if how == "OLLAMA_HOST":
        monkeypatch.setenv("OLLAMA_HOST", value)
    backend = make_backend("ollama/tiny", api_base="" if how == "OLLAMA_HOST" else value)
    assert "".join(backend.stream(QUESTION, n_ctx=1024, max_tokens=8))


@pytest.mark.parametrize("value", ["gpu-box", "gpu_box.lan.", "https://GPU-Box/ollama", "ünïcode.example:8080"])
def test_a_host_that_may_exist_is_taken(value):
    assert make_backend("ollama/tiny", api_base=value).host == value  # (no request: none of them is here)


@pytest.mark.parametrize("value, why", [
    ("http://:80", "names no host"), ("https://:443/api", "names no host"), ("http://", "names no host"),
    ("@@", "names no host"), ("my host", "cannot be a host name"), ("gpu-box,cpu-box:11434", "cannot be a host name"),
    ("gpu..box", "cannot be a host name"), ("ftp://gpu-box:11434", "not http:// or https://"),
    ("http//gpu-box:11434", "scheme is mistyped"), ("gpu-box:99999", "out of range"),
])
@pytest.mark.parametrize("how", ["OLLAMA_HOST", "api_base"])
def test_a_host_that_names_no_server_is_a_config_error(monkeypatch, value, why, how):
    if how == "OLLAMA_HOST":
        monkeypatch.setenv("OLLAMA_HOST", value)
    with pytest.raises(ConfigError) as info:
        make_backend("ollama/tiny", api_base="" if how == "OLLAMA_HOST" else value)
    where = "OLLAMA_HOST" if how == "OLLAMA_HOST" else "--api-base"
    assert info.value.message.startswith(f"the Ollama host {value!r} ({where}) is not an address") and why in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("mode, n_ctx", [("half", 4096), ("num_ctx", 1024)])
def test_truncated_prompt_raises_with_the_numbers(mode, n_ctx):
    messages = big_prompt(12_000)  # the fake reads ~3000 tokens: over num_ctx/2 and over 1024
    with FakeOllama(truncate=mode) as server:
        backend = OllamaBackend("tiny", host=server.host)
        with pytest.raises(PromptTruncatedError) as info:
            list(backend.stream(messages, n_ctx=n_ctx, max_tokens=32))
    read = n_ctx // 2 + 2 if mode == "half" else n_ctx
    assert f"read {read} prompt tokens" in info.value.message
    assert str(backend.prompt_tokens(messages)) in info.value.message
    assert info.value.exit_code == 3
    assert backend.last_usage.prompt_tokens == read  # usage is still recorded
    assert backend.calibration is None


def test_a_count_far_below_the_plan_is_truncation():
    with FakeOllama(prompt_eval_count=100) as server:
        backend = OllamaBackend("tiny", host=server.host)
        with pytest.raises(PromptTruncatedError):
            list(backend.stream(big_prompt(6000), n_ctx=8192, max_tokens=16))


def test_an_honest_long_prompt_passes_and_calibrates():
    messages = big_prompt(12_000)
    with FakeOllama(truncate="half") as server:  # fits: ~3000 tokens < 16384/2 + 2
        backend = OllamaBackend("tiny", host=server.host)
        answer = "".join(backend.stream(messages, n_ctx=16384, max_tokens=16))
    assert answer
    assert backend.calibration == pytest.approx(fake_count(messages) / backend.prompt_tokens(messages))
    assert 0.6 < backend.calibration < 1.0


def test_unknown_model_says_ollama_pull(fake):
    backend = make_backend("ollama/qwen-nope:7b", api_base=fake.host)
    with pytest.raises(ModelError) as info:
        list(backend.stream(QUESTION, n_ctx=1024, max_tokens=8))
    assert "ollama pull qwen-nope:7b" in info.value.hint
    assert "tiny:latest" in info.value.hint  # what is installed, from /api/tags
    assert info.value.exit_code == 3
    with pytest.raises(ModelError) as info:
        backend.model_info()
    assert "ollama pull" in info.value.hint


def test_unreachable_host_is_a_model_error():
    host = f"127.0.0.1:{closed_port()}"
    backend = make_backend("ollama/tiny", api_base=host)
    with pytest.raises(ModelError) as info:
        list(backend.stream(QUESTION, n_ctx=1024, max_tokens=8))
    assert info.value.message == f"cannot reach Ollama at {host}"
    assert "ollama serve" in info.value.hint and "OLLAMA_HOST" in info.value.hint
    assert info.value.exit_code == 3
    with pytest.raises(ModelError, match="cannot reach Ollama"):
        backend.model_info()


def test_out_of_memory_hints_at_a_smaller_window():
    error = (500, "model requires more system memory (7.1 GiB) than is available (2.0 GiB)")
    with FakeOllama(chat_error=error) as server:
        backend = OllamaBackend("tiny", host=server.host)
        with pytest.raises(ModelError) as info:
            list(backend.stream(QUESTION, n_ctx=32768, max_tokens=8))
    assert "requires more system memory" in info.value.message
    assert "context" in info.value.hint and "smaller model" in info.value.hint


def test_model_info_from_api_show(fake):
    backend = make_backend("ollama/tiny", api_base=fake.host)
    info = backend.model_info()
    assert (info.n_layers, info.n_ctx_trained) == (16, 131072)
    assert info.n_kv_heads == (8,) * 16
    assert info.head_dim_k == info.head_dim_v == 2048 // 32
    assert info.architecture == "llama" and info.n_params == 1_235_814_400
    assert backend.runtime_num_ctx == 4096
    assert backend.show()["template"].startswith("{{ if .System }}")
    shows = [body for method, path, body in fake.requests if path == "/api/show"]
    assert shows == [{"model": "tiny"}]  # nothing was elided: no verbose re-ask


def test_elided_per_layer_arrays_are_fetched_verbose():
    show = llama_show(n_layers=8, num_ctx=None)
    per_layer = [0, 0, 0, 8, 0, 0, 0, 8]  # a hybrid: only every fourth layer keeps a KV cache
    show["model_info"]["llama.attention.head_count_kv"] = per_layer
    with FakeOllama(models={"hybrid:latest": show}) as server:
        backend = OllamaBackend("hybrid", host=server.host)
        info = backend.model_info()
        shows = [body for method, path, body in server.requests if path == "/api/show"]
    assert info.n_kv_heads == tuple(per_layer)
    assert shows == [{"model": "hybrid"}, {"model": "hybrid", "verbose": True}]
    assert backend.runtime_num_ctx is None


def test_estimates_are_conservative_and_documented():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcdef") == 2
    assert estimate_tokens("é") == 1  # 2 bytes
    text = "def f(x):\n    return x + 1\n"
    assert estimate_prompt_tokens([{"role": "user", "content": text}]) > estimate_tokens(text)
    assert runtime_num_ctx("num_keep 24\nnum_ctx   8192\nstop \"x\"") == 8192
    assert runtime_num_ctx('stop "<|eot_id|>"') is None


def test_check_prompt_read_rules():
    # fewer tokens than an over-counting plan is normal
    check_prompt_read(planned=1000, reported=760, n_ctx=8192)
    # tiny prompts: template overhead dominates, the ratio rule stays quiet
    check_prompt_read(planned=MIN_PLAN_FOR_RATIO - 1, reported=40, n_ctx=8192)
    # unknown count: nothing to check
    check_prompt_read(planned=5000, reported=None, n_ctx=8192)
    # pinned at num_ctx/2 + 2 while the plan was larger
    with pytest.raises(PromptTruncatedError):
        check_prompt_read(planned=2600, reported=2050, n_ctx=4096)
    # pinned at num_ctx
    with pytest.raises(PromptTruncatedError):
        check_prompt_read(planned=5000, reported=4096, n_ctx=4096)
    # far below the plan
    with pytest.raises(PromptTruncatedError):
        check_prompt_read(planned=5000, reported=2000, n_ctx=32768)


# --------------------------------------------------------------------------- live


def _live_ollama() -> tuple[str, str]:
    """(host, smallest model) of a real Ollama on this machine, or skip with the reason."""
    host = os.environ.get("OLLAMA_HOST") or "127.0.0.1:11434"
    url = host if "://" in host else f"http://{host}"
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip(f"OLLAMA_HOST={host} is not a loopback address; tests stay on this machine")
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 11434}"
    try:
        with urllib.request.urlopen(base + "/api/tags", timeout=1.0) as resp:
            models = json.load(resp).get("models") or []
    except OSError:
        pytest.skip(f"no Ollama answers at {base}")
    if not models:
        pytest.skip(f"the Ollama at {base} has no models pulled")
    smallest = min(models, key=lambda m: m.get("size") or 0)
    return base, smallest.get("model") or smallest["name"]


def test_live_ollama_stream_and_geometry():
    host, model = _live_ollama()
    backend = make_backend(f"ollama/{model}", api_base=host)
    try:
        answer = "".join(backend.stream(
            [{"role": "user", "content": "Say hello in one word."}], n_ctx=2048, max_tokens=16))
        assert answer.strip()
        usage = backend.last_usage
        assert usage.prompt_tokens and usage.prompt_tokens > 0
        assert backend.model_info().n_layers > 0
    finally:
        backend.close()
