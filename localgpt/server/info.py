"""The server file: where a running `localgpt serve` for this data dir listens, checked live.

`serve` writes `data_dir/server.json` once its socket is bound and removes it on a clean exit. A
`kill -9` leaves it behind, so a reader trusts it only when the pid is alive and `/health`
answers for the same data dir with the same answer-shaping settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

FILE_NAME = "server.json"
HEALTH_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    url: str  # what a local client connects to: loopback even when bound to 0.0.0.0
    host: str
    port: int
    data_dir: str
    digest: str


def server_file(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def settings_digest(settings: Settings) -> str:
    """What decides an answer besides the question, the collection and k: a client whose digest
    differs (another model, MMR on, ...) must answer in process to get the answer it asked for."""
    dumped = settings.model_dump(mode="json")
    dumped.pop("server", None)
    dumped.pop("ingest", None)
    dumped["store"].pop("collection", None)
    dumped["retrieval"].pop("k", None)
    blob = json.dumps(dumped, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def write_info(info: ServerInfo, data_dir: Path) -> Path:
    """Atomically: a reader never sees half a file."""
    path = server_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    tmp.write_text(json.dumps(asdict(info)))
    os.replace(tmp, path)
    return path


def remove_info(data_dir: Path, pid: int) -> None:
    """Remove the file if it is still ours (another server may have replaced it)."""
    info = read_info(data_dir)
    if info is not None and info.pid == pid:
        with contextlib.suppress(OSError):
            server_file(data_dir).unlink()


def read_info(data_dir: Path) -> ServerInfo | None:
    try:
        raw: Any = json.loads(server_file(data_dir).read_text())
        return ServerInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def live_server(settings: Settings) -> ServerInfo | None:
    """The server for this data dir if one is up, answers, and shapes answers as `settings` would."""
    info = running_server(settings)
    if info is None or info.digest != settings_digest(settings):
        return None
    return info


def running_server(settings: Settings) -> ServerInfo | None:
    """The server the data dir's file names, if its pid is alive and its /health answers as it."""
    data_dir = settings.paths.data_dir
    info = read_info(data_dir)
    if info is None or not pid_alive(info.pid):
        return None
    import httpx

    try:
        response = httpx.get(
            f"{info.url}/health", headers=auth_headers(settings), timeout=HEALTH_TIMEOUT_S, trust_env=False
        )
        health = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(health, dict) or health.get("pid") != info.pid:
        return None  # the pid was reused, or another server took the port
    if Path(str(health.get("data_dir", ""))).resolve() != data_dir.resolve():
        return None
    return info


def auth_headers(settings: Settings) -> dict[str, str]:
    key = settings.server.api_key
    return {"Authorization": f"Bearer {key}"} if key else {}
