"""The OpenAI-compatible backend against a real llama-cpp-python server on loopback.

The server (``python -m llama_cpp.server``) serves the packaged GGUF with a
1024-token window; it is started once for the module and stopped at the end.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from repo_assist.backends.factory import make_backend
from repo_assist.backends.llamacpp import LlamaCppBackend, packaged_model_path
from repo_assist.errors import ModelError, UsageError

QUESTION = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "What is the capital of France?"},
]
SERVER_DEPS = ("fastapi", "sse_starlette", "starlette_context", "uvicorn", "pydantic_settings")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model_path():
    return packaged_model_path()


@pytest.fixture(scope="module")
def server(model_path, tmp_path_factory):
    """``http://127.0.0.1:PORT`` of a llama-cpp-python server serving the packaged model."""
    missing = [m for m in SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip("llama_cpp.server needs llama-cpp-python[server]; missing: " + ", ".join(missing))
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/v1/models", timeout=1.0):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer in 120 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def backend(server):
    b = make_backend("openai/gemma", api_base=server + "/v1")
    yield b
    b.close()


@pytest.fixture(scope="module")
def local(model_path):
    """The in-process backend over the same GGUF: the ground truth for token counts."""
    b = LlamaCppBackend(str(model_path))
    yield b
    b.close()


def test_stream_answers(backend):
    answer = "".join(backend.stream(QUESTION, n_ctx=1024, max_tokens=16, temperature=0.0))
    assert answer.strip()
    assert backend.last_finish_reason in ("stop", "length")
    usage = backend.last_usage
    assert usage.first_token_s is not None and usage.total_s >= usage.first_token_s
    # this server ignores stream_options.include_usage: nothing reported, nothing invented
    assert usage.prompt_tokens is None and backend.calibration is None


def test_interrupt_stops_the_answer_at_its_next_piece(backend):
    from repo_assist.errors import StoppedError

    long = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Write a short poem about the sea."}]
    pieces = backend.stream(long, n_ctx=1024, max_tokens=64, temperature=0.0)
    assert next(pieces)
    backend.interrupt()
    with pytest.raises(StoppedError):
        next(pieces)
    # the next answer is not stopped by the last one's interrupt
    assert "".join(backend.stream(QUESTION, n_ctx=1024, max_tokens=8, temperature=0.0)).strip()


def test_tokens_come_from_the_servers_tokenizer(backend, local):
    assert backend.exact_tokens is True
    text = "def total(self):\n    return math.fsum(a for _, a in self.lines)"
    assert backend.count_tokens(text) == local.count_tokens(text)
    assert backend.count_tokens("") == 0
    # content tokens are exact, the template overhead estimated: never below the real prompt
    assert backend.prompt_tokens(QUESTION) >= local.prompt_tokens(QUESTION)


def test_model_info_from_the_servers_gguf(backend, local):
    info = backend.model_info()
    assert info is not None and info == local.model_info()
    assert info.architecture == "gemma3"


def test_prompt_over_the_window_is_refused_before_the_call(backend):
    long = [{"role": "user", "content": "word " * 1500}]
    with pytest.raises(ModelError) as info:
        list(backend.stream(long, n_ctx=1024, max_tokens=16))
    assert "1024-token context window" in info.value.message


def test_server_side_overflow_is_a_model_error(backend):
    # the caller believes in a larger window than the server's 1024 tokens
    long = [{"role": "user", "content": "word " * 1500}]
    with pytest.raises(ModelError) as info:
        list(backend.stream(long, n_ctx=4096, max_tokens=16))
    assert info.value.exit_code == 3


def test_unreachable_server_is_a_model_error():
    api_base = f"http://127.0.0.1:{free_port()}/v1"
    backend = make_backend("openai/gemma", api_base=api_base)
    assert backend.exact_tokens is False  # no tokenizer to ask: the estimate
    with pytest.raises(ModelError) as info:
        list(backend.stream(QUESTION, n_ctx=1024, max_tokens=8))
    assert api_base in info.value.message and "cannot reach" in info.value.message
    assert "--api-base" in info.value.hint
    assert info.value.exit_code == 3
    backend.close()


def test_missing_api_base_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        make_backend("openai/gemma")
    assert "--api-base" in info.value.hint
    assert info.value.exit_code == 2
