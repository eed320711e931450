"""Secrets found by content, redacted before anything is embedded, stored or prompted.

Path rules (``secret_paths``) keep whole files out; this catches what sits in
ordinary files: private keys, cloud and VCS tokens, JWTs, and high-entropy
values assigned to names like ``password`` or ``api_key``. The key names stay
(a model may need to know ``STRIPE_KEY`` exists); the values do not. Lines are
never added or removed, so line numbers and citations stay true.
"""

from __future__ import annotations

import math
import re
from collections import Counter

MASK = "[REDACTED]"

TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("gitlab-token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("stripe-key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("openai-key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}\b")),
    ("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b")),
    ("url-credentials", re.compile(r"(?<=://)[^/\s:@]{1,64}:[^/\s@]{3,128}(?=@)")),
)
PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
ASSIGNMENT = re.compile(
    r"""(?<![A-Za-z0-9_.\-])(?P<key>[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|auth|credential|client[_\-]?secret)[A-Za-z0-9_.\-]*)
        (?P<sep>["']?\s*(?::=|=>|=|:)\s*)
        (?P<q>["'`]?)(?P<value>[^\s"'`,;]{8,})(?P=q)""",
    re.IGNORECASE | re.VERBOSE,
)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_secret(value: str) -> bool:
    if value.startswith(("$", "{", "<", "%", "os.", "process.", "env", "ENV", "get", "self.", "config")):
        return False  # a reference to where the secret comes from, not the secret
    if re.fullmatch(r"[a-z_]+(\.[a-z_]+)*(\(\))?", value):
        return False  # an identifier or attribute path
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return len(value) >= 8 and entropy(value) >= 3.0 and classes >= 2


def redact(text: str) -> tuple[str, int]:
    """``text`` with secret values masked, and how many were masked. Line structure is kept."""
    count = 0
    lines = text.split("\n")
    in_key = False
    for i, line in enumerate(lines):
        if in_key:
            if PRIVATE_KEY_END.search(line):
                in_key = False
            elif line.strip():
                lines[i] = MASK
            continue
        if PRIVATE_KEY_BEGIN.search(line) and not PRIVATE_KEY_END.search(line):
            in_key = True
            count += 1
            continue
        for _name, pattern in TOKEN_PATTERNS:
            line, n = pattern.subn(MASK, line)
            count += n

        def mask_assignment(m: re.Match[str]) -> str:
            nonlocal count
            value = m.group("value")
            if MASK in value or not _looks_secret(value):
                return m.group(0)
            count += 1
            return f"{m.group('key')}{m.group('sep')}{m.group('q')}{MASK}{m.group('q')}"

        line = ASSIGNMENT.sub(mask_assignment, line)
        lines[i] = line
    return "\n".join(lines), count
