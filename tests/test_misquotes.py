"""How models misquote: one row per rule of requoting, placing and matching, each a case the rule decides.

Each row is a file, the blocks a model wrote for it (SEARCH, REPLACE), and the file afterwards, or a refusal and
a part of its reason.
"""

from __future__ import annotations

import pytest

from repo_assist.matching import apply_blocks
from repo_assist.records import EditBlock

from .test_edits import DUP

CANCEL = (
    "func f(ctx context.Context) {\n\tif ctx == nil {\n\t\treturn\n\t}\n\n\tctx, cancel := context.WithCancel(ctx)\n\n"
    "\tgo func() {\n\t\t<-ctx.Done()\n\t}()\n}\n"
)
CANCEL_QUOTED = "\tctx, cancel := context.WithCancel(ctx)\n\tgo func() {\n"  # the blank line between them left out
GUARDS = "func f() {\n\tif a {\n\t\treturn 1\n\t}\n\tif c {\n\t\treturn 4\n\t}\n\n\tx = 2\n\treturn x\n}\n"
TWO_DEPTHS = (
    "def f(xs):\n    for x in xs:\n        if x:\n            continue\n\n        use(x)\n\n\n"
    "def g(ys):\n    if ys:\n        for x in ys:\n            if x:\n                continue\n\n            use(x)\n"
)
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

KOTLIN_TWO = "class T {\n  @Test fun a() {\n    check(x)\n  }\n\n  annotation class U\n}\n"
KOTLIN_NEW = (
    "  @Test fun b() {\n    val m = Builder()\n        .add(F())\n        .build()\n    val g = m.adapter(G)\n"
    "    assertThat(g)\n        .contains(\"x\")\n    assertThat(h)\n        .isNull()\n  }\n"
)
GO_SERVE = "func f() {\n\trctx.Reset()\n\trctx.Routes = mx\n\n\t// NOTE: two allocs and one more\n\tr = wrap(ctx, r)\n\n\t// Serve it\n\tserve(w, r)\n}\n"
GO_IMPORTS = (
    'import (\n\t"net/http"\n\t"time"\n\n\t"github.com/goware/valve"\n\t"github.com/pressly/chi"\n'
    '\t"github.com/tylerb/graceful"\n)\n'
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
NUMBERED = 'prop_shell6 = shellTest "#!/bin/zsh" == Zsh\nprop_shell7 = shellTest "#! /bin/ash" == Dash\n\nshellTest = determine . parse\n'
SECTIONS = "import os\n\nLIMIT = 10\n\n\ndef size():\n    return LIMIT\n\n\ndef name():\n    return 'x'\n"
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
    # ... but an entry re-sorted into a run of lines the file keeps together cannot have taken a blank line along:
    # the lost line stays where it was (Go's import groups).
    ("lost-blank-next-to-an-entry-re-sorted-into-a-run", GO_IMPORTS,
     [(GO_IMPORTS.replace("\n\n", "\n"), GO_IMPORTS.replace("\n\n", "\n").replace('\t"github.com/goware/valve"\n', "")
       .replace('\t"github.com/tylerb', '\t"github.com/pressly/valve"\n\t"github.com/tylerb'))],
     GO_IMPORTS.replace('\t"github.com/goware/valve"\n', "").replace(
         '\t"github.com/tylerb', '\t"github.com/pressly/valve"\n\t"github.com/tylerb')),
    # Blank lines lost around a stretch rewritten whole stay around what replaces it, but for a new first line of
    # the paragraph above's kind (not the stretch's): that goes on the paragraph above.
    ("lost-blanks-around-a-rewrite-that-starts-with-more-of-the-paragraph-above", GO_SERVE,
     [("\trctx.Routes = mx\n\t// NOTE: two allocs and one more\n\tr = wrap(ctx, r)\n\t// Serve it\n",
       "\trctx.Routes = mx\n\trctx.parent = r.Context()\n\t// NOTE: two allocs\n\tr = direct(rctx)\n\t// Serve it\n")],
     GO_SERVE.replace("mx\n\n\t// NOTE: two allocs and one more\n\tr = wrap(ctx, r)\n",
                      "mx\n\trctx.parent = r.Context()\n\n\t// NOTE: two allocs\n\tr = direct(rctx)\n")),
    # A blank line removed next to the lost one and another added elsewhere is "moved" too (no kind to read).
    ("lost-blank-next-to-a-blank-line-moved", "a()\n\n\nb()\nc()\nd()\n",
     [("a()\n\nb()\nc()\nd()\n", "a()\nb()\nc()\n\nd()\n")], ("refused", "removed and added elsewhere")),
    # New imports between two import groups go to their own group (Go's standard library and other paths, PEP 8's),
    # though all imports are written alike.
    ("lost-blank-around-a-new-import-of-the-group-above", GO_IMPORTS,
     [(GO_IMPORTS.replace("\n\n", "\n"), GO_IMPORTS.replace("\n\n", "\n").replace('"time"\n', '"time"\n\t"unicode"\n'))],
     GO_IMPORTS.replace('"time"\n', '"time"\n\t"unicode"\n')),
    ("lost-blank-around-a-new-import-of-the-group-below", "import os\nimport sys\n\nimport requests\nimport yaml\n",
     [("import sys\nimport requests\n", "import sys\nimport attr\nimport requests\n")],
     "import os\nimport sys\n\nimport attr\nimport requests\nimport yaml\n"),
    # ... but where the other side has no import of its group, an import written like one of another group joins it.
    ("lost-blank-after-an-import-written-like-one-of-another-group",
     "var express = require('../')\n  , assert = require('assert');\n\ndescribe('app', function(){\n  it('x')\n})\n",
     [("var express = require('../')\n  , assert = require('assert');\ndescribe('app', function(){\n",
       "var assert = require('assert')\nvar express = require('..')\nvar request = require('supertest')\n"
       "describe('app', function(){\n")],
     "var assert = require('assert')\nvar express = require('..')\nvar request = require('supertest')\n\n"
     "describe('app', function(){\n  it('x')\n})\n"),
    # ... nor one edited in place where REPLACE writes the old line again elsewhere (a test renamed, and a new one
    # under the old name): the like line stays where it was, and the lost lines by its kept neighbour.
    ("lost-blank-next-to-a-line-renamed-and-written-again-below",
     "def test_a():\n    pass\n\ndef test_null():\n    x = parse('')\n    assert x is None\n    assert ok\n",
     [("    pass\ndef test_null():\n    x = parse('')\n    assert x is None\n    assert ok\n",
       "    pass\ndef test_empty():\n    x = parse('')\n    assert x is None\n    assert ok\n\ndef test_null():\n"
       "    assert parse(None) is None\n")],
     "def test_a():\n    pass\n\ndef test_empty():\n    x = parse('')\n    assert x is None\n    assert ok\n\n"
     "def test_null():\n    assert parse(None) is None\n"),
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
    # New lines that close a block opened above go on with it (in a file that never sets a closing bracket apart),
    # as does an ``else``.
    ("new-closing-bracket-goes-on-with-the-block-above",
     "function f(args) {\n  var name = args[0];\n  if (execs[name]) return run(name);\n\n  return result;\n}\n",
     [("  if (execs[name]) return run(name);\n  return result;\n",
       "  if (typeof execs[name] != 'function') {\n    return run(name);\n  }\n  return result;\n")],
     "function f(args) {\n  var name = args[0];\n  if (typeof execs[name] != 'function') {\n    return run(name);\n  }\n\n"
     "  return result;\n}\n"),
    ("new-closing-bracket-where-the-file-sets-them-apart",
     "function f(args) {\n  var name = args[0];\n  if (execs[name]) return run(name);\n\n  return result;\n\n}\n",
     [("  if (execs[name]) return run(name);\n  return result;\n",
       "  if (typeof execs[name] != 'function') {\n    return run(name);\n  }\n  return result;\n")],
     ("refused", "new lines were inserted right there")),
    ("new-else-goes-on-with-the-statement-above", "def f(x):\n    if x:\n        y = 1\n\n    return y\n",
     [("        y = 1\n    return y\n", "        y = 1\n    else:\n        y = 2\n    return y\n")],
     "def f(x):\n    if x:\n        y = 1\n    else:\n        y = 2\n\n    return y\n"),
    # A new comment right above a definition is its header: the lost blank line stays above the comment.
    ("new-comment-above-a-definition-goes-with-it", "require 'a'\nrequire 'b'\n\nclass T\n  x\nend\n",
     [("require 'b'\nclass T\n", "require 'b'\n# Tests that talk to a server.\n# Slow.\nclass T\n")],
     "require 'a'\nrequire 'b'\n\n# Tests that talk to a server.\n# Slow.\nclass T\n  x\nend\n"),
    # So are decorators, a call's arguments running over lines of their own, and block comments.
    ("new-decorator-above-a-definition-goes-with-it", "class T:\n    def a(self):\n        return 1\n\n    def b(self):\n        pass\n",
     [("        return 1\n    def b(self):\n", "        return 1\n    @mark.skipif(\n        slow,\n    )\n    def b(self):\n")],
     "class T:\n    def a(self):\n        return 1\n\n    @mark.skipif(\n        slow,\n    )\n    def b(self):\n        pass\n"),
    ("new-doc-comment-above-a-definition-goes-with-it", "class T {\n    function a() {\n        return 1;\n    }\n\n    function b() {\n    }\n}\n",
     [("    }\n    function b() {\n", "    }\n    /**\n     * Slow.\n     */\n    function b() {\n")],
     "class T {\n    function a() {\n        return 1;\n    }\n\n    /**\n     * Slow.\n     */\n    function b() {\n    }\n}\n"),
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
    # New lines inserted after a kept line they also end with are read as inserted after it, where the model wrote
    # the kept line just as quoted (its noise too) and the new one plainly: the noise is no new line's to weigh.
    ("new-lines-slide-to-the-kept-line-written-as-quoted", "class A {\n  void a() {\n  }\n\n  void b() {\n  }\n  \n}\n",
     [("  }\n  \n  void b() {\n", "  }\n  \n  void c() {\n  }\n\n  void b() {\n")],
     "class A {\n  void a() {\n  }\n\n  void c() {\n  }\n\n  void b() {\n  }\n  \n}\n"),
    # Line numbers copied from a numbered view of the file come off SEARCH and REPLACE ...
    ("line-numbers-copied-into-the-quote", "def f(x):\n    y = x\n    return y\n",
     [("2:     y = x\n3:     return y\n", "2:     y = x + 1\n3:     return y\n")], "def f(x):\n    y = x + 1\n    return y\n"),
    ("cat-n-numbers-copied-into-the-quote", "a = 1\n\nb = 2\n",
     [("     1\ta = 1\n\n     3\tb = 2\n", "     1\ta = 1\n\n     3\tb = 3\n")], "a = 1\n\nb = 3\n"),
    # ... but not from lines the file has as written (a map keyed by numbers), nor from numbers that do not count up.
    ("numbered-lines-the-file-has", "1: one\n2: two\n", [("1: one\n2: two\n", "1: one\n2: zwei\n")], "1: one\n2: zwei\n"),
    ("numbered-lines-the-file-has-quoted-dedented", "N = {\n    1: 'a',\n    2: 'b',\n}\n",
     [("1: 'a',\n2: 'b',\n", "1: 'a',\n2: 'c',\n")], "N = {\n    1: 'a',\n    2: 'c',\n}\n"),
    ("numbers-that-do-not-count-up-stay", "a = 1\nb = 2\n", [("1: a = 1\n5: b = 2\n", "1: a = 1\n5: b = 3\n")],
     ("refused", "not found")),
    # Losing trailing whitespace is believed even from a noisy model.
    ("trailing-space-removed-by-a-noisy-model", "a = 1 \nb = 2\n", [("a = 1 \nb = 2  \n", "a = 1\nb = 2  \n")], "a = 1\nb = 2\n"),
    # A new whitespace-only line is new, not a moved copy of the file's blank line.
    # A new line written like a quoted one (which it would come back as) keeps trailing whitespace of its own where
    # the quote shows none to be noise: a block shifted in indentation reads as the file's lines, not as copies.
    ("new-line-like-a-quoted-one-keeps-its-own-trailing-whitespace", "class A {\n  int f() {\n    return 0;\n  }\n}\n",
     [("    int f() {\n      return 0;\n    }\n  }\n",
       "    int f() {\n      return 0;\n    }\n\n    int g() {\n      return 1;\n    }  \n  }\n")],
     "class A {\n  int f() {\n    return 0;\n  }\n\n  int g() {\n    return 1;\n  }  \n}\n"),
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
    # A block shifted as a whole whose new lines nest by its own wider step is shifted, not retyped, where the
    # change of unit would have to read a quoted line as aligned past its steps (a `}` six in among lines eight in).
    ("shifted-not-retyped-where-a-quoted-line-would-read-as-aligned", KOTLIN_TWO,
     [("        check(x)\n      }\n", "        check(x)\n      }\n\n" + "".join("    " + x for x in KOTLIN_NEW.splitlines(True)))],
     KOTLIN_TWO.replace("  }\n", "  }\n\n" + KOTLIN_NEW, 1)),
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
     [("  def f(self):\n    if x:\n      return 1\n", "  def f(self):\n    if x:\n      return 1 + \\\n               2\n")],
     ("refused", "aligned past whole")),
    # ... unless it sits just past a bracket of the line above it, in the model's text: there it stays in the file (a
    # second such line under it too), not moved by the steps its spaces would make.
    ("new-line-aligned-past-a-bracket-in-retyped-indentation", PY_NESTED,
     [("  def f(self):\n    if x:\n      return 1\n",
       "  def f(self):\n    if x:\n      return g(1,\n               2,\n               3)\n")],
     PY_NESTED.replace("return 1", "return g(1,\n                     2,\n                     3)")),
    # ... but spaces that are whole steps of the model's unit are nesting, a bracket there or not (PEP 8's condition
    # continued two steps in, under ``if (``, four wide).
    ("new-line-nested-by-whole-steps-under-a-bracket-in-retyped-indentation", PY_NESTED,
     [("  def f(self):\n    if x:\n      return 1\n",
       "  def f(self):\n    if (x and\n        y):\n      return 1\n")],
     PY_NESTED.replace("if x:", "if (x and\n                y):")),
    # ... and where the retyping kept the alignment past the steps it made (twenty-two spaces, five steps of four and
    # two, written as five steps of two and two: six steps), the one reading of its spaces that puts it past a bracket.
    ("new-line-retyped-by-steps-and-aligned-past-a-bracket", PY_NESTED,
     [("  def f(self):\n    if x:\n      return 1\n",
       "  def f(self):\n    if x:\n      return fn(1,\n            2)\n")],
     PY_NESTED.replace("return 1", "return fn(1,\n                      2)")),
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
    # ... but a tab the model wrote into a file indented with spaces is its own (retyping loses tabs, never invents
    # them): kept under a typo'd quote, as a commit that writes one wants.
    ("tab-in-a-space-file-under-a-typo", C_FUNC,
     [("    if (x) {\n        retrun 1;\n", "    if (x) {\n\tlog(x);\n        return 1;\n")],
     C_FUNC.replace("    if (x) {\n", "    if (x) {\n\tlog(x);\n")),
    # A misquote that flattens depths the file has (its lines follow no one indentation change): refused.
    ("misquote-that-flattens-the-files-depths", '{\n  "a": {\n    "x": 1,\n    "y": 2\n  },\n  "b": 3\n}\n',
     [('  "x": 1,\n  "yy": 2\n  },\n', '  "x": 1,\n  "y": 2,\n  "z": 3\n  },\n')], ("refused", "no one consistent way")),
    # A block that changes nothing is refused, not reported as applied: REPLACE the same as SEARCH ...
    # A blank line the block rewrites with noise is read by the lines around it, as a new one is: an editor leaves
    # it indented as they are (the file has blank lines of both kinds).
    ("rewritten-blank-line-indented-as-the-lines-around-it", "def f():\n    a = 1\n    \n    b = 2\n\n\ndef g():\n    pass\n",
     [("    a = 1 \n    \n    b = 2\n", "    a = 1 \n    \t\n    b = 3\n")],
     "def f():\n    a = 1\n    \n    b = 3\n\n\ndef g():\n    pass\n"),
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
    # One new code line between two kept lines goes with the paragraph whose names it uses, not the other's.
    ("new-line-goes-with-the-names-it-uses", CANCEL,
     [(CANCEL_QUOTED, CANCEL_QUOTED.replace("(ctx)\n", "(ctx)\n\tdefer cancel()\n"))],
     CANCEL.replace("(ctx)\n\n", "(ctx)\n\tdefer cancel()\n\n")),
    # ... and is refused where it uses a name of both.
    ("new-line-using-names-of-both-sides", CANCEL,
     [(CANCEL_QUOTED, CANCEL_QUOTED.replace("(ctx)\n", "(ctx)\n\ttrace(ctx)\n"))], ("refused", "inserted right there")),
    # An annotation goes with the line below it, whatever that line declares.
    ("new-annotation-heads-the-line-below", "package okio\n\ninternal fun a() = 1\n\ninternal val HEX = hex()\n",
     [("internal fun a() = 1\ninternal val HEX = hex()\n",
       "internal fun a() = 1\n@SharedImmutable\ninternal val HEX = hex()\n")],
     "package okio\n\ninternal fun a() = 1\n\n@SharedImmutable\ninternal val HEX = hex()\n"),
    # A block with a blank line of its own is not kept to the line above, as the file keeps such lines, where that
    # would run more blank lines than the file ever does: the one split that keeps to its longest run is taken ...
    ("new-block-kept-to-the-file-longest-blank-run", GUARDS,
     [("\t\treturn 4\n\t}\n\tx = 2\n", "\t\treturn 4\n\t}\n\tif b {\n\t\treturn 3\n\t}\n\n\tx = 2\n")],
     GUARDS.replace("\t}\n\n", "\t}\n\n\tif b {\n\t\treturn 3\n\t}\n\n")),
    # ... unless the new lines are written like the line above: one more of its run, whose blank line may be the
    # lost one written again.
    ("new-run-entry-whose-blank-line-may-be-the-lost-one", "x.a = 1\nx.b = 2\n\nrun(x)\n",
     [("x.b = 2\nrun(x)\n", "x.b = 2\nx.c = 3\n\nrun(x)\n")], ("refused", "maybe the lost one")),
    # Where the file's longest blank run cannot tell, new lines with blank lines of their own go where an editor
    # inserting a paragraph puts them: ending in a blank line, after the blank line that ends the paragraph above ...
    ("new-paragraph-after-the-blank-line-ending-the-one-above", SECTIONS,
     [("LIMIT = 10\ndef size():\n", "LIMIT = 10\nif os.name == 'nt':\n    LIMIT = 5\n\ndef size():\n")],
     SECTIONS.replace("LIMIT = 10\n\n\n", "LIMIT = 10\n\nif os.name == 'nt':\n    LIMIT = 5\n\n\n")),
    # ... not ending in one, right after the paragraph above, set apart by its own blank line ...
    ("new-paragraph-right-after-the-one-above", "# Tool\n\nIntro.\n\n\n## Use\n\nRun.\n\n\n## More\n\nText.\n",
     [("Intro.\n## Use\n", "Intro.\n\nMore intro.\nAnd more.\n## Use\n")],
     "# Tool\n\nIntro.\n\nMore intro.\nAnd more.\n\n\n## Use\n\nRun.\n\n\n## More\n\nText.\n"),
    # ... nor where the splits tie and the new lines are shallower than the line above (a statement after the end
    # of a nested block: how far apart the file sets those is its own habit).
    ("new-top-level-lines-after-a-nested-block", "class A:\n    def f(self):\n        pass\n\n\n# ----\n\nx = 1\n",
     [("        pass\n# ----\n", "        pass\na = 1\n\n# ----\n")], ("refused", "blank lines of their own")),
    # ... but new lines ending in a label (a heading, a comment) head the line below: cannot tell.
    ("new-label-heading-the-line-below", "Intro.\n\n\nUsage\n-----\n\nRun.\n\n\nMore\n----\n\nText.\n",
     [("Intro.\nUsage\n", "Intro.\n.. _usage:\n\nUsage\n")], ("refused", "blank lines of their own")),
    # A decorator written at the end of a rewritten line heads the line below, not what replaces the rewritten one.
    ("new-decorator-after-a-rewritten-line-heads-the-line-below",
     "import os\n\nfrom .utils import linux\n\n\n@linux\ndef test_a():\n    pass\n",
     [("import os\nfrom .utils import linux\n@linux\ndef test_a():\n",
       "import os\nfrom .utils import bash, linux\n@bash\n@linux\ndef test_a():\n")],
     "import os\n\nfrom .utils import bash, linux\n\n\n@bash\n@linux\ndef test_a():\n    pass\n"),
    # A new entry of a numbered run (``prop_shell8`` under ``prop_shell7``) is of the run's kind, written however.
    ("new-entry-of-a-numbered-run", NUMBERED,
     [(NUMBERED.split("\n", 1)[1].replace("\n\n", "\n"),
       NUMBERED.split("\n", 1)[1].replace("Dash\n\n", "Dash\nprop_shell8 = shellTest' (Just Ksh) \"#!/bin/sh\" == Sh\n"))],
     NUMBERED.replace("Dash\n", "Dash\nprop_shell8 = shellTest' (Just Ksh) \"#!/bin/sh\" == Sh\n")),
    # A SEARCH that left out a blank line is where its lines stand as deep as quoted, not where the same lines
    # stand deeper (as the cascade takes a quote that matches before one it must shift).
    ("lost-blank-quote-as-deep-as-written", TWO_DEPTHS,
     [("        if x:\n            continue\n        use(x)\n", "        if x:\n            continue\n        use(x, 1)\n")],
     TWO_DEPTHS.replace("        use(x)\n", "        use(x, 1)\n", 1)),
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


def test_a_blank_line_is_of_no_kind_to_share() -> None:
    # (a stretch rewritten whole may start or end with a blank line: a chalk README block crashed on its kind)
    from repo_assist.paragraphs import sibling

    assert not sibling("x = 1", [""]) and not sibling("", ["x = 1"]) and sibling("x = 2", ["", "x = 1"])
