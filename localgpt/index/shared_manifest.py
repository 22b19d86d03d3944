"""The file manifest in a Chroma server, for a team sharing one collection (`[store] url`).

Every machine pointed at the server sees the same records, so a second machine syncing the
same share skips what the first indexed, replaces what changed and prunes what went. The
records live in a companion collection, `<collection>__manifest`, one entry per file (keyed by
its source id, see source_ids.py), one per pending file (the intent log a killed writer leaves
for the next run to clean up), and one for the generation counter the keyword index follows.
Each entry carries a 1-d placeholder vector: Chroma stores nothing without one.

Writes are serialized across machines by the writer lease (index/lease.py); reads never wait.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from localgpt.errors import LocalGPTError, NetworkError
from localgpt.index.manifest import FileRecord
from localgpt.index.source_ids import SourceIds

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from localgpt.settings.config import Settings

SUFFIX = "__manifest"
FILE, PENDING, GENERATION = "file", "pending", "generation"
PAGE = 1000
PLACEHOLDER = [1.0]


def companion_name(collection: str) -> str:
    """Chroma names are at most 63 characters."""
    return collection[: 63 - len(SUFFIX)] + SUFFIX


class ServerManifest:
    """The `Manifest` interface over a companion collection in the Chroma server."""

    def __init__(self, client: ClientAPI, settings: Settings, embedder: Callable[[], str]) -> None:
        self.collection = settings.store.collection
        self.url = settings.store.url
        self.ids = SourceIds(settings.store.source_root)
        self._client = client
        self._embedder = embedder  # the name recorded with each file; asked only on a write
        self._records: Collection | None = None

    # ---- the companion collection ----------------------------------------------------------------

    def records(self, create: bool = False) -> Collection | None:
        """The companion collection; None when it doesn't exist and `create` is not asked."""
        if self._records is None:
            name = companion_name(self.collection)
            try:
                if create:
                    self._records = self._client.get_or_create_collection(
                        name, metadata={"localgpt": "manifest"}, embedding_function=None
                    )
                elif name in {c.name for c in self._client.list_collections()}:
                    self._records = self._client.get_collection(name, embedding_function=None)
            except Exception as exc:
                raise self._error(exc) from None
        return self._records

    def _error(self, exc: Exception) -> LocalGPTError:
        if isinstance(exc, LocalGPTError):
            return exc
        return NetworkError(f"the Chroma server at {self.url} failed (manifest): {type(exc).__name__}: {exc}")

    def entries(self, **query: Any) -> list[tuple[str, dict[str, Any]]]:
        """(entry id, metadata) of every matching entry, paged."""
        records = self.records()
        if records is None:
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        offset = 0
        try:
            while True:
                page = records.get(include=["metadatas"], limit=PAGE, offset=offset, **query)
                ids = page["ids"]
                out.extend((i, dict(m or {})) for i, m in zip(ids, page["metadatas"] or [], strict=True))
                if len(ids) < PAGE:
                    return out
                offset += len(ids)
        except Exception as exc:
            raise self._error(exc) from None

    def put(self, entries: dict[str, dict[str, Any]]) -> None:
        records = self.records(create=True)
        assert records is not None
        try:
            records.upsert(
                ids=list(entries),
                embeddings=[PLACEHOLDER] * len(entries),  # type: ignore[arg-type]
                metadatas=list(entries.values()),
            )
        except Exception as exc:
            raise self._error(exc) from None

    def delete_entries(self, ids: list[str] | None = None, where: dict[str, Any] | None = None) -> None:
        records = self.records()
        if records is None or (ids is not None and not ids):
            return
        try:
            records.delete(ids=ids, where=where)
        except Exception as exc:
            raise self._error(exc) from None

    # ---- the Manifest interface ------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: the HTTP client is shared with the store."""

    def _record(self, meta: dict[str, Any]) -> FileRecord:
        pages = int(meta.get("pages", -1))
        return FileRecord(
            self.ids.to_path(str(meta["source"])),
            int(meta["size"]),
            int(meta["mtime_ns"]),
            str(meta["sha256"]),
            tuple(json.loads(str(meta["chunk_ids"]))),
            None if pages < 0 else pages,
            int(meta.get("ocr_pages", 0)),
        )

    def all(self) -> dict[str, FileRecord]:
        records = [self._record(meta) for _, meta in self.entries(where={"kind": FILE})]
        return {rec.path: rec for rec in sorted(records, key=lambda r: r.path)}

    def under(self, folder: str) -> dict[str, FileRecord]:
        prefix = folder.rstrip("/") + "/"
        return {path: rec for path, rec in self.all().items() if path == folder or path.startswith(prefix)}

    def get(self, path: str) -> FileRecord | None:
        found = self.entries(ids=[f"{FILE}:{self.ids.to_id(path)}"])
        return self._record(found[0][1]) if found else None

    def count(self) -> tuple[int, int]:
        records = self.all().values()
        return len(records), sum(len(rec.chunk_ids) for rec in records)

    def mark_pending(self, path: str) -> None:
        source = self.ids.to_id(path)
        self.put({f"{PENDING}:{source}": {"kind": PENDING, "source": source}})

    def pending(self) -> list[str]:
        return [self.ids.to_path(str(meta["source"])) for _, meta in self.entries(where={"kind": PENDING})]

    def clear_pending(self, path: str) -> None:
        self.delete_entries(ids=[f"{PENDING}:{self.ids.to_id(path)}"])

    def commit_file(self, record: FileRecord) -> None:
        source = self.ids.to_id(record.path)
        meta = {
            "kind": FILE,
            "source": source,
            "size": record.size,
            "mtime_ns": record.mtime_ns,
            "sha256": record.sha256,
            "chunk_ids": json.dumps(list(record.chunk_ids)),
            "pages": -1 if record.pages is None else record.pages,
            "ocr_pages": record.ocr_pages,
            "embedder": self._embedder(),
            "ingested_at": time.time(),
        }
        self.put({f"{FILE}:{source}": meta})
        self.clear_pending(record.path)
        self._bump()

    def remove(self, paths: Iterable[str]) -> None:
        self.delete_entries(ids=[f"{FILE}:{self.ids.to_id(p)}" for p in paths])
        self._bump()

    def drop_collection(self) -> None:
        """Every record, pending entry and the generation; a writer's lease stays."""
        self.delete_entries(where={"kind": {"$in": [FILE, PENDING, GENERATION]}})

    def drop_all(self) -> None:
        self.drop_collection()

    def generation(self) -> int:
        found = self.entries(ids=[GENERATION])
        return int(found[0][1].get("generation", 0)) if found else 0

    def collections(self) -> list[str]:
        return [self.collection] if self.all() else []

    def _bump(self) -> None:
        # Read-modify-write is safe: writers hold the lease. A reader's keyword cache only needs
        # the number to change.
        self.put({GENERATION: {"kind": GENERATION, "generation": self.generation() + 1}})
