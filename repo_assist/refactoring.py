"""Refactor requests → SEARCH/REPLACE blocks → a checked unified diff.

The model writes edit blocks; the engine parses them, applies them in memory
with the tolerant matching cascade, retries failed blocks once with the
nearest actual lines, renders a git-style diff and checks it with
``git apply --check`` and the syntax tree. It refuses rather than guesses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import prompts
from .diffs import make_diff
from .edits import parse_edits
from .errors import PatchError, UnsafePathError
from .matching import ApplyResult, BlockFailure, apply_blocks, found_once
from .gitrepo import run_git
from .outline import Outliner
from .patch import check, load_targets, read_text, safe_path
from .redaction import redact
from .records import EditBlock, Patch


@dataclass
class EngineResult:
    patch: Patch | None
    blocks: list[EditBlock]
    applied: list[tuple[EditBlock, str]] = field(default_factory=list)
    failed: list[BlockFailure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    old: dict[str, str | None] = field(default_factory=dict)
    new: dict[str, str | None] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)  # stale-reference warnings (also in patch.warnings)

    @property
    def ok(self) -> bool:
        """A patch that applies and does all the answer asked: no block refused, none unreadable (a block cut off
        or without a path would otherwise leave half a refactor looking whole)."""
        return self.patch is not None and self.patch.applies and not self.failed and not self.problems

    def to_dict(self) -> dict:
        return {
            "applies": bool(self.patch and self.patch.applies),
            "files": list(self.patch.files) if self.patch else [],
            "diff": self.patch.diff if self.patch else "",
            "check_output": self.patch.check_output if self.patch else "",
            "warnings": list(self.patch.warnings) if self.patch else [],
            "applied": [{"path": b.path, "how": how} for b, how in self.applied],
            "failed": [{"path": f.block.path, "reason": f.reason, "nearest_line": f.nearest_line} for f in self.failed],
            "problems": self.problems,
        }


def run_engine(root: Path, response: str, known_paths, *, outliner: Outliner | None = None,
               prior: EngineResult | None = None) -> EngineResult:
    """Apply the blocks of ``response`` (on top of ``prior``'s result when retrying)."""
    tracked = frozenset(known_paths)
    parsed = parse_edits(response, tracked, locate=lambda search: locate(root, search),
                         text_of=lambda path: _tracked_text(root, tracked, path))
    if not parsed.blocks:
        why = parsed.problems[0] if parsed.problems else "the response holds no SEARCH/REPLACE block (nor diff hunk)"
        raise PatchError(why, "the model must answer with edit blocks (see prompts/edit_format.md)")
    blocks, on_disk = load_targets(root, parsed.blocks)
    made = {p for p, text in (prior.new if prior else {}).items() if text is not None}  # (files an answer created)
    blocks = _found_elsewhere(root, blocks, on_disk, made, notes := list(parsed.notes))
    old = dict(prior.old) if prior else {}
    current = dict(prior.new) if prior else {}
    for path, text in on_disk.items():
        old.setdefault(path, text)
        current.setdefault(path, text)
    result: ApplyResult = apply_blocks(current, blocks)
    applied = (prior.applied if prior else []) + result.applied
    failed = []
    for f in result.failed:  # a retry often repeats blocks that already went in: not a failure
        now = result.new_files.get(f.block.path) or ""
        if prior is not None and f.block.replace.strip() and f.block.replace in now:
            applied.append((f.block, "already-applied"))
        else:
            failed.append(f)
    new = result.new_files
    changed = {p for p in new if new[p] != old.get(p)}
    outliner = outliner or Outliner()
    patch = None
    if changed:
        diff = make_diff({p: old.get(p) for p in sorted(changed)}, {p: new[p] for p in sorted(changed)})
        patch = check(root, diff, parse_errors=outliner.parse_errors)
        patch = replace(patch, warnings=tuple(notes) + patch.warnings)
    return EngineResult(patch, list(blocks), applied, failed, list(parsed.problems), old, new)


def _found_elsewhere(root: Path, blocks: list[EditBlock], on_disk: dict[str, str | None], made: set[str],
                     notes: list[str]) -> list[EditBlock]:
    """The blocks (safe paths, ``on_disk`` their files' text), each that quotes lines of a file that does not exist
    (a path the model made up) going to the one file its SEARCH is found in, if there is one (a note says so, and
    that file's text joins ``on_disk``); the others as they are. A file the answer creates (``made`` by an earlier
    answer, or by a block before) exists for this."""
    out = []
    made = set(made)
    for block in blocks:
        found = None
        if not block.search.strip():
            made.add(block.path)
        elif block.path not in made and on_disk[block.path] is None:
            found = locate(root, block.search)
        if found is not None:
            notes.append(f"{block.path} does not exist; the block's SEARCH is found only in {found}, so it edits that")
            block = replace(block, path=found)
            on_disk.setdefault(found, read_text(root, found))
        out.append(block)
    return out


def _tracked_text(root: Path, tracked: frozenset[str], path: str) -> str | None:
    """A tracked file's text as it stands in the work tree (None: untracked, unsafe or unreadable)."""
    if path not in tracked:
        return None
    try:
        return read_text(root, safe_path(root, path))
    except (UnsafePathError, OSError):
        return None


def locate(root: Path, search: str, *, most: int = 20) -> str | None:
    """The one file a block that names none (or one that does not exist) is for: of the tracked files holding
    its longest lines (indexed or not), the only one its SEARCH is found in (by the same matching cascade). None
    when none or several are."""
    lines = sorted({x.strip() for x in search.splitlines() if len(x.strip()) > 3}, key=len, reverse=True)[:3]
    if not lines:
        return None
    args = ["grep", "-l", "-I", "-F", "--no-color"] + [a for x in lines for a in ("-e", x)]
    proc = run_git(args, root, check=False)
    found = proc.stdout.decode("utf-8", "replace").splitlines()
    if len(found) > most:  # lines that common say nothing of which file is meant
        return None
    fits = []
    for path in found:
        try:
            text = read_text(root, safe_path(root, path))
        except UnsafePathError:  # (a tracked symlink out of the repository is never edited)
            continue
        if text is not None and found_once(text, search):
            fits.append(path)
    return fits[0] if len(fits) == 1 else None


def retry_message(failed: list[BlockFailure], problems: Sequence[str] = ()) -> str:
    parts = []
    for f in failed:
        near = f"closest lines (from line {f.nearest_line}):\n```\n{f.nearest}```" if f.nearest else "no close lines found"
        parts.append(f"{f.block.path}: {f.reason}\nyour SEARCH was:\n```\n{f.block.search}```\n{near}")
    parts += [f"{problem}: send this block again, whole, after its file path" for problem in problems]
    # (the nearest lines come redacted; a refusal's reason may quote a file line too)
    return prompts.render("refactor_retry", failures=redact("\n\n".join(parts))[0])
