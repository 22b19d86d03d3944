"""What one server process keeps warm: the embedder, the model, and each collection's index.

Every collection is a model name (`localgpt:<collection>`); all of them share the embedder and
the LLM of the default collection's Resources. The LLM is only ever touched on the generation
queue's thread, so it loads exactly once.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from localgpt.errors import LocalGPTError
from localgpt.rag.resources import Resources
from localgpt.server.errors import APIError
from localgpt.server.info import settings_digest
from localgpt.server.queue import GenerationQueue

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

MODEL_PREFIX = "localgpt:"


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.default = settings.store.collection
        # One Resources per collection; all share the default's embedder and model.
        self.models = Resources(settings)
        self._collections: dict[str, Resources] = {self.default: self.models}
        self._lock = threading.Lock()
        self.queue = GenerationQueue(settings.server.queue_size)
        self.digest = settings_digest(settings)
        self.started = time.time()
        self.answered = 0  # completions finished (a client can tell it was served from here)
        self.cancelled = 0  # generations stopped because their client left
        self.state = "starting"  # -> loading -> ready | failed
        self.error: str | None = None
        self.indexed = asyncio.Event()  # the embedder and the default index are loaded (or failed)
        self.index_warm = threading.Event()  # the same, for threads (the --watch sync)

    # ---- collections -----------------------------------------------------------------------------

    def collection_names(self) -> list[str]:
        try:
            names = set(self.models.manifest.collections())
        except LocalGPTError:
            names = set()
        return sorted(names | {self.default})

    def resources(self, model: str) -> Resources:
        """The collection a model name asks for; an unknown one is a 404, as OpenAI answers."""
        name = model[len(MODEL_PREFIX) :] if model.startswith(MODEL_PREFIX) else model
        if model in ("localgpt", ""):
            name = self.default
        if name not in self.collection_names():
            known = ", ".join(MODEL_PREFIX + n for n in self.collection_names())
            raise APIError(404, f"the model '{model}' does not exist; this server has: {known}",
                           "model_not_found", "model")  # fmt: skip
        with self._lock:
            if name not in self._collections:
                self._collections[name] = self.models.for_collection(name)
            return self._collections[name]

    # ---- loading ---------------------------------------------------------------------------------

    async def load(self) -> None:
        """Warm everything in the background; the server answers /health meanwhile."""
        self.state = "loading"
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self._load_index)
        finally:
            self.indexed.set()
        try:
            await self.queue.run(self._load_llm)
        except Exception as exc:
            self.state, self.error = "failed", str(exc)
            return
        if self.state != "failed":
            self.state = "ready"

    def _load_index(self) -> None:
        try:
            self._warm_index()
        finally:
            self.index_warm.set()

    def _warm_index(self) -> None:
        try:
            self.models.embedder.embed_query("warm up")
            if self.models.manifest.count()[1]:
                self.models.keyword_index()
        except LocalGPTError as exc:
            # Not fatal: an empty index still serves embeddings; questions get the same error.
            self.error = str(exc)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _load_llm(self) -> None:
        _ = self.models.llm

    async def ready_for_retrieval(self) -> None:
        await self.indexed.wait()

    # ---- /health ---------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        llm = self.models.loaded_llm()
        collections = []
        for name in self.collection_names():
            try:
                files, chunks = self._manifest_count(name)
            except LocalGPTError:
                files = chunks = 0
            collections.append({"name": name, "model": MODEL_PREFIX + name, "files": files, "chunks": chunks})
        return {
            "status": self.state,
            "error": self.error,
            "model": llm.name if llm is not None else None,
            "embedder": self.models.embedder_source[0],
            "collections": collections,
            "default_collection": self.default,
            "queue": {"pending": self.queue.pending, "size": self.queue.size},
            "answered": self.answered,
            "cancelled": self.cancelled,
            "data_dir": str(self.settings.paths.data_dir),
            "digest": self.digest,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 1),
        }

    def _manifest_count(self, name: str) -> tuple[int, int]:
        if name in self._collections:
            return self._collections[name].manifest.count()
        from localgpt.index.manifest import Manifest

        manifest = Manifest(self.settings.paths.data_dir / "manifest.sqlite", name)
        try:
            return manifest.count()
        finally:
            manifest.close()
