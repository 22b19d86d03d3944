"""The TUI tests' index: examples/docs ingested once per session, copied into each test's tmp dir.

The copy keeps tests apart (each saves its own chats, some ingest more) without paying for the
ingest every time. The docs sit next to the data dir and tests run from their parent folder, so
sources show as `docs/...` whatever the machine: snapshots depend on that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import localgpt.llm.base
from localgpt.settings.config import Settings, load_settings
from tests.conftest import EXAMPLES

# Short, repeatable answers: greedy decoding, a fixed seed and thread count, no GPU.
FAST_LLM = {
    "llm.max_tokens": 48,
    "llm.temperature": 0.0,
    "llm.seed": 42,
    "llm.n_threads": 2,
    "llm.n_gpu_layers": 0,
    "retrieval.k": 2,
    # The LLM path, streamed token by token and left as written (the grounding tests check the rest).
    "answer.mode": "generate",
    "answer.unsupported": "keep",
}
QUESTION = "How much water does the tank hold?"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ingest_examples(root: Path, embedder_cache: Path, **flags: str) -> Path:
    """docs/ (a copy of examples/docs) and data/ (its index) under `root`, through the real CLI;
    `flags` are settings given as LOCALGPT_* variables (`embeddings__backend="onnx"`)."""
    shutil.copytree(EXAMPLES, root / "docs")
    data = root / "data"
    data.mkdir()
    (data / "embedders").symlink_to(embedder_cache, target_is_directory=True)
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALGPT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".data"))
    env.update({f"LOCALGPT_{key.upper()}": value for key, value in flags.items()})
    proc = subprocess.run(
        [sys.executable, "-m", "localgpt", "--data-dir", "data", "ingest", "--quiet", "docs"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Path:
    """A folder holding docs/ and data/ (its index, the default int8 embedder), built once."""
    return ingest_examples(tmp_path_factory.mktemp("tui-index"), embedder_cache)


@pytest.fixture(scope="session")
def float_indexed(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Path:
    """The same with the float32 embedder, for snapshots that must not depend on the CPU kind:
    the int8 presets for AVX2 and AVX-512 quantize differently, and scores on screen move by 0.01."""
    return ingest_examples(
        tmp_path_factory.mktemp("tui-float-index"), embedder_cache, embeddings__backend="onnx"
    )


def copy_index(index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of an index; the working directory is the docs' parent."""
    data = tmp_path / "data"
    shutil.copytree(index / "data", data, symlinks=True)
    monkeypatch.chdir(index)
    return data


@pytest.fixture
def tui_data(indexed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_index(indexed, tmp_path, monkeypatch)


@pytest.fixture
def float_tui_data(float_indexed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_index(float_indexed, tmp_path, monkeypatch)


class TokenGate:
    """Holds the real model's generation after `after` tokens until the test releases it.

    Tests that act mid-answer (watch it stream, cancel it) must not race the model: on a fast
    machine a short answer is over before the UI gets a turn.
    """

    def __init__(self, after: int) -> None:
        self.after = after
        self.count = 0
        self.held = threading.Event()
        self.released = threading.Event()

    def wrap(self, on_token: Callable[[str], None] | None) -> Callable[[str], None]:
        def gated(piece: str) -> None:
            if on_token:
                on_token(piece)
            self.count += 1
            if self.count == self.after:
                self.held.set()
                self.released.wait(timeout=300)

        return gated


@pytest.fixture
def token_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenGate]:
    gate = TokenGate(after=3)
    real_drain = localgpt.llm.base.drain

    def drain(events: Any, result: Any, on_token: Any, cancel: Any) -> None:
        real_drain(events, result, gate.wrap(on_token), cancel)

    monkeypatch.setattr(localgpt.llm.base, "drain", drain)
    yield gate
    gate.released.set()  # never leave a generation thread waiting


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    flags = {"paths.data_dir": str(data_dir), **FAST_LLM}
    flags.update({k.replace("__", "."): v for k, v in overrides.items()})
    return load_settings(None, flags).settings


async def wait_until(pilot: Any, condition: Any, timeout: float = 240, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def wait_idle(pilot: Any, timeout: float = 240) -> None:
    """Until the answer (if any) is finished and every worker has returned."""
    app = pilot.app
    await wait_until(pilot, lambda: app.busy_turn is None, timeout, "the answer")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def ask(pilot: Any, question: str) -> None:
    """Type the question the way a person would, and send it."""
    await pilot.click("#prompt")
    await pilot.press(*question)
    await pilot.press("enter")
