"""The ask use case's moving parts: a conversation that plans, streams and checks citations."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable

from . import citations as cites
from .indexer import open_store
from .loops import LoopGuard
from .planning import PlannedPrompt, Window, decide_window, plan_prompt
from .retrieval import Retriever, reference_hits
from .workspace import Workspace, require_index


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    text: str
    citations: tuple[cites.Citation, ...]
    plan: PlannedPrompt
    model: str
    timing: dict

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "context": self.plan.to_dict(self.model),
            "timing": self.timing,
        }


def _speed_file(ws: Workspace):
    return ws.dir.parent / "model-speed.json"


def load_prompt_speed(ws: Workspace, model: str) -> float | None:
    try:
        return float(json.loads(_speed_file(ws).read_text())[model])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_prompt_speed(ws: Workspace, model: str, tokens_per_s: float) -> None:
    path = _speed_file(ws)
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        data = {}
    data[model] = round(tokens_per_s, 1)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)
    except OSError:  # a hint for the next plan, not worth failing an answer over (a read-only index home)
        pass


@dataclass
class Conversation:
    """One repository, one model, and the turns so far (kept within the budget when planning)."""

    ws: Workspace
    backend: object
    model: str
    history: list[dict] = field(default_factory=list)
    _window: Window | None = None

    @classmethod
    def open(cls, ws: Workspace, model: str | None = None, api_base: str | None = None,
             backend: object = None) -> "Conversation":
        """A conversation with ``model`` (the configured one by default); ``backend``: that model already open."""
        from .backends.factory import make_backend

        spec = model or ws.settings.model
        if backend is None:
            backend = make_backend(spec, api_base=api_base if api_base is not None else ws.settings.api_base)
        return cls(ws, backend, spec)

    def window(self) -> Window:
        if self._window is None:
            local = self.model.startswith("llamacpp/")
            self._window = decide_window(self.backend, user_cap=self.ws.settings.n_ctx, local_memory=local)
        return self._window

    def plan(self, question: str, *, budget_cap: int | None = None, build=None, references: bool = False,
             answer_tokens: int | None = None) -> PlannedPrompt:
        """The prompt for ``question``; ``references`` puts every definition and use of the
        identifiers it names first (refactors need them all)."""
        manifest = require_index(self.ws)
        try:
            embedder = self.ws.embedder()
            store = open_store(self.ws, embedder, manifest, create=False)
            retriever = Retriever(manifest, store, embedder)
            lines: dict[str, list[str]] = {}
            chunks_cache: dict[str, list] = {}

            def file_chunks(path: str):
                if path not in chunks_cache:
                    chunks_cache[path] = manifest.file_chunks(path)
                return chunks_cache[path]

            def lines_of(path: str) -> list[str]:
                if path not in lines:
                    lines[path] = "".join(c.text for c in file_chunks(path)).splitlines(keepends=True)
                return lines[path]

            s = self.ws.settings
            extra = tuple(reference_hits(manifest, question)) if references else ()
            return plan_prompt(
                question, backend=self.backend, retriever=retriever, lines_of=lines_of, file_chunks=file_chunks,
                window=self.window(), answer_tokens=answer_tokens or s.answer_tokens, history=self.history,
                budget_cap=budget_cap, latency_cap_s=s.latency_cap_s,
                prompt_speed=load_prompt_speed(self.ws, self.model), build=build, extra_hits=extra,
            )
        finally:
            manifest.close()

    def ask(self, question: str, *, on_token: Callable[[str], None] | None = None,
            budget_cap: int | None = None, planned: PlannedPrompt | None = None) -> Answer:
        """Answer ``question``; pass ``planned`` (from ``plan``) when it was already planned."""
        planned = planned or self.plan(question, budget_cap=budget_cap)
        t0 = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        guard = LoopGuard(self.backend.stream(planned.messages, n_ctx=planned.window.n_ctx,
                                              max_tokens=self.ws.settings.answer_tokens))
        for piece in guard:
            if first is None:
                first = time.perf_counter() - t0
            parts.append(piece)
            if on_token:
                on_token(piece)
        total = time.perf_counter() - t0
        text = "".join(parts)
        usage = self.backend.last_usage
        completion = usage.completion_tokens if usage and usage.completion_tokens is not None else None
        gen_time = total - (first or 0.0)
        if first and planned.prompt_tokens:
            save_prompt_speed(self.ws, self.model, planned.prompt_tokens / max(first, 1e-3))
        found = tuple(cites.check(text, planned.pack))
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        timing = {
            "retrieval_ms": round(planned.retrieval_ms, 1),
            "prompt_tokens": usage.prompt_tokens if usage and usage.prompt_tokens is not None else planned.prompt_tokens,
            "planned_prompt_tokens": planned.prompt_tokens,
            "completion_tokens": completion,
            "first_token_s": round(first, 3) if first is not None else None,
            "tokens_per_s": round(completion / gen_time, 2) if completion and gen_time > 0 else None,
            "total_s": round(total, 3),
        }
        if guard.looped:
            timing["stopped"] = "repeating"  # the model began to repeat itself: the answer was cut there
        elif getattr(self.backend, "last_finish_reason", None) == "length":
            timing["stopped"] = "length"  # the answer ran out of its token budget (answer_tokens) mid-way
        return Answer(question, text, found, planned, self.model, timing)

    def close(self) -> None:
        self.backend.close()
