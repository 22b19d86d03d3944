"""A chat session that a running `localgpt serve` answers: what `localgpt chat` uses when one is up.

Same interface as `ChatSession` (ask with on_sources/on_token/cancel, history, reset): the server
runs the same ChatSession, condensing follow-ups against the history sent in `messages`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from localgpt.errors import NetworkError
from localgpt.rag.answer import Answer
from localgpt.rag.hits import sources_from
from localgpt.server.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, raise_server_error, sse_events
from localgpt.server.info import ServerInfo, auth_headers

if TYPE_CHECKING:
    from localgpt.rag.answer import Source
    from localgpt.settings.config import Settings


class RemoteSession:
    def __init__(self, info: ServerInfo, settings: Settings, history: Sequence[tuple[str, str]] = ()) -> None:
        self.info = info
        self.settings = settings
        self.history: list[tuple[str, str]] = list(history)

    def ask(
        self,
        question: str,
        on_sources: Callable[[list[Source]], object] | None = None,
        on_token: Callable[[str], object] | None = None,
        cancel: threading.Event | None = None,
        **_: Any,
    ) -> Answer:
        import httpx

        messages: list[dict[str, str]] = []
        for asked, answered in self.history:
            messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
        messages.append({"role": "user", "content": question})
        body = {"model": f"localgpt:{self.settings.store.collection}", "messages": messages, "stream": True}
        pieces: list[str] = []
        final: dict[str, Any] | None = None
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        url = f"{self.info.url}/v1/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=auth_headers(self.settings),
                              timeout=timeout, trust_env=False) as response:  # fmt: skip
                if response.status_code != 200:
                    raise_server_error(response.status_code, response.read(), True)
                for event in sse_events(response.iter_lines()):
                    if "error" in event:
                        raise_server_error(500, json.dumps(event).encode(), True)
                    choice = (event.get("choices") or [{}])[0]
                    piece = (choice.get("delta") or {}).get("content") or ""
                    if piece:
                        pieces.append(piece)
                        if on_token:
                            on_token(piece)
                    if isinstance(event.get("localgpt"), dict):
                        final = event["localgpt"]
                    if cancel is not None and cancel.is_set():
                        break  # leaving closes the connection: the server stops at its next token
        except httpx.HTTPError as exc:
            raise NetworkError(f"the localgpt server at {self.info.url} failed: {exc}") from None
        if final is None:
            return Answer(question, "".join(pieces).strip(), False, [], "", cancelled=True)
        answer = _answer(final)
        if on_sources:
            on_sources(answer.sources)
        if not answer.cancelled:
            self.history.append((question, answer.answer))
        return answer

    def reset(self) -> None:
        self.history.clear()


def _answer(data: dict[str, Any]) -> Answer:
    """The server's JSON back into the `Answer` an in-process turn gives (objects, not dicts)."""
    from localgpt.rag.evidence import Citation, Evidence

    names = {f.name for f in fields(Answer)}
    built = {"sources", "evidence", "citations", "dropped"}
    kept = {k: v for k, v in data.items() if k in names and k not in built}
    return Answer(
        **kept,
        sources=sources_from(data.get("sources", [])),
        evidence=[Evidence(**e) for e in data.get("evidence") or []],
        citations=[Citation(**c) for c in data.get("citations") or []],
        dropped=[Citation(**c) for c in data.get("dropped") or []],
    )
