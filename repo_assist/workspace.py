"""One repository's index on disk: its folder, manifest, vector store and embedder."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .config import Settings
from .embeddings import SentenceTransformerEmbedder
from .errors import ConfigError, IndexMissingError, StoreError
from .gitrepo import Repo
from .manifest import Manifest, promote, remove_database
from .paths import HOME_HINT, file_in_the_way, index_home, make_private_dir, repo_key, unwritable
from .runner_state import MANIFEST_NAME


def rebuild_hint(repo: Repo) -> str:
    return f"rebuild it with `repo-assist index --full {repo.root}`"


@dataclass
class Workspace:
    repo: Repo
    settings: Settings
    dir: Path
    key: str
    _embedder: SentenceTransformerEmbedder | None = field(default=None, init=False, repr=False)
    _scratch: tempfile.TemporaryDirectory | None = field(default=None, init=False, repr=False)

    @classmethod
    def for_repo(cls, repo: Repo, settings: Settings) -> "Workspace":
        key = repo_key(repo.root)
        home = index_home(settings)
        if settings.home and (home == repo.root or repo.root in home.parents):
            raise ConfigError(f"the index home {home} is inside the work tree of {repo.root}",
                              "an index never lives in the work tree it indexes: point REPO_ASSIST_HOME or the "
                              "`home` setting at a folder outside it")
        return cls(repo=repo, settings=settings, dir=home / key, key=key)

    @property
    def manifest_path(self) -> Path:
        return self.dir / MANIFEST_NAME

    @property
    def chroma_dir(self) -> Path:
        return self.dir / "chroma"

    @property
    def log_path(self) -> Path:
        return self.dir / "index.log"

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def writable(self) -> bool:
        """Whether this index can be written here (not on a read-only mount, nor another user's folder)."""
        return os.access(self.dir, os.W_OK) and (not self.exists() or os.access(self.manifest_path, os.W_OK))

    def ensure_dir(self) -> None:
        make_private_dir(self.dir.parent)
        make_private_dir(self.dir)

    def open_manifest(self, *, create: bool = False) -> Manifest:
        if not self.exists():
            blocker = file_in_the_way(self.dir)
            if blocker is not None:  # (not "not indexed yet": indexing cannot help while a file is in the way)
                raise ConfigError(f"the index folder {self.dir} cannot be: {blocker} is a file, not a folder", HOME_HINT)
            if not create:
                raise IndexMissingError(
                    f"{self.repo.root} has not been indexed yet", f"run `repo-assist index {self.repo.root}`"
                )
            self.ensure_dir()
            return Manifest(self.manifest_path)
        return Manifest(self.manifest_path, readonly=not self.writable())

    def embedder(self) -> SentenceTransformerEmbedder:
        """The configured embedder, loaded once per workspace."""
        if self._embedder is None:
            s = self.settings
            self._embedder = SentenceTransformerEmbedder(s.embedder, batch_size=s.embed_batch_size, light_max=s.light_embed_max)
        return self._embedder

    def chroma_client(self):
        from .store import make_client

        headers = {}
        for item in self.settings.chroma_headers:
            name, sep, value = item.partition(":")
            if not sep or not name.strip():
                raise ConfigError(f"chroma_headers entry {item!r} is not `Name: value`")
            headers[name.strip()] = value.strip()
        if self.settings.chroma_url or self.writable():
            return make_client(self.chroma_dir, self.settings.chroma_url, headers)
        return make_client(self._chroma_copy())

    def _chroma_copy(self) -> Path:
        """A scratch copy of the embedded store, for reads from an index folder that cannot be written
        (Chroma opens its database for writing); removed when this workspace goes."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="repo-assist-chroma-")
            copy = Path(self._scratch.name) / "chroma"
            try:
                if self.chroma_dir.is_dir():
                    shutil.copytree(self.chroma_dir, copy, copy_function=shutil.copyfile)
                copy.mkdir(exist_ok=True)
                for folder, _, _ in os.walk(copy):
                    os.chmod(folder, 0o700)
            except OSError as exc:
                raise StoreError(f"cannot read the vector store {self.chroma_dir}: {exc.strerror or exc}") from None
        return Path(self._scratch.name) / "chroma"

    @property
    def next_manifest_path(self) -> Path:
        """Where ``index --full`` builds the manifest that replaces the live one when it is complete."""
        return self.dir / "manifest.next.sqlite"

    def promote_next(self) -> None:
        """The rebuilt manifest replaces the live one, in one transaction (readers see one or the other)."""
        promote(self.next_manifest_path, self.manifest_path)

    def clear_leftovers(self) -> None:
        """Remove what no index uses: a rebuild's unfinished manifest, and collections the manifest does not name.

        After an interrupted ``index --full`` that is the half-built index;
        after a finished one, the index it replaced.
        """
        remove_database(self.next_manifest_path)
        keep = None
        if self.exists():
            try:
                m = Manifest(self.manifest_path, readonly=True)
                try:
                    keep = m.get_meta("collection")
                finally:
                    m.close()
            except (StoreError, sqlite3.Error):
                return  # an unreadable manifest: its collections stay until `index --full` replaces it
        if not (self.settings.chroma_url or self.chroma_dir.exists()):
            return
        from .store import collection_prefix, drop_collections

        client = self.chroma_client()
        prefix = collection_prefix(self.key)
        names = [n for n in (c if isinstance(c, str) else c.name for c in client.list_collections())
                 if n.startswith(prefix) and n != keep]
        drop_collections(client, None if self.settings.chroma_url else self.chroma_dir, names)

    @contextmanager
    def lock(self, *, wait: bool = True) -> Iterator[bool]:
        """Serialize writers: two index runs on one repository never interleave."""
        self.ensure_dir()
        try:
            fd = os.open(self.dir / "index.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise unwritable(self.dir, exc) from None
        try:
            flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
            try:
                fcntl.flock(fd, flags)
            except BlockingIOError:
                yield False
                return
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {time.time():.0f}\n".encode())
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def require_index(ws: Workspace) -> Manifest:
    m = ws.open_manifest()
    if m.get_meta("provenance") is None:
        m.close()
        raise StoreError(f"the index of {ws.repo.root} is incomplete", f"run `repo-assist index {ws.repo.root}`")
    return m
