"""How a command reads its numbers and prints its result: the JSON object with ``--json``, else its text form."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, Callable


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def to_json(data: Any) -> str:
    """Indented JSON, UTF-8 text as it is; a byte of a file that is no UTF-8 (held as a lone surrogate) is written
    as its ``\\udcXX`` escape, so the output is valid UTF-8 and ``json.loads`` gives the same string back."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, indent=2, ensure_ascii=False))


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print ``data`` as indented JSON, or as ``text(data)`` when that is not empty."""
    if as_json:
        print(to_json(data))
    else:
        out = text(data)
        if out:
            print(out)


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than ``low`` (``-k -1`` is a usage error, not a quiet slice)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, not {n}")
        return n

    return parse
