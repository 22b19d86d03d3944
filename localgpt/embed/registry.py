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
from localgpt.errors import ModelError
from localgpt.models.embedder_profile import EmbedderProfile, resolve_profile

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
    "openai": ("localgpt.embed.openai_server:OpenAIEmbedder",),
}
# Backends whose model runs elsewhere: this machine need not have it.
REMOTE = {"openai"}


def load_embedder(settings: EmbeddingsSettings, cache_dir: Path, models_dir: Path | None = None) -> Embedder:
    """The configured embedder (bundled, pulled into models_dir, or a local folder), with its prefixes."""
    try:
        profile = resolve_profile(settings.model, models_dir)
    except ModelError:
        if settings.backend not in REMOTE:
            raise
        profile = EmbedderProfile(settings.model, "")  # a model only the server has
    for target in BACKENDS[settings.backend]:
        module, cls = target.split(":")
        backend = getattr(importlib.import_module(module), cls)
        try:
            embedder: Embedder = backend(profile.name, profile.source, settings, cache_dir)
        except UnsupportedModel:
            continue
        embedder.query_prefix = profile.query_prefix
        embedder.passage_prefix = profile.passage_prefix
        embedder.english_only = profile.english_only
        return embedder
    raise AssertionError(f"no embedder backend for {settings.backend}")  # the last never refuses
