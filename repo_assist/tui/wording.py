"""Counts in words for the TUI's own text: "1 file", "2 files", "1 commit behind"."""

from __future__ import annotations


def count(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` (with thousands separators) and ``noun``, plural unless ``n`` is one (``nouns`` for an odd plural)."""
    return f"{n:,} {noun if n == 1 else (nouns or noun + 's')}"
