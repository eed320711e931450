"""The text of repo-assist's part of a git hook file: render it, find it, add it, take it out.

repo-assist's part of a hook is one block between two marker lines::

    # >>> repo-assist hook v2 >>>
    ...
    # <<< repo-assist hook v2 <<<

Everything outside the block is the user's and is kept byte for byte. A block
added to the user's own shell script goes right after its ``#!`` line (so an
``exit`` or ``exec`` of theirs cannot skip it); a file repo-assist created says
so in its first marker (``(created this file)``), so that uninstall deletes it
only when nothing but that ``#!/bin/sh`` line of ours remains. The block runs in
a subshell: it sets no variable of the user's script, reads none of its stdin
and never exits it. A hook that cannot take a block (not a shell script, a
symlink, a hook git does not run because it is not executable) is kept beside
ours as ``NAME.repo-assist-orig``, and the block runs it first.

Version 1 shims (a whole file, second line ``# repo-assist hook v1``, ending in
``exit $rc``) are still recognised, so that install updates them and uninstall
removes them while keeping lines a user appended after them.

Text is read and written as UTF-8 with surrogateescape, so any bytes round-trip.
Standard library only: this runs around ``git commit``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

HOOK_NAMES: tuple[str, ...] = ("post-commit", "post-merge", "post-checkout", "post-rewrite")
ORIG_SUFFIX = ".repo-assist-orig"
VERSION = 2
SHEBANG = "#!/bin/sh\n"
V1_MARKER = "# repo-assist hook v1"

_BEGIN = "# >>> repo-assist hook v{version}{created} >>>\n"
_CREATED = " (created this file)"
_END = "# <<< repo-assist hook v{version} <<<\n"
_BEGIN_RE = re.compile(r"# >>> repo-assist hook v(\d+)( \(created this file\))? >>>\n")
_END_RE = re.compile(r"# <<< repo-assist hook v\d+ <<<\n")

_BODY = """\
# {name}: starts a detached refresh of this work tree's index (when it has one) and returns
# at once; it never fails the git command. Lines between these markers are repo-assist's:
# `repo-assist hooks uninstall` removes exactly them. Put lines of your own outside them.
(
case $0 in */*) here=${{0%/*}} ;; *) here=. ;; esac
rc=0
if [ -x "$here/{name}{suffix}" ]; then
\t"$here/{name}{suffix}" "$@"
\trc=$?
fi
{gate}if [ -x {exe} ]; then
\tset -- {launcher}
elif command -v repo-assist >/dev/null 2>&1; then
\tset -- repo-assist
else
\texit $rc
fi
nohup "$@" _hook-run{extra} {name} </dev/null >/dev/null 2>&1 &
exit $rc
)
"""

# post-checkout fires for file checkouts too; only a branch switch that moves HEAD changes the tree
_CHECKOUT_GATE = '[ "$3" = 1 ] && [ "$1" != "$2" ] || exit $rc\n'

# the shells whose scripts can take the block (POSIX sh syntax)
_SHELLS = frozenset({"sh", "bash", "dash", "ksh", "mksh", "zsh", "ash", "yash"})

# the version 1 shim, to recognise it exactly (it ends in `exit $rc`, so lines appended after it never ran)
_V1 = """\
#!/bin/sh
# repo-assist hook v1
# {name}: runs the hook that was here before (if any), then starts a detached
# re-index of this work tree and returns at once; it never fails the git command.
# Written by `repo-assist hooks install`; `repo-assist hooks uninstall` restores the original.
case $0 in */*) here=${{0%/*}} ;; *) here=. ;; esac
orig="$here/{name}{suffix}"
rc=0
if [ -x "$orig" ]; then
\t"$orig" "$@"
\trc=$?
fi
{gate}if [ -x {exe} ]; then
\tset -- {launcher}
elif command -v repo-assist >/dev/null 2>&1; then
\tset -- repo-assist
else
\texit $rc
fi
nohup "$@" _hook-run{extra} {name} </dev/null >/dev/null 2>&1 &
exit $rc
"""


@dataclass(frozen=True, slots=True)
class HookText:
    """A hook file split into the user's text around repo-assist's block."""

    before: str
    block: str
    after: str
    version: int
    created: bool  # repo-assist created the file: its `#!/bin/sh` line is ours too

    def users(self) -> str:
        """The file without repo-assist's part: what uninstall leaves (empty when nothing of the user's is left)."""
        rest = self.before + self.after
        return "" if self.created and rest in (SHEBANG, "") else rest


def _fill(template: str, name: str, launcher: tuple[str, ...], extra_args: tuple[str, ...]) -> str:
    if name not in HOOK_NAMES:
        raise UsageError(f"unknown hook {name!r}", "one of: " + ", ".join(HOOK_NAMES))
    return template.format(
        name=name, suffix=ORIG_SUFFIX, exe=shlex.quote(launcher[0]),
        launcher=" ".join(shlex.quote(a) for a in launcher),
        extra="".join(" " + shlex.quote(a) for a in extra_args),
        gate=_CHECKOUT_GATE if name == "post-checkout" else "",
    )


def render_block(name: str, launcher: tuple[str, ...], extra_args: tuple[str, ...] = (), *, created: bool = False) -> str:
    """The exact text of repo-assist's block for hook ``name`` (deterministic: install compares bytes)."""
    return (_BEGIN.format(version=VERSION, created=_CREATED if created else "")
            + _fill(_BODY, name, launcher, extra_args) + _END.format(version=VERSION))


def render_new(name: str, launcher: tuple[str, ...], extra_args: tuple[str, ...] = ()) -> str:
    """A whole hook file of repo-assist's own."""
    return SHEBANG + render_block(name, launcher, extra_args, created=True)


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def split(text: str) -> HookText | None:
    """Find repo-assist's part of a hook file (a block, or a version 1 shim); None when there is none.

    A begin marker without its end marker raises UsageError: guessing where the block ends could eat
    the user's lines.
    """
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        m = _BEGIN_RE.fullmatch(line)
        if m is None:
            continue
        end = next((j for j in range(i + 1, len(lines)) if _END_RE.fullmatch(lines[j])), None)
        if end is None:
            raise UsageError(f"the repo-assist block has no end marker (`# <<< repo-assist hook v{m.group(1)} <<<`)",
                             "put the marker back after the block, or delete the block by hand")
        return HookText("".join(lines[:i]), "".join(lines[i:end + 1]), "".join(lines[end + 1:]),
                        int(m.group(1)), bool(m.group(2)))
    return _split_v1(text)


def _split_v1(text: str) -> HookText | None:
    lines = text.splitlines(keepends=True)
    if len(lines) < 2 or lines[0] != SHEBANG or lines[1] != V1_MARKER + "\n":
        return None
    name = lines[2][2:].split(":", 1)[0] if len(lines) > 2 else ""
    try:
        launcher = next(tuple(shlex.split(x[len("\tset -- "):])) for x in lines if x.startswith("\tset -- "))
        nohup = next(x for x in lines if x.startswith('nohup "$@" _hook-run'))
        extra = tuple(shlex.split(nohup[len('nohup "$@" _hook-run'):].rsplit(f" {name} </dev/null", 1)[0]))
        shim = _fill(_V1, name, launcher, extra)
    except (StopIteration, ValueError, UsageError):
        return None
    if not text.startswith(shim):
        return None
    return HookText(SHEBANG, shim[len(SHEBANG):], text[len(shim):], 1, True)


def takes_block(data: bytes) -> bool:
    """Whether a user's hook is a shell script the block can go into, after its `#!` line."""
    first, nl, _ = data.partition(b"\n")
    if not nl or not first.startswith(b"#!") or b"\0" in data or b"\r" in first:
        return False
    words = first[2:].decode("utf-8", "replace").split()
    if words and Path(words[0]).name == "env":
        words = words[1:]
    return bool(words) and Path(words[0]).name in _SHELLS


def add_block(text: str, block: str) -> str:
    """The user's shell script with the block after its `#!` line."""
    first, _, rest = text.partition("\n")
    return first + "\n" + block + rest


def recorded_launcher(text: str) -> str | None:
    """The executable a block (or v1 shim) was written for: its `if [ -x EXE ]; then` line that is not the kept hook."""
    for line in text.splitlines():
        if line.startswith("if [ -x ") and line.endswith("]; then") and '"$' not in line:
            try:
                return shlex.split(line[len("if [ -x "):-len("]; then")])[0]
            except (ValueError, IndexError):
                return None
    return None
