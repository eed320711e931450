"""One entry point from a model spec (``provider/name``) to a ChatBackend.

Backends are imported lazily: llama-cpp-python, openai and ollama each cost
import time that a command using another provider (or none) should not pay.
"""

from __future__ import annotations

from .base import ChatBackend, ModelSpec


def make_backend(spec: str, *, api_base: str = "", n_ctx_hint: int | None = None) -> ChatBackend:
    """The backend for ``spec``: ``llamacpp/default``, ``llamacpp/PATH.gguf``,
    ``llamacpp/ollama:NAME[:TAG]``, ``ollama/NAME[:TAG]`` or ``openai/NAME``.

    ``api_base`` is the server address: Ollama's host (default OLLAMA_HOST, then
    127.0.0.1:11434) or the OpenAI-compatible ``/v1`` URL (required there); the
    embedded backend has no server and ignores it. ``n_ctx_hint`` is the window
    the caller plans to use: the embedded backend allocates at least that much on
    its first load, so a session whose prompts grow does not reload the model.
    Raises UsageError for a bad spec and ModelError when the model cannot be found.
    """
    parsed = ModelSpec.parse(spec)
    if parsed.provider == "llamacpp":
        from .llamacpp import LlamaCppBackend

        return LlamaCppBackend(parsed.name, n_ctx_hint=n_ctx_hint)
    if parsed.provider == "ollama":
        from .ollama import OllamaBackend

        return OllamaBackend(parsed.name, host=api_base or None)
    from .openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(parsed.name, api_base=api_base)
