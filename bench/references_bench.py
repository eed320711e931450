"""Stale-reference warnings on real renames: how many does a complete rename get, and does a half-done one warn?

    python bench/references_bench.py REPO [--commits N] [--json]

From the last N non-merge commits of REPO (default 1500), each commit that removes a definition (by the
outline's tree-sitter definitions) from a file it modifies, and adds another there, is a *rename case* for each
removed name. Every file the name occurs in as a whole word after the commit (``git grep -w``) is read, with the
commit's modified files before and after, by ``references.stale_references`` (no index: every candidate file is
handed over as it stands after the commit).

- **complete**: the commit as it is. A warning here is mostly noise: the commit finished its rename (the name left
  over is another definition's, a local's, or English). Counted: the files warned of, and the one-line notes for a
  name still defined elsewhere.
- **half done**: one other modified file that used the name before the commit and not after keeps its old text
  (its part of the rename left out). Counted: whether that file is warned of (recall; the name written there is a
  real stale use).

The named alternative is a whole-word search (``git grep -w``: what a tool without syntax trees shows), measured
on the same cases: every file the name is in counts, so its recall on half-done renames is 100% by construction
and the question is what repo-assist's precision costs in recall.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repo_assist.gitrepo import run_git  # noqa: E402
from repo_assist.languages import language_for  # noqa: E402
from repo_assist.outline import Outliner  # noqa: E402
from repo_assist.references import stale_references  # noqa: E402

ENC = ("utf-8", "surrogateescape")
WARNED = re.compile(r", but (.+):\d+ still uses ")


def git(repo: Path, *args: str) -> str:
    return run_git(list(args), repo, check=False).stdout.decode(*ENC)


def cases(repo: Path, commits: int, outliner: Outliner):
    """(sha, name, {path: old}, {path: new}) for each name a commit removes from a file it also adds to."""
    for sha in git(repo, "log", "--no-merges", "--format=%H", "-n", str(commits)).split():
        listing = git(repo, "diff-tree", "--no-commit-id", "-r", "--name-status", sha)
        status = [line.split("\t") for line in listing.splitlines()]
        modified = [s[1] for s in status if s[0] == "M" and language_for(s[1])]
        if not modified or len(status) > 30:
            continue
        old = {p: git(repo, "show", f"{sha}^:{p}") for p in modified}
        new = {p: git(repo, "show", f"{sha}:{p}") for p in modified}
        names = set()
        for p in modified:
            before, after = outliner.definitions(p, old[p]), outliner.definitions(p, new[p])
            if any(n not in before for n in after):
                names |= {re.split(r"\.|::", n)[-1] for n in before if n not in after}
        for name in sorted(n for n in names if len(n) > 2):
            yield sha, name, old, new


def warned(name: str, sha: str, repo: Path, old: dict, new: dict, outliner: Outliner) -> tuple[set[str], int]:
    """The files repo-assist warns of, and its still-defined notes, with every grep candidate handed over."""
    for path in git(repo, "grep", "-l", "-w", "-e", name, sha).splitlines():
        path = path.split(":", 1)[1]
        if path not in new:
            text = git(repo, "show", f"{sha}:{path}")
            old, new = {**old, path: text}, {**new, path: text}
    out = stale_references(old, new, None, outliner, limit=10_000)
    files = {m.group(1) for w in out for m in [WARNED.search(w)] if m and f"still uses {name}" in w}
    notes = sum(f"; {name} is still defined in " in w for w in out)
    return files, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--commits", type=int, default=1500)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    repo = args.repo.resolve()
    outliner = Outliner()
    t: Counter = Counter()
    for sha, name, old, new in cases(repo, args.commits, outliner):
        files, notes = warned(name, sha, repo, old, new, outliner)
        grep = [p.split(":", 1)[1] for p in git(repo, "grep", "-l", "-w", "-e", name, sha).splitlines()]
        t["renames"] += 1
        t["warned files"] += len(files)
        t["grep files"] += len(grep)
        t["renames warned"] += bool(files)
        t["renames grep"] += bool(grep)
        t["still-defined notes"] += notes
        word = re.compile(rf"\b{re.escape(name)}\b")
        for path in sorted(old):  # half done: one other file's part of the rename left out (not where it was defined)
            defined = any(re.split(r"\.|::", d)[-1] == name for d in outliner.definitions(path, old[path]))
            if not defined and word.search(old[path]) and not word.search(new[path] or ""):
                half, _ = warned(name, sha, repo, old, {**new, path: old[path]}, outliner)
                t["half-done cases"] += 1
                t["half-done warned"] += path in half
                break
        print(f"{sha[:10]} {name}: {len(files)} warned, {len(grep)} by grep", file=sys.stderr)
    n, h = max(t["renames"], 1), max(t["half-done cases"], 1)
    result = {
        "repo": str(repo), **t,
        "complete: warned files per rename": round(t["warned files"] / n, 3),
        "complete: grep files per rename": round(t["grep files"] / n, 3),
        "half done: recall": round(t["half-done warned"] / h, 3),
        "ratio warned/grep files": round(t["warned files"] / max(t["grep files"], 1), 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"references bench: {repo} ({t['renames']} removed names in the last {args.commits} commits)")
        print(f"complete renames: {t['warned files']} files warned of ({result['complete: warned files per rename']}"
              f" per rename, {t['renames warned']} renames with any), {t['still-defined notes']} still-defined notes")
        print(f"  whole-word search: {t['grep files']} files ({result['complete: grep files per rename']} per rename)"
              f" · ratio {result['ratio warned/grep files']}")
        print(f"half-done renames: {t['half-done warned']} of {t['half-done cases']} warned of the file left behind"
              f" (recall {result['half done: recall']}; whole-word search 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
