"""Code-aware terms for lexical search: identifiers split on snake_case and camelCase.

``parseHTTPResponse`` gives ``parsehttpresponse parse http response``; the
whole identifier keeps exact matches sharp, its parts let prose match code.
"""

from __future__ import annotations

import re

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOP = frozenset({
    "the", "a", "an", "of", "to", "in", "is", "it", "and", "or", "for", "on", "with", "as", "by",
    "be", "this", "that", "at", "from", "are", "was", "what", "where", "how", "which", "does", "do",
    "i", "me", "my", "we", "you", "can", "should", "when", "why", "who", "there", "into", "its",
})


def split_identifier(word: str) -> list[str]:
    parts: list[str] = []
    for piece in word.split("_"):
        if piece:
            parts.extend(p.lower() for p in CAMEL.findall(piece))
    return parts


def terms(text: str, *, keep_stop: bool = True) -> list[str]:
    """Lower-case terms of ``text``: each identifier whole, then its parts when it has several."""
    out: list[str] = []
    for word in IDENT.findall(text):
        whole = word.lower().strip("_")
        if not whole:
            continue
        parts = split_identifier(word)
        if keep_stop or whole not in STOP:
            out.append(whole.replace("_", ""))
        if len(parts) > 1:
            out.extend(p for p in parts if keep_stop or p not in STOP)
    return out


def path_terms(path: str) -> list[str]:
    out: list[str] = []
    for comp in re.split(r"[/\\.\-\s]+", path):
        if comp:
            out.extend(terms(comp))
    return out
