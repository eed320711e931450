"""How a command prints its result: the JSON object with ``--json``, else its text form."""

from __future__ import annotations

import json
from typing import Any, Callable


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print ``data`` as indented JSON, or as ``text(data)`` when that is not empty."""
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        out = text(data)
        if out:
            print(out)
