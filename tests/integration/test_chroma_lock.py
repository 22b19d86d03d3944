"""Reading an embedded Chroma folder while another process writes to it, through localgpt.index.store.

Without the cross-process lock most such reads failed or crashed with SIGSEGV (see
localgpt/index/locks.py); these run a real writer process against real reader processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localgpt.errors import BusyError, CorruptIndexError
from localgpt.index import store as store_module
from localgpt.index.locks import chroma_lock, lock_path
from localgpt.index.store import Store
from localgpt.settings.config import load_settings

PRELUDE = textwrap.dedent(
    """
    import sys, numpy as np
    from localgpt.settings.config import load_settings
    from localgpt.index.store import Store
    settings = load_settings(None, {"paths.data_dir": sys.argv[1]}).settings
    rng = np.random.default_rng(int(sys.argv[2]))
    def vectors(n):
        v = rng.normal(size=(n, 64)).astype("float32")
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).tolist()
    """
)
CREATE = PRELUDE + textwrap.dedent(
    """
    store = Store.open(settings, "test-embedder", 64, create=True)
    store.upsert([f"a{i}" for i in range(2000)], vectors(2000), ["seed"] * 2000, [{"source": "a"}] * 2000)
    """
)
WRITER = PRELUDE + textwrap.dedent(
    """
    import pathlib, time
    store = Store.open(settings, "test-embedder", 64, create=True)
    stop, n = pathlib.Path(sys.argv[3]), 0
    deadline = time.monotonic() + 900  # ended by the stop file; this only bounds a lost test
    while not stop.exists() and time.monotonic() < deadline:
        ids = [f"w{n}-{i}" for i in range(200)]
        store.upsert(ids, vectors(200), ["written text"] * 200, [{"source": f"w{n}"}] * 200)
        if n >= 3 and n % 3 == 0:
            store.delete([f"w{n - 3}-{i}" for i in range(100)])
        if n == 0:
            print("writing", flush=True)
        n += 1
    print(n)
    """
)
READER = PRELUDE + textwrap.dedent(
    """
    store = Store.open(settings, "test-embedder", 64)
    hits = store.query(vectors(1)[0], 24)
    # The newest chunks too: their metadata can be ahead of their vectors ("Error finding id").
    newest = store.collection.get(limit=200, offset=max(0, store.count() - 200), include=[])["ids"]
    wanted = list(dict.fromkeys([i for i, _ in hits] + newest))
    got = store.fetch(wanted, embeddings=True)
    # (The writer may delete some between the two calls: fewer may come back, none unasked.)
    assert len(hits) == 24 and got["ids"] and set(got["ids"]) <= set(wanted), (len(hits), got["ids"])
    print("ok")
    """
)


def run_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_readers_survive_a_concurrent_writer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = run_script(CREATE, str(data), "1")
    assert created.returncode == 0, created.stderr
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data), "2", str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing", writer.communicate()[1]
        outcomes = []
        for seed in range(3, 13):  # ten fresh readers (2 of 40 failed before the read retry)
            read = run_script(READER, str(data), str(seed))
            outcomes.append((read.returncode, read.stdout.strip(), read.stderr.strip()[-300:]))
            assert writer.poll() is None, writer.communicate()[1]  # the reads overlapped the writes
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert int(out.split()[-1]) >= 3  # it really wrote between the reads
    assert outcomes == [(0, "ok", "")] * 10


def test_a_read_that_keeps_failing_during_an_ingest_says_busy_not_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    assert run_script(CREATE, str(data), "1").returncode == 0
    settings = load_settings(None, {"paths.data_dir": str(data)}).settings
    store = Store.open(settings, "test-embedder", 64)
    tries = []

    def failing_count(self: object) -> int:
        tries.append(1)
        raise RuntimeError("Error executing plan: Internal error: Error finding id")

    monkeypatch.setattr(store_module, "READ_RETRY_WAITS_S", (0.0, 0.0))
    with monkeypatch.context() as patch:
        patch.setattr(type(store.collection), "count", failing_count)
        with pytest.raises(CorruptIndexError, match="rebuild"):
            store.count()  # no ingest runs: a read that always fails is damage
        assert len(tries) == 3  # tried again on a fresh client twice first
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sys, time; from pathlib import Path; from localgpt.index.locks import IngestLock\n"
             "with IngestLock(Path(sys.argv[1]), 'documents'):\n"
             "    print('held', flush=True); time.sleep(600)",
             str(data)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with pytest.raises(BusyError, match="an ingest is writing"):
                store.count()
        finally:
            holder.kill()
            holder.wait()


def test_the_lock_excludes_other_processes_and_dies_with_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from localgpt.index.locks import chroma_lock\n"
            "with chroma_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)",
            str(data),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BusyError, match="index is busy"), chroma_lock(data, wait_s=0.3):
            pass
        os.kill(holder.pid, signal.SIGKILL)  # flock goes with the process: no stale lock
        holder.wait()
        with chroma_lock(data, wait_s=5):
            assert lock_path(data).exists()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_the_lock_is_reentrant_in_one_thread(tmp_path: Path) -> None:
    with chroma_lock(tmp_path, wait_s=0.3):
        with chroma_lock(tmp_path, wait_s=0.3):  # a Store call inside Store.open must not deadlock
            pass
        with chroma_lock(tmp_path, wait_s=0.3):
            pass
