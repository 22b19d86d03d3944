"""The heavy objects of one process (embedder, store, manifest, LLM), each loaded on first use.

Created in `main()` (or by the TUI) from the frozen settings and passed down; never global.
"""

from __future__ import annotations

import json
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from localgpt.models.files import resolve_embedder
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.embed.base import Embedder
    from localgpt.index.keyword import KeywordIndex
    from localgpt.index.manifest import Manifest
    from localgpt.index.store import Store
    from localgpt.llm.llama_cpp import LLM
    from localgpt.settings.config import Settings

DEFAULT_MAX_TOKENS = 256


class Resources:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._lock = threading.RLock()

    @property
    def data_dir(self) -> Path:
        return self.settings.paths.data_dir

    @cached_property
    def embedder_source(self) -> tuple[str, str]:
        """(name, folder or hub name) of the embedder, without loading it."""
        return resolve_embedder(self.settings.embeddings.model)

    @cached_property
    def embedder_max_tokens(self) -> int:
        """The embedder's max sequence length, read from its config so the model needn't load."""
        config = Path(self.embedder_source[1]) / "sentence_bert_config.json"
        try:
            return int(json.loads(config.read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError):
            return self.embedder.max_tokens

    @cached_property
    def embedder(self) -> Embedder:
        from localgpt.embed.registry import load_embedder

        with self._lock:
            return load_embedder(self.settings.embeddings, DataDir(self.data_dir).embedders)

    @cached_property
    def manifest(self) -> Manifest:
        from localgpt.index.manifest import Manifest

        return Manifest(DataDir(self.data_dir).manifest, self.settings.store.collection)

    def store(self, create: bool = False) -> Store:
        """The collection; with `create`, made (recording the embedder) when missing."""
        with self._lock:
            if self._store is None:
                from localgpt.errors import NoIndexError
                from localgpt.index.store import Store, chroma_dir

                folder = chroma_dir(self.settings)
                if not create and not self.settings.store.url and not folder.is_dir():
                    # Don't leave an empty index folder behind a failed question.
                    raise NoIndexError(f"no index in {folder}; run `localgpt ingest PATH` first")

                name = self.embedder_source[0]
                try:
                    self._store = Store.open(self.settings, embedder_name=name)
                except Exception as exc:
                    if not (create and isinstance(exc, NoIndexError)):
                        raise
                    emb = self.embedder
                    self._store = Store.open(self.settings, emb.name, emb.dimension, create=True)
            return self._store

    def keyword_index(self) -> KeywordIndex:
        from localgpt.index.keyword import fresh_index, keyword_dir

        store = self.store()
        return fresh_index(
            keyword_dir(self.data_dir, store.name),
            self.manifest.generation(),
            store.count(),
            store.iter_all,
        )

    @cached_property
    def llm(self) -> LLM:
        with self._lock:
            if self.settings.llm.backend == "openai":
                from localgpt.llm.openai_server import OpenAIServerLLM

                return OpenAIServerLLM(self.settings)  # type: ignore[return-value]
            from localgpt.llm.llama_cpp import load_llm

            return load_llm(self.settings)
