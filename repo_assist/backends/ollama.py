"""Ollama backend: the official ``ollama`` client, with the context window always explicit.

Ollama's runtime window is not the model's window, and its default changed
several times (2048, 4096, then VRAM-dependent), so every request sends
``options.num_ctx`` (and ``num_predict``); nothing here relies on a default.

Ollama has no tokenize endpoint, so prompts are planned with a conservative
estimate (``estimate_tokens``) and checked after the call against the
``prompt_eval_count`` the server reports (``check_prompt_read``): Ollama cuts an
over-long prompt silently, and a cut prompt is an error here, not a shrug.
The estimate helpers live in this module because the OpenAI-compatible backend
uses the same rules when its server has no tokenizer.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from typing import Any, Iterator
from urllib.parse import urlsplit

from ..errors import ConfigError, ModelError, PromptTruncatedError, StoppedError
from ..records import ModelInfo
from .base import ChatUsage, Message, plain_messages

#: UTF-8 bytes per token the estimate assumes. Tokenizers of current models
#: average 3.5-4.5 bytes per token on English prose and source code, so 3
#: over-counts by roughly 15-50%: a prompt planned with it fits the window.
BYTES_PER_TOKEN = 3
#: template tokens around one message (role header, end-of-turn, newlines):
#: Llama 3 uses 5, ChatML 5, Gemma 4-5; 8 leaves room for odd templates
MESSAGE_OVERHEAD = 8
#: tokens around the whole prompt (BOS, the assistant header that opens the answer)
PROMPT_OVERHEAD = 16

#: how far (tokens) a reported count may sit from a truncation limit and still count as "at" it
PIN_SLACK = 8
#: below this share of the plan, a reported count means the prompt was cut
RATIO_FLOOR = 0.5
#: plans smaller than this skip the ratio rule: template overhead dominates tiny prompts
MIN_PLAN_FOR_RATIO = 256

DEFAULT_HOST = "127.0.0.1:11434"
_OOM = ("out of memory", "requires more system memory", "insufficient memory",
        "not enough memory", "cudamalloc failed", "unable to allocate")
_TOO_LONG = ("context length", "context window", "exceeds the context", "too long")


# --------------------------------------------------------------------------- estimates


def estimate_tokens(text: str) -> int:
    """A conservative token count: ceil(UTF-8 bytes / 3) (see ``BYTES_PER_TOKEN``)."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def estimate_prompt_tokens(messages: list[Message], count=estimate_tokens) -> int:
    """Tokens of a chat prompt: each message's content plus a per-message template overhead."""
    return PROMPT_OVERHEAD + sum(
        count(str(m.get("content") or "")) + MESSAGE_OVERHEAD for m in messages
    )


def truncation_limits(n_ctx: int) -> tuple[int, ...]:
    """Prompt lengths at which Ollama cuts: num_ctx (older runners) and num_ctx/2 + 2 (#17427)."""
    return (n_ctx, n_ctx // 2 + 2, n_ctx // 2)


def check_prompt_read(
    *, planned: int, reported: int | None, n_ctx: int, server: str = "Ollama"
) -> None:
    """Raise PromptTruncatedError when the server read fewer prompt tokens than planned.

    ``planned`` is an upper bound (estimates over-count), so reading fewer tokens
    than planned is normal. A prompt counts as cut when either

    * the reported count sits within ``PIN_SLACK`` of a limit where Ollama truncates
      (``num_ctx`` or ``num_ctx/2 + 2``) while the plan was larger: a real prompt
      rarely lands exactly there, a cut one always does; or
    * the plan has at least ``MIN_PLAN_FOR_RATIO`` tokens and the server read less
      than ``RATIO_FLOOR`` of it: the estimate is never that far off for text.

    Known false alarm: Ollama 0.30.x (before ollama#16428) reported only the tokens
    it had not cached, so a long cached prefix can trip the ratio rule; update Ollama.
    """
    if reported is None or planned <= 0 or reported >= planned - PIN_SLACK:
        return
    pinned = n_ctx > 0 and any(abs(reported - lim) <= PIN_SLACK for lim in truncation_limits(n_ctx))
    low = planned >= MIN_PLAN_FOR_RATIO and reported < RATIO_FLOOR * planned
    if pinned or low:
        raise PromptTruncatedError(
            f"{server} read {reported} prompt tokens of about {planned} planned (num_ctx {n_ctx})",
            hint="the prompt was cut; lower the context budget or raise the context window "
                 "(Ollama cuts prompts past num_ctx, some versions at num_ctx/2)",
        )


def runtime_num_ctx(parameters: str | None) -> int | None:
    """The ``num_ctx`` a Modelfile sets (``/api/show`` ``parameters``), if any."""
    match = re.search(r"^\s*num_ctx\s+(\d+)\s*$", parameters or "", re.MULTILINE)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- the server's address


def _check_host(value: str, where: str) -> None:
    """ConfigError unless ``value`` can name an Ollama server.

    Ollama's forms are all taken (``HOST``, ``HOST:PORT``, ``http(s)://HOST:PORT``,
    a path after them, ``[IPv6]``, and ``:PORT`` for this machine, as the client
    reads it); refused are a bad port, another scheme, a URL with no host
    (``http://:80``: RFC 7230 has a client reject it), a scheme mistyped into the
    host (``http//box``), and a host name no resolver can look up (spaces,
    commas, empty labels), which the client would send on as an unreachable
    address or fail on mid-request.
    """
    scheme, sep, rest = value.partition("://")
    if sep and scheme.lower() not in ("http", "https"):
        raise _not_an_address(value, where, f"{scheme}:// is not http:// or https://")
    try:
        parts = urlsplit(f"http://{rest if sep else value}")
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise _not_an_address(value, where, str(exc)) from None
    name = parts.hostname or ""
    if not name:
        if sep or not re.fullmatch(r":\d+", parts.netloc):  # (``:PORT`` alone: the client's 127.0.0.1)
            raise _not_an_address(value, where, "it names no host")
        return
    if not sep and name in ("http", "https"):
        raise _not_an_address(value, where, "the scheme is mistyped (write http://HOST:PORT)")
    if "[" in parts.netloc:  # (an IPv6 literal: urlsplit checked it)
        return
    try:
        labels = name.encode("idna").decode("ascii").removesuffix(".").split(".")
    except UnicodeError:
        labels = [""]
    if not all(re.fullmatch(r"[a-z0-9_-]+", label) for label in labels):
        raise _not_an_address(value, where, f"{name!r} cannot be a host name")


def _not_an_address(value: str, where: str, why: str) -> ConfigError:
    return ConfigError(f"the Ollama host {value!r} ({where}) is not an address: {why}",
                       hint=f"set {where} to HOST, HOST:PORT or http://HOST:PORT, e.g. {DEFAULT_HOST}")


# --------------------------------------------------------------------------- backend


class OllamaBackend:
    """A model served by Ollama; ``host`` defaults to OLLAMA_HOST, then 127.0.0.1:11434."""

    exact_tokens = False

    def __init__(self, name: str, *, host: str | None = None, timeout_s: float | None = None) -> None:
        import httpx

        self.name = name
        self.spec = f"ollama/{name}"
        where = "--api-base" if host else "OLLAMA_HOST"
        self.host = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST).strip()  # (trimmed, as Ollama does)
        _check_host(self.host, where)
        try:  # importing the client parses OLLAMA_HOST (a bad port is a ValueError), whatever host is used
            import ollama
        except ValueError as exc:
            raise _not_an_address(os.environ.get("OLLAMA_HOST", ""), "OLLAMA_HOST", str(exc)) from None
        try:
            # no read timeout: a CPU box may think for minutes before the first token
            self._client = ollama.Client(host=self.host, timeout=httpx.Timeout(timeout_s, connect=10.0))
        except ValueError as exc:
            raise _not_an_address(self.host, where, str(exc)) from None
        self._show: dict[str, Any] | None = None
        self._interrupted = threading.Event()
        self._info: ModelInfo | None = None
        self._last_usage: ChatUsage | None = None
        #: the num_ctx the model's Modelfile sets (the window Ollama uses when none is sent)
        self.runtime_num_ctx: int | None = None
        self._calibration: float | None = None
        self.last_planned_tokens: int | None = None
        #: why the last answer ended: "stop", or "length" when max_tokens cut it
        self.last_finish_reason: str | None = None

    # -- geometry

    def show(self) -> dict[str, Any]:
        """``/api/show`` as a dict (``model_info``, ``parameters``, ``template``, ``details``)."""
        if self._show is None:
            show = self._call(lambda: self._client.show(self.name)).model_dump(by_alias=True)
            if _elided_geometry(show):
                show = self._show_verbose() or show
            self._show = show
            self.runtime_num_ctx = runtime_num_ctx(show.get("parameters"))
        return self._show

    def _show_verbose(self) -> dict[str, Any] | None:
        """Ask again with ``verbose: true`` (Ollama empties arrays otherwise, per-layer ones too).

        The public ``Client.show`` has no ``verbose`` argument; the client's own
        request helper sends the documented field. Without it we keep the short
        answer, and geometry falls back to the conservative scalar heads.
        """
        request = getattr(self._client, "_request", None)
        if request is None:  # pragma: no cover - a future client without the helper
            return None
        from ollama import ShowResponse

        resp = self._call(lambda: request(ShowResponse, "POST", "/api/show",
                                          json={"model": self.name, "verbose": True}))
        return resp.model_dump(by_alias=True)

    def model_info(self) -> ModelInfo | None:
        if self._info is None:
            from ..geometry import from_ollama_show

            self._info = from_ollama_show(self.name, self.show())
        return self._info

    # -- tokens

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def prompt_tokens(self, messages: list[Message]) -> int:
        return estimate_prompt_tokens(messages)

    @property
    def calibration(self) -> float | None:
        """Reported / estimated prompt tokens of the last call: multiply an estimate by it to tighten."""
        return self._calibration

    # -- chat

    def stream(
        self, messages: list[Message], *, n_ctx: int, max_tokens: int, temperature: float = 0.2
    ) -> Iterator[str]:
        planned = self.prompt_tokens(messages)
        self.last_planned_tokens = planned
        self._last_usage = None
        self._calibration = None
        self.last_finish_reason = None
        options = {"num_ctx": int(n_ctx), "num_predict": int(max_tokens), "temperature": temperature}
        msgs = plain_messages(messages)
        start = time.perf_counter()
        first: float | None = None
        final = None
        parts = self._call(lambda: self._client.chat(
            model=self.name, messages=msgs, stream=True, options=options))
        self._interrupted.clear()
        for part in _guarded(self, parts):
            if self._interrupted.is_set():
                parts.close()  # (the connection closes: Ollama stops generating)
                raise StoppedError("stopped by you")
            text = part.message.content if part.message is not None else ""
            if text:
                if first is None:
                    first = time.perf_counter() - start
                yield text
            if part.done:
                final = part
        if final is None:
            raise ModelError(f"Ollama ended the answer of {self.name} without a final message",
                             hint="see the `ollama serve` log")
        reported = final.prompt_eval_count
        self.last_finish_reason = final.done_reason
        self._last_usage = ChatUsage(
            prompt_tokens=reported, completion_tokens=final.eval_count,
            first_token_s=first, total_s=time.perf_counter() - start,
        )
        # Ollama caps num_ctx at the trained length: that is where it cuts then
        window = min(int(n_ctx), self._info.n_ctx_trained) if self._info else int(n_ctx)
        check_prompt_read(planned=planned, reported=reported, n_ctx=window)
        self._calibration = reported / planned if reported and planned else None

    def interrupt(self) -> None:
        """Stop the answer under way at its next piece (from another thread)."""
        self._interrupted.set()

    @property
    def last_usage(self) -> ChatUsage | None:
        return self._last_usage

    def close(self) -> None:
        self._client.close()

    # -- errors

    def _call(self, fn):
        """Run one client call, turning transport and server errors into ModelError."""
        import httpx
        import pydantic
        from ollama import ResponseError

        try:
            return fn()
        except ResponseError as exc:
            raise self._server_error(exc.error, exc.status_code) from None
        except (ConnectionError, httpx.TransportError) as exc:
            raise self._unreachable(exc) from None
        except pydantic.ValidationError as exc:
            raise ModelError(f"Ollama at {self.host} answered in an unexpected shape "
                             f"({exc.error_count()} field errors)",
                             hint="update Ollama, or check that OLLAMA_HOST points at Ollama") from None
        except json.JSONDecodeError as exc:  # (a streamed line that is no JSON object)
            raise ModelError(f"Ollama at {self.host} sent a line that is not JSON ({exc})",
                             hint="update Ollama, or check that OLLAMA_HOST points at Ollama") from None

    def _unreachable(self, exc: Exception) -> ModelError:
        if isinstance(exc, ConnectionError) or "connect" in type(exc).__name__.lower():
            return ModelError(f"cannot reach Ollama at {self.host}",
                              hint="start it with `ollama serve`, or set OLLAMA_HOST")
        return ModelError(f"lost the connection to Ollama at {self.host} ({type(exc).__name__})",
                          hint="see the `ollama serve` log; it may have crashed or restarted")

    def _server_error(self, error: Any, status: int) -> ModelError:
        text = str(error).strip()
        low = text.lower()
        if any(s in low for s in _OOM):
            return ModelError(f"Ollama cannot load {self.name}: {text}",
                              hint="lower the context window (--ctx) or pick a smaller model")
        if status == 404 or ("not found" in low and "model" in low):
            return ModelError(f"Ollama at {self.host} has no model {self.name}",
                              hint=f"ollama pull {self.name}{self._installed_hint()}")
        if status == 400 and any(s in low for s in _TOO_LONG):
            return ModelError(f"the prompt does not fit {self.name}'s window: {text}",
                              hint="lower the context budget, or raise the context window")
        return ModelError(f"Ollama error for {self.name}: {text} (HTTP {status})",
                          hint="see the `ollama serve` log")

    def _installed_hint(self) -> str:
        """`` (installed: a, b)`` from ``/api/tags``, or nothing when that fails too."""
        try:
            names = [m.model for m in self._client.list().models if m.model]
        except Exception:
            return ""
        return f" (installed: {', '.join(sorted(names)[:8])})" if names else " (none installed)"


def _guarded(backend: OllamaBackend, parts: Iterator[Any]) -> Iterator[Any]:
    """Iterate a streamed answer, mapping errors raised mid-stream like ``_call`` does."""
    it = iter(parts)
    while True:
        part = backend._call(lambda: next(it, None))
        if part is None:
            return
        yield part


def _elided_geometry(show: dict[str, Any]) -> bool:
    """True when ``model_info`` has an emptied ``<arch>.*`` array (a per-layer value Ollama hid)."""
    info = show.get("model_info") or {}
    arch = info.get("general.architecture")
    return bool(arch) and any(
        k.startswith(f"{arch}.") and v == [] for k, v in info.items()
    )
