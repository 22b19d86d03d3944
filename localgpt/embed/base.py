"""The one interface every embedder backend implements.

An embedder is a LangChain `Embeddings` (so a user can hand ours to their own LangChain code) with
what the index needs besides vectors: a name recorded in the collection, the vector dimension,
the longest input it reads, and a token counter for the splitter. Backends subclass `Embedder`
and register in `localgpt.embed.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings


class UnsupportedModel(Exception):
    """This backend can't run this model exactly; the registry tries the next one."""


class Embedder(Embeddings, ABC):
    """Batched, unit-length sentence embeddings. Load once per process and share.

    Subclasses set `name`, `dimension` and `max_tokens` in `__init__`, and raise
    `localgpt.errors.ModelError` when the model can't be loaded.
    """

    name: str
    dimension: int
    max_tokens: int
    batch_size: int = 32

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens this model sees for `text`, special tokens included."""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, in the input order."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        result: list[list[float]] = self.encode(texts).tolist()
        return result

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
