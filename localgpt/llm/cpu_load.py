"""How many CPUs other processes keep busy, and so how many threads should decode the answer.

Decoding one token is a chain of small steps, and every step waits for all of llama.cpp's
threads. Beside other busy processes one of those threads is often off its core, and each step
waits for it: on 2 cores beside two busy loops, decode with 2 threads ran at 0.32-0.33 of idle
speed, with 1 thread at 0.40-0.41 (bench/contention_bench.py); idle, 1 thread is 40 % slower. So
the prompt is evaluated with every thread, and the answer's tokens with the cores that other
processes left free while it was. Measured from /proc/stat (Linux); elsewhere nothing is
measured and every thread decodes.

Use: `window = OtherLoad.start()`, evaluate the prompt, then `decode_threads(all, window.busy_cpus())`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

# Shorter than this, /proc/stat's 10 ms ticks say too little: keep every thread.
MIN_WINDOW_S = 0.2
_STAT = Path("/proc/stat")


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under taskset or a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_ticks() -> int | None:
    """Clock ticks all CPUs spent on anything but idle and I/O wait since boot."""
    try:
        with _STAT.open("rb") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    return sum(fields[:8]) - fields[3] - fields[4]


@dataclass(frozen=True)
class OtherLoad:
    """A measuring window: the machine's busy time minus this process's own CPU time."""

    wall: float
    ticks: int | None
    own: float

    @classmethod
    def start(cls) -> OtherLoad:
        return cls(time.monotonic(), _busy_ticks(), time.process_time())

    def busy_cpus(self) -> float | None:
        """CPUs' worth of work other processes did since `start`; None when it can't be told."""
        ticks, wall = _busy_ticks(), time.monotonic() - self.wall
        if ticks is None or self.ticks is None or wall < MIN_WINDOW_S:
            return None
        machine = (ticks - self.ticks) / os.sysconf("SC_CLK_TCK")
        own = time.process_time() - self.own
        return max(0.0, (machine - own) / wall)


def decode_threads(threads: int, others_busy: float | None, cpus: int | None = None) -> int:
    """`threads` when the machine is free (or unknown), else the CPUs the others leave free."""
    if others_busy is None:
        return threads
    free = (cpus or usable_cpus()) - others_busy
    return max(1, min(threads, int(free + 0.5)))
