"""The per-file manifest: what is indexed, from which file version, under which chunk ids.

SQLite in WAL mode, so readers (ask, chat) never block on an ingest. A file is committed only
after all its chunks are stored; `pending` is the intent log that lets the next run clean up
after a crash between the two.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from localgpt.errors import CorruptIndexError, StorageError
from localgpt.index.readonly import read_only_uri, writable
from localgpt.settings.disk import write_problem

_F = TypeVar("_F", bound=Callable[..., Any])

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    pages INTEGER,
    ingested_at REAL NOT NULL,
    ocr_pages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, path)
);
CREATE INDEX IF NOT EXISTS files_sha ON files (collection, sha256);
CREATE TABLE IF NOT EXISTS pending (
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (collection, path)
);
CREATE TABLE IF NOT EXISTS generations (
    collection TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    chunk_ids: tuple[str, ...]
    pages: int | None = None
    ocr_pages: int = 0  # pages whose text came from OCR


class FileManifest(Protocol):
    """What ingest and retrieval need of a manifest: `Manifest` (SQLite, embedded mode) and
    `ServerManifest` (a Chroma server's companion collection, shared by a team). Paths are this
    machine's own; a shared manifest stores them as source ids."""

    collection: str

    def close(self) -> None: ...
    def all(self) -> dict[str, FileRecord]: ...
    def under(self, folder: str) -> dict[str, FileRecord]: ...
    def get(self, path: str) -> FileRecord | None: ...
    def count(self) -> tuple[int, int]: ...
    def mark_pending(self, path: str) -> None: ...
    def pending(self) -> list[str]: ...
    def clear_pending(self, path: str) -> None: ...
    def commit_file(self, record: FileRecord) -> None: ...
    def remove(self, paths: Iterable[str]) -> None: ...
    def drop_collection(self) -> None: ...
    def drop_all(self) -> None: ...
    def generation(self) -> int: ...
    def collections(self) -> list[str]: ...


def _guarded(method: _F) -> _F:
    """SQLite errors past opening (a page gone bad, a full or read-only disk) as one-line errors."""

    @functools.wraps(method)
    def wrapper(self: Manifest, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    return wrapper  # type: ignore[return-value]


def set_aside(db_path: Path) -> Path:
    """Move an unreadable manifest (and its WAL files) out of the way; kept for a post-mortem."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db_path.with_name(f"{db_path.name}.broken-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            part.rename(target.with_name(target.name + suffix))
    return target


class Manifest:
    def __init__(self, db_path: Path, collection: str) -> None:
        self.collection = collection
        self.db_path = db_path
        if db_path.is_file() and not writable(db_path.parent):
            # A read-only data dir: questions can still read it (writes fail with "read-only").
            try:
                self._db = sqlite3.connect(
                    read_only_uri(db_path), uri=True, timeout=60, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
                self._db.execute("SELECT 1 FROM files LIMIT 1")
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None
            return
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            # The TUI opens the manifest in one worker thread and reads it from others (one at a
            # time); sqlite itself is built serialized, so only the Python-side check is lifted.
            self._db = sqlite3.connect(
                str(db_path), timeout=60, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._add_ocr_column()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        except OSError as exc:
            problem = write_problem(db_path.parent, exc, low_space=False)
            raise StorageError(f"cannot open manifest {db_path}: {problem or exc.strerror}") from None

    def _error(self, exc: sqlite3.DatabaseError) -> StorageError:
        # OperationalError is the disk's or the environment's fault (read-only, full, locked);
        # any other DatabaseError ("file is not a database", "malformed") means the file is damaged.
        if isinstance(exc, sqlite3.OperationalError):
            problem = write_problem(self.db_path.parent, exc, low_space=False)
            if problem:
                return StorageError(f"cannot write to manifest {self.db_path} ({exc}): {problem}")
            return StorageError(f"manifest {self.db_path} failed ({exc}); run `localgpt doctor`")
        return CorruptIndexError(
            f"manifest {self.db_path} is unreadable ({exc}); run `localgpt ingest --rebuild PATH`"
        )

    def _add_ocr_column(self) -> None:
        """Manifests written before OCR existed lack the column; add it in place."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(files)")}
        if "ocr_pages" not in columns:
            self._db.execute("ALTER TABLE files ADD COLUMN ocr_pages INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, *args: object) -> Iterator[FileRecord]:
        for row in self._db.execute(sql, (self.collection, *args)):
            yield FileRecord(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6])

    _COLUMNS = "path, size, mtime_ns, sha256, chunk_ids, pages, ocr_pages"

    @_guarded
    def all(self) -> dict[str, FileRecord]:
        sql = f"SELECT {self._COLUMNS} FROM files WHERE collection = ? ORDER BY path"
        return {rec.path: rec for rec in self._rows(sql)}

    def under(self, folder: str) -> dict[str, FileRecord]:
        """Records of files inside `folder` (or the file itself)."""
        prefix = folder.rstrip("/") + "/"
        return {path: rec for path, rec in self.all().items() if path == folder or path.startswith(prefix)}

    @_guarded
    def get(self, path: str) -> FileRecord | None:
        sql = f"SELECT {self._COLUMNS} FROM files WHERE collection = ? AND path = ?"
        return next(self._rows(sql, path), None)

    @_guarded
    def count(self) -> tuple[int, int]:
        files = chunks = 0
        for (ids,) in self._db.execute(
            "SELECT chunk_ids FROM files WHERE collection = ?", (self.collection,)
        ):
            files += 1
            chunks += len(json.loads(ids))
        return files, chunks

    @_guarded
    def mark_pending(self, path: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO pending (collection, path) VALUES (?, ?)", (self.collection, path)
        )

    @_guarded
    def pending(self) -> list[str]:
        rows = self._db.execute("SELECT path FROM pending WHERE collection = ?", (self.collection,))
        return [row[0] for row in rows]

    @_guarded
    def clear_pending(self, path: str) -> None:
        self._db.execute("DELETE FROM pending WHERE collection = ? AND path = ?", (self.collection, path))

    @_guarded
    def commit_file(self, record: FileRecord) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO files (collection, path, size, mtime_ns, sha256, chunk_ids, "
                "pages, ingested_at, ocr_pages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.collection,
                    record.path,
                    record.size,
                    record.mtime_ns,
                    record.sha256,
                    json.dumps(list(record.chunk_ids)),
                    record.pages,
                    time.time(),
                    record.ocr_pages,
                ),
            )
            self._db.execute(
                "DELETE FROM pending WHERE collection = ? AND path = ?",
                (self.collection, record.path),
            )
            self._bump()

    @_guarded
    def remove(self, paths: Iterable[str]) -> None:
        with self._transaction():
            for path in paths:
                self._db.execute(
                    "DELETE FROM files WHERE collection = ? AND path = ?", (self.collection, path)
                )
            self._bump()

    @_guarded
    def drop_collection(self) -> None:
        with self._transaction():
            for table in ("files", "pending", "generations"):
                self._db.execute(f"DELETE FROM {table} WHERE collection = ?", (self.collection,))

    @_guarded
    def drop_all(self) -> None:
        """Forget every collection: for when the Chroma folder that held them is gone."""
        with self._transaction():
            for table in ("files", "pending", "generations"):
                self._db.execute(f"DELETE FROM {table}")

    @_guarded
    def generation(self) -> int:
        """Bumped on every change; the keyword index is rebuilt when it lags behind."""
        row = self._db.execute(
            "SELECT generation FROM generations WHERE collection = ?", (self.collection,)
        ).fetchone()
        return int(row[0]) if row else 0

    @_guarded
    def collections(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT collection FROM files ORDER BY collection")
        return [row[0] for row in rows]

    def _bump(self) -> None:
        self._db.execute(
            "INSERT INTO generations VALUES (?, 1) "
            "ON CONFLICT(collection) DO UPDATE SET generation = generation + 1",
            (self.collection,),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
            return
        # SQLite may have rolled back already (a full disk does that): keep the original error.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
