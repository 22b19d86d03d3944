"""The ASGI app: routes, errors in OpenAI's shape, and the guards in front of them.

Guards, outermost first: CORS (only when `[server] cors_origins` lists origins), the API key
(when one is set, every request needs `Authorization: Bearer KEY`), the request size limit.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localgpt.server import local_routes, openai_routes
from localgpt.server.errors import error_body, install_handlers
from localgpt.server.state import ServerState

if TYPE_CHECKING:
    from localgpt.settings.config import Settings


# Work beside the server (the --watch sync): runs on its own thread until the event is set.
Background = Callable[[ServerState, threading.Event], None]


def create_app(
    settings: Settings,
    api_key: str = "",
    on_start: Callable[[], None] | None = None,
    on_stop: Callable[[], None] | None = None,
    background: Sequence[Background] = (),
) -> FastAPI:
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(state.load())
        stop = threading.Event()
        threads = [threading.Thread(target=job, args=(state, stop), daemon=True, name="localgpt-background")
                   for job in background]  # fmt: skip
        for thread in threads:
            thread.start()
        if on_start:
            on_start()
        try:
            yield
        finally:
            # Here, not after uvicorn returns: it re-raises SIGTERM, which ends the process at once.
            if on_stop:
                on_stop()
            stop.set()
            task.cancel()
            state.queue.shutdown()
            for thread in threads:
                thread.join(timeout=10)

    app = FastAPI(title="localgpt", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.localgpt = state
    install_handlers(app)
    app.include_router(openai_routes.router)
    app.include_router(local_routes.router)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimit, limit=settings.server.max_request_kb * 1024)
    if api_key:
        app.add_middleware(BearerAuth, key=api_key)
    if settings.server.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.server.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


async def _send_error(
    send: Send, status: int, message: str, code: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(error_body(status, message, code)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *(headers or [])]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class BearerAuth:
    """401 without the right key. Compared in constant time."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() == b"bearer" and secrets.compare_digest(token.strip(), self.key):
            await self.app(scope, receive, send)
            return
        message = "invalid API key" if header else "missing API key: send 'Authorization: Bearer KEY'"
        await _send_error(send, 401, message, "invalid_api_key", [(b"www-authenticate", b"Bearer")])


class BodyLimit:
    """413 for a body over `limit` bytes, whether it declares its length or streams it chunked."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        # No length given: read it here, within the limit, and replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _send_error(send, 413, f"the request body is over {self.limit // 1024} KiB "
                                     "([server] max_request_kb)", "request_too_large")  # fmt: skip
