"""`[store] url`: the same commands against a real `chroma run` server instead of the embedded store.

A module fixture starts `chroma run --path TMP --port N --host 127.0.0.1` and waits for its
heartbeat. The auth header is checked on the wire: a small reverse proxy in front of the server
refuses any request without the token, as a team's proxy in front of Chroma would.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.errors import ExitCode
from localgpt.index.store import open_client
from localgpt.settings.config import load_settings
from tests.conftest import run_cli
from tests.helpers import assert_consistent, chroma_run, read_index

QUESTION = "How much water does the Aurora K7 water tank hold?"
OFF_TOPIC = "What is the capital of Mongolia?"
STARTUP_S = 120


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real Chroma server on 127.0.0.1, stopped after the module."""
    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def server_env(url: str, collection: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The env that points localgpt at the server: for the CLI, and for reads in this process."""
    env = {"LOCALGPT_STORE__URL": url, "LOCALGPT_STORE__COLLECTION": collection}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("--data-dir", str(data_dir), *args, env={"LOCALGPT_LLM__MAX_TOKENS": "24"})


def ingest(data_dir: Path, *args: str) -> dict[str, Any]:
    proc = cli(data_dir, "ingest", *args, "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    return dict(json.loads(proc.stdout))


def test_every_command_works_against_a_chroma_server(
    chroma_server: str, data_dir: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_env(chroma_server, "lifecycle", monkeypatch)

    first = ingest(data_dir, str(docs))
    assert len(first["added"]) == 7 and first["skipped"] == []
    assert not (data_dir / "chroma").exists(), "the embedded store was used"
    index = read_index(data_dir, "lifecycle")  # read from the server: the env points there
    assert len(index.ids) == first["chunks_total"] > 0
    assert_consistent(index)

    # Re-sync: one file changed, one deleted.
    faq, warranty = docs / "faq.txt", docs / "warranty.md"
    with faq.open("a", encoding="utf-8") as fh:
        fh.write("\nThe descaling light of the Aurora K7 blinks amber when the filter is due.\n")
    warranty.unlink()
    second = ingest(data_dir, str(docs))
    assert second["changed"] == [str(faq)] and second["removed"] == [str(warranty)]
    assert second["unchanged"] == 5
    index = read_index(data_dir, "lifecycle")
    assert_consistent(index)
    assert str(warranty) not in index.per_source()
    assert any("blinks amber" in text for text in index.texts.values())

    answered = cli(data_dir, "ask", QUESTION)
    assert answered.returncode == ExitCode.OK, answered.stderr
    assert answered.stdout.strip()
    assert "[1] " in answered.stderr and "aurora-k7-manual.pdf" in answered.stderr
    assert "error" not in answered.stderr

    abstained = cli(data_dir, "ask", OFF_TOPIC)
    assert abstained.returncode == ExitCode.ABSTAINED, abstained.stderr
    assert "couldn't find" in abstained.stdout

    listed = cli(data_dir, "sources", "--json")
    assert listed.returncode == ExitCode.OK
    rows = json.loads(listed.stdout)["files"]
    assert sorted(row["source"] for row in rows) == sorted(str(p) for p in docs.iterdir())

    forgot = cli(data_dir, "forget", str(docs))
    assert forgot.returncode == ExitCode.OK, forgot.stderr
    assert forgot.stderr.count("forgot ") == 6
    assert read_index(data_dir, "lifecycle").ids == []

    rebuilt = ingest(data_dir, str(docs), "--rebuild")
    assert len(rebuilt["added"]) == 6
    assert_consistent(read_index(data_dir, "lifecycle"))
    assert not (data_dir / "chroma").exists()


def test_client_has_telemetry_off(chroma_server: str, tmp_path: Path) -> None:
    settings = load_settings(
        None, {"paths.data_dir": str(tmp_path / "data"), "store.url": chroma_server}
    ).settings
    try:
        client = open_client(settings)
        assert client.get_settings().anonymized_telemetry is False
        assert client.heartbeat() > 0
    finally:
        SharedSystemClient.clear_system_cache()


# --- the auth header --------------------------------------------------------------------------------

TOKEN_HEADER = "X-Chroma-Token"
TOKEN = "s3cret-token"
# Per-connection headers a proxy must not pass on.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}


class TokenProxy(ThreadingHTTPServer):
    """Forwards to the Chroma server only the requests that carry the token; records what it saw."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = urlparse(upstream)
        self.seen: list[str | None] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Chroma client expects
    server: TokenProxy

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        token = self.headers.get(TOKEN_HEADER)
        self.server.seen.append(token)
        if token != TOKEN:
            self._reply(401, [("Content-Type", "application/json")], b'{"error": "Unauthorized"}')
            return
        upstream = self.server.upstream
        conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [
                (k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}
            ]
            self._reply(response.status, kept, data)
        finally:
            conn.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def token_proxy(chroma_server: str) -> Iterator[TokenProxy]:
    proxy = TokenProxy(chroma_server)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_auth_header_is_sent_with_every_request(
    token_proxy: TokenProxy, data_dir: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_env(token_proxy.url, "authcheck", monkeypatch)
    with_token = {**env, "LOCALGPT_STORE__AUTH_HEADER": f"{TOKEN_HEADER}: {TOKEN}"}
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(docs / "faq.txt"), "--json", env=with_token)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert json.loads(proc.stdout)["added"] == [str(docs / "faq.txt")]
    assert token_proxy.seen and set(token_proxy.seen) == {TOKEN}

    token_proxy.seen.clear()
    refused = run_cli("--data-dir", str(data_dir), "ask", QUESTION, env=env)
    assert refused.returncode == ExitCode.NETWORK, refused.stderr
    assert refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr
    assert f"the Chroma server at {token_proxy.url}" in lines[0]
    assert token_proxy.seen and set(token_proxy.seen) == {None}
