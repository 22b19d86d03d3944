"""Hybrid retrieval: vector (Chroma) + keyword (BM25), fused by reciprocal rank fusion.

Ranks decide the order. The `score` a chunk carries is an absolute relevance in [0, 1]: the mean
of its cosine similarity to the question and its IDF-weighted keyword coverage. Neither alone
works as a threshold: the English embedder rates any Chinese text as similar to any Chinese
question, and common words give off-topic questions keyword coverage. The mean separates
answerable from off-topic questions (calibration in bench/README.md).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

if TYPE_CHECKING:
    from localgpt.index.keyword import KeywordIndex
    from localgpt.index.store import Store
    from localgpt.settings.config import RetrievalSettings


def rrf(rankings: Sequence[tuple[Sequence[str], float]], k: int) -> dict[str, float]:
    """Reciprocal rank fusion of several ranked id lists, each with a weight."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, chunk_id in enumerate(ids):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank + 1)
    return fused


def mmr(query: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Maximal marginal relevance over unit vectors: relevant, but not redundant."""
    chosen: list[int] = []
    if len(vectors) == 0:
        return chosen
    relevance = vectors @ query
    while len(chosen) < min(k, len(vectors)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(vectors))
        scores = lam * relevance - (1 - lam) * redundancy
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return chosen


def match_sources(sources: Sequence[str], pattern: str) -> list[str]:
    """Sources matching a glob, tried on the full path, the cwd-relative path and the file name."""
    out = []
    for source in sources:
        rel = os.path.relpath(source)
        names = (source, rel, os.path.basename(source))
        if any(fnmatch.fnmatch(name, pattern) for name in names) or pattern in (source, rel):
            out.append(source)
    return out


class HybridRetriever(BaseRetriever):
    """The LangChain retriever over a Chroma collection and its BM25 index: the one retrieval
    path of ask, chat, eval and `localgpt.as_retriever()`.

    Each `Document` it returns carries in its metadata the chunk's `id`, `source`, `page`,
    `heading`, and the relevance `score` (see the module docstring) with its two halves,
    `vector_score` and `keyword_score`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any  # Store
    embedder: Any  # Embedder
    keyword: Any  # KeywordIndex, or None in vector mode
    settings: Any  # RetrievalSettings
    collection_size: int  # counted once by whoever built the retriever
    k: int = 4
    sources: list[str] | None = None  # restrict to these files (from --source)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        settings: RetrievalSettings = self.settings
        store: Store = self.store
        if self.sources is not None and not self.sources:
            return []
        where = {"source": {"$in": self.sources}} if self.sources else None
        q = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        rankings: list[tuple[Sequence[str], float]] = []
        if settings.mode in ("hybrid", "vector"):
            hits = store.query(q.tolist(), min(settings.fetch_k, max(self.collection_size, 1)), where)
            rankings.append(([i for i, _ in hits], 1.0))
        index: KeywordIndex | None = self.keyword if settings.mode in ("hybrid", "keyword") else None
        if index is not None:
            allowed = set(_ids_for(store, self.sources)) if self.sources else None
            hits_kw = index.search(query, settings.fetch_k, allowed)
            weight = settings.keyword_weight if settings.mode == "hybrid" else 1.0
            rankings.append(([i for i, _ in hits_kw], weight))
        fused = rrf(rankings, settings.rrf_k)
        if not fused:
            return []
        ids = sorted(fused, key=lambda i: -fused[i])
        got = store.fetch(ids, embeddings=True)
        by_id = {cid: n for n, cid in enumerate(got["ids"])}
        ids = [i for i in ids if i in by_id]
        vectors = np.asarray([got["embeddings"][by_id[i]] for i in ids], dtype=np.float32)
        cosine = vectors @ q if len(ids) else np.zeros(0)
        docs: list[Document] = []
        for n, chunk_id in enumerate(ids):
            text = got["documents"][by_id[chunk_id]] or ""
            meta = dict(got["metadatas"][by_id[chunk_id]] or {})
            coverage = index.coverage(query, text) if index is not None else 0.0
            score = (max(float(cosine[n]), 0.0) + coverage) / 2
            meta.update(
                id=chunk_id,
                score=round(score, 4),
                vector_score=round(float(cosine[n]), 4),
                keyword_score=round(coverage, 4),
                fused=fused[chunk_id],
            )
            docs.append(Document(page_content=text, metadata=meta))
        if settings.mmr and len(docs) > self.k:
            picked = mmr(q, vectors, self.k, settings.mmr_lambda)
            docs = [docs[i] for i in picked]
        docs = [d for d in docs if d.metadata["score"] >= settings.score_threshold]
        return docs[: self.k]


def _ids_for(store: Store, sources: list[str]) -> list[str]:
    return store.ids_where({"source": {"$in": sources}})
