"""doctor: check every moving part and say how to fix what is wrong.

Checks git, grammars, the embedder, the model backend, the index (manifest
and vector store agree, no orphans or duplicates, provenance), and with
``offline`` runs the whole flow (index, search, ask) on a scratch repository
inside a network namespace that has only loopback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import RepoAssistError
from .plurals import counted


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def _guard(name: str, fn) -> Check:
    try:
        return fn()
    except RepoAssistError as exc:
        return Check(name, False, exc.message, exc.hint)
    except Exception as exc:  # noqa: BLE001 - a doctor reports, it does not crash
        return Check(name, False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def check_git() -> Check:
    git = shutil.which("git")
    if not git:
        return Check("git", False, "git is not on PATH", "install git")
    version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return Check("git", True, version)


def check_grammars() -> Check:
    from .languages import GRAMMAR_LANGUAGES, grammar_versions, load_language

    bad = []
    for lang in sorted(GRAMMAR_LANGUAGES):
        try:
            load_language(lang)
        except RepoAssistError:
            bad.append(lang)
    versions = grammar_versions()
    if bad:
        return Check("grammars", False, f"cannot load: {', '.join(bad)}", "reinstall repo-assist (grammar wheels are dependencies)")
    return Check("grammars", True,
                 f"{counted(len(GRAMMAR_LANGUAGES), 'language')}, tree-sitter {versions.get('tree-sitter', '?')}")


def check_embedder(settings: Settings) -> Check:
    from .embeddings import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder(settings.embedder, light_max=settings.light_embed_max)
    vec = emb.embed(["def health_check(): return True"])
    return Check("embedder", vec.shape == (1, emb.dim), f"{emb.id}, dim {emb.dim}, window {emb.max_tokens + 2} tokens")


def check_model(settings: Settings, model: str | None, api_base: str | None) -> Check:
    from .backends.factory import make_backend

    spec = model or settings.model
    backend = make_backend(spec, api_base=api_base if api_base is not None else settings.api_base)
    try:
        info = backend.model_info()
        n = backend.count_tokens("hello world")
        what = (f"{info.architecture or info.id}: {counted(info.n_layers, 'layer')}, trained context {info.n_ctx_trained}"
                if info else "geometry not exposed by the server")
        return Check("model", n > 0, f"{spec} ({what})")
    finally:
        backend.close()


def check_index(ws) -> Check:
    from .indexer import open_store
    from .workspace import require_index

    if not ws.exists():
        return Check("index", False, f"{ws.repo.root} is not indexed", f"repo-assist index {ws.repo.root}")
    m = require_index(ws)
    try:
        emb = ws.embedder()
        store = open_store(ws, emb, m, create=False)
        manifest_ids = list(m.iter_chunk_ids())
        store_ids = store.all_ids()
        dupes = len(manifest_ids) - len(set(manifest_ids))
        orphans = set(store_ids) - set(manifest_ids)
        missing = set(manifest_ids) - set(store_ids)
        pending = m.pending()
        problems = []
        if orphans:
            problems.append(f"{counted(len(orphans), 'vector')} without a manifest entry")
        if missing:
            problems.append(f"{counted(len(missing), 'chunk')} without a vector")
        if dupes:
            problems.append(counted(dupes, 'duplicate chunk id'))
        if pending:
            problems.append(f"an interrupted run left {counted(sum(map(len, pending.values())), 'pending id')}")
        files, chunks = m.counts()
        if problems:
            return Check("index", False, "; ".join(problems), f"repo-assist index {ws.repo.root} (repairs it), or --full")
        return Check("index", True, f"{counted(files, 'file')}, {counted(chunks, 'chunk')}; "
                                    "manifest and store agree; provenance matches")
    finally:
        m.close()


def check_offline(repo_root: Path | None = None) -> Check:
    """index → search → ask on a scratch repository, in a namespace whose only network is loopback."""
    unshare = shutil.which("unshare")
    if not unshare:
        return Check("offline", False, "unshare is not available here", "install util-linux to run the offline proof")
    with tempfile.TemporaryDirectory(prefix="repo-assist-offline-") as tmp:
        script = OFFLINE_SCRIPT.format(python=sys.executable, tmp=tmp)
        proc = subprocess.run([unshare, "-rn", "sh", "-c", script], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return Check("offline", False, f"the flow failed without network: {tail[0]}")
        return Check("offline", True, "index, search and ask work with no network (loopback only)")


OFFLINE_SCRIPT = """set -e
ip link set lo up 2>/dev/null || true
export REPO_ASSIST_HOME={tmp}/home REPO_ASSIST_N_CTX=1024 REPO_ASSIST_ANSWER_TOKENS=8
mkdir -p {tmp}/repo && cd {tmp}/repo && git init -q
printf 'def add(a, b):\\n    return a + b\\n' > calc.py
git add calc.py && git -c user.name=d -c user.email=d@localhost commit -qm init
{python} -m repo_assist.cli index . --json > /dev/null
{python} -m repo_assist.cli search "add two numbers" --json > /dev/null
{python} -m repo_assist.cli ask "what does add do?" --json > /dev/null
"""


def run_doctor(path: str | None, *, settings: Settings, ws=None, model: str | None = None,
               api_base: str | None = None, offline: bool = False) -> list[Check]:
    checks = [_guard("git", check_git), _guard("grammars", check_grammars),
              _guard("embedder", lambda: check_embedder(settings)),
              _guard("model", lambda: check_model(settings, model, api_base))]
    if ws is not None:
        checks.append(_guard("index", lambda: check_index(ws)))
    if offline:
        checks.append(_guard("offline", check_offline))
    return checks


def to_json(checks: list[Check]) -> str:
    return json.dumps({"ok": all(c.ok for c in checks), "checks": [c.to_dict() for c in checks]}, indent=2)
