"""Beside busy processes the answer's tokens are decoded on the cores they leave free; a fixed
[llm] n_threads is kept as set. Real SmolLM2, real busy processes (localgpt/llm/cpu_load.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localgpt.llm.chat_format import Message
from localgpt.llm.cpu_load import usable_cpus
from localgpt.llm.llama_cpp import LLM, load_llm
from localgpt.settings.config import Settings

pytestmark = pytest.mark.llm

# Long enough that the prompt's evaluation is a real measuring window (well over 0.2 s).
STORY = "The kettle on the stove boils water every morning before the house wakes up. " * 30


def load(tmp_path: Path, threads: int) -> LLM:
    return load_llm(
        Settings(
            paths={"data_dir": str(tmp_path / "data"), "models_dir": str(tmp_path / "models")},
            llm={"max_tokens": 8, "temperature": 0.0, "n_threads": threads},
        )
    )


def answer(llm: LLM) -> str:
    messages: list[Message] = [{"role": "user", "content": STORY + "What boils the water?"}]
    return llm.stream(messages, llm.render(messages).prompt, [], 8).text


@pytest.fixture
def busy_cpus() -> Iterator[None]:
    """One busy loop per CPU (at most four, gentle on a big CI machine's other test workers)."""
    count = min(4, usable_cpus())
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="measured from Linux's /proc/stat")
def test_decode_moves_to_the_free_cores_and_a_fixed_setting_is_kept(tmp_path: Path, busy_cpus: None) -> None:
    adaptive = load(tmp_path, 0)
    every = adaptive.decode_threads
    assert every == (os.cpu_count() or 1)  # what it loaded with: all of them
    said = answer(adaptive)
    if every > 1:
        assert 1 <= adaptive.decode_threads < every
    fixed = load(tmp_path, every)
    assert answer(fixed) == said  # fewer decode threads, the same tokens
    assert fixed.decode_threads == every
