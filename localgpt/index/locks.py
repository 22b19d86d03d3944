"""One process at a time inside an embedded Chroma folder.

Chroma's local mode is not safe across processes: a read that runs while another process writes
can fail ("Error finding id", "Error sending backfill request to compactor") or crash the reader
outright. Against a writer upserting in a loop, 34 of 37 fresh reader processes failed, 32 of
them with SIGSEGV; with every call under this lock, none did. Each Chroma call holds it briefly,
so an `ask` during an ingest waits for at most one write batch.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from localgpt.errors import BusyError
from localgpt.settings.layout import DataDir

WAIT_S = 300.0  # a write batch takes seconds; this long means a stuck process holds the lock
_held = threading.local()  # per thread: lock path -> depth, so nested calls don't deadlock


def lock_path(data_dir: Path) -> Path:
    return DataDir(data_dir).chroma_lock


@contextmanager
def chroma_lock(data_dir: Path, wait_s: float = WAIT_S) -> Iterator[None]:
    path = lock_path(data_dir)
    key = str(path)
    depth: dict[str, int] = getattr(_held, "depth", None) or {}
    _held.depth = depth
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    fd = _open(path)
    if fd is None:  # a read-only data dir nobody can write to: nothing to exclude
        yield
        return
    try:
        _acquire(fd, path, wait_s)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open(path: Path) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:
            return os.open(path, os.O_RDONLY)  # flock works on a read-only descriptor too
        except OSError:
            return None


def _acquire(fd: int, path: Path, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the kernel if we die
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"the index is busy: another process has held {path} for over {wait_s:.0f} s"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
