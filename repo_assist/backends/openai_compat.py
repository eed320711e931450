"""OpenAI-compatible backend: llama.cpp's ``llama-server``, llama-cpp-python's server, vLLM, LM Studio...

The OpenAI API has no context-window field, so the window is the server's: when
the server tells it (llama-server's ``/props``), a prompt that cannot fit is
refused before the call. Tokens are exact when the server can tokenize
(llama-server ``POST /tokenize``, llama-cpp-python ``POST /extras/tokenize``),
otherwise the conservative estimate of the Ollama backend. Usage is asked for in
the stream (``stream_options.include_usage``) and, when the server reports it,
checked against the plan like Ollama's ``prompt_eval_count``.

Geometry: when the server runs on this machine and names its GGUF file
(``/props`` ``model_path``, or a ``/v1/models`` id that is a file path, as
llama-cpp-python's default alias is), the file's metadata gives ``model_info``.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from ..errors import ConfigError, ModelError, StoppedError, UsageError
from ..records import ModelInfo
from .base import ChatUsage, Message, plain_messages
from .ollama import MESSAGE_OVERHEAD, PROMPT_OVERHEAD, check_prompt_read, estimate_tokens

_PROBE_TIMEOUT_S = 5.0
# tokenize endpoints: (path, request field) -> response {"tokens": [...]}
_TOKENIZERS = (("/tokenize", "content"), ("/extras/tokenize", "input"))


class OpenAICompatBackend:
    """A model behind an OpenAI-compatible ``/v1`` API at ``api_base``."""

    def __init__(self, name: str, *, api_base: str, api_key: str | None = None,
                 timeout_s: float | None = 600.0) -> None:
        if not api_base:
            raise UsageError(f"openai/{name} needs the server's address",
                             hint="pass --api-base, e.g. http://127.0.0.1:8080/v1")
        _check_url(api_base)
        import httpx
        import openai

        self.name = name
        self.spec = f"openai/{name}"
        self.api_base = api_base.rstrip("/")
        root = self.api_base[:-3] if self.api_base.endswith("/v1") else self.api_base
        self.server_root = root.rstrip("/")
        self._http = httpx.Client(timeout=httpx.Timeout(_PROBE_TIMEOUT_S))
        self._client = openai.OpenAI(
            base_url=self.api_base, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "sk-no-key",
            max_retries=0, timeout=httpx.Timeout(timeout_s, connect=10.0))
        self._tokenizer: tuple[str, str] | None | bool = False  # False: not probed yet
        self._tokenize_offset = 0
        self._props: dict[str, Any] | None = None
        self._info: ModelInfo | None | bool = False
        self._last_usage: ChatUsage | None = None
        self._calibration: float | None = None
        self._interrupted = threading.Event()
        self.last_planned_tokens: int | None = None
        #: why the last answer ended: "stop", or "length" when max_tokens cut it
        self.last_finish_reason: str | None = None

    # -- server facts

    @property
    def exact_tokens(self) -> bool:
        """True when the server tokenizes for us (probed once); else counts are estimates."""
        return self._tokenize_endpoint() is not None

    def props(self) -> dict[str, Any]:
        """llama-server's ``GET /props`` (``{}`` from servers without it)."""
        if self._props is None:
            reply = self._get_json("/props")
            if reply is _UNREACHABLE:
                return {}  # ask again later: the server may not be up yet
            self._props = reply if isinstance(reply, dict) else {}
        return self._props

    @property
    def server_n_ctx(self) -> int | None:
        """The server's context window per request, when it says (llama-server does)."""
        props = self.props()
        settings = props.get("default_generation_settings") or {}
        value = settings.get("n_ctx") or props.get("n_ctx")
        return value if isinstance(value, int) and value > 0 else None

    def model_info(self) -> ModelInfo | None:
        if self._info is False:
            if not _is_loopback(self.server_root):
                self._info = None  # a path named by another machine means nothing here
            else:
                models = self._get_json(self.api_base[len(self.server_root):] + "/models")
                if models is _UNREACHABLE:
                    return None  # ask again later: the server may not be up yet
                self._info = self._local_gguf_info(models)
        return self._info  # type: ignore[return-value]

    def _local_gguf_info(self, models: Any) -> ModelInfo | None:
        candidates = [self.props().get("model_path")]
        data = models.get("data") if isinstance(models, dict) else None
        ids = [m.get("id") for m in data or [] if isinstance(m, dict)]
        candidates += sorted(ids, key=lambda i: i != self.name)  # the named model first
        for cand in candidates:
            if isinstance(cand, str) and cand.endswith(".gguf") and Path(cand).is_file():
                from ..geometry import from_gguf

                return from_gguf(cand)
        return None

    # -- tokens

    def _tokenize_endpoint(self) -> tuple[str, str] | None:
        """The server's tokenize endpoint ``(path, field)``, probed once; None when it has none.

        The probe tokenizes the empty string: what comes back is what the endpoint
        adds to every text (llama-cpp-python adds BOS), subtracted from each count.
        """
        if self._tokenizer is False:
            found: tuple[str, str] | None = None
            for path, field in _TOKENIZERS:
                reply = self._post_json(path, {field: ""})
                if reply is _UNREACHABLE:
                    return None  # probe again next time: the server may not be up yet
                if isinstance(reply, dict) and isinstance(reply.get("tokens"), list):
                    found = (path, field)
                    self._tokenize_offset = len(reply["tokens"])
                    break
            self._tokenizer = found
        return self._tokenizer  # type: ignore[return-value]

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        endpoint = self._tokenize_endpoint()
        if endpoint is not None:
            reply = self._post_json(endpoint[0], {endpoint[1]: text})
            if isinstance(reply, dict) and isinstance(reply.get("tokens"), list):
                return max(len(reply["tokens"]) - self._tokenize_offset, 0)
        return estimate_tokens(text)

    def prompt_tokens(self, messages: list[Message]) -> int:
        """Content tokens (exact when the server tokenizes) plus the per-message template overhead."""
        return PROMPT_OVERHEAD + sum(
            self.count_tokens(str(m.get("content") or "")) + MESSAGE_OVERHEAD for m in messages)

    @property
    def calibration(self) -> float | None:
        """Reported / planned prompt tokens of the last call (None when the server did not say)."""
        return self._calibration

    # -- chat

    def stream(
        self, messages: list[Message], *, n_ctx: int, max_tokens: int, temperature: float = 0.2
    ) -> Iterator[str]:
        import httpx
        import openai

        planned = self.prompt_tokens(messages)
        self.last_planned_tokens = planned
        self._last_usage = None
        self._calibration = None
        window = self.server_n_ctx
        # refuse early only on exact counts: an estimate over-counts and the server may still fit it
        limit = min(n for n in (window, int(n_ctx)) if n) if self.exact_tokens else None
        if limit and planned + max_tokens > limit:
            raise ModelError(
                f"the prompt has {planned} tokens and the answer may take {max_tokens}: "
                f"more than the {limit}-token context window",
                hint="lower the context budget, or raise the context window "
                     "(restart the server with a larger one if it is the server's)")
        msgs = plain_messages(messages)
        args: dict[str, Any] = dict(model=self.name, messages=msgs, stream=True,
                                    max_tokens=max_tokens, temperature=temperature,
                                    stream_options={"include_usage": True})
        start = time.perf_counter()
        first: float | None = None
        usage = None
        self.last_finish_reason = None
        self._interrupted.clear()
        try:
            try:
                chunks = self._client.chat.completions.create(**args)
            except openai.BadRequestError as exc:
                if "stream_options" not in str(exc):
                    raise
                args.pop("stream_options")  # an older server that rejects the field
                chunks = self._client.chat.completions.create(**args)
            for chunk in chunks:
                if self._interrupted.is_set():
                    chunks.close()  # (the connection closes: the server stops generating)
                    raise StoppedError("stopped by you")
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                for choice in chunk.choices or ():
                    text = getattr(choice.delta, "content", None) if choice.delta else None
                    if text:
                        if first is None:
                            first = time.perf_counter() - start
                        yield text
                    if choice.finish_reason:
                        self.last_finish_reason = choice.finish_reason
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from None
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except (openai.APIError, httpx.HTTPError) as exc:
            raise ModelError(f"the server at {self.api_base} failed mid-answer: {exc}",
                             hint="see the server's log") from None
        except ValueError as exc:  # a streamed chunk that is no JSON (json.JSONDecodeError), or no text
            raise ModelError(f"the server at {self.api_base} sent a malformed chunk mid-answer "
                             f"({type(exc).__name__}: {exc})",
                             hint="see the server's log; check that --api-base points at an OpenAI-compatible API") from None
        if self.last_finish_reason is None:
            raise ModelError(f"the server at {self.api_base} ended the answer before finishing",
                             hint="see the server's log; the prompt may not fit its context window")
        reported = getattr(usage, "prompt_tokens", None) if usage is not None else None
        self._last_usage = ChatUsage(
            prompt_tokens=reported,
            completion_tokens=getattr(usage, "completion_tokens", None) if usage is not None else None,
            first_token_s=first, total_s=time.perf_counter() - start)
        check_prompt_read(planned=planned, reported=reported, n_ctx=window or int(n_ctx),
                          server="the server")
        self._calibration = reported / planned if reported and planned else None

    def interrupt(self) -> None:
        """Stop the answer under way at its next piece (from another thread)."""
        self._interrupted.set()

    @property
    def last_usage(self) -> ChatUsage | None:
        return self._last_usage

    def close(self) -> None:
        self._client.close()
        self._http.close()

    # -- http and errors

    def _get_json(self, path: str) -> Any:
        return self._http_json("GET", path)

    def _post_json(self, path: str, body: dict[str, Any]) -> Any:
        return self._http_json("POST", path, body)

    def _http_json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A JSON reply from the server root, None on an HTTP error, _UNREACHABLE on no connection."""
        import httpx

        try:
            resp = self._http.request(method, self.server_root + path, json=body,
                                      headers=self._auth_headers())
        except httpx.TransportError:
            return _UNREACHABLE
        if resp.status_code != 200:
            return None
        try:
            return resp.json()
        except ValueError:
            return None

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._client.api_key}"}

    def _unreachable(self, exc: Exception) -> ModelError:
        return ModelError(
            f"cannot reach the OpenAI-compatible server at {self.api_base} ({type(exc).__name__})",
            hint="start the server (e.g. `llama-server -m MODEL.gguf` or "
                 "`python -m llama_cpp.server --model MODEL.gguf`), or fix --api-base")

    def _status_error(self, exc: Any) -> ModelError:
        status = getattr(exc, "status_code", 0)
        text = str(getattr(exc, "message", "") or exc)
        if status in (401, 403):
            return ModelError(f"the server at {self.api_base} refused the key (HTTP {status})",
                              hint="set OPENAI_API_KEY to the key the server expects")
        if status == 404:
            return ModelError(f"the server at {self.api_base} has no model {self.name} (HTTP 404)",
                              hint=f"list its models at {self.api_base}/models; --api-base usually ends in /v1")
        if "context" in text.lower():
            return ModelError(f"the prompt does not fit the server's context window: {text}",
                              hint="lower the context budget, or restart the server with a larger context")
        return ModelError(f"the server at {self.api_base} answered HTTP {status}: {text}",
                          hint="see the server's log")


def _check_url(url: str) -> None:
    """ConfigError unless ``url`` is an http(s) URL with a host and, if any, a port that exists."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ConfigError(f"the server address {url!r} is not a URL: {exc}",
                          hint="pass --api-base http://HOST:PORT/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the server address {url!r} is not an http(s) URL with a host",
                          hint="pass --api-base http://HOST:PORT/v1") from None


class _Unreachable:
    """Marker for 'no connection' (distinct from an HTTP error reply)."""


_UNREACHABLE = _Unreachable()


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
