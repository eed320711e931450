"""Settings, layered: defaults → user config → <repo>/.repo-assist.toml → REPO_ASSIST_* → flags.

Unknown keys are errors that name the key; values are checked against the
type of their default.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .errors import ConfigError

REPO_CONFIG_NAME = ".repo-assist.toml"
CHOICES = {"secrets": ("redact", "skip")}
ENV_PREFIX = "REPO_ASSIST_"

# The smallest value each number may take (a negative count is a mistake, not a request for nothing).
MINIMUM: Mapping[str, float] = MappingProxyType({
    "k": 1, "embed_batch_size": 1, "light_embed_max": 0, "max_file_bytes": 1, "max_line_chars": 1,
    "max_avg_line_chars": 1, "n_ctx": 0, "answer_tokens": 1, "refactor_answer_tokens": 1, "refactor_retries": 0,
    "latency_cap_s": 0, "test_timeout_s": 1,
})

DEFAULT_SECRET_PATHS: tuple[str, ...] = (
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks",
    "*.keystore", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.ppk", ".netrc",
    ".pgpass", ".htpasswd", "credentials", "credentials.json", "*.kdbx", ".npmrc", ".pypirc",
    "secrets.yml", "secrets.yaml", "*.tfstate", "*.tfvars",
)


@dataclass(frozen=True, slots=True)
class Settings:
    # where indexes live (empty: REPO_ASSIST_HOME, a source checkout's indexes/, or XDG data)
    home: str = ""
    # embedder: "default" (packaged all-MiniLM-L6-v2) or a sentence-transformers name or folder
    embedder: str = "default"
    embed_batch_size: int = 16
    # below this many texts, a BERT model is run on the light numpy path (no torch import)
    light_embed_max: int = 256
    # index the work tree as it is (uncommitted changes and untracked files too), or HEAD only
    index_uncommitted: bool = True
    max_file_bytes: int = 1 << 20
    max_line_chars: int = 4000
    max_avg_line_chars: int = 300
    secret_paths: tuple[str, ...] = DEFAULT_SECRET_PATHS
    # secrets found in file contents: "redact" the values, or "skip" the whole file
    secrets: str = "redact"
    # search
    k: int = 10
    # model spec: llamacpp/default, llamacpp/PATH.gguf, ollama/NAME[:TAG], openai/NAME
    model: str = "llamacpp/default"
    api_base: str = ""
    # the largest window to ask for (0: no cap beyond the model and memory)
    n_ctx: int = 8192
    # tokens reserved for the answer, and for a refactor's edit blocks
    answer_tokens: int = 512
    refactor_answer_tokens: int = 1536
    # times a refactor sends the blocks that failed back to the model
    refactor_retries: int = 1
    # a shell command that checks a patch on a scratch copy of the work tree before it is applied or shown as
    # ready (tests, a linter, a build: "pytest -q"); empty: none. `--test CMD` overrides it for one command.
    test_command: str = ""
    test_timeout_s: float = 600.0
    # limit the context to what the model reads in this many seconds (0: off)
    latency_cap_s: float = 0.0
    chroma_url: str = ""
    # extra HTTP headers for the Chroma server, "Name: value" each (e.g. an auth token for a proxy)
    chroma_headers: tuple[str, ...] = ()
    # TUI key bindings: binding id -> key ("[keys]" table: reindex = "ctrl+r")
    keys: tuple[tuple[str, str], ...] = ()

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


def _field_types() -> dict[str, Any]:
    return {f.name: f.default for f in fields(Settings)}


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                low = value.strip().lower()
                if low in {"1", "true", "yes", "on"}:
                    return True
                if low in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, float):
            if isinstance(value, bool) or not math.isfinite(number := float(value)):
                raise ValueError(value)
            return number
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)  # (2.5 is no count; 1e400 reads as inf, no number at all)
            return int(value)
        if key == "keys":
            if not isinstance(value, dict):
                raise ValueError(value)
            return tuple(sorted((str(k), str(v)) for k, v in value.items()))
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(p.strip() for p in value.split(",") if p.strip())
            return tuple(str(v) for v in value)
        if isinstance(default, str):
            if not isinstance(value, str):  # (`home = 5` is a slip, not the folder "5")
                raise ValueError(value)
            return value
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            f"{source}: `{key}` must be {type(default).__name__}, got {value!r}",
            "fix the value or remove the key",
        ) from None
    return value


def _apply(settings: Settings, values: Mapping[str, Any], source: str, base: Path | None = None) -> Settings:
    """``values`` over ``settings``; a relative ``home`` read from a file (``base``: its folder) is taken
    from that folder, wherever the command runs."""
    known = _field_types()
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(
                f"{source}: unknown key `{key}`",
                "known keys: " + ", ".join(sorted(known)),
            )
        changes[name] = _coerce(key, value, known[name], source)
        if name in CHOICES and changes[name] not in CHOICES[name]:
            raise ConfigError(f"{source}: `{key}` must be one of {', '.join(CHOICES[name])}, got {value!r}")
        if name in MINIMUM and changes[name] < MINIMUM[name]:
            raise ConfigError(f"{source}: `{key}` must be {MINIMUM[name]} or more, got {value!r}")
        if name == "home" and base is not None and changes[name] and not Path(changes[name]).expanduser().is_absolute():
            changes[name] = str(base / changes[name])
    return settings.replace(**changes) if changes else settings


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", "fix the file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return data


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "repo-assist" / "config.toml"


def load_settings(
    repo_root: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings for one run: every layer applied in order, later layers winning."""
    settings = Settings()
    user = user_config_path()
    if user.is_file():
        settings = _apply(settings, read_toml(user), str(user), user.parent)
    if repo_root is not None:
        repo_file = repo_root / REPO_CONFIG_NAME
        if repo_file.is_file():
            settings = _apply(settings, read_toml(repo_file), str(repo_file), repo_file.parent)
    env = os.environ if env is None else env
    from_env = {
        k[len(ENV_PREFIX):].lower(): v
        for k, v in env.items()
        if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX):].lower() in _field_types()
    }
    if from_env:
        settings = _apply(settings, from_env, "environment")
    if flags:
        settings = _apply(settings, {k: v for k, v in flags.items() if v is not None}, "flags")
    return settings
