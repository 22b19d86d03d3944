"""Shared fixtures. Every test runs with its config, data dir and HOME under tmp_path."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from localgpt.offline import enforce_offline

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "docs"
DATA = Path(__file__).resolve().parent / "data"
# Read before `isolated` clears LOCALGPT_* from the environment.
FRESH_PROCESSES = os.environ.get("LOCALGPT_TEST_FRESH") == "1"

enforce_offline()


def default_sigint() -> None:
    """preexec_fn for a child that must take Ctrl-C as a terminal's foreground job does.

    A shell starts background jobs with SIGINT ignored, Python then installs no handler, and
    the ignore is inherited: under `make test &` the Ctrl-C tests would see no interrupt at all.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the user's config, data or home, nor the repo's config.toml."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for key in list(os.environ):
        if key.startswith("LOCALGPT_"):
            monkeypatch.delenv(key)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def embedder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX export of the embedder, made once per test session and shared."""
    return tmp_path_factory.mktemp("embedders")


@pytest.fixture
def data_dir(tmp_path: Path, embedder_cache: Path) -> Path:
    """A fresh data dir that reuses the session's embedder export (it takes ~10 s to make)."""
    path = tmp_path / "data"
    path.mkdir()
    (path / "embedders").symlink_to(embedder_cache, target_is_directory=True)
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A private copy of examples/docs that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(EXAMPLES, target)
    return target


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run the real `localgpt` in a process of its own; stdout, stderr and the exit code stay
    separate. It is forked from a warm interpreter (tests/cli_zygote.py), or started fresh with
    LOCALGPT_TEST_FRESH=1."""
    full_env = {**os.environ, **(env or {})}
    if not FRESH_PROCESSES:
        from tests.cli_zygote import zygote

        return zygote().run(list(args), full_env, input, timeout)
    return subprocess.run(
        [sys.executable, "-m", "localgpt", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def indexed_data_dir(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Path:
    """A data dir holding a copy of examples/docs, ingested once per session through the real CLI.

    Tests share it, so they must only read it (ask, retrieve); a test that changes the index makes
    its own. It runs before the function-scoped `isolated`, so it isolates itself the same way.
    """
    base = tmp_path_factory.mktemp("indexed")
    docs = base / "docs"
    shutil.copytree(EXAMPLES, docs)
    data = base / "data"
    data.mkdir()
    (data / "embedders").symlink_to(embedder_cache, target_is_directory=True)
    home = base / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOCALGPT_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "localgpt", "--data-dir", str(data), "ingest", str(docs), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        cwd=base,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return data


@pytest.fixture(scope="session")
def examples_index(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Path:
    """examples/docs indexed in place, once per session. Read it, or copy it (`copy_index`) to change it."""
    from tests.helpers import build_index

    return build_index(tmp_path_factory.mktemp("examples-index"), embedder_cache, EXAMPLES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow tests first, each kept whole (its module fixtures are made once): spread
    over workers (`pytest -n`), the long ones start at once instead of finishing last, alone."""
    weight: dict[str, int] = {}
    for item in items:
        weight[item.module.__name__] = weight.get(item.module.__name__, 0) + (
            1000 if item.get_closest_marker("slow") else 1
        )
    first_seen = {name: i for i, name in enumerate(dict.fromkeys(item.module.__name__ for item in items))}
    items.sort(key=lambda item: (-weight[item.module.__name__], first_seen[item.module.__name__]))
