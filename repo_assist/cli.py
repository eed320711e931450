"""The command line: every command prints text for people, or JSON with --json.

A RepoAssistError becomes one line on stderr and its exit code; nothing a user
can do produces a traceback (set REPO_ASSIST_DEBUG=1 to see one anyway).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from . import __version__
from .cli_output import at_least, emit, to_json
from .errors import RepoAssistError, UsageError
from .plurals import counted


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other usage error
        raise UsageError(message, f"see `{self.prog} --help`")


def _progress_printer(enabled: bool):
    if not enabled:
        return None
    from .progress import ProgressBar

    return ProgressBar(sys.stderr)


def cmd_index(args: argparse.Namespace) -> int:
    from . import assistant

    ws = assistant.open_workspace(args.path, _flags(args))
    bar = _progress_printer(sys.stderr.isatty() and not args.json)
    try:
        stats = assistant.index(ws, full=args.full, progress=bar)
    finally:
        if bar:
            bar.close()
    data = assistant.index_stats_dict(stats)
    emit(data, args.json, _index_text)
    return 0


def _index_text(d: dict) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(d["skipped"].items())) or "none"
    return (
        f"indexed {counted(d['files'], 'file')}, {counted(d['chunks'], 'chunk')} in {d['seconds']:.1f}s: "
        f"{counted(d['computed'], 'chunk')} embedded and {d['reused']} kept "
        f"({counted(d['files_computed'], 'new or changed file')} read), {d['deleted']} deleted, "
        f"{counted(d['unchanged'], 'file')} unchanged; {counted(d['fallback_chunked'], 'file')} line-chunked (no grammar); "
        f"skipped: {skipped}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    from . import assistant

    ws = assistant.open_workspace(args.path, _flags(args))
    data = assistant.status(ws)
    emit(data, args.json, _status_text)
    return 0


def _status_text(d: dict) -> str:
    commit = (d["indexed_commit"] or "none")[:12]
    behind = d["commits_behind"]
    fresh = "up to date" if not d["stale"] else (f"{counted(behind, 'commit')} behind HEAD" if behind else "not at HEAD")
    langs = ", ".join(f"{k} {v}" for k, v in d["languages"].items())
    lines = [
        f"repo      {d['repo']}",
        f"index     {counted(d['files'], 'file')}, {counted(d['chunks'], 'chunk')} ({d['index_dir']})",
        f"commit    {commit} ({fresh}); {counted(d['dirty_files_at_index'], 'dirty file')} when indexed, "
        f"{len(d['dirty_now'])} now",
        f"embedder  {d['embedder']} (dim {d['dim']}), chunker {d['chunker']}",
        f"languages {langs or 'none'}",
    ]
    if d["skipped"]:
        lines.append("skipped   " + ", ".join(f"{k} {v}" for k, v in d["skipped"].items()))
    if d["redacted"]["values"]:
        lines.append(f"secrets   {counted(d['redacted']['values'], 'value')} redacted in "
                     f"{counted(d['redacted']['files'], 'file')}")
    if d.get("warning"):
        lines.append(f"warning   {d['warning']}")
    return "\n".join(lines)


def cmd_search(args: argparse.Namespace) -> int:
    from . import assistant

    ws = assistant.open_workspace(args.repo, _flags(args))
    if not args.query.strip():
        raise UsageError("the query is empty", "say what to look for")
    result = assistant.search(ws, args.query, args.k)
    data = result.to_dict()
    if data["warning"] and not args.json:
        print(f"repo-assist: warning: {data['warning']}", file=sys.stderr)
    emit(data, args.json, _search_text)
    return 0


def _search_text(d: dict) -> str:
    if not d["hits"]:
        return "no results"
    rows = []
    for i, h in enumerate(d["hits"], 1):
        sym = f"  {h['symbol']}" if h["symbol"] else ""
        rows.append(f"{i:2}. {h['path']}:{h['start_line']}-{h['end_line']}{sym}  [{','.join(h['via'])}] {h['score']:.4f}")
    return "\n".join(rows)


def _conversation(args: argparse.Namespace):
    from . import assistant
    from .asking import Conversation

    ws = assistant.open_workspace(args.repo, _flags(args))
    return ws, Conversation.open(ws, args.model, args.api_base)


def _warn_stale(ws) -> None:
    from .freshness import freshness
    from .workspace import require_index

    m = require_index(ws)
    try:
        w = freshness(ws.repo, m).warning()
    finally:
        m.close()
    if w:
        print(f"repo-assist: warning: {w}", file=sys.stderr)


def cmd_context(args: argparse.Namespace) -> int:
    ws, conv = _conversation(args)
    try:
        _warn_stale(ws)
        planned = conv.plan(args.question, budget_cap=args.budget)
        emit(planned.to_dict(conv.model), args.json, _context_text)
    finally:
        conv.close()
    return 0


def _context_text(d: dict) -> str:
    lines = [
        f"model {d['model']}: n_ctx {d['n_ctx']} ({d['n_ctx_source']}), KV {d['kv_bytes_per_token']:.0f} B/token",
        f"context {d['used']} / {counted(d['budget'], 'token')}; whole prompt {counted(d['prompt_tokens'], 'token')}"
        + ("" if d["exact_tokens"] else " (estimated)"),
    ]
    for c in d["chunks"]:
        sym = f"  {c['symbol']}" if c["symbol"] else ""
        lines.append(f"  + {c['path']}:{c['start_line']}-{c['end_line']}{sym}  {c['tokens']} tok  [{','.join(c['via'])}]")
    for c in d["dropped"]:
        lines.append(f"  - {c['path']}:{c['start_line']}-{c['end_line']}  {c['tokens']} tok (did not fit)")
    lines += [f"note: {n}" for n in d["notes"]]
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    ws, conv = _conversation(args)
    try:
        _warn_stale(ws)
        streaming = not args.json

        def on_token(piece: str) -> None:
            sys.stdout.write(piece)
            sys.stdout.flush()

        planned = None
        if args.show_context and streaming:
            planned = conv.plan(args.question, budget_cap=args.budget)
            print(_context_text(planned.to_dict(conv.model)), end="\n\n")
        answer = conv.ask(args.question, on_token=on_token if streaming else None, budget_cap=args.budget,
                          planned=planned)
        if args.json:
            emit(answer.to_dict(), True, str)
            return 0
        print("\n")
        if answer.timing.get("stopped") == "repeating":
            print("note: the model began repeating itself, so its answer was cut there")
        elif answer.timing.get("stopped") == "length":
            print(f"note: the answer reached its {ws.settings.answer_tokens}-token limit and was cut there "
                  "(the answer_tokens setting)")
        for note in answer.plan.notes:
            print(f"note: {note}")
        print("Sources:")
        for s in answer.plan.pack.chunks:
            print(f"  {s.path}:{s.start_line}-{s.end_line}")
        bad = [c for c in answer.citations if not c.valid]
        if answer.citations:
            ok = len(answer.citations) - len(bad)
            print(f"Citations: {ok} of {len(answer.citations)} checked against the context"
                  + "".join(f"\n  ✗ {c.text} is not in the context" for c in bad))
    finally:
        conv.close()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from . import assistant
    from .evaluation import run_eval

    ws = assistant.open_workspace(args.path, _flags(args))
    bar = _progress_printer(sys.stderr.isatty() and not args.json)
    try:
        result = run_eval(ws, commits=args.commits, ablate=args.ablate, progress=bar)
    finally:
        if bar:
            bar.close()
    emit(result, args.json, _eval_text)
    return 0


def _eval_text(d: dict) -> str:
    if not d["cases"]:
        return f"no usable commits in {d['repo']}"
    rows = [f"{counted(d['cases'], 'case')} from the history of {d['repo']}", f"{'':24} R@1    R@5    R@10   MRR"]
    for name, r in list(d["results"].items()) + [(d["baseline"]["name"], d["baseline"])]:
        rows.append(f"{name:24} {r['R@1']:.3f}  {r['R@5']:.3f}  {r['R@10']:.3f}  {r['MRR']:.3f}")
    if d.get("r5_miss_reduction") is not None:
        rows.append(f"Recall@5 misses cut by {d['r5_miss_reduction'] * 100:.0f}% against the baseline")
    return "\n".join(rows)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .config import load_settings
    from .doctor import run_doctor, to_json
    from .errors import NotARepoError

    ws = None
    try:
        from . import assistant

        ws = assistant.open_workspace(args.path or ".", _flags(args))
        settings = ws.settings
    except NotARepoError:
        if args.path is not None:  # a path given must be a work tree, as for every command; with none, doctor checks the rest
            raise
        settings = load_settings(None, _flags(args))
    checks = run_doctor(args.path, settings=settings, ws=ws, model=args.model, api_base=args.api_base,
                        offline=args.offline)
    if args.json:
        print(to_json(checks))
    else:
        for c in checks:
            print(f"{'ok ' if c.ok else 'BAD'} {c.name:9} {c.detail}" + (f"\n              fix: {c.fix}" if c.fix and not c.ok else ""))
    return 0 if all(c.ok for c in checks) else 1


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("embedder", "chroma_url")
    flags = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    if getattr(args, "committed_only", False):
        flags["index_uncommitted"] = False
    return flags


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="repo-assist", description="A private, fully local assistant for one git repository.")
    p.add_argument("--version", action="version", version=f"repo-assist {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="print JSON for scripts")
        sp.add_argument("--embedder", help="sentence-transformers model name or folder (default: packaged MiniLM)")
        sp.add_argument("--chroma-url", dest="chroma_url", help="use a Chroma server instead of the embedded store")

    sp = sub.add_parser("index", help="index a repository (incremental by git blob)")
    sp.add_argument("path", nargs="?", default=".")
    sp.add_argument("--full", action="store_true", help="rebuild from scratch")
    sp.add_argument("--committed-only", dest="committed_only", action="store_true",
                    help="index HEAD as committed, leaving out uncommitted changes and untracked files")
    common(sp)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("status", help="what is indexed, and how fresh it is")
    sp.add_argument("path", nargs="?", default=".")
    common(sp)
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("search", help="search the index")
    sp.add_argument("query")
    sp.add_argument("--repo", default=".")
    sp.add_argument("-k", type=at_least(1), default=None, help="how many hits (default 10)")
    common(sp)
    sp.set_defaults(func=cmd_search)

    def model_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--repo", default=".")
        sp.add_argument("--model", help="llamacpp/default (packaged), llamacpp/PATH.gguf, ollama/NAME[:TAG], openai/NAME")
        sp.add_argument("--api-base", dest="api_base", help="server URL for ollama/ or openai/ models")
        sp.add_argument("--budget", type=at_least(1), default=None, help="cap the context at N tokens")

    sp = sub.add_parser("context", help="the context a question would get, within the model's budget")
    sp.add_argument("question")
    model_flags(sp)
    common(sp)
    sp.set_defaults(func=cmd_context)

    sp = sub.add_parser("ask", help="ask a question; the answer streams, with checked citations")
    sp.add_argument("question")
    model_flags(sp)
    sp.add_argument("--show-context", action="store_true", help="print the packed context first")
    common(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="measure retrieval on this repository's own history")
    sp.add_argument("path", nargs="?", default=".")
    sp.add_argument("--commits", type=at_least(1), default=30, help="how many commits to turn into cases")
    sp.add_argument("--ablate", action="store_true", help="also measure each signal alone and left out")
    common(sp)
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("doctor", help="check git, grammars, embedder, model and index; --offline proves no network is needed")
    sp.add_argument("path", nargs="?", default=None, help="the repository whose index to check (default: the current "
                    "folder's, if it is in one)")
    sp.add_argument("--offline", action="store_true", help="run index, search and ask in a loopback-only network namespace")
    sp.add_argument("--model")
    sp.add_argument("--api-base", dest="api_base")
    common(sp)
    sp.set_defaults(func=cmd_doctor)

    from . import cli_changes, cli_hooks, cli_tui

    cli_changes.register(sub, common)
    cli_hooks.register(sub, common)
    cli_tui.register(sub, common)
    return p


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt  # `kill` gets the same clean-up as ctrl+c: temporary worktrees, locks, open files


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if hasattr(sys.stdout, "reconfigure"):  # a diff or a search hit from a file that is no UTF-8 prints its own bytes
        sys.stdout.reconfigure(errors="surrogateescape")
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)
    # (with --json, an error before any result is printed is a JSON object on stdout too, for scripts)
    watched = _Watched(sys.stdout) if "--json" in (sys.argv[1:] if argv is None else argv) else None
    if watched is not None:
        sys.stdout = watched  # type: ignore[assignment]
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except RepoAssistError as exc:
        print(exc.one_line(), file=sys.stderr)
        if watched is not None and not watched.written:
            print(to_json({"error": {"kind": exc.title, "message": exc.message, "hint": exc.hint,
                                     "exit_code": exc.exit_code}}))
        return exc.exit_code
    except KeyboardInterrupt:
        print("repo-assist: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, never a traceback
        if os.environ.get("REPO_ASSIST_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"repo-assist: internal error: {type(exc).__name__}: {first} (set REPO_ASSIST_DEBUG=1 for details)", file=sys.stderr)
        return 1
    finally:
        if watched is not None and sys.stdout is watched:
            sys.stdout = watched.inner


class _Watched:
    """A stream that says whether anything was written to it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.written = False

    def write(self, text: str) -> int:
        self.written = self.written or bool(text)
        return self.inner.write(text)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
