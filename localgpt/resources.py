"""The heavy objects of one process (embedder, store, manifest, LLM), each loaded on first use.

Created in `main()` (or by the TUI) from the frozen settings and passed down; never global.
"""

from __future__ import annotations

import json
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from localgpt.model_files import resolve_embedder

if TYPE_CHECKING:
    from localgpt.config import Settings
    from localgpt.embeddings import Embedder
    from localgpt.keyword import KeywordIndex
    from localgpt.llm import LLM
    from localgpt.manifest import Manifest
    from localgpt.store import Store

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
        from localgpt.embeddings import Embedder

        with self._lock:
            return Embedder(self.settings.embeddings, self.data_dir / "embedders")

    @cached_property
    def manifest(self) -> Manifest:
        from localgpt.manifest import Manifest

        return Manifest(self.data_dir / "manifest.sqlite", self.settings.store.collection)

    def store(self, create: bool = False) -> Store:
        """The collection; with `create`, made (recording the embedder) when missing."""
        with self._lock:
            if self._store is None:
                from localgpt.errors import NoIndexError
                from localgpt.store import Store, chroma_dir

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
        from localgpt.keyword import fresh_index, keyword_dir

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
                from localgpt.llm_openai import OpenAIServerLLM

                return OpenAIServerLLM(self.settings)  # type: ignore[return-value]
            from localgpt.llm import load_llm

            return load_llm(self.settings)
