"""The ChatBackend protocol every model backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol

from ..records import ModelInfo

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


def plain_messages(messages: list[Message]) -> list[dict[str, str]]:
    """The messages as every chat API takes them: a role and a string content (None made empty)."""
    return [{"role": m["role"], "content": str(m.get("content") or "")} for m in messages]


@dataclass(frozen=True, slots=True)
class ChatUsage:
    """What one call cost, as the backend reported it (None where it did not say)."""

    prompt_tokens: int | None
    completion_tokens: int | None
    first_token_s: float | None
    total_s: float


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider: str  # llamacpp | ollama | openai
    name: str  # "default", a GGUF path, an Ollama model name, or a served model name

    @classmethod
    def parse(cls, spec: str) -> "ModelSpec":
        from ..errors import UsageError

        provider, sep, name = spec.partition("/")
        if not sep or not name or provider not in ("llamacpp", "ollama", "openai"):
            raise UsageError(
                f"bad model spec {spec!r}",
                "use llamacpp/default, llamacpp/PATH.gguf, ollama/NAME[:TAG] or openai/NAME with --api-base",
            )
        return cls(provider, name)

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


class ChatBackend(Protocol):
    spec: str
    # True when count_tokens uses the model's own tokenizer; False: a conservative estimate
    exact_tokens: bool

    def model_info(self) -> ModelInfo | None:
        """The model's geometry (layers, KV heads, head dims, window), when the backend can tell."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def prompt_tokens(self, messages: list[Message]) -> int:
        """Tokens of the whole prompt as the model will read it (chat template included)."""
        ...

    def stream(
        self, messages: list[Message], *, n_ctx: int, max_tokens: int, temperature: float = 0.2
    ) -> Iterator[str]:
        """Yield the answer's text pieces as they come; ``last_usage`` is set when it ends.

        Raises ModelError (exit 3) when the server is unreachable, the model unknown or out
        of memory, and PromptTruncatedError when the server read fewer prompt tokens than planned.
        """
        ...

    def interrupt(self) -> None:
        """Stop the answer under way as soon as the backend can; safe to call from another thread.

        ``stream`` then raises StoppedError. The embedded model stops within a batch even while it is still
        reading the prompt; a server's answer stops at its next piece. An interrupt with no answer under way
        is forgotten when the next one starts.
        """
        ...

    @property
    def last_usage(self) -> ChatUsage | None: ...

    def close(self) -> None: ...
