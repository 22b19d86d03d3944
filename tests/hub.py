"""A stand-in for the Hugging Face hub: a real HTTP server on 127.0.0.1, for pull tests.

It serves `/{repo}/resolve/{revision}/{file}` with Range support; failures are injected through
the `Hub` object (a dropped connection, a stall, a wrong checksum, a 404, an HTML page).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hub:
    """What the stand-in hub serves and what it saw."""

    files: dict[str, bytes]
    url: str = ""
    requests: list[dict[str, str | None]] = field(default_factory=list)
    drop_first_at: int | None = None  # send this many bytes of the first GET, then hang up
    stall: bool = False  # accept, then never answer

    def serve(self, repo: str, file: str, data: bytes, revision: str = "main") -> None:
        self.files[f"/{repo}/resolve/{revision}/{file}"] = data


def hub_handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hub.requests.append({"path": self.path, "range": self.headers.get("Range")})
            if hub.stall:
                time.sleep(5)
                return
            data = hub.files.get(self.path)
            if data is None:
                self.send_error(404, "Entry not found")
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            limit = len(body)
            if hub.drop_first_at is not None:
                limit, hub.drop_first_at = hub.drop_first_at, None
            view = memoryview(body)[:limit]
            for i in range(0, len(view), 1 << 20):
                self.wfile.write(view[i : i + (1 << 20)])
            if limit < len(body):
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # the transfer breaks off here
                self.close_connection = True

    return Handler


@contextlib.contextmanager
def serving(state: Hub, monkeypatch: Any) -> Iterator[Hub]:
    """`state` served on 127.0.0.1 in a thread, with HF_ENDPOINT pointing at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), hub_handler(state))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", state.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
