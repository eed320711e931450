"""A model caught in a loop is cut off: the loop test itself, and ask and refactor against a model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repo_assist import assistant
from repo_assist.loops import ends_in_loop

from .conftest import make_repo, run_cli as run
from .fake_ollama import FakeOllama

ROOT = Path(__file__).resolve().parents[1]


def test_loops_small_models_fall_into_are_seen():
    assert ends_in_loop("def rect_area(w, h):\n    return w * h\n\n\ndef rect_area" + "_change" * 200)
    lines = "".join(f"    {name} = {name}\n" for name in ("width", "height", "depth"))
    assert ends_in_loop("class Box:\n" + lines * 30)
    assert ends_in_loop("The answer is " + "the answer is " * 90)


@pytest.mark.parametrize("text", [
    "-" * 400 + "\n",  # a rule, or a long underline
    "x = [\n" + "    0,\n" * 100 + "]\n",  # a short table of zeros: 700 characters
    "fn f() {\n" + "".join("    " * (9 - i) + "}\n" for i in range(9)) + "}\n" * 9,  # closing braces
    "| a | b |\n" + "".join(f"| {i} | {i * i} |\n" for i in range(200)),  # a long table, every row its own
])
def test_repetitive_text_that_is_not_a_loop_is_kept(text):
    assert not any(ends_in_loop(text[:i]) for i in range(1, len(text) + 1))


def test_no_prefix_of_real_code_or_prose_is_taken_for_a_loop():
    files = sorted(ROOT.glob("repo_assist/**/*.py")) + sorted(ROOT.glob("prompts/*.md")) + [ROOT / "README.md"]
    for path in files:
        text = path.read_text("utf-8")
        hit = next((i for i in range(32, len(text) + 1, 32) if ends_in_loop(text[:i])), None)
        assert hit is None, f"{path.name} up to character {hit}"


LOOP = "The total is computed in billing.py. " + "It adds it up and " * 400


@pytest.fixture
def repo(tmp_path):
    r = make_repo(tmp_path / "shop", {"billing.py": "def total(lines):\n    return sum(a for _, a in lines)\n"})
    assistant.index(assistant.open_workspace(r))
    return r



def test_an_answer_that_loops_is_cut_and_says_so(repo, capsys, monkeypatch):
    monkeypatch.setenv("REPO_ASSIST_ANSWER_TOKENS", "4000")
    with FakeOllama(reply=LOOP) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        argv = ["ask", "how is the total computed?", "--repo", str(repo), "--model", "ollama/tiny"]
        code, out, err = run(capsys, *argv, "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["timing"]["stopped"] == "repeating"
        assert data["answer"].startswith("The total is computed") and 1000 < len(data["answer"]) < len(LOOP) / 3
        code, out, err = run(capsys, *argv)
        assert code == 0 and "note: the model began repeating itself" in out, err
    with FakeOllama(reply="The total is the sum of the amounts (billing.py:1-2).") as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        code, out, err = run(capsys, "ask", "how is the total computed?", "--repo", str(repo), "--model",
                             "ollama/tiny", "--json")
        assert code == 0 and "stopped" not in json.loads(out)["timing"], err


def test_a_refactor_answer_that_loops_is_cut_and_asked_again(repo, capsys, monkeypatch):
    good = ("billing.py\n```python\n<<<<<<< SEARCH\ndef total(lines):\n=======\ndef grand_total(lines):\n"
            ">>>>>>> REPLACE\n```\n")
    looping = "billing.py\n```python\n<<<<<<< SEARCH\ndef total(lines):\n" + "    return sum(lines)\n" * 200
    monkeypatch.setenv("REPO_ASSIST_REFACTOR_ANSWER_TOKENS", "4000")
    with FakeOllama(replies=[looping, good]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        code, out, err = run(capsys, "refactor", "rename total to grand_total", "--repo", str(repo), "--model",
                             "ollama/tiny", "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["attempts"] == 2 and data["applies"] and "+def grand_total(lines):" in data["diff"]
        assert len(data["responses"][0]) < len(looping) / 2
