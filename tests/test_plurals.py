"""Counts in the text people read are singular for one ("1 file", never "1 files"); --json keeps the numbers."""

from __future__ import annotations

from repo_assist import assistant
from repo_assist.doctor import check_index
from repo_assist.plurals import counted

from .conftest import git, make_repo, run_cli, run_json, write
from .fake_ollama import FakeOllama

ADD = "def add(a, b):\n    return a + b\n"
RESPONSE = "m.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return b + a\n>>>>>>> REPLACE\n"


def test_counted_nouns():
    assert [counted(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert counted(1, "syntax error") == "1 syntax error" and counted(3, "syntax error") == "3 syntax errors"
    assert (counted(2, "entry"), counted(2, "day"), counted(2, "match"), counted(2, "index")) == (
        "2 entries", "2 days", "2 matches", "2 indexes")
    assert counted(2, "datum", "data") == "2 data" and counted(1, "datum", "data") == "1 datum"


def test_index_status_and_doctor_say_one_file_one_chunk_one_commit(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    code, out, err = run_cli(capsys, "index", str(repo))
    assert code == 0, err
    assert out.startswith("indexed 1 file, 1 chunk in ") and "1 chunk embedded" in out, out
    assert "(1 new or changed file read)" in out and "0 files unchanged" in out, out

    write(repo, {"m.py": ADD + "\n"})
    git(repo, "commit", "-qam", "two")
    code, out, err = run_cli(capsys, "status", str(repo))
    assert code == 0, err
    assert "index     1 file, 1 chunk (" in out and "(1 commit behind HEAD)" in out, out
    assert "the index is 1 commit behind HEAD" in out  # (the freshness warning says it alike)
    code, data, err = run_json(capsys, "status", str(repo), "--json")
    assert (data["files"], data["chunks"], data["commits_behind"]) == (1, 1, 1)  # numbers, as before

    detail = check_index(assistant.open_workspace(repo)).detail
    assert detail.startswith("1 file, 1 chunk; "), detail


def test_a_refactor_written_to_a_file_says_one_file(tmp_path, capsys):
    repo = make_repo(tmp_path / "r", {"m.py": ADD})
    assistant.index(assistant.open_workspace(repo))
    with FakeOllama(reply=RESPONSE) as fake:
        code, out, err = run_cli(capsys, "refactor", "swap the operands", "--repo", str(repo), "--model", "ollama/tiny",
                                 "--api-base", fake.host, "-o", str(tmp_path / "x.diff"))
    assert code == 0, err
    assert f"wrote {tmp_path / 'x.diff'} (1 file)" in err, err
