"""Model answers → edit blocks → matched edits → a diff git accepts (or a refusal).

The table below is the contract: each row is an answer a model could give,
run through the real pipeline (parse_blocks → load_targets → apply_blocks →
make_diff → git apply --check) on a real git repository.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest

from repo_assist.edits import parse_blocks, parse_edits, render_blocks, resolve_path
from repo_assist.errors import PatchError, UnsafePathError
from repo_assist.elisions import ELISION_RE
from repo_assist.matching import apply_blocks
from repo_assist.patch import check, load_targets, make_diff
from repo_assist.records import EditBlock

from .conftest import git, make_repo

APP = '''import os


def load(path):
    with open(path) as fh:
        return fh.read()


def save(path, data):
    with open(path, "w") as fh:
        fh.write(data)


class Store:
    def __init__(self, root):
        self.root = root

    def get(self, key):
        value = load(os.path.join(self.root, key))
        return value.strip()
'''

DUP = '''def first():
    x = 1
    return 0


def second():
    x = 1
    return 0
'''

FILES = {
    "app.py": APP,
    "dup.py": DUP,
    "win.txt": "alpha\r\nbeta\r\ngamma\r\n",
    "open.txt": "one\ntwo\nthree",
    "lib/util.py": "def helper():\n    return 1\n",
}


def sub(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


LOAD_MODE = sub(APP, 'def load(path):\n    with open(path) as fh:', 'def load(path, mode="r"):\n    with open(path, mode) as fh:')
LOAD_BLOCK = '''<<<<<<< SEARCH
def load(path):
    with open(path) as fh:
=======
def load(path, mode="r"):
    with open(path, mode) as fh:
>>>>>>> REPLACE'''

# id, answer, expected new contents (path -> text) or ("refused", reason part), expected "how" per block
CASES = [
    ("well-formed", f"app.py\n{LOAD_BLOCK}\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("fenced", f"Here is the change.\n\napp.py\n```\n{LOAD_BLOCK}\n```\nDone.", {"app.py": LOAD_MODE}, ["exact"]),
    ("fence-language", f"app.py\n```python\n{LOAD_BLOCK}\n```\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("path-backticks-bold", f"**`app.py`**\n```python\n{LOAD_BLOCK}\n```\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("path-label-colon", f"File: `app.py`:\n\n```python\n{LOAD_BLOCK}\n```\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("path-heading", f"### app.py\n```python\n{LOAD_BLOCK}\n```\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("crlf-answer", f"app.py\r\n```\r\n{LOAD_BLOCK}\r\n```\r\n".replace("\n", "\r\n").replace("\r\r", "\r"), {"app.py": LOAD_MODE}, ["exact"]),
    ("seven-char-markers", "app.py\n<<<<<<< SEARCH\n    def get(self, key):\n=====\n    def get(self, key, default=None):\n>>>>>>>>> REPLACE\n",
     {"app.py": sub(APP, "def get(self, key):", "def get(self, key, default=None):")}, ["exact"]),
    ("indentation-drift", '''app.py
```python
<<<<<<< SEARCH
def get(self, key):
    value = load(os.path.join(self.root, key))
    return value.strip()
=======
def get(self, key):
    value = load(os.path.join(self.root, key))
    if value is None:
        return None
    return value.strip()
>>>>>>> REPLACE
```''', {"app.py": sub(APP, "        return value.strip()", "        if value is None:\n            return None\n        return value.strip()")}, ["indent"]),
    ("trailing-spaces", "app.py\n<<<<<<< SEARCH\ndef save(path, data):  \n    with open(path, \"w\") as fh: \n=======\ndef save(path, data):  \n    with open(path, \"a\") as fh: \n>>>>>>> REPLACE\n",
     {"app.py": sub(APP, 'open(path, "w")', 'open(path, "a")')}, ["whitespace"]),
    ("lost-blank-lines", '''app.py
<<<<<<< SEARCH
        fh.write(data)
class Store:
    def __init__(self, root):
        self.root = root
    def get(self, key):
=======
        fh.write(data)
class Store:
    def __init__(self, root):
        self.root = str(root)
    def get(self, key):
>>>>>>> REPLACE
''', {"app.py": sub(APP, "self.root = root", "self.root = str(root)")}, ["blank-lines"]),
    ("elided", '''app.py
<<<<<<< SEARCH
class Store:
    ...
        return value.strip()
=======
class Store:
    ...
        return value.strip().lower()
>>>>>>> REPLACE
''', {"app.py": sub(APP, "return value.strip()", "return value.strip().lower()")}, ["elision"]),
    ("fuzzy-typo", '''app.py
<<<<<<< SEARCH
def save(path, data):
    with open(path, "w") as fh:
        fh.write(dta)
=======
def save(path, data):
    with open(path, "w") as fh:
        fh.write(dta)
        fh.flush()
>>>>>>> REPLACE
''', {"app.py": sub(APP, "        fh.write(data)\n", "        fh.write(data)\n        fh.flush()\n")}, ["fuzzy:0.99"]),
    ("ambiguous", "dup.py\n<<<<<<< SEARCH\n    x = 1\n    return 0\n=======\n    x = 2\n    return 0\n>>>>>>> REPLACE\n",
     ("refused", "matches 2 places"), []),
    ("wrong-path", "nothere.py\n<<<<<<< SEARCH\ndef load(path):\n=======\ndef load(p):\n>>>>>>> REPLACE\n", ("refused", "does not exist"), []),
    ("lazy-replace", "app.py\n<<<<<<< SEARCH\ndef load(path):\n    with open(path) as fh:\n        return fh.read()\n=======\ndef load(path):\n    # ... existing code ...\n>>>>>>> REPLACE\n",
     ("refused", "elides code"), []),
    ("new-file", "pkg/new.py\n```python\n<<<<<<< SEARCH\n=======\nprint('hi')\n>>>>>>> REPLACE\n```\n", {"pkg/new.py": "print('hi')\n"}, ["new-file"]),
    ("multi-file", f'''First the loader:

app.py
```python
{LOAD_BLOCK}
```

And then, in the same file:

```python
<<<<<<< SEARCH
        return value.strip()
=======
        return value.strip() or None
>>>>>>> REPLACE
```

lib/util.py
```python
<<<<<<< SEARCH
    return 1
=======
    return 2
>>>>>>> REPLACE
```
''', {"app.py": sub(LOAD_MODE, "return value.strip()", "return value.strip() or None"), "lib/util.py": "def helper():\n    return 2\n"},
     ["exact", "exact", "exact"]),
    ("crlf-file", "win.txt\n<<<<<<< SEARCH\nbeta\n=======\nBETA\nbeta2\n>>>>>>> REPLACE\n", {"win.txt": "alpha\r\nBETA\r\nbeta2\r\ngamma\r\n"}, ["exact"]),
    ("no-final-newline", "open.txt\n<<<<<<< SEARCH\nthree\n=======\nthree\nfour\n>>>>>>> REPLACE\n", {"open.txt": "one\ntwo\nthree\nfour"}, ["exact"]),
    ("empty-the-file", "lib/util.py\n<<<<<<< SEARCH\ndef helper():\n    return 1\n=======\n>>>>>>> REPLACE\n", {"lib/util.py": ""}, ["exact"]),
    ("wrong-prefix-repo", f"repo/app.py\n{LOAD_BLOCK}\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("wrong-prefix-dot", f"./app.py\n{LOAD_BLOCK}\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("wrong-prefix-absolute", f"/home/me/work/proj/app.py\n{LOAD_BLOCK}\n", {"app.py": LOAD_MODE}, ["exact"]),
    ("missing-folder", "util.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 3\n>>>>>>> REPLACE\n", {"lib/util.py": "def helper():\n    return 3\n"}, ["exact"]),
    # A model that answers with a unified diff: wrong line numbers and counts, a blank context line without its
    # space, a hunk with no header (the text after @@), a second hunk of the same file, a new file.
    ("unified-diff", '''Here is the diff:

```diff
--- a/app.py
+++ b/app.py
@@ -1,5 +1,5 @@
-def load(path):
-    with open(path) as fh:
+def load(path, mode="r"):
+    with open(path, mode) as fh:
         return fh.read()

 
@@
     def get(self, key):
         value = load(os.path.join(self.root, key))
-        return value.strip()
+        return value.strip() or None
```

```diff
--- /dev/null
+++ b/lib/new.py
@@ -0,0 +1 @@
+VALUE = 1
```
''', {"app.py": sub(LOAD_MODE, "return value.strip()", "return value.strip() or None"), "lib/new.py": "VALUE = 1\n"},
     ["exact", "exact", "new-file"]),
    # ... without headers, after a path line as blocks have; its misquoted context goes through the cascade.
    ("unified-diff-after-a-path-line", "Change `lib/util.py`:\n```diff\n@@ -2 +2 @@\n def helper(): \n-    return 1\n+    return 5\n```\n",
     {"lib/util.py": "def helper():\n    return 5\n"}, ["whitespace"]),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {k: v.encode() for k, v in FILES.items()})


@pytest.mark.parametrize("answer, expected, hows", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_answer_table(repo: Path, answer: str, expected, hows: list[str]) -> None:
    known = git(repo, "ls-files").split()
    blocks, files = load_targets(repo, parse_blocks(answer, known))
    result = apply_blocks(files, blocks)
    if isinstance(expected, tuple):
        assert result.failed and expected[1] in result.failed[0].reason
        assert all(result.new_files[p] == files[p] for p in files if p == result.failed[0].block.path)
        return
    assert not result.failed, [f.reason for f in result.failed]
    assert [how for _, how in result.applied] == hows
    for path, text in expected.items():
        assert result.new_files[path] == text, path
    diff = make_diff(files, result.new_files)
    patch = check(repo, diff)
    assert patch.applies, patch.check_output
    assert set(patch.files) == set(expected)


@pytest.mark.parametrize("path", ["../x.py", "/etc/passwd", ".git/config", "sub/../../x.py", "linkout/evil.py"])
def test_malicious_paths_are_refused(repo: Path, tmp_path: Path, path: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo / "linkout")
    answer = f"{path}\n<<<<<<< SEARCH\n=======\nowned = True\n>>>>>>> REPLACE\n"
    blocks = parse_blocks(answer, git(repo, "ls-files").split())
    with pytest.raises(UnsafePathError):
        load_targets(repo, blocks)
    assert not any(outside.iterdir())


def test_ambiguous_failure_carries_nearest_lines(repo: Path) -> None:
    files = {"app.py": APP}
    block = EditBlock("app.py", "def save(path, payload):\n    with open(path, 'wb') as out:\n", "x\n")
    result = apply_blocks(files, [block])
    (failure,) = result.failed
    assert "not found" in failure.reason
    assert failure.nearest.startswith("def save(path, data):")
    assert failure.nearest_line == APP.splitlines().index("def save(path, data):") + 1
    assert result.new_files == files


def test_fuzzy_threshold_is_configurable() -> None:
    block = EditBlock("app.py", "def save(path, data):\n    with open(path, \"w\") as fh:\n        fh.write(dta)\n", "pass\n")
    assert apply_blocks({"app.py": APP}, [block]).applied
    strict = apply_blocks({"app.py": APP}, [block], fuzzy_threshold=0.995)
    assert strict.failed and not strict.applied


def test_fuzzy_refuses_two_similar_places() -> None:
    text = DUP + "\n\ndef third():\n    y = 1\n    return 0\n"
    block = EditBlock("dup.py", "def fourth():\n    x = 1\n    return 0\n", "pass\n")
    result = apply_blocks({"dup.py": text}, [block], fuzzy_threshold=0.9)
    assert result.failed and "similar" in result.failed[0].reason


def test_exact_only_levels_refuse_what_the_cascade_forgives() -> None:
    block = EditBlock("app.py", "def get(self, key):\n    value = load(os.path.join(self.root, key))\n", "def get(self, key):\n    value = None\n")
    assert apply_blocks({"app.py": APP}, [block], levels=("exact",)).failed
    tolerant = apply_blocks({"app.py": APP}, [block])
    assert tolerant.applied[0][1] == "indent"
    assert "        value = None\n" in tolerant.new_files["app.py"]


def test_indent_shift_that_replace_cannot_follow_is_refused() -> None:
    search = "            value = load(os.path.join(self.root, key))\n"  # 4 columns too deep
    block = EditBlock("app.py", search, "  value = 1\n")
    result = apply_blocks({"app.py": APP}, [block])
    assert result.failed and "re-indent" in result.failed[0].reason


def test_tabs_file_keeps_tabs_under_indent_drift() -> None:
    text = "func f() {\n\tif x {\n\t\treturn 1\n\t}\n}\n"
    block = EditBlock("f.go", "if x {\n\treturn 1\n}\n", "if x {\n\treturn 2\n}\n")
    result = apply_blocks({"f.go": text}, [block])
    assert result.new_files["f.go"] == "func f() {\n\tif x {\n\t\treturn 2\n\t}\n}\n"


def test_typo_in_kept_context_is_not_copied_into_the_file() -> None:
    text = "a = 1\nbanana = compute(a)\nc = 3\nd = 4\n"
    block = EditBlock("t.py", "a = 1\nbanana = compute(b)\nc = 3\n", "a = 1\nbanana = compute(b)\nc = 30\n")
    result = apply_blocks({"t.py": text}, [block])
    assert result.applied[0][1].startswith("fuzzy:")
    assert result.new_files["t.py"] == "a = 1\nbanana = compute(a)\nc = 30\nd = 4\n"


def test_blocks_apply_in_order_to_the_same_file() -> None:
    blocks = [EditBlock("t.txt", "a\n", "b\n"), EditBlock("t.txt", "b\n", "c\n")]
    assert apply_blocks({"t.txt": "a\n"}, blocks).new_files["t.txt"] == "c\n"


def test_empty_search_on_existing_file_is_refused() -> None:
    result = apply_blocks({"t.txt": "a\n"}, [EditBlock("t.txt", "", "b\n")])
    assert result.failed and "already exists" in result.failed[0].reason


WHOLE = "import os\n" + "".join(f"\n\ndef {name}():\n    return os.environ['{name.upper()}']\n" for name in ("home", "path", "lang", "term", "user"))


def test_whole_file_written_out_under_empty_search_is_read_as_a_rewrite() -> None:
    # Models fall back to writing the whole file out, changed.
    answer = WHOLE.replace("['USER']", ".get('USER', '')") + "\n\ndef shell():\n    return 'sh'\n"
    result = apply_blocks({"u.py": WHOLE}, [EditBlock("u.py", "", answer)])
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["u.py"] == WHOLE.replace("['USER']", ".get('USER', '')") + "\n\ndef shell():\n    return 'sh'\n"
    assert result.applied[0][1] == "whole-file"


def test_whole_file_answer_keeps_the_files_trailing_whitespace() -> None:
    # Retyping the whole file, the model drops one line's tail and adds another's: neither is a change to make.
    text = WHOLE.replace("import os\n", "import os  \n")
    answer = WHOLE.replace("def home():", "def home(): ").replace("['USER']", ".get('USER', '')")
    result = apply_blocks({"u.py": text}, [EditBlock("u.py", "", answer)])
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["u.py"] == text.replace("['USER']", ".get('USER', '')")


@pytest.mark.parametrize("replace, reason", [
    ("def shell():\n    return 'sh'\n", "already exists"),  # a snippet to put somewhere: not the file rewritten
    (WHOLE.split("def user")[0] + "# ... rest of the file unchanged\n", "REPLACE elides code"),  # would delete user()
    (WHOLE.split("def term")[0] + "# ... rest of the file unchanged\n", "already exists"),  # too little of it kept
])
def test_empty_search_that_is_not_the_whole_file_is_refused(replace: str, reason: str) -> None:
    result = apply_blocks({"u.py": WHOLE}, [EditBlock("u.py", "", replace)])
    assert result.failed and reason in result.failed[0].reason, [f.reason for f in result.failed]
    assert result.new_files["u.py"] == WHOLE


# --- parsing -------------------------------------------------------------------------


def test_parse_reuses_previous_path_and_ignores_prose() -> None:
    answer = "Some thoughts first.\n\na.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\nThen:\n\n<<<<<<< SEARCH\nz\n=======\nw\n>>>>>>> REPLACE\n"
    assert parse_blocks(answer) == [EditBlock("a.py", "x\n", "y\n"), EditBlock("a.py", "z\n", "w\n")]


@pytest.mark.parametrize("answer, blocks", [
    # A README's own code fences are context lines of a diff hunk; the diff's closing fence (untagged) ends it.
    ("```diff\n--- a/README.md\n+++ b/README.md\n@@ -3,4 +3,5 @@\n ```python\n import app\n+app.run()\n ```\n```\n",
     [EditBlock("README.md", "```python\nimport app\n```\n", "```python\nimport app\napp.run()\n```\n", 3)]),
    # A diff whose @@ line was left out starts its hunk right under the header.
    ("```diff\n--- a/app.py\n+++ b/app.py\n def f():\n-    return 1\n+    return 2\n```\n",
     [EditBlock("app.py", "def f():\n    return 1\n", "def f():\n    return 2\n")]),
    # The path on the head line itself; other words there leave the path to the line above.
    ("```python\n<<<<<<< SEARCH src/a.py\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n", [EditBlock("src/a.py", "x = 1\n", "x = 2\n")]),
    ("a.py\n<<<<<<< SEARCH (first edit)\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n", [EditBlock("a.py", "x = 1\n", "x = 2\n")]),
    # The format's older ORIGINAL/UPDATED markers.
    ("a.py\n```\n<<<<<<< ORIGINAL\nx = 1\n=======\nx = 2\n>>>>>>> UPDATED\n```\n", [EditBlock("a.py", "x = 1\n", "x = 2\n")]),
])
def test_parse_reads_other_shapes_of_answer(answer: str, blocks: list[EditBlock]) -> None:
    assert parse_blocks(answer) == blocks


# Two functions that end alike: a 3-line diff context of either end occurs twice in the file.
TWINS = "".join(f"def {name}(x):\n    check(x)\n    x = clean(x)\n    return x\n\n\n" for name in "ab") + "".join(
    f"def helper_{k}():\n    return {k}\n\n\n" for k in range(8)) + "def c(x):\n    check(x)\n    x = clean(x)\n    return x\n"
TWIN_HUNK = "@@ -{} +{} @@\n     check(x)\n     x = clean(x)\n-    return x\n+    return x or None\n"


@pytest.mark.parametrize("start, taken", [
    (46, True),  # the @@ line names the third place: taken, the others stay
    (2, False),  # two places within a few lines of it (lines 2 and 8): still ambiguous
    (30, False),  # near no place: the numbers say nothing, ambiguous
    (50, True),  # a few lines off (models miscount) and every other place far away: taken
])
def test_diff_line_numbers_break_a_tie_between_places(start: int, taken: bool) -> None:
    answer = f"```diff\n--- a/m.py\n+++ b/m.py\n{TWIN_HUNK.format(f'{start},3', f'{start},3')}```\n"
    blocks = parse_blocks(answer, ["m.py"])
    assert blocks[0].line == start
    result = apply_blocks({"m.py": TWINS}, blocks)
    if not taken:
        assert result.failed and "matches 3 places" in result.failed[0].reason
        return
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["m.py"].split("\n\n\n")[-1] == "def c(x):\n    check(x)\n    x = clean(x)\n    return x or None\n"
    assert result.new_files["m.py"].count("return x or None") == 1


@pytest.mark.parametrize("context, changed", [
    ("def c(x):", "c"),  # git's function context names the definition: of three places, the one inside it
    ("def b", "b"),  # the start of its line, once
    ("def helper_3():", None),  # a definition none of the places is in: decides nothing
    ("check(x)", None),  # a line found three times: names nothing
])
def test_diff_function_context_breaks_a_tie_the_numbers_leave(context: str, changed: str | None) -> None:
    hunk = TWIN_HUNK.format("30,3", "30,3").replace(" @@\n", f" @@ {context}\n", 1)  # line 30: near no place
    blocks = parse_blocks(f"```diff\n--- a/m.py\n+++ b/m.py\n{hunk}```\n", ["m.py"])
    assert blocks[0].within == (context,)
    result = apply_blocks({"m.py": TWINS}, blocks)
    if changed is None:
        assert result.failed and "matches 3 places" in result.failed[0].reason
        return
    assert not result.failed, [f.reason for f in result.failed]
    new = result.new_files["m.py"]
    assert new.count("return x or None") == 1
    assert new.split(f"def {changed}(x):\n")[1].startswith("    check(x)\n    x = clean(x)\n    return x or None\n")


def test_block_given_twice_changes_both_places_whatever_its_line_numbers() -> None:
    answer = "```diff\n--- a/m.py\n+++ b/m.py\n" + TWIN_HUNK.format("2,3", "2,3") + TWIN_HUNK.format("8,3", "8,3") + "```\n"
    text = TWINS.rsplit("def helper_0", 1)[0]  # the two twins only
    result = apply_blocks({"m.py": text}, parse_blocks(answer, ["m.py"]))
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["m.py"].count("return x or None") == 2


def test_parse_keeps_equals_lines_inside_replace() -> None:
    answer = "doc.rst\n<<<<<<< SEARCH\nTitle\n=======\nTitle\n=======\n>>>>>>> REPLACE\n"
    assert parse_blocks(answer) == [EditBlock("doc.rst", "Title\n", "Title\n=======\n")]


@pytest.mark.parametrize("answer, message", [
    ("no blocks here, just prose", "no SEARCH/REPLACE"),
    ("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n", "not closed"),
    ("a.py\n<<<<<<< SEARCH\nx\n", "not followed"),
    ("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "no file path"),
    ("a.py\nx\n=======\ny\n>>>>>>> REPLACE\n", "without a"),
    ("```diff\n@@ -1 +1 @@\n-x\n+y\n```\n", "no `--- a/FILE`"),
    ("```diff\n--- a/a.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n```\n", "deletes a.py"),
    ("```diff\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n x\n```\n", "changes nothing"),
    # The apply_patch envelope: what is not an edit of a file's lines is a problem, never half done.
    ("*** Begin Patch\n*** Delete File: a.py\n*** End Patch\n", "deletes a.py"),
    ("*** Begin Patch\n*** Update File: a.py\n*** Move to: b.py\n@@\n-x\n+y\n*** End Patch\n", "moves a.py to b.py"),
    ("*** Begin Patch\n*** Update File: a.py\n@@ def f():\n+    pass\n*** End Patch\n", "no line of the file quoted"),
    ("*** Begin Patch\n*** Update File: a.py\n@@\n x\n*** End Patch\n", "changes nothing"),
])
def test_parse_refuses_malformed_answers(answer: str, message: str) -> None:
    with pytest.raises(PatchError) as err:
        parse_blocks(answer)
    assert message in err.value.message
    assert "\n" not in err.value.one_line()


GREET = "import os\n\n\ndef greet(name):\n    print('Hi', name)\n\n\ndef main():\n    greet(os.getlogin())\n"
APPLY_PATCH = """I'll make the change.

```
*** Begin Patch
*** Update File: app.py
@@ def greet(name):
-    print('Hi', name)
+    print('Hello', name)
@@ def main():
 def main():
-    greet(os.getlogin())
+    greet(os.environ.get('USER', 'you'))
*** End of File
*** Add File: docs/usage.md
+# Usage

+Run `python app.py`.
*** End Patch
```
"""


def test_parse_reads_an_apply_patch_envelope_and_applies_it() -> None:
    blocks = parse_blocks(APPLY_PATCH, ["app.py"])
    assert blocks == [
        EditBlock("app.py", "    print('Hi', name)\n", "    print('Hello', name)\n", within=("def greet(name):",)),
        EditBlock("app.py", "def main():\n    greet(os.getlogin())\n", "def main():\n    greet(os.environ.get('USER', 'you'))\n",
                  within=("def main():",)),
        EditBlock("docs/usage.md", "", "# Usage\n\nRun `python app.py`.\n"),
    ]
    result = apply_blocks({"app.py": GREET, "docs/usage.md": None}, blocks)
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["app.py"] == GREET.replace("'Hi'", "'Hello'").replace("os.getlogin()", "os.environ.get('USER', 'you')")
    assert result.new_files["docs/usage.md"] == "# Usage\n\nRun `python app.py`.\n"


def test_apply_patch_adding_a_file_that_exists_is_refused_in_its_own_words() -> None:
    answer = "*** Begin Patch\n*** Add File: app.py\n+print('new')\n*** End Patch\n"
    result = apply_blocks({"app.py": GREET}, parse_blocks(answer, ["app.py"]))
    assert result.new_files["app.py"] == GREET
    assert len(result.failed) == 1
    reason = result.failed[0].reason
    assert "already exists" in reason and "added as a new one" in reason and "SEARCH is empty" not in reason


def test_apply_patch_first_hunk_may_come_without_its_at_line() -> None:
    answer = "*** Begin Patch\n*** Update File: ./app.py\n def main():\n-    greet(os.getlogin())\n+    greet('me')\n*** End Patch\n"
    assert parse_blocks(answer, ["app.py"]) == [
        EditBlock("app.py", "def main():\n    greet(os.getlogin())\n", "def main():\n    greet('me')\n")]


# Three classes with a method written alike.
SHAPES = "\n\n".join(f"class {name}:\n    def area(self):\n        return {area}\n\n    def grow(self):\n        self.w += 1\n"
                     for name, area in (("Square", "self.w ** 2"), ("Rect(Shape)", "self.w * self.h"), ("Disc", "3 * self.w ** 2")))


@pytest.mark.parametrize("heads, changed", [
    (["@@ class Rect", "@@ def grow(self):"], "Rect"),  # nested: the class (by the start of its line), then the method
    (["@@ class Square:"], "Square"),  # the class alone: one of the places is inside it
    (["@@ def grow(self):"], None),  # names three lines: decides nothing
    (["@@ class Circle:"], None),  # names no line
    (["@@ class Square:", "@@ def area(self):"], None),  # names a definition no place is in
    (["@@"], None),  # names nothing
])
def test_apply_patch_at_line_names_the_definition_that_breaks_a_tie(heads: list[str], changed: str | None) -> None:
    answer = "*** Begin Patch\n*** Update File: s.py\n" + "\n".join(heads) + "\n-        self.w += 1\n+        self.w += 2\n*** End Patch\n"
    result = apply_blocks({"s.py": SHAPES}, parse_blocks(answer, ["s.py"]))
    if changed is None:
        assert result.failed and "matches 3 places" in result.failed[0].reason, [f.reason for f in result.failed]
        return
    assert not result.failed, [f.reason for f in result.failed]
    parts = result.new_files["s.py"].split("\n\n\nclass ")
    assert [("+= 2" in part) for part in parts] == [changed == "Square", changed == "Rect", False]


def test_degenerate_padding_in_an_answer_is_read_as_text() -> None:
    # Small models loop into runs of blanks; marker and elision lines padded so are read in one pass, not by
    # backtracking over the run (which took minutes per line).
    pad = " " * 5000
    answer = (f"a.py\n<<<<<<< SEARCH{pad}(first)\nx = 1\n======={pad}\nx = 2\n// ...{pad}and so on\n"
              f">>>>>>> REPLACE{pad}\n")
    assert parse_blocks(answer) == [EditBlock("a.py", "x = 1\n", f"x = 2\n// ...{pad}and so on\n")]
    assert not ELISION_RE.match(f"// ...{pad}and so on") and ELISION_RE.match("    // ... rest of the function  ")


def test_parse_edits_keeps_good_blocks_of_a_truncated_answer() -> None:
    answer = "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\nb.py\n<<<<<<< SEARCH\nq\n=="
    parsed = parse_edits(answer)
    assert parsed.blocks == (EditBlock("a.py", "x\n", "y\n"),)
    assert len(parsed.problems) == 1


def test_resolve_path_prefers_unambiguous_known_paths() -> None:
    known = {"src/x.py", "x.py", "lib/a/util.py", "lib/b/util.py"}
    assert resolve_path("repo/src/x.py", known) == "src/x.py"
    assert resolve_path("./x.py", known) == "x.py"
    assert resolve_path("util.py", known) == "util.py"  # two candidates: left as written
    assert resolve_path("a/util.py", known) == "lib/a/util.py"
    assert resolve_path("a/util.py", known, creating=True) == "a/util.py"
    assert resolve_path("/etc/passwd", known) == "/etc/passwd"
    assert resolve_path("src\\x.py", known) == "src/x.py"
    assert resolve_path("..\\y.py", known) == "../y.py"  # left for safe_path to refuse
    assert resolve_path("../x.py", known) == "x.py"  # a suffix match always lands inside the repository


@pytest.mark.parametrize("line", ["src/new.py (new file)", "Create `src/new.py`:", "#### src/new.py", "- src/new.py",
                                  "Filename: src/new.py", "```python src/new.py",
                                  # the excerpt header copied whole, and line ranges as editors and code hosts write them
                                  "src/new.py:L1-9", "`src/new.py:12`", "**src/new.py:3-9**:", "src/new.py#L3-L9", "src/new.py:12:4",
                                  # a fence's info string naming the file, as several editors and chat UIs write it
                                  "```python:src/new.py", '```python title="src/new.py"', "```py file=src/new.py",
                                  # a Markdown link to the file, as chat UIs render paths
                                  "[src/new.py](src/new.py)", "- **File:** [`new.py`](./src/new.py#L1-L9):",
                                  # a path in brackets alone, as some models head a file
                                  "[src/new.py]", "**[src/new.py]**"])
def test_decorated_path_lines(line: str) -> None:
    answer = f"{line}\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n"
    assert parse_blocks(answer) == [EditBlock("src/new.py", "", "x = 1\n")]


@pytest.mark.parametrize("line, path", [
    ("Update src/app/core.py as follows:", "src/app/core.py"),  # prose naming one known path
    ("readme.md", "README.md"),  # an existing file written in other case
    ("Core.py", "src/app/core.py"),
    ("Compare src/app/core.py with README.md:", "README.md"),  # the last word, when it is a path, as before
])
def test_path_lines_resolved_against_known_paths(line: str, path: str) -> None:
    answer = f"{line}\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    assert parse_blocks(answer, ["src/app/core.py", "README.md", "docs/core.rst"])[0].path == path


@pytest.mark.parametrize("line, path", [
    # names with the characters real trees have: Java inner classes, route folders; under a wrong prefix too
    ("**/home/user/project/src/main/$Gson$Types.java**", "src/main/$Gson$Types.java"),
    ("`./app/[slug]/page.tsx`", "app/[slug]/page.tsx"),
    ("/home/me/repo/docs/My Notes.md", "docs/My Notes.md"),  # a space: known under the prefix
])
def test_path_lines_with_unusual_characters(line: str, path: str) -> None:
    answer = f"{line}\n```\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n"
    known = ["src/main/$Gson$Types.java", "app/[slug]/page.tsx", "docs/My Notes.md"]
    assert parse_blocks(answer, known)[0].path == path


def test_bracketed_word_is_not_a_path() -> None:
    answer = "[note]\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    with pytest.raises(PatchError, match="no file path"):
        parse_blocks(answer, ["src/app/core.py"])


def test_new_route_folder_path_is_read() -> None:
    answer = "app/[id]/edit/page.tsx\n<<<<<<< SEARCH\n=======\nexport default 1\n>>>>>>> REPLACE\n"
    assert parse_blocks(answer, [])[0].path == "app/[id]/edit/page.tsx"


def test_prose_linking_to_another_file_does_not_name_the_blocks_file() -> None:
    answer = ("src/app/core.py\n\nThis follows [the guide](docs/core.rst):\n"
              "<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n")
    assert parse_blocks(answer, ["src/app/core.py", "docs/core.rst"])[0].path == "src/app/core.py"


def test_prose_naming_two_known_paths_names_no_file() -> None:
    answer = "Move it from src/app/core.py into README.md, then:\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    with pytest.raises(PatchError, match="no file path"):
        parse_blocks(answer, ["src/app/core.py", "README.md"])


def test_render_round_trips_through_the_parser() -> None:
    blocks = [EditBlock("a.py", "x\n\n", "y\n"), EditBlock("new.py", "", "z\n"), EditBlock("a.py", "q\n", "")]
    assert parse_blocks(render_blocks(blocks)) == blocks


# --- lost blank lines: kept where they belong, refused where that cannot be told ------


def test_blank_line_lost_from_both_sides_is_kept() -> None:
    text = "def f():\n    x = 1\n\n    return x\n\n\ndef g():\n    pass\n"
    block = EditBlock("f.py", "def f():\n    x = 1\n    return x\n", "def f():\n    x = 2\n    return x\n")
    result = apply_blocks({"f.py": text}, [block])
    assert result.applied[0][1] == "blank-lines"
    assert result.new_files["f.py"] == text.replace("x = 1", "x = 2")


def test_line_for_line_rewrite_keeps_inner_blank_lines() -> None:
    block = EditBlock("t.py", "x = 1\ny = 2\n", "x = 10\ny = 20\n")
    assert apply_blocks({"t.py": "x = 1\n\ny = 2\n"}, [block]).new_files["t.py"] == "x = 10\n\ny = 20\n"


def test_new_block_ending_in_a_blank_line_goes_after_the_lost_one() -> None:
    block = EditBlock("t.py", "a = 1\nb = 2\n", "a = 1\nnew = 3\n\nb = 2\n")
    assert apply_blocks({"t.py": "a = 1\n\nb = 2\n"}, [block]).new_files["t.py"] == "a = 1\n\nnew = 3\n\nb = 2\n"


def test_insertion_next_to_a_lost_blank_line_is_refused_not_guessed() -> None:
    text = "a = 1\n\nb = 2\n"
    block = EditBlock("t.py", "a = 1\nb = 2\n", "a = 1\nc = 3\nb = 2\n")
    result = apply_blocks({"t.py": text}, [block])
    assert result.failed and "cannot tell where" in result.failed[0].reason
    assert result.new_files["t.py"] == text


def test_quoted_blank_line_that_replace_deletes_is_deleted() -> None:
    text = "a = 1\n\nb = 2\n\n\nc = 3\n"
    block = EditBlock("t.py", "a = 1\n\nb = 2\nc = 3\n", "a = 1\nb = 2\nc = 3\n")
    assert apply_blocks({"t.py": text}, [block]).new_files["t.py"] == "a = 1\nb = 2\n\n\nc = 3\n"


# --- trailing whitespace and elision markers -------------------------------------------


def test_trailing_space_noise_is_not_written_into_new_lines() -> None:
    block = EditBlock("t.py", "a = 1 \nb = 2\n", "a = 1 \nb = 3 \nc = 4  \n")
    result = apply_blocks({"t.py": "a = 1\nb = 2\n"}, [block])
    assert result.applied[0][1] == "whitespace"
    assert result.new_files["t.py"] == "a = 1\nb = 3\nc = 4\n"


@pytest.mark.parametrize("line, elision", [
    ("...", True), ("    # ... existing code ...", True), ("// ... rest of the function", True),
    ("<!-- ... -->", True), ("... x = 1", False), ("    ... def f():", False), ("x = ...", False),
    ("# ...", True), ("/* ... */", True), ("    # ... (unchanged)", True), ("// ...existing code...", True),
    ("// ... else delete the first two items.", False),
    ("//   ... indicates that you can specify multiple values for the previous argument.", False),
])
def test_elision_lines(line: str, elision: bool) -> None:
    assert bool(ELISION_RE.match(line)) is elision


def test_bare_ellipsis_is_code_in_python_but_an_elision_elsewhere() -> None:
    py = EditBlock("p.py", "def f():\n    return 1\n", "def f():\n    ...\n")
    assert apply_blocks({"p.py": "def f():\n    return 1\n"}, [py]).new_files["p.py"] == "def f():\n    ...\n"
    js = EditBlock("p.js", "function f() {\n  return 1;\n}\n", "function f() {\n  ...\n}\n")
    assert apply_blocks({"p.js": "function f() {\n  return 1;\n}\n"}, [js]).failed


def test_bare_ellipsis_is_content_where_the_file_already_has_one() -> None:
    # An rdoc README whose examples elide with `...`: a new example may too (a prose file the list may not name).
    doc = "= Routes\n\n  get '/' do\n    ...\n  end\n\n== Settings\n"
    new = "  get '/' do\n    ...\n  end\n\n  configure do\n    ...\n  end\n"
    for path in ("README.rdoc", "README.textile"):
        result = apply_blocks({path: doc}, [EditBlock(path, "  get '/' do\n    ...\n  end\n", new)])
        assert not result.failed, [f.reason for f in result.failed]
        assert result.new_files[path] == doc.replace("  end\n", "  end\n\n  configure do\n    ...\n  end\n")
    plain = doc.replace("    ...\n", "    redirect '/home'\n")
    result = apply_blocks({"README.textile": plain}, [EditBlock(
        "README.textile", "  get '/' do\n    redirect '/home'\n  end\n", "  get '/' do\n    ...\n  end\n")])
    assert result.failed and "elides code" in result.failed[0].reason


def test_failed_elision_falls_back_to_fuzzy_for_a_stub_file() -> None:
    text = "class P(Protocol):\n    def f(self):\n        ...\n\n    def g(self):\n        ...\n"
    search = "    def f(self):\n        ...\n\n    def q(self):\n        ...\n"
    replace = "    def f(self):\n        ...\n\n    def g(self, x):\n        ...\n"
    result = apply_blocks({"p.pyi": text}, [EditBlock("p.pyi", search, replace)])
    assert result.applied and result.applied[0][1].startswith("fuzzy:")
    assert result.new_files["p.pyi"] == text.replace("def g(self)", "def g(self, x)")


def test_failed_elision_is_not_fuzzy_matched_where_the_file_lacks_the_marker() -> None:
    # The REPLACE piece after `// ...` has nothing to anchor it; fuzzy would take the marker for a misquoted line
    # (the blank after the code block) and put the moved line there, before "Satisfaction guaranteed.".
    text = (
        "Install it with pip, of\ncourse:\n\n``` {.sourceCode .bash}\n$ python -m pip install example-package\n"
        "A celebratory line\n```\n\nSatisfaction guaranteed.\n\nDocs\n----\n\nRead the full documentation\n"
        "online, for a limited time only.\n\n"
    )
    search = "\n``` {.sourceCode .bash}\n$ python -m pip install example-package\nA celebratory line\n```\n// ...\n\n"
    replace = "\n``` {.sourceCode .bash}\n$ python -m pip install example-package\n```\n// ...\n\n\nA celebratory line\n"
    result = apply_blocks({"README.md": text}, [EditBlock("README.md", search, replace)])
    assert result.failed and "no SEARCH lines to anchor it" in result.failed[0].reason
    assert result.new_files["README.md"] == text


def test_edit_format_prompt_examples_parse() -> None:
    path = Path(__file__).resolve().parents[1] / "prompts" / "edit_format.md"
    text = string.Template(path.read_text(encoding="utf-8")).substitute()
    blocks = parse_blocks(text)
    assert [b.path for b in blocks] == ["src/billing.py", "src/units.py"]
    assert blocks[1].search == "" and blocks[1].replace == "CENTS_PER_EURO = 100\n"


def test_a_misquoted_line_the_model_moves_keeps_the_files_spelling() -> None:
    text = "def f(\n    a: int,\n    b: bool,\n    c: str,\n    d: float,\n):\n    pass\n"
    search = "def f(\n    a: int,\n    b: bxol,\n    c: str,\n    d: float,\n):\n"
    replace = "def f(\n    a: int,\n    c: str,\n    b: bxol,\n    d: float,\n):\n"
    result = apply_blocks({"f.py": text}, [EditBlock("f.py", search, replace)])
    assert result.applied[0][1].startswith("fuzzy:")
    assert result.new_files["f.py"] == "def f(\n    a: int,\n    c: str,\n    b: bool,\n    d: float,\n):\n    pass\n"


# --- how models misquote: one row per rule of requoting/placing/matching, each a case the rule decides ----

TWIN = (
    "def test_a():\n    result = run(input='Hi!\\n')\n    assert not result.exception\n    assert result.output == 'Hi!\\nHi!\\n'\n\n\n"
    "def test_b():\n    result = run(input=Bytes(b'Hi!\\n'))\n    assert not result.exception\n    assert result.output == 'Hi!\\nHi!\\n'\n"
)
TWIN_B = "    result = run(input=Bytes(b'Hi!\\n'))\n    assert not result.exceptixn\n    assert result.output == 'Hi!\\nHi!\\n'\n"
STUBS = "```go\nfunc A() error {\n    //...\n}\n```\n\nSome text here.\nMore text here.\n\n```go\nfunc B() error {\n    //...\n}\n```\n"

COMMENTED = (
    "def f(a):\n    x = a\n\n    if a:\n        pass\n\n    # one\n    if x:\n        pass\n\n    # two\n    if a:\n"
    "        pass\n\n    # three\n    if x:\n        pass\n\n    y = a\n\n    # four\n    if y:\n        pass\n"
)
FLAGS = "\tsliceFlag.Changed = false\n\tarrayFlag.Changed = false\n\n\texpected = strings.Join([]string{\n\t\t\"--array\",\n\t}, \"\\n\")\n"
KEEPERS = (
    "Keepers\n-------\n- Ann Smith <ann@example.com> `@ann <https://b.example/ann>`_.\n"
    "- Bob Jones <bob@example.com> `@bob <https://b.example/bob>`_.\n\nPrevious Keepers\n----------------\n"
    "- Cat Lee <cat@example.com> `@cat <https://b.example/cat>`_\n"
)
CLASSES = (
    "class A:\n    def f(self):\n        self.x = 1\n\n\nclass B:\n    def g(self):\n        self.z = 3\n\n"
    "    def h(self):\n        self.w = 4\n\n\nclass C:\n    pass\n"
)
METHODS = (
    "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        if self:\n            return 2\n\n    def h(self):\n"
    "        for x in self:\n            if x:\n                return x\n\n    def i(self):\n        pass\n\n\nclass B:\n    pass\n"
)
MODULE = "import json\n\nA = 1\n\nB = 2\n\n\nclass C:\n    x = 1\n\n\nclass D:\n    pass\n\n\nclass E:\n    pass\n"
VERBS = (
    'def put(url):\n    """Sends a PUT request.\n\n    :param url: the URL.\n    :returns: the response.\n    """\n\n\n'
    'def patch(url):\n    """Sends a PATCH request.\n\n    :param url: the URL.\n    :returns: the response.\n    """\n'
)
NOTES = "# Notes\n\n## Latest\n\n### Fixes\n\n* one\n\n## 0.1\n\n* two\n"
HARD_BREAKS = "Line one  \nLine two  \nLine three\n"
MEMBERS = (
    "class A {\n    function f() {\n        return 1;\n    }\n\n    function g() {\n        return 2;\n    }\n\n}\n"
)
CHANGES = (
    "Version 4\n---------\n\n\nVersion 3\n---------\n\n- x\n\n\nVersion 2\n---------\n\n- a\n- b\n\n\n"
    "Version 1\n---------\n\n- c\n"
)

# id, file text, blocks [(SEARCH, REPLACE)], the file afterwards or ("refused", reason part)
PROMPT = 'def prompt(text,\n           show=True):\n    """Ask."""\n    return text\n\n\ndef other():\n    if x:\n        return 1\n'
RST_CODE = "Intro\n-----\n\n.. code::\n\n    with f():\n        invoke(a,\n               b=True)\n        invoke(c)\n\nNext\n----\n"
C_FUNC = "int f(int x) {\n    if (x) {\n        return 1;\n    }\n    return 0;\n}\n"
JAVA_TWO = (
    "final class T {\n  static final F DOUBLE\n      = make(1);\n\n  static final A STRING = new A() {\n    @Override\n"
    "    String read() {\n      return s;\n    }\n  };\n}\n"
)
DOCSTRING = (
    'def prompt(text):\n    """Ask.\n\n    :param value_proc: a function that\n                       converts a value.\n'
    '    :param suffix: a suffix.\n    """\n    return text\n'
)
ALIGNED = "import os\n\n\ndef f():\n    return 1\n\n\nA = ('x' in os.environ and\n              'y' in os.environ)\nWIN = 1\n"
GO_TABS = "package main\n\nfunc main() {\n\tx := 1\n\tif x > 0 {\n\t\tshow(x)\n\t}\n}\n"
LISTED_CODE = "- item\n  - sub\n" * 15 + "text\n" * 25 + "```python\ndef f():\n    if x:\n        return 1\n```\n"
LINK_REFS = "[#1]: https://example.org/pull/1\n[#2]: https://example.org/pull/2\n\n[Unreleased]: https://example.org/compare/v1...main\n"
TWO_READY = "header\nif ready:\n    start()\n    one()\n    two()\n    three()\n    finish()\nmiddle\nif ready:\n    start()\n    one()\n    two()\n    three()\n    done()\n"
CALLS = "a = f(\n    1,\n)\nb = g(\n    2,\n)\n"
PY_NESTED = "class A:\n    def f(self):\n        if x:\n            return 1\n\n    def g(self):\n        return 2\n"

RULES = [
    # A line changed into several: the lost blank line stays by the kept neighbour.
    ("lost-blank-stays-by-kept-line", "a = 1\n\nb = 2\nc = 3\n", [("a = 1\nb = 2\n", "a = 1\ntotal = compute()\nshow(total)\n")],
     "a = 1\n\ntotal = compute()\nshow(total)\nc = 3\n"),
    # Lines a lost blank line separated, rewritten line by line as as many lines: it stays between the rewrites.
    ("lost-blank-between-lines-rewritten-line-by-line", "Version 2\n---------\n\nUnreleased\n\n- Fix hints.\n  tests\n",
     [("Unreleased\n- Fix hints.\n  tests\n", "Released 2023\n- Correct annotations.\n  :pr:`7`\n")],
     "Version 2\n---------\n\nReleased 2023\n\n- Correct annotations.\n  :pr:`7`\n"),
    # ... but not where alike lines say the rewrite is not line by line (`result = ...` moved up a line).
    ("lost-blank-between-lines-not-rewritten-line-by-line",
     "def f(foo):\n    check(foo)\n    echo(foo)\n\n    result = run([])\n    assert ok\n    assert out\n",
     [("def f(foo):\n    check(foo)\n    echo(foo)\n    result = run([])\n    assert ok\n    assert out\n",
       "def f(a, b):\n    return a, b\n    result = run(mode=False)\n    # cast defaults\n    # and more\n    assert result == (1, 2)\n")],
     ("refused", "the lines next to them were changed")),
    # ... and a neighbour rewritten into a new definition takes all the lost lines before it.
    ("lost-blanks-before-a-definition-rewritten", "def a():\n    pass\n\n\ndef b():\n    pass\n",
     [("    pass\ndef b():\n", "    pass\n@cache\ndef compute_total(x, y):\n")],
     "def a():\n    pass\n\n\n@cache\ndef compute_total(x, y):\n    pass\n"),
    # ... unless the changed neighbour was moved: added again elsewhere, it could sit on either side.
    ("lost-blank-next-to-moved-line", "first()\n\nsecond()\nthird()\n", [("first()\nsecond()\nthird()\n", "second()\nfirst()\nthird()\n")],
     ("refused", "removed and added elsewhere")),
    # ... but a line edited in place is not moved because a like line (another entry) is added elsewhere.
    ("lost-blank-next-to-a-line-edited-in-place", KEEPERS,
     [(KEEPERS.replace("\n\n", "\n").split("\n", 2)[2],
       "- Bob Jones `@bob <https://b.example/bob>`_.\n- Dan Wu `@dan <https://b.example/dan>`_.\nPrevious Keepers\n"
       "----------------\n- Cat Lee <cat@example.com> `@cat <https://b.example/cat>`_\n"
       "- Ann Smith <ann@example.com> `@ann <https://b.example/ann>`_.\n")],
     "Keepers\n-------\n- Bob Jones `@bob <https://b.example/bob>`_.\n- Dan Wu `@dan <https://b.example/dan>`_.\n\n"
     "Previous Keepers\n----------------\n- Cat Lee <cat@example.com> `@cat <https://b.example/cat>`_\n"
     "- Ann Smith <ann@example.com> `@ann <https://b.example/ann>`_.\n"),
    # ... or new lines with a blank line of their own sit just past the kept neighbour (that blank may be the lost one).
    ("lost-blank-maybe-written-again-past-kept-line", "alpha = 1\n\nbeta = 2\n",
     [("alpha = 1\nbeta = 2\n", "import os\n\nalpha = 1\nbeta = 3\n")], ("refused", "sit just past the kept line")),
    # A stretch set apart by lost blank lines on both sides and rewritten: what replaces it stays between them.
    ("lost-blanks-around-a-rewritten-stretch", "from .a import A\n\nfrom .u import x, y\n\nfrom .s import S\n",
     [("from .a import A\nfrom .u import x, y\nfrom .s import S\n",
       "from .a import A\nfrom .u import (\n    x, y, z,\n)\nfrom .s import S\n")],
     "from .a import A\n\nfrom .u import (\n    x, y, z,\n)\n\nfrom .s import S\n"),
    # A new line nearly a copy of one neighbour (and not of the other) goes with it, where shapes alone cannot tell.
    ("new-line-near-copy-of-the-line-above", LINK_REFS,
     [(LINK_REFS.replace("\n\n", "\n"), LINK_REFS.replace("\n\n", "\n").replace("/2\n", "/2\n[#3]: https://example.org/pull/3\n"))],
     LINK_REFS.replace("/2\n", "/2\n[#3]: https://example.org/pull/3\n")),
    # New lines that stay deeper than the line below continue the block above the lost blank line.
    ("new-lines-deeper-than-below-continue-above", "def f():\n    x = 1\n\nvalue = f()\n",
     [("    x = 1\nvalue = f()\n", "    x = 1\n    y = 2\nvalue = f()\n")], "def f():\n    x = 1\n    y = 2\n\nvalue = f()\n"),
    # ... also when they close an inner block of it: the lost line stays before the dedented line below.
    ("new-lines-closing-an-inner-block-continue-above", "for p in ps:\n    if p:\n        try:\n            go()\n        except E:\n            pass\n\nfor c in cs:\n    show(c)\n",
     [("            pass\nfor c in cs:\n", "            pass\n        break\nfor c in cs:\n")],
     "for p in ps:\n    if p:\n        try:\n            go()\n        except E:\n            pass\n        break\n\nfor c in cs:\n    show(c)\n"),
    # New lines of a kind only the paragraph above has join it.
    ("new-line-joins-the-paragraph-it-looks-like", "self.a = 1\nself.b = 2\n\nfor x in y:\n    pass\n",
     [("self.b = 2\nfor x in y:\n", "self.b = 2\nself.c = 3\nfor x in y:\n")], "self.a = 1\nself.b = 2\nself.c = 3\n\nfor x in y:\n    pass\n"),
    # Above a definition (or heading, or comment) that starts a section, new lines end the section before it.
    ("new-line-ends-the-section-before-a-definition", "import os\n\ndef f():\n    pass\n",
     [("import os\ndef f():\n", "import os\nfrom sys import argv\ndef f():\n")], "import os\nfrom sys import argv\n\ndef f():\n    pass\n"),
    # A new block ending in a blank line of its own is set apart below the lines the file sets apart ...
    ("new-block-set-apart-like-its-kind", ".. a::\n\n.. b::\n\n.. d::\n", [(".. b::\n.. d::\n", ".. b::\n.. c::\n\n.. d::\n")],
     ".. a::\n\n.. b::\n\n.. c::\n\n.. d::\n"),
    # ... but continues a run of lines the file keeps together.
    ("new-block-continues-a-run-kept-together", "- one\n- two\n\nTitle\n=====\n\n\nOther\n=====\n",
     [("- two\nTitle\n", "- two\n- three\n\nTitle\n")], "- one\n- two\n- three\n\n\nTitle\n=====\n\n\nOther\n=====\n"),
    # A block of new lines is of its opening line's kind: an `if` block joins the `if` below it.
    ("new-block-joins-the-paragraph-of-its-openers-kind", "func f() {\n\tx := 1\n\n\tif a != nil {\n\t\ta()\n\t}\n}\n",
     [("\tx := 1\n\tif a != nil {\n", "\tx := 1\n\tif b != nil {\n\t\tb()\n\t}\n\tif a != nil {\n")],
     "func f() {\n\tx := 1\n\n\tif b != nil {\n\t\tb()\n\t}\n\tif a != nil {\n\t\ta()\n\t}\n}\n"),
    # A new Python import joins the paragraph of its PEP 8 group (standard library, relative, other) ...
    ("new-import-joins-its-group", "import os\n\nfrom .compat import x\n",
     [("import os\nfrom .compat import x\n", "import os\nfrom datetime import datetime\nfrom .compat import x\n")],
     "import os\nfrom datetime import datetime\n\nfrom .compat import x\n"),
    # ... and a new group of imports, with a blank line of its own, is set apart from the group above.
    ("new-import-group-set-apart", "from typer import main\nfrom typer.testing import CliRunner\n\nrunner = CliRunner()\n",
     [("from typer.testing import CliRunner\nrunner = CliRunner()\n",
       "from typer.testing import CliRunner\nfrom .utils import needs\n\nrunner = CliRunner()\n")],
     "from typer import main\nfrom typer.testing import CliRunner\n\nfrom .utils import needs\n\nrunner = CliRunner()\n"),
    # A new line written just like the lines of one paragraph (names aside) joins it.
    ("new-line-joins-the-paragraph-written-like-it", FLAGS,
     [("\tarrayFlag.Changed = false\n\texpected = strings.Join([]string{\n",
       "\tarrayFlag.Changed = false\n\tmultiFlag.Changed = false\n\texpected = strings.Join([]string{\n")],
     FLAGS.replace("arrayFlag.Changed = false\n", "arrayFlag.Changed = false\n\tmultiFlag.Changed = false\n")),
    # A new line written like one neighbour (names and strings aside) and unlike the other goes with it ...
    ("new-line-goes-with-the-neighbour-it-is-written-like", "# General ---\n\ndefault_role = 'code'\n",
     [("# General ---\ndefault_role = 'code'\n", "# General ---\nmaster_doc = 'index'\ndefault_role = 'code'\n")],
     "# General ---\n\nmaster_doc = 'index'\ndefault_role = 'code'\n"),
    # ... but prose is written like prose on both sides: refused.
    ("new-prose-line-between-prose-paragraphs", "Some words here.\n\nMore words there.\n",
     [("Some words here.\nMore words there.\n", "Some words here.\nOther words too.\nMore words there.\n")],
     ("refused", "new lines were inserted")),
    # A lost blank line never goes between a new block opener and its body where the file never does that.
    ("lost-blank-not-between-opener-and-body",
     "def f():\n    if a:\n        b()\n    x = compute()\n\n    print(x)\n    return x\n\n\ndef g():\n    if c:\n        d()\n",
     [("    x = compute()\n    print(x)\n", "    x = compute()\n    if x:\n        print(x)\n")],
     "def f():\n    if a:\n        b()\n    x = compute()\n\n    if x:\n        print(x)\n    return x\n\n\ndef g():\n    if c:\n        d()\n"),
    # ... nor, where the file has too few openers like the new one, between any opener and its body.
    ("lost-blank-not-between-a-new-opener-and-the-line-moved-into-it",
     "test('a', t => {\n\tconst x = f();\n\n\tt.is(x, 1);\n});\n\ntest('b', t => {\n\tt.pass();\n});\n",
     [("\tconst x = f();\n\tt.is(x, 1);\n", "\tconst x = f();\n\tif (x) {\n\t\tt.is(x, 1);\n\t}\n")],
     "test('a', t => {\n\tconst x = f();\n\n\tif (x) {\n\t\tt.is(x, 1);\n\t}\n});\n\ntest('b', t => {\n\tt.pass();\n});\n"),
    # A new comment right above a definition is its header: the lost blank line stays above the comment.
    ("new-comment-above-a-definition-goes-with-it", "require 'a'\nrequire 'b'\n\nclass T\n  x\nend\n",
     [("require 'b'\nclass T\n", "require 'b'\n# Tests that talk to a server.\n# Slow.\nclass T\n")],
     "require 'a'\nrequire 'b'\n\n# Tests that talk to a server.\n# Slow.\nclass T\n  x\nend\n"),
    # Next to a rewritten line, new lines with a blank line of their own at one edge: the one split that runs no
    # more blank lines than the file ever does.
    ("lost-blank-next-to-a-rewritten-line-by-the-files-longest-run",
     "/**\n * Request.\n */\nvar req = {\n  a: 1\n};\n\n/**\n * Next.\n */\nfunction next() {}\n",
     [("/**\n * Request.\n */\nvar req = {\n  a: 1\n};\n/**\n * Next.\n",
       "/**\n * Request.\n */\nvar req = make()\n\n/**\n * Exports.\n */\n\nmodule.exports = req\n/**\n * Next.\n")],
     "/**\n * Request.\n */\nvar req = make()\n\n/**\n * Exports.\n */\n\nmodule.exports = req\n\n/**\n * Next.\n */\nfunction next() {}\n"),
    # ... but not when that split puts the lost line by the rewritten neighbour (inside its new paragraph, here).
    ("lost-blank-not-by-the-rewritten-line-even-where-the-longest-run-allows",
     "Init is smart. You can give it\na path like the import.\n\n```\ninit app\n```\n",
     [("Init is smart. You can give it\na path like the import.\n```\n",
       "Init is smart. You can run it here\nor give it a relative path.\n\nIt makes the folder.\n\n```\n")],
     ("refused", "blank lines of their own")),
    # Lost blank lines split so that both joins are spaced as the file always spaces those kinds of line.
    ("lost-blanks-split-by-the-files-spacing", CHANGES,
     [("Version 4\n---------\nVersion 3\n", "Version 4\n---------\n- new\n\nVersion 3\n")],
     CHANGES.replace("---------\n\n\nVersion 3", "---------\n\n- new\n\n\nVersion 3")),
    # One join alone decides when the file spaces that very pair the same way at least three times ...
    ("lost-blank-split-by-one-firm-habit", COMMENTED,
     [("    x = a\n    if a:\n", "    x = a\n    # check\n    if a:\n")],
     COMMENTED.replace("    x = a\n\n    if a:", "    x = a\n\n    # check\n    if a:")),
    # ... but not from twice.
    ("lost-blank-split-by-a-weak-habit", COMMENTED.replace("    # three\n    if x:\n        pass\n\n", "").replace("# two", "two()"),
     [("    x = a\n    if a:\n", "    x = a\n    # check\n    if a:\n")], ("refused", "new lines were inserted")),
    # New lines ending in a blank line of their own: the split that runs no more blank lines than the file ever does.
    ("lost-blank-split-within-the-files-longest-blank-run", NOTES,
     [("## Latest\n### Fixes\n", "## Latest\n## 0.2\n\n### Fixes\n")],
     NOTES.replace("## Latest\n\n### Fixes", "## Latest\n\n## 0.2\n\n### Fixes")),
    # ... where the file has longer runs, either split could be meant.
    ("lost-blank-split-where-the-file-has-longer-runs", NOTES + "\n\n\nEnd\n",
     [("## Latest\n### Fixes\n", "## Latest\n## 0.2\n\n### Fixes\n")], ("refused", "blank lines of their own")),
    # ... and where that leaves two splits, a habit at one join (seen twice) decides between them.
    ("lost-blanks-split-within-the-longest-run-by-one-habit", CLASSES,
     [("        self.x = 1\nclass B:\n", "        self.x = 1\n    def e(self):\n        self.y = 2\n\nclass B:\n")],
     CLASSES.replace("self.x = 1\n", "self.x = 1\n\n    def e(self):\n        self.y = 2\n")),
    # ... or, after a block, where the file always spaces definitions of that kind after blocks alike (3+ times).
    ("lost-blanks-split-by-the-files-spacing-of-definitions", METHODS,
     [("    def i(self):\n        pass\nclass B:\n", "    def i(self):\n        pass\n    def j(self):\n        return 3\n\nclass B:\n")],
     METHODS.replace("        pass\n\n\n", "        pass\n\n    def j(self):\n        return 3\n\n\n")),
    # ... or after any code, where the file always spaces such definitions after code alike.
    ("lost-blanks-split-by-the-files-spacing-of-definitions-after-code", MODULE,
     [("B = 2\nclass C:\n", "B = 2\nA = 3\n\nclass C:\n")], MODULE.replace("B = 2\n", "B = 2\n\nA = 3\n")),
    # A new definition after the end of a block is not more of that block (nor of the paragraph it ends): the lost
    # line could go before it, as the file spaces methods, or after it, before the class's end.
    ("lost-blank-beside-a-new-member-after-a-block", MEMBERS,
     [("        return 2;\n    }\n}\n", "        return 2;\n    }\n    function h() {}\n}\n")],
     ("refused", "new lines were inserted")),
    # A new import goes with its group, as formatters group them (Rust's std, external and crate uses; JavaScript's
    # packages and relative modules; Java's java.*, others and statics), where a blank line sets the groups apart.
    ("lost-blank-beside-a-new-import-of-the-group-below", "use std::fs::File;\nuse std::io::Read;\n\nuse clap::Parser;\n\nfn main() {}\n",
     [("use std::io::Read;\nuse clap::Parser;\n", "use std::io::Read;\nuse clap::Styles;\nuse clap::Parser;\n")],
     "use std::fs::File;\nuse std::io::Read;\n\nuse clap::Styles;\nuse clap::Parser;\n\nfn main() {}\n"),
    # A placement that would space two kinds of line unlike everywhere else in the file is refused.
    ("placement-against-the-files-spacing", "v = 1\n\nimport os\n\nv = 2\n\nimport re\n\nv = 3\n\n# end\nw = 4\n",
     [("v = 3\n# end\n", "v = 3\nimport sys\n# end\n")], ("refused", "spaced unlike")),
    # Blank lines the block adds where one was lost: one of them may be the lost one.
    ("blank-line-written-where-one-was-lost", "a\n\nb\n", [("a\nb\n", "a\n\nb\n")], ("refused", "blank lines were inserted")),
    # Putting lost blank lines back must not pile them up past anything the file has.
    ("lost-blank-lines-would-pile-up", "a\n\nb\nc\n\nd\n", [("a\nb\nc\nd\n", "a\nd\n")], ("refused", "blank lines in a row")),
    # Two equal lines next to a lost blank line: the one before it stays the kept one, not the one glued to the line after.
    ("equal-closing-lines-aligned-across-a-lost-blank", "}\n\nfunc c() {\n}\n",
     [("}\nfunc c() {\n", "}\nfunc b() {\n}\nfunc c() {\n")], ("refused", "new lines were inserted")),
    # Trailing whitespace on new lines is noise when SEARCH shows noise, unless the file ends lines with it ...
    ("trailing-noise-where-the-file-has-it", HARD_BREAKS,
     [("Line one  \nLine two  \nLine three\t\n", "Line one  \nLine 2  \nLine three\t\n")],
     ("refused", "trailing whitespace on new line")),
    # ... or with the start of it (noise is appended to what was meant) ...
    ("trailing-noise-on-top-of-what-the-file-has", HARD_BREAKS,
     [("Line one  \nLine two  \nLine three\t\n", "Line one  \nLine 2   \nLine three\t\n")],
     ("refused", "trailing whitespace on new line")),
    # ... where SEARCH quotes it: a tail the file has only on a stray line away from the quote is noise too ...
    ("trailing-noise-like-a-stray-elsewhere", "Title  \n\nfirst\nsecond\nthird\n",
     [("first \nsecond\n", "first \nsecond  \nextra  \n")], "Title  \n\nfirst\nsecond\nextra\nthird\n"),
    # ... but whitespace the file never ends a line with is dropped.
    ("trailing-noise-unlike-the-files", HARD_BREAKS,
     [("Line one  \nLine two  \nLine three\t\n", "Line one  \nLine 2\t\nLine three\t\n")],
     HARD_BREAKS.replace("Line two  ", "Line 2")),
    # ... and where every line written like it (depth and shape) ends one way, a new line ends that way.
    ("trailing-noise-on-a-line-like-others", "## One \n## Two \ntext here\n",
     [("## Two \ntext here \n", "## Two \n## Three  \ntext here \n")], "## One \n## Two \n## Three \ntext here\n"),
    # ... or where the lines written like it that the block quotes and keeps end one way (one will do: it is right there).
    ("trailing-noise-on-a-line-like-a-kept-neighbour", "\n1.0 / 2011-10-31 \n==========\n\n  * first\n",
     [("\n1.0 / 2011-10-31  \n==========\n", "\n1.1 / 2011-11-01 \n========== \n\n  * second\n\n1.0 / 2011-10-31  \n==========\n")],
     "\n1.1 / 2011-11-01 \n==========\n\n  * second\n\n1.0 / 2011-10-31 \n==========\n\n  * first\n"),
    # ... but a changed line's own old tail says nothing of its new one.
    ("trailing-tail-of-the-changed-line-itself-is-no-habit", "key: \nother: 1\n",
     [("key:  \nother: 1\n", "key: \nother: 2\n")], ("refused", "trailing whitespace on line")),
    # A new whitespace-only line indented just as the lines around it is an editor's habit, not noise: kept (its
    # indentation, where noise was written on top) ...
    ("trailing-noise-on-a-blank-line-indented-as-its-neighbours", "def f():\n    a = 1\n    b = 2\n",
     [("    a = 1 \n    b = 2\n", "    a = 1 \n     \n    c = 3\n    \n    b = 2\n")],
     "def f():\n    a = 1\n    \n    c = 3\n    \n    b = 2\n"),
    # ... as a line next to it (indented as the statement after a block, as editors indent it) ...
    ("trailing-noise-on-a-blank-line-indented-as-the-line-below", "def f():\n    if a:\n        b()\n    c()\n",
     [("        b() \n    c()\n", "        b() \n        d()\n    \n    c()\n")],
     "def f():\n    if a:\n        b()\n        d()\n    \n    c()\n"),
    # ... unless SEARCH shows the model indenting the file's empty blank lines itself ...
    ("indented-blank-line-from-a-model-that-indents-them", "def f():\n    a = 1\n\n    b = 2\n",
     [("    a = 1\n    \n    b = 2\n", "    a = 1\n    \n    b = 2\n    \n    c = 3\n")],
     "def f():\n    a = 1\n\n    b = 2\n\n    c = 3\n"),
    # ... but whitespace a stray keystroke leaves is noise even where the lines around are that deep.
    ("trailing-noise-on-a-blank-line-one-stray-deep", "if x {\n\ta()\n\tb()\n}\n",
     [("\ta() \n\tb()\n", "\ta() \n\t\n\tc()\n\tb()\n")], "if x {\n\ta()\n\n\tc()\n\tb()\n}\n"),
    # Losing trailing whitespace is believed even from a noisy model.
    ("trailing-space-removed-by-a-noisy-model", "a = 1 \nb = 2\n", [("a = 1 \nb = 2  \n", "a = 1\nb = 2  \n")], "a = 1\nb = 2\n"),
    # A new whitespace-only line is new, not a moved copy of the file's blank line.
    ("new-whitespace-only-line-kept-as-written", "    a\n\n    b\n", [("a\n\nb\n", "a\n\n  \nb\n")], "    a\n\n  \n    b\n"),
    # Indentation retyped in another unit: new lines take the file's unit, never a mix of the two ...
    ("tabs-retyped-as-four-spaces", GO_TABS,
     [("    x := 1\n    if x > 0 {\n        show(x)\n    }\n", "    x := 2\n    if x > 0 {\n        show(x)\n        show(0)\n    }\n")],
     GO_TABS.replace("x := 1", "x := 2").replace("\t\tshow(x)\n", "\t\tshow(x)\n\t\tshow(0)\n")),
    # ... from any depth (SEARCH dedented as well as retyped) ...
    ("tabs-retyped-as-spaces-and-dedented", GO_TABS,
     [("if x > 0 {\n  show(x)\n}\n", "if x > 0 {\n  show(x)\n} else {\n  show(1)\n}\n")],
     GO_TABS.replace("\t}\n", "\t} else {\n\t\tshow(1)\n\t}\n")),
    # ... and spaces retyped as tabs, or four spaces as two ...
    ("spaces-retyped-as-tabs", PY_NESTED,
     [("\tdef f(self):\n\t\tif x:\n\t\t\treturn 1\n", "\tdef f(self):\n\t\tif x:\n\t\t\treturn 10\n\t\treturn 3\n")],
     PY_NESTED.replace("return 1\n", "return 10\n        return 3\n")),
    ("four-spaces-retyped-as-two", PY_NESTED,
     [("  def f(self):\n    if x:\n      return 1\n", "  def f(self):\n    if x:\n      if y:\n        return 1\n")],
     PY_NESTED.replace("            return 1\n", "            if y:\n                return 1\n")),
    # ... where the quoted lines alone read as stepping by seven (a continuation aligned eleven in above a line
    # four in), by the file's own unit ...
    ("retyped-where-the-quote-alone-shows-no-unit", PROMPT,
     [("def prompt(text,\n\t\t   show=True):\n\t\"\"\"Ask.\"\"\"\n",
       "def prompt(text,\n\t\t   show=True, err=False):\n\t\"\"\"Ask.\"\"\"\n\tif err:\n\t\treturn None\n")],
     PROMPT.replace("show=True):", "show=True, err=False):").replace('"""Ask."""\n', '"""Ask."""\n    if err:\n        return None\n')),
    # ... never by a unit only unindented lines agree with (each indented one read as aligned past its steps).
    ("retyped-unit-that-only-unindented-lines-agree-with", RST_CODE,
     [("\t\t\t   b=True)\n\t\tinvoke(c)\n\nNext\n----\n",
       "\t\t\t   b=True)\n\t\tinvoke(c)\n\twith g():\n\t\tinvoke(d)\n\nNext\n----\n")],
     RST_CODE.replace("invoke(c)\n", "invoke(c)\n    with g():\n        invoke(d)\n")),
    # ... where the block steps by no width it shows (one depth, and a line aligned far past it), its one depth
    # is one step ...
    ("retyped-one-depth-beside-an-alignment", DOCSTRING,
     [("             converts a value.\n  :param suffix: a suffix.\n  \"\"\"\n",
       "             converts a value.\n  :param suffix: a suffix.\n  :param err: to stderr.\n  \"\"\"\n")],
     DOCSTRING.replace("a suffix.\n", "a suffix.\n    :param err: to stderr.\n")),
    # ... and of the units that fit, by the one that reads fewest quoted lines as aligned past their steps
    # (continuation lines six in above methods four in read as stepping by four, in a file that steps by two).
    ("retyped-unit-that-most-quoted-lines-disagree-with", JAVA_TWO,
     [("\tstatic final F DOUBLE\n\t\t\t= make(1);\n\n\tstatic final A STRING = new A() {\n\t\t@Override\n\t\tString read() {\n",
       "\tstatic final F DOUBLE\n\t\t\t= make(1);\n\n\tstatic final A CHAR = new A() {\n\t\t@Override\n\t\tChar read() {\n"
       "\t\t\tif (x) {\n\t\t\t\treturn null;\n\t\t\t}\n\t\t\treturn c;\n\t\t}\n\t};\n\n"
       "\tstatic final A STRING = new A() {\n\t\t@Override\n\t\tString read() {\n")],
     JAVA_TWO.replace("  static final A STRING", "  static final A CHAR = new A() {\n    @Override\n    Char read() {\n"
                      "      if (x) {\n        return null;\n      }\n      return c;\n    }\n  };\n\n  static final A STRING")),
    # ... and a block comment's continuation keeps its one space past the steps (`` * text`` under ``/*``): that
    # space is the comment's own, not an alignment the change of unit might scale.
    ("retyped-block-comment-continuation", C_FUNC,
     [("int f(int x) {\n  if (x) {\n    return 1;\n  }\n  return 0;\n",
       "int f(int x) {\n  if (x) {\n    return 1;\n  }\n  /* Reconnect.\n   * Keeps the context.\n   */\n  return 0;\n")],
     C_FUNC.replace("    return 0;", "    /* Reconnect.\n     * Keeps the context.\n     */\n    return 0;")),
    # (``**kwargs`` one space past the steps is an alignment, not a comment's star: refused as before.)
    ("retyped-star-argument-aligned-past-the-steps", "def f(x):\n    if x:\n        return 1\n    return 0\n",
     [("def f(x):\n  if x:\n    return 1\n  return 0\n", "def f(x):\n  if x:\n    return 1\n  return g(x,\n   **kw)\n")],
     ("refused", "aligned past whole indentation steps")),
    # ... but where no new line is indented, the unit is never used: a quote whose only indented line is aligned
    # past its steps (retyped as whole steps) still applies.
    ("retyped-alignment-only-and-no-new-line-indented", ALIGNED,
     [("A = ('x' in os.environ and\n        'y' in os.environ)\nWIN = 1\n",
       "MSYS = 2\nA = ('x' in os.environ and\n        'y' in os.environ)\nWIN = 1 and not MSYS\n")],
     ALIGNED.replace("A = (", "MSYS = 2\nA = (").replace("WIN = 1", "WIN = 1 and not MSYS")),
    # ... but a quote of one depth that a prefix shift explains is shifted, even where the file elsewhere steps
    # otherwise (Python in a Markdown file of two-space lists).
    ("one-depth-quote-shifted-where-the-code-around-steps-alike", LISTED_CODE,
     [("    def f():\n", "    def f():\n        pass\n")], LISTED_CODE.replace("def f():\n", "def f():\n    pass\n")),
    # ... but a new line aligned past whole steps of two widths of spaces cannot be placed: its alignment may or may not scale.
    ("new-aligned-line-in-retyped-indentation", PY_NESTED,
     [("  def f(self):\n    if x:\n      return 1\n", "  def f(self):\n    if x:\n      return g(1,\n               2)\n")],
     ("refused", "aligned past whole")),
    # ... unless a quoted line is indented just like it: the quote shows where that indentation goes in the file.
    ("new-line-aligned-like-a-quoted-line-in-retyped-indentation", PY_NESTED.replace("return 1", "return g(1,\n               2)"),
     [("  def f(self):\n    if x:\n      return g(1,\n               2)\n",
       "  def f(self):\n    if x:\n      return g(1,\n               2,\n               3)\n")],
     PY_NESTED.replace("return 1", "return g(1,\n               2,\n               3)")),
    # A continuation line five spaces in, quoted as a tab and a space (a file of four-space steps retyped as tabs):
    # the line replacing it is five spaces in too, not one step and a space of some other unit.
    ("continuation-line-retyped-as-a-tab-and-a-space", "import os\n\n\ndef f():\n    if x:\n        return 2\n\n\n"
     "from .t import a, \\\n     b\n\nfrom .e import c\n",
     [("\nfrom .t import a, \\\n\t b\n\nfrom .e import c\n", "\nfrom .t import a, \\\n\t b, d\n\nfrom .e import c\n")],
     "import os\n\n\ndef f():\n    if x:\n        return 2\n\n\nfrom .t import a, \\\n     b, d\n\nfrom .e import c\n"),
    # ... but where the file indents lines the model retyped alike in two ways (a shell script of four-space steps in a
    # Go string, the Go around it in tabs), a new line indented so could be either: refused, not guessed.
    ("new-line-indented-like-quoted-lines-the-file-indents-two-ways", "func f() {\n\tx := `\n    echo a\n`\n\ty := 1\n}\n",
     [("    x := `\n    echo a\n`\n    y := 1\n", "    x := `\n    echo a\n    echo b\n`\n    y := 1\n")],
     ("refused", "indents in different ways")),
    # ... a quote of one depth that a prefix shift explains too is read as retyped where its new lines say so: shifted,
    # they would sit off the file's steps (a new definition two spaces in), retyped step for step, none would ...
    ("one-depth-quote-retyped-where-the-new-lines-show-it", "def f():\n    x = 1\n    return x\n",
     [("  x = 1\n  return x\n", "  x = 1\n  return x\n\n\ndef g():\n  if y:\n    return 2\n")],
     "def f():\n    x = 1\n    return x\n\n\ndef g():\n    if y:\n        return 2\n"),
    # ... or nest one of the block's steps deeper than the line above them, where the block steps unlike the file
    # (shifted, `return` would sit two of the file's steps in from its `if`) ...
    ("one-depth-quote-retyped-where-the-new-lines-nest-by-its-step",
     "f() {\n  local x=1\n  setopt nonomatch\n  eval \"b=$b\"\n  if [ 1 ]; then\n    echo\n  fi\n}\n",
     [("    setopt nonomatch\n    eval \"b=$b\"\n", "    setopt nonomatch\n    if [[ $b = *x* ]]; then\n        return\n    fi\n"
       "    eval \"b=$b\"\n")],
     "f() {\n  local x=1\n  setopt nonomatch\n  if [[ $b = *x* ]]; then\n    return\n  fi\n  eval \"b=$b\"\n  if [ 1 ]; then\n"
     "    echo\n  fi\n}\n"),
    # ... but not where the unit change would also move every line by whole steps (a list quoted four spaces deep):
    # that quote is shifted, and its new lines with it.
    ("one-depth-quote-shifted-where-a-retyping-would-also-move-it", "Intro\n\n    code\n        deeper\n\n- one\n- two\n",
     [("    - one\n    - two\n", "    - one\n      more\n    - two\n")], "Intro\n\n    code\n        deeper\n\n- one\n  more\n- two\n"),
    # ... a Makefile recipe quoted with spaces keeps its tabs (make refuses a recipe line without one) ...
    ("makefile-recipe-quoted-with-spaces", "x: x.c\n\t$(CC) -o x x.c\n\nclean:\n\trm -f x\n",
     [("x: x.c\n    $(CC) -o x x.c\n", "x: x.c\n    $(CC) -O2 -o x x.c\n    strip x\n")],
     "x: x.c\n\t$(CC) -O2 -o x x.c\n\tstrip x\n\nclean:\n\trm -f x\n"),
    # ... a one-depth quote of a tab-indented file (its depth is one step) ...
    ("one-depth-quote-retyped-from-tabs", GO_TABS,
     [("    x := 1\n", "    x := 1\n    if x > 1 {\n        show(2)\n    }\n")],
     GO_TABS.replace("\tx := 1\n", "\tx := 1\n\tif x > 1 {\n\t\tshow(2)\n\t}\n")),
    # ... and with a typo too (the fuzzy level follows the lines quoted word for word).
    ("retyped-indentation-with-a-typo", GO_TABS,
     [("    x := 1\n    if x > 0 {\n        shwo(x)\n    }\n", "    x := 1\n    if x > 0 {\n        show(x)\n        show(0)\n    }\n")],
     GO_TABS.replace("\t\tshow(x)\n", "\t\tshow(x)\n\t\tshow(0)\n")),
    # A new line indented with spaces in a file indented only with tabs, where the quote shows no retyping: refused.
    ("spaces-in-a-tab-file-without-a-retyped-quote", GO_TABS,
     [("func mian() {\n\tx := 1\n", "func main() {\n    y := 0\n\tx := 1\n")], ("refused", "indented unlike any line")),
    # A misquote that flattens depths the file has (its lines follow no one indentation change): refused.
    ("misquote-that-flattens-the-files-depths", '{\n  "a": {\n    "x": 1,\n    "y": 2\n  },\n  "b": 3\n}\n',
     [('  "x": 1,\n  "yy": 2\n  },\n', '  "x": 1,\n  "y": 2,\n  "z": 3\n  },\n')], ("refused", "no one consistent way")),
    # A block that changes nothing is refused, not reported as applied: REPLACE the same as SEARCH ...
    ("block-that-changes-nothing", "a = 1\nb = 2\n", [("a = 1\n", "a = 1\n")], ("refused", "changes nothing")),
    # ... or differing from it only by trailing whitespace read as the model's noise.
    ("block-whose-only-change-is-noise", "x = 1\ny = 2\n", [("x = 1 \ny = 2\n", "x = 1 \ny = 2  \n")],
     ("refused", "changes nothing")),
    # The same block given once per place it matches is applied to each place; fewer copies stay ambiguous.
    ("same-block-per-place", DUP, [("    x = 1\n    return 0\n", "    x = 2\n    return 0\n")] * 2, DUP.replace("x = 1", "x = 2")),
    ("fewer-copies-than-places", DUP + "\n\ndef third():\n    x = 1\n    return 0\n",
     [("    x = 1\n    return 0\n", "    x = 2\n    return 0\n")] * 2, ("refused", "matches 3 places")),
    # A one-letter typo is forgiven next to a twin that differs by far more (but is still above the threshold).
    ("typo-next-to-a-distant-twin", TWIN, [(TWIN_B, TWIN_B + "    assert result.exit_code == 0\n")],
     TWIN + "    assert result.exit_code == 0\n"),
    # ... and a twin that differs in one line is told apart by that line, where the typo lies in lines both share.
    ("typo-next-to-a-twin-told-apart-by-the-line-they-differ-in", VERBS,
     [('    """Sends a PUT request.\n\n    :param url: the URL.\n    :returns: the respxnse.\n',
       '    """Sends a PUT request.\n\n    :param url: the URL.\n    :returns: the response.\n    :raises: nothing.\n')],
     VERBS.replace("the response.\n", "the response.\n    :raises: nothing.\n", 1)),
    # ... but not where the typo is in that line and leaves it about as near the twin's.
    ("typo-in-the-line-twins-differ-in", VERBS,
     [('    """Sends a PUTCH request.\n\n    :param url: the URL.\n    :returns: the response.\n',
       '    """Sends a PUTCH request.\n\n    :param url: the URL.\n    :returns: the response.\n    :raises: nothing.\n')],
     ("refused", "about as similar")),
    # The first piece before `...` in two places: the one the next piece follows; if it follows both, the nearer.
    ("elided-first-piece-where-the-next-follows", TWO_READY,
     [("if ready:\n    start()\n    ...\n    done()\n", "if ready:\n    begin()\n    ...\n    done()\n")],
     TWO_READY.replace("start()\n    one()\n    two()\n    three()\n    done", "begin()\n    one()\n    two()\n    three()\n    done")),
    ("elided-first-piece-nearest-the-next", TWO_READY, [("if ready:\n    ...\n    done()\n", "if ready:  # checked\n    ...\n    done()\n")],
     TWO_READY.replace("middle\nif ready:\n", "middle\nif ready:  # checked\n")),
    ("elided-first-piece-leading-to-two-places", TWO_READY,
     [("if ready:\n    start()\n    ...\n    three()\n", "if ready:\n    begin()\n    ...\n    three()\n")], ("refused", "matches 2 places")),
    # A piece after `...` that is a bare bracket names no place: lines written after it are refused where it recurs.
    ("elided-bare-bracket-that-recurs", CALLS, [("a = f(\n    ...\n)\n", "a = f(\n    ...\n)\nc = 3\n")],
     ("refused", "is found 2 times further on")),
    # ... but where REPLACE keeps it as it is, any of them gives the same file.
    ("elided-bare-bracket-kept", CALLS, [("a = f(\n    ...\n)\n", "a = h(\n    ...\n)\n")], CALLS.replace("a = f(", "a = h(")),
    # `...` lines REPLACE rewrites are the file's code, not elisions.
    ("rewritten-ellipsis-lines-are-code", STUBS, [
        ("```go\nfunc A() error {\n    //...\n}\n...\nfunc B() error {\n    //...\n}\n",
         "```go\nfunc A() error {\n\t//...\n}\n...\nfunc B() error {\n\t//...\n}\n")], ("refused", "are code, not elisions")),
]


@pytest.mark.parametrize("text, blocks, expected", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_misquote_rules(text: str, blocks: list[tuple[str, str]], expected) -> None:
    result = apply_blocks({"f.txt": text}, [EditBlock("f.txt", s, r) for s, r in blocks])
    if isinstance(expected, tuple):
        assert result.failed and expected[1] in result.failed[0].reason, [f.reason for f in result.failed]
        assert result.new_files["f.txt"] == text
        return
    assert not result.failed, [f.reason for f in result.failed]
    assert result.new_files["f.txt"] == expected


@pytest.mark.parametrize("answer, search, replace", [
    # An rst heading underline in SEARCH looks like the divider; the one that leaves both sides sharing context wins.
    ("doc.rst\n<<<<<<< SEARCH\nIntro\n=======\nold text\n=======\nIntro\n=======\nnew text\n>>>>>>> REPLACE\n",
     "Intro\n=======\nold text\n", "Intro\n=======\nnew text\n"),
    ("doc.rst\n<<<<<<< SEARCH\nTitle\n=======\nTitle\n=======\n>>>>>>> REPLACE\n", "Title\n", "Title\n=======\n"),
    ("doc.rst\n<<<<<<< SEARCH\na\n=======\nb\n=======\nc\n>>>>>>> REPLACE\n", "a\n", "b\n=======\nc\n"),
])
def test_parse_picks_the_divider_that_splits_like_an_edit(answer: str, search: str, replace: str) -> None:
    assert parse_blocks(answer) == [EditBlock("doc.rst", search, replace)]
