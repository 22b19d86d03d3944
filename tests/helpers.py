"""What several test modules share: small builders, so modules never import from each other."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document


def chunk(source: str, text: str, score: float, page: int | None = None, **meta: Any) -> Document:
    """A retrieved chunk as the retriever returns it."""
    return Document(page_content=text, metadata={"source": source, "page": page, "score": score, **meta})
