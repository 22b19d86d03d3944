"""Our own endpoints: `POST /v1/search` (retrieval only, as `localgpt search --json`) and `GET /health`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from localgpt.rag.answer import RAG
from localgpt.rag.hits import search_payload
from localgpt.server.schemas import SearchRequest
from localgpt.server.state import ServerState

router = APIRouter()


@router.post("/v1/search")
async def search(body: SearchRequest, request: Request) -> dict[str, Any]:
    state: ServerState = request.app.state.localgpt
    res = await run_in_threadpool(state.resources, body.model)
    await state.ready_for_retrieval()
    # Off the generation queue: searches run beside generations and beside each other.
    return await run_in_threadpool(search_payload, RAG(res), body.query, body.k, body.source)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    state: ServerState = request.app.state.localgpt
    return await run_in_threadpool(state.health)
