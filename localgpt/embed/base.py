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
    # From the model's catalogue entry (set by the registry): e5's "query: " / "passage: ", say.
    query_prefix: str = ""
    passage_prefix: str = ""
    english_only: bool = False  # retrieval trusts its similarity less on Chinese questions

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens this model sees for `text`, special tokens included."""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, in the input order."""

    def encode_each(self, texts: Sequence[str]) -> np.ndarray:
        """As `encode`, with each text's vector independent of the others encoded with it: what
        scores sentences against each other (extract mode, the grounding check) needs."""
        return self.encode(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passages (chunks), each with the model's passage prefix."""
        if not texts:
            return []
        prefixed = [self.passage_prefix + t for t in texts] if self.passage_prefix else texts
        result: list[list[float]] = self.encode(prefixed).tolist()
        return result

    def embed_query(self, text: str) -> list[float]:
        """A question, with the model's query prefix."""
        result: list[float] = self.encode([self.query_prefix + text])[0].tolist()
        return result
