"""The OpenAI endpoints: /v1/models, /v1/chat/completions (streaming and not), /v1/embeddings.

Beyond OpenAI's fields, a completion carries `localgpt`: the whole `Answer.as_dict()` (sources,
evidence where the answer has it, `abstained`, timings). Streaming, it comes in the last chunk
before `data: [DONE]`. An abstention is an ordinary completion whose text is the refusal and
whose `localgpt.abstained` is true.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from localgpt.errors import LocalGPTError
from localgpt.server.errors import APIError, error_body, from_localgpt
from localgpt.server.queue import QueueFull
from localgpt.server.schemas import MAX_EMBED_INPUTS, ChatRequest, EmbeddingsRequest
from localgpt.server.state import MODEL_PREFIX, ServerState
from localgpt.server.turn import ClientGone, collect, conversation, first_event, start, stream_events

router = APIRouter(prefix="/v1")


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.localgpt
    return state


@router.get("/models")
async def models(request: Request) -> dict[str, Any]:
    state = state_of(request)
    names = await run_in_threadpool(state.collection_names)
    created = int(state.started)
    return {
        "object": "list",
        "data": [{"id": MODEL_PREFIX + n, "object": "model", "created": created, "owned_by": "localgpt"}
                 for n in names],
    }  # fmt: skip


@router.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatRequest, request: Request) -> Response:
    state = state_of(request)
    question, history = conversation(body.messages)
    res = await run_in_threadpool(state.resources, body.model)
    await state.ready_for_retrieval()
    try:
        turn = start(state, res, question, history, body.k, body.source, body.stream)
    except QueueFull as exc:
        raise APIError(503, f"the server is busy: {state.queue.size} generations are queued; retry later",
                       "queue_full", headers={"Retry-After": str(exc.retry_after_s)}) from None  # fmt: skip
    try:
        first = await first_event(turn, request)
    except ClientGone:
        return Response(status_code=499)  # nobody reads it; the generation is cancelled
    if first[0] == "error":
        raise first[1]  # before any byte is sent: a proper status (400 too long, 404 no index, ...)
    meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _sse(stream_events(turn, first), meta, usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        answer = await collect(turn, request, first)
    except ClientGone:
        return Response(status_code=499)
    return JSONResponse({
        **meta,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(answer.tokens),
        "localgpt": answer.as_dict(),
    })  # fmt: skip


async def _sse(
    events: AsyncIterator[tuple[str, Any]], meta: dict[str, Any], usage: bool
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            **meta,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"  # fmt: skip

    yield chunk({"role": "assistant", "content": ""})
    async for kind, value in events:
        if kind == "token":
            yield chunk({"content": value})
        elif kind == "done":
            yield chunk({}, "stop", localgpt=value.as_dict())
            if usage:
                body = {
                    **meta,
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "usage": _usage(value.tokens),
                }
                yield f"data: {json.dumps(body)}\n\n"
        elif kind == "error":
            # Mid-stream the status is sent already: the error is an event, as OpenAI streams do.
            err = from_localgpt(value) if isinstance(value, LocalGPTError) else APIError(
                500, f"internal error: {type(value).__name__}: {value}", "internal")  # fmt: skip
            yield f"data: {json.dumps(error_body(err.status, err.message, err.code))}\n\n"
    yield "data: [DONE]\n\n"


def _usage(tokens: dict[str, int | None]) -> dict[str, int]:
    # A backend that can't count its prompt reports None; OpenAI's shape needs a number.
    prompt, completion = int(tokens.get("prompt") or 0), int(tokens.get("completion") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@router.post("/embeddings")
async def embeddings(body: EmbeddingsRequest, request: Request) -> dict[str, Any]:
    state = state_of(request)
    texts = body.texts()
    if not texts or len(texts) > MAX_EMBED_INPUTS:
        raise APIError(400, f"'input' must hold 1 to {MAX_EMBED_INPUTS} strings", "invalid_request", "input")
    await state.ready_for_retrieval()
    embedder = state.models.embedder
    allowed = {"", "localgpt", embedder.name, *(MODEL_PREFIX + n for n in state.collection_names())}
    if body.model not in allowed:
        raise APIError(404, f"the model '{body.model}' does not exist; embeddings come from "
                            f"'{embedder.name}'", "model_not_found", "model")  # fmt: skip
    vectors = await asyncio.get_running_loop().run_in_executor(None, embedder.embed_documents, texts)
    counts = await run_in_threadpool(lambda: sum(embedder.count_tokens(t) for t in texts))
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)]  # fmt: skip
    return {"object": "list", "data": data, "model": embedder.name,
            "usage": {"prompt_tokens": counts, "total_tokens": counts}}  # fmt: skip


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    """The official client asks for base64 (little-endian float32) unless told otherwise."""
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector
