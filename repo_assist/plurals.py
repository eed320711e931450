"""Counted nouns in the text people read: "1 file", "2 files", never "1 files".

Only for text: ``--json`` carries the bare numbers.
"""

from __future__ import annotations


def plural(noun: str) -> str:
    """The plural of an English noun (the last word of a phrase): file → files, entry → entries, match → matches."""
    if noun.endswith("y") and noun[-2:-1] not in ("", "a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def counted(n: int, noun: str, many: str | None = None) -> str:
    """``n`` (thousands separated) and the noun, singular for exactly 1: ``counted(1, "file")`` is "1 file",
    ``counted(2658, "chunk")`` "2,658 chunks"; ``many`` for an irregular plural."""
    return f"{n:,} {noun if n == 1 else many or plural(noun)}"
