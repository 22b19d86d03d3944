"""The data dir's locks, all through `filelock` (flock on POSIX: the kernel drops a lock when its
process dies, so a `kill -9` never leaves a stale one behind).

- The Chroma lock: Chroma's local mode is not safe across processes. A read that runs while
  another process writes can fail ("Error finding id", "Error sending backfill request to
  compactor") or crash the reader outright: against a writer upserting in a loop, 34 of 37 fresh
  reader processes failed, 32 of them with SIGSEGV; with every call under this lock, none did.
  Each Chroma call holds it briefly, so an `ask` during an ingest waits for at most one write batch.
  It is reentrant per thread, so a Store call made inside another doesn't deadlock.
- The ingest lock: one writer per collection; a second ingest waits or refuses, naming the pid.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from localgpt.errors import BusyError, StorageError
from localgpt.settings.layout import DataDir

WAIT_S = 300.0  # a write batch takes seconds; this long means a stuck process holds the lock


def lock_path(data_dir: Path) -> Path:
    return DataDir(data_dir).chroma_lock


def _writable(path: Path) -> bool:
    """Whether a lock can be taken here; a read-only data dir nobody can write to needs none."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


@contextlib.contextmanager
def chroma_lock(data_dir: Path, wait_s: float = WAIT_S) -> Iterator[None]:
    path = lock_path(data_dir)
    if not _writable(path):
        yield
        return
    # One instance per path (is_singleton), counted per thread: nested calls re-enter.
    lock = FileLock(path, is_singleton=True, thread_local=True)
    try:
        lock.acquire(timeout=wait_s, poll_interval=0.01)
    except Timeout:
        raise BusyError(
            f"the index is busy: another process has held {path} for over {wait_s:.0f} s"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)


def _holder(path: Path) -> str:
    try:
        return path.read_text(errors="ignore").strip() or "?"
    except OSError:
        return "?"


class IngestLock:
    """One writer per collection: a second ingest waits `wait_s`, then refuses with the holder's pid."""

    def __init__(self, data_dir: Path, collection: str, wait_s: float = 0.0) -> None:
        self.path = DataDir(data_dir).ingest_lock(collection)
        self.collection = collection
        self.wait_s = wait_s
        self._lock = FileLock(self.path, thread_local=False, on_acquired=_write_pid, preserve_lock_file=True)

    def __enter__(self) -> IngestLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire(timeout=self.wait_s, poll_interval=0.2)
        except Timeout:
            raise BusyError(
                f"another ingest into collection '{self.collection}' is running "
                f"(pid {_holder(self.path)}); wait for it, or pass --wait SECONDS"
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot write to {self.path.parent}: {exc.strerror}") from None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()


def ingest_running(data_dir: Path, collection: str) -> bool:
    """Whether another process holds the collection's ingest lock (read-only: creates nothing)."""
    path = DataDir(data_dir).ingest_lock(collection)
    if not path.is_file() or not os.access(path, os.W_OK):
        return False
    lock = FileLock(path, thread_local=False, preserve_lock_file=True)
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return True
    lock.release()
    return False
