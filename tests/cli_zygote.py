"""A warm interpreter that forks the `localgpt` commands tests run (`run_cli`).

Each command is still a process of its own, with its own pid, stdin, stdout, stderr, environment,
working directory and exit code, running the real `localgpt.cli.main`. It starts as a fork of one
interpreter that has already imported what most commands import (Chroma, LangChain, onnxruntime,
llama-cpp-python): `search` takes 0.9 s instead of 2.2-2.4 s on 2 cores. Tests about start-up
itself (imports, the offline switches) start a fresh interpreter instead.

The server is single-threaded, so forking it is safe: OpenBLAS's thread pool, the one other
thread, is stopped and restarted around fork by OpenBLAS itself.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# What `ask`, `search` and `ingest` import; not sentence-transformers (torch starts threads).
WARM_MODULES = (
    "localgpt.cli",
    "chromadb",
    "chromadb.api.client",
    "langchain_core.retrievers",
    "onnxruntime",
    "tokenizers",
    "bm25s",
    "llama_cpp",
    "localgpt.rag.answer",
    "localgpt.rag.retrieval",
    "localgpt.rag.resources",
    "localgpt.index.store",
    "localgpt.embed.onnx",
    "localgpt.llm.llama_cpp",
    "ingest.pipeline",
)
MAX_MESSAGE = 1 << 20


def serve(path: str) -> None:
    """Import, listen on `path`, fork one child per request; exit when the parent does."""
    from localgpt.offline import enforce_offline

    enforce_offline()
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    listener.settimeout(0.02)  # how soon an exit status is passed on
    print("ready", flush=True)
    waiting: dict[int, socket.socket] = {}  # child pid -> the connection its exit status goes to
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            conn = None
        if conn is not None:
            conn.settimeout(None)
            message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                _child(request, fds)  # never returns
            for fd in fds:
                os.close(fd)
            conn.sendall(json.dumps({"pid": pid}).encode())
            waiting[pid] = conn
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            done = waiting.pop(pid, None)
            if done is not None:
                with contextlib.suppress(OSError):  # the test may have given up on it
                    done.sendall(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())
                done.close()


def _child(request: dict[str, Any], fds: list[int]) -> None:
    """Become the command: its stdio, environment, directory and argv; then run it and exit."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import random

    random.seed()  # each command its own random state, as a fresh interpreter has
    sys.argv = [sys.argv[0], *request["argv"]]
    from localgpt.cli import main

    code: Any = 1
    try:
        code = main(request["argv"])
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # A normal interpreter exit: atexit handlers and finalizers run as they would in a fresh one.
    sys.exit(code)


class Zygote:
    """The client side: one server process per test process, started on first use."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="localgpt-zygote-")
        self.path = str(Path(self._dir) / "socket")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", f"from tests.cli_zygote import serve; serve({self.path!r})"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent,
        )  # fmt: skip
        assert self._proc.stdout is not None
        ready = self._proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the localgpt zygote did not start (exit {self._proc.poll()})")
        atexit.register(self.close)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        with_socket = Path(self.path)
        with_socket.unlink(missing_ok=True)
        with_socket.parent.rmdir()

    def run(
        self, args: list[str], env: dict[str, str], input: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Like subprocess.run(capture_output=True, text=True) of `python -m localgpt *args`."""
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            conn.connect(self.path)
            request = {"argv": args, "env": env, "cwd": os.getcwd()}
            socket.send_fds(conn, [json.dumps(request).encode()], [stdin_r, out_w, err_w])
        finally:
            for fd in (stdin_r, out_w, err_w):
                os.close(fd)
        pid = json.loads(conn.recv(MAX_MESSAGE))["pid"]
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        readers = [threading.Thread(target=_drain, args=(fd, chunks[fd]), daemon=True) for fd in chunks]
        for reader in readers:
            reader.start()
        with contextlib.suppress(BrokenPipeError):
            if input:
                os.write(stdin_w, input.encode())  # small: a pipe holds 64 kB
        os.close(stdin_w)
        deadline = time.monotonic() + timeout
        conn.settimeout(timeout)
        try:
            returncode = json.loads(conn.recv(MAX_MESSAGE))["returncode"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired([sys.executable, "-m", "localgpt", *args], timeout) from None
        finally:
            conn.close()
        for reader in readers:  # a grandchild (a server it started) may still hold the pipes
            reader.join(max(0.0, deadline - time.monotonic()))
        return subprocess.CompletedProcess(
            [sys.executable, "-m", "localgpt", *args], returncode, _text(chunks[out_r]), _text(chunks[err_r])
        )


def _drain(fd: int, into: list[bytes]) -> None:
    try:
        while chunk := os.read(fd, 65536):
            into.append(chunk)
    finally:
        os.close(fd)


def _text(chunks: list[bytes]) -> str:
    # What subprocess's text mode gives: the locale's encoding, universal newlines.
    import locale

    data = b"".join(chunks).decode(locale.getpreferredencoding(False))
    return data.replace("\r\n", "\n").replace("\r", "\n")


_zygote: Zygote | None = None
_owner = 0


def zygote() -> Zygote:
    """This process's zygote (a forked test process must not share its parent's)."""
    global _zygote, _owner
    if _zygote is None or _owner != os.getpid():
        _zygote, _owner = Zygote(), os.getpid()
    return _zygote
