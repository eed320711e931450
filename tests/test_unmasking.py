"""Secrets and edit blocks: the model sees values redacted, the file keeps them, nothing it is sent holds them."""

from __future__ import annotations

import json

import pytest

from repo_assist import assistant
from repo_assist.matching import apply_blocks
from repo_assist.records import EditBlock

from .conftest import make_repo, run_cli as run
from .fake_ollama import FakeOllama

SECRET = "S3cr3tP4ssw0rd"
CONF = f'''import os

DEBUG = False
db_url = "postgres://admin:{SECRET}@db.internal:5432/app"
TIMEOUT = 30


def connect():
    return open_db(db_url, TIMEOUT)
'''
SHOWN = 'db_url = "postgres://[REDACTED]@db.internal:5432/app"'
TWO = CONF.replace("TIMEOUT = 30", 'replica_url = "postgres://reader:Xy9zQ8wV7u@db.internal:5432/app"')


def edit(text: str, search: str, replace: str) -> tuple[str | None, list[str]]:
    res = apply_blocks({"conf.py": text}, [EditBlock("conf.py", search, replace)])
    return res.new_files.get("conf.py") if not res.failed else None, [f.reason for f in res.failed]


@pytest.mark.parametrize("search, replace, expected", [
    # the quoted secret line renamed: its value is the file's
    (f"DEBUG = False\n{SHOWN}\n", f"DEBUG = False\ndatabase_url = {SHOWN.split(' = ')[1]}\n",
     CONF.replace("db_url = ", "database_url = ", 1)),
    # quoted and kept, another line changed: the line stays byte for byte
    (f"{SHOWN}\nTIMEOUT = 30\n", f"{SHOWN}\nTIMEOUT = 60\n", CONF.replace("TIMEOUT = 30", "TIMEOUT = 60")),
    # a new line written from the one secret line it is like takes that line's value
    (f"{SHOWN}\n", f'{SHOWN}\nreplica_url = "postgres://[REDACTED]@replica.internal:5432/app"\n',
     CONF.replace("TIMEOUT = 30", f'replica_url = "postgres://admin:{SECRET}@replica.internal:5432/app"\nTIMEOUT = 30')),
])
def test_redacted_values_are_written_as_the_file_has_them(search, replace, expected):
    new, failed = edit(CONF, search, replace)
    assert failed == [] and new == expected
    assert "[REDACTED]" not in new


def test_a_quoted_secret_line_is_the_one_where_search_stands():
    a, b = "ghp_" + "A1b2" * 9, "ghp_" + "C3d4" * 9
    text = f'def a():\n    token = "{a}"\n    return call(token, 1)\n\n\ndef b():\n    token = "{b}"\n    return call(token, 2)\n'
    quote = '    token = "[REDACTED]"\n    return call(token, {})\n'
    res = apply_blocks({"t.py": text}, [EditBlock("t.py", quote.format(2), quote.format(3).replace("token =", "tok ="))])
    assert not res.failed and res.new_files["t.py"] == text.replace(f'token = "{b}"\n    return call(token, 2)',
                                                                   f'tok = "{b}"\n    return call(token, 3)')
    # quoted alone, the line is either token: refused, never guessed
    line = '    token = "[REDACTED]"\n'
    res = apply_blocks({"t.py": text}, [EditBlock("t.py", line, line.replace("token =", "tok ="))])
    assert res.failed and "t.py" not in {p for p, t in res.new_files.items() if t != text}


def test_a_value_that_cannot_be_told_is_refused_not_written():
    # two secret lines, the new one like both alike: which value it means is open
    new, failed = edit(TWO, "DEBUG = False\n", 'DEBUG = False\nstandby_url = "postgres://[REDACTED]@db.internal:5432/app"\n')
    assert new is None and "cannot be told" in failed[0] and "[REDACTED]" in failed[0]
    # a line that matches no secret line's text at all
    new, failed = edit(CONF, "DEBUG = False\n", 'DEBUG = False\npassword = "[REDACTED]"\n')
    assert new is None and "cannot be told" in failed[0]


def test_a_file_holding_the_mask_text_itself_is_left_alone():
    text = 'MASK = "[REDACTED]"\nassert redact(x) == "[REDACTED]"\n'
    new, failed = edit(text, 'assert redact(x) == "[REDACTED]"\n', 'assert redact(y) == "[REDACTED]"\n')
    assert failed == [] and new == text.replace("redact(x)", "redact(y)")
    # ... and beside a secret: the line that holds the text itself is no redacted line
    text = CONF + 'MASK = "[REDACTED]"\n'
    new, failed = edit(text, 'MASK = "[REDACTED]"\n', 'MASK = "[REDACTED]"\nSHOWN = MASK\n')
    assert failed == [] and new == text + "SHOWN = MASK\n"


def test_a_file_written_out_whole_keeps_its_secrets():
    whole = CONF.replace(f"admin:{SECRET}", "[REDACTED]").replace("TIMEOUT = 30", "TIMEOUT = 45")
    new, failed = edit(CONF, "", whole)
    assert failed == [] and new == CONF.replace("TIMEOUT = 30", "TIMEOUT = 45")


MISSED = f"""conf.py
```python
<<<<<<< SEARCH
{SHOWN}
POOL_SIZE = 10
MAX_OVERFLOW = 20
=======
database_url = "postgres://[REDACTED]@db.internal:5432/app"
POOL_SIZE = 10
MAX_OVERFLOW = 20
>>>>>>> REPLACE
```
"""
RIGHT = f"""conf.py
```python
<<<<<<< SEARCH
{SHOWN}
TIMEOUT = 30
=======
database_url = "postgres://[REDACTED]@db.internal:5432/app"
TIMEOUT = 30
>>>>>>> REPLACE
```
"""


def test_no_request_to_the_model_holds_the_secret_retry_included(tmp_path, capsys, monkeypatch):
    repo = make_repo(tmp_path / "svc", {"conf.py": CONF})
    assistant.index(assistant.open_workspace(repo))
    with FakeOllama(replies=[MISSED, RIGHT]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        code, out, err = run(capsys, "refactor", "rename db_url to database_url", "--repo", str(repo),
                             "--model", "ollama/tiny", "--json")
        sent = [m["content"] for body in fake.chat_requests() for m in body["messages"]]
    assert code == 0, err
    data = json.loads(out)
    assert data["attempts"] == 2 and data["files"] == ["conf.py"]
    assert all(SECRET not in text for text in sent)
    # the retry showed the nearest lines as the context did, secret redacted
    assert "closest lines" in sent[-1] and SHOWN in sent[-1]
    assert f'+database_url = "postgres://admin:{SECRET}@db.internal:5432/app"' in data["diff"]
