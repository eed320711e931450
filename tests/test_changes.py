"""patch, apply, undo and refactor through the CLI, on real repositories."""

from __future__ import annotations

import json
import subprocess

import pytest

from repo_assist import assistant
from repo_assist.patch import make_diff

from .conftest import git, make_repo, tree_bytes as snapshot, run_cli as run
from .fake_ollama import FakeOllama

BILLING = 'def total(lines):\n    return sum(a for _, a in lines)\n\n\ndef report(lines):\n    return "total: %s" % total(lines)\n'
MAIN = 'from billing import total\n\nprint(total([("a", 1)]))\n'

RENAME = """I will rename it.

billing.py
```python
<<<<<<< SEARCH
def total(lines):
    return sum(a for _, a in lines)
=======
def grand_total(lines):
    return sum(a for _, a in lines)
>>>>>>> REPLACE
```

billing.py
```python
<<<<<<< SEARCH
    return "total: %s" % total(lines)
=======
    return "total: %s" % grand_total(lines)
>>>>>>> REPLACE
```

main.py
```python
<<<<<<< SEARCH
from billing import total

print(total([("a", 1)]))
=======
from billing import grand_total

print(grand_total([("a", 1)]))
>>>>>>> REPLACE
```
"""


@pytest.fixture
def repo(tmp_path):
    r = make_repo(tmp_path / "shop", {"billing.py": BILLING, "main.py": MAIN})
    assistant.index(assistant.open_workspace(r))
    return r




def test_patch_apply_undo_round_trip(repo, tmp_path, capsys):
    resp = tmp_path / "resp.md"
    resp.write_text(RENAME)
    code, diff, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 0, err
    assert diff.startswith("diff --git a/billing.py b/billing.py") and "+def grand_total(lines):" in diff
    assert subprocess.run(["git", "apply", "--check"], input=diff.encode(), cwd=repo).returncode == 0
    before = snapshot(repo)
    patch_file = tmp_path / "p.diff"
    patch_file.write_text(diff)
    code, out, err = run(capsys, "apply", str(patch_file), "--repo", str(repo), "--json")
    assert code == 0, err
    assert sorted(json.loads(out)["files"]) == ["billing.py", "main.py"]
    assert "grand_total" in (repo / "main.py").read_text()
    code, out, err = run(capsys, "undo", "--repo", str(repo))
    assert code == 0, err
    assert snapshot(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_apply_of_a_diff_file_warns_of_the_uses_it_leaves(repo, tmp_path, capsys):
    # A diff the user brings (not the engine's): renaming `total` in billing.py alone leaves main.py's uses. The
    # warning is read from the tree before the apply; the complete rename warns of nothing.
    old = {"billing.py": BILLING, "main.py": MAIN}
    new = {"billing.py": BILLING.replace("total(", "grand_total("), "main.py": MAIN.replace("total", "grand_total")}
    half = _write(tmp_path / "half.diff", make_diff({"billing.py": BILLING}, {"billing.py": new["billing.py"]}))
    code, out, err = run(capsys, "apply", str(half), "--repo", str(repo))
    assert code == 0, err
    assert "warning: total was removed or renamed in billing.py, but main.py:1 still uses total" in err, err
    run(capsys, "undo", "--repo", str(repo))
    whole = _write(tmp_path / "whole.diff", make_diff(old, new))
    code, out, err = run(capsys, "apply", str(whole), "--repo", str(repo), "--json")
    assert code == 0 and json.loads(out)["warnings"] == [], (out, err)
    assert "grand_total" in (repo / "main.py").read_text()


RENAME_AS_DIFF = """Here is the patch:

```diff
diff --git a/billing.py b/billing.py
--- a/billing.py
+++ b/billing.py
@@ -1,4 +1,4 @@
-def total(lines):
+def grand_total(lines):
     return sum(a for _, a in lines)
@@ -7,1 +7,1 @@ def report(lines):
-    return "total: %s" % total(lines)
+    return "total: %s" % grand_total(lines)
--- a/main.py
+++ b/main.py
@@ -1,3 +1,3 @@
-from billing import total
+from billing import grand_total

-print(total([("a", 1)]))
+print(grand_total([("a", 1)]))
```
"""


def test_patch_reads_a_models_unified_diff(repo, tmp_path, capsys):
    # Line numbers and counts wrong (git apply rejects it as written), a blank context line without its space.
    resp = tmp_path / "resp.md"
    resp.write_text(RENAME_AS_DIFF)
    raw = RENAME_AS_DIFF.split("```diff\n")[1].split("```")[0]
    assert subprocess.run(["git", "apply", "--check"], input=raw.encode(), cwd=repo, capture_output=True).returncode != 0
    code, diff, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 0, err
    _, expected, _ = run(capsys, "patch", "--from-response", str(_write(tmp_path / "blocks.md", RENAME)), "--repo", str(repo))
    assert diff == expected
    assert subprocess.run(["git", "apply", "--check"], input=diff.encode(), cwd=repo).returncode == 0


RENAME_AS_APPLY_PATCH = """*** Begin Patch
*** Update File: billing.py
@@
-def total(lines):
+def grand_total(lines):
     return sum(a for _, a in lines)
@@ def report(lines):
-    return "total: %s" % total(lines)
+    return "total: %s" % grand_total(lines)
*** Update File: main.py
@@
-from billing import total
+from billing import grand_total

-print(total([("a", 1)]))
+print(grand_total([("a", 1)]))
*** End Patch
"""


def test_patch_reads_a_models_apply_patch_envelope(repo, tmp_path, capsys):
    code, diff, err = run(capsys, "patch", "--from-response", str(_write(tmp_path / "resp.md", RENAME_AS_APPLY_PATCH)),
                          "--repo", str(repo))
    assert code == 0, err
    _, expected, _ = run(capsys, "patch", "--from-response", str(_write(tmp_path / "blocks.md", RENAME)), "--repo", str(repo))
    assert diff == expected
    assert subprocess.run(["git", "apply", "--check"], input=diff.encode(), cwd=repo).returncode == 0


def _write(path, text):
    path.write_text(text)
    return path


def test_rename_left_half_done_is_warned(repo, tmp_path, capsys):
    resp = tmp_path / "resp.md"
    resp.write_text(RENAME.split("main.py")[0])  # only billing.py is edited
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["applies"] and any("main.py:1 still uses total" in w for w in data["warnings"])


def test_changed_signature_warns_at_its_uses_not_its_definition(repo, tmp_path, capsys):
    resp = tmp_path / "resp.md"
    resp.write_text("billing.py\n```\n<<<<<<< SEARCH\ndef total(lines):\n=======\ndef total(lines, discount):\n>>>>>>> REPLACE\n```\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json")
    assert code == 0, err
    warnings = json.loads(out)["warnings"]
    assert any("billing.py:6 still uses total" in w for w in warnings), warnings
    assert any("main.py:1 still uses total" in w for w in warnings), warnings
    assert not any("billing.py:1 " in w for w in warnings), warnings


def _uses_left_by_renaming_total(r, tmp_path, capsys) -> list[str]:
    """Index ``r``, rename billing.py's `total` alone, and list the uses the warnings name."""
    assistant.index(assistant.open_workspace(r))
    resp = _write(tmp_path / "resp.md", "billing.py\n<<<<<<< SEARCH\ndef total(lines):\n=======\n"
                                       "def grand_total(lines):\n>>>>>>> REPLACE\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(r), "--json")
    assert code == 0, err
    return sorted(w.split(", but ")[1] for w in json.loads(out)["warnings"] if "still uses" in w)


def test_the_name_as_an_english_word_is_no_use_but_as_code_anywhere_it_is(tmp_path, capsys):
    # `total` renamed: a docstring, a comment and a prose file that say "the total" do not use it; code does, and so
    # does a name written as code in prose: called, in backticks, or in a Markdown file's code fence.
    r = make_repo(tmp_path / "shop", {
        "billing.py": 'def total(lines):\n    """The total of the lines."""\n    return sum(a for _, a in lines)\n',
        "main.py": "# print the total\nfrom billing import total\n",
        "shout.py": "# the total, loud\nimport billing\n\n# billing.total(), loud\n",
        "prose.md": "The total is printed in red.\n",
        "called.md": "The total is what\n`total` returns.\n",
        "fenced.md": "The total:\n\n```python\nprint(total(x))\n```\n",
        "NOTES.txt": "the total\nsee total(lines)\n",
    })
    uses = _uses_left_by_renaming_total(r, tmp_path, capsys)
    assert uses == ["NOTES.txt:2 still uses total", "called.md:2 still uses total", "fenced.md:4 still uses total",
                    "main.py:2 still uses total", "shout.py:4 still uses total"], uses


def test_a_local_of_the_same_name_is_no_use(tmp_path, capsys):
    # `total` renamed: a parameter or a local variable named total (Python, Go, JavaScript) is the local, not the
    # function, within its function; a member (`billing.total`), an import and a call outside those functions
    # still are uses, and so is the call in a Markdown fence, where a comment line is prose.
    r = make_repo(tmp_path / "shop", {
        "billing.py": "def total(lines):\n    return sum(lines)\n",
        "locals.py": "import billing\n\n\ndef fmt(total):\n    return '%d' % total\n\n\ndef show(lines):\n"
                     "    total = sum(lines)\n    return total\n\n\ndef call(lines):\n    return billing.total(lines)\n",
        "walk.go": "package walk\n\nfunc walk(h any) int {\n\tif total, ok := h.(int); ok {\n\t\treturn total + 1\n\t}\n"
                   "\treturn 0\n}\n",
        "render.js": "function render(total) {\n  return total + 1;\n}\n",
        "notes.md": "# Notes\n\n```python\n# add up the total\nprint(total(lines))\n```\n",
    })
    uses = _uses_left_by_renaming_total(r, tmp_path, capsys)
    assert uses == ["locals.py:14 still uses total", "notes.md:5 still uses total"], uses


def test_a_name_still_defined_elsewhere_gets_one_note_not_a_warning_per_use(tmp_path, capsys):
    # Removing Reader.close while Writer.close stays (or moving `helper` to another file in the same patch) leaves
    # no use that is surely the removed one's: one line says where the name is still defined, none per use.
    r = make_repo(tmp_path / "io", {
        "reader.py": "class Reader:\n    def close(self):\n        pass\n\n\ndef helper():\n    return 1\n",
        "writer.py": "class Writer:\n    def close(self):\n        pass\n",
        "main.py": "from reader import helper\n\n\ndef run(w):\n    w.close()\n    return helper()\n",
    })
    assistant.index(assistant.open_workspace(r))
    resp = _write(tmp_path / "resp.md", "reader.py\n<<<<<<< SEARCH\nclass Reader:\n    def close(self):\n        pass\n"
                  "\n\ndef helper():\n    return 1\n=======\nclass Reader:\n    pass\n>>>>>>> REPLACE\n\n"
                  "util.py\n<<<<<<< SEARCH\n=======\ndef helper():\n    return 1\n>>>>>>> REPLACE\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(r), "--json")
    assert code == 0, err
    warnings = json.loads(out)["warnings"]
    assert sorted(warnings) == [
        "Reader.close was removed or renamed in reader.py; close is still defined in writer.py, so its uses were not listed",
        "helper was removed or renamed in reader.py; helper is still defined in util.py, so its uses were not listed",
    ], warnings


def test_a_renamed_class_warns_of_its_uses_not_of_its_methods(tmp_path, capsys):
    # `class Invoice` → `class Bill`: its methods moved along (still defined in the same file), so only the
    # class's own uses are listed, and no note per method.
    r = make_repo(tmp_path / "shop", {
        "bill.py": "class Invoice:\n    def total(self):\n        return 1\n",
        "main.py": "from bill import Invoice\n\nprint(Invoice().total())\n",
    })
    assistant.index(assistant.open_workspace(r))
    resp = _write(tmp_path / "resp.md", "bill.py\n<<<<<<< SEARCH\nclass Invoice:\n=======\nclass Bill:\n>>>>>>> REPLACE\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(r), "--json")
    assert code == 0, err
    assert json.loads(out)["warnings"] == ["Invoice was removed or renamed in bill.py, but main.py:1 still uses Invoice"]


def test_patch_needs_no_index(tmp_path, capsys):
    # A repository never indexed: paths resolve against git's tracked files, the patched files are still read for
    # stale uses, and a warning says the rest of the repository was not.
    bare = make_repo(tmp_path / "plain", {"billing.py": BILLING, "main.py": MAIN})
    resp = _write(tmp_path / "resp.md", RENAME.split("main.py")[0].replace("billing.py\n", "./src/billing.py\n"))
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(bare), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["applies"] and "+def grand_total(lines):" in data["diff"], data
    assert any("no index" in w for w in data["warnings"]), data["warnings"]
    assert not assistant.open_workspace(bare).exists()  # reading the response built no index


def test_patch_that_cannot_apply_is_exit_4_and_writes_nothing(repo, tmp_path, capsys):
    before = snapshot(repo)
    resp = tmp_path / "bad.md"
    resp.write_text("billing.py\n```\n<<<<<<< SEARCH\ndef nothing_like_this():\n    pass\n=======\nx = 1\n>>>>>>> REPLACE\n```\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and "no patch that applies" in err and out == ""
    resp.write_text("just prose, no blocks")
    code, _, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and err.strip().count("\n") == 0
    resp.write_text("../outside.py\n```\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n```\n")
    code, _, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and "unsafe path" in err
    assert snapshot(repo) == before


def test_a_block_cut_off_is_exit_4_not_half_a_patch(repo, tmp_path, capsys):
    # The answer stopped inside its last block (the model hit its token limit): the blocks before it apply, but
    # the patch would be half the refactor, so none is printed and the unreadable block is named.
    before = snapshot(repo)
    resp = _write(tmp_path / "cut.md", RENAME[: RENAME.index("from billing import grand_total")])
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and out == "", err
    assert "refused: block 3" in err and "not closed" in err
    code, out, _ = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json")
    data = json.loads(out)
    assert code == 4 and data["applied"] and len(data["problems"]) == 1, data
    assert snapshot(repo) == before


def test_a_block_naming_no_file_goes_to_the_one_file_its_search_is_in(repo, tmp_path, capsys):
    # A small model dropped the path: the one file SEARCH is found in (indentation misquoted) takes the block, and
    # the diff says so; where two files hold SEARCH, or none does, the block stays unreadable.
    block = "```python\n<<<<<<< SEARCH\ndef report(lines):\n  return \"total: %s\" % total(lines)\n=======\n" \
            "def report(lines):\n  return \"sum: %s\" % total(lines)\n>>>>>>> REPLACE\n```\n"
    resp = _write(tmp_path / "nopath.md", "Here it is:\n\n" + block)
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 0, err
    assert '+    return "sum: %s" % total(lines)' in out and out.startswith("diff --git a/billing.py")
    assert "names no file; its SEARCH is found only in billing.py" in err
    (repo / "copy.py").write_text(BILLING)
    git(repo, "add", "copy.py")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and out == "" and "no file path before it" in err
    resp = _write(tmp_path / "nowhere.md", block.replace("def report(lines):\n  return", "def other():\n  return", 1))
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and out == "" and "no file path before it" in err


def test_files_written_out_whole_become_a_patch(repo, tmp_path, capsys):
    # No edit block: the model wrote each file out whole under its path, as small models fall back to doing.
    rounded = BILLING.replace("return sum(a for _, a in lines)", "return round(sum(a for _, a in lines), 2)")
    answer = "Here is the file.\n\n`billing.py`\n```python\n" + rounded + "```\n"
    resp = _write(tmp_path / "whole.md", answer)
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["files"] == ["billing.py"] and data["applies"], data
    assert [a["how"] for a in data["applied"]] == ["whole-file"]
    assert "+    return round(sum(a for _, a in lines), 2)" in data["diff"]
    # every line of a file changed cannot be told from a snippet meant to go somewhere in it: refused
    resp = _write(tmp_path / "whole.md", "main.py\n```python\n" + MAIN.replace("total", "grand_total") + "```\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and out == "" and "not the whole file written out again" in err


def test_a_readme_written_out_whole_ends_where_the_file_ends(repo, tmp_path, capsys):
    # Its example opens with a bare fence, so a bare fence inside the answer's may close it; the README as it stands
    # ends with "MIT", and only one of those fences leaves the file written out ending so: that one closes it.
    readme = "# Shop\n\nRun it:\n\n```\npip install shop\n```\n\nMIT\n"
    (repo / "README.md").write_text(readme)
    git(repo, "add", "README.md")
    assistant.index(assistant.open_workspace(repo))
    new = readme.replace("Run it:", "Run it with Python 3:")
    resp = _write(tmp_path / "readme.md", "Here it is.\n\nREADME.md\n```markdown\n" + new + "```\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["files"] == ["README.md"] and data["applies"] and "+Run it with Python 3:" in data["diff"], data
    assert "-MIT" not in data["diff"]
    # With its last line changed as well, no fence leaves it ending as it does: where it ends cannot be told.
    resp = _write(tmp_path / "readme.md", "README.md\n```markdown\n" + new.replace("MIT", "Apache-2.0") + "```\n")
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 4 and out == "" and "ends cannot be told" in err


def test_a_block_for_a_file_that_does_not_exist_goes_where_its_search_is(repo, tmp_path, capsys):
    # The model made the path up (lib/billing_utils.py): the one file SEARCH is found in takes the block, with a
    # warning. A block editing a file an earlier block creates from copied lines stays with that file.
    block = "<<<<<<< SEARCH\ndef report(lines):\n=======\ndef report(lines, title=''):\n>>>>>>> REPLACE\n"
    resp = _write(tmp_path / "madeup.md", "lib/billing_utils.py\n" + block)
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    assert code == 0 and out.startswith("diff --git a/billing.py") and "+def report(lines, title=''):" in out, err
    assert "lib/billing_utils.py does not exist; the block's SEARCH is found only in billing.py" in err
    copy = "reports.py\n<<<<<<< SEARCH\n=======\n" + BILLING.split("\n\n\n")[1] + ">>>>>>> REPLACE\n\nreports.py\n" + block
    resp = _write(tmp_path / "copy.md", copy)
    code, out, err = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo), "--json")
    data = json.loads(out)
    assert code == 0 and data["files"] == ["reports.py"], data
    assert "+def report(lines, title=''):" in data["diff"] and "does not exist" not in err


def test_apply_refuses_dirty_targets_unless_forced(repo, tmp_path, capsys):
    resp = tmp_path / "resp.md"
    resp.write_text(RENAME)
    run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    code, diff, _ = run(capsys, "patch", "--from-response", str(resp), "--repo", str(repo))
    (repo / "notes.txt").write_text("unrelated\n")
    with open(repo / "main.py", "a") as fh:
        fh.write("# local edit\n")
    p = tmp_path / "p.diff"
    p.write_text(diff)
    code, _, err = run(capsys, "apply", str(p), "--repo", str(repo))
    assert code == 4 and "main.py" in err


WRONG_FIRST = RENAME.replace("def total(lines):\n    return sum(a for _, a in lines)\n=======",
                             "def totals(rows, tax_rate):\n    return reduce(operator.add, rows)\n=======", 1)


@pytest.mark.parametrize("first, told", [
    # a block that does not match: the retry names it, with the nearest real lines
    (WRONG_FIRST, ("did not match", "def totals(rows, tax_rate):")),
    # an answer cut off inside its last block: the retry asks for that block again, whole
    (RENAME[: RENAME.index("from billing import grand_total")], ("block 3", "not closed", "send this block again")),
])
def test_refactor_end_to_end_with_a_model_server_and_one_retry(repo, capsys, monkeypatch, first, told):
    with FakeOllama(replies=[first, RENAME]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        code, out, err = run(capsys, "refactor", "rename total to grand_total everywhere", "--repo", str(repo),
                             "--model", "ollama/tiny", "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["applies"] and data["attempts"] == 2 and not data["problems"], data
        # what the model said, to read or to feed to `patch` (the server trims the answer's last newline)
        assert [r.strip() for r in data["responses"]] == [first.strip(), RENAME.strip()]
        assert sorted(data["files"]) == ["billing.py", "main.py"]
        # the first request carried every definition and use of `total`
        request = fake.chat_requests()[0]["messages"][-1]["content"]
        assert "billing.py:L1-" in request and "main.py:L1-" in request
        retry = fake.chat_requests()[1]["messages"][-1]["content"]
        assert all(part in retry for part in told), retry
    assert "grand_total" not in (repo / "billing.py").read_text()  # not applied without --apply


def test_refactor_retries_as_often_as_configured(repo, capsys, monkeypatch):
    with FakeOllama(replies=[WRONG_FIRST, WRONG_FIRST, RENAME]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        argv = ["refactor", "rename total to grand_total everywhere", "--repo", str(repo), "--model", "ollama/tiny", "--json"]
        code, out, err = run(capsys, *argv)  # the default: one retry, and the block still fails
        assert code == 4 and json.loads(out)["attempts"] == 2, err
        monkeypatch.setenv("REPO_ASSIST_REFACTOR_RETRIES", "2")
        fake.replies[:] = [WRONG_FIRST, WRONG_FIRST, RENAME]
        code, out, err = run(capsys, *argv)
        assert code == 0 and json.loads(out)["attempts"] == 3, err
        code, out, err = run(capsys, *argv, "--retries", "-1")
        assert code == 2 and err.count("\n") == 1 and "must be 0 or more" in err, err


def test_a_refactor_whose_answers_hold_no_block_still_reports_them(repo, capsys, monkeypatch):
    # The model answered prose twice: exit 4, and --json still gives what it said (and why it was refused); after
    # a first answer with a failed block, a prose retry keeps that block's failure beside the new problem.
    prose = "Sure! Rename total to grand_total in billing.py and main.py."
    argv = ["refactor", "rename total to grand_total", "--repo", str(repo), "--model", "ollama/tiny", "--json"]
    with FakeOllama(replies=[prose, prose]) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.host)
        code, out, err = run(capsys, *argv)
        assert code == 4 and err.count("\n") == 1 and "no patch that applies" in err, err
        data = json.loads(out)
        assert data["attempts"] == 2 and [r.strip() for r in data["responses"]] == [prose, prose], data
        assert not data["applies"] and "no SEARCH/REPLACE block" in data["problems"][0], data
        fake.replies[:] = [WRONG_FIRST, prose]
        code, out, err = run(capsys, *argv)
        data = json.loads(out)
        assert code == 4 and data["failed"] and "not found" in data["failed"][0]["reason"], data
        assert data["problems"][-1].startswith("the last answer: the response holds no SEARCH/REPLACE block"), data
        fake.replies[:] = [WRONG_FIRST, prose]
        code, out, err = run(capsys, *argv[:-1])
        assert code == 4 and out == "" and "refused: the last answer" in err, err


def test_refactor_with_the_embedded_model_runs_end_to_end(repo, capsys, monkeypatch):
    """The packaged 270M model rarely writes valid blocks: a patch or a clean exit 4, never a traceback."""
    monkeypatch.setenv("REPO_ASSIST_N_CTX", "2048")
    monkeypatch.setenv("REPO_ASSIST_REFACTOR_ANSWER_TOKENS", "96")
    code, out, err = run(capsys, "refactor", "rename total to grand_total", "--repo", str(repo), "--retries", "0")
    assert code in (0, 4), err
    assert "Traceback" not in err
    if code == 0:
        assert subprocess.run(["git", "apply", "--check"], input=out.encode(), cwd=repo).returncode == 0
