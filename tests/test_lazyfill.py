"""Lazy answers: a REPLACE that keeps quoted lines as ``// ... existing code ...``, filled in or refused.

Each row goes through the real cascade (``apply_blocks``); the ones filled in
also through a diff that ``git apply --check`` accepts on a real repository.
"""

from __future__ import annotations

import pytest

from repo_assist.elisions import LEFT_OUT_RE
from repo_assist.matching import apply_blocks
from repo_assist.patch import check, make_diff
from repo_assist.records import EditBlock

from .conftest import make_repo

STORE = '''import os


class Store:
    def __init__(self, root):
        self.root = root

    def get(self, key):
        p = os.path.join(self.root, key)
        if not os.path.exists(p):
            return None
        return open(p).read()

    def put(self, key, value):
        with open(os.path.join(self.root, key), "w") as f:
            f.write(value)
'''
GET = STORE[STORE.index("    def get"):STORE.index("    def put")].rstrip("\n") + "\n"
CLASS = STORE[STORE.index("class Store"):]
JS = "function run(x) {\n  if (x) {\n    a();\n  }\n  b();\n}\n\nfunction stop() {\n}\n\nmodule.exports = { run };\n"
HAS = "\n    def has(self, key):\n        return os.path.exists(os.path.join(self.root, key))\n"
DELETE = "\n    def delete(self, key):\n        os.remove(os.path.join(self.root, key))\n"

FILLED = [
    # The body elided between its quoted first and last lines, a method added after it.
    ("app.py", GET, "    def get(self, key):\n        # ... existing code ...\n        return open(p).read()\n" + HAS,
     STORE.replace("        return open(p).read()\n", "        return open(p).read()\n" + HAS)),
    # ... said in words, no ellipsis.
    ("app.py", GET, "    def get(self, key):\n        # rest of the method stays the same\n        return open(p).read()\n" + HAS,
     STORE.replace("        return open(p).read()\n", "        return open(p).read()\n" + HAS)),
    # The class's head quoted, its methods elided, a new one at its end.
    ("app.py", CLASS, "class Store:\n    # ... existing methods ...\n" + DELETE, STORE + DELETE),
    # Quoted lines neither kept nor elided are deleted, as in any block (`put`).
    ("app.py", CLASS, CLASS.split("\n\n    def put")[0].replace(GET.split("\n", 1)[1].rsplit("\n", 2)[0],
                                                             "        # ... existing code ...") + "\n",
     STORE.split("\n\n    def put")[0] + "\n"),
    # A whole file written out lazily (empty SEARCH): its head changed, the rest `unchanged` (the blank lines beside
    # the elision are the ones after the quoted line).
    ("app.py", "", "import sys\nimport os\n\n\n# ... rest of the file unchanged ...\n",
     STORE.replace("import os\n", "import sys\nimport os\n")),
    # ... a class's methods elided, a blank line beside the elision that is the one before the quoted `def put`.
    ("app.py", CLASS, "class Store:\n    def __init__(self, root):\n    # ... existing code ...\n\n"
     "    def put(self, key, value):\n        with open(os.path.join(self.root, key), 'wb') as f:\n            f.write(value)\n",
     STORE.replace('"w")', "'wb')")),
]


@pytest.mark.parametrize("path, search, replace, want", FILLED)
def test_lazy_replace_is_filled_in_from_search(tmp_path, path, search, replace, want) -> None:
    old = STORE if path == "app.py" else JS
    result = apply_blocks({path: old}, [EditBlock(path, search, replace)])
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files[path] == want
    assert result.applied[0][1].endswith("+filled")  # (said, so that a reader checks the lines it stands for)
    repo = make_repo(tmp_path, {path: old})
    check(repo, make_diff({path: old}, result.new_files))


REFUSED = [
    # A new line beside the elision reads as one it stands for rewritten: kept and rewritten, it would be there twice.
    ("app.py", GET, "    def get(self, key):\n        # ... existing code ...\n        return open(p, 'rb').read()\n"),
    ("app.py", GET, "    def get(self, key, default=None):\n        # ... existing code ...\n        return open(p).read()\n"),
    # The elision stands for no quoted line: the model elided lines it never quoted.
    ("run.js", "  b();\n}\n", "  b();\n  // ... existing code ...\n  c();\n}\n"),
    # A new line between the elision and a quoted line: added after the elided lines, or rewriting the last of them?
    ("app.py", GET, "    def get(self, key):\n        # ... existing code ...\n        log(key)\n        return open(p).read()\n"),
    # A lone `}` beside the elision where SEARCH has two between the lines it has once: which one is it?
    ("run.js", JS.split("\n\n")[0] + "\n", "function run(x) {\n  if (x) {\n    // ... existing code ...\n  }\n}\n"),
    # Two blank lines beside the elision where SEARCH has one after or before the quoted line: which are elided?
    ("app.py", CLASS, "class Store:\n    def __init__(self, root):\n        self.root = root\n\n\n    # ... existing code ...\n"
     "    def put(self, key, value):\n        with open(os.path.join(self.root, key), 'wb') as f:\n            f.write(value)\n"),
    ("app.py", CLASS, "    def get(self, key):\n        # ... existing code ...\n\n\n"
     "    def put(self, key, value):\n        with open(os.path.join(self.root, key), 'wb') as f:\n            f.write(value)\n"),
    # Two elisions with a new line between: which side of the kept lines it goes on is open.
    ("app.py", GET, "    def get(self, key):\n        # ...\n        log(key)\n        # ...\n"),
    # Filled in, it changes nothing.
    ("app.py", GET, "    def get(self, key):\n        # ... existing code ...\n"),
    # A comment saying code is kept, with the body it stands for dropped (a new line beside it, and no quoted line
    # below): read as text, it would delete the body.
    ("run.js", JS.split("\n\n")[0] + "\n", "function run(x) {\n  // existing code\n  c();\n"),
    # A line re-indented beside the elision is a changed line, not a quoted one (here the block also drops the
    # `with` whose body it dedents): read as quoted, the elided `b()` would keep the old depth.
    ("f.py", "def f():\n    with lock:\n        a()\n        b()\n    c()\n", "def f():\n    a()\n    # ... existing code ...\n    c()\n"),
    # A document's `...` lines are as often its own text: never filled in.
    ("NOTES.md", "# Notes\n\nFirst.\nSecond.\n", "# Notes\n\n<!-- ... existing notes ... -->\nThird.\n"),
]


@pytest.mark.parametrize("path, search, replace", REFUSED)
def test_lazy_replace_left_open_is_refused(path, search, replace) -> None:
    old = {"app.py": STORE, "run.js": JS}.get(path, search)
    result = apply_blocks({path: old}, [EditBlock(path, search, replace)])
    assert result.failed and "elides code" in result.failed[0].reason, [f.reason for f in result.failed]
    assert result.new_files[path] == old


GET_DEFAULT = GET.replace("key):", "key, default=None):").replace("return None", "return default")
TAILED = STORE.replace("key)\n        if", "key)  \n        if")  # trailing spaces on a line SEARCH elides
SPELLED_OUT = [
    # SEARCH elides the body between its first and last lines; REPLACE writes the method out again, changed.
    (STORE, "    def get(self, key):\n        ...\n        return open(p).read()\n", GET_DEFAULT),
    # ... quoted and rewritten a level shallower than the file has it (the elided lines are read the same way).
    (STORE, "def get(self, key):\n    # ...\n    return open(p).read()\n", "\n".join(x[4:] for x in GET_DEFAULT.split("\n"))),
    # An elided line's trailing spaces, which the model never saw, are kept where REPLACE writes the line without.
    (TAILED, "def get(self, key):\n    # ...\n    return open(p).read()\n", "\n".join(x[4:] for x in GET_DEFAULT.split("\n"))),
]


@pytest.mark.parametrize("old, search, replace", SPELLED_OUT)
def test_elided_search_with_the_region_written_out_whole(old, search, replace) -> None:
    result = apply_blocks({"app.py": old}, [EditBlock("app.py", search, replace)])
    assert not result.failed, [f.reason for f in result.failed]
    tailed = old != STORE
    want = STORE.replace(GET, GET_DEFAULT)
    assert result.new_files["app.py"] == (want.replace("key)\n        if", "key)  \n        if") if tailed else want)


@pytest.mark.parametrize("path, search, replace", [
    # REPLACE drops what SEARCH elided: written out, or meant to be kept? Open.
    ("app.py", "    def get(self, key):\n        ...\n        return open(p).read()\n",
     "    def get(self, key, default=None):\n        return open(p).read()\n"),
    # The last piece is a bare `}`, and the file has two after the first piece: which one ends the region?
    ("run.js", "function run(x) {\n  // ...\n}\n", "function run(x) {\n  if (x) {\n    a();\n  }\n  c();\n}\n"),
])
def test_elided_search_with_the_region_not_clearly_written_out_is_refused(path, search, replace) -> None:
    old = {"app.py": STORE, "run.js": JS}[path]
    result = apply_blocks({path: old}, [EditBlock(path, search, replace)])
    assert result.failed and "elide" in result.failed[0].reason, [f.reason for f in result.failed]


@pytest.mark.parametrize("line, left_out", [
    ("        # rest of the method stays the same", True), ("  // existing code", True), ("# rest unchanged", True),
    ("<!-- rest of the content unchanged -->", True), ("/* existing implementation */", True),
    ("    # other settings", False), ("// previous behaviour kept for old clients", False),
    ("# TODO: rest of the code", False), ("print('existing code')", False),
])
def test_comment_saying_code_is_left_out(line, left_out) -> None:
    assert bool(LEFT_OUT_RE.match(line)) is left_out


def test_comment_saying_code_is_left_out_that_the_file_has_is_its_text() -> None:
    text = "def f():\n    # existing code\n    return 1\n"
    result = apply_blocks({"f.py": text}, [EditBlock("f.py", "    return 1\n", "    # existing code\n    return 2\n")])
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["f.py"] == "def f():\n    # existing code\n    # existing code\n    return 2\n"


def test_lazy_replace_is_filled_in_only_where_the_cascade_reads_elisions() -> None:
    path, search, replace, want = FILLED[0]
    result = apply_blocks({path: STORE}, [EditBlock(path, search, replace)], levels=("exact", "whitespace"))
    assert result.failed and "elides code" in result.failed[0].reason


def test_refusal_says_which_elision_and_why() -> None:
    # (the reason goes back to the model with the nearest lines: it says what to write out)
    replace = "    def get(self, key):\n        # ... existing code ...\n        return open(p, 'rb').read()\n"
    reason = apply_blocks({"app.py": STORE}, [EditBlock("app.py", GET, replace)]).failed[0].reason
    assert "'# ... existing code ...'" in reason and "open(p, 'rb')" in reason and "rewritten" in reason
