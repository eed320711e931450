"""Prompts are files under prompts/, with $variables (string.Template).

Code full of braces needs no escaping; a variable the caller did not give is
an error that names it, and so is a prompt file that does not exist.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

from .errors import ConfigError


def prompt_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent.parent / "prompts"
    installed = Path(sys.prefix) / "share" / "repo-assist" / "prompts"
    return [d for d in (here, installed) if d.is_dir()]


def load(name: str) -> string.Template:
    for d in prompt_dirs():
        p = d / f"{name}.md"
        if p.is_file():
            return string.Template(p.read_text("utf-8"))
    raise ConfigError(f"prompt file {name}.md not found", "reinstall repo-assist; prompts/ ships with it")


def render(name: str, **values: str) -> str:
    template = load(name)
    try:
        return template.substitute(values)
    except KeyError as exc:
        raise ConfigError(f"prompt {name}.md needs ${exc.args[0]}, which was not given") from None
    except ValueError as exc:
        raise ConfigError(f"prompt {name}.md has a bad placeholder: {exc}", "write $$ for a literal $") from None
