"""Collections: what the data dir holds, and Resources for another one that reuse the loaded models."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from localgpt.rag.resources import Resources
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.embed.base import Embedder
    from localgpt.llm.llama_cpp import LLM


class CollectionResources(Resources):
    """One collection's store and manifest, with the embedder and LLM of `models`.

    Switching collections must not load the model again: the models come from the first
    Resources of the app run, whichever collection is open now.
    """

    def __init__(self, models: Resources, collection: str) -> None:
        settings = models.settings
        store = settings.store.model_copy(update={"collection": collection})
        super().__init__(settings.model_copy(update={"store": store}))
        self._models = models

    @cached_property
    def embedder(self) -> Embedder:
        return self._models.embedder

    @cached_property
    def llm(self) -> LLM:
        return self._models.llm


def list_collections(resources: Resources) -> list[tuple[str, int, int]]:
    """(name, files, chunks) of every collection with files, plus the current one."""
    from localgpt.index.manifest import Manifest

    path = DataDir(resources.data_dir).manifest
    current = resources.settings.store.collection
    names = sorted({*resources.manifest.collections(), current})
    out = []
    for name in names:
        manifest = resources.manifest if name == current else Manifest(path, name)
        try:
            files, chunks = manifest.count()
        finally:
            if manifest is not resources.manifest:
                manifest.close()
        out.append((name, files, chunks))
    return out
