"""Start the server: refuse an unsafe bind, take the port, write the server file, run uvicorn."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from localgpt.errors import BusyError, ConfigError, ServerError
from localgpt.server.info import ServerInfo, remove_info, running_server, settings_digest, write_info

if TYPE_CHECKING:
    from localgpt.server.app import Background
    from localgpt.settings.config import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(host: str, api_key: str) -> None:
    if not is_loopback(host) and not api_key:
        raise ConfigError(
            f"refusing to listen on {host} without an API key: anyone who can reach this machine "
            "could read your documents; pass --api-key KEY (or set [server] api_key), "
            "or bind 127.0.0.1"
        )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, taken before anything loads, so a busy port fails at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[
            0
        ]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise ServerError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pass --port N (0 picks a free one), "
            "or stop what uses it"
        ) from None
    sock.set_inheritable(True)
    return sock


def connect_url(host: str, port: int) -> str:
    """Where a client on this machine reaches the server: loopback when bound to every address."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve(
    settings: Settings,
    host: str,
    port: int,
    api_key: str,
    background: Sequence[Background] = (),
    debug: bool = False,
) -> None:
    import uvicorn

    from localgpt.server.app import create_app

    check_bind(host, api_key)
    data_dir = settings.paths.data_dir
    other = running_server(settings)
    if other is not None and other.pid != os.getpid():
        raise BusyError(f"a server for {data_dir} is already running at {other.url} (pid {other.pid})")
    sock = bind(host, port)
    port = sock.getsockname()[1]
    info = ServerInfo(
        os.getpid(), connect_url(host, port), host, port, str(data_dir), settings_digest(settings)
    )

    def started() -> None:
        write_info(info, data_dir)
        print(
            f"localgpt: serving on {info.url}/v1 (pid {info.pid}); Ctrl-C stops", file=sys.stderr, flush=True
        )

    app = create_app(
        # The key from the command line counts as the config's, so clients read the same one.
        settings.model_copy(update={"server": settings.server.model_copy(update={"api_key": api_key})}),
        api_key,
        on_start=started,
        on_stop=lambda: remove_info(data_dir, info.pid),
        background=background,
    )
    config = uvicorn.Config(
        app,
        log_level="info" if debug else "warning",
        access_log=debug,
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
