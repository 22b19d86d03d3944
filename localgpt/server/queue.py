"""Generations share one model: they run one at a time, first come first served, on one thread.

The queue is bounded: past `size` waiting or running generations, a request is refused at once
(503 with Retry-After) rather than left to time out. A cancelled request that has not started
never runs; one that has started stops at its next token (its `cancel` event), and the model
is free for the next as soon as it does.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"the server is busy: {retry_after_s} s")
        self.retry_after_s = retry_after_s


class GenerationQueue:
    def __init__(self, size: int) -> None:
        self.size = size
        # One worker thread: every use of the model happens on it, in submission order.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="localgpt-generate")
        self._lock = threading.Lock()
        self._pending = 0
        self._mean_s = 5.0  # a first guess for Retry-After, refined by each generation

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Queue `job`, or raise QueueFull. Runs on the model's thread."""
        with self._lock:
            if self._pending >= self.size:
                raise QueueFull(self.retry_after())
            self._pending += 1

        def timed() -> T:
            started = time.monotonic()
            try:
                return job()
            finally:
                elapsed = time.monotonic() - started
                with self._lock:
                    self._mean_s = 0.8 * self._mean_s + 0.2 * elapsed

        future = self._executor.submit(timed)
        future.add_done_callback(self._done)  # also when cancelled before it started
        return future

    async def run(self, job: Callable[[], T]) -> T:
        return await asyncio.wrap_future(self.submit(job))

    def _done(self, _: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1

    def retry_after(self) -> int:
        return max(1, math.ceil(self._pending * self._mean_s))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
