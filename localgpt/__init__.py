"""localgpt: offline chat with your documents.

For your own LangChain code, `as_retriever()` gives our index as a LangChain retriever.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

__all__ = ["as_retriever"]


def as_retriever(
    config: str | os.PathLike[str] | None = None,
    *,
    collection: str | None = None,
    k: int | None = None,
    **overrides: Any,
) -> BaseRetriever:
    """The hybrid (vector + BM25) retriever over an index built by `localgpt ingest`.

    Settings come from the config file (`config`, else `$LOCALGPT_CONFIG`, `./config.toml`, the
    user config), `LOCALGPT_*` variables, and `overrides` as dotted keys
    (`**{"paths.data_dir": "data"}`). Each returned `Document` carries `source`, `page`, `id` and
    the relevance `score` in its metadata. Raises `localgpt.errors.NoIndexError` when the
    collection is empty.
    """
    from localgpt.rag.resources import Resources
    from localgpt.settings.config import load_settings

    flags = {"store.collection": collection, "retrieval.k": k, **overrides}
    settings = load_settings(config, flags).settings
    return Resources(settings).retriever(k)
