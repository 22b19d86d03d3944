"""One writer per collection: a second ingest waits or refuses instead of corrupting the index."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from localgpt.errors import BusyError, StorageError
from localgpt.settings.layout import DataDir


class IngestLock:
    def __init__(self, data_dir: Path, collection: str, wait_s: float = 0.0) -> None:
        self.path = DataDir(data_dir).ingest_lock(collection)
        self.collection = collection
        self.wait_s = wait_s
        self._fd: int | None = None

    def __enter__(self) -> IngestLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot write to {self.path.parent}: {exc.strerror}") from None
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                # flock dies with the process, so a kill -9 never leaves a stale lock behind.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="ignore").strip() or "?"
                    os.close(fd)
                    raise BusyError(
                        f"another ingest into collection '{self.collection}' is running "
                        f"(pid {holder}); wait for it, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
