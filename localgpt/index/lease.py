"""One writer per shared collection across machines: a lease record in the Chroma server.

A file lock only guards one machine. With `[store] url`, an ingest also holds a lease: an
entry (`lease`) in the collection's companion `<collection>__manifest` naming its holder
(host, pid, a random token) and an expiry `[store] lease_s` ahead, renewed every third of that
by a background thread. A second writer waits (`--wait`) or refuses with `BusyError`; a writer
killed with `kill -9` stops renewing, and its lease is free once it expires. Readers never look
at it.

Chroma has no compare-and-set, so taking a free lease is write, wait `SETTLE_S`, read back: of
two machines that write at once, the later write wins and the other sees it and waits. Expiry
is wall-clock time, so the machines' clocks must agree to well under `lease_s` (NTP does).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from localgpt.errors import BusyError
from localgpt.index.locks import IngestLock

if TYPE_CHECKING:
    from localgpt.index.manifest import FileManifest
    from localgpt.index.shared_manifest import ServerManifest
    from localgpt.settings.config import Settings

LEASE_ID = "lease"
SETTLE_S = 0.5
POLL_S = 1.0


@contextlib.contextmanager
def writer_lock(
    settings: Settings, manifest: Callable[[], FileManifest], wait_s: float = 0.0
) -> Iterator[None]:
    """This machine's ingest lock, and with a Chroma server the collection's lease too.

    `manifest` is asked for only in server mode: `--rebuild` must get past a local manifest too
    damaged to open."""
    with IngestLock(settings.paths.data_dir, settings.store.collection, wait_s):
        if not settings.store.url:
            yield
            return
        from localgpt.index.shared_manifest import ServerManifest

        shared = manifest()
        assert isinstance(shared, ServerManifest)
        with Lease(shared, settings.store.lease_s, wait_s):
            yield


class Lease:
    def __init__(self, manifest: ServerManifest, lease_s: float, wait_s: float = 0.0) -> None:
        self.manifest = manifest
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.token = uuid.uuid4().hex
        self.holder = f"{socket.gethostname()} pid {os.getpid()}"
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost = False  # set if another writer took over after this one stalled past expiry

    def __enter__(self) -> Lease:
        deadline = time.monotonic() + self.wait_s
        while True:
            current = self._read()
            if current is None or float(current.get("expires_at", 0)) < time.time():
                self._write()
                time.sleep(SETTLE_S)
                current = self._read()
                if current is not None and current.get("token") == self.token:
                    break
            if time.monotonic() >= deadline:
                raise BusyError(self._busy(current))
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        self._renewer = threading.Thread(target=self._renew, name="lease-renewer", daemon=True)
        self._renewer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        current = self._read()
        if current is not None and current.get("token") == self.token:
            self.manifest.delete_entries(ids=[LEASE_ID])

    def _busy(self, current: dict[str, Any] | None) -> str:
        holder = (current or {}).get("holder", "another writer")
        left = max(0.0, float((current or {}).get("expires_at", 0)) - time.time())
        return (
            f"another ingest into collection '{self.manifest.collection}' on {self.manifest.url} "
            f"is running ({holder}; its lease runs {left:.0f} s more unless renewed); "
            "wait for it, or pass --wait SECONDS"
        )

    def _read(self) -> dict[str, Any] | None:
        found = self.manifest.entries(ids=[LEASE_ID])
        return found[0][1] if found else None

    def _write(self) -> None:
        meta = {"kind": LEASE_ID, "token": self.token, "holder": self.holder,
                "expires_at": time.time() + self.lease_s}  # fmt: skip
        self.manifest.put({LEASE_ID: meta})

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                current = self._read()
                if current is None or current.get("token") != self.token:
                    self.lost = True
                    return
                self._write()
            except Exception:
                continue  # the server blinked: try again next round, before the lease runs out
