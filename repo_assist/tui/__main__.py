"""``python -m repo_assist.tui [PATH]``: the TUI without going through the main CLI."""

from __future__ import annotations

import argparse
import sys

from ..errors import RepoAssistError


def main(argv: list[str] | None = None) -> int:
    from .. import cli_tui

    parser = argparse.ArgumentParser(prog="repo-assist")  # usage reads "repo-assist tui ..."
    sub = parser.add_subparsers(dest="command")
    cli_tui.register(sub, lambda sp: None)
    try:
        args = parser.parse_args(["tui", *(sys.argv[1:] if argv is None else argv)])
        return int(args.func(args) or 0)
    except RepoAssistError as exc:
        print(exc.one_line(), file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
