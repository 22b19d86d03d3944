"""The sentence-transformers backend: torch, or ONNX through sentence-transformers.

Used for `backend = "torch"`, and for ONNX exports whose module stack the direct ONNX encoder
doesn't reproduce. Importing it pulls in torch (seconds), so it is only loaded when chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from localgpt.embed.base import Embedder
from localgpt.embed.export import ensure_export, onnx_file
from localgpt.errors import LocalGPTError, ModelError

if TYPE_CHECKING:
    from localgpt.settings.config import EmbeddingsSettings


class SentenceTransformersEmbedder(Embedder):
    def __init__(self, name: str, source: str, settings: EmbeddingsSettings, cache_dir: Path) -> None:
        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = settings.batch_size
        try:
            if settings.backend == "torch":
                model = SentenceTransformer(source, device=settings.device, local_files_only=True)
            else:
                folder = ensure_export(source, name, settings.backend, cache_dir)
                kwargs: dict[str, Any] = {"file_name": onnx_file(settings.backend)}
                model = SentenceTransformer(
                    str(folder), backend="onnx", model_kwargs=kwargs, device="cpu", local_files_only=True
                )
        except LocalGPTError:
            raise
        except Exception as exc:
            raise ModelError(
                f"cannot load embedder '{name}' from {source}: {type(exc).__name__}: {exc}"
            ) from exc
        self._model = model
        self.dimension = int(model.get_embedding_dimension() or 0)
        self.max_tokens = int(model.max_seq_length or 256)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer.encode(text, add_special_tokens=True, truncation=False))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # encode() sorts by length internally, so one call over many texts pads little.
        vectors: np.ndarray = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors
