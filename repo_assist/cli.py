"""The command line: every command prints text for people, or JSON with --json.

A RepoAssistError becomes one line on stderr and its exit code; nothing a user
can do produces a traceback (set REPO_ASSIST_DEBUG=1 to see one anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable

from . import __version__
from .errors import RepoAssistError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other usage error
        raise UsageError(message, f"see `{self.prog} --help`")


def _emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        out = text(data)
        if out:
            print(out)


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
    _emit(data, args.json, _index_text)
    return 0


def _index_text(d: dict) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(d["skipped"].items())) or "none"
    return (
        f"indexed {d['files']} files, {d['chunks']} chunks in {d['seconds']:.1f}s: "
        f"{d['computed']} chunks embedded ({d['files_computed']} files), {d['deleted']} deleted, "
        f"{d['unchanged']} files unchanged; {d['fallback_chunked']} files line-chunked (no grammar); skipped: {skipped}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    from . import assistant

    ws = assistant.open_workspace(args.path, _flags(args))
    data = assistant.status(ws)
    _emit(data, args.json, _status_text)
    return 0


def _status_text(d: dict) -> str:
    commit = (d["indexed_commit"] or "none")[:12]
    behind = d["commits_behind"]
    fresh = "up to date" if not d["stale"] else (f"{behind} commits behind HEAD" if behind else "not at HEAD")
    langs = ", ".join(f"{k} {v}" for k, v in d["languages"].items())
    lines = [
        f"repo      {d['repo']}",
        f"index     {d['files']} files, {d['chunks']} chunks ({d['index_dir']})",
        f"commit    {commit} ({fresh}); {d['dirty_files_at_index']} dirty files when indexed",
        f"embedder  {d['embedder']} (dim {d['dim']}), chunker {d['chunker']}",
        f"languages {langs or 'none'}",
    ]
    if d["skipped"]:
        lines.append("skipped   " + ", ".join(f"{k} {v}" for k, v in d["skipped"].items()))
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
    _emit(data, args.json, _search_text)
    return 0


def _search_text(d: dict) -> str:
    if not d["hits"]:
        return "no results"
    rows = []
    for i, h in enumerate(d["hits"], 1):
        sym = f"  {h['symbol']}" if h["symbol"] else ""
        rows.append(f"{i:2}. {h['path']}:{h['start_line']}-{h['end_line']}{sym}  [{','.join(h['via'])}] {h['score']:.4f}")
    return "\n".join(rows)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("embedder", "model", "api_base", "chroma_url")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


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
    common(sp)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("status", help="what is indexed, and how fresh it is")
    sp.add_argument("path", nargs="?", default=".")
    common(sp)
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("search", help="search the index")
    sp.add_argument("query")
    sp.add_argument("--repo", default=".")
    sp.add_argument("-k", type=int, default=None, help="how many hits (default 10)")
    common(sp)
    sp.set_defaults(func=cmd_search)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except RepoAssistError as exc:
        print(exc.one_line(), file=sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
