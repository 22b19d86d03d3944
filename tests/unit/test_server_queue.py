"""The generation queue: one at a time, in order, bounded; and the server's guards, which act
before anything loads."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from localgpt.errors import ConfigError, ExitCode
from localgpt.server.queue import GenerationQueue, QueueFull
from localgpt.server.run import check_bind, connect_url, is_loopback
from tests.conftest import run_cli


def test_jobs_run_one_at_a_time_in_order_and_the_queue_is_bounded() -> None:
    queue = GenerationQueue(size=3)
    gate = threading.Event()
    order: list[int] = []
    running = threading.Lock()

    def job(n: int) -> int:
        assert running.acquire(blocking=False), "two generations at once"
        try:
            gate.wait(10)
            order.append(n)
            return n
        finally:
            running.release()

    futures = [queue.submit(lambda n=n: job(n)) for n in range(3)]
    with pytest.raises(QueueFull) as full:
        queue.submit(lambda: job(99))
    assert full.value.retry_after_s >= 1
    gate.set()
    assert [f.result(10) for f in futures] == [0, 1, 2]
    assert order == [0, 1, 2]
    assert queue.pending == 0
    assert queue.submit(lambda: 7).result(10) == 7  # room again
    queue.shutdown()


def test_run_awaits_the_job_from_the_event_loop() -> None:
    queue = GenerationQueue(size=1)
    assert asyncio.run(queue.run(lambda: threading.current_thread().name)).startswith("localgpt-generate")
    queue.shutdown()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.org", False)],
)  # fmt: skip
def test_only_loopback_binds_go_without_a_key(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        check_bind(host, "")
    else:
        with pytest.raises(ConfigError, match="refusing to listen"):
            check_bind(host, "")
        check_bind(host, "key")


def test_clients_reach_a_wildcard_bind_on_loopback() -> None:
    assert connect_url("0.0.0.0", 8765) == "http://127.0.0.1:8765"
    assert connect_url("::", 8765) == "http://[::1]:8765"
    assert connect_url("10.0.0.2", 80) == "http://10.0.0.2:80"


def test_non_loopback_bind_without_a_key_refuses_to_start(data_dir: Path) -> None:
    proc = run_cli("--data-dir", str(data_dir), "serve", "--host", "0.0.0.0", "--port", "0", timeout=60)
    assert proc.returncode == ExitCode.CONFIG
    assert proc.stderr.startswith("localgpt: error: refusing to listen on 0.0.0.0 without an API key")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (data_dir / "server.json").exists()


def test_a_taken_port_is_exit_12(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli("--data-dir", str(data_dir), "serve", "--port", str(port), timeout=60)
    assert proc.returncode == ExitCode.SERVER
    assert proc.stderr.startswith(f"localgpt: error: cannot listen on 127.0.0.1:{port}")
    assert not (data_dir / "server.json").exists()
