"""Retrieval only, as data: what `localgpt search --json` prints and `POST /v1/search` returns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from localgpt.rag.answer import Answer, Source

if TYPE_CHECKING:
    from localgpt.rag.answer import RAG


def source_dicts(sources: Sequence[Source]) -> list[dict[str, Any]]:
    """Sources in exactly the shape of `ask --json` (taken from Answer.as_dict, never re-spelled)."""
    return list(Answer("", "", False, list(sources), "").as_dict()["sources"])


def sources_from(dicts: Iterable[dict[str, Any]]) -> list[Source]:
    """Back from that shape (a server's answer), for the same labels; unknown keys are dropped."""
    names = {f.name for f in fields(Source)}
    return [Source(**{k: v for k, v in d.items() if k in names}) for d in dicts]


def search_payload(
    rag: RAG, query: str, k: int | None = None, source_glob: str | None = None
) -> dict[str, Any]:
    sources = rag.retrieve(query, k, source_glob)
    best = max((s.score for s in sources), default=0.0)
    return {
        "query": query,
        "collection": rag.settings.store.collection,
        # True where `ask` would abstain: nothing scores above [retrieval] abstain_threshold.
        "abstained": best < rag.settings.retrieval.abstain_threshold,
        "sources": source_dicts(sources),
    }
