"""`ask` through a running server: the same stdout, stderr lines and exit codes as in process.

Light on purpose (httpx only): it runs before anything heavy is imported. It gives up, and the
caller answers in process, whenever the server can't give the same answer: none is running, its
settings differ, it doesn't know the collection, or the connection fails before any output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from localgpt.errors import ExitCode, LocalGPTError
from localgpt.server.info import auth_headers, live_server

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 900.0  # queued behind other generations on a slow machine


class ServerUnusable(Exception):
    """Answer in process instead; nothing was written yet."""


class RemoteError(LocalGPTError):
    """The server's error, with the exit code the same error has in process."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def ask_remote(
    settings: Settings,
    question: str,
    source_glob: str | None,
    on_token: Callable[[str], None] | None,
) -> dict[str, Any] | None:
    """The answer dict (as `Answer.as_dict()`), streaming tokens to `on_token`; None: no server."""
    info = live_server(settings)
    if info is None:
        return None
    body = {
        "model": f"localgpt:{settings.store.collection}",
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "k": settings.retrieval.k,
        "source": source_glob,
    }
    try:
        return _stream(f"{info.url}/v1/chat/completions", body, auth_headers(settings), on_token)
    except ServerUnusable:
        return None


def _stream(
    url: str, body: dict[str, Any], headers: dict[str, str], on_token: Callable[[str], None] | None
) -> dict[str, Any]:
    import httpx

    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    wrote = False
    try:
        with httpx.stream(
            "POST", url, json=body, headers=headers, timeout=timeout, trust_env=False
        ) as response:
            if response.status_code != 200:
                raise_server_error(response.status_code, response.read(), wrote)
            answer: dict[str, Any] | None = None
            for event in sse_events(response.iter_lines()):
                if "error" in event:
                    raise_server_error(500, json.dumps(event).encode(), wrote)
                choice = (event.get("choices") or [{}])[0]
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece and on_token:
                    on_token(piece)
                    wrote = True
                if isinstance(event.get("localgpt"), dict):
                    answer = event["localgpt"]
    except httpx.HTTPError as exc:
        if not wrote:
            raise ServerUnusable(str(exc)) from None
        from localgpt.errors import NetworkError

        raise NetworkError(f"the localgpt server failed mid-answer: {exc}") from None
    if answer is None:
        if not wrote:
            raise ServerUnusable("no answer")
        from localgpt.errors import NetworkError

        raise NetworkError("the localgpt server ended the answer without its sources")
    return answer


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def raise_server_error(status: int, raw: bytes, wrote: bool) -> None:
    """The server's error as ours. One without an exit code of ours (unknown model, queue full,
    a bug) means: answer in process, unless part of the answer is out already."""
    try:
        error = json.loads(raw)["error"]
        message, code = str(error["message"]), str(error.get("code") or "")
    except (ValueError, KeyError, TypeError):
        message, code = f"the localgpt server answered {status}", ""
    if code.upper() in ExitCode.__members__ and code != "internal":
        raise RemoteError(message, ExitCode[code.upper()])
    if wrote:
        raise RemoteError(message, ExitCode.INTERNAL)
    raise ServerUnusable(message)


def sources_of(answer: dict[str, Any]) -> list[Any]:
    """`Source` objects from the answer dict, for the same stderr lines as in process."""
    from localgpt.rag.hits import sources_from

    return sources_from(answer.get("sources", []))
