"""The manifest: path → blob sha, chunk records and lexical terms, in SQLite.

It is the index's source of truth for what is done. A file's row is written
in the same transaction as its chunks, and only after its vectors are stored;
chunk ids written to the vector store before that are listed in ``pending``,
so a run killed at any point converges on the next one.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import quote

from .codetokens import path_terms, terms
from .errors import StoreError
from .records import Chunk

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, blob_sha TEXT NOT NULL, language TEXT, status TEXT NOT NULL,
    reason TEXT, chunks INTEGER NOT NULL DEFAULT 0, fallback INTEGER NOT NULL DEFAULT 0,
    encoding TEXT, size INTEGER NOT NULL DEFAULT 0, redacted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chunks (
    rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, symbol TEXT NOT NULL,
    kind TEXT NOT NULL, language TEXT, scope TEXT NOT NULL, defines TEXT NOT NULL,
    blob_sha TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path, start_line);
CREATE TABLE IF NOT EXISTS symbols (name TEXT NOT NULL, qualified TEXT NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS symbols_name ON symbols(name);
CREATE INDEX IF NOT EXISTS symbols_rid ON symbols(rid);
CREATE TABLE IF NOT EXISTS pending (path TEXT NOT NULL, chunk_id TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(patht, symt, body, tokenize='unicode61 remove_diacritics 0');
"""


TABLES = ("meta", "files", "chunks", "symbols", "pending", "chunks_fts")


def remove_database(path: Path) -> None:
    """Delete an SQLite file and its journal files, those that exist."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def promote(built: Path, live: Path) -> None:
    """Make the manifest at ``live`` hold what the (closed) one at ``built`` holds, then delete ``built``.

    The copy is one transaction: a reader sees the old manifest or the new one,
    never a mix, and a run killed before the commit leaves the old one whole.
    The file is not renamed over instead: a reader's write-ahead log beside it
    would then be read as the new file's.
    """
    if live.is_file():
        try:
            _copy_into(live, built)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot replace the manifest {live}: {exc}", "run the same command again") from None
        except sqlite3.DatabaseError:
            remove_database(live)  # unreadable: nothing in it is worth keeping, and no reader can use it
            os.replace(built, live)
            return
        remove_database(built)
        return
    remove_database(live)
    os.replace(built, live)


def _copy_into(live: Path, built: Path) -> None:
    db = sqlite3.connect(live, timeout=30)
    try:
        db.execute("ATTACH DATABASE ? AS built", (str(built),))
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in TABLES:  # dropped, not emptied: an older manifest's tables may lack columns
                db.execute(f"DROP TABLE IF EXISTS main.{table}")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for table in TABLES[:-1]:
                db.execute(f"INSERT INTO main.{table} SELECT * FROM built.{table}")
            db.execute("INSERT INTO main.chunks_fts(rowid, patht, symt, body) SELECT rowid, patht, symt, body FROM built.chunks_fts")
            db.commit()
        except BaseException:
            db.rollback()
            raise
    finally:
        db.close()


@dataclass(frozen=True, slots=True)
class FileRow:
    path: str
    blob_sha: str
    language: str | None
    status: str  # indexed | skipped
    reason: str | None
    chunks: int
    fallback: bool
    redacted: int = 0


def _chunk_from_row(row: sqlite3.Row) -> Chunk:
    return Chunk(
        id=row["id"], path=row["path"], start_line=row["start_line"], end_line=row["end_line"],
        text=row["text"], language=row["language"], symbol=row["symbol"], kind=row["kind"],
        blob_sha=row["blob_sha"], scope=row["scope"], defines=tuple(json.loads(row["defines"])),
    )


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection. In a folder that cannot be written SQLite cannot make the WAL's shared-memory
    file, so the file is then read as immutable (nothing can change it there)."""
    uri = "file:" + quote(str(path)) + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30, check_same_thread=False)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db


class Manifest:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                self.db = _open_readonly(path)
            else:
                self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
                self.db.commit()
        except sqlite3.OperationalError as exc:  # (not a damaged file: one that cannot be opened, or written)
            raise StoreError(f"cannot open the manifest {path}: {exc}", "check the index folder's permissions") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the manifest {path} is unreadable: {exc}",
                "rebuild the index with `repo-assist index --full`",
            ) from None
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # -- meta ----------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, values: dict[str, str]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(values.items()))

    # -- files ---------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        rows = self.db.execute("SELECT path, blob_sha, language, status, reason, chunks, fallback FROM files")
        return {r[0]: FileRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows}

    def chunks_of(self, paths: list[str]) -> list[Chunk]:
        marks = ",".join("?" * len(paths))
        return [_chunk_from_row(r) for r in self.db.execute(f"SELECT * FROM chunks WHERE path IN ({marks})", paths)]

    def chunk_ids(self, path: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE path=?", (path,))]

    # -- crash recovery ------------------------------------------------------
    def add_pending(self, items: Iterable[tuple[str, str]]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO pending(path, chunk_id) VALUES (?, ?)", list(items))

    def pending(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path, cid in self.db.execute("SELECT path, chunk_id FROM pending"):
            out.setdefault(path, []).append(cid)
        return out

    def forget_files(self, paths: Iterable[str]) -> None:
        """Drop files and their chunks (their vectors must already be gone)."""
        paths = list(paths)
        with self.db:
            for path in paths:
                self._delete_file(path)
            self.db.executemany("DELETE FROM pending WHERE path=?", [(p,) for p in paths])

    def _delete_file(self, path: str) -> None:
        rids = [r[0] for r in self.db.execute("SELECT rid FROM chunks WHERE path=?", (path,))]
        if rids:
            marks = ",".join("?" * len(rids))
            self.db.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({marks})", rids)
            self.db.execute(f"DELETE FROM symbols WHERE rid IN ({marks})", rids)
            self.db.execute("DELETE FROM chunks WHERE path=?", (path,))
        self.db.execute("DELETE FROM files WHERE path=?", (path,))

    def record_files(self, rows: list[FileRow], chunks: list[Chunk], encodings: dict[str, str] | None = None) -> None:
        """Replace these files' rows and chunks in one transaction, and clear their pending ids."""
        encodings = encodings or {}
        with self.db:
            for row in rows:
                self._delete_file(row.path)
            self.db.executemany(
                "INSERT INTO files(path, blob_sha, language, status, reason, chunks, fallback, encoding, redacted)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                [(r.path, r.blob_sha, r.language, r.status, r.reason, r.chunks, int(r.fallback), encodings.get(r.path),
                  r.redacted) for r in rows],
            )
            for c in chunks:
                cur = self.db.execute(
                    "INSERT INTO chunks(id, path, start_line, end_line, symbol, kind, language, scope, defines, blob_sha, text)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (c.id, c.path, c.start_line, c.end_line, c.symbol, c.kind, c.language, c.scope,
                     json.dumps(list(c.defines)), c.blob_sha, c.text),
                )
                rid = cur.lastrowid
                sym_terms = " ".join(terms(" ".join(c.defines) + " " + c.symbol))
                self.db.execute(
                    "INSERT INTO chunks_fts(rowid, patht, symt, body) VALUES (?,?,?,?)",
                    (rid, " ".join(path_terms(c.path)), sym_terms, " ".join(terms(c.text))),
                )
                names = {(q.rsplit(".", 1)[-1].lower(), q) for q in c.defines}
                self.db.executemany("INSERT INTO symbols(name, qualified, rid) VALUES (?,?,?)", [(n, q, rid) for n, q in names])
            self.db.executemany("DELETE FROM pending WHERE path=?", [(r.path,) for r in rows])

    # -- reads ---------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        files = self.db.execute("SELECT COUNT(*) FROM files WHERE status='indexed'").fetchone()[0]
        chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return files, chunks

    def languages(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT COALESCE(language, 'other'), COUNT(*) FROM files WHERE status='indexed' GROUP BY 1 ORDER BY 2 DESC"
        )
        return {r[0]: r[1] for r in rows}

    def redactions(self) -> tuple[int, int]:
        """(secret values redacted, files they were in)."""
        row = self.db.execute("SELECT COALESCE(SUM(redacted), 0), COUNT(*) FROM files WHERE redacted > 0").fetchone()
        return int(row[0]), int(row[1])

    def skipped(self) -> dict[str, int]:
        rows = self.db.execute("SELECT reason, COUNT(*) FROM files WHERE status='skipped' GROUP BY 1 ORDER BY 1")
        return {r[0]: r[1] for r in rows}

    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", part):
                out[row["id"]] = _chunk_from_row(row)
        return out

    def chunks_by_rid(self, rids: list[int]) -> dict[int, Chunk]:
        out: dict[int, Chunk] = {}
        for i in range(0, len(rids), 500):
            part = rids[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT * FROM chunks WHERE rid IN ({marks})", part):
                out[row["rid"]] = _chunk_from_row(row)
        return out

    def file_chunks(self, path: str) -> list[Chunk]:
        rows = self.db.execute("SELECT * FROM chunks WHERE path=? ORDER BY start_line", (path,))
        return [_chunk_from_row(r) for r in rows]

    def iter_chunk_ids(self) -> Iterator[str]:
        for (cid,) in self.db.execute("SELECT id FROM chunks"):
            yield cid
