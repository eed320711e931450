"""The embedded llama.cpp backend with the real packaged GGUF (Gemma 3 270M)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repo_assist.backends.factory import make_backend
from repo_assist.backends.llamacpp import LlamaCppBackend, packaged_model_path
from repo_assist.errors import ModelError, StoppedError

QUESTION = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture(scope="module")
def model_path() -> Path:
    return packaged_model_path()


@pytest.fixture(scope="module")
def backend(model_path):
    b = make_backend("llamacpp/default", n_ctx_hint=1024)
    yield b
    b.close()


@pytest.fixture(scope="module")
def vocab(model_path):
    """An independent tokenizer over the same GGUF, to check the backend's counts."""
    from llama_cpp import Llama

    v = Llama(str(model_path), vocab_only=True, verbose=False)
    yield v
    v.close()


def test_stream_answers_with_exact_prompt_tokens(backend, vocab):
    prompt = backend.format_prompt(QUESTION)
    # the packaged GGUF has no chat template: Gemma's format, system text in the first user turn
    assert prompt.startswith("<bos><start_of_turn>user\nYou are a helpful assistant.")
    assert prompt.endswith("What is the capital of France?<end_of_turn>\n<start_of_turn>model\n")
    expected = vocab.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    assert backend.prompt_tokens(QUESTION) == len(expected)
    assert expected[0] == vocab.token_bos() and expected.count(vocab.token_bos()) == 1

    answer = "".join(backend.stream(QUESTION, n_ctx=1024, max_tokens=24, temperature=0.0))
    assert answer.strip()
    usage = backend.last_usage
    assert usage.prompt_tokens == len(expected)
    assert 1 <= usage.completion_tokens <= 24
    assert backend.last_finish_reason in ("stop", "length")
    assert usage.first_token_s is not None and usage.total_s >= usage.first_token_s
    # the model read exactly the planned tokens
    assert backend._llm.input_ids[: len(expected)].tolist() == expected
    assert backend.n_ctx_loaded == 1024


def test_interrupt_stops_while_the_prompt_is_read_and_the_next_answer_works(model_path):
    """The stop key must not wait for the first token: a long prompt stops within a batch of being read."""
    import threading

    b = LlamaCppBackend("default", n_ctx_hint=6144)
    try:
        long = [{"role": "user", "content": "def f(x):\n    return x + 1\n" * 400 + "\nWhat does f do?"}]
        n = b.prompt_tokens(long)
        assert n > 3000
        got: dict = {"pieces": []}

        def answer() -> None:
            try:
                for piece in b.stream(long, n_ctx=6144, max_tokens=16, temperature=0.0):
                    got["pieces"].append(piece)
            except Exception as exc:  # noqa: BLE001 - the test reads it
                got["error"] = exc

        worker = threading.Thread(target=answer)
        worker.start()
        while b._answering is None and worker.is_alive():  # the model is loaded and reading the prompt
            time.sleep(0.01)
        b.interrupt()
        worker.join()
        assert isinstance(got.get("error"), StoppedError), got
        assert got["pieces"] == [] and b.last_usage.completion_tokens == 0
        assert b._llm.n_tokens < n  # stopped part-way through the prompt
        # the model answers again after a stop (the abort is taken off; what was read part-way is dropped)
        assert "".join(b.stream(QUESTION, n_ctx=6144, max_tokens=8, temperature=0.0)).strip()
        assert b.last_usage.completion_tokens >= 1
    finally:
        b.close()


def test_answers_run_on_the_cores_other_work_leaves_idle(backend, monkeypatch):
    from llama_cpp import llama_n_threads, llama_n_threads_batch

    from repo_assist import cores

    n = os.cpu_count() or 1
    if n < 2 or cores._cpu_times() is None:
        pytest.skip("needs two cores and /proc/stat")

    def threads_used() -> tuple[int, int, int]:
        "".join(backend.stream(QUESTION, n_ctx=1024, max_tokens=4, temperature=0.0))
        ctx = backend._llm.ctx
        return backend.n_threads, llama_n_threads(ctx), llama_n_threads_batch(ctx)

    # an idle machine: every core (the old default, all but one, halved the speed on two cores)
    ticks = iter([(1000, 1000), (1200, 1200)])
    monkeypatch.setattr(cores, "_cpu_times", lambda: next(ticks))
    assert threads_used() == (n, n, n)
    monkeypatch.undo()
    # another process holding a core: a thread fewer, measured again before this answer
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        used = threads_used()
    finally:
        spinner.kill()
        spinner.wait()
    assert used[0] <= n - 1 and used == (used[0],) * 3
    pinned = LlamaCppBackend("default", n_ctx_hint=1024, n_threads=1)  # a count asked for is kept
    try:
        "".join(pinned.stream(QUESTION, n_ctx=1024, max_tokens=2, temperature=0.0))
        assert llama_n_threads(pinned._llm.ctx) == 1
    finally:
        pinned.close()


def test_count_tokens_is_the_models_tokenizer(backend, vocab):
    text = "def total(self):\n    return math.fsum(a for _, a in self.lines)  # ünïcode"
    assert backend.count_tokens(text) == len(vocab.tokenize(text.encode(), add_bos=False))
    assert backend.count_tokens("") == 0
    assert backend.exact_tokens is True


def test_overlong_prompt_fails_before_loading_the_model(model_path):
    backend = LlamaCppBackend("default")
    long = [{"role": "user", "content": "word " * 1500}]
    try:
        assert backend.prompt_tokens(long) > 1000
        with pytest.raises(ModelError) as info:
            list(backend.stream(long, n_ctx=1024, max_tokens=24))
        assert "1024-token context window" in info.value.message
        assert info.value.exit_code == 3
        assert backend.n_ctx_loaded == 0  # refused before any generation
        # the room for the answer counts too
        fits = [{"role": "user", "content": "word " * 400}]
        n = backend.prompt_tokens(fits)
        with pytest.raises(ModelError):
            list(backend.stream(fits, n_ctx=n + 10, max_tokens=11))
        assert backend.n_ctx_loaded == 0
    finally:
        backend.close()


def test_model_info_reads_the_gguf_without_loading(model_path):
    backend = LlamaCppBackend(str(model_path))
    info = backend.model_info()
    assert info.architecture == "gemma3"
    assert info.n_layers == 18 and info.n_ctx_trained == 32768
    assert info.sliding_window == 512
    assert backend.n_ctx_loaded == 0 and backend._vocab is None
    backend.close()


def test_missing_gguf_is_a_model_error(tmp_path):
    with pytest.raises(ModelError) as info:
        make_backend(f"llamacpp/{tmp_path / 'nope.gguf'}")
    assert "model file not found" in info.value.message
    assert info.value.exit_code == 3


def test_not_a_gguf_is_a_model_error(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    backend = make_backend(f"llamacpp/{junk}")
    with pytest.raises(ModelError, match="cannot load"):
        backend.count_tokens("hello")


def _ollama_store(root: Path, model_path: Path, name: str, tag: str) -> Path:
    digest = "ab" * 32
    blob = root / "blobs" / f"sha256-{digest}"
    blob.parent.mkdir(parents=True)
    os.symlink(model_path, blob)
    manifest = root / "manifests" / "registry.ollama.ai" / "library" / name / tag
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": "sha256:" + "cd" * 32, "size": 400},
        "layers": [
            {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "ef" * 32},
            {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}",
             "size": model_path.stat().st_size},
        ],
    }))
    return blob


def test_ollama_blob_store_model(tmp_path, model_path, monkeypatch):
    blob = _ollama_store(tmp_path / "models", model_path, "gemma3", "270m")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "models"))
    backend = make_backend("llamacpp/ollama:gemma3:270m")
    assert backend.path == blob
    assert backend.model_info().architecture == "gemma3"
    backend.close()
    with pytest.raises(ModelError) as info:
        make_backend("llamacpp/ollama:gemma3")  # tag latest was never pulled
    assert "ollama pull gemma3:latest" in info.value.hint


def test_packaged_model_marker_skips_rehashing(model_path):
    marker = model_path.with_name(model_path.name + ".verified.json")
    assert packaged_model_path() == model_path
    record = json.loads(marker.read_text())
    assert record["size"] == model_path.stat().st_size
    marker.write_text(json.dumps({**record, "mtime_ns": 1}))  # stale: must verify again
    assert packaged_model_path() == model_path
    assert json.loads(marker.read_text()) == record
