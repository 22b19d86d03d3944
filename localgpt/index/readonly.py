"""Reading an index that lives on a read-only data dir (a read-only mount, a shared folder).

Questions only read, so they should work there. Two things stand in the way:

- The manifest is SQLite in WAL mode. SQLite can read a WAL database read-only only if its -shm
  file exists or can be created; a cleanly closed database has none. Nothing can write to a
  read-only folder, so the file can't change under us: `immutable=1` is then true, and lets SQLite
  read it without the -shm.
- Chroma (1.x, Rust core) writes a row into `acquire_write` of chroma.sqlite3 every time a client
  starts, whatever the `migrations` setting, so `PersistentClient` fails on a read-only folder with
  "attempt to write a readonly database", and there is no read-only option. What works: a private
  copy of chroma.sqlite3 in a temporary folder, beside links to the original segment folders
  (the vectors, read in place). The copy is removed when the process exits.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

from localgpt.errors import StorageError

CHROMA_DB = "chroma.sqlite3"


def writable(folder: Path) -> bool:
    """Whether this process may create files in `folder` (EROFS counts even for root)."""
    return os.access(folder, os.W_OK)


def read_only_uri(db_path: Path) -> str:
    """A SQLite URI that reads `db_path` without writing anything next to it."""
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    wal = db_path.with_name(db_path.name + "-wal")
    shm = db_path.with_name(db_path.name + "-shm")
    if shm.exists() or (wal.exists() and wal.stat().st_size > 0):
        return uri  # SQLite reads the WAL through an existing -shm; immutable would skip the WAL
    return uri + "&immutable=1"


_COPIES: list[Path] = []  # this process's read copies, removed at exit


def remove_read_copies() -> None:
    """Delete this process's read copies: at exit, or by a process that leaves with os._exit
    (the store child, localgpt/rag/store_child.py), which runs no atexit hook."""
    while _COPIES:
        shutil.rmtree(_COPIES.pop(), ignore_errors=True)


atexit.register(remove_read_copies)


@functools.cache  # one copy per folder and process, as Chroma keeps one client per folder
def chroma_read_copy(folder: Path) -> Path:
    """A temporary folder Chroma can open: chroma.sqlite3 copied, the segment folders linked."""
    try:
        target = Path(tempfile.mkdtemp(prefix="localgpt-readonly-index-"))
    except OSError as exc:
        raise StorageError(
            f"{folder} is read-only and no temporary folder could be made to read it: {exc.strerror}"
        ) from None
    _COPIES.append(target)
    try:
        shutil.copy2(folder / CHROMA_DB, target / CHROMA_DB)
        for entry in folder.iterdir():
            if entry.is_dir():
                (target / entry.name).symlink_to(entry, target_is_directory=True)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise StorageError(
            f"{folder} is read-only, and copying its {CHROMA_DB} to {target.parent} to read it failed: "
            f"{exc.strerror}; free space there (or set TMPDIR), or make {folder} writable"
        ) from None
    return target
