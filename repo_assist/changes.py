"""The change use cases: refactor (model → edit blocks → checked diff), patch, apply, undo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import patch as patching
from . import prompts
from .asking import Conversation
from .errors import PatchError
from .loops import LoopGuard
from .outline import Outliner
from .planning import PlannedPrompt
from .refactoring import EngineResult, retry_message, run_engine
from .references import stale_references
from .trial import Trial, trial
from .workspace import Workspace, require_index

def undo_dir(ws: Workspace) -> Path:
    return ws.dir / "undo"


def known_paths(ws: Workspace) -> list[str]:
    """The files a model's path may name: those indexed, or in a repository not indexed yet, those git tracks."""
    if not ws.exists():
        return [p for p in ws.repo.git("ls-files", "-z").split("\0") if p]
    m = require_index(ws)
    try:
        return [p for p, row in m.files().items() if row.status == "indexed"]
    finally:
        m.close()


def with_warnings(ws: Workspace, res: EngineResult, outliner: Outliner) -> EngineResult:
    """Add stale-reference warnings (renamed or re-signatured symbols used elsewhere)."""
    if res.patch is None:
        return res
    files = res.patch.files
    extra = _stale(ws, {p: res.old.get(p) for p in files}, {p: res.new.get(p) for p in files}, outliner)
    if extra:
        p = res.patch
        res.patch = type(p)(p.diff, p.files, p.applies, p.check_output, tuple(p.warnings) + tuple(extra))
        res.references = extra
    return res


def diff_references(ws: Workspace, diff: str, outliner: Outliner | None = None) -> list[str]:
    """Stale-reference warnings for any diff against the work tree (a diff file, the hunks a review accepted)."""
    texts = patching.images(ws.repo.root, diff)
    return _stale(ws, {p: old for p, (old, _) in texts.items()}, {p: new for p, (_, new) in texts.items()},
                      outliner or Outliner())


def _stale(ws: Workspace, old: dict, new: dict, outliner: Outliner) -> list[str]:
    """Stale-reference warnings for files changed from ``old`` to ``new``, read with the index when there is one."""
    if not ws.exists():  # without an index only the changed files can be read
        return stale_references(old, new, None, outliner)
    m = require_index(ws)
    try:
        return stale_references(old, new, m, outliner, ws.repo.root)
    finally:
        m.close()


def check_command(ws: Workspace, test: str | None = None) -> str:
    """The check to run on a patched copy: ``test`` (a flag), else the ``test_command`` setting; "" for none."""
    command = ws.settings.test_command if test is None else test
    return command if command.strip() else ""


def run_check(ws: Workspace, diff: str, command: str, stop=None) -> Trial:
    """``command`` on a scratch copy of the work tree with ``diff`` applied, within ``test_timeout_s`` (``stop``, a
    threading.Event, ends it once set)."""
    return trial(ws.repo.root, diff, command, ws.settings.test_timeout_s, stop)


def patch_from_response(ws: Workspace, response: str) -> EngineResult:
    """The engine on a saved model response: no model call."""
    outliner = Outliner()
    res = run_engine(ws.repo.root, response, known_paths(ws), outliner=outliner)
    return with_warnings(ws, res, outliner)


@dataclass
class RefactorResult:
    instruction: str
    engine: EngineResult
    responses: list[str] = field(default_factory=list)
    plan: PlannedPrompt | None = None
    model: str = ""
    test: Trial | None = None  # the check command on the patched copy, when one was run

    def to_dict(self) -> dict:
        d = self.engine.to_dict()
        d.update({"instruction": self.instruction, "model": self.model, "attempts": len(self.responses),
                  "responses": list(self.responses), "test": self.test.to_dict() if self.test else None,
                  "context": self.plan.to_dict(self.model) if self.plan else None})
        return d


def refactor(ws: Workspace, instruction: str, *, model: str | None = None, api_base: str | None = None,
             retries: int | None = None, test: str | None = None, on_token: Callable[[str], None] | None = None,
             on_check: Callable[[str], None] | None = None,
             on_plan: Callable[[PlannedPrompt, str], None] | None = None, backend=None, stop=None) -> RefactorResult:
    """Ask for edit blocks and turn them into a checked patch. Blocks that fail, and a check (``test``, else the
    ``test_command`` setting) that fails on the patched copy, go back to the model up to ``retries`` times.
    ``on_check(command)`` is told when a check starts (it may take minutes); ``on_plan(plan, model)`` when the
    context is packed, before the model is asked. ``backend``: an open backend of ``model`` to use (and leave
    open), such as the one a conversation already loaded, rather than opening the model again; ``stop`` (a
    threading.Event) ends a check under way once set."""
    retries = ws.settings.refactor_retries if retries is None else retries
    command = check_command(ws, test)
    conv = Conversation.open(ws, model, api_base, backend=backend)
    try:
        system = prompts.render("refactor_system", edit_format=prompts.render("edit_format"))

        def build(context_text: str) -> list[dict]:
            user = prompts.render("refactor_user", context=context_text, instruction=instruction)
            return [{"role": "system", "content": system}, {"role": "user", "content": user}]

        answer_tokens = ws.settings.refactor_answer_tokens
        plan = conv.plan(instruction, build=build, references=True, answer_tokens=answer_tokens)
        if on_plan:
            on_plan(plan, conv.model)
        messages = list(plan.messages)
        outliner = Outliner()
        paths = known_paths(ws)
        responses: list[str] = []
        res: EngineResult | None = None
        check: Trial | None = None
        for attempt in range(retries + 1):
            text = "".join(_stream(conv, messages, plan, answer_tokens, on_token))
            responses.append(text)
            check = None
            try:
                res = run_engine(ws.repo.root, text, paths, outliner=outliner, prior=res)
            except PatchError as exc:
                if attempt == retries:  # a result all the same: --json still shows what the model answered
                    res = unreadable(res, exc.message)
                    break
                messages += [{"role": "assistant", "content": text},
                             {"role": "user", "content": prompts.render("refactor_no_blocks")}]
                continue
            if res.failed or res.problems:
                messages += [{"role": "assistant", "content": text},
                             {"role": "user", "content": retry_message(res.failed, res.problems)}]
                continue
            if res.ok and command:  # the patch applies: now the user's check, on a copy
                if on_check:
                    on_check(command)
                check = run_check(ws, res.patch.diff, command, stop)
            if check is None or check.passed or attempt == retries:
                break
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": prompts.render(
                "refactor_check_failed", command=command, output=check.output or "(no output)")}]
        assert res is not None
        return RefactorResult(instruction, with_warnings(ws, res, outliner), responses, plan, conv.model, check)
    finally:
        if backend is None:
            conv.close()


def unreadable(prior: EngineResult | None, why: str) -> EngineResult:
    """The result when the last answer could not be read: what earlier answers did, and why this one failed."""
    if prior is None:
        return EngineResult(patch=None, blocks=[], problems=[why])
    prior.problems = [*prior.problems, f"the last answer: {why}"]
    return prior


def _stream(conv: Conversation, messages: list[dict], plan: PlannedPrompt, answer_tokens: int, on_token):
    n_ctx = plan.window.n_ctx
    budget = max(64, n_ctx - conv.backend.prompt_tokens(messages) - 8)
    for piece in LoopGuard(conv.backend.stream(messages, n_ctx=n_ctx, max_tokens=min(answer_tokens, budget))):
        if on_token:
            on_token(piece)
        yield piece


def apply_patch(ws: Workspace, diff: str, *, force: bool = False) -> patching.UndoEntry:
    checked = patching.check(ws.repo.root, diff, parse_errors=Outliner().parse_errors)
    if not checked.applies:
        raise PatchError(f"the patch does not apply: {checked.check_output.splitlines()[-1] if checked.check_output else 'unknown reason'}",
                         "regenerate it against the current tree")
    return patching.apply(ws.repo.root, diff, undo_dir(ws), force=force)


def undo_last(ws: Workspace, *, force: bool = False) -> patching.UndoEntry:
    return patching.undo(ws.repo.root, undo_dir(ws), force=force)
