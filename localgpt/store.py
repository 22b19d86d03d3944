"""The Chroma collection: embedded (PersistentClient) or a server (HttpClient).

The collection records which embedder filled it, so that a query is never embedded by a
different model than the chunks it is compared with.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from localgpt.errors import IndexMismatchError, NetworkError, NoIndexError, StorageError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from localgpt.config import Settings

SCHEMA_VERSION = 1
PAGE = 2000


def chroma_dir(settings: Settings) -> Path:
    return settings.paths.data_dir / "chroma"


def open_client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.store.url
    if url:
        parsed = urlparse(url)
        headers = {}
        if settings.store.auth_header:
            name, _, value = settings.store.auth_header.partition(":")
            headers[name.strip()] = value.strip()
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "localhost",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:
            raise NetworkError(f"cannot reach the Chroma server at {url}: {exc}") from None
    path = chroma_dir(settings)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except OSError as exc:
        raise StorageError(f"cannot open the index in {path}: {exc.strerror}") from None
    except Exception as exc:
        raise StorageError(
            f"cannot open the index in {path} ({type(exc).__name__}: {exc}); "
            "run `localgpt doctor`, or `localgpt ingest --rebuild PATH` to rebuild it"
        ) from None


class Store:
    """One collection, and the few operations ingest and retrieval need."""

    def __init__(self, client: ClientAPI, collection: Collection, name: str) -> None:
        self.client = client
        self.collection = collection
        self.name = name

    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder_name: str | None = None,
        dimension: int | None = None,
        create: bool = False,
        client: ClientAPI | None = None,
    ) -> Store:
        """Open the configured collection; `create` makes it (for ingest) if it is missing."""
        client = client or open_client(settings)
        name = settings.store.collection
        try:
            existing = {c.name for c in client.list_collections()}
        except Exception as exc:
            raise _storage_error(settings, exc) from None
        if name not in existing:
            if not create:
                where = settings.store.url or chroma_dir(settings)
                raise NoIndexError(
                    f"no index: collection '{name}' does not exist in {where}; "
                    "run `localgpt ingest PATH` first"
                )
            meta = {"embedder": embedder_name or "", "dimension": dimension or 0, "schema": SCHEMA_VERSION}
            collection = client.create_collection(
                name,
                metadata=meta,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
            return cls(client, collection, name)
        collection = client.get_collection(name, embedding_function=None)
        store = cls(client, collection, name)
        if embedder_name is not None:
            store.check_embedder(embedder_name, dimension)
        return store

    @property
    def recorded_embedder(self) -> tuple[str, int]:
        meta = self.collection.metadata or {}
        return str(meta.get("embedder", "")), int(meta.get("dimension", 0) or 0)

    def check_embedder(self, name: str, dimension: int | None) -> None:
        recorded, recorded_dim = self.recorded_embedder
        if recorded and (recorded != name or (dimension and recorded_dim != dimension)):
            raise IndexMismatchError(
                f"collection '{self.name}' was built with embedder '{recorded}' ({recorded_dim}-d) "
                f"but '{name}' ({dimension}-d) is configured; re-embed it with "
                "`localgpt ingest --rebuild PATH`, or use another --collection"
            )

    def count(self) -> int:
        return int(self.collection.count())

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        step = max(1, min(self.client.get_max_batch_size(), 5000))
        for i in range(0, len(ids), step):
            self.collection.upsert(
                ids=list(ids[i : i + step]),
                embeddings=[list(e) for e in embeddings[i : i + step]],  # type: ignore[arg-type]
                documents=list(documents[i : i + step]),
                metadatas=list(metadatas[i : i + step]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), PAGE):
            self.collection.delete(ids=list(ids[i : i + PAGE]))

    def ids_for_source(self, source: str) -> list[str]:
        return list(self.collection.get(where={"source": source}, include=[])["ids"])

    def fetch(self, ids: Sequence[str], embeddings: bool = False) -> dict[str, Any]:
        include: list[Any] = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        return dict(self.collection.get(ids=list(ids), include=include))

    def iter_all(self, include_embeddings: bool = False) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) for every chunk, paged so memory stays flat."""
        offset = 0
        while True:
            page = self.collection.get(limit=PAGE, offset=offset, include=["documents", "metadatas"])
            ids = page["ids"]
            if not ids:
                return
            docs = page["documents"] or [""] * len(ids)
            metas = page["metadatas"] or [{}] * len(ids)
            for chunk_id, text, meta in zip(ids, docs, metas, strict=True):
                yield chunk_id, text or "", dict(meta or {})
            offset += len(ids)

    def query(
        self, embedding: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the n nearest chunks."""
        if n <= 0:
            return []
        result = self.collection.query(
            query_embeddings=[list(embedding)],  # type: ignore[arg-type]
            n_results=n,
            where=where,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]


def drop_collection(settings: Settings, client: ClientAPI | None = None) -> None:
    client = client or open_client(settings)
    name = settings.store.collection
    if name in {c.name for c in client.list_collections()}:
        client.delete_collection(name)


def _storage_error(settings: Settings, exc: Exception) -> Exception:
    if settings.store.url:
        return NetworkError(f"the Chroma server at {settings.store.url} failed: {exc}")
    return StorageError(
        f"the index in {chroma_dir(settings)} is unreadable ({type(exc).__name__}: {exc}); "
        "run `localgpt ingest --rebuild PATH`"
    )
