"""The models a user can pick: the packaged one, the configured one, and what local servers offer.

Called from a worker thread only: asking a server what it serves is a network
call, and a server that is down must cost a line in the picker, not a frozen
screen. Short timeouts, every failure turned into a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..backends.ollama import DEFAULT_HOST

LIST_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class ModelChoice:
    spec: str
    note: str


def _ollama_host(spec: str, api_base: str) -> str:
    if spec.startswith("ollama/") and api_base:
        return api_base
    return os.environ.get("OLLAMA_HOST") or DEFAULT_HOST


def ollama_models(host: str) -> list[ModelChoice]:
    """``/api/tags`` of the Ollama at ``host``; raises on any failure (the caller notes it)."""
    import httpx
    import ollama

    client = ollama.Client(host=host, timeout=httpx.Timeout(LIST_TIMEOUT_S))
    out = []
    for m in client.list().models:
        if not m.model:
            continue
        size = f"{m.size / 1e9:.1f} GB" if m.size else ""
        details = getattr(m, "details", None)
        quant = getattr(details, "quantization_level", "") or ""
        out.append(ModelChoice(f"ollama/{m.model}", " ".join(x for x in (f"Ollama at {host}", size, quant) if x)))
    return sorted(out, key=lambda c: c.spec)


def openai_models(api_base: str) -> list[ModelChoice]:
    """``GET {api_base}/models`` of an OpenAI-compatible server (llama-server, vLLM, LM Studio)."""
    import httpx

    headers = {}
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    resp = httpx.get(api_base.rstrip("/") + "/models", timeout=LIST_TIMEOUT_S, headers=headers)
    resp.raise_for_status()
    return [ModelChoice(f"openai/{m['id']}", f"served at {api_base}") for m in resp.json().get("data", []) if m.get("id")]


def list_models(current: str, configured: str, api_base: str) -> tuple[list[ModelChoice], list[str]]:
    """Every model worth offering, and one note per server that could not be asked."""
    choices = [ModelChoice("llamacpp/default", "packaged Gemma 3 270M, in-process, no server")]
    for spec, note in ((configured, "configured"), (current, "in use")):
        if spec and all(c.spec != spec for c in choices):
            choices.append(ModelChoice(spec, note))
    notes: list[str] = []
    host = _ollama_host(current if current.startswith("ollama/") else configured, api_base)
    try:
        found = ollama_models(host)
        choices += [c for c in found if all(c.spec != x.spec for x in choices)]
        if not found:
            notes.append(f"Ollama at {host} has no models (ollama pull NAME)")
    except Exception as exc:  # noqa: BLE001 - any failure is a note in the picker
        notes.append(f"Ollama not reachable at {host} ({type(exc).__name__})")
    base = api_base if (current.startswith("openai/") or configured.startswith("openai/")) else ""
    if base:
        try:
            choices += [c for c in openai_models(base) if all(c.spec != x.spec for x in choices)]
        except Exception as exc:  # noqa: BLE001
            notes.append(f"no model list from {base} ({type(exc).__name__})")
    return choices, notes
