"""Decode threads under load: other processes' CPU use, measured from /proc/stat, picks how many
threads decode the answer (localgpt/llm/cpu_load.py). A real busy process, no fakes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from localgpt.llm.cpu_load import MIN_WINDOW_S, OtherLoad, decode_threads


def test_free_cores_decide_the_decode_threads() -> None:
    assert decode_threads(2, None, cpus=2) == 2  # unknown: every thread
    assert decode_threads(2, 0.1, cpus=2) == 2  # a quiet machine
    assert decode_threads(2, 1.0, cpus=2) == 1  # two busy loops beside our two threads
    assert decode_threads(2, 0.67, cpus=2) == 1  # one busy loop beside our two threads
    assert decode_threads(2, 5.0, cpus=2) == 1  # never none
    assert decode_threads(16, 2.0, cpus=16) == 14
    assert decode_threads(8, 2.0, cpus=16) == 8  # never more than configured


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="measured from Linux's /proc/stat")
def test_a_busy_process_beside_us_is_counted_and_our_own_work_is_not() -> None:
    window = OtherLoad.start()
    deadline = time.monotonic() + 2 * MIN_WINDOW_S
    while time.monotonic() < deadline:
        pass  # our own work: not "others"
    ours = window.busy_cpus()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # past its start-up
        window = OtherLoad.start()
        time.sleep(4 * MIN_WINDOW_S)
        theirs = window.busy_cpus()
    finally:
        busy.kill()
        busy.wait()
    assert ours is not None and theirs is not None
    assert theirs > 0.5 and theirs > ours  # the loop kept about one CPU busy


def test_too_short_a_window_tells_nothing() -> None:
    assert OtherLoad.start().busy_cpus() is None
