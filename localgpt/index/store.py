"""The Chroma collection: embedded (PersistentClient) or a server (HttpClient).

The collection records which embedder filled it, so that a query is never embedded by a
different model than the chunks it is compared with.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from localgpt.errors import (
    BusyError,
    CorruptIndexError,
    IndexMismatchError,
    LocalGPTError,
    NetworkError,
    NoIndexError,
    StorageError,
)
from localgpt.index.locks import chroma_lock, ingest_running
from localgpt.index.readonly import CHROMA_DB, chroma_read_copy, writable
from localgpt.index.source_ids import SourceIds
from localgpt.settings.disk import write_problem
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from localgpt.settings.config import Settings

T = TypeVar("T")

SCHEMA_VERSION = 1
PAGE = 2000
# A read that runs between an ingest's writes can see the metadata ahead of the vectors ("Error
# finding id" for a chunk the vector segment has not loaded yet). Reading again on a fresh client
# sees both: against a writer upserting in a loop, 2 of 40 fresh readers failed without this.
READ_RETRY_WAITS_S = (0.2, 0.5, 1.0, 2.0)


def chroma_dir(settings: Settings) -> Path:
    return DataDir(settings.paths.data_dir).chroma


def embedded_lock(settings: Settings) -> AbstractContextManager[None]:
    """The cross-process lock for an embedded Chroma folder; a server serializes by itself."""
    return nullcontext() if settings.store.url else chroma_lock(settings.paths.data_dir)


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
    if (path / CHROMA_DB).is_file() and not writable(path):
        # Chroma can't start on a read-only folder (see index/readonly.py): it reads a private copy.
        copy = chroma_read_copy(path)
        try:
            return chromadb.PersistentClient(path=str(copy), settings=chroma_settings)
        except Exception as exc:
            raise StorageError(f"cannot open the read-only index in {path}: {exc}") from None
    try:
        path.mkdir(parents=True, exist_ok=True)
        with chroma_lock(settings.paths.data_dir):
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except LocalGPTError:
        raise  # busy: the lock's own message
    except Exception as exc:
        # Chroma writes as it opens, so a read-only data dir fails here too: that is no corruption.
        problem = write_problem(path, exc, low_space=False)
        if problem or isinstance(exc, OSError):
            reason = problem or getattr(exc, "strerror", None) or str(exc)
            raise StorageError(f"cannot open the index in {path}: {reason}") from None
        raise CorruptIndexError(
            f"cannot open the index in {path} ({type(exc).__name__}: {exc}); "
            "run `localgpt doctor`, or `localgpt ingest --rebuild PATH` to rebuild it"
        ) from None


def set_aside(path: Path) -> Path:
    """Move an unreadable Chroma folder out of the way (kept, not deleted: it may be salvageable)."""
    target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(target)
    from chromadb.api.client import SharedSystemClient

    # A client that failed to open the old folder must not be reused for the new one.
    SharedSystemClient.clear_system_cache()
    return target


class Store:
    """One collection, and the few operations ingest and retrieval need."""

    def __init__(
        self, client: ClientAPI, collection: Collection, name: str, settings: Settings | None = None
    ) -> None:
        self.client = client
        self.collection = collection
        self.name = name
        self.settings = settings  # for error messages (where the index lives) and source ids
        self.source_ids = SourceIds(settings.store.source_root if settings else "")

    @contextmanager
    def _io(self, writing: bool) -> Iterator[None]:
        """Chroma's exceptions (and OSError from a full or read-only disk) as one-line errors."""
        try:
            with nullcontext() if self.settings is None else embedded_lock(self.settings):
                yield
        except LocalGPTError:
            raise
        except Exception as exc:
            if self.settings is None:
                raise StorageError(f"the index failed ({type(exc).__name__}: {exc})") from None
            if writing:
                raise _write_error(self.settings, exc) from None
            raise _storage_error(self.settings, exc) from None

    def _read(self, call: Callable[[], T]) -> T:
        """A read, tried again on a fresh client when an embedded store fails mid-ingest."""
        embedded = self.settings is not None and not self.settings.store.url
        for wait_s in READ_RETRY_WAITS_S if embedded else ():
            try:
                with self._io(writing=False):
                    return call()
            except CorruptIndexError:
                time.sleep(wait_s)
                self._reopen()
        try:
            with self._io(writing=False):
                return call()
        except CorruptIndexError:
            assert self.settings is not None
            if embedded and ingest_running(self.settings.paths.data_dir, self.name):
                # Not damage: telling the user to rebuild would throw an intact index away.
                raise BusyError(
                    f"an ingest is writing collection '{self.name}' and the index could not be read "
                    "meanwhile; ask again in a moment"
                ) from None
            raise

    def _reopen(self) -> None:
        from chromadb.api.client import SharedSystemClient

        assert self.settings is not None
        with self._io(writing=False):  # under the lock: no other thread's call sees a half swap
            SharedSystemClient.clear_system_cache()  # else the new client shares the stale segments
            self.client = open_client(self.settings)
            self.collection = self.client.get_collection(self.name, embedding_function=None)

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
        with embedded_lock(settings):
            return cls._open(settings, client, embedder_name, dimension, create)

    @classmethod
    def _open(
        cls,
        settings: Settings,
        client: ClientAPI,
        embedder_name: str | None,
        dimension: int | None,
        create: bool,
    ) -> Store:
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
            try:
                collection = client.create_collection(
                    name,
                    metadata=meta,
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            except Exception as exc:
                raise _write_error(settings, exc) from None
            return cls(client, collection, name, settings)
        try:
            collection = client.get_collection(name, embedding_function=None)
        except Exception as exc:
            raise _storage_error(settings, exc) from None
        store = cls(client, collection, name, settings)
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
        return self._read(lambda: int(self.collection.count()))

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        if self.source_ids.root:
            metadatas = [{**m, "source": self.source_ids.to_id(str(m.get("source", "")))} for m in metadatas]
        with self._io(writing=True):
            step = max(1, min(self.client.get_max_batch_size(), 5000))
            for i in range(0, len(ids), step):
                self.collection.upsert(
                    ids=list(ids[i : i + step]),
                    embeddings=[list(e) for e in embeddings[i : i + step]],  # type: ignore[arg-type]
                    documents=list(documents[i : i + step]),
                    metadatas=list(metadatas[i : i + step]),
                )

    def delete(self, ids: Sequence[str]) -> None:
        with self._io(writing=True):
            for i in range(0, len(ids), PAGE):
                self.collection.delete(ids=list(ids[i : i + PAGE]))

    def delete_source(self, source: str) -> None:
        """Every chunk of one file, including any that no manifest row lists."""
        with self._io(writing=True):
            self.collection.delete(where={"source": self.source_ids.to_id(source)})

    def ids_for_source(self, source: str) -> list[str]:
        return self.ids_where({"source": source})

    def ids_where(self, where: dict[str, Any]) -> list[str]:
        filter_ = self.source_ids.where(where)
        return list(self._read(lambda: self.collection.get(where=filter_, include=[]))["ids"])

    def fetch(self, ids: Sequence[str], embeddings: bool = False) -> dict[str, Any]:
        include: list[Any] = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        got: dict[str, Any] = dict(self._read(lambda: self.collection.get(ids=list(ids), include=include)))
        if self.source_ids.root and got.get("metadatas"):
            got["metadatas"] = [self._local(m) for m in got["metadatas"]]
        return got

    def _local(self, meta: Any) -> dict[str, Any]:
        """A chunk's metadata with its source id as this machine's path."""
        meta = dict(meta or {})
        if "source" in meta:
            meta["source"] = self.source_ids.to_path(str(meta["source"]))
        return meta

    def iter_all(self, include_embeddings: bool = False) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) for every chunk, paged so memory stays flat."""
        offset = 0
        while True:
            page = self._read(functools.partial(self._page, offset))
            ids = page["ids"]
            if not ids:
                return
            docs = page["documents"] or [""] * len(ids)
            metas = page["metadatas"] or [{}] * len(ids)
            for chunk_id, text, meta in zip(ids, docs, metas, strict=True):
                yield chunk_id, text or "", self._local(meta)
            offset += len(ids)

    def _page(self, offset: int) -> Any:
        return self.collection.get(limit=PAGE, offset=offset, include=["documents", "metadatas"])

    def query(
        self, embedding: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the n nearest chunks."""
        if n <= 0:
            return []
        filter_ = self.source_ids.where(where)
        result = self._read(
            lambda: self.collection.query(
                query_embeddings=[list(embedding)],  # type: ignore[arg-type]
                n_results=n,
                where=filter_,
                include=["distances"],
            )
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]


def drop_collection(settings: Settings, client: ClientAPI | None = None) -> None:
    client = client or open_client(settings)
    with embedded_lock(settings):
        _drop(settings, client)


def _drop(settings: Settings, client: ClientAPI) -> None:
    name = settings.store.collection
    try:
        existing = {c.name for c in client.list_collections()}
    except Exception as exc:
        raise _storage_error(settings, exc) from None
    if name in existing:
        try:
            client.delete_collection(name)
        except Exception as exc:
            raise _write_error(settings, exc) from None


def _storage_error(settings: Settings, exc: Exception) -> Exception:
    if settings.store.url:
        return NetworkError(f"the Chroma server at {settings.store.url} failed: {exc}")
    return CorruptIndexError(
        f"the index in {chroma_dir(settings)} is unreadable ({type(exc).__name__}: {exc}); "
        "run `localgpt ingest --rebuild PATH`"
    )


def _write_error(settings: Settings, exc: Exception) -> Exception:
    """A failed write: the disk's fault when it is full or read-only, else Chroma's own words."""
    if settings.store.url:
        return NetworkError(f"the Chroma server at {settings.store.url} failed: {exc}")
    path = chroma_dir(settings)
    problem = write_problem(path, exc)
    detail = f"{type(exc).__name__}: {exc}"
    if problem:
        return StorageError(f"cannot write to the index in {path} ({detail}): {problem}")
    return StorageError(f"cannot write to the index in {path} ({detail}); run `localgpt doctor`")
