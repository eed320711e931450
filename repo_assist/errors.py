"""The one error base of repo-assist.

Every failure a user can cause or meet is a ``RepoAssistError``: a short title,
a one-line message and a hint that says what to do. The CLI prints it on one
line to stderr and exits with ``exit_code``; the TUI shows it in a modal; a git
hook logs it and never fails the git command.
"""

from __future__ import annotations


class RepoAssistError(Exception):
    """Base of every error repo-assist raises on purpose."""

    exit_code = 1
    title = "error"

    def __init__(self, message: str, hint: str = "", *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if title is not None:
            self.title = title

    def one_line(self) -> str:
        text = f"repo-assist: {self.title}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split())


class UsageError(RepoAssistError):
    """Bad arguments, bad configuration or a path that is not what it must be."""

    exit_code = 2
    title = "usage"


class ConfigError(UsageError):
    title = "config"


class NotARepoError(UsageError):
    title = "not a git repository"


class IndexMissingError(UsageError):
    title = "no index"


class ProvenanceError(UsageError):
    """The stored index was built with another embedder or chunker."""

    title = "index mismatch"


class StoreError(RepoAssistError):
    title = "store"


class ModelError(RepoAssistError):
    """The model server is unreachable, the model unknown, or memory too small."""

    exit_code = 3
    title = "model"


class PromptTruncatedError(ModelError):
    title = "prompt truncated"


class StoppedError(RepoAssistError):
    """The user stopped the answer under way (the TUI's stop key): not a failure of anything."""

    exit_code = 130
    title = "stopped"


class PatchError(RepoAssistError):
    """The engine could not produce a patch that applies."""

    exit_code = 4
    title = "patch"


class CheckFailedError(RepoAssistError):
    """The patch applies, but the check command (tests, a linter) failed on a copy with it applied."""

    exit_code = 5
    title = "check"


class UnsafePathError(PatchError):
    title = "unsafe path"
