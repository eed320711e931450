"""Patch-engine bench: real commits → edit blocks → perturbed the way models misquote → same bytes?

    python bench/patch_bench.py REPO [--commits N] [--seed S] [--json]

For each sampled commit of REPO (non-merge, text only, modifying 1-5 existing
files, small hunks, lines added and removed ending as their file's lines do) every hunk of
``git diff PARENT COMMIT`` becomes a SEARCH/REPLACE block (SEARCH = old
side with its context, REPLACE = new side; where 3 lines of context occur
twice in the file, the file's hunks get more context until each SEARCH is
unique). Copies of the blocks are
perturbed as models do (indentation drift, trailing spaces, lost blank
lines, ``...`` elisions of long unchanged runs, a
typo in a context line, a path with a wrong prefix, and a mix), rendered as a
model answer, parsed, and applied to the parent's blobs (``git show``, no
checkout). The *unified-diff* row writes the unperturbed hunks as a model's
diff instead (wrong start lines, wrong or missing counts in half the hunks,
blank context lines missing their space); its alternative is ``git apply``
on that diff as written. The *apply-patch* row writes them in the
``apply_patch`` envelope OpenAI's open-weight models use; the *whole-file* row writes each changed file out
whole, fenced under its path (the commit's own text: a miss is the reader's, or the whole-file rule's, which
leaves lines changed only in trailing whitespace as the file has them). The *retyped-indent* row retypes the blocks'
indentation in another unit, as models do (a tab-indented file quoted with
two or four spaces, a space-indented one with tabs or the other width). The *lazy-replace* and *lazy-search*
rows leave each long unchanged run inside a block out of one side only, as lazy models do: REPLACE keeps it as a
``// ... existing code ...`` comment (SEARCH quotes it), or SEARCH elides it with ``...`` (REPLACE writes it out);
half the runs keep their first and last lines around the elision, the rest are elided whole.
Each case is *exact* (result == the commit's files), *refused* (the engine
declined), or *wrong* (applied but different: the goal is 0); the
*perturbed* row sums the misquote rows (the goal is 95% exact there).
The named alternative, measured in the same run on the same cases, is
exact-match only (what str.replace-style engines do). Every produced diff is
also run through ``git apply --check`` against the parent's files.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repo_assist.edits import parse_blocks  # noqa: E402
from repo_assist.errors import PatchError  # noqa: E402
from repo_assist.gitrepo import run_git  # noqa: E402
from repo_assist.matching import ALL_LEVELS, apply_blocks  # noqa: E402
from repo_assist.patch import make_diff  # noqa: E402

MAX_FILES = 5
MAX_CHANGED_LINES = 60  # added + deleted over the whole commit
MAX_FILE_BYTES = 300_000
ELISION_RUN = 5  # an inner unchanged run this long or longer gets elided
PERTURBATIONS = (
    "clean", "indent", "trailing-space", "blank-lines", "elision", "typo", "path-prefix", "mixed", "unified-diff", "retyped-indent",
    "apply-patch", "whole-file", "lazy-replace", "lazy-search",
)
# The rows the perturbed figure sums (unified-diff is a format, not a misquote; retyped-indent came later and is
# kept out so that the figure stays comparable with earlier runs).
MISQUOTES = ("indent", "trailing-space", "blank-lines", "elision", "typo", "path-prefix", "mixed")
OWN_RNG = ("unified-diff", "retyped-indent", "apply-patch", "whole-file", "lazy-replace", "lazy-search")  # rows drawing from a generator of their own (added later: see main)
UNIQUE_CONTEXTS = (3, 6, 12, 24)  # lines of context tried, least first, until every SEARCH is unique in its file
WRONG_PREFIXES = ("./", "repo/", "/home/user/project/")

Hunk = list[tuple[str, str]]  # (" " | "-" | "+", line text without newline)


@dataclass
class Case:
    sha: str
    parent: str
    old: dict[str, str]
    new: dict[str, str]
    hunks: dict[str, list[Hunk]]  # -U3 hunks per path
    wide: dict[str, list[Hunk]]  # hunks with --inter-hunk-context, for elision
    known: list[str]


def git(repo: Path, *args: str) -> str:
    return run_git(list(args), repo).stdout.decode("utf-8", "surrogateescape")


def load_case(repo: Path, sha: str) -> Case | None:
    """The commit as a bench case, or None when it does not fit the filter."""
    proc = run_git(["rev-parse", "-q", "--verify", f"{sha}^1"], repo, check=False)
    if proc.returncode != 0:
        return None
    parent = proc.stdout.decode().strip()
    status = git(repo, "diff-tree", "-r", "--no-commit-id", "--no-renames", "--name-status", parent, sha).splitlines()
    if not 1 <= len(status) <= MAX_FILES or any(not line.startswith("M\t") for line in status):
        return None
    changed = 0
    for line in git(repo, "diff-tree", "-r", "--no-commit-id", "--no-renames", "--numstat", parent, sha).splitlines():
        added, deleted, _ = line.split("\t", 2)
        if added == "-" or deleted == "-":
            return None  # binary
        changed += int(added) + int(deleted)
    if changed > MAX_CHANGED_LINES or changed == 0:
        return None
    paths = [line.split("\t", 1)[1] for line in status]
    old, new, hunks, wide = {}, {}, {}, {}
    for path in paths:
        try:
            a = run_git(["show", f"{parent}:{path}"], repo).stdout
            b = run_git(["show", f"{sha}:{path}"], repo).stdout
            if b"\0" in a + b or max(len(a), len(b)) > MAX_FILE_BYTES:
                return None
            old[path], new[path] = a.decode("utf-8"), b.decode("utf-8")
        except (UnicodeDecodeError, Exception):
            return None
        hunks[path] = unique_hunks(repo, parent, sha, path, old[path], [])
        wide[path] = unique_hunks(repo, parent, sha, path, old[path], ["--inter-hunk-context=12"])
        if hunks[path] is None or wide[path] is None:
            return None
        crlf = old[path].count("\r\n") * 2 > old[path].count("\n")
        if any(tag != " " and text.endswith("\r") != crlf for hunk in hunks[path] for tag, text in hunk):
            return None  # lines added or removed ending unlike the file's lines: a change of line endings, which no
            # edit block says (answers are normalized)
    known = git(repo, "ls-tree", "-r", "--name-only", parent).splitlines()
    return Case(sha, parent, old, new, hunks, wide, known)  # type: ignore[arg-type]


def unique_hunks(repo: Path, parent: str, sha: str, path: str, old: str, extra: list[str]) -> list[Hunk] | None:
    """The commit's hunks for ``path`` with the least context (3 lines or more) that makes every SEARCH unique.

    A hunk finds its place by line number, a SEARCH block by its text: context
    that occurs twice in the file (two functions that end alike) would be a
    block no one could place, so it is widened the way a careful author would.
    """
    hunks = None
    for context in UNIQUE_CONTEXTS:
        hunks = diff_hunks(repo, parent, sha, path, extra, context)
        if hunks is None or all(occurrences(old, sides(h)[0]) == 1 for h in hunks):
            return hunks
    return hunks


def occurrences(text: str, lines: list[str]) -> int:
    """How many times ``lines`` occur in ``text`` as whole consecutive lines."""
    needle, hay = "\n" + "\n".join(lines) + "\n", "\n" + text
    count, at = 0, hay.find(needle)
    while at >= 0:
        count += 1
        at = hay.find(needle, at + 1)
    return count


def diff_hunks(repo: Path, parent: str, sha: str, path: str, extra: list[str], context: int = 3) -> list[Hunk] | None:
    text = git(repo, "diff", "--no-ext-diff", "--no-color", "--no-renames", f"-U{context}", *extra, parent, sha, "--",
               f":(literal){path}")
    if "\\ No newline at end of file" in text:
        return None  # the engine keeps the final-newline state on purpose; such commits change it
    hunks: list[Hunk] = []
    for line in text.split("\n"):
        if line.startswith("@@"):
            hunks.append([])
        elif hunks and line[:1] in (" ", "-", "+"):
            hunks[-1].append((line[0], line[1:]))
    if not hunks or any(not any(tag in " -" for tag, _ in h) for h in hunks):
        return None  # a hunk with no old lines has nothing to search for
    return hunks


# --- perturbations -------------------------------------------------------------------


def sides(hunk: Hunk) -> tuple[list[str], list[str]]:
    return [t for tag, t in hunk if tag in " -"], [t for tag, t in hunk if tag in " +"]


def indent_drift(hunk: Hunk, rng: random.Random) -> Hunk:
    indents = [t[: len(t) - len(t.lstrip())] for _, t in hunk if t.strip()]
    common = min(indents, key=len) if indents else ""
    common = common if all(i.startswith(common) for i in indents) else ""
    if common and rng.random() < 0.6:
        return [(tag, t[len(common):] if t.strip() else t) for tag, t in hunk]
    return [(tag, "    " + t if t.strip() else t) for tag, t in hunk]


def trailing_space(hunk: Hunk, rng: random.Random) -> Hunk:
    """Trailing blanks on ~30% of lines (context lines carry the same in SEARCH and REPLACE), at least one in SEARCH.

    They go before a line's carriage return (in a file of CRLF lines): a model writes them at the end of the text,
    not after its line break.
    """
    out = [(tag, _add_tail(t, rng.choice((" ", "  ", "\t")))) if rng.random() < 0.3 else (tag, t) for tag, t in hunk]
    if all(out[k] == hunk[k] for k, (tag, _) in enumerate(hunk) if tag in " -"):
        k = next(k for k, (tag, _) in enumerate(hunk) if tag in " -")
        out[k] = (hunk[k][0], _add_tail(hunk[k][1], " "))
    return out


def _add_tail(text: str, tail: str) -> str:
    return text[:-1] + tail + "\r" if text.endswith("\r") else text + tail


def file_unit(text: str) -> str | None:
    """The unit a file indents by: a tab, or the least even width of its space indentations (2, 4 or 8) where three
    in four of them are whole steps of it (the rest align)."""
    indents = [ln[: len(ln) - len(ln.lstrip())] for ln in text.split("\n") if ln.strip() and ln[:1] in " \t"]
    if not indents:
        return None
    if sum(i.startswith("\t") for i in indents) * 2 > len(indents):
        return "\t"
    widths = [len(i) for i in indents if not i.strip(" ")]
    least = min((w for w in widths if w % 2 == 0), default=0)
    return " " * least if least in (2, 4, 8) and sum(w % least == 0 for w in widths) >= 0.75 * len(widths) else None


def retype(hunk: Hunk, rng: random.Random, unit: str | None) -> Hunk | None:
    """Every line's indentation retyped in another unit (whole steps only; what follows them stays).

    Only a hunk whose old side has an indented line: where the quote shows no
    indentation, nothing can tell that the new lines' was retyped.
    """
    if unit is None or not any(t[:1] in " \t" and t.strip() for tag, t in hunk if tag in " -"):
        return None
    to = rng.choice(("  ", "    ")) if unit == "\t" else rng.choice(("\t", "  " if unit != "  " else "    "))

    def line(text: str) -> str:
        k = 0
        while text.startswith(unit, k * len(unit)):
            k += 1
        return to * k + text[k * len(unit):]

    out = [(tag, line(t)) for tag, t in hunk]
    return out if out != hunk else None


def lose_blank_lines(hunk: Hunk, rng: random.Random) -> Hunk | None:
    """Drop unchanged blank lines from inside SEARCH (and REPLACE): a model compacting what it quotes.

    Only blank lines with a non-blank SEARCH line on both sides: dropping the
    edge ones would change what the block asks for, not how it is quoted.
    """
    old_side = [k for k, (tag, t) in enumerate(hunk) if tag in " -" and t.strip()]
    if not old_side:
        return None
    kept = [(tag, t) for k, (tag, t) in enumerate(hunk)
            if not (tag == " " and not t.strip() and old_side[0] < k < old_side[-1])]
    return kept if len(kept) < len(hunk) else None


def inner_runs(hunk: Hunk) -> list[tuple[int, int]]:
    """Each run of ELISION_RUN+ unchanged lines with changed lines before and after it, as [start, end)."""
    changes = [k for k, (tag, _) in enumerate(hunk) if tag != " "]
    runs = []
    k = 0
    while k < len(hunk):
        j = k
        while j < len(hunk) and hunk[j][0] == " ":
            j += 1
        if j - k >= ELISION_RUN and changes and changes[0] < k and j <= changes[-1]:
            runs.append((k, j))
        k = max(j, k + 1)
    return runs


def elide(hunk: Hunk, rng: random.Random, path: str) -> Hunk | None:
    """Replace the middle of every inner unchanged run of ELISION_RUN+ lines by one ``...`` line."""
    marker = "..." if rng.random() < 0.5 else ("# ..." if path.endswith((".py", ".sh", ".rb", ".toml", ".yml", ".yaml")) else "// ...")
    out: Hunk = []
    pos = 0
    for k, j in inner_runs(hunk):
        body = hunk[k + 1][1]
        out += [*hunk[pos:k], hunk[k], (" ", body[: len(body) - len(body.lstrip())] + marker), hunk[j - 1]]
        pos = j
    return out + hunk[pos:] if pos else None


HASH_COMMENTS = (".py", ".sh", ".bash", ".rb", ".toml", ".yml", ".yaml", ".pl", ".r", ".cmake", ".mk", "Makefile")


def lazy(hunk: Hunk, rng: random.Random, path: str, side: str) -> Hunk | None:
    """Every inner unchanged run of ELISION_RUN+ lines left out of one side only, as lazy models write edits.

    ``side`` "+": REPLACE keeps the run as a ``// ... existing code ...``
    comment (or ``// existing code``, ``// ... unchanged ...``) while SEARCH quotes it; "-": SEARCH elides it (``...``) while
    REPLACE writes it out. Half the runs keep their first and last lines
    around the elision; the rest are elided whole, so that the elision sits
    right next to the lines changed around it. (In REPLACE, an edge line next
    to lines the commit only deletes always stays: elided too, nothing in the
    answer would say those lines go, and no reader could tell.)
    """
    leader = "#" if path.endswith(HASH_COMMENTS) else "//"
    kept = (f"{leader} ... existing code ...", f"{leader} existing code", f"{leader} ... unchanged ...")
    marker = rng.choice(kept) if side == "+" else rng.choice(("...", f"{leader} ..."))
    other = "-" if side == "+" else "+"
    out: Hunk = []
    pos = 0
    for k, j in inner_runs(hunk):
        whole = rng.random() >= 0.5
        head = not whole or (side == "+" and not _adds(hunk, k - 1, -1))
        tail = not whole or (side == "+" and not _adds(hunk, j, 1))
        # (a kept edge reaches the run's first and last lines that are not blank: a blank line alone beside the
        # elision could be any of several)
        head = head and next((i + 1 for i in range(k, j) if hunk[i][1].strip()), j) - k
        tail = tail and j - next((i for i in range(j - 1, k - 1, -1) if hunk[i][1].strip()), k - 1)
        run = hunk[k + head:j - tail]
        body = next((t for _, t in run if t.strip()), "")
        if body:
            out += [*hunk[pos:k + head], (side, body[: len(body) - len(body.lstrip())] + marker),
                    *[(other, t) for _, t in run]]
            pos = j - tail
    return out + hunk[pos:] if out else None


def _adds(hunk: Hunk, k: int, step: int) -> bool:
    """Does the group of changed lines from ``k`` on (in direction ``step``) add a line?"""
    while 0 <= k < len(hunk) and hunk[k][0] != " ":
        if hunk[k][0] == "+":
            return True
        k += step
    return False


def typo(hunk: Hunk, rng: random.Random) -> Hunk | None:
    spots = [k for k, (tag, t) in enumerate(hunk) if tag == " " and len(t.strip()) >= 12]
    if not spots:
        return None
    k = rng.choice(spots)
    text = hunk[k][1]
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters) if letters else len(text) - 1
    mutated = text[:i] + ("x" if text[i] != "x" else "y") + text[i + 1:]
    return hunk[:k] + [(" ", mutated)] + hunk[k + 1:]


def perturb(case: Case, name: str, rng: random.Random) -> list[tuple[str, Hunk]] | None:
    """The case's blocks (path, hunk) after perturbation ``name``; None when it does not apply."""
    source = case.wide if name in ("elision", "lazy-replace", "lazy-search") else case.hunks
    out: list[tuple[str, Hunk]] = []
    touched = False
    for path, hunks in source.items():
        for hunk in hunks:
            new: Hunk | None = hunk
            if name == "indent":
                new = indent_drift(hunk, rng)
            elif name == "trailing-space":
                new = trailing_space(hunk, rng)
            elif name == "blank-lines":
                new = lose_blank_lines(hunk, rng)
            elif name == "elision":
                new = elide(hunk, rng, path)
            elif name == "typo":
                new = typo(hunk, rng)
            elif name in ("lazy-replace", "lazy-search"):
                new = lazy(hunk, rng, path, "+" if name == "lazy-replace" else "-")
            elif name == "retyped-indent":
                new = retype(hunk, rng, file_unit(case.old[path]))
            elif name == "mixed":
                new = trailing_space(indent_drift(lose_blank_lines(hunk, rng) or hunk, rng), rng)
            touched |= new is not None and new != hunk
            out.append((path, new if new is not None else hunk))
    if name in ("clean", "path-prefix", "unified-diff", "apply-patch", "whole-file"):
        return out
    return out if touched else None


def render(blocks: list[tuple[str, Hunk]], name: str, rng: random.Random, new: dict[str, str] | None = None) -> str:
    """A model-style answer: prose, a path line (sometimes omitted when repeated), fenced blocks."""
    if name == "whole-file":
        return render_whole_files(new or {}, rng)
    if name == "unified-diff":
        return render_diff(blocks, rng)
    if name == "apply-patch":
        return render_apply_patch(blocks, rng)
    parts = ["Here are the changes.\n"]
    previous = None
    for path, hunk in blocks:
        shown = rng.choice(WRONG_PREFIXES) + path if name == "path-prefix" else path
        if path != previous or rng.random() < 0.5:
            parts.append(rng.choice((f"{shown}\n", f"`{shown}`\n", f"**{shown}**\n", f"File: {shown}\n")))
        search, replace = sides(hunk)
        body = "\n".join(["<<<<<<< SEARCH", *search, "=======", *replace, ">>>>>>> REPLACE"])
        parts.append(f"```{rng.choice(('', 'python', 'text'))}\n{body}\n```\n")
        previous = path
    return "\n".join(parts)


def by_path(blocks: list[tuple[str, Hunk]]) -> dict[str, list[Hunk]]:
    """The blocks' hunks grouped by file, files in the order they first come."""
    out: dict[str, list[Hunk]] = {}
    for path, hunk in blocks:
        out.setdefault(path, []).append(hunk)
    return out


def diff_lines(hunk: Hunk, drop_space: bool) -> list[str]:
    """A hunk's lines as a diff writes them, a blank context line without its space where ``drop_space``."""
    return [tag + text if tag != " " or text or not drop_space else "" for tag, text in hunk]


def render_diff(blocks: list[tuple[str, Hunk]], rng: random.Random) -> str:
    """The blocks as a model writes a unified diff: one fence per file, start lines wrong, counts right in half
    the hunks (wrong or left out in the rest), a blank context line sometimes without its space."""
    parts = ["Here is the diff.\n"]
    for path, hunks in by_path(blocks).items():
        lines = [f"--- a/{path}", f"+++ b/{path}"]
        drop_space = rng.random() < 0.5
        for hunk in hunks:
            start = rng.randint(1, 400)
            old_n, new_n = (len(side) for side in sides(hunk))
            lines.append(rng.choice((  # counts right (the start is wrong, which git forgives), counts wrong, none
                f"@@ -{start},{old_n} +{start},{new_n} @@", f"@@ -{start},{old_n} +{start},{new_n} @@",
                f"@@ -{start},{len(hunk)} +{start},{len(hunk)} @@", "@@ ... @@")))
            lines += diff_lines(hunk, drop_space)
        parts.append("```diff\n" + "\n".join(lines) + "\n```\n")
    return "\n".join(parts)


def render_apply_patch(blocks: list[tuple[str, Hunk]], rng: random.Random) -> str:
    """The blocks in the ``apply_patch`` envelope (the bench's files all exist: ``*** Update File``), each hunk under
    ``@@`` (bare, or naming its first context line, as models do), a blank context line sometimes without its space."""
    lines = ["*** Begin Patch"]
    for path, hunks in by_path(blocks).items():
        lines.append(f"*** Update File: {path}")
        drop_space = rng.random() < 0.5
        for hunk in hunks:
            first = next((text.strip() for tag, text in hunk if tag == " " and text.strip()), "")
            lines.append(rng.choice(("@@", f"@@ {first}".rstrip())))
            lines += diff_lines(hunk, drop_space)
    return "Here is the patch.\n\n```\n" + "\n".join([*lines, "*** End Patch"]) + "\n```\n"


def render_whole_files(new: dict[str, str], rng: random.Random) -> str:
    """Each changed file written out whole in a fence under its path, as models fall back to doing; a file that
    holds fences itself gets a longer fence half the time (the rest, fences inside a fence, as models write them)."""
    parts = ["Here are the updated files.\n"]
    for path, text in new.items():
        fence = "````" if "```" in text and rng.random() < 0.5 else "```"
        parts.append(f"{rng.choice((path, f'`{path}`', f'**{path}**'))}\n{fence}{rng.choice(('', 'text'))}\n"
                     f"{text.replace(chr(13), '')}{'' if text.endswith(chr(10)) else chr(10)}{fence}\n")
    return "\n".join(parts)


# --- running -------------------------------------------------------------------------


def run_case(repo: Path, case: Case, answer: str, levels: tuple[str, ...]) -> tuple[str, list[str], str | None, str]:
    """('exact' | 'refused' | 'wrong', how each block matched (or why refused), the diff or None, wrong kind)."""
    try:
        blocks = parse_blocks(answer, case.known, text_of=case.old.get)
    except PatchError as exc:
        return "refused", [f"refused: {exc.message[:60]}"], None, ""
    files: dict[str, str | None] = dict(case.old)
    for block in blocks:
        if block.path not in files:
            proc = run_git(["show", f"{case.parent}:{block.path}"], repo, check=False)
            files[block.path] = proc.stdout.decode("utf-8", "surrogateescape") if proc.returncode == 0 else None
    result = apply_blocks(files, blocks, levels=levels)
    hows = [how for _, how in result.applied]
    if result.failed:
        return "refused", [f"refused: {f.reason[:60]}" for f in result.failed], None, ""
    same = all(result.new_files.get(p) == case.new[p] for p in case.new) and all(
        result.new_files[p] == files[p] for p in files if p not in case.new
    )
    kind = "" if same else wrong_kind(result.new_files, case.new)
    return ("exact" if same else "wrong"), hows, make_diff(files, result.new_files), kind


def wrong_kind(got: dict[str, str | None], want: dict[str, str]) -> str:
    """What a wrong result got wrong: only trailing whitespace, only blank lines, or more."""
    pairs = [((got.get(p) or "").split("\n"), want[p].split("\n")) for p in want]
    if all([ln.rstrip() for ln in g] == [ln.rstrip() for ln in w] for g, w in pairs):
        return "trailing whitespace only"
    if all([ln for ln in g if ln.strip()] == [ln for ln in w if ln.strip()] for g, w in pairs):
        return "blank-line placement only"
    return "other"


def git_check(case: Case, diff: str) -> bool:
    """Does ``git apply --check`` accept the diff on the parent's files (outside any repository)?"""
    with tempfile.TemporaryDirectory() as tmp:
        for path, text in case.old.items():
            target = Path(tmp, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8", "surrogateescape"))
        proc = run_git(["apply", "--check", "-"], tmp, input=diff.encode("utf-8", "surrogateescape"), check=False)
        return proc.returncode == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--commits", type=int, default=100, help="commits to use (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scan", type=int, default=3000, help="newest non-merge commits to sample from")
    ap.add_argument("--json", action="store_true", help="also print a JSON object")
    args = ap.parse_args(argv)
    repo = args.repo.resolve()
    rng = random.Random(args.seed)
    shas = git(repo, "log", "--no-merges", "--format=%H", "-n", str(args.scan)).split()
    rng.shuffle(shas)
    stats = {name: {"engine": Counter(), "exact-only": Counter(), "how": Counter()} for name in PERTURBATIONS}
    timings = Counter()
    check_failures = 0
    wrong_examples: list[dict] = []
    wrong_kinds: Counter = Counter()
    as_written: Counter = Counter()  # unified-diff answers `git apply --check` accepts (True) or rejects
    used = 0
    for sha in shas:
        if used >= args.commits:
            break
        case = load_case(repo, sha)
        if case is None:
            continue
        used += 1
        for name in PERTURBATIONS:
            r = row_rng(name, args.seed, sha, rng)
            blocks = perturb(case, name, r)
            if blocks is None:
                continue
            answer = render(blocks, name, r, case.new)
            for engine, levels in (("engine", ALL_LEVELS), ("exact-only", ("exact",))):
                started = time.perf_counter()
                outcome, hows, diff, kind = run_case(repo, case, answer, levels)
                timings[engine] += time.perf_counter() - started
                stats[name][engine][outcome] += 1
                if engine != "engine":
                    continue
                stats[name]["how"].update(h if h.startswith("refused") else h.split(":")[0] for h in hows)
                if diff is not None and not git_check(case, diff):
                    check_failures += 1
                if name == "unified-diff":  # what git itself makes of the model's diff as written
                    raw = "".join(part.split("```", 1)[0] for part in answer.split("```diff\n")[1:])
                    as_written[git_check(case, raw)] += 1
                if outcome == "wrong":
                    wrong_kinds[kind] += 1
                    if len(wrong_examples) < 10:
                        wrong_examples.append({"commit": sha, "perturbation": name, "kind": kind, "files": sorted(case.new)})
    report = build_report(repo, args, used, stats, timings, check_failures, wrong_examples)
    report["wrong_kinds"] = dict(wrong_kinds)
    report["unified_diff_git_apply_as_written"] = round(as_written[True] / max(1, sum(as_written.values())), 4)
    print_table(report)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def row_rng(name: str, seed: int, sha: str, shared: random.Random) -> random.Random:
    """Rows added later draw from generators of their own, so adding them left every other row's cases as they were."""
    if name == "unified-diff":
        return random.Random(f"{seed}:{sha}")
    return random.Random(f"{seed}:{name}:{sha}") if name in OWN_RNG else shared


def shares(counter: Counter) -> dict:
    total = sum(counter.values())
    return {"cases": total, **{k: round(counter[k] / total, 4) if total else 0.0 for k in ("exact", "refused", "wrong")}}


def build_report(repo, args, used, stats, timings, check_failures, wrong_examples) -> dict:
    overall = {"engine": Counter(), "exact-only": Counter()}
    perturbed = {"engine": Counter(), "exact-only": Counter()}  # every misquote row: the goal is >= 95% exact here
    rows = {}
    for name, s in stats.items():
        for engine in overall:
            overall[engine].update(s[engine])
            if name in MISQUOTES:
                perturbed[engine].update(s[engine])
        rows[name] = {"engine": shares(s["engine"]), "exact-only": shares(s["exact-only"]), "how": dict(s["how"])}
    return {
        "repo": str(repo), "commits": used, "seed": args.seed,
        "perturbations": rows,
        "perturbed": {engine: shares(counter) for engine, counter in perturbed.items()},
        "overall": {engine: shares(counter) for engine, counter in overall.items()},
        "git_apply_check_failures": check_failures,
        "engine_seconds": round(timings["engine"], 3), "exact_only_seconds": round(timings["exact-only"], 3),
        "wrong_examples": wrong_examples,
    }


def print_table(report: dict) -> None:
    print(f"patch bench: {report['repo']} — {report['commits']} commits, seed {report['seed']}")
    head = f"{'perturbation':<15}{'cases':>6}  {'exact':>7}{'refused':>9}{'wrong':>7}   | exact-only: {'exact':>6}{'refused':>9}{'wrong':>7}"
    print(head)
    print("-" * len(head))
    rows = [*report["perturbations"].items(), ("perturbed", report["perturbed"]), ("overall", report["overall"])]
    for name, row in rows:
        e, b = row["engine"], row["exact-only"]
        print(f"{name:<15}{e['cases']:>6}  {e['exact']:>7.1%}{e['refused']:>9.1%}{e['wrong']:>7.1%}   |             "
              f"{b['exact']:>6.1%}{b['refused']:>9.1%}{b['wrong']:>7.1%}")
    print(f"diffs failing git apply --check: {report['git_apply_check_failures']}")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.get("wrong_kinds", {}).items())) or "none"
    print(f"wrong results by kind: {kinds}")
    if "unified_diff_git_apply_as_written" in report:
        print(f"unified-diff answers git apply --check accepts as written: {report['unified_diff_git_apply_as_written']:.1%}")
    ratio = report["engine_seconds"] / report["exact_only_seconds"] if report["exact_only_seconds"] else 0.0
    print(f"engine time / exact-only time: {ratio:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
