"""CLI commands that change files: refactor, patch, apply, undo (exit 4 when a patch cannot apply)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .cli_output import at_least, to_json
from .diffs import ENC
from .errors import CheckFailedError, PatchError, UsageError
from .plurals import counted

if TYPE_CHECKING:
    from .trial import Trial


def _ws(args: argparse.Namespace):
    from . import assistant

    flags = {k: getattr(args, k) for k in ("embedder", "chroma_url") if getattr(args, k, None)}
    return assistant.open_workspace(args.repo, flags)


def _read(name: str) -> str:
    """A file (``-``: standard input) as text, every byte kept: line ends as written, bytes that are no UTF-8
    as surrogate escapes (the way diffs carry them)."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    return data.decode(*ENC)


def _report(res, args: argparse.Namespace, test: Trial | None) -> None:
    """Print the engine's result and the check's (``test``, when one ran); PatchError when there is no patch."""
    data = res.to_dict()
    engine = getattr(res, "engine", res)
    if test is not None:
        data["test"] = test.to_dict()
    if args.json:
        print(to_json(data))
    else:
        for f in engine.failed:
            print(f"repo-assist: refused: {f.block.path}: {f.reason}", file=sys.stderr)
        for problem in engine.problems:
            print(f"repo-assist: refused: {problem}", file=sys.stderr)
        for w in (engine.patch.warnings if engine.patch else ()):
            print(f"repo-assist: warning: {w}", file=sys.stderr)
        _print_check(test, _held(test, getattr(args, "apply", False) and getattr(args, "force", False)))
    if not engine.ok:
        why = (engine.failed[0].reason if engine.failed else engine.problems[0] if engine.problems else
               engine.patch.check_output.splitlines()[-1] if engine.patch and engine.patch.check_output else
               "the edits change nothing")
        raise PatchError(f"no patch that applies: {why}", "nothing was written; see the refused blocks above")
    if not args.json:
        diff = engine.patch.diff
        if getattr(args, "output", None):
            try:
                Path(args.output).write_bytes(diff.encode(*ENC))  # (a file's bytes that are no UTF-8 stay as they are)
            except OSError as exc:  # (checked before the model was asked: this is a race, or a full disk)
                raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
            print(f"wrote {args.output} ({counted(len(engine.patch.files), 'file')})", file=sys.stderr)
        else:
            sys.stdout.write(diff)


def _check(ws, diff: str, args: argparse.Namespace) -> Trial | None:
    """The check command (``--test``, else the ``test_command`` setting) run on a patched copy, if there is one."""
    from .changes import check_command, run_check

    command = check_command(ws, args.test)
    if not command:
        return None
    if not args.json and sys.stderr.isatty():
        _checking(command)
    return run_check(ws, diff, command)


def _checking(command: str) -> None:
    print(f"\nrepo-assist: checking the patch with `{command}` on a copy of the work tree…", file=sys.stderr)


def _print_check(test: Trial | None, held: bool) -> None:
    """The check's result line (unless ``held``: the error that follows says it) and a failed check's output."""
    if test is None:
        return
    if not held:
        print(f"repo-assist: check: {test.summary()}", file=sys.stderr)
    if not test.passed and test.output:
        print("\n".join("  | " + line for line in test.output.splitlines()), file=sys.stderr)


def _held(test: Trial | None, force: bool) -> bool:
    """Whether the check failed and ``force`` does not override it."""
    return test is not None and not test.passed and not force


def _failed(test: Trial | None, force: bool, what: str) -> None:
    """CheckFailedError when the check holds the patch back (``_held``)."""
    if _held(test, force):
        raise CheckFailedError(test.summary(), what)


def cmd_patch(args: argparse.Namespace) -> int:
    from .changes import patch_from_response

    response = _read(args.from_response).replace("\r\n", "\n").replace("\r", "\n")  # (as a text file reads)
    ws = _ws(args)
    res = patch_from_response(ws, response)
    test = _check(ws, res.patch.diff, args) if res.ok else None
    _report(res, args, test)
    _failed(test, False, "the diff is printed above, unapplied")
    return 0


def _check_output(name: str | None) -> None:
    """UsageError, before the model is asked, when the diff could not be written to ``name`` (-o)."""
    if not name:
        return
    out = Path(name)
    folder = out.parent
    if out.is_dir():
        raise UsageError(f"-o {name}: that is a folder", "name a file to write the diff to")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"-o {name}: {folder} {what}", "name a file in a folder that exists")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"-o {name}: cannot write there (a read-only folder or file)", "name a file you can write")


def cmd_refactor(args: argparse.Namespace) -> int:
    from .changes import apply_patch, refactor

    _check_output(args.output)
    ws = _ws(args)
    live = sys.stderr.isatty() and not args.json
    res = refactor(ws, args.instruction, model=args.model, api_base=args.api_base, retries=args.retries,
                   test=args.test, on_token=(lambda p: (sys.stderr.write(p), sys.stderr.flush())) if live else None,
                   on_check=_checking if live else None)
    if live:
        sys.stderr.write("\n")
    _report(res, args, res.test)
    _failed(res.test, args.apply and args.force, "nothing was applied" if args.apply else "the diff is printed above")
    if args.apply:
        entry = apply_patch(ws, res.engine.patch.diff, force=args.force)
        print(f"applied to {counted(len(entry.files), 'file')}; `repo-assist undo` reverts it", file=sys.stderr)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from .changes import apply_patch, diff_references

    diff = _read(args.patch)  # byte for byte: a CRLF file's diff carries its carriage returns
    ws = _ws(args)
    warnings = diff_references(ws, diff)  # read before the apply: the uses it leaves behind
    test = _check(ws, diff, args)
    if not args.json:
        for w in warnings:
            print(f"repo-assist: warning: {w}", file=sys.stderr)
        _print_check(test, _held(test, args.force))
    if args.json and _held(test, args.force):  # (a script still gets the check's result, then the error, exit 5)
        print(json.dumps({"applied": None, "files": [], "warnings": warnings, "test": test.to_dict()}))
    _failed(test, args.force, "nothing was applied; --force applies it all the same")
    entry = apply_patch(ws, diff, force=args.force)
    out = {"applied": entry.id, "files": list(entry.files), "warnings": warnings,
           "test": test.to_dict() if test else None}
    print(json.dumps(out) if args.json else f"applied {entry.id} to {', '.join(entry.files)}")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from .changes import undo_last

    entry = undo_last(_ws(args), force=args.force)
    out = {"undone": entry.id, "files": list(entry.files)}
    print(json.dumps(out) if args.json else f"reverted {entry.id}: {', '.join(entry.files)}")
    return 0


TEST_HELP = ("a shell command that checks the patch on a scratch copy of the work tree (tests, a linter: "
             "'pytest -q'); exit 5 when it fails (default: the `test_command` setting; '' for none)")


def register(sub, common) -> None:
    sp = sub.add_parser("refactor", help="ask for a change; get a checked unified diff")
    sp.add_argument("instruction")
    sp.add_argument("--repo", default=".")
    sp.add_argument("--model")
    sp.add_argument("--api-base", dest="api_base")
    sp.add_argument("-o", "--output", help="write the diff to FILE instead of stdout")
    sp.add_argument("--apply", action="store_true", help="apply the patch (undo with `repo-assist undo`)")
    sp.add_argument("--force", action="store_true", help="apply even over uncommitted changes to the same files")
    sp.add_argument("--retries", type=at_least(0), help="send failed blocks back to the model this many times "
                    "(default: the `refactor_retries` setting, 1)")
    sp.add_argument("--test", metavar="CMD", help=TEST_HELP + "; a failed check goes back to the model like a failed "
                    "block, and is not applied unless --force")
    common(sp)
    sp.set_defaults(func=cmd_refactor)

    sp = sub.add_parser("patch", help="turn a saved model response (edit blocks) into a unified diff")
    sp.add_argument("--from-response", dest="from_response", required=True, metavar="FILE")
    sp.add_argument("--repo", default=".")
    sp.add_argument("--test", metavar="CMD", help=TEST_HELP)
    common(sp)
    sp.set_defaults(func=cmd_patch)

    sp = sub.add_parser("apply", help="apply a patch file and record how to undo it")
    sp.add_argument("patch")
    sp.add_argument("--repo", default=".")
    sp.add_argument("--force", action="store_true", help="apply over uncommitted changes, or a failed check")
    sp.add_argument("--test", metavar="CMD", help=TEST_HELP + "; a failed check is not applied unless --force")
    common(sp)
    sp.set_defaults(func=cmd_apply)

    sp = sub.add_parser("undo", help="revert the last applied patch exactly")
    sp.add_argument("--repo", default=".")
    sp.add_argument("--force", action="store_true")
    common(sp)
    sp.set_defaults(func=cmd_undo)
