"""SVG snapshots of the main screens, on deterministic content.

The repository is committed with fixed dates (so its commit id is the same on
every run) and indexed for real; answers are replayed through the same widget
path a streamed answer ends on (``show_answer``), not produced by a model.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look
at the SVGs under ``tests/__snapshots__`` before committing them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from repo_assist import assistant
from repo_assist.patch import make_diff, read_text
from repo_assist.tui.app import RepoAssistApp

from .conftest import write
from .test_tui import DROPPED, FILES, INVOICE_SPANS, answer_for, planned

SIZE = (120, 36)
FIXED_DATE = "2024-01-01T12:00:00+00:00"

ANSWER = (
    "The total is computed by `Invoice.total` in billing/invoice.py:16-17, which sums the line "
    "amounts with `math.fsum`:\n\n"
    "```python\ndef total(self):\n    return math.fsum(a for _, a in self.lines)\n```\n\n"
    "Lines are added by billing/invoice.py:13-14; discounts are applied in billing/invoice.py:40-44.\n"
)


def _git(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="Test",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_AUTHOR_DATE=FIXED_DATE, GIT_COMMITTER_DATE=FIXED_DATE)
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, Path]:
    """An indexed repository whose commit id never changes: (repo, index home)."""
    base = tmp_path_factory.mktemp("snap")
    repo = base / "shop"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    write(repo, FILES)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    home = base / "indexes"
    assistant.index(assistant.open_workspace(repo, {"home": str(home)}))
    return repo, home


@pytest.fixture
def app(shop, monkeypatch) -> RepoAssistApp:
    repo, home = shop
    monkeypatch.setenv("REPO_ASSIST_HOME", str(home))
    return RepoAssistApp(assistant.open_workspace(repo))


async def _answered(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.app.show_answer(answer_for("How is the invoice total computed?", ANSWER,
                                           planned(INVOICE_SPANS, DROPPED)))
    await pilot.pause()


def test_chat_after_an_answer(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=_answered)


def test_source_viewer_on_a_citation(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=_answered, press=["ctrl+o"])


def test_context_panel(app, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _answered(pilot)
        pilot.app.query_one("#ctx-packed").focus()
        await pilot.press("down")

    assert snap_compare(app, terminal_size=(140, 36), run_before=run_before)


def test_diff_review(app, shop, snap_compare) -> None:
    repo, _ = shop
    old = {p: read_text(repo, p) for p in ("app/util.py", "billing/invoice.py")}
    new = {"app/util.py": old["app/util.py"].replace("return x + 0", "return x - 0")
           .replace("return x + 11", "return x + 11.0"),
           "billing/invoice.py": old["billing/invoice.py"].replace("import math\n", "import math\nimport os\n")}

    async def run_before(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        pilot.app.review(make_diff(old, new), ("the model's answer ended at its token limit",))
        await pilot.pause()
        await pilot.press("down", "r", "up")  # reject the second hunk of app/util.py, and look at it
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        while screen.check_result is None and not screen.check_error:
            await pilot.pause(0.05)
            await pilot.app.workers.wait_for_complete()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def _idle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_help(app, snap_compare) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=_idle, press=["f1"])


def test_error_modal(app, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.press(*"/review nowhere.diff", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
