"""ask with the real embedded backend and the packaged GGUF model."""

from __future__ import annotations

import json

import pytest

from repo_assist import assistant, cli
from repo_assist.asking import Conversation

from .conftest import make_repo, SAMPLE_PY, SAMPLE_GO


@pytest.fixture
def small_model_env(monkeypatch):
    monkeypatch.setenv("REPO_ASSIST_N_CTX", "2048")
    monkeypatch.setenv("REPO_ASSIST_ANSWER_TOKENS", "40")


@pytest.fixture
def repo(tmp_path):
    r = make_repo(tmp_path / "app", {"billing/invoice.py": SAMPLE_PY, "server/server.go": SAMPLE_GO})
    assistant.index(assistant.open_workspace(r))
    return r


def test_ask_streams_an_answer_with_sources_and_checked_citations(repo, small_model_env, capsys):
    pieces: list[str] = []
    ws = assistant.open_workspace(repo)
    conv = Conversation.open(ws, "llamacpp/default")
    try:
        answer = conv.ask("What does Invoice.total return?", on_token=pieces.append)
        assert len(pieces) > 1 and "".join(pieces) == answer.text and answer.text.strip()
        plan = answer.plan
        assert plan.window.n_ctx == 2048
        assert plan.pack.chunks and plan.pack.chunks[0].path == "billing/invoice.py"
        assert plan.prompt_tokens + ws.settings.answer_tokens <= plan.window.n_ctx
        assert answer.timing["prompt_tokens"] == plan.prompt_tokens  # the model read exactly what was planned
        assert plan.pack.tokens <= plan.budget.context_tokens
        for c in answer.citations:  # whatever the tiny model cites is checked against the packed spans
            inside = any(s.path == c.path and s.start_line <= c.start_line and c.end_line <= s.end_line
                         for s in plan.pack.chunks)
            assert c.valid == inside
        # a follow-up keeps the history within the window
        follow = conv.ask("And where is apply_discount?")
        assert follow.plan.prompt_tokens + ws.settings.answer_tokens <= follow.plan.window.n_ctx
        assert len(conv.history) == 4
    finally:
        conv.close()


def test_ask_cli_json(repo, small_model_env, capsys):
    code = cli.main(["ask", "How does the server start?", "--repo", str(repo), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"].strip()
    assert set(data["timing"]) >= {"retrieval_ms", "prompt_tokens", "first_token_s", "tokens_per_s"}
    assert data["context"]["n_ctx"] == 2048 and data["context"]["used"] <= data["context"]["budget"]
    assert any(c["path"] == "server/server.go" for c in data["context"]["chunks"])
    assert all(set(c) == {"path", "start_line", "end_line", "valid"} for c in data["citations"])


def test_context_cli_respects_budget_flag(repo, small_model_env, capsys):
    code = cli.main(["context", "invoice totals and discounts", "--repo", str(repo), "--budget", "120", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"model", "n_ctx", "kv_bytes_per_token", "budget", "used", "chunks", "dropped"}
    assert data["budget"] == 120 and data["used"] <= 120
    assert data["kv_bytes_per_token"] == 3072  # Gemma 3 270M: 3 full-attention layers x 1 KV head x 256 x 2 x f16
    assert data["dropped"], "a 120-token budget cannot hold both files"


def test_unreachable_model_server_is_exit_3(repo, capsys, monkeypatch):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    code = cli.main(["ask", "anything", "--repo", str(repo), "--model", "ollama/qwen2.5:0.5b"])
    _, err = capsys.readouterr()
    assert code == 3 and "Ollama" in err and err.count("\n") == 1


def test_an_answer_cut_at_its_token_limit_says_so(repo, monkeypatch, capsys):
    monkeypatch.setenv("REPO_ASSIST_N_CTX", "2048")
    monkeypatch.setenv("REPO_ASSIST_ANSWER_TOKENS", "6")
    question = "Explain every function in this repository in detail, one long paragraph each."
    code = cli.main(["ask", question, "--repo", str(repo), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["timing"]["completion_tokens"] == 6 and data["timing"]["stopped"] == "length"
    code = cli.main(["ask", question, "--repo", str(repo)])
    out, err = capsys.readouterr()
    assert code == 0 and "note: the answer reached its 6-token limit and was cut there" in out, out
