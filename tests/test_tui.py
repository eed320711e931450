"""The Textual TUI driven with Pilot: real repositories, a real index, the real packaged model.

Waits are on conditions (workers done, a widget in the expected state), with
generous deadlines for the slow shared machines these run on; nothing sleeps
and hopes.
"""

from __future__ import annotations

import itertools
import os
import socket
import stat
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual import events
from textual.widgets import DataTable, Input, OptionList, ProgressBar, Static, TabbedContent, TextArea
from textual.widgets._markdown import MarkdownParagraph

from repo_assist import assistant, citations
from repo_assist.asking import Answer
from repo_assist.budget import Budget
from repo_assist.errors import ConfigError, UsageError
from repo_assist.patch import check, make_diff, read_text
from repo_assist.planning import PlannedPrompt, Window
from repo_assist.records import ContextPack, PackedSpan
from repo_assist.tui.app import RepoAssistApp
from repo_assist.tui.chat import QuestionInput, Turn, link_citations
from repo_assist.tui.context_panel import ContextPanel, TokenGauge
from repo_assist.tui.diffmodel import all_units, parse_diff, select
from repo_assist.tui.keymap import ALL_BINDINGS, binding_ids, load_keymap
from repo_assist.tui.modals import ErrorScreen, HelpScreen, ModelPicker
from repo_assist.tui.review import DiffReviewScreen
from repo_assist.tui.viewer import SourceViewer

from .conftest import SAMPLE_PY, git, make_repo, write
from .fake_ollama import FakeOllama

SIZE = (120, 36)
MODEL_WAIT_S = 900.0  # the packaged model on a busy 2-core box: minutes, not seconds
WAIT_S = 120.0

pytestmark = pytest.mark.anyio

UTIL_PY = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(12))
FILES = {
    "billing/invoice.py": SAMPLE_PY,
    "app/util.py": UTIL_PY,
    "README.md": "# Sample\n\nInvoices and small helpers.\n",
}


# --- helpers ---------------------------------------------------------------------------


async def until(pilot, predicate, what: str, timeout: float = WAIT_S) -> None:
    """Let the app run until ``predicate()`` holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot, timeout: float = WAIT_S) -> None:
    """Wait for every worker, then for the messages they posted to be handled."""
    await pilot.app.workers.wait_for_complete()
    await until(pilot, lambda: not pilot.app.busy, "the app to be idle", timeout)
    await pilot.pause()


def busy_history(app: RepoAssistApp) -> list[str]:
    """Every value the app's busy state takes from now on (a fast worker can finish before a test looks)."""
    seen: list[str] = []
    set_busy = app._set_busy

    def recording(what: str) -> None:
        seen.append(what)
        set_busy(what)

    app._set_busy = recording
    return seen


def status_text(app: RepoAssistApp) -> str:
    return str(app.query_one("#status-index", Static).render())


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Path]:
    """One indexed sample repository shared by the tests that only read it: (repo, index home)."""
    base = tmp_path_factory.mktemp("tui")
    repo = make_repo(base / "sample", FILES)
    home = base / "indexes"
    assistant.index(assistant.open_workspace(repo, {"home": str(home)}))
    return repo, home


def open_ws(repo: Path, home: Path, monkeypatch):
    monkeypatch.setenv("REPO_ASSIST_HOME", str(home))
    return assistant.open_workspace(repo)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def planned(spans: list[PackedSpan], dropped: list[PackedSpan] = (), n_ctx: int = 2048) -> PlannedPrompt:
    used = sum(s.tokens for s in spans)
    budget = Budget(n_ctx, 3072.0, 180, 12, 0, 256, 40, 1400)
    return PlannedPrompt([], ContextPack(tuple(spans), used, 1400, tuple(dropped)), (),
                         Window(n_ctx, 3072.0, "min(trained, KV memory, cap)"), budget, 180 + used, True, 9.5)


def answer_for(question: str, text: str, plan: PlannedPrompt) -> Answer:
    """A finished Answer whose citations are checked by the real checker against ``plan``."""
    return Answer(question, text, tuple(citations.check(text, plan.pack)), plan, "llamacpp/default",
                  {"retrieval_ms": 9.5, "completion_tokens": 40, "tokens_per_s": 8.0, "first_token_s": 0.8,
                   "total_s": 5.8})


INVOICE_SPANS = [
    PackedSpan("billing/invoice.py", 16, 17, "    def total(self):\n        return ...\n", 30, "Invoice.total",
               ("dense", "bm25", "symbol"), 0.0489),
    PackedSpan("billing/invoice.py", 6, 14, "class Invoice:\n", 80, "Invoice", ("dense",), 0.0312),
]
DROPPED = [PackedSpan("app/util.py", 1, 20, "def f0(x):\n", 2000, "f0", ("bm25",), 0.0101)]


# --- pure helpers --------------------------------------------------------------------------


def test_link_citations_links_prose_and_backticks_but_not_code_blocks() -> None:
    text = ("Totals live in billing/invoice.py:16-17 and `billing/invoice.py:6-14`.\n"
            "```python\n# billing/invoice.py:16-17 stays code\n```\n"
            "Also app/util.py:1 which was not packed.\n")
    plan = planned(INVOICE_SPANS)
    cites = citations.check(text, plan.pack)
    out = link_citations(text, cites)
    assert "[billing/invoice.py:16-17](cite:0)" in out
    assert "[billing/invoice.py:6-14](cite:1)" in out and "`billing/invoice.py:6-14`" not in out
    assert "# billing/invoice.py:16-17 stays code" in out
    assert "[app/util.py:1](cite:2) *(not in the context)*" in out


def test_partial_diffs_of_every_hunk_subset_apply_and_give_the_chosen_edit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", FILES)
    old = {p: read_text(repo, p) for p in ("app/util.py", "billing/invoice.py")}
    new = {"app/util.py": old["app/util.py"].replace("return x + 0", "return x - 0")
           .replace("return x + 6", "return x * 6\n    # six").replace("return x + 11", "return x + 11.0"),
           "billing/invoice.py": old["billing/invoice.py"].replace("import math\n", "import math\nimport os\n")}
    files = parse_diff(make_diff(old, new))
    units = sorted(all_units(files))
    assert [len(f.hunks) for f in files] == [3, 1]
    for r in range(len(units) + 1):
        for chosen in itertools.combinations(units, r):
            diff = select(files, set(chosen))
            if not chosen:
                assert diff == ""
                continue
            assert check(repo, diff).applies, diff
    # one hunk of a file, exactly: git applies it and the other hunks' lines stay as they were
    only_middle = select(files, {(0, 1)})
    assert "x * 6" in only_middle and "x - 0" not in only_middle and "11.0" not in only_middle


def test_review_names_files_git_quotes_and_tells_new_from_deleted() -> None:
    old = {'notes/say "hi".md': "a\n", "gone.txt": "x\n", "new.txt": None}
    new = {'notes/say "hi".md': "b\n", "gone.txt": None, "new.txt": "y\n"}
    diff = make_diff(old, new)
    assert '"b/notes/say \\"hi\\".md"' in diff  # git's quoting, which the review must read back
    files = {f.path: f.kind for f in parse_diff(diff)}
    assert files == {'notes/say "hi".md': "modified", "gone.txt": "deleted", "new.txt": "added"}


def test_keymap_reads_keys_tables_and_names_bad_ids(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "repo-assist" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[keys]\nreindex = "ctrl+r"\nhelp = "f1,question_mark"\n')
    (repo / ".repo-assist.toml").write_text('[keys]\nreindex = "ctrl+y"\n')
    assert load_keymap(repo) == {"reindex": "ctrl+y", "help": "f1,question_mark"}
    (repo / ".repo-assist.toml").write_text('[keys]\nreindx = "ctrl+y"\n')
    with pytest.raises(ConfigError, match="reindx"):
        load_keymap(repo)
    (repo / ".repo-assist.toml").write_text("[keys]\nreindex = 3\n")
    with pytest.raises(ConfigError, match="must be a key"):
        load_keymap(repo)


def test_every_binding_has_a_unique_id() -> None:
    ids = [b.id for _, group in ALL_BINDINGS for b in group]
    assert all(ids) and len(ids) == len(set(ids)) == len(binding_ids())


def test_cli_tui_registers_and_refuses_a_non_terminal(sample_repo: Path) -> None:
    import argparse

    from repo_assist.cli_tui import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"), lambda sp: sp.add_argument("--json", action="store_true"))
    args = parser.parse_args(["tui", str(sample_repo), "--model", "ollama/x", "--api-base", "http://h:1"])
    assert (args.path, args.model, args.api_base) == (str(sample_repo), "ollama/x", "http://h:1")
    with pytest.raises(UsageError, match="needs a terminal"):  # pytest's stdin is not a TTY
        args.func(args)
    with pytest.raises(UsageError, match="bad model spec"):
        args.func(parser.parse_args(["tui", str(sample_repo), "--model", "gpt"]))


# --- the main screen -------------------------------------------------------------------------


async def test_opens_with_the_question_focused_and_the_index_status(indexed, monkeypatch) -> None:
    repo, home = indexed
    app = RepoAssistApp(open_ws(repo, home, monkeypatch))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, QuestionInput)
        head = git(repo, "rev-parse", "HEAD").strip()
        text = status_text(app)
        assert "3 files" in text and head[:12] in text and "up to date" in text
        assert "llamacpp/default" in str(app.query_one("#status-model", Static).render())
        # input history: up and down walk the questions of this session
        question = app.query_one(QuestionInput)
        question.remember("first question")
        question.remember("second question")
        question.value = "draft"
        await pilot.press("up")
        assert question.value == "second question"
        await pilot.press("up", "up")
        assert question.value == "first question"
        await pilot.press("down", "down")
        assert question.value == "draft"
        # a pasted stack trace is kept whole, on one line (the frames are what the trace signal reads)
        question.value = ""
        trace = "TypeError: bad format\n    at compile (/app/index.js:403:11)\n    at morgan (/app/index.js:60:5)\n"
        question.post_message(events.Paste(trace))
        await pilot.pause()
        assert question.value == "TypeError: bad format at compile (/app/index.js:403:11) at morgan (/app/index.js:60:5)"


async def test_ask_streams_the_packaged_models_answer(indexed, monkeypatch) -> None:
    repo, home = indexed
    monkeypatch.setenv("REPO_ASSIST_ANSWER_TOKENS", "32")
    monkeypatch.setenv("REPO_ASSIST_N_CTX", "2048")
    app = RepoAssistApp(open_ws(repo, home, monkeypatch), model="llamacpp/default")
    seen = busy_history(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"How is the invoice total computed?", "enter")
        turn = app.query_one(Turn)
        assert "answering" in seen and app.query_one(QuestionInput).value == ""
        await until(pilot, lambda: turn.done, "the answer", MODEL_WAIT_S)
        await settle(pilot)
        assert not turn.query_one(".turn-status", Static).display, "the turn failed"
        assert turn.streamed_pieces > 0, "the answer did not stream"
        answer_text = app.history[-1]["content"]
        assert app.history[-2] == {"role": "user", "content": "How is the invoice total computed?"}
        assert turn.markdown.source == link_citations(answer_text, turn.citations) or answer_text == ""
        panel = app.query_one(ContextPanel)
        rows = app.query_one("#ctx-packed", DataTable).row_count
        assert rows == len(panel.packed) > 0
        assert any(s.path == "billing/invoice.py" for s in panel.packed)
        gauge = app.query_one(TokenGauge)
        assert 0 < gauge.used <= gauge.budget < gauge.n_ctx <= 2048
        assert "llamacpp/default" in str(app.query_one("#ctx-model", Static).render())
        # a follow-up stopped with ctrl+g before its first token shows: no modal, the turn says so, history
        # unchanged. Its first token is held until the stop key is pressed and the test has looked at the screen,
        # so that neither a fast machine nor a slow one decides what the test sees (a stop while the model still
        # reads the prompt is tests/test_tui_stop.py's).
        sink = app.token_sink
        release, holding = threading.Event(), threading.Event()

        def held_sink(turn_id: int):
            on_token = sink(turn_id)

            def held(piece: str) -> None:
                holding.set()
                app._stop.wait(MODEL_WAIT_S)
                release.wait(MODEL_WAIT_S)
                on_token(piece)

            return held

        monkeypatch.setattr(app, "token_sink", held_sink)
        await pilot.press(*"And the discount?", "enter")
        second = list(app.query(Turn))[-1]
        await until(pilot, lambda: "waiting for" in str(second.query_one(".turn-status", Static).render()),
                    "the follow-up's context to be packed")
        assert app.busy == "answering" and isinstance(app.focused, QuestionInput)  # stop from the question box
        await until(pilot, holding.is_set, "the follow-up's first token", MODEL_WAIT_S)
        await pilot.press("ctrl+g")
        # the press is acknowledged at once, while the answer is still under way
        turn_line = str(second.query_one(".turn-status", Static).render())
        bar = str(app.query_one("#status-model", Static).render())
        done_early = second.done
        release.set()
        assert "stopping…" in turn_line and "stopping" in bar and not done_early, (turn_line, bar)
        await until(pilot, lambda: second.done, "the stop", MODEL_WAIT_S)
        await settle(pilot)
        assert not isinstance(app.screen, ErrorScreen)
        ended = str(second.query_one(".turn-status", Static).render())
        assert "stopped by you" in ended and "failed" not in ended  # a stop the user asked for is no failure
        assert second.streamed_pieces == 0 and len(app.history) == 2


async def test_citations_from_a_streamed_answer_open_in_the_viewer_and_editor(indexed, monkeypatch, tmp_path) -> None:
    """Ask through the Ollama protocol double, whose answer cites lines; click the link, then ctrl+o, f6."""
    repo, home = indexed
    reply = ("The total is summed in billing/invoice.py:16-17 with math.fsum. "
             "Lines are kept by billing/invoice.py:13-14.")
    log = tmp_path / "editor.log"
    editor = tmp_path / "fake-editor"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{log}"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    with FakeOllama(reply=reply) as server:
        ws = open_ws(repo, home, monkeypatch)
        app = RepoAssistApp(ws, model="ollama/tiny", api_base=server.host)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press(*"where is the total computed?", "enter")
            turn = app.query_one(Turn)
            await until(pilot, lambda: turn.done, "the answer")
            await settle(pilot)
            assert turn.streamed_pieces > 0
            assert [(c.path, c.start_line, c.end_line) for c in turn.citations] == [
                ("billing/invoice.py", 16, 17), ("billing/invoice.py", 13, 14)]
            # click the first citation where it is drawn
            para = turn.query(MarkdownParagraph).first()
            x = para._content.plain.index("billing/invoice.py:16-17")
            await pilot.click(para, offset=(x + 3, 0))
            viewer = app.query_one(SourceViewer)
            await until(pilot, lambda: viewer.path is not None, "the viewer to open")
            area = app.query_one("#src-text", TextArea)
            assert (viewer.path, viewer.start, viewer.end) == ("billing/invoice.py", 16, 17)
            assert app.query_one(TabbedContent).active == "tab-source"
            assert area.language == "python" and area.read_only
            assert area.selected_text == "".join(SAMPLE_PY.splitlines(keepends=True)[15:17]).rstrip("\n")
            assert area.cursor_location == (15, 0)
            # the keyboard path, from the question box: ctrl+o walks the citations of the last answer
            await pilot.press("escape")
            assert isinstance(app.focused, QuestionInput)
            await pilot.press("ctrl+o", "ctrl+o")
            await until(pilot, lambda: viewer.start == 13, "the second citation")
            assert "self.lines.append" in area.selected_text
            # f6 runs $EDITOR +LINE path
            await pilot.press("f6")
            await until(pilot, log.exists, "the editor to run")
            assert log.read_text().split() == ["+13", str(repo / "billing/invoice.py")]


async def test_a_citation_of_a_missing_file_is_an_error_modal(sample_repo: Path) -> None:
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    plan = planned([PackedSpan("gone.py", 1, 2, "x = 1\n", 5, "", ("dense",), 0.01)])
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.show_answer(answer_for("q", "See gone.py:1-2.", plan))
        await pilot.pause()
        para = turn.query(MarkdownParagraph).first()
        await pilot.click(para, offset=(para._content.plain.index("gone.py") + 2, 0))
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        assert "gone.py is not in the work tree" in str(app.screen.query_one("#error-message", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, ErrorScreen)
        await until(pilot, lambda: "not indexed" in status_text(app), "the status")


async def test_context_panel_lists_packed_and_dropped_spans_and_opens_rows(sample_repo: Path) -> None:
    write(sample_repo, {"app/util.py": UTIL_PY})
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    async with app.run_test(size=SIZE) as pilot:
        await app.show_answer(answer_for("q", "An answer.", planned(INVOICE_SPANS, DROPPED)))
        await pilot.pause()
        packed, dropped = app.query_one("#ctx-packed", DataTable), app.query_one("#ctx-dropped", DataTable)
        assert packed.row_count == 2 and dropped.row_count == 1
        assert packed.get_row_at(0) == ["1", "billing/invoice.py:16-17", "30", "0.0489", "dense,bm25,symbol",
                                        "Invoice.total"]
        assert dropped.get_row_at(0)[1] == "app/util.py:1-20"
        gauge = app.query_one(TokenGauge)
        assert (gauge.used, gauge.budget, gauge.n_ctx) == (110, 1400, 2048)
        packed.focus()
        await pilot.press("down", "enter")
        viewer = app.query_one(SourceViewer)
        await until(pilot, lambda: viewer.path is not None, "the span to open")
        assert (viewer.path, viewer.start, viewer.end) == ("billing/invoice.py", 6, 14)
        await pilot.press("f3")
        assert app.query_one(TabbedContent).active == "tab-context"


async def test_unreachable_model_is_an_error_modal_and_the_app_lives_on(indexed, monkeypatch) -> None:
    repo, home = indexed
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")
    app = RepoAssistApp(open_ws(repo, home, monkeypatch), model="ollama/x")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"anything?", "enter")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        screen = app.screen
        assert "cannot reach Ollama" in str(screen.query_one("#error-message", Static).render())
        assert "ollama serve" in str(screen.query_one("#error-hint", Static).render())
        await pilot.press("enter")  # the OK button has focus
        await until(pilot, lambda: not isinstance(app.screen, ErrorScreen), "the modal to close")
        assert app.is_running and app.busy == ""
        assert "failed" in str(app.query_one(Turn).query_one(".turn-status", Static).render())
        await pilot.press("escape")
        assert isinstance(app.focused, QuestionInput)
        await pilot.press(*"again?", "enter")  # a second question is accepted, and fails the same way
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the second modal")
        assert len(app.query(Turn)) == 2


async def test_reindex_runs_in_a_worker_with_progress_and_tracks_head(sample_repo: Path) -> None:
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    seen = busy_history(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "not indexed" in status_text(app)
        await pilot.press("f5")
        assert "indexing" in seen  # a small repo may be indexed already by now: look at what was, not what is
        await settle(pilot)
        bar = app.query_one("#index-progress", ProgressBar)
        assert bar.total and bar.progress == bar.total and not bar.display
        files = assistant.status(app.ws)["files"]
        await until(pilot, lambda: f"{files} files" in status_text(app), "the new status")
        assert "up to date" in status_text(app)
        write(sample_repo, {"extra.py": "def extra():\n    return 1\n"})
        git(sample_repo, "add", "-A")
        git(sample_repo, "commit", "-q", "-m", "extra")
        app.refresh_status()
        await until(pilot, lambda: "1 commit behind HEAD" in status_text(app), "the stale status")
        await pilot.press("f5")
        await settle(pilot)
        await until(pilot, lambda: "up to date" in status_text(app), "the fresh status")
        assert f"{files + 1} files" in status_text(app)


async def test_keys_table_rebinds_and_help_shows_it(sample_repo: Path) -> None:
    ws = assistant.open_workspace(sample_repo)  # before [keys] exists: config.py does not know the table yet
    (sample_repo / ".repo-assist.toml").write_text('[keys]\nreindex = "ctrl+r"\n')
    app = RepoAssistApp(ws, keymap=load_keymap(sample_repo))
    seen = busy_history(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert ["main", "ctrl+r", "Index", "reindex"] in rows
        assert {r[3] for r in rows} == binding_ids()
        await pilot.press("escape")
        await pilot.press("f5")
        await settle(pilot)
        assert "indexing" not in seen  # f5 no longer re-indexes
        await pilot.press("ctrl+r")
        assert "indexing" in seen
        await settle(pilot)


async def test_model_picker_offers_ollama_models_and_switches(indexed, monkeypatch) -> None:
    repo, home = indexed
    with FakeOllama() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.host)
        app = RepoAssistApp(open_ws(repo, home, monkeypatch))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f2")
            assert isinstance(app.screen, ModelPicker)
            options = app.screen.query_one(OptionList)
            await until(pilot, lambda: options.option_count > 1, "the Ollama models")
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            assert ids == ["llamacpp/default", "ollama/tiny:latest"]
            await pilot.press("down", "enter")
            await until(pilot, lambda: not isinstance(app.screen, ModelPicker), "the picker to close")
            assert app.model_spec == "ollama/tiny:latest"
            assert "ollama/tiny:latest" in str(app.query_one("#status-model", Static).render())
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")
    app = RepoAssistApp(open_ws(repo, home, monkeypatch))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        notes = app.screen.query_one("#model-notes", Static)
        await until(pilot, lambda: "not reachable" in str(notes.render()), "the unreachable note")
        app.screen.query_one("#model-spec", Input).focus()
        await pilot.press(*"nonsense", "enter")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the bad spec modal")
        assert app.model_spec == "llamacpp/default"


# --- the diff review screen -------------------------------------------------------------------


def change_repo(tmp_path: Path) -> tuple[Path, dict, dict, Path]:
    """A repository, the edit the 'model' proposes (three hunks in two files), and its diff file."""
    repo = make_repo(tmp_path / "proj", FILES)
    old = {p: read_text(repo, p) for p in ("app/util.py", "billing/invoice.py")}
    new = {"app/util.py": old["app/util.py"].replace("return x + 0", "return x - 0")
           .replace("return x + 11", "return x + 11.0"),
           "billing/invoice.py": old["billing/invoice.py"].replace("import math\n", "import math\nimport os\n")}
    diff_file = tmp_path / "change.diff"
    diff_file.write_text(make_diff(old, new))
    return repo, old, new, diff_file


def verdict(app) -> str:
    """The review screen's verdict line ("" until the screen is composed)."""
    found = app.screen.query("#review-verdict")
    return str(found.first(Static).render()) if found else ""


def reviewing(app) -> bool:
    return isinstance(app.screen, DiffReviewScreen) and bool(verdict(app))


async def test_review_applies_only_the_accepted_hunks_and_undoes(tmp_path: Path) -> None:
    repo, old, new, diff_file = change_repo(tmp_path)
    app = RepoAssistApp(assistant.open_workspace(repo))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*f"/review {diff_file}", "enter")
        await until(pilot, lambda: reviewing(app), "the review screen")
        screen = app.screen
        await until(pilot, lambda: "apply" in verdict(app) and "checking" not in verdict(app), "the check")
        assert "the 3 accepted hunks apply" in verdict(app)
        # the cursor starts on app/util.py's first hunk: reject it (the cursor moves on to the second hunk),
        # then reject billing/invoice.py as a whole from its file node
        await pilot.press("r")
        await pilot.press("down", "r")
        assert screen.accepted == {(0, 1)}
        await until(pilot, lambda: "the accepted hunk applies" in verdict(app), "the re-check")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.applied is not None, "the apply")
        util = read_text(repo, "app/util.py")
        assert "return x + 11.0" in util and "return x + 0\n" in util
        assert read_text(repo, "billing/invoice.py") == old["billing/invoice.py"]
        assert "applied" in verdict(app) and screen.applied.files == ("app/util.py",)
        await pilot.press("space")  # no selection changes once applied
        assert screen.accepted == {(0, 1)}
        await pilot.press("u")
        await until(pilot, lambda: screen.applied is None, "the undo")
        assert read_text(repo, "app/util.py") == old["app/util.py"]
        assert git(repo, "status", "--porcelain") == ""
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffReviewScreen)
        assert isinstance(app.focused, QuestionInput) or app.focused is None


async def test_review_warns_of_the_uses_a_rejected_hunk_leaves(tmp_path: Path) -> None:
    # A rename in two files: with both accepted nothing is left behind; rejecting the file that uses the name
    # warns of that use (read from the index and the tree), and accepting it again clears the warning.
    repo = make_repo(tmp_path / "proj", {**FILES, "app/run.py": "from app.util import f0\n\nprint(f0(2))\n"})
    assistant.index(assistant.open_workspace(repo))
    old = {p: read_text(repo, p) for p in ("app/run.py", "app/util.py")}
    new = {p: text.replace("f0(", "first(").replace("import f0", "import first") for p, text in old.items()}
    app = RepoAssistApp(assistant.open_workspace(repo))
    async with app.run_test(size=SIZE) as pilot:
        app.review(make_diff(old, new))
        await until(pilot, lambda: reviewing(app), "the review screen")
        screen = app.screen
        await until(pilot, lambda: "the 2 accepted hunks apply" in verdict(app), "the check")
        assert "still uses" not in verdict(app)
        await pilot.press("up", "r")  # app/run.py's file node
        assert screen.accepted == {(1, 0)}
        await until(pilot, lambda: "still uses" in verdict(app), "the stale-use warning")
        assert "f0 was removed or renamed in app/util.py, but app/run.py:1 still uses f0" in verdict(app)
        assert "the accepted hunk applies" in verdict(app)  # a warning, not a refusal
        await pilot.press("up", "space")
        await until(pilot, lambda: "the 2 accepted hunks apply" in verdict(app), "the re-check")
        assert "still uses" not in verdict(app)


@asynccontextmanager
async def review_with_check(tmp_path: Path, check: str):
    """The review of change_repo's diff, its 3 hunks checked to apply, with ``check`` (Python) as the test_command:
    (app, pilot, repo, old texts)."""
    repo, old, _, diff_file = change_repo(tmp_path)
    (repo / ".repo-assist.toml").write_text(f'test_command = "{sys.executable} -c \\"{check}\\""\n')
    app = RepoAssistApp(assistant.open_workspace(repo))
    async with app.run_test(size=SIZE) as pilot:
        app.review(diff_file.read_text())
        await until(pilot, lambda: reviewing(app), "the review screen")
        await until(pilot, lambda: "the 3 accepted hunks apply" in verdict(app), "the check")
        yield app, pilot, repo, old


async def test_review_runs_the_check_on_the_accepted_hunks(tmp_path: Path) -> None:
    # `t` runs the repository's test_command on a patched copy with the hunks accepted now; changing the
    # selection clears the verdict, and the work tree is never written by a check.
    check = "import sys; sys.exit('x - 0' in open('app/util.py').read())"
    async with review_with_check(tmp_path, check) as (app, pilot, repo, old):
        await pilot.press("t")
        await until(pilot, lambda: "failed (exit 1) on a patched copy" in verdict(app), "the failed check")
        assert read_text(repo, "app/util.py") == old["app/util.py"]
        await pilot.press("r")  # the cursor is on app/util.py's first hunk: the one the check fails on
        await until(pilot, lambda: "the 2 accepted hunks apply" in verdict(app), "the re-check")
        assert "failed" not in verdict(app)
        await pilot.press("t")
        await until(pilot, lambda: "passed on a patched copy" in verdict(app), "the passing check")


async def test_closing_the_review_ends_the_check_it_started(tmp_path: Path) -> None:
    # the check would outlast the test's wait for its end; closing the review ends it and everything it started
    pid = tmp_path / "check.pid"
    check = f"import os, time; open({str(pid)!r}, 'w').write(str(os.getpid())); time.sleep({3 * WAIT_S})"
    async with review_with_check(tmp_path, check) as (app, pilot, repo, old):
        await pilot.press("t")
        await until(pilot, lambda: pid.exists() and pid.read_text(), "the check to start")
        await pilot.press("escape")
        await until(pilot, lambda: not reviewing(app), "the review to close")
        status = Path(f"/proc/{pid.read_text()}/status")  # gone (or a zombie left for init to reap)
        await until(pilot, lambda: not status.exists() or "\nState:\tZ" in status.read_text(), "the check to end")
        await app.workers.wait_for_complete()
    assert read_text(repo, "app/util.py") == old["app/util.py"]


async def test_review_warns_of_syntax_errors_until_forced(tmp_path: Path) -> None:
    repo, old, _, _ = change_repo(tmp_path)
    broken = make_diff({"app/util.py": old["app/util.py"]},
                       {"app/util.py": old["app/util.py"].replace("def f3(x):", "def f3(x:")})
    app = RepoAssistApp(assistant.open_workspace(repo))
    async with app.run_test(size=SIZE) as pilot:
        app.review(broken, ("the model's answer was cut at its token limit",))
        await until(pilot, lambda: reviewing(app), "the review screen")
        screen = app.screen
        await until(pilot, lambda: "syntax error" in verdict(app), "the syntax warning")
        assert "git apply --check passes" in verdict(app)
        assert "token limit" in verdict(app)  # warnings handed in are shown before applying
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        assert screen.applied is None and read_text(repo, "app/util.py") == old["app/util.py"]
        await pilot.press("f", "ctrl+s")
        await until(pilot, lambda: screen.applied is not None, "the forced apply")
        assert "def f3(x:" in read_text(repo, "app/util.py")
        await pilot.press("u")
        await until(pilot, lambda: screen.applied is None, "the undo")
        assert read_text(repo, "app/util.py") == old["app/util.py"]


async def test_apply_over_a_dirty_file_is_refused_with_a_modal(tmp_path: Path) -> None:
    repo, old, _, diff_file = change_repo(tmp_path)
    (repo / "billing/invoice.py").write_text(old["billing/invoice.py"] + "# wip\n")
    app = RepoAssistApp(assistant.open_workspace(repo))
    async with app.run_test(size=SIZE) as pilot:
        app.review(diff_file.read_text())
        await until(pilot, lambda: reviewing(app), "the review screen")
        await until(pilot, lambda: "apply" in verdict(app) and "checking" not in verdict(app), "the check")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        assert "uncommitted changes in billing/invoice.py" in str(app.screen.query_one("#error-message").render())
        await pilot.press("escape")
        assert isinstance(app.screen, DiffReviewScreen) and app.screen.applied is None
        assert read_text(repo, "app/util.py") == old["app/util.py"]
        # the tree changed under the review: a failed apply checks the selection again, and the verdict says so
        (repo / "app/util.py").write_text("x = 1\n")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        await pilot.press("escape")
        await until(pilot, lambda: "does not apply" in verdict(app), "the verdict checked again")


async def test_unknown_command_and_missing_diff_file_are_modals(sample_repo: Path) -> None:
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"/frobnicate", "enter")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the modal")
        assert "/review" in str(app.screen.query_one("#error-hint").render())
        await pilot.press("escape")
        await pilot.press(*"/review nowhere.diff", "enter")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the modal")
        assert "nowhere.diff is not a file" in str(app.screen.query_one("#error-message").render())
        await pilot.press("escape")
        await pilot.press(*"/undo", "enter")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the nothing-to-undo modal")
        assert "nothing to undo" in str(app.screen.query_one("#error-message").render())


EDIT_REPLY = """I will change f0.

app/util.py
```python
<<<<<<< SEARCH
def f0(x):
    return x + 0
=======
def f0(x):
    return x - 0
>>>>>>> REPLACE
```
"""


@asynccontextmanager
async def refactor_review(repo: Path, meanwhile=None):
    """The app on ``repo`` (indexed here), the protocol double answering EDIT_REPLY, after `/refactor` opened the
    review screen (``meanwhile(app, pilot)`` runs while the refactor works)."""
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    async with refactoring(ws, EDIT_REPLY) as (app, pilot):
        if meanwhile is not None:
            await meanwhile(app, pilot)
        await until(pilot, lambda: reviewing(app), "the review screen")
        yield app, pilot


@asynccontextmanager
async def refactoring(ws, reply: str):
    """The app on ``ws``, the protocol double answering ``reply``, right after `/refactor make f0 subtract`."""
    with FakeOllama(reply=reply) as server:
        app = RepoAssistApp(ws, model="ollama/tiny", api_base=server.host)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press(*"/refactor make f0 subtract", "enter")
            yield app, pilot


async def test_refactor_whose_check_fails_shows_it_in_the_review(tmp_path: Path) -> None:
    # The repository's test_command fails on the patched copy (and no retry is left): the review still opens,
    # with the check's failure and its last line among the warnings.
    # While the check runs (it waits here for a file the test writes), the turn says so.
    repo = make_repo(tmp_path / "proj", FILES)
    go = tmp_path / "go"
    check = (f"import os, sys, time\\nend = time.time() + {WAIT_S}\\n"  # (not forever: a test that fails must end)
             f"while not os.path.exists({str(go)!r}) and time.time() < end: time.sleep(0.05)\\n"
             "print('f0 must add'); sys.exit(1)")
    (repo / ".repo-assist.toml").write_text(f'test_command = """{sys.executable} -c "{check}" """\nrefactor_retries = 0\n')

    async def wait_for_the_check(app, pilot) -> None:
        await until(pilot, lambda: "checking the patch with" in str(app.query_one(".turn-status", Static).render()),
                    "the checking status")
        go.write_text("")

    async with refactor_review(repo, wait_for_the_check) as (app, _):
        assert "failed (exit 1) on a patched copy" in verdict(app) and "f0 must add" in verdict(app)
        assert read_text(repo, "app/util.py") == UTIL_PY


async def test_ctrl_g_ends_a_refactors_check_and_opens_no_review(tmp_path: Path) -> None:
    # The check (test_command) would run for WAIT_S; it writes its pid, and the stop key ends it and its children.
    repo = make_repo(tmp_path / "proj", FILES)
    pid = tmp_path / "check.pid"
    check = f"import os, time\\nopen({str(pid)!r}, 'w').write(str(os.getpid()))\\ntime.sleep({WAIT_S})"
    (repo / ".repo-assist.toml").write_text(f'test_command = """{sys.executable} -c "{check}" """\nrefactor_retries = 0\n')
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    async with refactoring(ws, EDIT_REPLY) as (app, pilot):
        turn = app.query_one(Turn)
        await until(pilot, lambda: pid.exists() and pid.read_text(), "the check to start")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: turn.done, "the stop")
        await settle(pilot)
        assert not reviewing(app) and not isinstance(app.screen, ErrorScreen)
        ended = str(turn.query_one(".turn-status", Static).render())
        assert "stopped by you" in ended and "failed" not in ended
        status = Path(f"/proc/{pid.read_text()}/status")  # the check is gone (or a zombie left for init to reap)
        assert not status.exists() or "\nState:\tZ" in status.read_text()
    assert read_text(repo, "app/util.py") == UTIL_PY


async def test_refactor_streams_edit_blocks_then_opens_the_review(tmp_path: Path, monkeypatch) -> None:
    """/refactor through the real engine, with the Ollama protocol double as the model; apply and undo."""
    repo = make_repo(tmp_path / "proj", FILES)
    async with refactor_review(repo) as (app, pilot):
        screen = app.screen
        assert [f.path for f in screen.files] == ["app/util.py"]
        turn = app.query_one(Turn)
        assert turn.streamed_pieces > 0 and "<<<<<<< SEARCH" in turn.markdown.source
        assert app.query_one("#ctx-packed", DataTable).row_count > 0
        await until(pilot, lambda: "accepted hunk applies" in verdict(app), "the check")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.applied is not None, "the apply")
        assert "return x - 0" in read_text(repo, "app/util.py")
        await pilot.press("escape")
        await pilot.press(*"/undo", "enter")  # the chat command pops the same undo stack
        await until(pilot, lambda: "return x + 0" in read_text(repo, "app/util.py"), "the undo")
        assert git(repo, "status", "--porcelain") == ""


# --- a refactor that gets no edit block, the status bar, the terminal check --------------------------------------

NO_BLOCKS_REPLY = "".join(f"Step {i}: consider how f0 might subtract instead of adding.\n\n" for i in range(60))


@asynccontextmanager
async def refactor_refused(tmp_path: Path):
    """The app after `/refactor` streamed a long answer with no edit block (no retry) and its error modal closed."""
    repo = make_repo(tmp_path / "proj", FILES)
    (repo / ".repo-assist.toml").write_text("refactor_retries = 0\n")
    ws = assistant.open_workspace(repo)
    assistant.index(ws)
    async with refactoring(ws, NO_BLOCKS_REPLY) as (app, pilot):
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        assert "produced no change" in str(app.screen.query_one("#error-message", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        yield app, pilot


async def test_a_refused_refactor_says_so_below_its_streamed_answer_in_view(tmp_path: Path) -> None:
    async with refactor_refused(tmp_path) as (app, pilot):
        turn = app.query_one(Turn)
        assert turn.streamed_pieces > 0 and "Step 59" in turn.markdown.source
        status = turn.query_one(".turn-status", Static)
        assert "failed: the model's edits produced no change" in str(status.render())
        assert status.virtual_region.y > turn.markdown.virtual_region.y  # after the answer, where it ended
        transcript = app.query_one("#transcript")
        await until(pilot, lambda: transcript.region.contains_region(status.region), "the outcome in view")


async def test_a_refused_refactor_shows_the_context_it_used(tmp_path: Path) -> None:
    async with refactor_refused(tmp_path) as (app, _):
        panel = app.query_one(ContextPanel)
        assert app.query_one("#ctx-packed", DataTable).row_count == len(panel.packed) > 0
        assert any(s.path == "app/util.py" for s in panel.packed)
        assert "ollama/tiny" in str(app.query_one("#ctx-model", Static).render())
        assert not app.query_one("#ctx-empty").display


def screen_line(widget) -> str:
    """The first line of ``widget`` as drawn (cropped to its width), not the text it was given."""
    from textual.geometry import Region

    strip = widget.render_lines(Region(0, 0, widget.size.width, 1))[0]
    return strip.text


async def test_freshness_survives_a_narrow_status_bar(sample_repo: Path) -> None:
    assistant.index(assistant.open_workspace(sample_repo))
    write(sample_repo, {"extra.py": "def extra():\n    return 1\n"})
    git(sample_repo, "add", "-A")
    git(sample_repo, "commit", "-q", "-m", "extra")
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        widget = app.query_one("#status-index", Static)
        await until(pilot, lambda: "behind" in status_text(app), "the status")
        drawn = screen_line(widget)
        assert "1 commit behind HEAD" in drawn, drawn
        assert "commit " + git(sample_repo, "rev-parse", "HEAD~1").strip()[:12] not in drawn  # dropped first
        await pilot.resize_terminal(160, 24)
        await until(pilot, lambda: "commit " in screen_line(widget).replace("1 commit behind", ""),
                    "the commit id back")
        assert "5 files" in screen_line(widget) and "1 commit behind HEAD" in screen_line(widget)


async def test_no_f5_offered_when_a_file_blocks_the_index_home(sample_repo: Path, tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("REPO_ASSIST_HOME", str(blocker / "indexes"))
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    async with app.run_test(size=(240, 36)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: "is a file" in status_text(app), "the status")
        text = status_text(app)
        assert f"no index: {blocker} is a file · point REPO_ASSIST_HOME" in text  # what is wrong, and what to do
        assert "F5" not in text and "not indexed" not in text
    monkeypatch.setenv("REPO_ASSIST_HOME", str(tmp_path / "indexes"))  # a home that is simply empty: F5 it is
    app = RepoAssistApp(assistant.open_workspace(sample_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: "not indexed" in status_text(app), "the status")
        assert "F5 indexes" in status_text(app)


async def test_counts_of_one_read_in_the_singular(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "one", {"one.py": "def one():\n    return 1\n"})
    app = RepoAssistApp(assistant.open_workspace(repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await until(pilot, lambda: "up to date" in status_text(app), "the fresh status")
        assert "1 file · 1 chunk · commit" in status_text(app)
        notes = [str(n.message) for n in app._notifications]
        assert any(n.startswith("indexed 1 file, 1 chunk: 1 embedded") for n in notes), notes


def test_the_tui_refuses_a_redirected_stderr(sample_repo: Path, tmp_path: Path) -> None:
    """`repo-assist tui 2>file` in a terminal: Textual would draw on stderr, into the file; one line and exit 2."""
    import pty
    import subprocess

    main, tty = pty.openpty()
    err = tmp_path / "err.txt"
    try:
        with err.open("wb") as err_file:
            proc = subprocess.run([sys.executable, "-m", "repo_assist.cli", "tui", str(sample_repo)], stdin=tty,
                                  stdout=tty, stderr=err_file, timeout=WAIT_S, env=os.environ.copy())
    finally:
        os.close(tty)
        os.close(main)
    text = err.read_text()
    assert proc.returncode == 2
    assert text.count("\n") == 1 and "\x1b" not in text, text
    assert "needs a terminal, and stderr is not one" in text


def test_the_tui_draws_where_silencing_llama_cpp_logs_cannot_reach(tmp_path: Path) -> None:
    """While the embedded backend loads a model it points fd 2 at /dev/null; what the app draws meanwhile (on
    ``sys.__stderr__``, where Textual draws) must still reach the terminal."""
    import pty
    import subprocess

    script = ("import sys\n"
              "from repo_assist.backends.llamacpp import quiet_stderr\n"
              "from repo_assist.cli_tui import own_terminal_stream\n"
              "with own_terminal_stream(), quiet_stderr():\n"
              "    sys.__stderr__.write('drawn while the model loads'); sys.__stderr__.flush()\n"
              "sys.__stderr__.write(' / after'); sys.__stderr__.flush()\n")
    main, tty = pty.openpty()
    try:
        try:
            proc = subprocess.run([sys.executable, "-c", script], stdin=tty, stdout=tty, stderr=tty,
                                  timeout=WAIT_S, env=os.environ.copy())
        finally:
            os.close(tty)
        out = b""
        while piece := _read_pty(main):
            out += piece
    finally:
        os.close(main)
    assert proc.returncode == 0, out
    assert b"drawn while the model loads / after" in out, out


def _read_pty(fd: int) -> bytes:
    """The next bytes from a pty's main side; b"" once the other side is closed and all was read (EIO on Linux)."""
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""
