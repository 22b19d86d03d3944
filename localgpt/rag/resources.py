"""The heavy objects of one process (embedder, store, manifest, LLM), each loaded on first use.

Created in `main()` (or by the TUI) from the frozen settings and passed down; never global.
"""

from __future__ import annotations

import json
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from localgpt.models.embedder_profile import resolve_profile
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.embed.base import Embedder
    from localgpt.embed.cache import CachedEncoder
    from localgpt.index.keyword import KeywordIndex
    from localgpt.index.manifest import FileManifest
    from localgpt.index.store import Store
    from localgpt.llm.base import ChatModel
    from localgpt.rag.retrieval import HybridRetriever
    from localgpt.rag.store_child import StoreChild
    from localgpt.settings.config import Settings


class Resources:
    def __init__(
        self, settings: Settings, models: Resources | None = None, store_child: StoreChild | None = None
    ) -> None:
        self.settings = settings
        self._models = models or self  # whose embedder and LLM these are
        self._store_child = store_child  # a child opening the store meanwhile (store_child.py)
        self._store: Store | None = None
        self._keyword: KeywordIndex | None = None
        self._keyword_lock = threading.Lock()
        self._lock = threading.RLock()

    def for_collection(self, collection: str) -> Resources:
        """Another collection's store and manifest, with this one's embedder and LLM.

        Switching collections must not load the models again: whatever is loaded here is shared.
        """
        store = self.settings.store.model_copy(update={"collection": collection})
        return Resources(self.settings.model_copy(update={"store": store}), models=self._models)

    @property
    def data_dir(self) -> Path:
        return self.settings.paths.data_dir

    @property
    def ocr_cache_dir(self) -> Path:
        """Per-page OCR results, kept across re-syncs and `--rebuild` (ingest/ocr/cache.py)."""
        return DataDir(self.data_dir).ocr_cache

    @cached_property
    def embedder_source(self) -> tuple[str, str]:
        """(name, folder or hub name) of the embedder, without loading it."""
        if self.settings.embeddings.backend == "openai":
            # The server names the model: ask it (one small request). The folder is that of a
            # local copy of the same model, for exact token counts, or "" (an estimate).
            remote = self.embedder
            return remote.name, getattr(remote, "tokenizer_dir", "")
        profile = resolve_profile(self.settings.embeddings.model, self.settings.paths.models_dir)
        return profile.name, profile.source

    @cached_property
    def embedder_max_tokens(self) -> int:
        """The embedder's max sequence length, read from its config so the model needn't load."""
        config = Path(self.embedder_source[1]) / "sentence_bert_config.json"
        try:
            return int(json.loads(config.read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError):
            return self.embedder.max_tokens

    @cached_property
    def embedder_dimension(self) -> int | None:
        """The vector size to check against the collection's record: a remote embedder's is known
        from its probe; a local one's name already fixes it (None: not loaded for a check)."""
        if self.settings.embeddings.backend == "openai":
            return self.embedder.dimension  # the server may swap models under the same name
        return None

    @cached_property
    def embedder(self) -> Embedder:
        if self._models is not self:
            return self._models.embedder
        from localgpt.embed.registry import load_embedder

        with self._lock:
            return load_embedder(
                self.settings.embeddings, DataDir(self.data_dir).embedders, self.settings.paths.models_dir
            )

    @cached_property
    def sentence_encoder(self) -> CachedEncoder:
        """The embedder for answer and source sentences, each vector kept for the next question."""
        if self._models is not self:
            return self._models.sentence_encoder
        from localgpt.embed.cache import CachedEncoder

        return CachedEncoder(self.embedder.encode_each)

    @cached_property
    def manifest(self) -> FileManifest:
        if self.settings.store.url:
            # A team's collection: the records live beside it in the server (shared_manifest.py).
            from localgpt.index.shared_manifest import ServerManifest
            from localgpt.index.store import open_client

            return ServerManifest(open_client(self.settings), self.settings, lambda: self.embedder_source[0])
        from localgpt.index.manifest import Manifest

        return Manifest(DataDir(self.data_dir).manifest, self.settings.store.collection)

    def store(self, create: bool = False) -> Store:
        """The collection; with `create`, made (recording the embedder) when missing."""
        with self._lock:
            if self._store is None:
                child = self._store_child
                remote = child.store(self._open_store) if child is not None and not create else None
                # The child's store serves the reads a question makes, and opens one here for the rest.
                self._store = cast("Store", remote) if remote is not None else self._open_store(create)
            return self._store

    def _open_store(self, create: bool = False) -> Store:
        """The collection, opened in this process."""
        from localgpt.errors import NoIndexError
        from localgpt.index.store import Store, chroma_dir

        folder = chroma_dir(self.settings)
        if not create and not self.settings.store.url and not folder.is_dir():
            # Don't leave an empty index folder behind a failed question.
            raise NoIndexError(f"no index in {folder}; run `localgpt ingest PATH` first")
        try:
            return Store.open(self.settings, self.embedder_source[0], self.embedder_dimension)
        except Exception as exc:
            if not (create and isinstance(exc, NoIndexError)):
                raise
        emb = self.embedder
        return Store.open(self.settings, emb.name, emb.dimension, create=True)

    def keyword_index(self, collection_size: int | None = None) -> KeywordIndex:
        """The BM25 index, kept in memory while the index generation and size stay the same."""
        child = self._store_child
        remote = child.keyword_index(lambda: self._keyword_here(collection_size)) if child else None
        return cast("KeywordIndex", remote) if remote is not None else self._keyword_here(collection_size)

    def _keyword_here(self, collection_size: int | None = None) -> KeywordIndex:
        from localgpt.index.keyword import fresh_index

        store = self.store()
        size = store.count() if collection_size is None else collection_size
        generation = self.manifest.generation()
        with self._keyword_lock:  # a server's concurrent searches load it once
            cached = self._keyword
            if cached is None or cached.generation != generation or len(cached.ids) != size:
                folder = DataDir(self.data_dir).keyword(store.name)
                cached = self._keyword = fresh_index(folder, generation, size, store.iter_all)
            return cached

    def loaded_llm(self) -> ChatModel | None:
        """The model if it is loaded; never loads it (an abstention needs none)."""
        llm: ChatModel | None = self._models.__dict__.get("llm")
        return llm

    def retriever(self, k: int | None = None, sources: list[str] | None = None) -> HybridRetriever:
        """The LangChain retriever over this collection; the store is counted once per call."""
        from localgpt.errors import NoIndexError
        from localgpt.rag.retrieval import HybridRetriever

        embedder = self.embedder  # first: it loads while a store child opens the collection
        store = self.store()
        size = store.count()
        if size == 0:
            raise NoIndexError(f"collection '{store.name}' is empty; run `localgpt ingest PATH` first")
        settings = self.settings.retrieval
        needs_keyword = settings.mode in ("hybrid", "keyword")
        return HybridRetriever(
            store=store,
            embedder=embedder,
            keyword=self.keyword_index(size) if needs_keyword else None,
            settings=settings,
            collection_size=size,
            k=k or settings.k,
            sources=sources,
        )

    @cached_property
    def llm(self) -> ChatModel:
        if self._models is not self:
            return self._models.llm
        from localgpt.llm.registry import load_chat_model

        with self._lock:
            return load_chat_model(self.settings)
