"""One chat completion: the OpenAI messages become a ChatSession turn run on the generation queue.

The rag path is the one `ask` and `chat` use (ChatSession -> RAG.answer): earlier user/assistant
pairs are the history a follow-up is condensed against. The generation thread hands its events
(sources, tokens, the final Answer, or an error) to the request's event loop through a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localgpt.rag.answer import RAG, ChatSession
from localgpt.server.errors import APIError

if TYPE_CHECKING:
    from starlette.requests import Request

    from localgpt.rag.answer import Answer
    from localgpt.rag.resources import Resources
    from localgpt.server.schemas import ChatMessage
    from localgpt.server.state import ServerState


def conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """(question, history): the last message must be the user's; system prompts are ours."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise APIError(400, "the last message must be the user's question", "invalid_request", "messages")
    question = turns[-1].text().strip()
    if not question:
        raise APIError(400, "the question is empty", "invalid_request", "messages")
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for message in turns[:-1]:
        if message.role == "user":
            pending = message.text()
        elif pending is not None:
            history.append((pending, message.text()))
            pending = None
    return question, history


class ClientGone(Exception):
    """The client disconnected before its answer was ready; nobody is left to answer."""


@dataclass
class Turn:
    """A generation in flight: its events, and the switch that stops it at the next token."""

    events: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)


def start(
    state: ServerState,
    res: Resources,
    question: str,
    history: list[tuple[str, str]],
    k: int | None,
    source: str | None,
    stream: bool,
) -> Turn:
    """Queue the generation (or raise QueueFull); events arrive on `turn.events` (tokens only
    when streaming)."""
    loop = asyncio.get_running_loop()
    turn = Turn()

    def put(kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: the server is shutting down
            loop.call_soon_threadsafe(turn.events.put_nowait, (kind, value))

    def job() -> None:
        if turn.cancel.is_set():
            state.cancelled += 1  # the client left while queued: don't spend the model on it
            return
        try:
            forget = getattr(res.loaded_llm(), "forget_prompt", None)
            if forget is not None:
                forget()  # answers word for word as `ask` in process
            answer = ChatSession(RAG(res), history).ask(
                question,
                k=k,
                source_glob=source,
                on_sources=lambda sources: put("sources", sources),
                on_token=(lambda piece: put("token", piece)) if stream else None,
                cancel=turn.cancel,
            )
        except BaseException as exc:
            put("error", exc)
        else:
            # Only this thread writes the counters.
            if answer.cancelled:
                state.cancelled += 1
            else:
                state.answered += 1
            put("done", answer)

    state.queue.submit(job)
    return turn


async def first_event(turn: Turn, request: Request) -> tuple[str, Any]:
    """The first event; ClientGone (and the turn cancelled) if the client hangs up first."""
    return await _unless_gone(turn, request, turn.events.get())


async def collect(turn: Turn, request: Request, first: tuple[str, Any]) -> Answer:
    """Wait for the whole answer (non-streaming: the events are sources, then done or error)."""
    event = first
    while True:
        kind, value = event
        if kind == "error":
            raise value
        if kind == "done":
            answer: Answer = value
            return answer
        event = await _unless_gone(turn, request, turn.events.get())


async def _unless_gone(turn: Turn, request: Request, waiting: Any) -> Any:
    task = asyncio.ensure_future(waiting)
    watcher = asyncio.ensure_future(_disconnect(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task not in done:
        task.cancel()
        turn.cancel.set()
        raise ClientGone
    return task.result()


async def _disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def stream_events(turn: Turn, first: tuple[str, Any]) -> AsyncIterator[tuple[str, Any]]:
    """Every event up to the last. Leaving early (a disconnect) cancels the generation."""
    event = first
    try:
        while True:
            yield event
            if event[0] in ("done", "error"):
                return
            event = await turn.events.get()
    finally:
        turn.cancel.set()  # a no-op once done; stops the model at its next token otherwise
