"""Which embedder backend serves a configured `[embeddings] backend`: the one place to add one.

A new backend is one module with an `Embedder` subclass and one entry in `BACKENDS`. Each entry
names the classes to try in order: the direct ONNX encoder is fast and torch-free, and the
sentence-transformers backend runs what it can't.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from localgpt.embed.base import UnsupportedModel
from localgpt.models.files import resolve_embedder

if TYPE_CHECKING:
    from localgpt.embed.base import Embedder
    from localgpt.settings.config import EmbeddingsSettings

# backend -> "module:Class" candidates, tried in order; a candidate that can't run this model
# raises `UnsupportedModel` and the next one is tried.
BACKENDS: dict[str, tuple[str, ...]] = {
    "onnx-int8": (
        "localgpt.embed.onnx:OnnxEmbedder",
        "localgpt.embed.sentence_transformers:SentenceTransformersEmbedder",
    ),
    "onnx": (
        "localgpt.embed.onnx:OnnxEmbedder",
        "localgpt.embed.sentence_transformers:SentenceTransformersEmbedder",
    ),
    "torch": ("localgpt.embed.sentence_transformers:SentenceTransformersEmbedder",),
}


def load_embedder(settings: EmbeddingsSettings, cache_dir: Path) -> Embedder:
    name, source = resolve_embedder(settings.model)
    for target in BACKENDS[settings.backend]:
        module, cls = target.split(":")
        backend = getattr(importlib.import_module(module), cls)
        try:
            embedder: Embedder = backend(name, source, settings, cache_dir)
            return embedder
        except UnsupportedModel:
            continue
    raise AssertionError(f"no embedder backend for {settings.backend}")  # the last never refuses
