"""Ctrl+G while the embedded model is still reading a long prompt: the stop must not wait for the first token."""

from __future__ import annotations

from pathlib import Path

import pytest

from repo_assist import assistant
from repo_assist.tui.app import RepoAssistApp
from repo_assist.tui.chat import Turn
from repo_assist.tui.modals import ErrorScreen

from .conftest import make_repo
from .test_tui import MODEL_WAIT_S, SIZE, WAIT_S, open_ws, settle, until

pytestmark = pytest.mark.anyio


def _module(k: int) -> str:
    """A module of ledger code, each a little different, so that a question about totals retrieves many."""
    funcs = "\n\n".join(
        f"def total_{k}_{j}(entries, rate={j}.{k}):\n"
        f"    \"\"\"Sum the ledger entries of batch {k}, part {j}, and apply the rate.\"\"\"\n"
        f"    subtotal = sum(e.amount for e in entries if e.batch == {k * 10 + j})\n"
        f"    tax = subtotal * rate / 100\n"
        f"    return round(subtotal + tax, 2)"
        for j in range(6))
    return f'"""Ledger totals, batch {k}."""\n\n\n{funcs}\n'


async def test_ctrl_g_stops_the_embedded_model_part_way_through_a_long_prompt(tmp_path: Path, monkeypatch) -> None:
    repo = make_repo(tmp_path / "ledger", {f"ledger/batch_{k}.py": _module(k) for k in range(40)})
    home = tmp_path / "indexes"
    assistant.index(assistant.open_workspace(repo, {"home": str(home)}))
    monkeypatch.setenv("REPO_ASSIST_N_CTX", "8192")
    monkeypatch.setenv("REPO_ASSIST_ANSWER_TOKENS", "32")
    app = RepoAssistApp(open_ws(repo, home, monkeypatch), model="llamacpp/default")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"How are the ledger totals computed with the tax rate?", "enter")
        turn = app.query_one(Turn)
        # the model is loaded and reading the prompt
        await until(pilot, lambda: app.conv is not None and app.conv.backend._answering is not None,
                    "the model to read the prompt", MODEL_WAIT_S)
        await pilot.press("ctrl+g")
        await until(pilot, lambda: turn.done, "the stop", WAIT_S)
        await settle(pilot)
        assert not isinstance(app.screen, ErrorScreen)
        ended = str(turn.query_one(".turn-status").render())
        assert "stopped by you" in ended and "failed" not in ended
        backend = app.conv.backend
        read, prompt = backend._llm.n_tokens, backend.last_usage.prompt_tokens
        assert prompt > 2048 and read < prompt, (read, prompt)  # stopped part-way through the prompt
        assert turn.streamed_pieces == 0
